// Optimizer: the base of SGD, Adam, AdamW, RMSprop, Adagrad, Adamax, NAdam, RAdam and LBFGS.
// step() updates each parameter that has a gradient, outside the tape, with raw TF.js ops in a
// tidy: the new value replaces p.value (the old one is disposed, the new one tf.keep-ed), and
// per-parameter state (momentum, moments) is kept the same way and freed by dispose(). No value is
// read back to JavaScript: step() never syncs. Parameters come in groups, each with its own options
// (PyTorch's param_groups); stateDict()/loadStateDict() save and restore everything a resumed run
// needs to take the same steps, and toBytes()/fromBytes() (save/load in Node) carry it through a file.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, checkOptions, fmtShape, sameShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { describe } from '../op.js';
import { lrAt, type LR } from './schedules.js';
import { endOfStep } from '../backend/index.js';
import { isTracing, traceHooks, type HostValues, type StateCell } from '../tape.js';
import { encodeSafetensorsAs, encodeSafetensorsAsync, nodeFs, parseSafetensorsFile } from '../nn/safetensors.js';

let leanBookkeeping = true;
let flatStructure = true;
/** How toBytes() writes a number JSON has no literal for (NaN, ±Infinity, −0): { [NUMBER_TAG]: '-0' }. */
const NUMBER_TAG = 'tapegrad:number';
/** Ends a group's entries (or a parameter's state names) in a step's structure list. */
const GROUP_END = Symbol('end');

/**
 * Pushes an option's name and value onto a structure list: numbers, booleans and strings as they
 * are, an array's entries between its length and its end, anything else as JSON.
 */
function flatten(out: unknown[], key: string, v: unknown): void {
  out.push(key);
  if (Array.isArray(v)) {
    out.push(v.length);
    for (const x of v) flatten(out, '', x);
  } else if (v !== null && typeof v === 'object') out.push(JSON.stringify(v));
  else out.push(v);
}

/** Turns the flat structure list off (and on again): off, the step's structure is compared as JSON. */
export function setFlatStepStructure(on: boolean): void {
  flatStructure = on;
}
/**
 * Turns the eager step's lean bookkeeping off (and on again): off, an eager multi-tensor step also
 * builds what a trace keeps (its structure and state cells), for benchmarks to compare.
 */
export function setLeanStepBookkeeping(on: boolean): void {
  leanBookkeeping = on;
}

/** Options every optimizer takes: the learning rate (a number or a Schedule) and weight decay. */
export interface OptimizerOptions {
  lr: LR;
  weightDecay?: number;
}

/** A group of parameters with options of its own; options it leaves out come from the optimizer's. */
export type ParamGroupSpec<O> = Partial<O> & { params: Tensor[] };
/** A group as the optimizer holds it: every option filled in. */
export type ParamGroup<O> = O & { params: Tensor[] };

/** What a rule returns for one parameter: its new value and state. */
export interface Update {
  param: tf.Tensor;
  state: Record<string, tf.Tensor>;
  /** Per-parameter numbers the rule keeps besides its tensors (NAdam's μ product). */
  scalars?: Record<string, number>;
}

/**
 * What stateDict() returns: the step count, each group's options and parameter positions (indices
 * into the optimizer's parameters, in group order), and each parameter's state by position.
 * The tensors are copies the caller owns (`tg.dispose(Object.values(sd.state).map((s) => s.tensors))`).
 * A schedule in place of a number is saved as 'schedule' (loading keeps the optimizer's own).
 */
export interface OptimizerStateDict {
  stepCount: number;
  groups: { params: number[]; options: Record<string, unknown> }[];
  state: Record<number, { step: number; scalars: Record<string, number>; tensors: Record<string, Tensor> }>;
}

/** One parameter of a step, for rule and updateAll: its value, gradient, state, group, learning rate, step t and stepValues. */
export interface StepItem<O> {
  param: tf.Tensor;
  grad: tf.Tensor;
  state: Record<string, tf.Tensor>;
  group: ParamGroup<O>;
  lr: number;
  t: number;
  /** What stepValues gave for this step. */
  numbers: number[];
}

interface ParamState {
  step: number;
  tensors: Record<string, tf.Tensor>;
  scalars: Record<string, number>;
}

