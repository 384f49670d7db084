// TapegradReluGrad and TapegradLeakyReluGrad: the backward of relu and leakyRelu in one pass,
// instead of a comparison, a mask and a select (plus a zeros constant).
//
// Inputs dy, x (same shape, float32). relu: dx = dy·[x > 0]. leakyRelu (attr alpha):
// dx = dy·[x > 0] + α·dy·[x ≤ 0]. A NaN x gives the x ≤ 0 branch, as PyTorch's threshold_backward.
// leakyReluGradReference, at the end, is the same in TF.js ops: what backends without the kernel
// run, the factor the recorded (createGraph) adjoints multiply by, and the tests' oracle.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { glslProgram, runGlsl, runWgsl, wgslProgram } from './gpu-program.js';
import { jsKernelConfigs } from './js-kernel.js';
import { GRADS_SHARE_MIN, simdGrads, simdGradsHelper } from './wasm-simd-grads.js';

export const RELU_GRAD = 'TapegradReluGrad';
export const LEAKY_RELU_GRAD = 'TapegradLeakyReluGrad';

type Inputs = { dy: TensorInfo; x: TensorInfo };

/** Both kernels run one program with the negative-side slope as a uniform (0 for relu). */
function configs(kernelName: string, slope: (attrs: Record<string, unknown> | undefined) => number): KernelConfig[] {
  return [
    {
      kernelName,
      backendName: 'webgl',
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { dy, x } = inputs as unknown as Inputs;
        const body = `float g = getDyAtOutCoords(); setOutput(getXAtOutCoords() > 0.0 ? g : alpha * g);`;
        return runGlsl(backend, glslProgram(dy.shape, ['dy', 'x'], ['alpha'], body), [dy, x], [slope(attrs)]);
      },
    },
    {
      kernelName,
      backendName: 'webgpu',
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { dy, x } = inputs as unknown as Inputs;
        const body = `let g = f32(dy[index]); setOutputAtIndex(index, select(uniforms.alpha * g, g, f32(x[index]) > 0.0));`;
        const program = wgslProgram('tapegrad_relu_grad', dy.shape, ['dy', 'x'], ['alpha'], body);
        return runWgsl(backend, program, [dy, x], [slope(attrs)]);
      },
    },
  ];
}

/** cpu and wasm: one loop; a NaN x takes the x ≤ 0 branch, as on the GPUs. */
const jsConfigs = (kernelName: string, slope: (attrs: Record<string, unknown> | undefined) => number) =>
  jsKernelConfigs(
    kernelName,
    ({ dy }) => [dy!.shape],
    ({ dy, x }, [dx], attrs, _infos, heap) => {
      // α·dy rounded once from float32 α, as TF.js's multiply and the SIMD loop compute it
      const alpha = Math.fround(slope(attrs));
      // on wasm, whole vectors in SIMD (wasm-simd-grads.ts), the rest here
      const simd = simdGrads(heap);
      const start = simd ? dx.length & ~3 : 0;
      const helper = start >= GRADS_SHARE_MIN ? simdGradsHelper(heap) : null;
      const entries = (from: number, to: number) => [
        dy!.byteOffset + 4 * from,
        x!.byteOffset + 4 * from,
        dx.byteOffset + 4 * from,
        to - from,
        alpha,
      ];
      if (helper) helper.range('reluGrad', start, 4, entries);
      else if (simd) simd.reluGrad(...(entries(0, start) as Parameters<typeof simd.reluGrad>));
      for (let i = start; i < dx.length; i++) dx[i] = x![i] > 0 ? dy![i] : alpha * dy![i];
    },
    false,
  );

export const reluGradKernels = [...configs(RELU_GRAD, () => 0), ...jsConfigs(RELU_GRAD, () => 0)];
export const leakyReluGradKernels = [
  ...configs(LEAKY_RELU_GRAD, (attrs) => attrs!.alpha as number),
  ...jsConfigs(LEAKY_RELU_GRAD, (attrs) => attrs!.alpha as number),
];

/** dy·[x > 0] + α·dy·[x ≤ 0] in TF.js ops (α = 0: relu's backward). */
export function leakyReluGradReference(dy: tf.Tensor, x: tf.Tensor, alpha: number): tf.Tensor {
  return tf.tidy(() => tf.where(tf.greater(x, 0), dy, alpha === 0 ? tf.zerosLike(dy) : tf.mul(dy, alpha)));
}
