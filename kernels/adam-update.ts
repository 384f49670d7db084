// TapegradAdamUpdate: one Adam / AdamW step for one parameter in two GPU passes instead of the
// ~12 elementwise ops of the composed update: the new moments, packed as one tensor (m in row 0,
// v in row 1, so that one pass writes both), then the new parameter. adamUpdateReference, at the
// end, is the same step in TF.js ops: what backends without the kernel run, and the tests' oracle.
//
// Inputs param, grad (same shape), moments ([2, ...shape]: m, v); attrs lr, beta1, beta2, eps,
// weightDecay, decoupled (AdamW), step (t ≥ 1, for the bias corrections). Outputs [param', moments']:
//   g  = grad + λ·param                     (Adam's L2 weight decay; AdamW: g = grad)
//   m' = β₁ m + (1 − β₁) g,   v' = β₂ v + (1 − β₂) g²
//   param' = param·(1 − lr·λ [AdamW]) − lr · (m' / (1 − β₁ᵗ)) / (√(v' / (1 − β₂ᵗ)) + ε)
// The parameter's pass recomputes m' and v' from the inputs, so the two passes are independent.
// On webgpu the values that change every step (lr, 1 − β₁ᵗ, 1 − β₂ᵗ) come in a 3-float input
// tensor, not as uniforms, so that the uniforms stay the same from step to step and
// kernels/webgpu-dispatch.ts can keep the kernel's uniform buffer and bind groups. The caller may
// pass that tensor as input `step` (a compiled step does: its numbers are fed afresh each replay),
// its three numbers from entry attr `stepOffset` on, so that every parameter of an optimizer binds
// the one tensor of all their rows (no slice per parameter); else the kernel makes it from the attrs.
// On webgl the caller passes flat views (param, grad [N]; moments [2, N]): GLSL reads by
// coordinates, and a rank-1 and a rank-2 sampler serve every parameter shape. There attr
// `corrected` stores the moments as [m / (1 − β₁ᵗ), √(v / (1 − β₂ᵗ))] instead: values of the
// gradient's own magnitude, which half-float textures keep, where v (g² early on scaled by
// 1 − β₂ᵗ) flushes to 0 below |g| ≈ 5e-3 and m / (√v + ε) then blows up. The arithmetic between
// the reads and the writes is float32 either way.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { glslProgram, runGlsl, runWgsl, wgslProgram, type WebGPUBackendLike } from './gpu-program.js';
import { jsKernelConfigs } from './js-kernel.js';

export const ADAM_UPDATE = 'TapegradAdamUpdate';

export interface AdamUpdateAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW: weight decay applied to the parameter, not added to the gradient. */
  decoupled: boolean;
  /** The step number t ≥ 1 after this update (bias corrections 1 − βᵗ). */
  step: number;
  /** webgl only: the moments are stored bias-corrected, as [m̂, √v̂] (see above). */
  corrected?: boolean;
  /** AMSGrad: divide by the largest v so far (the reference only; the kernel has no such state). */
  amsgrad?: boolean;
  /** webgpu, with input `step`: the entry of `step` where this parameter's (lr, 1 − β₁ᵗ, 1 − β₂ᵗ) start (0 by default). */
  stepOffset?: number;
}

const UNIFORMS = ['lr', 'beta1', 'beta2', 'eps', 'wd', 'bc1', 'bc2', 'decoupled'];
const uniformValues = (a: AdamUpdateAttrs) => [
  a.lr,
  a.beta1,
  a.beta2,
  a.eps,
  a.weightDecay,
  1 - a.beta1 ** a.step,
  1 - a.beta2 ** a.step,
  a.decoupled ? 1 : 0,
];
// webgl's: also the previous step's corrections (pc1, pc2) and whether the moments are stored corrected
const GL_UNIFORMS = [...UNIFORMS, 'pc1', 'pc2', 'corrected'];
const glUniformValues = (a: AdamUpdateAttrs) => [
  ...uniformValues(a),
  1 - a.beta1 ** (a.step - 1),
  1 - a.beta2 ** (a.step - 1),
  a.corrected ? 1 : 0,
];

// The update's expressions in p, g and the old moments, given how each language names a uniform
// (the same text is GLSL and WGSL).
const gEff = (u: (n: string) => string) => `(g + (1.0 - ${u('decoupled')}) * ${u('wd')} * p)`;
const newM = (u: (n: string) => string, m: string) => `(${u('beta1')} * ${m} + (1.0 - ${u('beta1')}) * ${gEff(u)})`;
const newV = (u: (n: string) => string, v: string) =>
  `(${u('beta2')} * ${v} + (1.0 - ${u('beta2')}) * ${gEff(u)} * ${gEff(u)})`;
