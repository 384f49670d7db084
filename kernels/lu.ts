// LinalgLu: LU factorization with partial pivoting, P·A = L·U, of each matrix of a [..., n, n] batch.
//
// One output, [..., n, n+1] float32: columns 0..n−1 hold the packed factors (L strictly below the
// diagonal, its unit diagonal implied; U on and above it), column n holds the permutation: row i
// of P·A is row perm[i] of A (indices stored as floats, exact below 2²⁴). One output keeps the
// kernel a single pass on every backend, webgpu included.
//
// Algorithm (Doolittle, right-looking, as LAPACK's getf2): for each column k, swap up the row with
// the largest |a_ik| (i ≥ k), divide the column below the pivot by it, subtract the rank-1 update.
// A zero pivot (an exactly singular matrix) skips its column, as LAPACK does; callers test pivots.
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import {
  batchSize,
  blockStepRunner,
  factorizationWebgpu,
  linalgKernelConfigs,
  readF64,
  trailingMatMul,
  writeF32,
  type WebGPUBackendLike,
} from './common.js';
import { webgpuMatMul } from './webgpu-matmul.js';

export const LINALG_LU = 'LinalgLu';

/** Factors one n×n matrix stored at a[off..] (row-major) into out[outOff..] as [n, n+1]; float64 throughout. */
export function luFactorInto(a: Float64Array, off: number, n: number, out: Float64Array, outOff: number): void {
  const w = a.slice(off, off + n * n);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let k = 0; k < n; k++) {
    let p = k;
    let best = Math.abs(w[k * n + k]);
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(w[i * n + k]);
      if (v > best) {
        best = v;
        p = i;
      }
    }
    if (p !== k) {
      for (let j = 0; j < n; j++) {
        const t = w[k * n + j];
        w[k * n + j] = w[p * n + j];
        w[p * n + j] = t;
      }
      const t = perm[k];
      perm[k] = perm[p];
      perm[p] = t;
    }
    const pivot = w[k * n + k];
    if (pivot === 0) continue;
    for (let i = k + 1; i < n; i++) {
      const l = (w[i * n + k] /= pivot);
      if (l === 0) continue;
      for (let j = k + 1; j < n; j++) w[i * n + j] -= l * w[k * n + j];
    }
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) out[outOff + i * (n + 1) + j] = w[i * n + j];
    out[outOff + i * (n + 1) + n] = perm[i];
  }
}

const luJs: KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as TensorInfo;
  const n = x.shape[x.shape.length - 1];
  const count = batchSize(x.shape);
  const a = readF64(backend, x);
  const out = new Float64Array(count * n * (n + 1));
  for (let b = 0; b < count; b++) luFactorInto(a, b * n * n, n, out, b * n * (n + 1));
  return writeF32(backend, [...x.shape.slice(0, -1), n + 1], out);
};

// webgpu: one invocation per matrix, factoring in place in the output buffer (f32: WGSL has no f64).
const LU_WGSL = `
fn main(index : i32) {
  let n = uniforms.n;
  if (index >= uniforms.count) { return; }
  let w = n + 1;
  let src = index * n * n;
  let dst = index * n * w;
  for (var i = 0; i < n; i++) {
    for (var j = 0; j < n; j++) { result[dst + i * w + j] = f32(x[src + i * n + j]); }
    result[dst + i * w + n] = f32(i);
  }
  for (var k = 0; k < n; k++) {
    var p = k;
    var best = abs(result[dst + k * w + k]);
    for (var i = k + 1; i < n; i++) {
      let v = abs(result[dst + i * w + k]);
      if (v > best) { best = v; p = i; }
    }
    if (p != k) {
      // Swapping whole rows of width n+1 also swaps the permutation column.
      for (var j = 0; j < w; j++) {
        let t = result[dst + k * w + j];
        result[dst + k * w + j] = result[dst + p * w + j];
        result[dst + p * w + j] = t;
      }
    }
    let pivot = result[dst + k * w + k];
    if (pivot == 0.0) { continue; }
    for (var i = k + 1; i < n; i++) {
      let l = result[dst + i * w + k] / pivot;
      result[dst + i * w + k] = l;
      for (var j = k + 1; j < n; j++) {
        result[dst + i * w + j] = result[dst + i * w + j] - l * result[dst + k * w + j];
      }
    }
  }
}
`;

