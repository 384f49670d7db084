// Tensor: one TF.js tensor plus what reverse mode needs — requiresGrad, grad, and the Node that
// made it; the Node records an OpRule. These three types refer to each other, so they live here,
// at the bottom: the chainable methods (x.add(y), x.backward()) are installed from ops/methods.ts.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, fmtShape } from './errors.js';
import { hasSyncRead } from './backend/facts.js';

/** The element types a Tensor can hold. PyTorch `torch.dtype`, JAX `jnp.dtype`. */
export type DType = 'float32' | 'int32' | 'bool';
/** What ops accept where a tensor is expected: plain numbers become scalars. */
export type TensorLike = Tensor | number;

/** A gradient for one input, computed only if that input needs it. */
export type Thunk = () => Tensor;

/** A declared op: its name, forward, vector-Jacobian product and signature. */
export interface OpRule<A = void> {
  name: string;
  /** One output tensor (the default); see MultiOutputRule for ops with several. */
  outputs?: 'one';
  /** Computes the output from TF.js tensors; attributes are the op's non-tensor arguments. */
  forward: (inputs: tf.Tensor[], attrs: A) => tf.Tensor;
  /**
   * The vector-Jacobian product: given g = ∂L/∂out, one thunk (or null: no gradient flows) per
   * input. Written in tapegrad's own ops, so that a recorded backward can be differentiated again.
   */
  vjp: (g: Tensor, inputs: Tensor[], out: Tensor, attrs: A) => (Thunk | null)[];
  /** How the op's public function is called and where it is smooth, for ops of a common form. */
  signature?: OpSignature;
}

/**
 * A declared op with several outputs (split, unbind): one node on the tape for all of them, and one
 * adjoint that receives every output's cotangent at once.
 */
export interface MultiOutputRule<A = void> {
  name: string;
  outputs: 'several';
  /** Computes the outputs from TF.js tensors. */
  forward: (inputs: tf.Tensor[], attrs: A) => tf.Tensor[];
  /**
   * The vector-Jacobian product: given gs[k] = ∂L/∂out[k] (null where no gradient reached output k:
   * the adjoint makes zeros only where it needs them), one thunk (or null) per input. The caller
   * may have disposed outputs it did not use (split's other parts): read only their shapes, unless
   * the rule declares readsOutputs.
   */
  vjp: (gs: (Tensor | null)[], inputs: Tensor[], outs: Tensor[], attrs: A) => (Thunk | null)[];
  /** The outputs' names, as tables and messages show them (`linalg.svd.U`); their indices otherwise. */
  outputNames?: string[];
  /**
   * Outputs that carry no gradient (integer pivots, a sign): plain constants that never require
   * grad, as PyTorch's `mark_non_differentiable`. Their cotangents reach the adjoint as null.
   */
  nonDifferentiable?: number[];
  /**
   * The adjoint reads the outputs' values (a factorization's factors), not only their shapes: each
   * differentiable output then holds handles on the others' values (no copy of the data), so that
   * the caller may keep one output and dispose the rest (unless the backward is recorded again).
   */
  readsOutputs?: boolean;
}

/** Any declared op's rule: one output or several. */
export type AnyOpRule = OpRule<any> | MultiOutputRule<any>;

/**
 * Where an operand's values may lie for the op to be smooth and its values moderate. 'real': any;
 * 'positive': x > 0 (log, sqrt); 'nonzero': x ≠ 0 (a divisor; drawn on one side of 0);
 * 'aboveMinusOne': x > −1 (log1p); 'moderate': |x| ≲ 2, for ops that grow fast (exp, square, a
 * factor of a product); 'unit': |x| < 1 (tan, whose poles are at ±π/2); 'openUnit': |x| < 1 kept
 * clear of ±1 (asin, acos, atanh: their derivatives are infinite there); 'aboveOne': x > 1 (acosh).
 */
export type Domain = 'real' | 'positive' | 'nonzero' | 'aboveMinusOne' | 'moderate' | 'unit' | 'openUnit' | 'aboveOne';

/**
 * The form of an op's public function, from which the fuzzer draws its operands and the error
 * catalogue its bad calls. 'unary': f(x), shaped as x; 'binary': f(a, b) of tensors or numbers,
 * broadcast together; 'reduce': f(x, { axis, keepDims }).
 */
export interface OpSignature {
  kind: 'unary' | 'binary' | 'reduce';
  /** Each operand's domain, or one for all; 'real' by default. */
  domain?: Domain | Domain[];
  /** Points where the op is not smooth (abs and relu at 0): checks keep every input away from them. */
  kinks?: number[];
  /** Steps at every integer (floor, ceil, trunc, frac) or half-integer (round): checks keep inputs away. */
  jumps?: 'integers' | 'halfIntegers';
}