const newParam = (u: (n: string) => string, m: string, v: string) =>
  `p * (1.0 - ${u('decoupled')} * ${u('lr')} * ${u('wd')}) - ${u('lr')} * (${newM(u, m)} / ${u('bc1')}) / (sqrt(${newV(u, v)} / ${u('bc2')}) + ${u('eps')})`;

type Inputs = { param: TensorInfo; grad: TensorInfo; moments: TensorInfo };
const NAMES = ['param', 'grad', 'moments'];

export const adamUpdateWebGL: KernelConfig = {
  kernelName: ADAM_UPDATE,
  backendName: 'webgl',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { param, grad, moments } = inputs as unknown as Inputs;
    const u = (n: string) => n;
    const uniforms = glUniformValues(attrs as unknown as AdamUpdateAttrs);
    // the stored moments as m and v (undoing the corrections of the previous step when stored corrected)
    const m = (x: string) => `(corrected > 0.5 ? ${x} * pc1 : ${x})`;
    const v = (x: string) => `(corrected > 0.5 ? ${x} * ${x} * pc2 : ${x})`;
    const momentsBody = `
      ivec2 c = getOutputCoords();
      float p = getParam(c.y); float g = getGrad(c.y); float x = getMoments(c.x, c.y);
      if (c.x == 0) { float m1 = ${newM(u, m('x'))}; setOutput(corrected > 0.5 ? m1 / bc1 : m1); }
      else { float v1 = ${newV(u, v('x'))}; setOutput(corrected > 0.5 ? sqrt(v1 / bc2) : v1); }`;
    const paramBody = `
      int i = getOutputCoords();
      float p = getParam(i); float g = getGrad(i); float ms = getMoments(0, i); float vs = getMoments(1, i);
      setOutput(${newParam(u, m('ms'), v('vs'))});`;
    const ins = [param, grad, moments];
    return [
      runGlsl(backend, glslProgram(param.shape, NAMES, GL_UNIFORMS, paramBody), ins, uniforms),
      runGlsl(backend, glslProgram(moments.shape, NAMES, GL_UNIFORMS, momentsBody), ins, uniforms),
    ];
  },
};

export const adamUpdateWebGPU: KernelConfig = {
  kernelName: ADAM_UPDATE,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { param, grad, moments } = inputs as unknown as Inputs;
    const a = attrs as unknown as AdamUpdateAttrs;
    const perStep = ['lr', 'bc1', 'bc2'];
    const u = (n: string) =>
      perStep.includes(n) ? `f32(step[i32(uniforms.stepOffset) + ${perStep.indexOf(n)}])` : `uniforms.${n}`;
    const gpu = backend as unknown as WebGPUBackendLike;
    const values = uniformValues(a);
    const given = (inputs as { step?: TensorInfo }).step;
    const step =
      given ?? gpu.makeTensorInfo([3], 'float32', new Float32Array(perStep.map((n) => values[UNIFORMS.indexOf(n)])));
    const constant = [...UNIFORMS.filter((n) => !perStep.includes(n)), 'stepOffset'];
    const uniforms = [
      ...constant.slice(0, -1).map((n) => values[UNIFORMS.indexOf(n)]),
      given ? (a.stepOffset ?? 0) : 0,
    ];
    // Flat indices: entry i of the parameter has m at moments[i] and v at moments[n + i].
    const momentsBody = `
      let n = uniforms.size / 2; let i = index % n;
      let p = f32(param[i]); let g = f32(grad[i]); let x = f32(moments[index]);
      if (index < n) { setOutputAtIndex(index, ${newM(u, 'x')}); } else { setOutputAtIndex(index, ${newV(u, 'x')}); }`;
    const paramBody = `
      let n = uniforms.size;
      let p = f32(param[index]); let g = f32(grad[index]); let m = f32(moments[index]); let v = f32(moments[n + index]);
      setOutputAtIndex(index, ${newParam(u, 'm', 'v')});`;
    // (the moments' pass does not read the per-step values: a binding no shader reads is an error)
    const ins = [param, grad, moments];
    const out = [
      runWgsl(
        backend,
        wgslProgram('tapegrad_adam_param', param.shape, [...NAMES, 'step'], constant, paramBody),
        [...ins, step],
        uniforms,
      ),
      runWgsl(
        backend,
        wgslProgram('tapegrad_adam_moments', moments.shape, NAMES, constant, momentsBody),
        ins,
        uniforms,
      ),
    ];
    if (!given) gpu.disposeData(step.dataId); // freed once the queued passes are submitted (TF.js defers it)
    return out;
  },
};

