// The blocked LU, Cholesky and triangular-solve programs of kernels/ on the 'webgpu' backend
// (Dawn), against the float64 JavaScript kernels and the one-thread programs: pivots, factors, batches,
// blocks that do not divide n, singular and indefinite matrices, the ops and their gradients on
// the blocked path, the choice by size and batch, no tensor left and no WebGPU validation error.
// Run by test/webgpu-node.test.ts in a child process with SwiftShader's Vulkan driver:
//   LD_LIBRARY_PATH=/usr/lib/chromium VK_DRIVER_FILES=/usr/lib/chromium/vk_swiftshader_icd.json \
//     node --import tsx test/gpu/linalg-blocked.suite.ts
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../../src/index.js';
import { setGpuFactorPath } from '../../src/testing.js';
import { gpuFactorBlock, BLOCKED_MIN_N, BLOCKED_MAX_BATCH } from '../../kernels/common.js';
import { LINALG_CHOLESKY, LINALG_LU, LINALG_TRIANGULAR_SOLVE } from '../../kernels/index.js';
import { triangularSolveInto, type TriangularSolveAttrs } from '../../kernels/triangular-solve.js';
import { broadcastBatches } from '../../kernels/common.js';
import { luFactorInto } from '../../kernels/lu.js';
import { choleskyInto } from '../../kernels/cholesky.js';
import { spd, wellConditioned } from '../op-cases-linalg.js';

const blocked = suite('blocked LU, Cholesky and triangular solve on webgpu');
const gpuErrors: string[] = [];
blocked.before(async () => {
  await tg.setBackend('webgpu');
  const device = (tf.backend() as unknown as { device: EventTarget }).device;
  device.addEventListener('uncapturederror', (e) =>
    gpuErrors.push(String((e as unknown as { error: { message: string } }).error.message)),
  );
});
blocked.after.each(() => setGpuFactorPath('auto'));

const read = async (x: tf.Tensor | tg.Tensor) => Float64Array.from((await x.data()) as Float32Array);
const count = (shape: number[]) => shape.slice(0, -2).reduce((a, b) => a * b, 1);

/** LinalgLu on the given path: the packed factors and the permutation column, as read back. */
async function luOn(path: 'per-matrix' | 'blocked', x: tf.Tensor, nb = 4): Promise<Float64Array> {
  setGpuFactorPath(path, nb);
  const y = tf.engine().runKernel(LINALG_LU, { x }) as tf.Tensor;
  const v = await read(y);
  y.dispose();
  return v;
}

/** The float64 LU of every matrix of x (values as float32 read them). */
function luReference(values: Float64Array, shape: number[]): Float64Array {
  const n = shape[shape.length - 1];
  const out = new Float64Array(count(shape) * n * (n + 1));
  for (let b = 0; b < count(shape); b++) luFactorInto(values, b * n * n, n, out, b * n * (n + 1));
  return out;
}

/** Largest |got − want| over the factors, and the permutation entries that differ. */
function compareLu(got: Float64Array, want: Float64Array, n: number): { err: number; permDiffers: number } {
  let err = 0;
  let permDiffers = 0;
  for (let i = 0; i < want.length; i++) {
    if (i % (n + 1) === n) permDiffers += got[i] === want[i] ? 0 : 1;
    else err = Math.max(err, Math.abs(got[i] - want[i]));
  }
  return { err, permDiffers };
}

blocked('the choice by size and batch: one thread per matrix for small orders and large batches', () => {
  assert.is(gpuFactorBlock(BLOCKED_MIN_N - 1, 1), 0);
  assert.is(gpuFactorBlock(BLOCKED_MIN_N, 1), 32);
  assert.is(gpuFactorBlock(1024, 1), 32);
  assert.is(gpuFactorBlock(256, BLOCKED_MAX_BATCH), 0);
  setGpuFactorPath('blocked', 8);
  assert.is(gpuFactorBlock(3, 1000), 8);
  setGpuFactorPath('per-matrix');
  assert.is(gpuFactorBlock(4096, 1), 0);
  assert.throws(() => setGpuFactorPath('blocked', 0), /block size/);
  assert.throws(() => setGpuFactorPath('blocked', 65), /block size/);
});

