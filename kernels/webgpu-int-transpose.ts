// A fix for TF.js 4.22's webgpu backend: its TransposeProgram (every transpose but the 2-D [1, 0]
// one) writes each word through setOutputAtIndex, whose value is an f32, so for an int32 or bool
// input the shader fails to compile, the dispatch is skipped and the output holds whatever its
// buffer held before. TF.js's own kernels transpose such data inside them (a reduction over any
// but the last axes of a bool mask, any and all; an int32 sum or max), out of reach of a kernel
// replacement, so the program is fixed where it runs: the backend's runWebGPUProgram is wrapped,
// and a transpose of int32 words writes them with setOutputAtIndexI32, TF.js's own i32 writer.
import type { TensorInfo } from '@tensorflow/tfjs-core';

interface Program {
  shaderKey?: string;
  variableNames?: string[];
  getUserCode(): string;
}
type Run = (program: Program, inputs: TensorInfo[], outputDtype: string, ...rest: unknown[]) => TensorInfo;

const FIXED = Symbol('tapegrad int transpose');
const F32_WRITE = 'setOutputAtIndex(flatIndex, A[';
let enabled = true;

/** Turns the fix off (and on again): TF.js's own program runs, for the test that tells when it is right. */
export function setWebGPUIntTransposeFixed(on: boolean): void {
  enabled = on;
}

/** Wraps `backend`'s runWebGPUProgram so that transposes of int32 and bool compile (once). */
export function fixWebGPUIntTranspose(backend: object): void {
  const b = backend as { runWebGPUProgram?: Run; [FIXED]?: true };
  if (b[FIXED] || typeof b.runWebGPUProgram !== 'function') return;
  b[FIXED] = true;
  const run = b.runWebGPUProgram;
  b.runWebGPUProgram = function (this: unknown, program, inputs, outputDtype, ...rest) {
    const key = program.shaderKey;
    if (enabled && key?.startsWith('transpose_') && inputs[0]?.dtype !== 'float32' && outputDtype !== 'float32') {
      const code = program.getUserCode();
      if (code.includes(F32_WRITE)) {
        program.getUserCode = () => code.replace(F32_WRITE, 'setOutputAtIndexI32(flatIndex, A[');
        // a pipeline of its own: TF.js's, which fails to compile, may be cached under the old key
        program.shaderKey = `tapegrad_i32_${key}`;
      }
    }
    return run.call(this, program, inputs, outputDtype, ...rest);
  };
}
