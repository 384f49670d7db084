// TapegradAdamUpdate: one Adam / AdamW step for one parameter, as three GPU passes (new moment m,
// new moment v, new parameter) instead of the ~12 elementwise ops of the composed update.
//
// Inputs param, grad, m, v (same shape, float32); attrs lr, beta1, beta2, eps, weightDecay,
// decoupled (AdamW), step (t ≥ 1, for the bias corrections). Outputs [param', m', v']:
//   g  = grad + λ·param                     (Adam's L2 weight decay; AdamW: g = grad)
//   m' = β₁ m + (1 − β₁) g,   v' = β₂ v + (1 − β₂) g²
//   param' = param·(1 − lr·λ [AdamW]) − lr · (m' / (1 − β₁ᵗ)) / (√(v' / (1 − β₂ᵗ)) + ε)
// Each pass recomputes g (and m', v') from the inputs, so the three are independent.
import type { KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { glslProgram, glslUniforms, wgslProgram, wgslUniforms, type WebGLBackendLike, type WebGPUBackendLike } from './gpu-program.js';

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
}

const UNIFORMS = ['lr', 'beta1', 'beta2', 'eps', 'wd', 'bc1', 'bc2', 'decoupled'];
const uniformValues = (a: AdamUpdateAttrs) => [a.lr, a.beta1, a.beta2, a.eps, a.weightDecay, 1 - a.beta1 ** a.step, 1 - a.beta2 ** a.step, a.decoupled ? 1 : 0];
const OUTPUTS = ['param', 'm', 'v'] as const;

/** The expression of each output, given p, g, m, v and the uniforms (same text in GLSL and WGSL). */
function formula(which: (typeof OUTPUTS)[number], u: (name: string) => string, cast: (x: string) => string): string {
  const gEff = `(g + (1.0 - ${u('decoupled')}) * ${u('wd')} * p)`;
  const m1 = `(${u('beta1')} * m + (1.0 - ${u('beta1')}) * ${gEff})`;
  const v1 = `(${u('beta2')} * v + (1.0 - ${u('beta2')}) * ${gEff} * ${gEff})`;
  if (which === 'm') return m1;
  if (which === 'v') return v1;
  return `p * (1.0 - ${u('decoupled')} * ${u('lr')} * ${u('wd')}) - ${u('lr')} * (${m1} / ${u('bc1')}) / (sqrt(${cast(v1)} / ${u('bc2')}) + ${u('eps')})`;
}

type Inputs = { param: TensorInfo; grad: TensorInfo; m: TensorInfo; v: TensorInfo };

export const adamUpdateWebGL: KernelConfig = {
  kernelName: ADAM_UPDATE,
  backendName: 'webgl',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { param, grad, m, v } = inputs as unknown as Inputs;
    const a = attrs as unknown as AdamUpdateAttrs;
    return OUTPUTS.map((which) => {
      const body = `
        float p = getParamAtOutCoords(); float g = getGradAtOutCoords();
        float m = getMAtOutCoords(); float v = getVAtOutCoords();
        setOutput(${formula(which, (n) => n, (x) => x)});`;
      const program = glslProgram(param.shape, ['param', 'grad', 'm', 'v'], UNIFORMS, body);
      return (backend as unknown as WebGLBackendLike).runWebGLProgram(program, [param, grad, m, v], 'float32', glslUniforms(uniformValues(a)));
    });
  },
};

export const adamUpdateWebGPU: KernelConfig = {
  kernelName: ADAM_UPDATE,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { param, grad, m, v } = inputs as unknown as Inputs;
    const a = attrs as unknown as AdamUpdateAttrs;
    return OUTPUTS.map((which) => {
      const body = `
          let p = f32(param[index]); let g = f32(grad[index]); let m = f32(mom[index]); let v = f32(vel[index]);
          setOutputAtIndex(index, ${formula(which, (n) => `uniforms.${n}`, (x) => x)});`;
      const program = wgslProgram(`tapegrad_adam_${which}`, param.shape, ['param', 'grad', 'mom', 'vel'], UNIFORMS, body);
      return (backend as unknown as WebGPUBackendLike).runWebGPUProgram(program, [param, grad, m, v], 'float32', wgslUniforms(uniformValues(a)));
    });
  },
};

/** The attrs as TF.js passes them (a NamedAttrMap holds numbers and booleans). */
export const adamAttrs = (a: AdamUpdateAttrs): NamedAttrMap => ({ ...a }) as unknown as NamedAttrMap;