/**
 * cpu and wasm: one loop over the parameter, in float64 between the float32 reads and writes.
 * The parameter's update uses m' and v' as computed, before their rounding to float32.
 */
export const adamUpdateJs: KernelConfig[] = jsKernelConfigs(
  ADAM_UPDATE,
  ({ param, moments }) => [param!.shape, moments!.shape],
  ({ param: p, grad: g, moments: mv }, [p1, mv1], attrs) => {
    const a = attrs as unknown as AdamUpdateAttrs;
    const n = p!.length;
    const { beta1, beta2, eps, lr } = a;
    const l2 = a.decoupled ? 0 : a.weightDecay;
    const keep = a.decoupled ? 1 - lr * a.weightDecay : 1;
    const stepSize = lr / (1 - beta1 ** a.step);
    const bc2 = 1 - beta2 ** a.step;
    for (let i = 0; i < n; i++) {
      const pi = p![i];
      const gi = g![i] + l2 * pi;
      const m = beta1 * mv![i] + (1 - beta1) * gi;
      const v = beta2 * mv![n + i] + (1 - beta2) * gi * gi;
      mv1[i] = m;
      mv1[n + i] = v;
      p1[i] = pi * keep - (stepSize * m) / (Math.sqrt(v / bc2) + eps);
    }
  },
);

/** The attrs as TF.js passes them (a NamedAttrMap holds numbers and booleans). */
export const adamAttrs = (a: AdamUpdateAttrs): NamedAttrMap => ({ ...a }) as unknown as NamedAttrMap;

/**
 * The same step in TF.js ops, with m and v stored plainly (null before the first step): returns
 * [param', m', v']. The bias corrections are folded into two scalars, as PyTorch does:
 * param' = decayed − (lr / (1 − β₁ᵗ)) · m' / (√v' / √(1 − β₂ᵗ) + ε).
 */
export function adamUpdateReference(
  param: tf.Tensor,
  grad: tf.Tensor,
  m: tf.Tensor | null,
  v: tf.Tensor | null,
  a: AdamUpdateAttrs,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const out = adamStepReference(param, grad, m, v, null, { ...a, amsgrad: false });
  return [out.param, out.m, out.v];
}

/**
 * The numbers of a step that change from step to step, as float32 scalar tensors (a compiled step
 * feeds them afresh): lr / (1 − β₁ᵗ), 1 / √(1 − β₂ᵗ), 1 − lr·λ. In place of those computed from attrs.
 */
export interface AdamPerStep {
  stepSize: tf.Tensor;
  invSqrtBc2: tf.Tensor;
  decay: tf.Tensor;
}

/** adamUpdateReference with AMSGrad's state: with attr amsgrad, v' in the denominator becomes vMax' = max(vMax, v'). */
export function adamStepReference(
  param: tf.Tensor,
  grad: tf.Tensor,
  m: tf.Tensor | null,
  v: tf.Tensor | null,
  vMax: tf.Tensor | null,
  a: AdamUpdateAttrs,
  perStep?: AdamPerStep,
): { param: tf.Tensor; m: tf.Tensor; v: tf.Tensor; vMax?: tf.Tensor } {
  return tf.tidy(() => {
    const g = !a.decoupled && a.weightDecay !== 0 ? tf.add(grad, tf.mul(param, a.weightDecay)) : grad;
    const gm = tf.mul(g, 1 - a.beta1);
    const gv = tf.mul(tf.square(g), 1 - a.beta2);
    const m1 = m ? tf.add(tf.mul(m, a.beta1), gm) : gm;
    const v1 = v ? tf.add(tf.mul(v, a.beta2), gv) : gv;
    const decay = perStep?.decay ?? 1 - a.lr * a.weightDecay;
    const decayed = a.decoupled && a.weightDecay !== 0 ? tf.mul(param, decay) : param;
    const vMax1 = a.amsgrad ? (vMax ? tf.maximum(vMax, v1) : v1) : null;
    const invSqrtBc2 = perStep?.invSqrtBc2 ?? 1 / Math.sqrt(1 - a.beta2 ** a.step);
    const denom = tf.add(tf.mul(tf.sqrt(vMax1 ?? v1), invSqrtBc2), a.eps);
    const p1 = tf.sub(decayed, tf.mul(tf.div(m1, denom), perStep?.stepSize ?? a.lr / (1 - a.beta1 ** a.step)));
    return vMax1 ? { param: p1, m: m1, v: v1, vMax: vMax1 } : { param: p1, m: m1, v: v1 };
  });
}