/**
 * The base of every optimizer: its parameters, zeroGrad, step, its state, dispose.
 * PyTorch `torch.optim.Optimizer`, JAX `optax.GradientTransformation`.
 */
export abstract class Optimizer<O extends OptimizerOptions = OptimizerOptions> {
  /** Every parameter, group after group. */
  readonly params: Tensor[] = [];
  /** The groups with their options (PyTorch's param_groups); options may be changed between steps. */
  readonly paramGroups: ParamGroup<O>[] = [];
  /** The options a new group starts from. */
  readonly defaults: O;
  /** Steps taken so far; a schedule's t. */
  stepCount = 0;
  protected readonly state = new Map<Tensor, ParamState>();
  private disposed = false;

  constructor(
    readonly name: string,
    params: Tensor[] | ParamGroupSpec<O>[],
    opts: Partial<O>,
  ) {
    if (opts === null || typeof opts !== 'object')
      throw new TapegradError(name, `options must be an object with lr, got ${describe(opts)}`);
    this.defaults = this.checkedOptions(name, opts, undefined);
    if (!Array.isArray(params) || params.length === 0)
      throw new TapegradError(
        name,
        'needs a non-empty array of parameters (e.g. net.parameters()) or of parameter groups',
      );
    const grouped = params.every(
      (g) => g !== null && typeof g === 'object' && !(g instanceof Tensor) && !Array.isArray(g),
    );
    const specs = grouped ? (params as ParamGroupSpec<O>[]) : [{ params: params as Tensor[] } as ParamGroupSpec<O>];
    for (const spec of specs) this.addGroup(name, spec, grouped);
  }

  /**
   * Validates options and fills in the defaults: every key the rule knows, and nothing else.
   * `opts` holds the optimizer's options merged with a group's.
   */
  protected abstract resolveOptions(fn: string, opts: Partial<O>): O;

  private checkedOptions(fn: string, opts: Partial<O>, where: string | undefined): O {
    const full = this.resolveOptions(fn, opts);
    // an option given as undefined is unset, as in the rule's defaults; params is the group's, not an option
    const given = Object.fromEntries(Object.entries(opts).filter(([k, v]) => k !== 'params' && v !== undefined));
    checkOptions(fn, given, Object.keys(full), where);
    return full;
  }

  /** Adds a group of parameters, with options of its own (PyTorch's add_param_group). */
  addParamGroup(group: ParamGroupSpec<O>): void {
    this.addGroup(`${this.name}.addParamGroup`, group, true);
  }

  private addGroup(fn: string, spec: ParamGroupSpec<O>, grouped: boolean): void {
    const k = this.paramGroups.length;
    if (spec === null || typeof spec !== 'object' || !Array.isArray(spec.params) || spec.params.length === 0) {
      throw new TapegradError(fn, `parameter group ${k} needs params: a non-empty array of Tensors`);
    }
    const seen = new Set(this.params);
    spec.params.forEach((p, i) => {
      const which = grouped ? `parameter ${i} of group ${k}` : `parameter ${i}`;
      if (!(p instanceof Tensor)) throw new TapegradError(fn, `${which} must be a Tensor, got ${describe(p)}`);
      p.assertLive(fn, which);
      if (!p.requiresGrad)
        throw new TapegradError(
          fn,
          `${which} (shape ${fmtShape(p.shape)}) does not require grad; create it with { requiresGrad: true } or use a module's parameters()`,
        );
      if (!p.isLeaf)
        throw new TapegradError(
          fn,
          `${which} (shape ${fmtShape(p.shape)}) is not a leaf: optimise the tensors you created, not results of ops`,
        );
      if (seen.has(p))
        throw new TapegradError(fn, `a parameter is listed twice (${which}, shape ${fmtShape(p.shape)})`);
      seen.add(p);
    });
    const { params, ...own } = spec;
    const options = this.checkedOptions(
      fn,
      { ...this.defaults, ...own } as Partial<O>,
      grouped ? `group ${k}` : undefined,
    );
    this.paramGroups.push({ ...options, params: [...params] });
    this.params.push(...params);
  }

  /** The learning rate the next step will use (the first group's). */
  get lr(): number {
    return lrAt(this.paramGroups[0].lr, this.stepCount);
  }

