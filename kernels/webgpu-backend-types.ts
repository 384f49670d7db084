// The parts of tfjs-backend-webgpu 4.22's backend and of WebGPU that tapegrad's dispatch path and
// its replay of compiled traces use, typed structurally: kernels/ never imports the webgpu
// packages (they are optional in Node), and these members are TF.js's internals, not its API.
import type * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';

/** A WebGPU object (pipeline, bind group, buffer, command buffer) held without looking inside. */
export type GPUObject = object;

export interface GPUBufferLike {
  size: number;
  usage: number;
}

/** One uniform of a program, as TF.js's makeUniforms lays it out. */
export interface Uniform {
  type: 'float32' | 'int32' | 'uint32';
  data: number[];
}

/** A compiled TF.js webgpu program, as recordAndSubmit receives it. */
export interface Program {
  pipeline: GPUObject | Promise<GPUObject>;
  dispatch: [number, number, number];
  size?: boolean;
  outputShape: number[];
  outputComponent?: number;
  pixelsOpType?: unknown;
}

export interface Pass {
  setPipeline(p: GPUObject): void;
  setBindGroup(i: number, g: GPUObject): void;
  dispatchWorkgroups(x: number, y: number, z: number): void;
  end(): void;
}

export interface Encoder {
  beginComputePass(d?: object): Pass;
  copyBufferToBuffer(src: GPUObject, srcOffset: number, dst: GPUObject, dstOffset: number, size: number): void;
  finish(): GPUObject;
}

/** What the backend keeps of a tensor's data. */
export interface TensorData {
  resource: unknown;
  values: ArrayLike<number> | null;
  shape: number[];
  dtype: string;
  refCount: number;
}

/** The webgpu backend's members the dispatch path and the replay read, replace or call. */
export interface WebGPUBackendInternals {
  device: { createBindGroup(d: object): GPUObject; createCommandEncoder(): Encoder };
  queue: { writeBuffer(b: GPUObject, offset: number, data: ArrayBufferView): void; submit(c: GPUObject[]): void };
  bufferManager: {
    acquireBuffer(size: number, usage: number): GPUBufferLike;
    releaseBuffer(b: GPUBufferLike): void;
  };
  tensorMap: { get(id: object): TensorData; has(id: object): boolean };
  uploadToGPU(dataId: object): void;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: ArrayLike<number>): TensorInfo;
  write(values: unknown, shape: number[], dtype: tf.DataType): object;
  recordAndSubmit(program: Program, output: TensorInfo, inputs: TensorInfo[], programDefinedUniform?: Uniform[]): void;
  makeUniforms(u: Uniform[]): { buffer: GPUBufferLike };
  uniformPendingDisposal: GPUObject[];
  commandEncoder: Encoder | null;
  computePassEncoder: Pass | null;
  commandQueueOwnedIds: WeakSet<object>;
  dispatchCountInPass: number;
  activeTimers: unknown[] | null;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}
