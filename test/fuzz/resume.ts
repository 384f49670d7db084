// Resuming a training run from a checkpoint. A case is a layer (the layer fuzzer's kinds and
// configurations), an optimizer with random options and learning-rate schedule, a number of steps n,
// a step k < n to stop at, how the checkpoint travels (the live state dicts, or the bytes of
// Module.toBytes() and Optimizer.toBytes()) and whether the steps after it run compiled (tg.compile).
//
// One run trains straight on for n steps. The other trains k steps, saves the layer and the
// optimizer, loads both into a fresh layer (built from another seed, so that nothing is left of its
// own values) and a fresh optimizer, and trains the n − k steps left. Both run the same kernels on
// the same values, so their parameters, buffers (BatchNorm's running statistics) and optimizer state
// must agree bit for bit; a compiled replay must too (compile refusing a step is counted, not failed).
import fc from 'fast-check';
import * as tg from '../../src/index.js';
import { LAYER_KINDS, buildLayer } from './layers.js';

const optim = tg.optim;

export interface ResumeCase {
  kind: string;
  /** The layer's configuration (see layers.ts). */
  p: number[];
  /** The optimizer, its options and its schedule. */
  o: number[];
  seed: number;
  steps: number;
  /** Steps before the checkpoint, 1 ≤ stop < steps. */
  stop: number;
  via: 'stateDict' | 'bytes';
  compiled: boolean;
}

const pick = (o: number[], i: number, n: number) => o[i % o.length] % n;

/** The layer fuzzer's kinds that have parameters to train (the norms only with their affine ones). */
const RESUME_KINDS = LAYER_KINDS.filter(
  (k) => !['MaxPool2d', 'AvgPool2d', 'AdaptiveAvgPool2d', 'Upsample', 'Activation'].includes(k),
);

/** A learning rate: a number, or a schedule around it (printed as code). */
function learningRate(o: number[], steps: number): [tg.optim.LR, string] {
  const lr = [0.01, 0.05][pick(o, 1, 2)];
  switch (pick(o, 2, 7)) {
    case 0:
      return [new optim.StepLR(lr, { stepSize: 2, gamma: 0.5 }), `new StepLR(${lr}, { stepSize: 2, gamma: 0.5 })`];
    case 1:
      return [new optim.CosineAnnealing(lr, { tMax: steps }), `new CosineAnnealing(${lr}, { tMax: ${steps} })`];
    case 2:
      return [new optim.LinearWarmup(lr, { warmupSteps: 3 }), `new LinearWarmup(${lr}, { warmupSteps: 3 })`];
    case 3:
      return [new optim.OneCycleLR(lr, { totalSteps: steps }), `new OneCycleLR(${lr}, { totalSteps: ${steps} })`];
    case 4:
      return [
        new optim.SequentialLR(
          [new optim.LinearWarmup(lr, { warmupSteps: 2 }), new optim.ExponentialLR(lr, { gamma: 0.8 })],
          {
            milestones: [2],
          },
        ),
        `new SequentialLR([new LinearWarmup(${lr}, { warmupSteps: 2 }), new ExponentialLR(${lr}, { gamma: 0.8 })], { milestones: [2] })`,
      ];
    default:
      return [lr, String(lr)];
  }
}

/** The optimizer of a case over `params` (its parameters in two groups when o says so), and its call as code. */
function makeOptimizer(params: tg.Tensor[], o: number[], steps: number): [tg.optim.Optimizer, string] {
  const [lr, lrCode] = learningRate(o, steps);
  const wd = [0, 0.01, 0.1][pick(o, 3, 3)];
  const flag = pick(o, 4, 2) === 1;
  const kinds: [string, Record<string, unknown>][] = [
    ['SGD', { lr, momentum: [0, 0.9][pick(o, 5, 2)], dampening: flag ? 0 : 0.1, nesterov: false, weightDecay: wd }],
    ['SGD', { lr, momentum: 0.9, nesterov: true, weightDecay: wd }],
    ['Adam', { lr, amsgrad: flag, weightDecay: wd }],
    ['AdamW', { lr, amsgrad: flag, weightDecay: wd }],
    ['RMSprop', { lr, centered: flag, momentum: [0, 0.5][pick(o, 5, 2)], weightDecay: wd }],
    ['Adagrad', { lr, lrDecay: flag ? 0.01 : 0, weightDecay: wd }],
    ['Adamax', { lr, weightDecay: wd }],
    ['NAdam', { lr, weightDecay: wd }],
    ['RAdam', { lr, weightDecay: wd }],
    ['LBFGS', { lr: 0.5, maxIter: 2 + pick(o, 5, 3), historySize: 3, lineSearchFn: flag ? 'strongWolfe' : null }],
  ];
  const [name, opts] = kinds[pick(o, 0, kinds.length)];
  const Ctor = (optim as unknown as Record<string, new (ps: unknown, o: unknown) => tg.optim.Optimizer>)[name];
  // two groups, the second with its own learning rate, where there are two parameters to split
  const split = name !== 'LBFGS' && params.length > 1 && pick(o, 6, 2) === 1;
  const spec = split ? [{ params: params.slice(0, 1) }, { params: params.slice(1), lr: 0.02 }] : params;
  const { lr: _, ...rest } = opts;
  const more = JSON.stringify(rest)
    .slice(1, -1)
    .replace(/,"/g, ', "')
    .replace(/"(\w+)":/g, '$1: ');
  const optsCode = `{ lr: ${name === 'LBFGS' ? 0.5 : lrCode}${more ? `, ${more}` : ''} }`;
  const code = split
    ? `new ${name}([{ params: [p0] }, { params: [p1, …], lr: 0.02 }], ${optsCode})`
    : `new ${name}(params, ${optsCode})`;
  return [new Ctor(spec, opts), code];
}

/** What a case gave: a failure and where, or how far it got. */
export interface ResumeResult {
  ok: boolean;
  what: string;
  detail: string;
  /** compile's reason where it refused the step (not a failure). */
  compileRefused?: string;
  /** The layer has no parameters to train (a pooling layer, a norm without affine ones). */
  skipped?: boolean;
}

/** Float32 values as their bits, for a comparison that tells -0 from 0 and NaN from NaN by payload. */
const bitsOf = (t: tg.Tensor) => Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer));