  /**
   * Updates every parameter that has a .grad, each with its own step count t (as PyTorch's per-parameter
   * state['step']: a parameter that had no gradient keeps its bias corrections), then advances the
   * step count; a step where no parameter has a gradient changes nothing.
   */
  step(): void {
    this.checkLive('step');
    const fn = `${this.name}.step`;
    if (!this.params.some((p) => p.grad)) return;
    this.params.forEach((p, i) => {
      if (!p.grad) return;
      p.assertLive(fn, `parameter ${i}`);
      p.grad.assertLive(fn, `the grad of parameter ${i}`);
      if (!sameShape(p.grad.shape, p.shape) || p.grad.dtype !== p.dtype) {
        throw new TapegradError(
          fn,
          `the grad of parameter ${i} is ${p.grad.dtype} ${fmtShape(p.grad.shape)}, but the parameter is ${p.dtype} ${fmtShape(p.shape)}`,
        );
      }
    });
    const lrs = this.paramGroups.map((g, k) => {
      const lr = lrAt(g.lr, this.stepCount);
      if (!Number.isFinite(lr))
        throw new TapegradError(
          `${this.name}.step`,
          `the learning rate of group ${k} at step ${this.stepCount} is ${lr}`,
        );
      return lr;
    });
    if (this.rule || this.updateAll) {
      this.stepAll();
      endOfStep();
      return;
    }
    if (!this.update) throw new TapegradError(fn, 'the optimizer defines no update rule: give it rule(item, numbers)');
    if (isTracing())
      traceHooks.refuse?.(
        `fn steps ${this.name}, whose update compile cannot replay (an optimizer replays when it defines rule(), as all of tapegrad's but LBFGS do): step outside fn`,
      );
    this.stepCount++;
    this.paramGroups.forEach((group, k) => {
      for (const p of group.params) {
        if (!p.grad) continue;
        p.assertLive(`${this.name}.step`, 'a parameter');
        p.grad.assertLive(`${this.name}.step`, "a parameter's grad");
        const prev = this.state.get(p) ?? { step: 0, tensors: {}, scalars: {} };
        const t = prev.step + 1;
        let out!: Update;
        tf.tidy(() => {
          out = this.update!(p.value, p.grad!.value, prev.tensors, lrs[k], t, group, { ...prev.scalars });
          return [out.param, ...Object.values(out.state)];
        });
        p.value.dispose();
        p.value = tf.keep(out.param);
        for (const v of Object.values(out.state)) tf.keep(v);
        // the previous state is freed, also entries the rule no longer returns (a backend switch)
        for (const [name, v] of Object.entries(prev.tensors)) if (out.state[name] !== v) v.dispose();
        this.state.set(p, { step: t, tensors: out.state, scalars: out.scalars ?? prev.scalars });
      }
    });
    endOfStep();
  }

  /**
   * The update rule of one parameter: its new value and state (the same names every step), from the
   * item (its value p, gradient g, previous state — empty on the first step —, group options and
   * its step t ≥ 1, PyTorch's per-parameter count) and the step's numbers (`stepValues`: [lr] unless
   * overridden), each a number, or in a compiled step a scalar tensor fed afresh at each replay, so
   * write `tf.mul(x, lr)`, never `x * lr` on the host. Runs inside a tidy, with raw TF.js ops: nothing
   * is recorded. Every optimizer of tapegrad's but LBFGS is written so, and so replays in tg.compile.
   */
  protected rule?(item: StepItem<O>, numbers: (number | tf.Tensor)[]): Update;

  /**
   * The update of every parameter of a step in one call, in place of `rule` for each, where the
   * backend has a kernel that takes them all at once (Adam's), with the step's numbers (`stepValues`
   * of each parameter, row by row) as a tensor, `values()`, made on the first call: a traced step
   * that reads them there replays with each call's numbers. Runs inside a tidy, with raw TF.js ops.
   */
  protected updateAll?(items: StepItem<O>[], values: () => tf.Tensor): Update[];

  /**
   * A rule with the step's numbers as host numbers, for an optimizer of one's own that computes on
   * them (lr, t, `scalars`: the parameter's own numbers, returned updated): it steps eagerly, and
   * tg.compile refuses it. Prefer `rule`.
   */
  protected update?(
    p: tf.Tensor,
    g: tf.Tensor,
    state: Record<string, tf.Tensor>,
    lr: number,
    t: number,
    group: ParamGroup<O>,
    scalars: Record<string, number>,
  ): Update;