// The blocked programs (LAPACK's getrf, right-looking): for each block of NB columns from k0, a
// panel program factors the columns k0.. of rows k0.. with partial pivoting in one workgroup per
// matrix (a parallel search for each pivot); a program per column of the block's right finds U12
// by forward substitution with L11; a program per entry writes the next state: the rows from k0
// permuted (the permutation column and L's columns to the left too), the panel, U12, and the
// trailing block minus L21·U12. The state is [..., n, n+1] as the output; NB is a constant of
// each shader. Same pivots as the one-thread program: the largest |a_ik|, the first of equals.
// The panel holds each matrix's rows × NB block, then (after every matrix's) each one's rows
// entries of the permutation: a [..., rows, NB] matrix as it stands, so that L21·U12 can be a
// product on the tiled matmul where the trailing block is large (trailingMatMul); else each entry
// sums its own row of the product.
const LU_INIT_WGSL = `
fn main(index : i32) {
  if (index >= uniforms.total) { return; }
  let n = uniforms.n;
  let w = n + 1;
  let j = index % w;
  let i = (index / w) % n;
  let b = index / (w * n);
  if (j == n) { result[index] = f32(i); } else { result[index] = f32(x[(b * n + i) * n + j]); }
}
`;

// Where the panel's entries lie: row r, column c < NB of matrix b's block, and the permutation
// entry of its row r (which row of the state, from k0, the panel's row r came from).
const PANEL_AT = `
fn panelAt(b : i32, r : i32, c : i32) -> i32 { return (b * uniforms.rows + r) * NB + c; }
fn permAt(b : i32, r : i32) -> i32 { return (uniforms.count * NB + b) * uniforms.rows + r; }
`;

const PANEL_WORKGROUP = 256;
const luPanelWgsl = (nb: number) => `
const WG = ${PANEL_WORKGROUP};
const NB = ${nb};
var<workgroup> bestV : array<f32, WG>;
var<workgroup> bestI : array<i32, WG>;
${PANEL_AT}
fn main(index : i32) {
  let mat = index / WG;
  let lid = index % WG;
  let live = mat < uniforms.count;
  let n = uniforms.n;
  let w = n + 1;
  let k0 = uniforms.k0;
  let kb = uniforms.kb;
  let rows = uniforms.rows;
  let src = mat * n * w;
  if (live) {
    for (var e = lid; e < rows * NB; e += WG) {
      let r = e / NB;
      let c = e % NB;
      var v = 0.0;
      if (c < kb) { v = m[src + (k0 + r) * w + k0 + c]; }
      result[panelAt(mat, r, c)] = v;
    }
    for (var r = lid; r < rows; r += WG) { result[permAt(mat, r)] = f32(r); }
  }
  storageBarrier();
  workgroupBarrier();
  for (var c = 0; c < kb; c++) {
    var bv = -1.0;
    var bi = c;
    if (live) {
      for (var r = c + lid; r < rows; r += WG) {
        let v = abs(result[panelAt(mat, r, c)]);
        if (v > bv) { bv = v; bi = r; }
      }
    }
    bestV[lid] = bv;
    bestI[lid] = bi;
    workgroupBarrier();
    for (var s = WG / 2; s > 0; s = s / 2) {
      if (lid < s) {
        let ov = bestV[lid + s];
        let oi = bestI[lid + s];
        if (ov > bestV[lid] || (ov == bestV[lid] && oi < bestI[lid])) {
          bestV[lid] = ov;
          bestI[lid] = oi;
        }
      }
      workgroupBarrier();
    }
    let p = bestI[0];
    if (live && p != c) {
      // Whole panel rows, the permutation entry with them (j = NB).
      for (var j = lid; j <= NB; j += WG) {
        let here = select(panelAt(mat, c, j), permAt(mat, c), j == NB);
        let there = select(panelAt(mat, p, j), permAt(mat, p), j == NB);
        let t = result[here];
        result[here] = result[there];
        result[there] = t;
      }
    }
    storageBarrier();
    workgroupBarrier();
    let pivot = result[panelAt(mat, c, c)];
    if (live && pivot != 0.0) {
      for (var r = c + 1 + lid; r < rows; r += WG) {
        let l = result[panelAt(mat, r, c)] / pivot;
        result[panelAt(mat, r, c)] = l;
        for (var j = c + 1; j < kb; j++) {
          result[panelAt(mat, r, j)] = result[panelAt(mat, r, j)] - l * result[panelAt(mat, c, j)];
        }
      }
    }
    storageBarrier();
    workgroupBarrier();
  }
}
`;

