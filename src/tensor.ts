// Tensor: one TF.js tensor plus what reverse mode needs — requiresGrad, grad, and the node that made it.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, fmtShape } from './errors.js';
import type { Node, BackwardOptions, GradHook } from './tape.js';
import * as tape from './tape.js';
import * as ops from './ops/index.js';

export type DType = 'float32' | 'int32' | 'bool';
/** What ops accept where a tensor is expected: plain numbers become scalars. */
export type TensorLike = Tensor | number;
type Axis = number | number[];
type ReduceOptions = { axis?: Axis; keepDims?: boolean };

export class Tensor {
  /** The values, on the active TF.js backend. Optimizers replace it; nothing mutates it in place. */
  value: tf.Tensor;
  /** The gradient accumulated by backward(); writable, as in PyTorch (assigning does not dispose). */
  grad: Tensor | null = null;
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
    if (!(value instanceof tf.Tensor)) throw new TapegradError('Tensor', 'wraps a tf.Tensor; make tensors with tg.tensor(data), tg.zeros(shape), …');
    this.value = value;
    this.node = opts.node ?? null;
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
    if (!on && this.node) throw new TapegradError('requiresGrad', 'a non-leaf tensor always requires grad; use detach()');
    this._requiresGrad = on;
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
  /** The single value of a one-element tensor, as a number. */
  item(): number {
    this.assertSyncRead('item');
    if (this.size !== 1) throw new TapegradError('item', `needs a tensor with one element, got shape ${fmtShape(this.shape)}`);
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
  /** Reverse-mode sweep from this tensor; accumulates into the .grad of leaves that require grad. */
  backward(seed?: Tensor | number | null, opts: BackwardOptions = {}): void {
    tape.backward(this, seed ?? undefined, opts);
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
    if (tf.getBackend() === 'webgpu' && typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas === 'undefined') {
      throw new TapegradError(fn, `the webgpu backend here cannot read values synchronously; use await x.data() (or x.array())`);
    }
  }
  /** Throws a clear error if this tensor's memory has been freed. */
  assertLive(fn: string, what = 'the tensor'): void {
    if (this.value.isDisposed) throw new TapegradError(fn, `${what} (shape ${fmtShape(this.shape)}) has been disposed`);
  }

  // ---- chainable ops (each is the free function of the same name in ops/)
  add(b: TensorLike): Tensor { return ops.add(this, b); }
  sub(b: TensorLike): Tensor { return ops.sub(this, b); }
  mul(b: TensorLike): Tensor { return ops.mul(this, b); }
  div(b: TensorLike): Tensor { return ops.div(this, b); }
  pow(b: TensorLike): Tensor { return ops.pow(this, b); }
  maximum(b: TensorLike): Tensor { return ops.maximum(this, b); }
  minimum(b: TensorLike): Tensor { return ops.minimum(this, b); }
  neg(): Tensor { return ops.neg(this); }
  abs(): Tensor { return ops.abs(this); }
  sign(): Tensor { return ops.sign(this); }
  exp(): Tensor { return ops.exp(this); }
  log(): Tensor { return ops.log(this); }
  log1p(): Tensor { return ops.log1p(this); }
  expm1(): Tensor { return ops.expm1(this); }
  sqrt(): Tensor { return ops.sqrt(this); }
  rsqrt(): Tensor { return ops.rsqrt(this); }
  square(): Tensor { return ops.square(this); }
  reciprocal(): Tensor { return ops.reciprocal(this); }
  sin(): Tensor { return ops.sin(this); }
  cos(): Tensor { return ops.cos(this); }
  tan(): Tensor { return ops.tan(this); }
  tanh(): Tensor { return ops.tanh(this); }
  sigmoid(): Tensor { return ops.sigmoid(this); }
  relu(): Tensor { return ops.relu(this); }
  leakyRelu(alpha?: number): Tensor { return ops.leakyRelu(this, alpha); }
  elu(): Tensor { return ops.elu(this); }
  softplus(): Tensor { return ops.softplus(this); }
  gelu(): Tensor { return ops.gelu(this); }
  clip(lo: number, hi: number): Tensor { return ops.clip(this, lo, hi); }
  sum(opts?: ReduceOptions): Tensor { return ops.sum(this, opts); }
  mean(opts?: ReduceOptions): Tensor { return ops.mean(this, opts); }
  prod(opts?: ReduceOptions): Tensor { return ops.prod(this, opts); }
  max(opts?: ReduceOptions): Tensor { return ops.max(this, opts); }
  min(opts?: ReduceOptions): Tensor { return ops.min(this, opts); }
  logSumExp(opts?: ReduceOptions): Tensor { return ops.logSumExp(this, opts); }
  variance(opts?: ReduceOptions & { correction?: number }): Tensor { return ops.variance(this, opts); }
  norm(opts?: ReduceOptions & { ord?: number }): Tensor { return ops.norm(this, opts); }
  argmax(opts?: { axis?: number; keepDims?: boolean }): Tensor { return ops.argmax(this, opts); }
  argmin(opts?: { axis?: number; keepDims?: boolean }): Tensor { return ops.argmin(this, opts); }
  reshape(shape: number[]): Tensor { return ops.reshape(this, shape); }
  transpose(perm?: number[]): Tensor { return ops.transpose(this, perm); }
  expandDims(axis = 0): Tensor { return ops.expandDims(this, axis); }
  squeeze(axis?: Axis): Tensor { return ops.squeeze(this, axis); }
  slice(begin: number[], size?: number[]): Tensor { return ops.slice(this, begin, size); }
  gather(indices: Tensor | number[], axis = 0): Tensor { return ops.gather(this, indices, axis); }
  pad(paddings: [number, number][], value = 0): Tensor { return ops.pad(this, paddings, value); }
  broadcastTo(shape: number[]): Tensor { return ops.broadcastTo(this, shape); }
  tile(reps: number[]): Tensor { return ops.tile(this, reps); }
  matmul(b: Tensor): Tensor { return ops.matmul(this, b); }
  dot(b: Tensor): Tensor { return ops.dot(this, b); }
  softmax(axis = -1): Tensor { return ops.softmax(this, axis); }
  logSoftmax(axis = -1): Tensor { return ops.logSoftmax(this, axis); }

  toString(): string {
    if (this.isDisposed) return `tensor(<disposed>, shape=${fmtShape(this.shape)})`;
    const grad = this.node ? `, gradFn=${this.node.rule.name}` : this.requiresGrad ? ', requiresGrad=true' : '';
    const dtype = this.dtype === 'float32' ? '' : `, dtype=${this.dtype}`;
    return `tensor(${JSON.stringify(this.value.arraySync())}${dtype}${grad})`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
