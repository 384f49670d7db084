// What the fused kernels' JavaScript forms on cpu and wasm share: outputs allocated first, then
// every input and output seen in place as a typed array (no copy), and one config per backend.
// On wasm, an allocation may grow the heap and detach the views taken before it: hence outputs
// first, views after, and nothing allocated while the loop runs.
import type { DataType, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { heapOf } from './wasm-simd-module.js';

/** The backends whose fused kernels are JavaScript loops over the backend's memory. */
export const JS_FUSED_BACKENDS = ['cpu', 'wasm'] as const;

interface CpuLike {
  data: { get(dataId: object): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: DataType, values?: Float32Array): TensorInfo;
}
interface WasmLike {
  wasm?: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } };
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object): boolean;
}

/**
 * A typed array of each input and of each freshly allocated float32 output, in the backend's memory;
 * on wasm, that memory (for a WebAssembly module of our own to work on in place), else null; and
 * the float64 scratch array the config asked for (in that memory on wasm, 8-byte aligned), else empty.
 */
export type JsKernelBody = (
  inputs: Record<string, Float32Array | Int32Array | undefined>,
  outputs: Float32Array[],
  attrs: NamedAttrMap,
  infos: Record<string, TensorInfo | undefined>,
  heap: WebAssembly.Memory | null,
  scratch: Float64Array,
) => void;

/**
 * A kernel config per JS backend: `shapes` gives the float32 outputs' shapes from the inputs and
 * attrs, `body` fills them. Returns one TensorInfo, or the list when `multi` is set. `scratch` gives
 * the length (from the inputs and attrs) of the float64 scratch array `body` gets, freed after it.
 */
export function jsKernelConfigs(
  kernelName: string,
  shapes: (inputs: Record<string, TensorInfo | undefined>, attrs: NamedAttrMap) => number[][],
  body: JsKernelBody,
  multi = true,
  scratch: (inputs: Record<string, TensorInfo | undefined>, attrs: NamedAttrMap) => number = () => 0,
): KernelConfig[] {
  const func =
    (backendName: (typeof JS_FUSED_BACKENDS)[number]): KernelFunc =>
    ({ inputs, backend, attrs }) => {
      const infos = inputs as Record<string, TensorInfo | undefined>;
      const outShapes = shapes(infos, attrs as NamedAttrMap);
      const views: Record<string, Float32Array | Int32Array | undefined> = {};
      let outs: TensorInfo[];
      let outViews: Float32Array[];
      const doubles = scratch(infos, attrs as NamedAttrMap);
      if (backendName === 'wasm') {
        const wasm = backend as unknown as WasmLike;
        outs = outShapes.map((s) => wasm.makeOutput(s, 'float32'));
        // the scratch array as float32 words, one double more than asked, to align it to 8 bytes
        const room = doubles ? wasm.makeOutput([2 * doubles + 2], 'float32') : null;
        outViews = outs.map((o) => wasm.typedArrayFromHeap(o) as Float32Array);
        for (const [k, t] of Object.entries(infos))
          views[k] = t ? (wasm.typedArrayFromHeap(t) as Float32Array | Int32Array) : undefined;
        let scratchView: Float64Array = new Float64Array(0);
        if (room) {
          const words = wasm.typedArrayFromHeap(room);
          scratchView = new Float64Array(words.buffer, Math.ceil(words.byteOffset / 8) * 8, doubles);
        }
        try {
          body(views, outViews, attrs as NamedAttrMap, infos, heapOf(wasm), scratchView);
        } finally {
          if (room) wasm.disposeData(room.dataId);
        }
        return multi ? outs : outs[0];
      }
      const cpu = backend as unknown as CpuLike;
      outViews = outShapes.map((s) => new Float32Array(s.reduce((a, b) => a * b, 1)));
      for (const [k, t] of Object.entries(infos))
        views[k] = t ? (cpu.data.get(t.dataId).values as Float32Array | Int32Array) : undefined;
      body(views, outViews, attrs as NamedAttrMap, infos, null, new Float64Array(doubles));
      outs = outShapes.map((s, i) => cpu.makeTensorInfo(s, 'float32', outViews[i]));
      return multi ? outs : outs[0];
    };
  return JS_FUSED_BACKENDS.map((backendName) => ({ kernelName, backendName, kernelFunc: func(backendName) }));
}