blocked(
  'LU: the same pivots as the float64 kernel and the one-thread program, blocks that do not divide n',
  async () => {
    const before = tf.memory().numTensors;
    // Normal entries: partial pivoting swaps rows in almost every column.
    for (const [shape, nb] of [
      [[10, 10], 4],
      [[3, 13, 13], 4],
      [[2, 2, 9, 9], 3],
      [[37, 37], 8],
      [[5, 5], 8], // one block wider than the matrix
      [[1, 1], 1],
    ] as [number[], number][]) {
      const x = tg.randn(shape, { seed: shape.length * 100 + shape[shape.length - 1] });
      const n = shape[shape.length - 1];
      const want = luReference(await read(x), shape);
      const got = await luOn('blocked', x.value, nb);
      const one = await luOn('per-matrix', x.value);
      const vsRef = compareLu(got, want, n);
      const vsOne = compareLu(got, one, n);
      assert.is(vsRef.permDiffers, 0, `[${shape}] nb=${nb}: pivots differ from the float64 kernel's`);
      assert.is(vsOne.permDiffers, 0, `[${shape}] nb=${nb}: pivots differ from the one-thread program's`);
      assert.ok(vsRef.err < 1e-4 * n, `[${shape}] nb=${nb}: factors off by ${vsRef.err}`);
      assert.ok(vsOne.err < 1e-5 * n, `[${shape}] nb=${nb}: off the one-thread program by ${vsOne.err}`);
      x.dispose();
    }
    assert.is(tf.memory().numTensors, before, 'no tensor left behind');
  },
);

blocked('LU of a large single matrix on the default path (blocked, 32 columns a block)', async () => {
  const shape = [80, 80];
  const x = tg.randn(shape, { seed: 5 });
  setGpuFactorPath('auto');
  assert.is(gpuFactorBlock(80, 1), 32);
  const y = tf.engine().runKernel(LINALG_LU, { x: x.value }) as tf.Tensor;
  const { err, permDiffers } = compareLu(await read(y), luReference(await read(x), shape), 80);
  assert.is(permDiffers, 0);
  assert.ok(err < 1e-4 * 80, `off by ${err}`);
  tf.dispose(y);
  x.dispose();
});

blocked('LU: a zero column keeps its zero pivot (as LAPACK), in a later block too', async () => {
  const n = 9;
  const v = Float32Array.from((await tg.randn([n, n], { seed: 3 }).data()) as Float32Array);
  for (let i = 0; i < n; i++) v[i * n + 6] = 0; // column 6: in the third block of 3
  const x = tf.tensor(v, [n, n]);
  const want = luReference(Float64Array.from(v), [n, n]);
  const got = await luOn('blocked', x, 3);
  const { err, permDiffers } = compareLu(got, want, n);
  assert.is(permDiffers, 0);
  assert.ok(err < 1e-4 * n, `off by ${err}`);
  assert.is(got[6 * (n + 1) + 6], 0, 'u₆₆ = 0');
  x.dispose();
});

blocked('LU: an input cast from int32 (its i32 buffer kept on webgpu) is read as floats', async () => {
  const x = tf.tidy(() => tf.cast(tf.tensor2d([4, 3, 6, 3], [2, 2], 'int32'), 'float32'));
  assert.equal(
    Array.from(await luOn('blocked', x, 1)),
    [6, 3, 1, 2 / 3, 1, 0].map((t) => Math.fround(t)),
  );
  x.dispose();
});