  /**
   * The numbers of one parameter's update that change from step to step (lr, bias corrections), as
   * many for every parameter and step; `scalars` are the parameter's own numbers, which this may
   * advance (NAdam's μ product): it runs once a step, also when a compiled step replays.
   */
  protected stepValues(lr: number, _t: number, _group: ParamGroup<O>, _scalars: Record<string, number>): number[] {
    return [lr];
  }

  /**
   * What the kernels of step t depend on beyond the options and the state's names (RAdam's
   * rectification, on from some t): a compiled step traced in one form is traced again in another.
   */
  protected stepForm(_t: number, _group: ParamGroup<O>): unknown {
    return 0;
  }

  /** Each item's stepValues, as numbers, or traced, as scalar tensors read from values() (one unstack). */
  private stepNumbers(items: StepItem<O>[], values: () => tf.Tensor): (number | tf.Tensor)[][] {
    if (!isTracing()) return items.map((it) => it.numbers);
    const flat = tf.unstack(tf.reshape(values(), [-1]));
    const width = items[0].numbers.length;
    return items.map((_, i) => flat.slice(i * width, (i + 1) * width));
  }

  /** Whether updateAll reads values() as the float64 bits of each number (int32 pairs) rather than float32. */
  protected exactStepValues(): boolean {
    return false;
  }

  /** step() through rule or updateAll: the step's host bookkeeping in one function, which a replay calls again. */
  private stepAll(): void {
    const fn = `${this.name}.step`;
    const items: { p: Tensor; k: number }[] = [];
    this.paramGroups.forEach((group, k) => {
      for (const p of group.params) if (p.grad) items.push({ p, k });
    });
    const exact = this.exactStepValues();
    // a trace keeps the host values and state cells for its replays; an eager step needs neither
    const recorded = isTracing() || !leanBookkeeping;
    // what the traced kernels were built from: options other than lr, and which state each parameter has
    const structure = (): unknown[] => {
      if (!flatStructure)
        return [
          JSON.stringify([
            exact,
            this.paramGroups.map(({ params: _, lr: __, ...o }) => o),
            items.map(({ p }) => Object.keys(this.state.get(p)?.tensors ?? {}).sort()),
            items.map(({ p, k }) => this.stepForm((this.state.get(p)?.step ?? 0) + 1, this.paramGroups[k])),
          ]),
        ];
      // the same, as a flat list of values (a replay compares it at every call)
      const out: unknown[] = [exact];
      for (const group of this.paramGroups) {
        for (const key in group)
          if (key !== 'params' && key !== 'lr') flatten(out, key, group[key as keyof typeof group]);
        out.push(GROUP_END);
      }
      for (const { p, k } of items) {
        const s = this.state.get(p);
        if (s) out.push(...Object.keys(s.tensors).sort());
        out.push(this.stepForm((s?.step ?? 0) + 1, this.paramGroups[k]), GROUP_END);
      }
      return out;
    };
    const traced = recorded ? structure() : [];
    let numbers: number[][] = [];
    let rates: number[] = [];
    const host: HostValues = {
      applies: () => {
        const now = structure();
        return now.length === traced.length && now.every((v, i) => Object.is(v, traced[i]));
      },
      next: () => {
        rates = this.paramGroups.map((g, k) => {
          const lr = lrAt(g.lr, this.stepCount);
          if (!Number.isFinite(lr))
            throw new TapegradError(fn, `the learning rate of group ${k} at step ${this.stepCount} is ${lr}`);
          return lr;
        });
        this.stepCount++;
        numbers = items.map(({ p, k }) => {
          let s = this.state.get(p);
          if (!s) this.state.set(p, (s = { step: 0, tensors: {}, scalars: {} }));
          s.step++;
          return this.stepValues(rates[k], s.step, this.paramGroups[k], s.scalars);
        });
        const flat = numbers.flat();
        return exact ? new Int32Array(new Float64Array(flat).buffer) : new Float32Array(flat);
      },
    };
    const raw = host.next();
    let tensor: tf.Tensor | null = null;
    const values = () => {
      if (tensor) return tensor;
      const width = numbers[0]?.length ?? 0;
      tensor = tf.tensor(raw, [items.length, exact ? 2 * width : width], exact ? 'int32' : 'float32');
      return tensor;
    };
    const before = items.map(({ p }) => ({ value: p.value, state: { ...this.state.get(p)!.tensors } }));
    let outs: Update[] = [];
    try {
      tf.tidy(() => {
        const stepItems = items.map(({ p, k }, i): StepItem<O> => {
          const s = this.state.get(p)!;
          return {
            param: p.value,
            grad: p.grad!.value,
            state: before[i].state,
            group: this.paramGroups[k],
            lr: rates[k],
            t: s.step,
            numbers: numbers[i],
          };
        });
        if (this.updateAll) outs = this.updateAll(stepItems, values);
        else {
          const stepNumbers = this.stepNumbers(stepItems, values);
          outs = stepItems.map((item, i) => this.rule!(item, stepNumbers[i]));
        }
        return outs.flatMap((o) => [o.param, ...Object.values(o.state)]);
      });
    } finally {
      (tensor as tf.Tensor | null)?.dispose();
    }
    traceHooks.onHostValues?.(host, tensor);
    if (!recorded) {
      this.writeStep(items, outs, before);
      return;
    }
    items.forEach(({ p }, i) => {
      const out = outs[i];
      const valueCell: StateCell = {
        read: () => p.value,
        write: (t) => {
          const old = p.value;
          p.value = tf.keep(t);
          if (old !== t) old.dispose();
        },
      };
      valueCell.write(out.param);
      traceHooks.onStateWrite?.(valueCell, before[i].value, out.param);
      const s = this.state.get(p)!;
      for (const [name, v] of Object.entries(before[i].state)) if (out.state[name] !== v) v.dispose();
      s.tensors = {};
      const held = new Set<tf.Tensor>([p.value]);
      for (let [name, v] of Object.entries(out.state)) {
        // one tensor under two names (AMSGrad's first v and max v) would be one cell to a trace
        if (held.has(v)) v = tf.clone(v);
        held.add(v);
        s.tensors[name] = tf.keep(v);
        const cell: StateCell = {
          read: () => this.state.get(p)?.tensors[name] ?? null,
          write: (t) => {
            const entry = this.state.get(p)!;
            const old = entry.tensors[name];
            entry.tensors[name] = tf.keep(t);
            if (old && old !== t) old.dispose();
          },
        };
        traceHooks.onStateWrite?.(cell, before[i].state[name] ?? null, v);
      }
      if (out.scalars) s.scalars = out.scalars;
    });
  }

