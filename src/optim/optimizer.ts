// Optimizer: the base of SGD, Adam, AdamW and RMSprop. step() updates each parameter that has a
// gradient, outside the tape, with raw TF.js ops in a tidy: the new value replaces p.value (the old
// one is disposed, the new one tf.keep-ed), and per-parameter state (momentum, moments) is kept the
// same way and freed by dispose(). No value is read back to JavaScript: step() never syncs.
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { describe } from '../op.js';
import { checkLR, lrAt, type LR } from './schedules.js';
import { flushCommands } from '../../kernels/webgpu-dispatch.js';

export interface OptimizerOptions {
  lr: LR;
  weightDecay?: number;
}

export interface Update {
  param: tf.Tensor;
  state: Record<string, tf.Tensor>;
}

export abstract class Optimizer {
  readonly params: Tensor[];
  /** Steps taken so far; a schedule's t. */
  stepCount = 0;
  protected readonly state = new Map<Tensor, Record<string, tf.Tensor>>();
  private disposed = false;

  constructor(readonly name: string, params: Tensor[], protected readonly lrOption: LR) {
    if (!Array.isArray(params) || params.length === 0) throw new TapegradError(name, 'needs a non-empty array of parameters (e.g. net.parameters())');
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new TapegradError(name, `parameter ${i} must be a Tensor, got ${describe(p)}`);
      if (!p.requiresGrad) throw new TapegradError(name, `parameter ${i} (shape ${fmtShape(p.shape)}) does not require grad; create it with { requiresGrad: true } or use a module's parameters()`);
      if (!p.isLeaf) throw new TapegradError(name, `parameter ${i} (shape ${fmtShape(p.shape)}) is not a leaf: optimise the tensors you created, not results of ops`);
    });
    if (new Set(params).size !== params.length) throw new TapegradError(name, 'a parameter is listed twice');
    checkLR(name, lrOption);
    this.params = [...params];
  }

  /** The learning rate the next step will use. */
  get lr(): number {
    return lrAt(this.lrOption, this.stepCount);
  }

  /** Updates every parameter that has a .grad, then advances the step count. */
  step(): void {
    if (this.disposed) throw new TapegradError(`${this.name}.step`, 'the optimizer has been disposed');
    const lr = this.lr;
    if (!Number.isFinite(lr)) throw new TapegradError(`${this.name}.step`, `the learning rate at step ${this.stepCount} is ${lr}`);
    this.stepCount++;
    for (const p of this.params) {
      if (!p.grad) continue;
      p.assertLive(`${this.name}.step`, 'a parameter');
      p.grad.assertLive(`${this.name}.step`, "a parameter's grad");
      const prev = this.state.get(p) ?? {};
      let out!: Update;
      tf.tidy(() => {
        out = this.update(p.value, p.grad!.value, prev, lr, this.stepCount);
        return [out.param, ...Object.values(out.state)];
      });
      p.value.dispose();
      p.value = tf.keep(out.param);
      for (const v of Object.values(out.state)) tf.keep(v);
      // the previous state is freed, also entries the rule no longer returns (a backend switch)
      for (const [k, v] of Object.entries(prev)) if (out.state[k] !== v) v.dispose();
      this.state.set(p, out.state);
    }
    // On webgpu, the step's commands go to the GPU now (kernels/webgpu-dispatch.ts says why).
    flushCommands();
  }

  /**
   * The update rule for one parameter: its new value and state (the same names every step), from
   * p, its gradient g, the previous state (empty on the first step), lr, and the step t ≥ 1.
   * Runs inside a tidy, with raw TF.js ops: nothing is recorded.
   */
  protected abstract update(p: tf.Tensor, g: tf.Tensor, state: Record<string, tf.Tensor>, lr: number, t: number): Update;

  /** Frees every parameter's .grad and sets it to null. */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Frees the optimizer's state (not the parameters). */
  dispose(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) v.dispose();
    this.state.clear();
    this.disposed = true;
  }
}

/** A positive-or-zero number option, or a clear error. */
export function nonNegative(fn: string, what: string, v: number): number {
  if (!(typeof v === 'number' && v >= 0 && Number.isFinite(v))) throw new TapegradError(fn, `${what} must be a non-negative number, got ${v}`);
  return v;
}
