// tg.linalg and its kernels: each kernel's forward against a float64 reference written here
// (batched and unbatched), closed forms, every op's gradient (full gradcheck, gradgradcheck where
// twice differentiable), the bad-input errors, and memory. On every Node backend.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import {
  LINALG_LU,
  LINALG_CHOLESKY,
  LINALG_TRIANGULAR_SOLVE,
  LINALG_QR,
  LINALG_EIGH,
  LINALG_SVD,
} from '../kernels/index.js';
import {
  linalgCases,
  linalgCompositeCases,
  wellConditioned,
  spd,
  triangular,
  permuted,
  withSpectrum,
} from './op-cases-linalg.js';
import { flatCases } from './op-cases.js';
import { NODE_BACKENDS, assertClose, assertNoLeak, assertThrows } from './helpers.js';

// ---- float64 references (textbook algorithms, independent of kernels/)

type Mat = number[][];
const toMats = (x: tg.Tensor | tf.Tensor): Mat[] => {
  const shape = x.shape;
  const [r, c] = shape.slice(-2);
  const v = Array.from(x.dataSync());
  return Array.from({ length: v.length / (r * c) }, (_, b) =>
    Array.from({ length: r }, (_, i) => v.slice(b * r * c + i * c, b * r * c + (i + 1) * c)),
  );
};
const matmul64 = (a: Mat, b: Mat): Mat =>
  a.map((row) => b[0].map((_, j) => row.reduce((s, x, k) => s + x * b[k][j], 0)));
const transpose64 = (a: Mat): Mat => a[0].map((_, j) => a.map((row) => row[j]));

/** Gauss–Jordan elimination with partial pivoting: A⁻¹B and det(A), in float64. */
function gaussJordan(a: Mat, b: Mat): { x: Mat; det: number } {
  const n = a.length;
  const m = a.map((row, i) => [...row, ...b[i]]);
  let det = 1;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i][k]) > Math.abs(m[p][k])) p = i;
    if (p !== k) {
      [m[p], m[k]] = [m[k], m[p]];
      det = -det;
    }
    det *= m[k][k];
    for (let i = 0; i < n; i++) {
      if (i === k) continue;
      const f = m[i][k] / m[k][k];
      for (let j = k; j < m[i].length; j++) m[i][j] -= f * m[k][j];
    }
  }
  return { x: m.map((row, i) => row.slice(n).map((v) => v / m[i][i])), det };
}
const eye64 = (n: number): Mat => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => +(i === j)));

function cholesky64(a: Mat): Mat {
  const n = a.length;
  const l = a.map(() => Array(n).fill(0));
  for (let j = 0; j < n; j++) {
    let d = a[j][j];
    for (let k = 0; k < j; k++) d -= l[j][k] ** 2;
    l[j][j] = Math.sqrt(d);
    for (let i = j + 1; i < n; i++) {
      let s = a[i][j];
      for (let k = 0; k < j; k++) s -= l[i][k] * l[j][k];
      l[i][j] = s / l[j][j];
    }
  }
  return l;
}

/** Max abs and max relative (to the largest reference entry) error between a result and a float64 reference. */
function errors(actual: Mat[], expected: Mat[]): { abs: number; rel: number } {
  let abs = 0;
  let scale = 0;
  actual.forEach((m, b) =>
    m.forEach((row, i) =>
      row.forEach((v, j) => {
        abs = Math.max(abs, Math.abs(v - expected[b][i][j]));
        scale = Math.max(scale, Math.abs(expected[b][i][j]));
      }),
    ),
  );
  return { abs, rel: abs / scale };
}
const report: Record<string, { abs: number; rel: number }> = {};
function record(key: string, e: { abs: number; rel: number }): void {
  const r = (report[key] ??= { abs: 0, rel: 0 });
  r.abs = Math.max(r.abs, e.abs);
  r.rel = Math.max(r.rel, e.rel);
}

/** Well within float32: a few hundred ulps of the largest entry for these well-conditioned sizes. */
const F32_REL = 2e-5;

const randn = (shape: number[], seed: number) => tg.randn(shape, { seed });
/** Reassembled factors against A, relative to max|A|; orthogonality, absolute. float32 factors: ~n ulps. */
const DECOMP_REL = 1e-5;
/** Standard normal columns scaled from 1 down to 10⁻⁶ (geometrically): condition number about 10⁶. */
function graded(batch: number[], m: number, n: number, seed: number): tg.Tensor {
  return tg.tidy(() => {
    const scales = tg.tensor(Array.from({ length: n }, (_, j) => 10 ** (n > 1 ? (-6 * j) / (n - 1) : 0)));
    return tg.randn([...batch, m, n], { seed }).mul(scales);
  });
}
/** B·C with B [m, 2], C [2, n] standard normal: rank 2 (rank 1 when m or n is 1). */
function rankTwo(batch: number[], m: number, n: number, seed: number): tg.Tensor {
  return tg.tidy(() => tg.randn([...batch, m, 2], { seed }).matmul(tg.randn([...batch, 2, n], { seed: seed + 1 })));
}
/** NumPy's broadcast of two batch shapes (both valid here). */
const broadcastBatch = (a: number[], b: number[]): number[] => {
  const r = Math.max(a.length, b.length);
  const pa = [...Array(r - a.length).fill(1), ...a];
  const pb = [...Array(r - b.length).fill(1), ...b];
  return pa.map((d, i) => Math.max(d, pb[i]));
};
const SHAPES: [number[], number][] = [
  [[], 1],
  [[], 4],
  [[3], 5],
  [[2, 2], 8],
  [[], 32],
];