blocked('Cholesky: equal to the float64 kernel, blocks that do not divide n, batched', async () => {
  const before = tf.memory().numTensors;
  for (const [batch, n, nb] of [
    [[], 10, 4],
    [[3], 13, 5],
    [[2, 2], 9, 3],
    [[], 40, 32],
  ] as [number[], number, number][]) {
    const a = spd(batch, n, n + 1);
    const av = await read(a);
    const want = new Float64Array(av.length);
    for (let b = 0; b < count([...batch, n, n]); b++) choleskyInto(av, b * n * n, n, want);
    setGpuFactorPath('blocked', nb);
    const l = tf.engine().runKernel(LINALG_CHOLESKY, { x: a.value }) as tf.Tensor;
    const got = await read(l);
    let err = 0;
    for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
    assert.ok(err < 1e-5 * n, `[${batch}] n=${n} nb=${nb}: off by ${err}`);
    l.dispose();
    a.dispose();
  }
  assert.is(tf.memory().numTensors, before, 'no tensor left behind');
});

blocked('Cholesky: a matrix that fails in a later block comes out all NaN, its neighbours not', async () => {
  const n = 8;
  const a = spd([3], n, 2);
  const v = Float32Array.from((await a.data()) as Float32Array);
  v[n * n + 7 * n + 7] = -1; // matrix 1's last diagonal entry: fails in the last of 3-column blocks
  const x = tf.tensor(v, [3, n, n]);
  setGpuFactorPath('blocked', 3);
  const l = tf.engine().runKernel(LINALG_CHOLESKY, { x }) as tf.Tensor;
  const got = await read(l);
  assert.ok(got.slice(0, n * n).every(Number.isFinite), 'matrix 0 factored');
  assert.ok(got.slice(n * n, 2 * n * n).every(Number.isNaN), 'matrix 1 all NaN');
  assert.ok(got.slice(2 * n * n).every(Number.isFinite), 'matrix 2 factored');
  tf.dispose([x, l]);
  a.dispose();
});

/** κ∞(A) = ‖A‖∞·‖A⁻¹‖∞ of the n×n matrix at a[off..], in float64 (A⁻¹ column by column from A's LU). */
function condition(a: Float64Array, off: number, n: number): number {
  const w = n + 1;
  const f = new Float64Array(n * w);
  luFactorInto(a, off, n, f, 0);
  const inverseRows = new Float64Array(n); // Σ_j |A⁻¹_ij|
  for (let j = 0; j < n; j++) {
    const y = new Float64Array(n); // L·U·y = P·e_j, then y = A⁻¹·e_j
    for (let i = 0; i < n; i++) {
      let s = f[i * w + n] === j ? 1 : 0;
      for (let k = 0; k < i; k++) s -= f[i * w + k] * y[k];
      y[i] = s;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = y[i];
      for (let k = i + 1; k < n; k++) s -= f[i * w + k] * y[k];
      y[i] = s / f[i * w + i];
    }
    for (let i = 0; i < n; i++) inverseRows[i] += Math.abs(y[i]);
  }
  let norm = 0;
  for (let i = 0; i < n; i++) {
    let row = 0;
    for (let j = 0; j < n; j++) row += Math.abs(a[off + i * n + j]);
    norm = Math.max(norm, row);
  }
  return norm * Math.max(...inverseRows);
}

/** GᵀG/n + δ·I for each matrix (float32 values): symmetric positive definite, κ about 4/δ. */
async function spdConditioned(batch: number[], n: number, seed: number, delta: number): Promise<Float64Array> {
  const a = tg.tidy(() => {
    const g = tg.randn([...batch, n, n], { seed });
    return tg.matmul(tg.matrixTranspose(g), g).div(n).add(tg.eye(n).mul(delta));
  });
  const values = await read(a);
  a.dispose();
  return values;
}

async function randomValues(shape: number[], seed: number): Promise<Float64Array> {
  const a = tg.randn(shape, { seed });
  const values = await read(a);
  a.dispose();
  return values;
}

