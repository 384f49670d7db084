// The shapes of a custom GPU program as TF.js's webgl and webgpu backends run them, restated
// structurally so that kernels/ never imports those packages (they are optional in Node), and
// the one program shape the fused kernels use on each: one output entry per shader invocation.
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';

/** A webgl program (tfjs-backend-webgl's GPGPUProgram): GLSL ES 3 `userCode` with a main(). */
export interface GlslProgram {
  variableNames: string[];
  outputShape: number[];
  userCode: string;
  customUniforms?: { name: string; type: 'float' | 'int' }[];
}

export interface WebGLBackendLike {
  runWebGLProgram(
    program: GlslProgram,
    inputs: TensorInfo[],
    outputDtype: DataType,
    customUniformValues?: number[][],
  ): TensorInfo;
}

/** A webgpu program (tfjs-backend-webgpu's WebGPUProgram): WGSL `getUserCode()` with main(index). */
export interface WgslProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  uniforms?: string;
  /** Whether the backend passes the output size as a uniform (TF.js's `size`). */
  size?: boolean;
  workgroupSize: [number, number, number];
  getUserCode: () => string;
  /** Entries per element of each input's and of the output's WGSL array (4: vec4), 1 by default. */
  variableComponents?: number[];
  outputComponent?: number;
}

export interface WebGPUBackendLike {
  runWebGPUProgram(
    program: WgslProgram,
    inputs: TensorInfo[],
    outputDtype: DataType,
    uniforms?: { type: 'float32' | 'int32'; data: number[] }[],
    output?: TensorInfo,
  ): TensorInfo;
  makeTensorInfo(shape: number[], dtype: DataType, values?: Int32Array | Float32Array): TensorInfo;
  disposeData(dataId: object): boolean;
}

/**
 * A GLSL program computing each output entry independently. `body` runs in main() and calls
 * setOutput(); the backend declares `getXAtOutCoords()` and `getX(…coords)` for each input X
 * (first letter upper-cased), `getOutputCoords()`, and the custom float uniforms.
 */
export function glslProgram(
  outputShape: number[],
  variableNames: string[],
  uniforms: string[],
  body: string,
): GlslProgram {
  return {
    variableNames,
    outputShape,
    customUniforms: uniforms.map((name) => ({ name, type: 'float' as const })),
    userCode: `void main() {\n${body}\n}`,
  };
}

/**
 * A WGSL program with one invocation per output entry, over the flat output. `body` runs for
 * `index < uniforms.size`; it reads input buffers by name, as `f32(x[i])`: a float32 tensor cast
 * from int32 keeps its int32 buffer on webgpu (TF.js casts without copying). It reads the custom
 * f32 uniforms as `uniforms.name`, and writes with setOutputAtIndex(index, value).
 */
export function wgslProgram(
  key: string,
  outputShape: number[],
  variableNames: string[],
  uniforms: string[],
  body: string,
): WgslProgram {
  const workgroupSize: [number, number, number] = [128, 1, 1];
  const size = outputShape.reduce((a, b) => a * b, 1);
  return {
    outputShape,
    shaderKey: key,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(size / workgroupSize[0]), 1, 1],
    variableNames,
    uniforms: uniforms.length ? uniforms.map((u) => `${u} : f32,`).join(' ') : undefined,
    size: true,
    workgroupSize,
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${body}
        }
      }`,
  };
}

/** Custom uniform values in the form each backend takes them. */
export const glslUniforms = (values: number[]): number[][] => values.map((v) => [v]);
export const wgslUniforms = (values: number[]) => values.map((v) => ({ type: 'float32' as const, data: [v] }));

/** Runs a program of glslProgram's on webgl: float32 out, its custom uniforms' values in their order. */
export function runGlsl(backend: unknown, program: GlslProgram, inputs: TensorInfo[], uniforms: number[] = []) {
  return (backend as WebGLBackendLike).runWebGLProgram(program, inputs, 'float32', glslUniforms(uniforms));
}

/** Runs a program of wgslProgram's on webgpu: float32 out, its custom uniforms' values in their order. */
export function runWgsl(backend: unknown, program: WgslProgram, inputs: TensorInfo[], uniforms: number[] = []) {
  return (backend as WebGPUBackendLike).runWebGPUProgram(program, inputs, 'float32', wgslUniforms(uniforms));
}
