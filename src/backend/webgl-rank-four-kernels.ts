// TF.js 4.22's webgl Select (tf.where), Reverse, Cumsum and Cumprod throw from rank 5 ("Where for
// rank 5 is not yet supported"), so an op on rank-5 tensors failed on webgl alone: a GroupNorm whose
// groups split the channels (x seen as [N, H, W, G, C/G]) divided through a Select there. Each is
// elementwise or runs along one axis, so the replacements run TF.js's kernel on views of fewer
// axes: Select on the flat entries (tf.where gives its kernel operands of one shape), Reverse one
// reversed axis at a time on [before, axis, after] (reversing several axes is reversing each in
// turn), the scans on [before, axis, after]. A view is a Reshape, which webgl makes without a copy
// where the texture's layout allows.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { replaceKernel } from './kernel-replacement.js';

/** The highest rank TF.js's webgl Select, Reverse, Cumsum and Cumprod take. */
const MOST_AXES = 4;

interface WebGLBackend extends KernelBackend {
  disposeIntermediateTensorInfo(t: TensorInfo): void;
}

/** t seen as `shape` (webgl's Reshape: a view), for the caller to dispose. */
function view(backend: WebGLBackend, t: TensorInfo, shape: number[]): TensorInfo {
  const reshape = tf.getKernel('Reshape', 'webgl')!.kernelFunc;
  return reshape({ inputs: { x: t }, backend, attrs: { shape } as unknown as NamedAttrMap }) as TensorInfo;
}

/** f on views of `inputs` as `shape`, its output seen as `outShape`; the views disposed. */
function onViews(
  backend: WebGLBackend,
  inputs: Record<string, TensorInfo>,
  shape: number[],
  outShape: number[],
  f: (views: Record<string, TensorInfo>) => TensorInfo,
): TensorInfo {
  const views = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, view(backend, t, shape)]));
  const out = f(views);
  const seen = view(backend, out, outShape);
  for (const t of [...Object.values(views), out]) backend.disposeIntermediateTensorInfo(t);
  return seen;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Replaces webgl's Select, Reverse, Cumsum and Cumprod by TF.js's on views of at most four axes, from rank 5 (once). */
export function fixWebGLRankFourKernels(): void {
  replaceKernel(
    'webgl',
    'Select',
    (original): KernelFunc =>
      (args) => {
        const { condition, t, e } = args.inputs as Record<string, TensorInfo>;
        const shape = t.shape;
        if (shape.length <= MOST_AXES || condition.shape.length !== shape.length) return original(args);
        const backend = args.backend as WebGLBackend;
        return onViews(
          backend,
          { condition, t, e },
          [size(shape)],
          shape,
          (v) => original({ ...args, inputs: v }) as TensorInfo,
        );
      },
  );
  replaceKernel(
    'webgl',
    'Reverse',
    (original): KernelFunc =>
      (args) => {
        const { x } = args.inputs as Record<string, TensorInfo>;
        const shape = x.shape;
        if (shape.length <= MOST_AXES) return original(args);
        const backend = args.backend as WebGLBackend;
        const dims = tf.util.parseAxisParam((args.attrs as unknown as { dims: number | number[] }).dims, shape);
        let y = x;
        for (const axis of new Set(dims)) {
          const around = [size(shape.slice(0, axis)), shape[axis], size(shape.slice(axis + 1))];
          const next = onViews(
            backend,
            { x: y },
            around,
            shape,
            (v) => original({ ...args, inputs: v, attrs: { dims: [1] } as unknown as NamedAttrMap }) as TensorInfo,
          );
          if (y !== x) backend.disposeIntermediateTensorInfo(y);
          y = next;
        }
        // no axis reversed: x itself, as TF.js's kernel gives it for a scalar
        return y === x ? (tf.getKernel('Identity', 'webgl')!.kernelFunc({ inputs: { x }, backend }) as TensorInfo) : y;
      },
  );
  for (const scan of ['Cumsum', 'Cumprod'])
    replaceKernel(
      'webgl',
      scan,
      (original): KernelFunc =>
        (args) => {
          const { x } = args.inputs as Record<string, TensorInfo>;
          const shape = x.shape;
          if (shape.length <= MOST_AXES) return original(args);
          const backend = args.backend as WebGLBackend;
          const [axis] = tf.util.parseAxisParam((args.attrs as unknown as { axis: number }).axis, shape);
          const around = [size(shape.slice(0, axis)), shape[axis], size(shape.slice(axis + 1))];
          return onViews(
            backend,
            { x },
            around,
            shape,
            (v) =>
              original({
                ...args,
                inputs: v,
                attrs: { ...args.attrs, axis: 1 } as unknown as NamedAttrMap,
              }) as TensorInfo,
          );
        },
    );
}