/**
 * The componentwise backward error of the factors f (at f[fOff..]) of the n×n matrix at a[off..]:
 * the largest |P·A − L·U| ÷ |L|·|U| (LU) or |A − L·Lᵀ| ÷ |L|·|Lᵀ| (Cholesky), entry by entry, in
 * float64. A float32 factorization keeps it under about n·u whatever the order of its sums
 * (Higham, Accuracy and Stability of Numerical Algorithms, theorems 9.3 and 10.3).
 */
function backwardError(
  kind: 'lu' | 'cholesky',
  a: Float64Array,
  off: number,
  f: Float64Array,
  fOff: number,
  n: number,
) {
  const w = kind === 'lu' ? n + 1 : n;
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      let bound = 0;
      for (let k = 0; k <= Math.min(i, j); k++) {
        const left = kind === 'lu' && k === i ? 1 : f[fOff + i * w + k];
        const right = kind === 'lu' ? f[fOff + k * w + j] : f[fOff + j * w + k];
        sum += left * right;
        bound += Math.abs(left * right);
      }
      const row = kind === 'lu' ? f[fOff + i * w + n] : i;
      const e = Math.abs(a[off + row * n + j] - sum);
      worst = Math.max(worst, e === 0 ? 0 : e / bound);
    }
  }
  return worst;
}

const PRODUCT_KEYS = ['tapegradLuUpdate', 'tapegradCholeskyUpdate'].map((k) => new RegExp(`^${k}\\d+Product`));
const pipelines = () => Object.keys((tf.backend() as unknown as { pipelineCache: object }).pipelineCache);

blocked(
  'LU and Cholesky with the trailing update through the tiled matmul: within n·u·κ∞(A) of the float64 kernels',
  async () => {
    // A float32 factorization's backward error is about n·u (u = 2⁻²⁴), entry by entry, whichever
    // order the trailing sums take (3·n·u: WGSL's division and sqrt are within a few ulp); the
    // factors' forward error is at most that much times κ(A). [96] with 16-column blocks: trailing
    // blocks of 80 and 64 go through the tiled program; [2, 40] with 4-column blocks and the switch
    // at 8: batched, and every product of the small program.
    const u = 2 ** -24;
    const before = tf.memory().numTensors;
    for (const [batch, n, nb, from] of [
      [[], 96, 16, undefined],
      [[2], 40, 4, 8],
    ] as [number[], number, number, number | undefined][]) {
      const shape = [...batch, n, n];
      const matrices = count(shape);
      for (const kind of ['lu', 'cholesky'] as const) {
        const values =
          kind === 'lu' ? await randomValues(shape, n + matrices) : await spdConditioned(batch, n, n + matrices, 0.02);
        const x = tf.tensor(Float32Array.from(values), shape);
        const w = kind === 'lu' ? n + 1 : n;
        const want = new Float64Array(matrices * n * w);
        for (let b = 0; b < matrices; b++)
          if (kind === 'lu') luFactorInto(values, b * n * n, n, want, b * n * w);
          else choleskyInto(values, b * n * n, n, want);
        setGpuFactorPath('blocked', nb, from);
        const y = tf.engine().runKernel(kind === 'lu' ? LINALG_LU : LINALG_CHOLESKY, { x }) as tf.Tensor;
        const got = await read(y);
        tf.dispose([x, y]);
        for (let b = 0; b < matrices; b++) {
          const kappa = condition(values, b * n * n, n);
          let err = 0;
          let scale = 0;
          for (let i = b * n * w; i < (b + 1) * n * w; i++) {
            if (kind === 'lu' && i % w === n) {
              assert.is(got[i], want[i], `${kind} [${shape}]: pivots differ`);
              continue;
            }
            err = Math.max(err, Math.abs(got[i] - want[i]));
            scale = Math.max(scale, Math.abs(want[i]));
          }
          const backward = backwardError(kind, values, b * n * n, got, b * n * w, n);
          assert.ok(backward < 3 * n * u, `${kind} [${shape}] nb=${nb}: backward error ${backward} > 3·n·u`);
          const bound = n * u * kappa;
          assert.ok(
            err / scale < bound,
            `${kind} [${shape}] nb=${nb}: relative error ${err / scale} > n·u·κ = ${bound}`,
          );
        }
      }
    }
    for (const key of PRODUCT_KEYS)
      assert.ok(
        pipelines().some((p) => key.test(p)),
        `no ${key} program ran`,
      );
    // Cholesky's L21·L21ᵀ, its lower triangle only, on the tiled program and the small one
    for (const kind of ['tiled', 'tiny'])
      assert.ok(
        pipelines().some((p) => p.startsWith(`tapegrad_matmul_${kind}`) && /_lower/.test(p)),
        `no lower-triangle ${kind} product ran`,
      );
    assert.is(tf.memory().numTensors, before, 'no tensor left behind');
  },
);