  /** stepAll's writes where no trace records them: what the state cells' writes do, without the cells. */
  private writeStep(
    items: { p: Tensor }[],
    outs: Update[],
    before: { value: tf.Tensor; state: Record<string, tf.Tensor> }[],
  ): void {
    for (let i = 0; i < items.length; i++) {
      const { p } = items[i];
      const out = outs[i];
      const old = p.value;
      p.value = tf.keep(out.param);
      if (old !== out.param) old.dispose();
      const s = this.state.get(p)!;
      const prev = before[i].state;
      for (const name in prev) if (out.state[name] !== prev[name]) prev[name].dispose();
      const tensors: Record<string, tf.Tensor> = {};
      const held: tf.Tensor[] = [p.value];
      for (const name in out.state) {
        let v = out.state[name];
        if (held.includes(v)) v = tf.clone(v);
        held.push(v);
        tensors[name] = tf.keep(v);
      }
      s.tensors = tensors;
      if (out.scalars) s.scalars = out.scalars;
    }
  }

  /** Frees every parameter's .grad and sets it to null. */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** The step count, the groups' options and every parameter's state, as copies (see OptimizerStateDict). */
  stateDict(): OptimizerStateDict {
    this.checkLive('stateDict');
    const index = new Map(this.params.map((p, i) => [p, i]));
    const state: OptimizerStateDict['state'] = {};
    for (const [p, s] of this.state) {
      const tensors = Object.fromEntries(
        Object.entries(s.tensors).map(([k, v]) => [k, new Tensor(tf.keep(v.clone()))]),
      );
      state[index.get(p)!] = { step: s.step, scalars: { ...s.scalars }, tensors };
    }
    const groups = this.paramGroups.map(({ params, ...options }) => ({
      params: params.map((p) => index.get(p)!),
      options: Object.fromEntries(
        Object.entries(options).map(([k, v]) => [
          k,
          typeof v === 'object' && v !== null && !Array.isArray(v) ? 'schedule' : v,
        ]),
      ),
    }));
    return { stepCount: this.stepCount, groups, state };
  }