/** One recorded op application: the rule, its inputs and attributes; freed after backward. */
export class Node {
  freed = false;
  /** The inputs' values when recorded: an input whose value was replaced since (an optimizer step) is an error at backward. */
  saved: tf.Tensor[];
  /** The tensors the op made, in order: one, or several for a MultiOutputRule (each has this node). */
  readonly outputs: Tensor[] = [];
  /**
   * For a rule that reads its outputs: copies[k] are handles on output k's values that its siblings
   * own, which the adjoint reads where the caller disposed output k (kept only one result of a tidy).
   */
  copies: tf.Tensor[][] = [];
  constructor(
    readonly rule: AnyOpRule,
    public inputs: Tensor[],
    readonly attrs: unknown,
  ) {
    this.saved = inputs.map((x) => x.value);
  }
}

/**
 * The op that made t (which has a node), as tables and messages name it: `unbind[2]` for output 2 of
 * an op with several, `linalg.svd.S` for one whose outputs are named.
 */
export function opLabel(t: Tensor): string {
  const node = t.node!;
  if (node.outputs.length <= 1) return node.rule.name;
  const k = node.outputs.indexOf(t);
  const named = node.rule.outputs === 'several' ? node.rule.outputNames?.[k] : undefined;
  return named ? `${node.rule.name}.${named}` : `${node.rule.name}[${k}]`;
}

/** A tensor's values as nested arrays: a number (or boolean) for a 0-d tensor. */
export type NestedArray = number | boolean | NestedArray[];

/** Flat values cut into nested arrays of `shape`, row-major. */
function nestedFrom(flat: ArrayLike<number>, shape: number[], bool: boolean): NestedArray {
  const at = (i: number) => (bool ? flat[i] !== 0 : flat[i]);
  const build = (axis: number, offset: number, stride: number): NestedArray => {
    if (axis === shape.length) return at(offset);
    const inner = stride / shape[axis];
    return Array.from({ length: shape[axis] }, (_, k) => build(axis + 1, offset + k * inner, inner));
  };
  return build(
    0,
    0,
    shape.reduce((n, d) => n * d, 1),
  );
}

/** Runs on a tensor's gradient during backward; a returned Tensor replaces it. PyTorch `torch.Tensor.register_hook`. */
export type GradHook = (grad: Tensor) => Tensor | void;

/**
 * Told of each assignment to a tensor's .grad before it happens: compile() listens while it
 * traces, to learn which gradients a step found on entry (zeroGrad inside the step clears them).
 */
export const gradAssignments: { onAssign: ((t: Tensor) => void) | null } = { onAssign: null };

/**
 * A tensor: one TF.js tensor (`value`) with what reverse mode needs: `requiresGrad`, `grad`, the op that made it.
 * PyTorch `torch.Tensor`, JAX `jax.Array`.
 */
export class Tensor {
  /** The values, on the active TF.js backend. Optimizers replace it; nothing mutates it in place. */
  value: tf.Tensor;
  private _grad: Tensor | null = null;
  /** The tape node that produced this tensor; null for leaves. */
  readonly node: Node | null;
  /** Constants this tensor's op made from plain numbers; disposed with it. */
  readonly owned: tf.Tensor[] = [];
  /** Hooks run on the gradient flowing into this tensor during backward (see registerHook). */
  hooks: GradHook[] = [];
  /** A non-leaf that keeps its .grad after backward (see retainGrad). */
  retainsGrad = false;
  private _requiresGrad: boolean;

  constructor(value: tf.Tensor, opts: { requiresGrad?: boolean; node?: Node | null } = {}) {
    if (!(value instanceof tf.Tensor))
      throw new TapegradError('Tensor', 'wraps a tf.Tensor; make tensors with tg.tensor(data), tg.zeros(shape), …');
    this.value = value;
    this.node = opts.node ?? null;
    this.node?.outputs.push(this);
    this._requiresGrad = false;
    this.requiresGrad = opts.requiresGrad ?? this.node !== null;
  }

  get requiresGrad(): boolean {
    return this._requiresGrad;
  }
  set requiresGrad(on: boolean) {
    if (on && this.value.dtype !== 'float32') {
      throw new TapegradError('requiresGrad', `only float32 tensors can require grad; this one is ${this.value.dtype}`);
    }
    if (!on && this.node)
      throw new TapegradError('requiresGrad', 'a non-leaf tensor always requires grad; use detach()');
    this._requiresGrad = on;
  }

  /**
   * The gradient accumulated by backward(); writable, as in PyTorch (assigning does not dispose): a
   * float32 Tensor of this tensor's shape, or null.
   */
  get grad(): Tensor | null {
    return this._grad;
  }
  set grad(g: Tensor | null) {
    gradAssignments.onAssign?.(this);
    if (g === undefined || g === null) {
      this._grad = null;
      return;
    }
    if (!(g instanceof Tensor)) {
      const what =
        typeof g === 'object'
          ? (Object.getPrototypeOf(g)?.constructor?.name ?? 'an object')
          : `${typeof g} ${String(g)}`;
      throw new TapegradError('grad', `must be a Tensor or null, got ${what}`);
    }
    if (g.shape.join() !== this.shape.join() || g.dtype !== 'float32') {
      throw new TapegradError(
        'grad',
        `must be float32 with the tensor's shape ${fmtShape(this.shape)}, got ${g.dtype} ${fmtShape(g.shape)}`,
      );
    }
    this._grad = g;
  }

