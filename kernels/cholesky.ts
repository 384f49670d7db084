// LinalgCholesky: the lower Cholesky factor L (A = L·Lᵀ) of each matrix of a [..., n, n] batch.
//
// Reads only the lower triangle of A, as LAPACK's potrf does; the output is zero above the
// diagonal. A matrix that is not positive definite (a pivot ≤ 0, or NaN) comes out all NaN, so
// that callers detect it with one reduction and the kernel keeps a single output everywhere.
//
// Algorithm (Cholesky–Banachiewicz, row by row): L_ij = (a_ij − Σ_{k<j} L_ik L_jk) / L_jj for j < i,
// L_ii = √(a_ii − Σ_{k<i} L_ik²); float64 accumulation in JavaScript.
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import {
  batchSize,
  blockStepRunner,
  factorizationWebgpu,
  linalgKernelConfigs,
  readF64,
  trailingMatMul,
  choleskyProductLowerOnly,
  writeF32,
  type WebGPUBackendLike,
} from './common.js';
import { webgpuMatMul } from './webgpu-matmul.js';

export const LINALG_CHOLESKY = 'LinalgCholesky';

/** Factors the n×n matrix at a[off..] into out[off..]; returns false (and writes NaN) if it is not positive definite. */
export function choleskyInto(a: Float64Array, off: number, n: number, out: Float64Array): boolean {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[off + i * n + j];
      for (let k = 0; k < j; k++) s -= out[off + i * n + k] * out[off + j * n + k];
      if (i === j) {
        if (!(s > 0)) {
          out.fill(NaN, off, off + n * n);
          return false;
        }
        out[off + i * n + i] = Math.sqrt(s);
      } else {
        out[off + i * n + j] = s / out[off + j * n + j];
      }
    }
    for (let j = i + 1; j < n; j++) out[off + i * n + j] = 0;
  }
  return true;
}

const choleskyJs: KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as TensorInfo;
  const n = x.shape[x.shape.length - 1];
  const a = readF64(backend, x);
  const out = new Float64Array(a.length);
  for (let b = 0, count = batchSize(x.shape); b < count; b++) choleskyInto(a, b * n * n, n, out);
  return writeF32(backend, x.shape, out);
};

/**
 * WGSL that factors the size×size matrix whose entry (i, j) `a(i, j)` reads into the lower triangle
 * that `l(i, j)` addresses, row by row as choleskyInto, leaving `ok` false at a pivot ≤ 0 (or NaN):
 * the one-thread program's whole matrix, and the blocked programs' diagonal blocks.
 */
const choleskyRowsWgsl = (size: string, a: (i: string, j: string) => string, l: (i: string, j: string) => string) => `
  var ok = true;
  for (var i = 0; i < ${size}; i++) {
    for (var j = 0; j <= i; j++) {
      var s = ${a('i', 'j')};
      for (var t = 0; t < j; t++) { s = s - ${l('i', 't')} * ${l('j', 't')}; }
      if (i == j) {
        if (!(s > 0.0)) { ok = false; break; }
        ${l('i', 'i')} = sqrt(s);
      } else {
        ${l('i', 'j')} = s / ${l('j', 'j')};
      }
    }
    if (!ok) { break; }
  }`;

// webgpu: one invocation per matrix, writing L row by row into the output buffer.
const CHOLESKY_WGSL = `
fn main(index : i32) {
  let n = uniforms.n;
  if (index >= uniforms.count) { return; }
  let o = index * n * n;
  ${choleskyRowsWgsl(
    'n',
    (i, j) => `f32(x[o + ${i} * n + ${j}])`,
    (i, j) => `result[o + ${i} * n + ${j}]`,
  )}
  for (var e = 0; e < n * n; e++) {
    if (!ok) { result[o + e] = uniforms.NAN; } else if (e % n > e / n) { result[o + e] = 0.0; }
  }
}
`;

// The blocked programs (LAPACK's potrf, right-looking): for each block of NB columns from k0, one
// invocation per matrix factors the diagonal block A11 = L11·L11ᵀ (NB is small) and writes a flag,
// 0 when it is not positive definite; one invocation per row below finds that row of L21 by
// forward substitution (L21·L11ᵀ = A21); one per entry writes the next state: the columns left of
// the block as they are, L11 and L21, the trailing lower triangle minus L21·L21ᵀ, zero above the
// diagonal, and NaN everywhere once a flag is 0 (so the later blocks fail too). L21·L21ᵀ is a
// product on the tiled matmul where the trailing block is large (trailingMatMul), else each entry
// sums its own row of the product.
const choleskyDiagWgsl = (nb: number) => `
const NB = ${nb};
fn main(index : i32) {
  if (index >= uniforms.total) { return; }
  let n = uniforms.n;
  let k0 = uniforms.k0;
  let src = index * n * n;
  let dst = index * (NB + 1) * NB;
  ${choleskyRowsWgsl(
    'uniforms.kb',
    (i, j) => `f32(m[src + (k0 + ${i}) * n + k0 + ${j}])`,
    (i, j) => `result[dst + ${i} * NB + ${j}]`,
  )}
  result[dst + NB * NB] = select(0.0, 1.0, ok);
}
`;