/** JSON with every object's keys sorted: equal values, equal text. */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_, x) =>
    x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );

/** The first difference between two runs' modules and optimizers, or null. */
function difference(
  a: { layer: tg.nn.Module<unknown>; opt: tg.optim.Optimizer },
  b: { layer: tg.nn.Module<unknown>; opt: tg.optim.Optimizer },
): string | null {
  const [sa, sb] = [a.layer.stateDict(), b.layer.stateDict()];
  for (const [name, t] of Object.entries(sa)) {
    const [x, y] = [bitsOf(t), bitsOf(sb[name])];
    const i = x.findIndex((v, j) => v !== y[j]);
    if (i >= 0) return `'${name}' entry ${i}: ${t.dataSync()[i]} straight on, ${sb[name].dataSync()[i]} resumed`;
  }
  const [oa, ob] = [a.opt.stateDict(), b.opt.stateDict()];
  try {
    if (oa.stepCount !== ob.stepCount) return `the step count: ${oa.stepCount} straight on, ${ob.stepCount} resumed`;
    if (JSON.stringify(oa.groups) !== JSON.stringify(ob.groups))
      return `the groups: ${JSON.stringify(oa.groups)} straight on, ${JSON.stringify(ob.groups)} resumed`;
    const extra = (sd: object) => canonical({ ...sd, stepCount: 0, groups: 0, state: 0 });
    if (extra(oa) !== extra(ob)) return `the optimizer's own state: ${extra(oa)} straight on, ${extra(ob)} resumed`;
    for (const [i, s] of Object.entries(oa.state)) {
      const r = ob.state[Number(i)];
      if (!r) return `parameter ${i} has state straight on, none resumed`;
      if (s.step !== r.step || JSON.stringify(s.scalars) !== JSON.stringify(r.scalars))
        return `parameter ${i}'s step and numbers: ${JSON.stringify([s.step, s.scalars])} straight on, ${JSON.stringify([r.step, r.scalars])} resumed`;
      for (const [name, t] of Object.entries(s.tensors)) {
        if (!r.tensors[name]) return `parameter ${i}'s '${name}' is missing resumed`;
        const [x, y] = [bitsOf(t), bitsOf(r.tensors[name])];
        const j = x.findIndex((v, k) => v !== y[k]);
        if (j >= 0) return `parameter ${i}'s '${name}' entry ${j} differs`;
      }
    }
    return null;
  } finally {
    for (const sd of [oa, ob]) for (const s of Object.values(sd.state)) tg.dispose(Object.values(s.tensors));
  }
}