  /**
   * Restores what stateDict() saved (into an optimizer of the same kind over the same parameter
   * shapes): state copied (the caller keeps its tensors), options and step count replaced. Checks
   * everything first: on a mismatch nothing changes and the error says what differs.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const fn = `${this.name}.loadStateDict`;
    this.checkLive('loadStateDict');
    if (
      sd === null ||
      typeof sd !== 'object' ||
      !Array.isArray(sd.groups) ||
      sd.state === null ||
      typeof sd.state !== 'object' ||
      !Number.isInteger(sd.stepCount)
    ) {
      throw new TapegradError(
        fn,
        `expected what stateDict() returns ({ stepCount, groups, state }), got ${describe(sd)}`,
      );
    }
    if (sd.groups.length !== this.paramGroups.length)
      throw new TapegradError(
        fn,
        `the state has ${sd.groups.length} parameter groups, this optimizer ${this.paramGroups.length}`,
      );
    const problems: string[] = [];
    sd.groups.forEach((g, k) => {
      const n = this.paramGroups[k].params.length;
      if (!Array.isArray(g?.params) || g.params.length !== n)
        problems.push(`group ${k} has ${Array.isArray(g?.params) ? g.params.length : 'no'} parameters, expected ${n}`);
    });
    const resolved = sd.groups.map((g, k) => {
      const current = this.paramGroups[k];
      const saved = { ...(g?.options ?? {}) } as Record<string, unknown>;
      if (saved.lr === 'schedule') {
        if (typeof current.lr === 'number')
          problems.push(`group ${k}'s lr was a schedule; this optimizer's is a number`);
        saved.lr = current.lr;
      }
      try {
        return this.checkedOptions(fn, saved as Partial<O>, `group ${k}`);
      } catch (e) {
        problems.push((e as Error).message.slice(fn.length + 2));
        return null;
      }
    });
    for (const [key, s] of Object.entries(sd.state)) {
      const i = Number(key);
      const p = this.params[i];
      if (!Number.isInteger(i) || !p) {
        problems.push(`state for parameter ${key}, which does not exist`);
        continue;
      }
      if (!(Number.isInteger(s?.step) && s.step >= 0)) problems.push(`parameter ${i}'s step is ${describe(s?.step)}`);
      for (const [name, v] of Object.entries(s?.tensors ?? {})) {
        const want = name === 'moments' || name === 'corrected' ? [2, ...p.shape] : p.shape;
        if (!(v instanceof Tensor) || v.isDisposed) problems.push(`parameter ${i}'s '${name}' is not a live Tensor`);
        else if (v.shape.join() !== want.join() || v.rank !== want.length)
          problems.push(`parameter ${i}'s '${name}' has shape ${fmtShape(v.shape)}, expected ${fmtShape(want)}`);
      }
    }
    if (problems.length) throw new TapegradError(fn, problems.join('; '));
    for (const s of this.state.values()) for (const v of Object.values(s.tensors)) v.dispose();
    this.state.clear();
    for (const [key, s] of Object.entries(sd.state)) {
      const tensors = Object.fromEntries(Object.entries(s.tensors).map(([k, v]) => [k, tf.keep(v.value.clone())]));
      this.state.set(this.params[Number(key)], { step: s.step, scalars: { ...(s.scalars ?? {}) }, tensors });
    }
    resolved.forEach((o, k) => Object.assign(this.paramGroups[k], o));
    this.stepCount = sd.stepCount;
  }

  /**
   * Everything stateDict() holds as the bytes of a safetensors file: each state tensor an entry
   * 'state.<parameter>.<name>', the rest (step count, groups' options, per-parameter steps and
   * numbers) JSON in the file's metadata. With Module.toBytes(), a checkpoint a run resumes from.
   * PyTorch `torch.save(optimizer.state_dict(), f)`.
   */
  toBytes(): Uint8Array {
    this.checkLive('toBytes');
    const [entries, metadata] = this.fileContents();
    try {
      return encodeSafetensorsAs(`${this.name}.toBytes`, entries, metadata);
    } finally {
      for (const [, t] of entries) t.dispose();
    }
  }

