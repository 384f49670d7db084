// The linear-algebra kernels on the page's backend (webgpu: the WGSL programs of kernels/;
// webgl: the JavaScript implementation on read-back data), against the float64 JavaScript
// algorithms of the same kernels, batched and unbatched; then the ops built on them.
//
// `run(tg)` does every check and returns one result per kernel and layout (usable from any page);
// the uvu suite below runs it and asserts, for test/browser/run.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import type * as TG from '../../src/index.js';
import {
  LINALG_LU,
  LINALG_CHOLESKY,
  LINALG_TRIANGULAR_SOLVE,
  LINALG_QR,
  LINALG_EIGH,
  LINALG_SVD,
  LINALG_MATRIX_EXP,
} from '../../kernels/index.js';
import { setGpuFactorPath } from '../../kernels/common.js';
import { luFactorInto } from '../../kernels/lu.js';
import { choleskyInto } from '../../kernels/cholesky.js';
import { triangularSolveInto } from '../../kernels/triangular-solve.js';
import { qrInto } from '../../kernels/qr.js';
import { eighInto } from '../../kernels/eigh.js';
import { svdInto } from '../../kernels/svd.js';
import { matrixExpInto } from '../../kernels/matrix-exp.js';
import { wellConditioned, permuted, spd, withSpectrum } from '../op-cases-linalg.js';

export interface KernelCheck {
  kernel: string;
  layout: string;
  backend: string;
  /** max |got − want| / max |want| */
  maxRelError: number;
  ok: boolean;
}

/** float32 on the GPU against float64: a few hundred ulps of the largest entry. */
const TOL = 2e-4;

function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return got.length === want.length ? err / scale : Infinity;
}

/** Values read asynchronously: the webgpu backend's dataSync returns zeros in headless Chromium on SwiftShader. */
const read = async (x: tf.Tensor | TG.Tensor): Promise<Float64Array> =>
  Float64Array.from((await x.data()) as Float32Array);

/** LinalgLu of `count` matrices of order n against luFactorInto in float64 (the result freed). */
async function luError(a: TG.Tensor, count: number, n: number): Promise<number> {
  const lu = tf.engine().runKernel(LINALG_LU, { x: a.value }, {}) as tf.Tensor;
  const av = await read(a);
  const want = new Float64Array(count * n * (n + 1));
  for (let b = 0; b < count; b++) luFactorInto(av, b * n * n, n, want, b * n * (n + 1));
  const e = relError(await read(lu), want);
  lu.dispose();
  return e;
}

/** LinalgCholesky of `count` matrices of order n against choleskyInto in float64 (the result freed). */
async function choleskyError(s: TG.Tensor, count: number, n: number): Promise<number> {
  const l = tf.engine().runKernel(LINALG_CHOLESKY, { x: s.value }, {}) as tf.Tensor;
  const sv = await read(s);
  const want = new Float64Array(sv.length);
  for (let b = 0; b < count; b++) choleskyInto(sv, b * n * n, n, want);
  const e = relError(await read(l), want);
  l.dispose();
  return e;
}

