// A fix for TF.js 4.22's webgpu backend: Cast from int32 or bool to float32 relabels the buffer
// without converting it ("cast to higher precision": identity), so the buffer still holds
// integers. Kernels that read inputs through their typed accessors convert them, but the generic
// transpose shader copies raw words: a sum over non-adjacent axes of cast(x == y) — the adjoint of
// max — came out 0 (measured in Chromium, webgpu on SwiftShader). Casting through a real
// conversion pass makes every float32 tensor hold floats.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { wgslProgram, type WebGPUBackendLike } from './gpu-program.js';

let installed = false;
let original: KernelConfig | undefined;

/** TF.js's own webgpu Cast, once replaced: for the test that tells when it converts by itself. */
export const tfjsWebGPUCast = (): KernelConfig | undefined => original;

/** Replaces webgpu's Cast kernel by one that converts int32/bool → float32 (once). */
export function fixWebGPUCast(): void {
  if (installed || !tf.getKernel('Cast', 'webgpu')) return;
  original = tf.getKernel('Cast', 'webgpu')!;
  const tfjs = original;
  tf.unregisterKernel('Cast', 'webgpu');
  tf.registerKernel({
    kernelName: 'Cast',
    backendName: 'webgpu',
    kernelFunc: (args) => {
      const x = args.inputs.x as TensorInfo;
      if (args.attrs?.dtype !== 'float32' || (x.dtype !== 'int32' && x.dtype !== 'bool')) return tfjs.kernelFunc(args);
      const program = wgslProgram(
        'tapegrad_cast_to_f32',
        x.shape,
        ['x'],
        [],
        'setOutputAtIndex(index, f32(x[index]));',
      );
      return (args.backend as unknown as WebGPUBackendLike).runWebGPUProgram(program, [x], 'float32');
    },
  });
  installed = true;
}