  /** What toBytes() and save() write: the state tensors (copies the caller frees) and the metadata. */
  private fileContents(): [[string, Tensor][], Record<string, string>] {
    const { state, ...rest } = this.stateDict();
    const entries: [string, Tensor][] = [];
    const numbers: Record<string, { step: number; scalars: Record<string, number> }> = {};
    for (const [i, s] of Object.entries(state)) {
      for (const [name, t] of Object.entries(s.tensors)) entries.push([`state.${i}.${name}`, t]);
      numbers[i] = { step: s.step, scalars: s.scalars };
    }
    const json = JSON.stringify({ ...rest, state: numbers }, (_, v) =>
      typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0))
        ? { [NUMBER_TAG]: Object.is(v, -0) ? '-0' : String(v) }
        : v,
    );
    return [entries, { format: 'tapegrad', optimizer: this.name, stateDict: json }];
  }

  /** Restores what toBytes() wrote (by an optimizer of the same kind over the same parameter shapes), with loadStateDict's checks. */
  fromBytes(bytes: Uint8Array): void {
    const fn = `${this.name}.fromBytes`;
    this.checkLive('fromBytes');
    const { tensors, metadata } = parseSafetensorsFile(fn, bytes);
    try {
      if (metadata.optimizer !== this.name)
        throw new TapegradError(
          fn,
          metadata.optimizer === undefined
            ? "the file holds no optimizer's state (Optimizer.toBytes() writes one)"
            : `the file holds the state of ${metadata.optimizer}, not of ${this.name}`,
        );
      let sd: unknown;
      try {
        sd = JSON.parse(metadata.stateDict ?? '', (_, v) =>
          v !== null && typeof v === 'object' && typeof v[NUMBER_TAG] === 'string' ? Number(v[NUMBER_TAG]) : v,
        );
      } catch {
        throw new TapegradError(fn, "the file's stateDict metadata is not JSON");
      }
      const saved = sd as OptimizerStateDict | null;
      if (saved === null || typeof saved !== 'object' || saved.state === null || typeof saved.state !== 'object')
        throw new TapegradError(fn, `expected the metadata of Optimizer.toBytes(), got ${describe(sd)}`);
      const state: OptimizerStateDict['state'] = {};
      for (const [i, s] of Object.entries(saved.state)) state[Number(i)] = { ...s, tensors: Object.create(null) };
      for (const [entry, t] of Object.entries(tensors)) {
        const [, i, name] = /^state\.(\d+)\.(.+)$/.exec(entry) ?? [];
        if (!state[Number(i)])
          throw new TapegradError(fn, `the file's entry '${entry}' belongs to no parameter's state`);
        state[Number(i)].tensors[name] = t;
      }
      this.loadStateDict({ ...saved, state });
    } finally {
      for (const t of Object.values(tensors)) t.dispose();
    }
  }

  /** Writes what toBytes() holds to a file (Node; read as every backend can, webgpu included). */
  async save(path: string): Promise<void> {
    const fn = `${this.name}.save`;
    this.checkLive('save');
    const { writeFile } = await nodeFs(fn);
    const [entries, metadata] = this.fileContents();
    try {
      await writeFile(path, await encodeSafetensorsAsync(fn, entries, metadata));
    } finally {
      for (const [, t] of entries) t.dispose();
    }
  }
  /** Reads a file written by save() into this optimizer (Node), as fromBytes(). */
  async load(path: string): Promise<void> {
    this.checkLive('load');
    const { readFile } = await nodeFs(`${this.name}.load`);
    this.fromBytes(new Uint8Array(await readFile(path)));
  }

  /** Frees the optimizer's state (not the parameters). */
  dispose(): void {
    for (const s of this.state.values()) for (const v of Object.values(s.tensors)) v.dispose();
    this.state.clear();
    this.disposed = true;
  }

  protected checkLive(method: string): void {
    if (this.disposed) throw new TapegradError(`${this.name}.${method}`, 'the optimizer has been disposed');
  }
}