/** Every kernel, on the active backend, against its float64 reference. */
export async function run(tg: typeof TG): Promise<KernelCheck[]> {
  const backend = tg.getBackend();
  const results: KernelCheck[] = [];
  const push = (kernel: string, layout: string, e: number) =>
    results.push({ kernel, layout, backend, maxRelError: e, ok: e <= TOL });
  const layouts: [number[], number][] = [
    [[], 3],
    [[], 8],
    [[5], 4],
    [[2, 3], 6],
    [[70], 3], // more matrices than one workgroup of 64 invocations
  ];
  for (const [batch, n] of layouts) {
    const layout = `[${[...batch, n, n]}]`;
    const count = batch.reduce((a, b) => a * b, 1);
    // LU, on a matrix whose pivoting swaps rows
    const a = permuted(batch, n, n + 7);
    push('LinalgLu', layout, await luError(a, count, n));
    const s = spd(batch, n, n + 8);
    push('LinalgCholesky', layout, await choleskyError(s, count, n));
    // Triangular solve, every flag combination, B broadcast over T's batch
    const t = wellConditioned(batch, n, n + 9);
    const rhs = tg.randn([n, 2], { seed: n });
    const tv = await read(t);
    const bv = await read(rhs);
    for (const lower of [true, false]) {
      for (const transpose of [false, true]) {
        for (const unitDiagonal of [false, true]) {
          const attrs = { lower, transpose, unitDiagonal };
          const x = tf
            .engine()
            .runKernel(
              LINALG_TRIANGULAR_SOLVE,
              { a: t.value, b: rhs.value },
              attrs as unknown as tf.NamedAttrMap,
            ) as tf.Tensor;
          const want = new Float64Array(count * n * 2);
          for (let b = 0; b < count; b++) triangularSolveInto(tv, b * n * n, bv, 0, n, 2, attrs, want, b * n * 2);
          push('LinalgTriangularSolve', `${layout} ${JSON.stringify(attrs)}`, relError(await read(x), want));
          x.dispose();
        }
      }
    }
    tg.dispose([a, s, t, rhs]);
  }
  // webgpu's blocked LU and Cholesky (the default from order 64 on one matrix; one thread per
  // matrix below): forced, with blocks that do not divide n, then the default on one of order 70;
  // order 96 by 16 columns updates its trailing blocks of 80 and 64 through the tiled matmul.
  for (const [batch, n, nb] of [
    [[], 10, 4],
    [[3], 9, 4],
    [[], 70, 0],
    [[], 96, 16],
  ] as [number[], number, number][]) {
    setGpuFactorPath(nb ? 'blocked' : 'auto', nb || 32);
    const layout = `[${[...batch, n, n]}] ${nb ? `blocked by ${nb}` : 'default path'}`;
    const count = batch.reduce((a, b) => a * b, 1);
    const a = tg.randn([...batch, n, n], { seed: n }); // normal entries: pivoting swaps rows
    push('LinalgLu', layout, await luError(a, count, n));
    const s = spd(batch, n, n + 8);
    push('LinalgCholesky', layout, await choleskyError(s, count, n));
    tg.dispose([a, s]);
  }
  setGpuFactorPath('auto');
  // The decompositions, on matrices with well-separated spectra (so that the sign conventions of
  // the vectors cannot tip differently in f32 and float64): tall, wide, square and symmetric.
  const decompositions: [number[], number, number][] = [
    [[], 3, 3],
    [[], 6, 4],
    [[], 4, 6],
    [[70], 3, 2], // more matrices than one workgroup of 64 invocations
    [[2, 3], 8, 8],
  ];
  for (const [batch, m, n] of decompositions) {
    const layout = `[${[...batch, m, n]}]`;
    const count = batch.reduce((a, b) => a * b, 1);
    const k = Math.min(m, n);
    const a = withSpectrum(batch, m, n, m + n);
    const av = await read(a);
    const svd = tf.engine().runKernel(LINALG_SVD, { x: a.value }, {}) as tf.Tensor;
    const wantSvd = new Float64Array(count * (m + 1 + n) * k);
    for (let b = 0; b < count; b++) svdInto(av, b * m * n, m, n, wantSvd, b * (m + 1 + n) * k);
    push('LinalgSvd', layout, relError(await read(svd), wantSvd));
    if (m >= n) {
      const qr = tf.engine().runKernel(LINALG_QR, { x: a.value }, {}) as tf.Tensor;
      const wantQr = new Float64Array(count * (m + n) * n);
      for (let b = 0; b < count; b++) qrInto(av, b * m * n, m, n, wantQr, b * (m + n) * n);
      push('LinalgQr', layout, relError(await read(qr), wantQr));
      qr.dispose();
    }
    if (m === n) {
      const s = withSpectrum(batch, n, n, n, true);
      const sv = await read(s);
      const eig = tf.engine().runKernel(LINALG_EIGH, { x: s.value }, {}) as tf.Tensor;
      const wantEig = new Float64Array(count * (n + 1) * n);
      for (let b = 0; b < count; b++) eighInto(sv, b * n * n, n, wantEig, b * (n + 1) * n);
      push('LinalgEigh', layout, relError(await read(eig), wantEig));
      eig.dispose();
      s.dispose();
    }
    svd.dispose();
    a.dispose();
  }
  // The exponential, with norms that need 0 to 5 squarings
  for (const [batch, n, scale] of [
    [[], 3, 0.2],
    [[70], 2, 1],
    [[2, 3], 5, 4],
  ] as [number[], number, number][]) {
    const a = tg.tidy(() => tg.randn([...batch, n, n], { seed: n }).mul(scale));
    const av = await read(a);
    const e = tf.engine().runKernel(LINALG_MATRIX_EXP, { x: a.value }, {}) as tf.Tensor;
    const want = new Float64Array(av.length);
    for (let b = 0; b < av.length / (n * n); b++) matrixExpInto(av, b * n * n, n, want);
    push('LinalgMatrixExp', `[${[...batch, n, n]}] ×${scale}`, relError(await read(e), want));
    e.dispose();
    a.dispose();
  }
  // A float32 tensor cast from int32 (on webgpu it keeps its i32 buffer): the shaders convert on read.
  const cast = tf.tidy(() => tf.cast(tf.tensor2d([4, 3, 6, 3], [2, 2], 'int32'), 'float32'));
  const luCast = tf.engine().runKernel(LINALG_LU, { x: cast }, {}) as tf.Tensor;
  results.push({
    kernel: 'LinalgLu',
    layout: 'input cast from int32',
    backend,
    maxRelError: relError(await read(luCast), [6, 3, 1, 2 / 3, 1, 0]),
    ok: false,
  });
  results[results.length - 1].ok = results[results.length - 1].maxRelError <= TOL;
  tf.dispose([cast, luCast]);
  // A matrix that is not positive definite comes out all NaN; an exactly singular one keeps a zero pivot.
  const bad = tf.tensor3d([4, 2, 2, 3, 1, 2, 2, 1], [2, 2, 2]);
  const lBad = tf.engine().runKernel(LINALG_CHOLESKY, { x: bad }, {}) as tf.Tensor;
  const v = await read(lBad);
  const nanOk = v.slice(0, 4).every(Number.isFinite) && v.slice(4).every(Number.isNaN);
  results.push({
    kernel: 'LinalgCholesky',
    layout: 'not positive definite → NaN',
    backend,
    maxRelError: nanOk ? 0 : Infinity,
    ok: nanOk,
  });
  tf.dispose([bad, lBad]);
  return results;
}