blocked('triangular solve: every flag, batches that broadcast, blocks that do not divide n', async () => {
  const before = tf.memory().numTensors;
  const n = 10;
  const k = 3;
  const t = wellConditioned([2, 1], n, 11);
  const b = tg.randn([3, n, k], { seed: 12 });
  const tv = await read(t);
  const bv = await read(b);
  const { aIndex, bIndex } = broadcastBatches([2, 1, n, n], [3, n, k]);
  for (const lower of [true, false])
    for (const transpose of [false, true])
      for (const unitDiagonal of [false, true]) {
        const attrs = { lower, transpose, unitDiagonal };
        const want = new Float64Array(aIndex.length * n * k);
        for (let o = 0; o < aIndex.length; o++)
          triangularSolveInto(tv, aIndex[o] * n * n, bv, bIndex[o] * n * k, n, k, attrs, want, o * n * k);
        for (const path of ['blocked', 'per-matrix'] as const) {
          setGpuFactorPath(path, 4);
          const x = tf
            .engine()
            .runKernel(LINALG_TRIANGULAR_SOLVE, { a: t.value, b: b.value }, attrs as unknown as tf.NamedAttrMap);
          const got = await read(x as tf.Tensor);
          tf.dispose(x as tf.Tensor);
          assert.equal((x as tf.Tensor).shape, [2, 3, n, k]);
          let err = 0;
          for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
          assert.ok(err < 1e-5, `${path} ${JSON.stringify(attrs)}: off by ${err}`);
        }
      }
  tg.dispose([t, b]);
  assert.is(tf.memory().numTensors, before, 'no tensor left behind');
});

/** op(T) as the solve reads it (one triangle; ones on the diagonal where unitDiagonal), dense, float64. */
function effectiveTriangle(t: Float64Array, off: number, n: number, a: TriangularSolveAttrs): Float64Array {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const [r, c] = a.transpose ? [j, i] : [i, j]; // entry (i, j) of op(T) is T[r][c]
      const inside = a.lower ? c <= r : c >= r;
      m[i * n + j] = !inside ? 0 : i === j && a.unitDiagonal ? 1 : t[off + r * n + c];
    }
  return m;
}

