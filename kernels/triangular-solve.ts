// LinalgTriangularSolve: X = op(T)⁻¹·B for triangular T [..., n, n] and B [..., n, k], where
// op(T) is T or Tᵀ; the batch axes of T and B broadcast (NumPy's rules).
//
// Attributes: lower (T's triangle; the other is never read), transpose (solve Tᵀ·X = B),
// unitDiagonal (T's diagonal is taken to be 1 and not read: the L of a packed LU).
//
// Algorithm: forward substitution when op(T) is lower (lower ≠ transpose), back substitution
// otherwise, one right-hand column at a time; float64 accumulation in JavaScript. A zero on the
// diagonal gives ±Inf/NaN, as LAPACK's trsm does; callers check singularity before solving.
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import {
  JS_BACKENDS,
  blockStepRunner,
  broadcastBatches,
  gpuFactorBlock,
  perItemProgram,
  readF64,
  trailingMatMul,
  writeF32,
  type WebGPUBackendLike,
} from './common.js';
import { webgpuMatMul } from './webgpu-matmul.js';

export const LINALG_TRIANGULAR_SOLVE = 'LinalgTriangularSolve';

export interface TriangularSolveAttrs {
  lower: boolean;
  transpose: boolean;
  unitDiagonal: boolean;
}

function attrsOf(attrs: unknown): TriangularSolveAttrs {
  const a = (attrs ?? {}) as Partial<TriangularSolveAttrs>;
  return { lower: a.lower ?? true, transpose: a.transpose ?? false, unitDiagonal: a.unitDiagonal ?? false };
}

/** Solves op(T)·X = B for one T (at t[tOff..]) and one B (at b[bOff..], n×k) into x[xOff..]. */
export function triangularSolveInto(
  t: Float64Array,
  tOff: number,
  b: Float64Array,
  bOff: number,
  n: number,
  k: number,
  { lower, transpose, unitDiagonal }: TriangularSolveAttrs,
  x: Float64Array,
  xOff: number,
): void {
  // op(T) is lower when exactly one of lower/transpose holds: then rows are solved top-down.
  const forward = lower !== transpose;
  for (let s = 0; s < n; s++) {
    const i = forward ? s : n - 1 - s;
    const xi = xOff + i * k;
    for (let c = 0; c < k; c++) x[xi + c] = b[bOff + i * k + c];
    // Row i of X, all k columns at once (contiguous), minus op(T)[i][j]·(row j of X) for solved j.
    for (let j = forward ? 0 : i + 1, end = forward ? i : n; j < end; j++) {
      const tij = transpose ? t[tOff + j * n + i] : t[tOff + i * n + j];
      if (tij === 0) continue;
      const xj = xOff + j * k;
      for (let c = 0; c < k; c++) x[xi + c] -= tij * x[xj + c];
    }
    if (!unitDiagonal) {
      const d = t[tOff + i * n + i];
      for (let c = 0; c < k; c++) x[xi + c] /= d;
    }
  }
}

function outShape(a: TensorInfo, b: TensorInfo, batch: number[]): { n: number; k: number; shape: number[] } {
  const n = a.shape[a.shape.length - 1];
  const k = b.shape[b.shape.length - 1];
  return { n, k, shape: [...batch, n, k] };
}

const triangularSolveJs: KernelFunc = ({ inputs, backend, attrs }) => {
  const a = inputs.a as TensorInfo;
  const b = inputs.b as TensorInfo;
  const { batch, aIndex, bIndex } = broadcastBatches(a.shape, b.shape);
  const { n, k, shape } = outShape(a, b, batch);
  const t = readF64(backend, a);
  const bv = readF64(backend, b);
  const x = new Float64Array(aIndex.length * n * k);
  const opts = attrsOf(attrs);
  for (let o = 0; o < aIndex.length; o++)
    triangularSolveInto(t, aIndex[o] * n * n, bv, bIndex[o] * n * k, n, k, opts, x, o * n * k);
  return writeF32(backend, shape, x);
};

// webgpu: one invocation per (matrix, right-hand column). `idx` holds, for each output matrix, the
// indices of the T and B matrices it reads (the batch broadcast, worked out on the CPU).
const TRIANGULAR_SOLVE_WGSL = `
fn tAt(base : i32, i : i32, j : i32) -> f32 {
  let n = uniforms.n;
  if (uniforms.isTransposed != 0) { return f32(a[base + j * n + i]); }
  return f32(a[base + i * n + j]);
}

fn main(index : i32) {
  let n = uniforms.n;
  let k = uniforms.k;
  if (index >= uniforms.count) { return; }
  let m = index / k;
  let c = index - m * k;
  let tBase = idx[2 * m] * n * n;
  let bBase = idx[2 * m + 1] * n * k;
  let xBase = m * n * k;
  let forward = (uniforms.isLower != 0) != (uniforms.isTransposed != 0);
  for (var s = 0; s < n; s++) {
    var i = n - 1 - s;
    if (forward) { i = s; }
    var acc = f32(b[bBase + i * k + c]);
    if (forward) {
      for (var j = 0; j < i; j++) { acc = acc - tAt(tBase, i, j) * result[xBase + j * k + c]; }
    } else {
      for (var j = i + 1; j < n; j++) { acc = acc - tAt(tBase, i, j) * result[xBase + j * k + c]; }
    }
    if (uniforms.isUnitDiagonal == 0) { acc = acc / tAt(tBase, i, i); }
    result[xBase + i * k + c] = acc;
  }
}
`;