const s = suite('linalg kernels on the page backend');
s('each kernel agrees with its float64 reference, batched and unbatched', () => {
  // Imported lazily so that `run` stays usable with any copy of tapegrad passed in.
  return import('../../src/index.js').then(async (tg) => {
    const before = tg.memory().numTensors;
    const results = await run(tg);
    console.log(
      `[tapegrad] linalg kernels on ${tg.getBackend()}: worst ${Math.max(...results.map((r) => r.maxRelError)).toExponential(2)} relative`,
    );
    for (const r of results) assert.ok(r.ok, `${r.kernel} ${r.layout} on ${r.backend}: ${r.maxRelError}`);
    assert.is(tg.memory().numTensors, before, 'no tensor left behind');
  });
});
s('the decompositions on the page backend: Q·R, V·diag(λ)·Vᵀ and U·diag(S)·Vh give A back', async () => {
  const tg = await import('../../src/index.js');
  const before = tg.memory().numTensors;
  const a = withSpectrum([3], 6, 4, 1);
  const w = withSpectrum([3], 4, 6, 2);
  const s = withSpectrum([3], 5, 5, 3, true);
  const [qr, svdTall, svdWide, eig] = tg.tidy(() => {
    const { Q, R } = tg.linalg.qr(a);
    const t = tg.linalg.svd(a);
    const u = tg.linalg.svd(w);
    const { values, vectors } = tg.linalg.eigh(s);
    return [
      Q.matmul(R),
      t.U.mul(t.S.reshape([3, 1, 4])).matmul(t.Vh),
      u.U.mul(u.S.reshape([3, 1, 4])).matmul(u.Vh),
      vectors.mul(values.reshape([3, 1, 5])).matmul(tg.matrixTranspose(vectors)),
    ];
  });
  assert.ok(relError(await read(qr), await read(a)) < 1e-4, 'Q·R = A');
  assert.ok(relError(await read(svdTall), await read(a)) < 1e-4, 'U·S·Vh = A (tall)');
  assert.ok(relError(await read(svdWide), await read(w)) < 1e-4, 'U·S·Vh = A (wide)');
  assert.ok(relError(await read(eig), await read(s)) < 1e-4, 'V·Λ·Vᵀ = A');
  tg.dispose([a, w, s, qr, svdTall, svdWide, eig]);
  assert.is(tg.memory().numTensors, before, 'no tensor left behind');
});
s('the ops on the page backend: inv(A)·A = I, solve, det, cholesky', async () => {
  const tg = await import('../../src/index.js');
  const before = tg.memory().numTensors;
  const a = wellConditioned([4], 5, 1);
  const b = tg.randn([4, 5, 2], { seed: 2 });
  const p = spd([3], 4, 3);
  const s = tg.tensor([
    [
      [1, 2],
      [2, 4],
    ],
    [
      [2, 0],
      [0, 3],
    ],
  ]);
  // every product checked is made in one tidy, then read asynchronously
  const [ia, eye, ax, llt, det] = tg.tidy(() => {
    const l = tg.linalg.cholesky(p);
    return [
      tg.linalg.inv(a).matmul(a),
      tg.eye(5).broadcastTo([4, 5, 5]),
      a.matmul(tg.linalg.solve(a, b)),
      l.matmul(tg.matrixTranspose(l)),
      tg.linalg.det(s),
    ];
  });
  assert.ok(relError(await read(ia), await read(eye)) < 1e-4, 'inv(A)·A = I');
  assert.ok(relError(await read(ax), await read(b)) < 1e-4, 'A·solve(A, B) = B');
  assert.ok(relError(await read(llt), await read(p)) < 1e-4, 'L·Lᵀ = A');
  assert.equal(Array.from(await read(det)), [0, 6], 'det of a singular matrix is 0');
  tg.dispose([a, b, p, s, ia, eye, ax, llt, det]);
  assert.is(tg.memory().numTensors, before, 'no tensor left behind');
});
s.run();