const luU12Wgsl = (nb: number) => `
const NB = ${nb};
${PANEL_AT}
fn main(index : i32) {
  if (index >= uniforms.total) { return; }
  let n = uniforms.n;
  let w = n + 1;
  let k0 = uniforms.k0;
  let kb = uniforms.kb;
  let cols = uniforms.cols;
  let b = index / cols;
  let jj = index % cols;
  let j = k0 + kb + jj;
  let src = b * n * w;
  let dst = b * NB * cols;
  for (var r = 0; r < kb; r++) {
    let s = k0 + i32(panel[permAt(b, r)]);
    var acc = m[src + s * w + j];
    for (var t = 0; t < r; t++) { acc = acc - panel[panelAt(b, r, t)] * result[dst + t * cols + jj]; }
    result[dst + r * cols + jj] = acc;
  }
}
`;

const luUpdateWgsl = (nb: number, product: boolean) => `
const NB = ${nb};
${PANEL_AT}
fn main(index : i32) {
  if (index >= uniforms.total) { return; }
  let n = uniforms.n;
  let w = n + 1;
  let k0 = uniforms.k0;
  let kb = uniforms.kb;
  let cols = uniforms.cols;
  let j = index % w;
  let i = (index / w) % n;
  let b = index / (w * n);
  if (i < k0) { result[index] = m[index]; return; }
  let r = i - k0;
  let s = k0 + i32(panel[permAt(b, r)]);
  let source = (b * n + s) * w + j;
  if (j < k0 || j == n) { result[index] = m[source]; return; }
  if (j < k0 + kb) { result[index] = panel[panelAt(b, r, j - k0)]; return; }
  let jj = j - k0 - kb;
  let ub = b * NB * cols;
  if (r < kb) { result[index] = u[ub + r * cols + jj]; return; }
${
  product
    ? '  result[index] = m[source] - p[(b * uniforms.rows + r) * cols + jj];'
    : `  var acc = m[source];
  for (var t = 0; t < kb; t++) { acc = acc - panel[panelAt(b, r, t)] * u[ub + t * cols + jj]; }
  result[index] = acc;`
}
}
`;

function luBlockedWebgpu(gpu: WebGPUBackendLike, x: TensorInfo, n: number, count: number, nb: number): TensorInfo {
  const outShape = [...x.shape.slice(0, -1), n + 1];
  const total = count * n * (n + 1);
  let state = blockStepRunner(gpu, 'n : i32, total : i32,', (items) => [n, items])(
    { key: 'tapegradLuInit', shape: outShape, items: total, wgsl: LU_INIT_WGSL },
    { x },
  );
  const uniforms = 'n : i32, k0 : i32, kb : i32, rows : i32, cols : i32, total : i32, count : i32,';
  for (let k0 = 0; k0 < n; k0 += nb) {
    const kb = Math.min(nb, n - k0);
    const rows = n - k0;
    const cols = n - k0 - kb;
    const run = blockStepRunner(gpu, uniforms, (items) => [n, k0, kb, rows, cols, items, count]);
    const panel = run(
      {
        key: `tapegradLuPanel${nb}`,
        shape: [count * rows * (nb + 1)],
        items: count * PANEL_WORKGROUP,
        wgsl: luPanelWgsl(nb),
        workgroup: PANEL_WORKGROUP,
      },
      { m: state },
    );
    const u =
      cols > 0
        ? run(
            { key: `tapegradLuU12${nb}`, shape: [count, nb, cols], items: count * cols, wgsl: luU12Wgsl(nb) },
            { m: state, panel },
          )
        : panel; // read by no entry when no column is right of the block
    // L21·U12 with the panel's top rows too, [count, rows, cols] (kb = nb wherever a column is right of the block)
    const l = { dataId: panel.dataId, dtype: 'float32', shape: [count, rows, nb] } as TensorInfo;
    const p = cols > 0 && trailingMatMul(rows - kb, cols) ? webgpuMatMul(gpu, l, u) : null;
    const next = run(
      {
        key: `tapegradLuUpdate${nb}${p ? 'Product' : ''}`,
        shape: outShape,
        items: total,
        wgsl: luUpdateWgsl(nb, !!p),
      },
      p ? { m: state, panel, u, p } : { m: state, panel, u },
    );
    for (const t of [state, panel, u === panel ? null : u, p]) if (t) gpu.disposeData(t.dataId);
    state = next;
  }
  return state;
}

// the one-thread program writes the permutation column beside the factors
const luWebgpu = factorizationWebgpu('tapegradLinalgLu', LU_WGSL, 1, luBlockedWebgpu);

export const luConfigs: KernelConfig[] = linalgKernelConfigs(LINALG_LU, luJs, luWebgpu);