/** Runs one case. Leaves nothing behind. */
export async function runResumeCase(c: ResumeCase): Promise<ResumeResult> {
  const before = tg.memory().numTensors;
  const built = buildLayer(c.kind, c.p, c.seed);
  const { inputs, run } = built;
  const result: ResumeResult = { ok: true, what: '', detail: '' };
  const layers: tg.nn.Module<unknown>[] = [built.layer];
  const opts: tg.optim.Optimizer[] = [];
  let compiled: ReturnType<typeof tg.compile> | null = null;
  // the output's shape from a layer of its own (a forward in training mode moves BatchNorm's statistics)
  const probe = buildLayer(c.kind, c.p, c.seed);
  const shapeOut = tg.noGrad(() => tg.tidy(() => run(probe.layer, inputs).shape));
  probe.layer.dispose();
  tg.dispose(probe.inputs);
  const weights = tg.randn(shapeOut, { seed: c.seed + 7 });
  // Σ R∘y + ½·mean(y²): nonlinear in the output, so that each step moves the gradient
  const loss = (layer: tg.nn.Module<unknown>) => {
    const y = run(layer, inputs);
    return tg.add(y.mul(weights).sum(), y.square().mean().mul(0.5));
  };
  const stepOf = (layer: tg.nn.Module<unknown>, opt: tg.optim.Optimizer) => () => {
    if (opt instanceof optim.LBFGS) {
      opt.step(() =>
        tg.tidy(() => {
          opt.zeroGrad();
          const l = loss(layer);
          l.backward();
          return l;
        }),
      );
      return;
    }
    const l = loss(layer);
    opt.zeroGrad();
    l.backward();
    opt.step();
    return l;
  };
  try {
    if (built.layer.parameters().length === 0) {
      result.skipped = true;
      return result;
    }
    const [straightOpt, code] = makeOptimizer(built.layer.parameters(), c.o, c.steps);
    opts.push(straightOpt);
    result.what =
      `${built.what}; ${code}; ${c.steps} steps against ${c.stop}, a checkpoint through ${c.via}, ` +
      `${c.steps - c.stop}${!c.compiled ? '' : straightOpt instanceof optim.LBFGS ? ' (LBFGS: not compiled)' : ' compiled'}`;
    const straight = stepOf(built.layer, straightOpt);
    for (let s = 0; s < c.steps; s++) tg.tidy(() => void straight());

    const first = buildLayer(c.kind, c.p, c.seed);
    tg.dispose(first.inputs);
    layers.push(first.layer);
    const [firstOpt] = makeOptimizer(first.layer.parameters(), c.o, c.steps);
    opts.push(firstOpt);
    const firstStep = stepOf(first.layer, firstOpt);
    for (let s = 0; s < c.stop; s++) tg.tidy(() => void firstStep());

    const fresh = buildLayer(c.kind, c.p, c.seed + 1);
    tg.dispose(fresh.inputs);
    layers.push(fresh.layer);
    const [resumedOpt] = makeOptimizer(fresh.layer.parameters(), c.o, c.steps);
    opts.push(resumedOpt);
    if (c.via === 'bytes') {
      fresh.layer.fromBytes(first.layer.toBytes());
      resumedOpt.fromBytes(firstOpt.toBytes());
    } else {
      fresh.layer.loadStateDict(first.layer.stateDict());
      const sd = firstOpt.stateDict();
      try {
        resumedOpt.loadStateDict(sd);
      } finally {
        for (const s of Object.values(sd.state)) tg.dispose(Object.values(s.tensors));
      }
    }
    const resumed = stepOf(fresh.layer, resumedOpt);
    let step = (): void => tg.tidy(() => void resumed());
    if (c.compiled && !(resumedOpt instanceof optim.LBFGS)) {
      const replay = tg.compile(() => resumed() as tg.Tensor);
      compiled = replay;
      step = () => replay().dispose();
    }
    for (let s = c.stop; s < c.steps; s++) {
      try {
        step();
      } catch (e) {
        if (!(c.compiled && e instanceof tg.TapegradError && e.message.startsWith('compile:'))) throw e;
        result.compileRefused = e.message;
        return result;
      }
    }
    const d = difference({ layer: built.layer, opt: straightOpt }, { layer: fresh.layer, opt: resumedOpt });
    if (d) {
      result.ok = false;
      result.detail = d;
    }
  } catch (e) {
    result.ok = false;
    result.detail = `threw: ${(e as Error)?.stack ?? e}`;
  } finally {
    compiled?.dispose();
    for (const o of opts) {
      o.zeroGrad();
      o.dispose();
    }
    for (const l of layers) l.dispose();
    tg.dispose([...inputs, weights]);
  }
  const leaked = tg.memory().numTensors - before;
  if (result.ok && leaked !== 0) {
    result.ok = false;
    result.detail = `leaked ${leaked} tensors`;
  }
  return result;
}

export const resumeCaseArb: fc.Arbitrary<ResumeCase> = fc
  .record({
    kind: fc.constantFrom(...RESUME_KINDS),
    p: fc.array(fc.nat({ max: 999 }), { minLength: 8, maxLength: 8 }),
    o: fc.array(fc.nat({ max: 999 }), { minLength: 7, maxLength: 7 }),
    seed: fc.nat({ max: 100_000 }),
    steps: fc.integer({ min: 2, max: 6 }),
    stopAt: fc.nat({ max: 999 }),
    via: fc.constantFrom('stateDict' as const, 'bytes' as const),
    compiled: fc.boolean(),
  })
  .map(({ stopAt, ...c }) => ({ ...c, stop: 1 + (stopAt % (c.steps - 1)) }));

/** The property: a resumed run that differs from the straight one throws, saying where. */
export const resumeProperty = fc.asyncProperty(resumeCaseArb, async (c) => {
  const r = await runResumeCase(c);
  if (!r.ok) throw new Error(`resume fuzz case failed: ${r.what}: ${r.detail}\ncase ${JSON.stringify(c)}\n`);
  fc.pre(!r.skipped);
});