const choleskyPanelWgsl = (nb: number) => `
const NB = ${nb};
fn main(index : i32) {
  if (index >= uniforms.total) { return; }
  let n = uniforms.n;
  let k0 = uniforms.k0;
  let kb = uniforms.kb;
  let below = uniforms.below;
  let b = index / below;
  let i = k0 + kb + index % below;
  let src = b * n * n;
  let dd = b * (NB + 1) * NB;
  let dst = index * NB;
  for (var c = 0; c < kb; c++) {
    var acc = f32(m[src + i * n + k0 + c]);
    for (var t = 0; t < c; t++) { acc = acc - result[dst + t] * d[dd + c * NB + t]; }
    result[dst + c] = acc / d[dd + c * NB + c];
  }
}
`;

const choleskyUpdateWgsl = (nb: number, product: boolean) => `
const NB = ${nb};
fn main(index : i32) {
  if (index >= uniforms.total) { return; }
  let n = uniforms.n;
  let k0 = uniforms.k0;
  let kb = uniforms.kb;
  let below = uniforms.below;
  let j = index % n;
  let i = (index / n) % n;
  let b = index / (n * n);
  let dd = b * (NB + 1) * NB;
  if (d[dd + NB * NB] == 0.0) { result[index] = uniforms.NAN; return; }
  if (j > i) { result[index] = 0.0; return; }
  if (j < k0) { result[index] = f32(m[index]); return; }
  if (j < k0 + kb) {
    if (i < k0 + kb) {
      result[index] = d[dd + (i - k0) * NB + j - k0];
    } else {
      result[index] = l[(b * below + i - k0 - kb) * NB + j - k0];
    }
    return;
  }
${
  product
    ? '  result[index] = f32(m[index]) - p[(b * below + i - k0 - kb) * below + j - k0 - kb];'
    : `  let li = (b * below + i - k0 - kb) * NB;
  let lj = (b * below + j - k0 - kb) * NB;
  var acc = f32(m[index]);
  for (var t = 0; t < kb; t++) { acc = acc - l[li + t] * l[lj + t]; }
  result[index] = acc;`
}
}
`;

function choleskyBlockedWebgpu(
  gpu: WebGPUBackendLike,
  x: TensorInfo,
  n: number,
  count: number,
  nb: number,
): TensorInfo {
  const uniforms = 'n : i32, k0 : i32, kb : i32, below : i32, total : i32,';
  let state = x;
  for (let k0 = 0; k0 < n; k0 += nb) {
    const kb = Math.min(nb, n - k0);
    const below = n - k0 - kb;
    const run = blockStepRunner(gpu, uniforms, (items) => [n, k0, kb, below, items]);
    const d = run(
      { key: `tapegradCholeskyDiag${nb}`, shape: [count, nb + 1, nb], items: count, wgsl: choleskyDiagWgsl(nb) },
      { m: state },
    );
    const l =
      below > 0
        ? run(
            {
              key: `tapegradCholeskyPanel${nb}`,
              shape: [count, below, nb],
              items: count * below,
              wgsl: choleskyPanelWgsl(nb),
            },
            { m: state, d },
          )
        : d; // read by no entry when no row is below the block
    // L21·L21ᵀ [count, below, below], its lower triangle only (kb = nb wherever a row is below the block)
    const p =
      below > 0 && trailingMatMul(below, below)
        ? webgpuMatMul(gpu, l, l, false, true, { lowerTriangle: choleskyProductLowerOnly() })
        : null;
    const next = run(
      {
        key: `tapegradCholeskyUpdate${nb}${p ? 'Product' : ''}`,
        shape: x.shape,
        items: count * n * n,
        wgsl: choleskyUpdateWgsl(nb, !!p),
      },
      p ? { m: state, d, l, p } : { m: state, d, l },
    );
    for (const t of [state === x ? null : state, d, l === d ? null : l, p]) if (t) gpu.disposeData(t.dataId);
    state = next;
  }
  return state;
}

const choleskyWebgpu = factorizationWebgpu('tapegradLinalgCholesky', CHOLESKY_WGSL, 0, choleskyBlockedWebgpu);

export const choleskyConfigs: KernelConfig[] = linalgKernelConfigs(LINALG_CHOLESKY, choleskyJs, choleskyWebgpu);