blocked(
  'triangular solve with the update through the tiled matmul: within n·u·κ∞(T) of float64, backward error under 3·n·u',
  async () => {
    // A float32 substitution solves (T + ΔT)·x̂ = b with |ΔT| ≤ n·u·|T| whatever the order of its
    // sums (Higham, theorem 8.5): its componentwise backward error |b − T·x̂| ÷ |T|·|x̂| stays under
    // about n·u, and its forward error under n·u·κ(T). [96] with 16-row blocks and 80 right-hand
    // columns: the rows still to solve, 80 and 64, go through the tiled program; T [2, 1, 40] with
    // B [3, 40, 12], 4-row blocks and the switch at 8: broadcast batches, the small program.
    const u = 2 ** -24;
    const before = tf.memory().numTensors;
    for (const [tBatch, bBatch, n, k, nb, from] of [
      [[], [], 96, 80, 16, undefined],
      [[2, 1], [3], 40, 12, 4, 8],
    ] as [number[], number[], number, number, number, number | undefined][]) {
      const t = wellConditioned(tBatch, n, n + k);
      const b = tg.randn([...bBatch, n, k], { seed: n + k + 1 });
      const [tv, bv] = [await read(t), await read(b)];
      const { aIndex, bIndex } = broadcastBatches(t.shape, b.shape);
      for (const [lower, transpose, unitDiagonal] of [
        [true, false, false],
        [true, true, false],
        [false, false, true],
        [false, true, false],
      ]) {
        const attrs = { lower, transpose, unitDiagonal };
        setGpuFactorPath('blocked', nb, from);
        const x = tf
          .engine()
          .runKernel(LINALG_TRIANGULAR_SOLVE, { a: t.value, b: b.value }, attrs as never) as tf.Tensor;
        const got = await read(x);
        x.dispose();
        for (let o = 0; o < aIndex.length; o++) {
          const op = effectiveTriangle(tv, aIndex[o] * n * n, n, attrs);
          const want = new Float64Array(n * k);
          // op(T) is lower exactly when one of lower and transpose holds
          const opAttrs = { lower: lower !== transpose, transpose: false, unitDiagonal: false };
          triangularSolveInto(op, 0, bv, bIndex[o] * n * k, n, k, opAttrs, want, 0);
          let err = 0;
          let scale = 0;
          let backward = 0;
          for (let i = 0; i < n; i++)
            for (let c = 0; c < k; c++) {
              const xi = o * n * k + i * k + c;
              err = Math.max(err, Math.abs(got[xi] - want[i * k + c]));
              scale = Math.max(scale, Math.abs(want[i * k + c]));
              let r = bv[bIndex[o] * n * k + i * k + c];
              let bound = 0;
              for (let j = 0; j < n; j++) {
                r -= op[i * n + j] * got[o * n * k + j * k + c];
                bound += Math.abs(op[i * n + j] * got[o * n * k + j * k + c]);
              }
              if (r !== 0) backward = Math.max(backward, Math.abs(r) / bound);
            }
          const what = `${JSON.stringify(attrs)} T [${t.shape}] B [${b.shape}] nb=${nb}`;
          assert.ok(backward < 3 * n * u, `${what}: backward error ${backward} > 3·n·u`);
          const bound = n * u * condition(op, 0, n);
          assert.ok(err / scale < bound, `${what}: relative error ${err / scale} > n·u·κ = ${bound}`);
        }
      }
      tg.dispose([t, b]);
    }
    assert.ok(
      pipelines().some((p) => /^tapegradTriangularUpdate\d+Product/.test(p)),
      'no product update program ran',
    );
    assert.is(tf.memory().numTensors, before, 'no tensor left behind');
  },
);

blocked('the ops and their gradients on the blocked path: solve, inv, det, cholesky pass gradcheck', async () => {
  const before = tg.memory().numTensors;
  setGpuFactorPath('blocked', 2);
  const a = wellConditioned([], 5, 7);
  const b = tg.randn([5, 2], { seed: 8 });
  const p = spd([], 5, 9);
  const checks: [string, (...x: tg.Tensor[]) => tg.Tensor, tg.Tensor[]][] = [
    ['solve', (x, y) => tg.linalg.solve(x, y), [a, b]],
    ['inv', (x) => tg.linalg.inv(x), [a]],
    ['det', (x) => tg.linalg.det(x), [a]],
    ['lu', (x) => tg.linalg.lu(x).U, [a]],
    ['cholesky', (x) => tg.linalg.cholesky(x.add(tg.matrixTranspose(x)).mul(0.5)), [p]],
  ];
  for (const [name, f, xs] of checks) {
    const r = await tg.gradcheck(f, xs, { mode: 'full' });
    assert.ok(r.ok, `${name}: ${r.maxAbsError} at ${JSON.stringify(r.worst)}`);
  }
  tg.dispose([a, b, p]);
  assert.is(tg.memory().numTensors, before, 'no tensor left behind');
});

blocked('no WebGPU validation error was raised', () => {
  assert.equal(gpuErrors, []);
});

blocked.run();