// The blocked programs, for large T and few right-hand columns: the state X [..., n, k] starts as
// B (its batch broadcast) and, for each block of NB rows in substitution order, one invocation per
// (matrix, column) solves the block's rows against the block's diagonal part of op(T), and one per
// entry writes the next state: the block's solution, rows solved before as they are, and the rows
// still to solve minus op(T)'s block of columns times the block's solution. Where those rows and
// the right-hand columns are both many (trailingMatMul), that product runs on the tiled matmul
// (webgpu-matmul.ts): op(T)'s block of columns, the rows still to solve, is copied out as a matrix
// [rows, NB] per output matrix (op(T) read in place, its batch broadcast), multiplied by the block's
// solution, and the per-entry program subtracts it; else each entry sums its own row of it.
// (tAt only in the programs that read T: a binding no code reads is left out of the pipeline's layout)
const T_AT = `
fn tAt(base : i32, i : i32, j : i32) -> f32 {
  let n = uniforms.n;
  if (uniforms.isTransposed != 0) { return f32(a[base + j * n + i]); }
  return f32(a[base + i * n + j]);
}`;
const TRIANGULAR_COMMON = `
const NB = NB_VALUE;
fn isForward() -> bool { return (uniforms.isLower != 0) != (uniforms.isTransposed != 0); }
// The rows still to solve after the block: below it going forward, above it going back.
fn restStart() -> i32 { if (isForward()) { return uniforms.r0 + uniforms.rb; } return 0; }
fn restRows() -> i32 { if (isForward()) { return uniforms.n - uniforms.r0 - uniforms.rb; } return uniforms.r0; }
`;

// op(T)'s rows still to solve, columns r0 .. r0 + rb, as [count, rows, rb]: the product's left operand.
const triangularPanelWgsl = (nb: number) =>
  TRIANGULAR_COMMON.replace('NB_VALUE', String(nb)) +
  T_AT +
  `
fn main(index : i32) {
  if (index >= uniforms.total) { return; }
  let rb = uniforms.rb;
  let rows = restRows();
  let t = index % rb;
  let m = index / (rows * rb);
  let i = restStart() + (index / rb) % rows;
  result[index] = tAt(idx[2 * m] * uniforms.n * uniforms.n, i, uniforms.r0 + t);
}
`;

const TRIANGULAR_INIT_WGSL = `
fn main(index : i32) {
  if (index >= uniforms.total) { return; }
  let n = uniforms.n;
  let k = uniforms.k;
  let m = index / (n * k);
  result[index] = f32(b[idx[2 * m + 1] * n * k + index % (n * k)]);
}
`;

const triangularBlockWgsl = (nb: number) =>
  TRIANGULAR_COMMON.replace('NB_VALUE', String(nb)) +
  T_AT +
  `
fn main(index : i32) {
  if (index >= uniforms.total) { return; }
  let n = uniforms.n;
  let k = uniforms.k;
  let r0 = uniforms.r0;
  let rb = uniforms.rb;
  let m = index / k;
  let c = index % k;
  let tBase = idx[2 * m] * n * n;
  let sBase = m * n * k;
  let dst = m * NB * k;
  let forward = isForward();
  for (var s = 0; s < rb; s++) {
    var local = rb - 1 - s;
    if (forward) { local = s; }
    let i = r0 + local;
    var acc = x[sBase + i * k + c];
    if (forward) {
      for (var t = 0; t < local; t++) { acc = acc - tAt(tBase, i, r0 + t) * result[dst + t * k + c]; }
    } else {
      for (var t = local + 1; t < rb; t++) { acc = acc - tAt(tBase, i, r0 + t) * result[dst + t * k + c]; }
    }
    if (uniforms.isUnitDiagonal == 0) { acc = acc / tAt(tBase, i, i); }
    result[dst + local * k + c] = acc;
  }
}
`;

const triangularUpdateWgsl = (nb: number, product: boolean) =>
  TRIANGULAR_COMMON.replace('NB_VALUE', String(nb)) +
  (product ? '' : T_AT) +
  `
fn main(index : i32) {
  if (index >= uniforms.total) { return; }
  let n = uniforms.n;
  let k = uniforms.k;
  let r0 = uniforms.r0;
  let rb = uniforms.rb;
  let c = index % k;
  let i = (index / k) % n;
  let m = index / (n * k);
  let xb = m * NB * k;
  if (i >= r0 && i < r0 + rb) { result[index] = xblock[xb + (i - r0) * k + c]; return; }
  let forward = isForward();
  if ((forward && i < r0) || (!forward && i >= r0 + rb)) { result[index] = x[index]; return; }
${
  product
    ? '  result[index] = x[index] - p[(m * restRows() + i - restStart()) * k + c];'
    : `  let tBase = idx[2 * m] * n * n;
  var acc = x[index];
  for (var t = 0; t < rb; t++) { acc = acc - tAt(tBase, i, r0 + t) * xblock[xb + t * k + c]; }
  result[index] = acc;`
}
}
`;