  get shape(): number[] {
    return this.value.shape;
  }
  get rank(): number {
    return this.value.rank;
  }
  get size(): number {
    return this.value.size;
  }
  get dtype(): DType {
    return this.value.dtype as DType;
  }
  get isLeaf(): boolean {
    return this.node === null;
  }
  get isDisposed(): boolean {
    return this.value.isDisposed;
  }

  // ---- reading values
  async data(): Promise<Float32Array | Int32Array | Uint8Array> {
    this.assertLive('data');
    return (await this.value.data()) as Float32Array | Int32Array | Uint8Array;
  }
  dataSync(): Float32Array | Int32Array | Uint8Array {
    this.assertSyncRead('dataSync');
    return this.value.dataSync() as Float32Array | Int32Array | Uint8Array;
  }
  async array(): Promise<unknown> {
    this.assertLive('array');
    return this.value.array();
  }
  arraySync(): unknown {
    this.assertSyncRead('arraySync');
    return this.value.arraySync();
  }
  /**
   * The values as nested arrays (a number for a 0-d tensor), bool entries as booleans: PyTorch's
   * `tolist()`. Asynchronous, as `array()`, so that it works on every backend (webgpu reads only so);
   * `toArraySync()` where synchronous reads work.
   */
  async toArray(): Promise<NestedArray> {
    this.assertLive('toArray');
    return nestedFrom(await this.value.data(), this.shape, this.dtype === 'bool');
  }
  /** `toArray()`, read synchronously (not on webgpu in Node or in a page). */
  toArraySync(): NestedArray {
    this.assertSyncRead('toArraySync');
    return nestedFrom(this.value.dataSync(), this.shape, this.dtype === 'bool');
  }
  /** The single value of a one-element tensor, as a number. */
  item(): number {
    this.assertSyncRead('item');
    if (this.size !== 1)
      throw new TapegradError('item', `needs a tensor with one element, got shape ${fmtShape(this.shape)}`);
    return this.value.dataSync()[0];
  }

  // ---- graph and memory
  /** The same values, cut from the graph: a new leaf that does not require grad (shares memory). */
  detach(): Tensor {
    this.assertLive('detach');
    return new Tensor(this.value.clone());
  }
  /** Frees the values (and constants this tensor's op created). Safe to call twice. */
  dispose(): void {
    this.value.dispose();
    for (const c of this.owned) c.dispose();
  }
  /** fn(grad) runs when this tensor's gradient is complete; a returned Tensor replaces it. */
  registerHook(fn: GradHook): () => void {
    if (!this.requiresGrad) throw new TapegradError('registerHook', 'the tensor does not require grad');
    if (typeof fn !== 'function') throw new TapegradError('registerHook', `expected a function, got ${typeof fn}`);
    this.hooks.push(fn);
    return () => {
      this.hooks = this.hooks.filter((h) => h !== fn);
    };
  }
  /** Keep .grad on this non-leaf after backward, as PyTorch's retain_grad(). */
  retainGrad(): this {
    if (!this.requiresGrad) throw new TapegradError('retainGrad', 'the tensor does not require grad');
    this.retainsGrad = true;
    return this;
  }
  /** A synchronous read needs a backend that can do one: webgpu in Node (Dawn) cannot. */
  private assertSyncRead(fn: string): void {
    this.assertLive(fn);
    if (!hasSyncRead()) {
      throw new TapegradError(
        fn,
        `the webgpu backend here cannot read values synchronously; use await x.data() (or x.array())`,
      );
    }
  }
  /** Throws a clear error if this tensor's memory has been freed. */
  assertLive(fn: string, what = 'the tensor'): void {
    if (this.value.isDisposed) throw new TapegradError(fn, `${what} (shape ${fmtShape(this.shape)}) has been disposed`);
  }

  toString(): string {
    if (this.isDisposed) return `tensor(<disposed>, shape=${fmtShape(this.shape)})`;
    const grad = this.node ? `, gradFn=${opLabel(this)}` : this.requiresGrad ? ', requiresGrad=true' : '';
    const dtype = this.dtype === 'float32' ? '' : `, dtype=${this.dtype}`;
    // JSON has no NaN or ±Infinity (it writes null): they are spelled out as JavaScript does
    const values = JSON.stringify(this.value.arraySync(), (_k, v) =>
      typeof v === 'number' && !Number.isFinite(v) ? `\u0000${v}` : v,
    ).replace(/"\\u0000(NaN|-?Infinity)"/g, '$1');
    return `tensor(${values}${dtype}${grad})`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
