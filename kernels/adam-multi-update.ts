// TapegradAdamMultiUpdate: one Adam / AdamW step of every parameter of an optimizer in one kernel
// call (PyTorch's multi-tensor "foreach" Adam): the same loop as TapegradAdamUpdate's on cpu and
// wasm (kernels/adam-update.ts), run over each parameter in turn, so that a step costs one trip
// through TF.js's engine however many parameters the model has.
//
// Inputs param0 … param{k−1}, grad0 …, moments0 … ([2, ...shape]: m, v), and `steps`: int32
// [k, 6], each row the float64 bits of that parameter's (lr, 1 − β₁ᵗ, 1 − β₂ᵗ): the numbers that
// change from step to step come in a tensor, so that a compiled step replays with each call's
// own, and as float64 so that the arithmetic is the per-parameter kernel's to the bit.
// Attrs: count k, decoupled (AdamW), and per parameter beta1, beta2, eps, weightDecay (arrays).
// Outputs: param0' … param{k−1}', moments0' … moments{k−1}'.
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { jsKernelConfigs } from './js-kernel.js';

export const ADAM_MULTI_UPDATE = 'TapegradAdamMultiUpdate';

export interface AdamMultiAttrs {
  count: number;
  decoupled: boolean;
  beta1: number[];
  beta2: number[];
  eps: number[];
  weightDecay: number[];
}

/** The numbers of one parameter's row of `steps`, as float64: lr, 1 − β₁ᵗ, 1 − β₂ᵗ. */
export const ADAM_STEP_WIDTH = 3;

/** The int32 tensor data of `steps` from one (lr, 1 − β₁ᵗ, 1 − β₂ᵗ) per parameter. */
export const adamStepBits = (rows: number[][]): Int32Array => new Int32Array(new Float64Array(rows.flat()).buffer);

const outShapes = (inputs: Record<string, TensorInfo | undefined>, attrs: NamedAttrMap): number[][] => {
  const k = attrs.count as number;
  const shapes: number[][] = [];
  for (let i = 0; i < k; i++) shapes.push(inputs[`param${i}`]!.shape);
  for (let i = 0; i < k; i++) shapes.push(inputs[`moments${i}`]!.shape);
  return shapes;
};

/** cpu and wasm: per parameter, the per-parameter kernel's loop (float64 between float32 reads and writes). */
export const adamMultiUpdateJs = jsKernelConfigs(ADAM_MULTI_UPDATE, outShapes, (views, outs, attrs) => {
  const a = attrs as unknown as AdamMultiAttrs;
  const k = a.count;
  // copied before reading as float64: the heap offset need not be a multiple of 8
  const steps = new Float64Array(Int32Array.from(views.steps as Int32Array).buffer);
  for (let j = 0; j < k; j++) {
    const p = views[`param${j}`]!;
    const g = views[`grad${j}`]!;
    const mv = views[`moments${j}`]!;
    const p1 = outs[j];
    const mv1 = outs[k + j];
    const n = p.length;
    const beta1 = a.beta1[j];
    const beta2 = a.beta2[j];
    const eps = a.eps[j];
    const lr = steps[ADAM_STEP_WIDTH * j];
    const l2 = a.decoupled ? 0 : a.weightDecay[j];
    const keep = a.decoupled ? 1 - lr * a.weightDecay[j] : 1;
    const stepSize = lr / steps[ADAM_STEP_WIDTH * j + 1];
    const bc2 = steps[ADAM_STEP_WIDTH * j + 2];
    for (let i = 0; i < n; i++) {
      const pi = p[i];
      const gi = g[i] + l2 * pi;
      const m = beta1 * mv[i] + (1 - beta1) * gi;
      const v = beta2 * mv[n + i] + (1 - beta2) * gi * gi;
      mv1[i] = m;
      mv1[n + i] = v;
      p1[i] = pi * keep - (stepSize * m) / (Math.sqrt(v / bc2) + eps);
    }
  }
});