function triangularSolveBlockedWebgpu(
  gpu: WebGPUBackendLike,
  a: TensorInfo,
  b: TensorInfo,
  idx: TensorInfo,
  n: number,
  k: number,
  shape: number[],
  count: number,
  flags: number[],
  nb: number,
): TensorInfo {
  const total = count * n * k;
  const uniforms =
    'n : i32, k : i32, r0 : i32, rb : i32, total : i32, isLower : i32, isTransposed : i32, isUnitDiagonal : i32,';
  const forward = flags[0] !== flags[1];
  let state = blockStepRunner(gpu, uniforms, (items) => [n, k, 0, 0, items, ...flags])(
    { key: 'tapegradTriangularInit', shape, items: total, wgsl: TRIANGULAR_INIT_WGSL },
    { b, idx },
  );
  for (let q = 0; q < Math.ceil(n / nb); q++) {
    const r0 = forward ? q * nb : Math.max(0, n - (q + 1) * nb);
    const rb = forward ? Math.min(nb, n - r0) : n - q * nb - r0;
    const run = blockStepRunner(gpu, uniforms, (items) => [n, k, r0, rb, items, ...flags]);
    const xblock = run(
      { key: `tapegradTriangularBlock${nb}`, shape: [count, nb, k], items: count * k, wgsl: triangularBlockWgsl(nb) },
      { a, x: state, idx },
    );
    // op(T)'s block of columns times the block's solution [count, rows, k] (rb = nb wherever rows remain)
    const rows = forward ? n - r0 - rb : r0;
    let p: TensorInfo | null = null;
    if (rows > 0 && trailingMatMul(rows, k)) {
      const panel = run(
        {
          key: `tapegradTriangularPanel${nb}`,
          shape: [count, rows, rb],
          items: count * rows * rb,
          wgsl: triangularPanelWgsl(nb),
        },
        { a, idx },
      );
      p = webgpuMatMul(gpu, panel, xblock);
      gpu.disposeData(panel.dataId);
    }
    const next = run(
      {
        key: `tapegradTriangularUpdate${nb}${p ? 'Product' : ''}`,
        shape,
        items: total,
        wgsl: triangularUpdateWgsl(nb, !!p),
      },
      p ? { x: state, xblock, p } : { a, x: state, xblock, idx },
    );
    for (const t of [state, xblock, p]) if (t) gpu.disposeData(t.dataId);
    state = next;
  }
  return state;
}

const triangularSolveWebgpu: KernelFunc = ({ inputs, backend, attrs }) => {
  const gpu = backend as WebGPUBackendLike;
  const a = inputs.a as TensorInfo;
  const b = inputs.b as TensorInfo;
  const { batch, aIndex, bIndex } = broadcastBatches(a.shape, b.shape);
  const { n, k, shape } = outShape(a, b, batch);
  const pairs = new Int32Array(2 * aIndex.length);
  aIndex.forEach((ia, o) => {
    pairs[2 * o] = ia;
    pairs[2 * o + 1] = bIndex[o];
  });
  const idx = gpu.makeTensorInfo([pairs.length], 'int32', pairs);
  const { lower, transpose, unitDiagonal } = attrsOf(attrs);
  // One invocation per (matrix, column) leaves a GPU idle on one large T with few columns.
  const nb = gpuFactorBlock(n, aIndex.length * k);
  if (nb > 0 && aIndex.length * k > 0) {
    const flags = [+lower, +transpose, +unitDiagonal];
    const out = triangularSolveBlockedWebgpu(gpu, a, b, idx, n, k, shape, aIndex.length, flags, nb);
    gpu.disposeData(idx.dataId);
    return out;
  }
  const count = aIndex.length * k;
  const program = perItemProgram(
    'tapegradLinalgTriangularSolve',
    shape,
    count,
    ['a', 'b', 'idx'],
    'n : i32, k : i32, count : i32, isLower : i32, isTransposed : i32, isUnitDiagonal : i32,',
    TRIANGULAR_SOLVE_WGSL,
  );
  const out = gpu.runWebGPUProgram(
    program,
    [a, b, idx],
    'float32',
    [n, k, count, +lower, +transpose, +unitDiagonal].map((v) => ({ type: 'int32' as const, data: [v] })),
  );
  gpu.disposeData(idx.dataId);
  return out;
};

export const triangularSolveConfigs: KernelConfig[] = [
  ...JS_BACKENDS.map((backendName) => ({
    kernelName: LINALG_TRIANGULAR_SOLVE,
    backendName,
    kernelFunc: triangularSolveJs,
  })),
  { kernelName: LINALG_TRIANGULAR_SOLVE, backendName: 'webgpu', kernelFunc: triangularSolveWebgpu },
];