for (const backend of NODE_BACKENDS) {
  const k = suite(`linalg kernels against float64 on ${backend}`);
  k.before(async () => {
    await tg.setBackend(backend);
  });

  k('LinalgLu: P·A = L·U, the largest pivot chosen in each column, batched and unbatched', () => {
    for (const [batch, n] of SHAPES) {
      const a = permuted(batch, n, n + 1).add(randn([...batch, n, n], 3));
      const out = tf.engine().runKernel(LINALG_LU, { x: a.value }, {}) as tf.Tensor;
      assert.equal(out.shape, [...batch, n, n + 1]);
      const packed = toMats(out);
      const as = toMats(a);
      packed.forEach((m, b) => {
        const perm = m.map((row) => row[n]);
        assert.equal(
          [...perm].sort((x, y) => x - y),
          [...Array(n).keys()],
          'a permutation',
        );
        const L = m.map((row, i) => row.slice(0, n).map((v, j) => (j < i ? v : +(i === j))));
        const U = m.map((row, i) => row.slice(0, n).map((v, j) => (j >= i ? v : 0)));
        L.forEach((row) => row.forEach((v) => assert.ok(Math.abs(v) <= 1 + 1e-6, 'partial pivoting keeps |l_ij| ≤ 1')));
        const pa = perm.map((p) => as[b][p]);
        const e = errors([matmul64(L, U)], [pa]);
        record(`LinalgLu residual |PA − LU| (${backend})`, e);
        assert.ok(e.rel < F32_REL, `P·A = L·U to ${e.rel} relative, batch ${b}, n=${n}`);
      });
      out.dispose();
      a.dispose();
    }
  });

  k('LinalgCholesky: L against float64 Cholesky, zeros above the diagonal', () => {
    for (const [batch, n] of SHAPES) {
      const a = spd(batch, n, n);
      const out = tf.engine().runKernel(LINALG_CHOLESKY, { x: a.value }, {}) as tf.Tensor;
      const got = toMats(out);
      const want = toMats(a).map(cholesky64);
      got.forEach((m) => m.forEach((row, i) => row.forEach((v, j) => j > i && assert.is(v, 0))));
      const e = errors(got, want);
      record(`LinalgCholesky (${backend})`, e);
      assert.ok(e.rel < F32_REL, `cholesky to ${e.rel} relative, n=${n}`);
      out.dispose();
      a.dispose();
    }
  });

  k('LinalgTriangularSolve: every lower/transpose/unitDiagonal combination, batch axes broadcast', () => {
    const combos = [false, true].flatMap((lower) =>
      [false, true].flatMap((transpose) => [false, true].map((unitDiagonal) => ({ lower, transpose, unitDiagonal }))),
    );
    const layouts: [number[], number[], number][] = [
      [[], [], 4],
      [[3], [3], 5],
      [[2, 1], [3], 6], // T batch [2,1] against B batch [3]: X batch [2,3]
      [[], [4], 16],
    ];
    for (const attrs of combos) {
      for (const [tb, bb, n] of layouts) {
        const t = wellConditioned(tb, n, n);
        const b = randn([...bb, n, 2], n + 1);
        const out = tf
          .engine()
          .runKernel(
            LINALG_TRIANGULAR_SOLVE,
            { a: t.value, b: b.value },
            attrs as unknown as tf.NamedAttrMap,
          ) as tf.Tensor;
        const batch = broadcastBatch(tb, bb);
        assert.equal(out.shape, [...batch, n, 2]);
        // The reference: build op(T) explicitly (only the triangle read, unit diagonal if asked) and solve densely.
        const ts = tf.tidy(() => tf.broadcastTo(t.value, [...batch, n, n]));
        const bs = tf.tidy(() => tf.broadcastTo(b.value, [...batch, n, 2]));
        const want = toMats(ts).map((m, i) => {
          const tri = m.map((row, r) =>
            row.map((v, c) => (r === c ? (attrs.unitDiagonal ? 1 : v) : (attrs.lower ? c < r : c > r) ? v : 0)),
          );
          return gaussJordan(attrs.transpose ? transpose64(tri) : tri, toMats(bs)[i]).x;
        });
        const e = errors(toMats(out), want);
        record(`LinalgTriangularSolve (${backend})`, e);
        assert.ok(e.rel < F32_REL, `${JSON.stringify(attrs)} ${tb}/${bb} n=${n}: ${e.rel} relative`);
        tf.dispose([out, ts, bs]);
        tg.dispose([t, b]);
      }
    }
  });

  // The decompositions: each output reassembled in float64 from its float32 factors, on random,
  // ill-conditioned (σ from 1 down to 10⁻⁶) and rank-deficient (rank 2) matrices, batched.
  const KINDS: [string, (batch: number[], m: number, n: number, seed: number) => tg.Tensor][] = [
    ['random', (batch, m, n, seed) => tg.randn([...batch, m, n], { seed })],
    ['ill-conditioned', (batch, m, n, seed) => graded(batch, m, n, seed)],
    ['rank 2', (batch, m, n, seed) => rankTwo(batch, m, n, seed)],
  ];
  const DECOMP_SHAPES: [number[], number, number][] = [
    [[], 1, 1],
    [[], 5, 3],
    [[3], 4, 4],
    [[2, 2], 7, 5],
    [[], 32, 32],
    [[2], 40, 8],
  ];

  k('LinalgQr: Q·R = A, QᵀQ = I, R upper triangular with R_kk ≥ 0', () => {
    for (const [kind, make] of KINDS) {
      for (const [batch, m, n] of DECOMP_SHAPES) {
        const a = make(batch, m, n, m + n);
        const out = tf.engine().runKernel(LINALG_QR, { x: a.value }, {}) as tf.Tensor;
        assert.equal(out.shape, [...batch, m + n, n]);
        const as = toMats(a);
        toMats(out).forEach((f, b) => {
          const Q = f.slice(0, m);
          const R = f.slice(m);
          R.forEach((row, i) =>
            row.forEach((v, j) => (j < i ? assert.is(v, 0) : i === j && assert.ok(v >= 0, `R_${i}${i} = ${v}`))),
          );
          const e = errors([matmul64(Q, R)], [as[b]]);
          const o = errors([matmul64(transpose64(Q), Q)], [eye64(n)]);
          record(`LinalgQr ${kind}: |QR − A| / max|A| (${backend})`, e);
          record(`LinalgQr ${kind}: |QᵀQ − I| (${backend})`, o);
          assert.ok(e.rel < DECOMP_REL * Math.max(1, m / 8), `${kind} ${m}×${n}: QR = A to ${e.rel}`);
          assert.ok(o.abs < DECOMP_REL * Math.max(1, m / 8), `${kind} ${m}×${n}: QᵀQ = I to ${o.abs}`);
        });
        out.dispose();
        a.dispose();
      }
    }
  });

  k("LinalgEigh: V·diag(λ)·Vᵀ = A, VᵀV = I, λ ascending, each vector's largest entry positive", () => {
    for (const [kind, make] of KINDS) {
      for (const [batch, n] of DECOMP_SHAPES.map(([b, m]) => [b, m] as [number[], number])) {
        const r = make(batch, n, n, n + 3);
        const a = tg.tidy(() => r.add(tg.matrixTranspose(r)).mul(0.5));
        const out = tf.engine().runKernel(LINALG_EIGH, { x: a.value }, {}) as tf.Tensor;
        assert.equal(out.shape, [...batch, n + 1, n]);
        const as = toMats(a);
        toMats(out).forEach((f, b) => {
          const values = f[0];
          const V = f.slice(1);
          values.forEach((v, j) => j > 0 && assert.ok(v >= values[j - 1], 'ascending'));
          for (let j = 0; j < n; j++) {
            const col = V.map((row) => row[j]);
            const big = col.reduce((bi, v, i) => (Math.abs(v) > Math.abs(col[bi]) ? i : bi), 0);
            assert.ok(col[big] > 0, 'largest entry positive');
          }
          const e = errors(
            [
              matmul64(
                V.map((row) => row.map((v, j) => v * values[j])),
                transpose64(V),
              ),
            ],
            [as[b]],
          );
          const o = errors([matmul64(transpose64(V), V)], [eye64(n)]);
          record(`LinalgEigh ${kind}: |VΛVᵀ − A| / max|A| (${backend})`, e);
          record(`LinalgEigh ${kind}: |VᵀV − I| (${backend})`, o);
          assert.ok(e.rel < DECOMP_REL * Math.max(1, n / 8), `${kind} n=${n}: VΛVᵀ = A to ${e.rel}`);
          assert.ok(o.abs < DECOMP_REL * Math.max(1, n / 8), `${kind} n=${n}: VᵀV = I to ${o.abs}`);
        });
        out.dispose();
        tg.dispose([r, a]);
      }
    }
  });

  k('LinalgSvd: U·diag(S)·Vᵀ = A, UᵀU = VᵀV = I, S descending and ≥ 0, tall and wide', () => {
    const shapes = [...DECOMP_SHAPES, ...DECOMP_SHAPES.map(([b, m, n]) => [b, n, m] as [number[], number, number])];
    for (const [kind, make] of KINDS) {
      for (const [batch, m, n] of shapes) {
        const a = make(batch, m, n, m * n);
        const out = tf.engine().runKernel(LINALG_SVD, { x: a.value }, {}) as tf.Tensor;
        const k = Math.min(m, n);
        assert.equal(out.shape, [...batch, m + 1 + n, k]);
        const as = toMats(a);
        toMats(out).forEach((f, b) => {
          const U = f.slice(0, m);
          const S = f[m];
          const V = f.slice(m + 1);
          S.forEach((v, j) => assert.ok(v >= 0 && (j === 0 || v <= S[j - 1]), 'descending, ≥ 0'));
          const e = errors(
            [
              matmul64(
                U.map((row) => row.map((v, j) => v * S[j])),
                transpose64(V),
              ),
            ],
            [as[b]],
          );
          const ou = errors([matmul64(transpose64(U), U)], [eye64(k)]);
          const ov = errors([matmul64(transpose64(V), V)], [eye64(k)]);
          const scale = DECOMP_REL * Math.max(1, Math.max(m, n) / 8);
          record(`LinalgSvd ${kind}: |USVᵀ − A| / max|A| (${backend})`, e);
          record(`LinalgSvd ${kind}: |UᵀU − I|, |VᵀV − I| (${backend})`, {
            abs: Math.max(ou.abs, ov.abs),
            rel: Math.max(ou.abs, ov.abs),
          });
          assert.ok(e.rel < scale, `${kind} ${m}×${n}: USVᵀ = A to ${e.rel}`);
          assert.ok(ou.abs < scale && ov.abs < scale, `${kind} ${m}×${n}: UᵀU = I to ${ou.abs}, VᵀV = I to ${ov.abs}`);
        });
        out.dispose();
        a.dispose();
      }
    }
  });

  k('LinalgSvd and LinalgEigh: the spectrum of a matrix built from it, to float32 relative accuracy', () => {
    // withSpectrum(…) = U·diag(k − j + ½)·Vᵀ, and the symmetric one has eigenvalues k/2 − j − ¼
    for (const [m, n] of [
      [6, 4],
      [4, 6],
      [12, 12],
    ]) {
      const a = withSpectrum([2], m, n, 7);
      const out = tf.engine().runKernel(LINALG_SVD, { x: a.value }, {}) as tf.Tensor;
      const k = Math.min(m, n);
      toMats(out).forEach((f) =>
        assertClose(
          f[m],
          Array.from({ length: k }, (_, j) => k - j + 0.5),
          { atol: 0, rtol: 4e-6, msg: `σ of ${m}×${n}` },
        ),
      );
      const s = withSpectrum([], m, m, 8, true);
      const e = tf.engine().runKernel(LINALG_EIGH, { x: s.value }, {}) as tf.Tensor;
      assertClose(
        toMats(e)[0][0],
        Array.from({ length: m }, (_, j) => j - m / 2 + 0.75),
        { atol: 4e-6 * m, rtol: 0, msg: `λ of ${m}×${m}` },
      );
      tf.dispose([out, e]);
      tg.dispose([a, s]);
    }
  });

  k('the decompositions of a zero matrix and of I: exact, with orthonormal factors', () => {
    const z = tf.zeros([3, 3]);
    const svd = toMats(tf.engine().runKernel(LINALG_SVD, { x: z }, {}) as tf.Tensor)[0];
    assert.equal(svd[3], [0, 0, 0]);
    assert.ok(
      errors([matmul64(transpose64(svd.slice(0, 3)), svd.slice(0, 3))], [eye64(3)]).abs < 1e-7,
      'U completed to an orthonormal basis',
    );
    const qr = toMats(tf.engine().runKernel(LINALG_QR, { x: z }, {}) as tf.Tensor)[0];
    assert.equal(qr.slice(0, 3), eye64(3), 'Q = I for A = 0');
    assert.equal(qr.slice(3), [
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
    ]);
    const eig = toMats(tf.engine().runKernel(LINALG_EIGH, { x: tf.eye(3) }, {}) as tf.Tensor)[0];
    assert.equal(eig, [[1, 1, 1], ...eye64(3)]);
    tf.dispose(z);
  });
  k.run();

  const o = suite(`linalg ops: values and closed forms on ${backend}`);
  o.before(async () => {
    await tg.setBackend(backend);
  });

  o('inv, det, slogdet, solve against float64 Gauss–Jordan', () => {
    for (const [batch, n] of SHAPES) {
      const a = wellConditioned(batch, n, 10 + n);
      const b = randn([...batch, n, 3], 20 + n);
      const as = toMats(a);
      const ref = as.map((m, i) => ({ inv: gaussJordan(m, eye64(n)), solve: gaussJordan(m, toMats(b)[i]) }));
      const inv = tg.linalg.inv(a);
      const x = tg.linalg.solve(a, b);
      const d = tg.linalg.det(a);
      const [sign, logAbs] = tg.linalg.slogdet(a);
      const eInv = errors(
        toMats(inv),
        ref.map((r) => r.inv.x),
      );
      const eSolve = errors(
        toMats(x),
        ref.map((r) => r.solve.x),
      );
      record(`inv (${backend})`, eInv);
      record(`solve (${backend})`, eSolve);
      assert.ok(eInv.rel < F32_REL, `inv ${eInv.rel}`);
      assert.ok(eSolve.rel < F32_REL, `solve ${eSolve.rel}`);
      const dets = ref.map((r) => r.inv.det);
      // det of the 32×32 matrices (≈ 32³²) overflows float32, as it would in NumPy: slogdet is for them
      if (n < 16) {
        const detRel = Math.max(...Array.from(d.dataSync()).map((v, i) => Math.abs(v - dets[i]) / Math.abs(dets[i])));
        record(`det, relative to |det| (${backend})`, { abs: 0, rel: detRel });
        assert.ok(detRel < 1e-5, `det ${detRel}`);
      } else {
        assert.is(d.dataSync()[0], Infinity);
      }
      assertClose(sign, dets.map(Math.sign), { atol: 0, rtol: 0 });
      assertClose(
        logAbs,
        dets.map((v) => Math.log(Math.abs(v))),
        { atol: 1e-5, rtol: 1e-6 },
      );
      tg.dispose([a, b, inv, x, d, sign, logAbs]);
    }
  });

  o('closed forms: inv(A)·A = I, det of a triangular matrix = Π diagonal, L·Lᵀ = A, P·A = L·U', () => {
    const a = wellConditioned([3], 6, 1);
    const i = tg.linalg.inv(a);
    assertClose(i.matmul(a), tg.eye(6).broadcastTo([3, 6, 6]), { atol: 1e-5, msg: 'inv(A)·A' });
    const t = triangular([2], 5, 2, false);
    const diagProd = toMats(t).map((m) => m.reduce((p, row, r) => p * row[r], 1));
    assertClose(tg.linalg.det(t), diagProd, { rtol: 1e-5, msg: 'det of triangular' });
    const s = spd([2], 7, 3);
    const l = tg.linalg.cholesky(s);
    assertClose(l.matmul(tg.matrixTranspose(l)), s, { atol: 1e-5, msg: 'L·Lᵀ' });
    const p = permuted([2], 5, 4);
    const { lu, pivots, P, L, U } = tg.linalg.lu(p);
    assert.is(pivots.dtype, 'int32');
    assertClose(P.matmul(p), L.matmul(U), { atol: 1e-5, msg: 'P·A = L·U' });
    const rows = toMats(p);
    const piv = Array.from(pivots.dataSync());
    assertClose(P.matmul(p), rows.flatMap((m, b) => piv.slice(b * 5, b * 5 + 5).map((r) => m[r])).flat(), {
      atol: 0,
      rtol: 0,
      msg: 'row i of P·A is row pivots[i] of A',
    });
    assert.ok(
      piv.some((r, i) => r !== i % 5),
      'this A needs row swaps',
    );
    assertClose(lu, L.sub(tg.eye(5)).add(U), { atol: 0, rtol: 0, msg: 'lu packs L and U' });
    // A vector right-hand side, and a triangular solve that agrees with solve
    const v = randn([6], 5);
    const xv = tg.linalg.solve(a, v);
    assert.equal(xv.shape, [3, 6]);
    assertClose(a.matmul(xv.reshape([3, 6, 1])).reshape([3, 6]), v.broadcastTo([3, 6]), {
      atol: 1e-5,
      msg: 'A·solve(A, b) = b',
    });
    const lt = triangular([], 6, 6);
    assertClose(tg.linalg.triangularSolve(lt, v), tg.linalg.solve(lt, v), {
      atol: 1e-5,
      msg: 'triangularSolve = solve for a triangular matrix',
    });
    tg.dispose([a, i, t, s, l, p, lu, pivots, P, L, U, v, xv, lt]);
  });

  o('singular matrices: det 0, slogdet sign 0 and log|det| −Inf, as NumPy', () => {
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
    assertClose(tg.linalg.det(s), [0, 6]);
    const [sign, logAbs] = tg.linalg.slogdet(s);
    assertClose(sign, [0, 1], { atol: 0, rtol: 0 });
    assert.is(logAbs.dataSync()[0], -Infinity);
    assertClose(logAbs.dataSync()[1], Math.log(6));
    const z = tg.zeros([3, 3]);
    assert.is(tg.linalg.det(z).item(), 0);
    tg.dispose([s, sign, logAbs, z]);
  });

  o('qr, eigh, svd, svdvals: shapes, factors that give A back, batched', () => {
    const a = withSpectrum([2, 3], 6, 4, 1);
    const { Q, R } = tg.linalg.qr(a);
    assert.equal(
      [Q.shape, R.shape],
      [
        [2, 3, 6, 4],
        [2, 3, 4, 4],
      ],
    );
    assertClose(Q.matmul(R), a, { atol: 1e-5, msg: 'Q·R' });
    const w = withSpectrum([2], 3, 5, 2);
    const { U, S, Vh } = tg.linalg.svd(w);
    assert.equal(
      [U.shape, S.shape, Vh.shape],
      [
        [2, 3, 3],
        [2, 3],
        [2, 3, 5],
      ],
    );
    assertClose(U.mul(S.reshape([2, 1, 3])).matmul(Vh), w, { atol: 1e-5, msg: 'U·diag(S)·Vh' });
    assertClose(tg.linalg.svdvals(w), S, { atol: 0, rtol: 0, msg: 'svdvals = svd().S' });
    assertClose(S, [3.5, 2.5, 1.5, 3.5, 2.5, 1.5], { rtol: 1e-6, msg: 'the spectrum it was built with' });
    const sy = withSpectrum([3], 5, 5, 3, true);
    const { values, vectors } = tg.linalg.eigh(sy);
    assert.equal(
      [values.shape, vectors.shape],
      [
        [3, 5],
        [3, 5, 5],
      ],
    );
    assertClose(values, Array(3).fill([-1.75, -0.75, 0.25, 1.25, 2.25]).flat(), {
      atol: 4e-6,
      msg: 'eigenvalues, ascending',
    });
    assertClose(vectors.mul(values.reshape([3, 1, 5])).matmul(tg.matrixTranspose(vectors)), sy, {
      atol: 1e-5,
      msg: 'V·Λ·Vᵀ',
    });
    tg.dispose([a, Q, R, w, U, S, Vh, sy, values, vectors]);
  });

  o(
    "pinv's tolerances as PyTorch's: default rtol max(m, n)·ε unless atol > 0, atol, hermitian; bad options refused",
    () => {
      // σ = 1 and 1e-7: below the default rtol 2·2⁻²³, above atol 1e-9; the values torch.linalg.pinv gives
      const a = tg.tensor([1, 0, 0, 1e-7], { shape: [2, 2] });
      const cut = [1, 0, 0, 0];
      const kept = [1, 0, 0, 1e7];
      const cases: [tg.linalg.PinvOptions | undefined, number[]][] = [
        [undefined, cut],
        [{ atol: 0 }, cut],
        [{ rtol: 0 }, kept],
        [{ atol: 1e-9 }, kept],
        [{ atol: 1e-9, rtol: 0.5 }, cut],
        [{ hermitian: true }, cut],
        [{ hermitian: true, atol: 1e-9 }, kept],
        [{ hermitian: true, rtol: Infinity }, [0, 0, 0, 0]],
        // a negative tolerance acts as 0, as PyTorch's: atol ≤ 0 leaves rtol at its default
        [{ atol: -1 }, cut],
        [{ rtol: -1 }, kept],
        [{ hermitian: true, rtol: -1 }, kept],
        [{ atol: -1, rtol: 0.5 }, cut],
      ];
      for (const [opts, want] of cases)
        tg.tidy(() => assertClose(tg.linalg.pinv(a, opts), want, { rtol: 1e-6, msg: JSON.stringify(opts) }));
      // hermitian reads the lower triangle only, as PyTorch's eigh: a negative eigenvalue is inverted too
      const lower = tg.tensor([2, 99, 1, -3], { shape: [2, 2] });
      const full = tg.tensor([2, 1, 1, -3], { shape: [2, 2] });
      tg.tidy(() => assertClose(tg.linalg.pinv(lower, { hermitian: true }), tg.linalg.pinv(full), { atol: 1e-6 }));
      assertThrows(
        () => tg.linalg.pinv(a, { rcond: 1e-3 } as never),
        /^linalg\.pinv: unknown option 'rcond'; the options are atol, rtol, hermitian$/,
      );
      assertThrows(() => tg.linalg.pinv(a, 1e-3 as never), /^linalg\.pinv: options must be an object, got number/);
      assertThrows(
        () => tg.linalg.pinv(a, { atol: Number.NaN }),
        /^linalg\.pinv: atol must be a number or a tensor, got NaN$/,
      );
      assertThrows(
        () => tg.linalg.pinv(a, { rtol: '0.1' } as never),
        /^linalg\.pinv: rtol must be a number or a tensor, got 0\.1$/,
      );
      assertThrows(
        () => tg.linalg.pinv(a, { hermitian: 1 } as never),
        /^linalg\.pinv: hermitian must be true or false/,
      );
      const wide = tg.ones([2, 3]);
      assertThrows(
        () => tg.linalg.pinv(wide, { hermitian: true }),
        /^linalg\.pinv: hermitian needs square matrices, got 2×3 \(shape \[2,3\]\)$/,
      );
      tg.dispose([a, lower, full, wide]);
    },
  );

  o("pinv's tolerances as tensors: one per matrix, broadcasting against the batch, as PyTorch's", () => {
    const a = tg.tensor([1, 0, 0, 1e-7], { shape: [2, 2] });
    const two = tg.stack([a, a]);
    const cut = [1, 0, 0, 0];
    const kept = [1, 0, 0, 1e7];
    const zero = [0, 0, 0, 0];
    const cases: [string, () => tg.Tensor, number[], number[]][] = [
      // each matrix's default rtol is 0 where its atol is > 0, else max(m, n)·ε
      ['atol [0, 1e-9]', () => tg.linalg.pinv(two, { atol: tg.tensor([0, 1e-9]) }), [2, 2, 2], [...cut, ...kept]],
      ['rtol [0, 0.5]', () => tg.linalg.pinv(two, { rtol: tg.tensor([0, 0.5]) }), [2, 2, 2], [...kept, ...cut]],
      // one matrix and a column of tolerances: the result's batch is their broadcast
      [
        'rtol [[0], [0.5]]',
        () => tg.linalg.pinv(a, { rtol: tg.tensor([[0], [0.5]]) }),
        [2, 1, 2, 2],
        [...kept, ...cut],
      ],
      [
        'atol [-1, 1e-9], hermitian',
        () => tg.linalg.pinv(two, { atol: tg.tensor([-1, 1e-9]), hermitian: true }),
        [2, 2, 2],
        [...cut, ...kept],
      ],
      // int32 and bool tolerances read as numbers, as PyTorch's: atol 1 cuts σ = 1 too
      [
        'atol int32 [0, 1]',
        () => tg.linalg.pinv(two, { atol: tg.tensor([0, 1], { dtype: 'int32' }) }),
        [2, 2, 2],
        [...cut, ...zero],
      ],
      [
        'rtol bool [false, true]',
        () => tg.linalg.pinv(two, { rtol: tg.tensor([0, 1], { dtype: 'bool' }) }),
        [2, 2, 2],
        [...kept, ...zero],
      ],
      [
        'atol 1e-9 with rtol [0.5, 0]',
        () => tg.linalg.pinv(two, { atol: 1e-9, rtol: tg.tensor([0.5, 0]) }),
        [2, 2, 2],
        [...cut, ...kept],
      ],
    ];
    for (const [what, run, shape, want] of cases)
      assertNoLeak(() => {
        tg.tidy(() => {
          const p = run();
          assert.equal(p.shape, shape, `${what}: shape`);
          assertClose(p, want, { rtol: 1e-6, msg: what });
        });
      }, what);
    // both negative: PyTorch keeps the zero singular values (∞ and NaN), tapegrad takes both as 0
    const singular = tg.tensor([1, 0, 0, 0], { shape: [2, 2] });
    tg.tidy(() => assertClose(tg.linalg.pinv(singular, { atol: -1, rtol: -1 }), cut));
    tg.tidy(() => assertClose(tg.linalg.pinv(singular, { atol: tg.tensor(-1), rtol: tg.tensor(-1) }), cut));
    // the gradient through a broadcast batch is summed back to A's shape; the tolerances get none
    const x = tg.tensor([2, 0.5, 0.25, 1], { shape: [2, 2], requiresGrad: true });
    const rtol = tg.tensor([0, 0.01]);
    assertNoLeak(() => {
      tg.tidy(() => tg.linalg.pinv(x, { rtol }).sum().backward());
      assert.equal(x.grad!.shape, [2, 2]);
      tg.tidy(() => {
        const once = tg.grad((y: tg.Tensor) => tg.linalg.pinv(y).sum())(x);
        assertClose(x.grad!, once.mul(2), { rtol: 1e-6 });
      });
      x.grad!.dispose();
      x.grad = null;
    }, 'a backward through broadcast tolerances');
    assert.is(rtol.grad, null);
    const three = tg.stack([a, a, a]);
    assertThrows(
      () => tg.linalg.pinv(three, { atol: tg.tensor([0, 1]) }),
      /^linalg\.pinv: the tolerances' shapes \(atol \[2\], rtol \[\]\) do not broadcast against A's batch axes \[3\] \(A \[3,2,2\]\)$/,
    );
    const gone = tg.tensor([1]);
    gone.dispose();
    assertThrows(() => tg.linalg.pinv(a, { rtol: gone }), /^linalg\.pinv: rtol \(shape \[1\]\) has been disposed/);
    tg.dispose([a, two, singular, x, rtol, three]);
  });

  o('pinv: the Moore–Penrose conditions, also for a rank-deficient A; lstsq: the normal equations', () => {
    for (const a of [
      withSpectrum([2], 5, 3, 4),
      withSpectrum([], 3, 5, 5),
      tg.tidy(() => randn([4, 2], 6).matmul(randn([2, 5], 7))),
    ]) {
      tg.tidy(() => {
        const p = tg.linalg.pinv(a);
        assert.equal(p.shape, [...a.shape.slice(0, -2), a.shape[a.rank - 1], a.shape[a.rank - 2]]);
        assertClose(a.matmul(p).matmul(a), a, { atol: 2e-5, msg: 'A·P·A = A' });
        assertClose(p.matmul(a).matmul(p), p, { atol: 2e-5, msg: 'P·A·P = P' });
        const ap = a.matmul(p);
        const pa = p.matmul(a);
        assertClose(ap, tg.matrixTranspose(ap), { atol: 2e-5, msg: 'A·P symmetric' });
        assertClose(pa, tg.matrixTranspose(pa), { atol: 2e-5, msg: 'P·A symmetric' });
      });
      a.dispose();
    }
    const a = withSpectrum([2], 6, 3, 8);
    const b = randn([6, 2], 9);
    const x = tg.linalg.lstsq(a, b);
    const at = tg.matrixTranspose(a);
    assertClose(x, tg.linalg.solve(at.matmul(a), at.matmul(b)), { atol: 1e-5, msg: 'AᵀA·X = AᵀB' });
    const v = randn([6], 10);
    const xv = tg.linalg.lstsq(a, v);
    assert.equal(xv.shape, [2, 3]);
    tg.dispose([a, b, x, at, v, xv]);
  });

  o('matrixNorm, matrixExp, matrixPower: closed forms', () => {
    const a = withSpectrum([2], 4, 3, 11);
    assertClose(tg.linalg.matrixNorm(a, 'nuc'), [7.5, 7.5], { rtol: 1e-6, msg: 'nuclear: 3.5 + 2.5 + 1.5' });
    assertClose(tg.linalg.matrixNorm(a, 2), [3.5, 3.5], { rtol: 1e-6, msg: 'spectral: σ_max' });
    assertClose(
      tg.linalg.matrixNorm(a),
      [Math.sqrt(3.5 ** 2 + 2.5 ** 2 + 1.5 ** 2), Math.sqrt(3.5 ** 2 + 2.5 ** 2 + 1.5 ** 2)],
      { rtol: 1e-6, msg: 'Frobenius: √Σσ²' },
    );
    assert.equal(tg.linalg.matrixNorm(a, 2, { keepDims: true }).shape, [2, 1, 1]);
    // exp of a rotation generator, of a diagonal matrix (large entries: squared back), of a nilpotent one
    const e = tg.linalg.matrixExp(
      tg.tensor([
        [
          [0, 1],
          [-1, 0],
        ],
        [
          [10, 0],
          [0, -3],
        ],
        [
          [0, 5],
          [0, 0],
        ],
      ]),
    );
    assertClose(
      e,
      [Math.cos(1), Math.sin(1), -Math.sin(1), Math.cos(1), Math.exp(10), 0, 0, Math.exp(-3), 1, 5, 0, 1],
      { rtol: 2e-6, atol: 1e-7, msg: 'exp' },
    );
    const m = tg.tidy(() => randn([3, 4, 4], 12).mul(2));
    const product = tg.tidy(() => tg.linalg.matrixExp(m).matmul(tg.linalg.matrixExp(m.neg())));
    assertClose(product, tg.eye(4).broadcastTo([3, 4, 4]), { atol: 1e-4, msg: 'exp(A)·exp(−A) = I' });
    const w = wellConditioned([2], 3, 13);
    const cube = tg.tidy(() => w.matmul(w).matmul(w));
    assertClose(tg.linalg.matrixPower(w, 3), cube, { rtol: 1e-5, msg: 'A³' });
    assertClose(tg.linalg.matrixPower(w, 0), tg.eye(3).broadcastTo([2, 3, 3]), { atol: 0, msg: 'A⁰ = I' });
    assertClose(tg.linalg.matrixPower(w, -1), tg.linalg.inv(w), { rtol: 1e-6, msg: 'A⁻¹' });
    assertClose(tg.linalg.matrixPower(w, -3).matmul(cube), tg.eye(3).broadcastTo([2, 3, 3]), {
      atol: 1e-5,
      msg: 'A⁻³·A³ = I',
    });
    tg.dispose([a, e, m, product, w, cube]);
  });
  o.run();

  const g = suite(`linalg gradients on ${backend}`);
  g.before(async () => {
    await tg.setBackend(backend);
  });
  for (const [label, c] of [...flatCases(linalgCases), ...flatCases(linalgCompositeCases)]) {
    g(`${label}: gradcheck (full)${c.gradgrad ? ' and gradgradcheck' : ''}`, async () => {
      const xs = c.make(5);
      const r = await tg.gradcheck(c.f, xs, { ...c.tol });
      record(`gradcheck ${label.split('#')[0]}`, { abs: r.maxAbsError, rel: r.maxRelError });
      assert.ok(r.ok, `${label}: maxAbs ${r.maxAbsError} worst ${JSON.stringify(r.worst)}`);
      if (c.gradgrad) {
        const r2 = await tg.gradgradcheck(c.f, xs, { ...c.tol });
        record(`gradgradcheck ${label.split('#')[0]}`, { abs: r2.maxAbsError, rel: r2.maxRelError });
        assert.ok(r2.ok, `${label} gradgrad: maxAbs ${r2.maxAbsError} worst ${JSON.stringify(r2.worst)}`);
      }
      tg.dispose(xs);
    });
  }
  g('lu is twice differentiable too', async () => {
    const a = spd([], 3, 9);
    const r = await tg.gradgradcheck((x) => tg.linalg.lu(x).lu, [a]);
    assert.ok(r.ok, `lu gradgrad ${JSON.stringify(r.worst)}`);
    a.dispose();
  });
  g('det at a singular matrix: the gradient is the transposed adjugate, twice differentiable', async () => {
    const s = tg.tensor(
      [
        [1, 2],
        [2, 4],
      ],
      { requiresGrad: true },
    );
    const s3 = tg.tensor(
      [
        [1, 2, 3],
        [2, 4, 6],
        [7, 8, 10],
      ],
      { requiresGrad: true },
    ); // rank 2: adj ≠ 0
    const z = tg.zeros([3, 3]); // rank 0: adj = 0
    z.requiresGrad = true;
    const mixed = tg.stack([
      wellConditioned([], 2, 1),
      tg.tensor([
        [1, 2],
        [2, 4],
      ]),
    ]);
    mixed.requiresGrad = true;
    assertNoLeak(() => {
      const gs = tg.grad((x: tg.Tensor) => tg.linalg.det(x))(s);
      assertClose(gs, [4, -2, -2, 1], { msg: 'adj([[1,2],[2,4]])ᵀ' });
      const g3 = tg.grad((x: tg.Tensor) => tg.linalg.det(x))(s3);
      // cofactors of [[1,2,3],[2,4,6],[7,8,10]]
      assertClose(g3, [-8, 22, -12, 4, -11, 6, 0, 0, 0], { atol: 1e-4, msg: 'rank-2 adjugate' });
      const gz = tg.grad((x: tg.Tensor) => tg.linalg.det(x))(z);
      assertClose(gz, Array(9).fill(0));
      const gm = tg.grad((x: tg.Tensor) => tg.linalg.det(x).sum())(mixed);
      assertClose(Array.from(gm.dataSync() as Float32Array).slice(4), [4, -2, -2, 1], {
        msg: 'singular entry of a batch',
      });
      tg.dispose([gs, g3, gz, gm]);
    });
    const r = await tg.gradcheck((x) => tg.linalg.det(x), [s3]);
    assert.ok(r.ok, `det gradcheck at a singular matrix ${JSON.stringify(r.worst)}`);
    const r2 = await tg.gradgradcheck((x) => tg.linalg.det(x), [s3]);
    assert.ok(r2.ok, `det gradgradcheck at a singular matrix ${JSON.stringify(r2.worst)}`);
    const h = tg.hessian((x: tg.Tensor) => tg.linalg.det(x))(s);
    assertClose(h, [0, 0, 0, 1, 0, 0, -1, 0, 0, -1, 0, 0, 1, 0, 0, 0], { msg: 'd²det of 2×2' });
    tg.dispose([s, s3, z, mixed, h]);
  });
  g('slogdet at a singular matrix: its gradient is an error naming slogdet, not an internal op', () => {
    const s = tg.tensor(
      [
        [1, 2],
        [2, 4],
      ],
      { requiresGrad: true },
    );
    assertNoLeak(() => {
      assertThrows(
        () => tg.grad((x: tg.Tensor) => tg.linalg.slogdet(x)[1])(s),
        /^linalg\.slogdet: matrix is singular \(the gradient of log\|det\|, A⁻ᵀ, is infinite there\)/,
      );
    });
    s.dispose();
  });
  // The factorizations with several results: one node on the tape for all of them, one adjoint.
  const weighted = (x: tg.Tensor, yt: tg.Tensor) => x.mul(tg.arange(1, x.shape[x.rank - 1] + 1)).matmul(yt);
  const several: [string, (a: tg.Tensor) => tg.Tensor[], string[]][] = [
    ['qr', (a) => Object.values(tg.linalg.qr(a)), ['Q', 'R']],
    ['svd', (a) => Object.values(tg.linalg.svd(a)), ['U', 'S', 'Vh']],
    ['eigh', (a) => Object.values(tg.linalg.eigh(a)), ['values', 'vectors']],
    ['lu', (a) => Object.values(tg.linalg.lu(a)), ['lu', 'pivots', 'P', 'L', 'U']],
    ['slogdet', (a) => tg.linalg.slogdet(a), ['sign', 'logAbsDet']],
  ];
  g('qr, svd, eigh, lu, slogdet: one node for every result, its inputs A alone; explain names each output', () => {
    const a = spd([], 3, 7);
    a.requiresGrad = true;
    for (const [label, f, names] of several) {
      assertNoLeak(() => {
        const outs = f(a);
        const recorded = outs.filter((t) => t.node);
        const node = recorded[0].node!;
        assert.ok(
          recorded.every((t) => t.node === node),
          `${label}: the results come from ${new Set(recorded.map((t) => t.node)).size} nodes`,
        );
        assert.equal(node.inputs, [a], `${label}: the node reads A itself`);
        assert.is(node.rule.name, `linalg.${label}`);
        // the constants (pivots, P, the sign) are not on the tape
        assert.equal(
          outs.map((t) => t.requiresGrad),
          names.map((n) => !['pivots', 'P', 'sign'].includes(n)),
          label,
        );
        const loss = tg.tidy(() => recorded.map((t) => t.sum()).reduce((x, y) => x.add(y)));
        const table = tg.explain(loss).table;
        for (const t of recorded) {
          const name = names[outs.indexOf(t)];
          assert.ok(table.includes(`linalg.${label}.${name} `), `${label}: no row names ${name}:\n${table}`);
        }
        // the node's first row counts every output it keeps for its adjoint, the handles on them not as hidden tensors
        const first = table.split('\n').find((row) => row.includes(`linalg.${label}.`))!;
        assert.match(first, label === 'slogdet' ? /inputs #0; output\b/ : /inputs #0; outputs /, first);
        assert.not.match(first, /hidden/, first);
        tg.dispose([...outs, loss]);
      }, label);
    }
    a.dispose();
  });
  g('a hook on one output of svd or qr changes the gradient through that output alone', () => {
    const a = withSpectrum([], 4, 3, 3);
    a.requiresGrad = true;
    const through = (hooked: boolean) =>
      tg.tidy(() => {
        const { U, S, Vh } = tg.linalg.svd(a);
        const { Q } = tg.linalg.qr(a);
        if (hooked) {
          S.registerHook((g) => g.mul(3));
          Q.registerHook((g) => g.mul(-2));
        }
        const loss = S.sum()
          .add(weighted(U, Vh).sum())
          .add(Q.square().mul(tg.arange(1, 4)).sum());
        loss.backward();
        const g = a.grad!;
        a.grad = null;
        return g;
      });
    const parts = (f: (a: tg.Tensor) => tg.Tensor, scale: number) =>
      tg.tidy(() => tg.grad((x: tg.Tensor) => f(x).mul(scale))(a));
    assertNoLeak(() => {
      const hooked = through(true);
      // 3·∂ΣS + ∂Σweighted(U, Vh) − 2·∂Σ(j·Q²)
      const expected = tg.tidy(() =>
        parts((x) => tg.linalg.svd(x).S.sum(), 3)
          .add(
            parts((x) => {
              const { U, Vh } = tg.linalg.svd(x);
              return weighted(U, Vh).sum();
            }, 1),
          )
          .add(parts((x) => tg.linalg.qr(x).Q.square().mul(tg.arange(1, 4)).sum(), -2)),
      );
      const plain = through(false);
      assertClose(hooked, Array.from(expected.dataSync()), { atol: 1e-4, msg: 'hooked gradient' });
      assert.ok(tg.tidy(() => hooked.sub(plain).abs().max().item()) > 1e-2, 'the hooks changed nothing');
      tg.dispose([hooked, expected, plain]);
    });
    a.dispose();
  });
  g('outputs disposed before backward: read from the handles the others hold; a recorded backward refuses', () => {
    const a = permuted([], 3, 2);
    a.requiresGrad = true;
    assertNoLeak(() => {
      const { U, S, Vh } = tg.linalg.svd(a);
      tg.dispose([U, Vh]);
      tg.tidy(() => S.sum().backward());
      const direct = tg.grad((x: tg.Tensor) => tg.linalg.svdvals(x).sum())(a);
      assertClose(a.grad!, Array.from(direct.dataSync()), { msg: 'S alone' });
      tg.dispose([S, a.grad, direct]);
      a.grad = null;
    });
    assertNoLeak(() => {
      const { U, S, Vh } = tg.linalg.svd(a);
      U.dispose();
      const loss = S.sum();
      // the tidy frees what the recorded backward made before it stopped
      assertThrows(
        () => tg.tidy(() => loss.backward(undefined, { createGraph: true })),
        /^backward: output U of 'linalg\.svd' \(shape \[3,3\]\) was disposed before backward\(\) with createGraph/,
      );
      tg.dispose([S, Vh, loss]);
    });
    assertNoLeak(() => {
      const r = tg.linalg.lu(a);
      tg.dispose([r.P, r.pivots, r.lu, r.L]);
      tg.tidy(() => r.U.sum().backward());
      const direct = tg.grad((x: tg.Tensor) => tg.linalg.lu(x).U.sum())(a);
      assertClose(a.grad!, Array.from(direct.dataSync()), { msg: 'lu: U alone' });
      tg.dispose([r.U, a.grad, direct]);
      a.grad = null;
    });
    a.dispose();
  });
  g('svdvals and one output kept beyond the tidy that made it: the others stay for the gradient', () => {
    const a = withSpectrum([2], 3, 2, 4);
    assertNoLeak(() => {
      a.requiresGrad = true;
      const s = tg.tidy(() => tg.linalg.svdvals(a));
      const q = tg.tidy(() => tg.linalg.qr(a).Q);
      tg.tidy(() => s.sum().add(q.sum()).backward());
      const expected = tg.grad((x: tg.Tensor) => tg.linalg.svd(x).S.sum().add(tg.linalg.qr(x).Q.sum()))(a);
      assertClose(a.grad!, Array.from(expected.dataSync()));
      // vjp's tidy keeps U and Vh, which no path from S reaches, for its later calls
      const { out, vjp, dispose } = tg.vjp((x: tg.Tensor) => tg.linalg.svd(x).S, a);
      const ones = tg.onesLike(out);
      const [g] = vjp(ones);
      const direct = tg.grad((x: tg.Tensor) => tg.linalg.svdvals(x).sum())(a);
      assertClose(g, Array.from(direct.dataSync()), { msg: 'vjp through S' });
      dispose();
      tg.dispose([s, q, a.grad, expected, g, direct, ones]);
      a.grad = null;
    });
    a.dispose();
  });
  g.run();

  const e = suite(`linalg errors on ${backend}`);
  e.before(async () => {
    await tg.setBackend(backend);
  });
  e('non-square, not a matrix, wrong dtype', () => {
    const r = randn([2, 3], 1);
    const v = randn([3], 1);
    const i = tg.tensor(
      [
        [1, 0],
        [0, 1],
      ],
      { dtype: 'int32' },
    );
    for (const [name, f] of Object.entries({
      inv: tg.linalg.inv,
      det: tg.linalg.det,
      slogdet: tg.linalg.slogdet,
      cholesky: tg.linalg.cholesky,
      lu: tg.linalg.lu,
    })) {
      assertThrows(() => f(r), new RegExp(`linalg\\.${name}: the input must be square, got 2×3`), name);
      assertThrows(() => f(v), new RegExp(`linalg\\.${name}: .*matrix or a batch of matrices`), name);
      assertThrows(() => f(i), new RegExp(`linalg\\.${name}: the input must be float32`), name);
    }
    assertThrows(() => tg.linalg.solve(r, v), /linalg\.solve: A must be square/);
    assertThrows(
      () => tg.linalg.triangularSolve(r, v),
      /linalg\.triangularSolve: the triangular matrix must be square/,
    );
    assertThrows(
      () =>
        tg.linalg.inv([
          [1, 0],
          [0, 1],
        ] as unknown as tg.Tensor),
      /linalg\.inv: the input must be a tapegrad Tensor/,
    );
    tg.dispose([r, v, i]);
  });
  e('solve and triangularSolve: row counts and batch shapes must match', () => {
    const a = wellConditioned([2], 3, 1);
    assertThrows(
      () => tg.linalg.solve(a, randn([4, 1], 2)),
      /linalg\.solve: B must have 3 rows to match the 3×3 matrix, got shape \[4,1\]/,
    );
    assertThrows(() => tg.linalg.solve(a, randn([4], 2)), /linalg\.solve: B must have 3 rows/);
    assertThrows(
      () => tg.linalg.solve(a, randn([5, 3, 2], 2)),
      /linalg\.solve: batch dimensions cannot be broadcast: matrix \[2,3,3\] and B \[5,3,2\]/,
    );
    assertThrows(
      () => tg.linalg.triangularSolve(a, randn([5, 3, 2], 2)),
      /linalg\.triangularSolve: batch dimensions cannot be broadcast/,
    );
    assertThrows(() => tg.linalg.solve(a, tg.scalar(1)), /linalg\.solve: B must have 3 rows/);
    a.dispose();
  });
  e('a singular matrix to inv or solve: "matrix is singular", naming the batch entry', () => {
    const exact = tg.tensor([
      [1, 2],
      [2, 4],
    ]);
    const rounded = tg.tensor([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
    ]); // singular; rounding leaves a tiny pivot
    const zero = tg.zeros([2, 2]);
    const batch = tg.stack([wellConditioned([], 2, 1), exact]);
    const ones = tg.ones([3]);
    assertNoLeak(() => {
      assertThrows(() => tg.linalg.inv(exact), /^linalg\.inv: matrix is singular: its smallest LU pivot is 0/);
      assertThrows(() => tg.linalg.inv(rounded), /linalg\.inv: matrix is singular/);
      assertThrows(() => tg.linalg.inv(zero), /linalg\.inv: matrix is singular/);
      assertThrows(() => tg.linalg.solve(rounded, ones), /linalg\.solve: matrix is singular/);
      assertThrows(() => tg.linalg.inv(batch), /linalg\.inv: matrix is singular \(matrix 1 of the batch \[2\]\)/);
    }, 'errors leave nothing behind');
    tg.dispose([exact, rounded, zero, batch, ones]);
  });
  e(
    'cholesky reads only the lower triangle (as PyTorch); checkSymmetric refuses a matrix that is not symmetric',
    () => {
      const sym = tg.tensor([
        [4, 2],
        [2, 3],
      ]);
      const lowerOnly = tg.tensor([
        [4, 100],
        [2, 3],
      ]); // its upper triangle is ignored
      const batch = tg.stack([sym, lowerOnly]);
      assertNoLeak(() => {
        const [l1, l2] = [tg.linalg.cholesky(sym), tg.linalg.cholesky(lowerOnly)];
        assertClose(l2, l1, { msg: 'the same factor: only the lower triangle is read' });
        const l3 = tg.linalg.cholesky(sym, { checkSymmetric: true });
        assertClose(l3, l1);
        tg.dispose([l1, l2, l3]);
        assertThrows(
          () => tg.linalg.cholesky(lowerOnly, { checkSymmetric: true }),
          /^linalg\.cholesky: matrix is not symmetric: \|A − Aᵀ\| reaches 98 while its largest entry is 100, shape \[2,2\]/,
        );
        assertThrows(
          () => tg.linalg.cholesky(batch, { checkSymmetric: true }),
          /^linalg\.cholesky: matrix is not symmetric \(matrix 1 of the batch \[2\]\)/,
        );
        assertThrows(
          () => tg.linalg.cholesky(sym, { checkSymmetric: 'yes' } as never),
          /^linalg\.cholesky: checkSymmetric must be true or false/,
        );
      });
      tg.dispose([sym, lowerOnly, batch]);
    },
  );
  e('eigh: non-square or non-symmetric input, saying which; qr: a wide matrix; bad orders and exponents', () => {
    const r = randn([2, 3], 1);
    const batch = tg.stack([
      tg.eye(3),
      tg.tensor([
        [1, 2, 0],
        [2, 1, 0],
        [0, 0.5, 1],
      ]),
    ]);
    const [v3, a3, b3, w2, ones, empty] = [
      tg.ones([3]),
      randn([2, 4, 3], 1),
      tg.ones([3, 4, 1]),
      wellConditioned([], 2, 1),
      tg.ones([2, 2]),
      tg.zeros([2, 0, 3]),
    ];
    assertNoLeak(() => {
      assertThrows(() => tg.linalg.eigh(r), /^linalg\.eigh: the input must be square, got 2×3/);
      assertThrows(
        () => tg.linalg.eigh(batch),
        /^linalg\.eigh: the input must be symmetric, but A\[1,2\] = 0 and A\[2,1\] = 0\.5 \(matrix 1 of the batch \[2\]\), shape \[2,3,3\]/,
      );
      assertThrows(
        () => tg.linalg.qr(r),
        /^linalg\.qr: needs at least as many rows as columns \(the reduced QR\), got 2×3/,
      );
      assertThrows(
        () => tg.linalg.svd(v3),
        /^linalg\.svd: the input must be a matrix or a batch of matrices \[\.\.\., m, n\], got shape \[3\]/,
      );
      assertThrows(() => tg.linalg.pinv(empty), /^linalg\.pinv: the input is empty \(shape \[2,0,3\]\)/);
      assertThrows(
        () => tg.linalg.lstsq(r, v3),
        /^linalg\.lstsq: B must have 2 rows to match A \[2,3\], got shape \[3\]/,
      );
      assertThrows(
        () => tg.linalg.lstsq(a3, b3),
        /^linalg\.lstsq: batch dimensions cannot be broadcast: A \[2,4,3\] and B \[3,4,1\]/,
      );
      assertThrows(
        () => tg.linalg.matrixNorm(r, 1 as never),
        /^linalg\.matrixNorm: ord must be 'fro', 'nuc' or 2, got 1/,
      );
      assertThrows(
        () => tg.linalg.matrixPower(w2, 1.5),
        /^linalg\.matrixPower: the exponent must be an integer, got 1\.5/,
      );
      assertThrows(() => tg.linalg.matrixPower(ones, -1), /^linalg\.inv: matrix is singular/);
      assertThrows(() => tg.linalg.matrixExp(r), /^linalg\.matrixExp: the input must be square/);
    }, 'errors leave nothing behind');
    tg.dispose([v3, a3, b3, w2, ones, empty]);
    tg.dispose([r, batch]);
  });
  e('gradients of the values alone at repeated eigenvalues and singular values, and at a rank-deficient A', () => {
    // Σλ = tr A and ΣS at A = I: gradients I, with every eigenvalue (singular value) repeated
    const I = tg.eye(3);
    const gEig = tg.grad((a: tg.Tensor) => tg.linalg.eigh(a).values.sum())(I);
    assertClose(gEig, I, { atol: 1e-6, msg: '∂Σλ/∂A at A = I' });
    const gSvd = tg.grad((a: tg.Tensor) => tg.linalg.svdvals(a).sum())(I);
    assertClose(gSvd, I, { atol: 1e-6, msg: '∂ΣS/∂A = U·Vᵀ at A = I' });
    const rank1 = tg.tensor([
      [1, 2],
      [2, 4],
      [3, 6],
    ]);
    const gRank = tg.grad((a: tg.Tensor) => tg.linalg.svdvals(a).sum())(rank1);
    assert.ok(Array.from(gRank.dataSync()).every(Number.isFinite), 'finite at a rank-deficient A');
    tg.dispose([I, gEig, gSvd, rank1, gRank]);
  });
  e('a matrix that is not positive definite to cholesky', () => {
    const indefinite = tg.tensor([
      [1, 2],
      [2, 1],
    ]);
    const batch = tg.stack([
      spd([], 2, 1),
      spd([], 2, 2),
      tg.tensor([
        [-1, 0],
        [0, 1],
      ]),
    ]);
    assertNoLeak(() => {
      assertThrows(
        () => tg.linalg.cholesky(indefinite),
        /^linalg\.cholesky: matrix is not positive definite, shape \[2,2\]/,
      );
      assertThrows(
        () => tg.linalg.cholesky(batch),
        /linalg\.cholesky: matrix is not positive definite \(matrix 2 of the batch \[3\]\)/,
      );
    }, 'errors leave nothing behind');
    tg.dispose([indefinite, batch]);
  });
  e.run();

  const m = suite(`linalg memory on ${backend}`);
  m.before(async () => {
    await tg.setBackend(backend);
  });
  m('forward + backward + dispose leaves nothing behind, for every op', () => {
    const calls: [string, (a: tg.Tensor, b: tg.Tensor) => tg.Tensor[]][] = [
      ['inv', (a) => [tg.linalg.inv(a)]],
      ['det', (a) => [tg.linalg.det(a)]],
      ['slogdet', (a) => tg.linalg.slogdet(a)],
      ['solve', (a, b) => [tg.linalg.solve(a, b)]],
      ['solve (vector)', (a) => [tg.linalg.solve(a, v)]],
      ['cholesky', () => [tg.linalg.cholesky(pd)]],
      ['triangularSolve', (a, b) => [tg.linalg.triangularSolve(a, b, { lower: false })]],
      ['lu', (a) => Object.values(tg.linalg.lu(a))],
      ['qr', (a) => Object.values(tg.linalg.qr(a))],
      ['eigh', () => Object.values(tg.linalg.eigh(pd))],
      ['svd', (a) => Object.values(tg.linalg.svd(a))],
      ['svd (wide)', (_a, b) => Object.values(tg.linalg.svd(b))],
      ['svdvals', (a) => [tg.linalg.svdvals(a)]],
      ['pinv', (a) => [tg.linalg.pinv(a)]],
      ['lstsq', (a, b) => [tg.linalg.lstsq(a, b)]],
      ['lstsq (vector)', (a) => [tg.linalg.lstsq(a, v)]],
      [
        'matrixNorm',
        (a) => [
          tg.linalg.matrixNorm(a),
          tg.linalg.matrixNorm(a, 'nuc', { keepDims: true }),
          tg.linalg.matrixNorm(a, 2),
        ],
      ],
      ['matrixExp', (a) => [tg.linalg.matrixExp(a)]],
      [
        'matrixPower',
        (a) => [
          tg.linalg.matrixPower(a, 0),
          tg.linalg.matrixPower(a, 1),
          tg.linalg.matrixPower(a, 5),
          tg.linalg.matrixPower(a, -2),
        ],
      ],
    ];
    const a = wellConditioned([2], 3, 1);
    const b = randn([2, 3, 2], 2);
    const v = randn([3], 3);
    const pd = spd([2], 3, 4);
    pd.requiresGrad = true;
    a.requiresGrad = true;
    b.requiresGrad = true;
    v.requiresGrad = true;
    for (const [label, f] of calls) {
      assertNoLeak(() => {
        const outs = f(a, b);
        // the loss's own intermediates (sums of several outputs) are freed by the tidy
        tg.tidy(() =>
          outs
            .filter((t) => t.requiresGrad)
            .map((t) => t.sum())
            .reduce((x, y) => x.add(y))
            .backward(),
        );
        tg.dispose([...outs, a.grad, b.grad, v.grad, pd.grad]);
        a.grad = b.grad = v.grad = pd.grad = null;
      }, label);
      assertNoLeak(() => tg.dispose(f(a, b)), `${label} (no backward)`);
      assertNoLeak(() => tg.dispose(tg.noGrad(() => f(a, b))), `${label} (no grad)`);
    }
    assertNoLeak(
      () =>
        tg
          .grad((x: tg.Tensor) =>
            tg
              .grad((y: tg.Tensor) => tg.linalg.inv(y).sum())(x)
              .sum(),
          )(a)
          .dispose(),
      'grad(grad(inv))',
    );
    for (const [label, f] of calls.slice(-11)) {
      assertNoLeak(
        () =>
          tg
            .grad((x: tg.Tensor) =>
              tg
                .grad((y: tg.Tensor) =>
                  f(y, b)
                    .map((t) => t.sum())
                    .reduce((p, q) => p.add(q)),
                )(x)
                .sum(),
            )(a)
            .dispose(),
        `grad(grad(${label}))`,
      );
    }
    tg.dispose([a, b, v, pd]);
  });
  m.run();
}

const last = suite('linalg error report');
last('print the measured errors', () => {
  for (const [key, { abs, rel }] of Object.entries(report))
    console.log(`  ${key}: max abs ${abs.toExponential(2)}, max rel ${rel.toExponential(2)}`);
});
last.run();
