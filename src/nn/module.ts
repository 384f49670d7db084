// Module: the base of every layer. It holds named parameters (leaf Tensors that require grad,
// tf.keep-ed so they outlive any tidy), named buffers (state that is saved but not trained, such as
// BatchNorm's running statistics) and named child modules, and walks them for parameters(),
// train()/eval(), stateDict() and dispose().
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, checkOptions, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { keep } from '../memory.js';
import { encodeSafetensorsAs, encodeSafetensorsAsync, nodeFs, parseSafetensors } from './safetensors.js';

/** Parameter and buffer values by dotted name, e.g. { '0.weight': Tensor, '0.bias': Tensor }. */
export type StateDict = Record<string, Tensor>;

/**
 * The base of every layer: parameters, train/eval mode, state dicts, save and load. `Out` is what
 * forward returns: a Tensor for most layers, an object of outputs and states for the recurrent ones
 * (`Module<unknown>` accepts any module).
 * PyTorch `torch.nn.Module`, JAX `flax.linen.Module`.
 */
export class Module<Out = Tensor> {
  /** True in training mode (the default); eval() clears it. Dropout reads it. */
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly buffersByName = new Map<string, Tensor>();
  private readonly childModules = new Map<string, Module<unknown>>();

  /** The layer's computation; every subclass defines it. */
  forward(_x: Tensor): Out {
    throw new TapegradError(this.constructor.name, 'a Module subclass must define forward(x)');
  }

  /** A short description used in error messages and toString(), e.g. 'Linear(2→3)'. */
  describe(): string {
    return this.constructor.name;
  }

  /** Registers `value` as a trainable parameter: a leaf that requires grad, kept beyond any tidy. */
  protected registerParameter(name: string, value: tf.Tensor | Tensor): Tensor {
    const t = value instanceof Tensor ? value : new Tensor(value);
    if (!t.isLeaf) throw new TapegradError(this.describe(), `parameter '${name}' must be a leaf tensor`);
    t.requiresGrad = true;
    this.params.set(name, keep(t));
    return t;
  }

  /**
   * Registers `value` as a buffer: state the module keeps and saves in its state dict but does not
   * train (no gradient; not in parameters()), kept beyond any tidy. Update it by replacing its
   * `.value` (dispose the old one, tf.keep the new one).
   */
  protected registerBuffer(name: string, value: tf.Tensor | Tensor): Tensor {
    const t = value instanceof Tensor ? value : new Tensor(value);
    if (!t.isLeaf || t.requiresGrad)
      throw new TapegradError(this.describe(), `buffer '${name}' must be a leaf tensor that does not require grad`);
    this.buffersByName.set(name, keep(t));
    return t;
  }

  protected registerModule<M extends Module<unknown>>(name: string, m: M): M {
    if (!(m instanceof Module)) throw new TapegradError(this.describe(), `child '${name}' must be a Module`);
    this.childModules.set(name, m);
    return m;
  }

