// Module: the base of every layer. It holds named parameters (leaf Tensors that require grad,
// tf.keep-ed so they outlive any tidy) and named child modules, and walks them for parameters(),
// train()/eval(), stateDict() and dispose().
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { keep } from '../memory.js';
import { encodeSafetensors, decodeSafetensors } from './safetensors.js';

/** Parameter values by dotted name, e.g. { '0.weight': Tensor, '0.bias': Tensor }. */
export type StateDict = Record<string, Tensor>;

export class Module {
  /** True in training mode (the default); eval() clears it. Dropout reads it. */
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  /** The layer's computation; every subclass defines it. */
  forward(_x: Tensor): Tensor {
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

  protected registerModule<M extends Module>(name: string, m: M): M {
    if (!(m instanceof Module)) throw new TapegradError(this.describe(), `child '${name}' must be a Module`);
    this.children.set(name, m);
    return m;
  }

  /** [dotted name, parameter] for this module and its children, depth first, in registration order. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, p] of this.params) out.push([prefix + n, p]);
    for (const [n, c] of this.children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }
  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix.replace(/\.$/, ''), this]];
    for (const [n, c] of this.children) out.push(...c.namedModules(`${prefix}${n}.`));
    return out;
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

  /** The parameters by dotted name. The entries are the live parameters (not copies): do not dispose them. */
  stateDict(): StateDict {
    return Object.fromEntries(this.namedParameters());
  }

  /**
   * Copies values into the parameters. Every name must match and every shape agree: otherwise
   * nothing is changed and the error lists each missing, unexpected and mis-shaped entry.
   */
  loadStateDict(sd: StateDict): void {
    const fn = `${this.describe()}.loadStateDict`;
    if (sd === null || typeof sd !== 'object') throw new TapegradError(fn, `expected an object of Tensors by name, got ${sd === null ? 'null' : typeof sd}`);
    const own = new Map(this.namedParameters());
    const problems: string[] = [];
    const missing = [...own.keys()].filter((k) => !(k in sd));
    const extra = Object.keys(sd).filter((k) => !own.has(k));
    if (missing.length) problems.push(`missing ${missing.map((k) => `'${k}'`).join(', ')}`);
    if (extra.length) problems.push(`unexpected ${extra.map((k) => `'${k}'`).join(', ')}`);
    for (const [k, p] of own) {
      const v = sd[k];
      if (v === undefined) continue;
      if (!(v instanceof Tensor) || v.isDisposed) problems.push(`'${k}' is not a live Tensor`);
      else if (v.shape.join() !== p.shape.join() || v.rank !== p.rank) problems.push(`'${k}' has shape ${fmtShape(v.shape)}, expected ${fmtShape(p.shape)}`);
      else if (v.dtype !== p.dtype) problems.push(`'${k}' has dtype ${v.dtype}, expected ${p.dtype}`);
    }
    if (problems.length) throw new TapegradError(fn, problems.join('; '));
    for (const [k, p] of own) {
      const next = tf.keep(sd[k].value.clone());
      p.value.dispose();
      p.value = next;
    }
  }

  /** The parameters in safetensors format (see safetensors.ts), for saving anywhere. */
  toBytes(): Uint8Array {
    return encodeSafetensors(this.namedParameters(), { format: 'tapegrad', module: this.describe() });
  }
  /** Loads parameters from safetensors bytes (as toBytes() writes), with loadStateDict's checks. */
  fromBytes(bytes: Uint8Array): void {
    const sd = decodeSafetensors(`${this.describe()}.fromBytes`, bytes);
    try {
      this.loadStateDict(sd);
    } finally {
      for (const t of Object.values(sd)) t.dispose();
    }
  }
  /** Writes the parameters to a .safetensors file (Node). */
  async save(path: string): Promise<void> {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path, this.toBytes());
  }
  /** Reads parameters from a file written by save() (or any float32 safetensors file with these names). */
  async load(path: string): Promise<void> {
    const { readFile } = await import('node:fs/promises');
    this.fromBytes(new Uint8Array(await readFile(path)));
  }

  /** Frees every parameter and its gradient. The module cannot be used afterwards. */
  dispose(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
      p.dispose();
    }
  }

  toString(): string {
    const kids = [...this.children].map(([n, c]) => `  (${n}): ${c.toString().replace(/\n/g, '\n  ')}`);
    return kids.length ? `${this.describe()}(\n${kids.join('\n')}\n)` : this.describe();
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