  /** [dotted name, parameter] for this module and its children, depth first, in registration order. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, p] of this.params) out.push([prefix + n, p]);
    for (const [n, c] of this.childModules) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }
  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }
  /** [dotted name, buffer] for this module and its children, depth first (PyTorch's named_buffers). */
  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, b] of this.buffersByName) out.push([prefix + n, b]);
    for (const [n, c] of this.childModules) out.push(...c.namedBuffers(`${prefix}${n}.`));
    return out;
  }
  buffers(): Tensor[] {
    return this.namedBuffers().map(([, b]) => b);
  }
  /** This module and every module below it, depth first, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module<unknown>][] {
    const out: [string, Module<unknown>][] = [[prefix.replace(/\.$/, ''), this]];
    for (const [n, c] of this.childModules) out.push(...c.namedModules(`${prefix}${n}.`));
    return out;
  }
  /** This module and every module below it, depth first (PyTorch's modules()). */
  modules(): Module<unknown>[] {
    return this.namedModules().map(([, m]) => m);
  }
  /** The direct children with their names (PyTorch's named_children()). */
  namedChildren(): [string, Module<unknown>][] {
    return [...this.childModules];
  }
  /** The direct children (PyTorch's children()). */
  children(): Module<unknown>[] {
    return [...this.childModules.values()];
  }

  /** Calls fn on every module below this one, then on this one (PyTorch's apply); returns this. */
  apply(fn: (m: Module<unknown>) => void): this {
    if (typeof fn !== 'function')
      throw new TapegradError(`${this.describe()}.apply`, `expected a function, got ${typeof fn}`);
    for (const c of this.childModules.values()) c.apply(fn);
    fn(this);
    return this;
  }

  /** Sets requiresGrad on every parameter: false freezes them (PyTorch's requires_grad_); returns this. */
  requiresGrad_(flag = true): this {
    if (typeof flag !== 'boolean')
      throw new TapegradError(`${this.describe()}.requiresGrad_`, `expected a boolean, got ${typeof flag}`);
    for (const p of this.parameters()) p.requiresGrad = flag;
    return this;
  }

  /** The number of parameter entries; with { trainableOnly: true } only those that require grad. */
  numParameters(opts: { trainableOnly?: boolean } = {}): number {
    checkOptions('numParameters', opts, ['trainableOnly']);
    return this.parameters()
      .filter((p) => !opts.trainableOnly || p.requiresGrad)
      .reduce((n, p) => n + p.size, 0);
  }

  /**
   * A table of every module: its name, what it is, its own parameters' shapes and their count; then
   * the totals (trainable, frozen, buffers). toString() is the nested repr, as PyTorch prints a module.
   */
  summary(): string {
    const rows = this.namedModules().map(([name, m]) => {
      const own = [...m.params].map(([n, p]) => `${n} ${fmtShape(p.shape)}${p.requiresGrad ? '' : ' (frozen)'}`);
      const count = [...m.params.values()].reduce((k, p) => k + p.size, 0);
      return [name || '(root)', m.describe(), own.join(', '), count ? count.toLocaleString('en-US') : ''];
    });
    const header = ['name', 'module', 'parameters', 'count'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) =>
      r
        .map((c, i) => (i === 3 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
        .join('  ')
        .trimEnd();
    const total = this.numParameters();
    const trainable = this.numParameters({ trainableOnly: true });
    const buffered = this.buffers().reduce((n, b) => n + b.size, 0);
    const totals =
      `${total.toLocaleString('en-US')} parameters (${trainable.toLocaleString('en-US')} trainable, ${(total - trainable).toLocaleString('en-US')} frozen)` +
      (buffered ? `, ${buffered.toLocaleString('en-US')} buffer entries` : '');
    return [line(header), ...rows.map(line), totals].join('\n');
  }

  /** Frees every parameter's .grad and sets it to null (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Sets training mode here and in every child; returns this. */
  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /** [dotted name, tensor] of every parameter and buffer: each module's own, then its children's. */
  private namedState(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, p] of this.params) out.push([prefix + n, p]);
    for (const [n, b] of this.buffersByName) out.push([prefix + n, b]);
    for (const [n, c] of this.childModules) out.push(...c.namedState(`${prefix}${n}.`));
    return out;
  }

  /**
   * The parameters and buffers by dotted name. The entries are the live tensors (not copies): do
   * not dispose them.
   */
  stateDict(): StateDict {
    return Object.fromEntries(this.namedState());
  }

  /**
   * Copies values into the parameters and buffers. Every name must match and every shape agree: otherwise
   * nothing is changed and the error lists each missing, unexpected and mis-shaped entry.
   */
  loadStateDict(sd: StateDict): void {
    const fn = `${this.describe()}.loadStateDict`;
    if (sd === null || typeof sd !== 'object')
      throw new TapegradError(fn, `expected an object of Tensors by name, got ${sd === null ? 'null' : typeof sd}`);
    const own = new Map(this.namedState());
    const problems: string[] = [];
    const missing = [...own.keys()].filter((k) => !(k in sd));
    const extra = Object.keys(sd).filter((k) => !own.has(k));
    if (missing.length) problems.push(`missing ${missing.map((k) => `'${k}'`).join(', ')}`);
    if (extra.length) problems.push(`unexpected ${extra.map((k) => `'${k}'`).join(', ')}`);
    for (const [k, p] of own) {
      const v = sd[k];
      if (v === undefined) continue;
      if (!(v instanceof Tensor) || v.isDisposed) problems.push(`'${k}' is not a live Tensor`);
      else if (v.shape.join() !== p.shape.join() || v.rank !== p.rank)
        problems.push(`'${k}' has shape ${fmtShape(v.shape)}, expected ${fmtShape(p.shape)}`);
      else if (v.dtype !== p.dtype) problems.push(`'${k}' has dtype ${v.dtype}, expected ${p.dtype}`);
    }
    if (problems.length) throw new TapegradError(fn, problems.join('; '));
    for (const [k, p] of own) {
      const next = tf.keep(sd[k].value.clone());
      p.value.dispose();
      p.value = next;
    }
  }

  /** The parameters and buffers in safetensors format (see safetensors.ts), for saving anywhere. */
  toBytes(): Uint8Array {
    return encodeSafetensorsAs(`${this.describe()}.toBytes`, this.namedState(), this.fileMetadata());
  }
  private fileMetadata(): Record<string, string> {
    return { format: 'tapegrad', module: this.describe() };
  }
  /** Loads parameters from safetensors bytes (as toBytes() writes), with loadStateDict's checks. */
  fromBytes(bytes: Uint8Array): void {
    const sd = parseSafetensors(`${this.describe()}.fromBytes`, bytes);
    try {
      this.loadStateDict(sd);
    } finally {
      for (const t of Object.values(sd)) t.dispose();
    }
  }
  /** Writes the parameters to a .safetensors file (Node; read as every backend can, webgpu included). */
  async save(path: string): Promise<void> {
    const fn = `${this.describe()}.save`;
    const { writeFile } = await nodeFs(fn);
    await writeFile(path, await encodeSafetensorsAsync(fn, this.namedState(), this.fileMetadata()));
  }
  /** Reads parameters from a file written by save() (or any float32 safetensors file with these names). */
  async load(path: string): Promise<void> {
    const { readFile } = await nodeFs(`${this.describe()}.load`);
    this.fromBytes(new Uint8Array(await readFile(path)));
  }

  /** Frees every parameter, its gradient, and every buffer. The module cannot be used afterwards. */
  dispose(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
      p.dispose();
    }
    for (const b of this.buffers()) b.dispose();
  }

  toString(): string {
    const kids = [...this.childModules].map(([n, c]) => `  (${n}): ${c.toString().replace(/\n/g, '\n  ')}`);
    return kids.length ? `${this.describe()}(\n${kids.join('\n')}\n)` : this.describe();
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
