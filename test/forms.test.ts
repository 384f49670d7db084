// quadForm and bilinear (src/ops/forms.ts): values against float64 sums, batch broadcasting, errors,
// memory. Their gradients are checked in ops.test.ts (op-cases-forms.ts) and appendix.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';
import { assertClose, assertNoLeak, assertThrows, NODE_BACKENDS } from './helpers.js';

/** Σᵢⱼ yᵢ Aᵢⱼ xⱼ in float64. */
const form = (y: number[], A: number[][], x: number[]) =>
  y.reduce((s, yi, i) => s + yi * A[i].reduce((t, a, j) => t + a * x[j], 0), 0);

for (const backend of NODE_BACKENDS) {
  test(`[${backend}] values, unbatched and with broadcasting batch dimensions`, async () => {
    await tg.setBackend(backend);
    const x = tg.randn([3], { seed: 1 }),
      A = tg.randn([3, 3], { seed: 2 }),
      y = tg.randn([2], { seed: 3 }),
      R = tg.randn([2, 3], { seed: 4 });
    const xv = Array.from(x.dataSync()),
      yv = Array.from(y.dataSync());
    const q = tg.quadForm(x, A);
    assert.equal(q.shape, []);
    assertClose(q, form(xv, A.arraySync() as number[][], xv));
    const b = tg.bilinear(y, R, x);
    assertClose(b, form(yv, R.arraySync() as number[][], xv));
    // x batch [2] against A batch [4, 1]: α[i, j] = x_jᵀ A_i x_j — the case TF.js's batched matmul gets wrong
    const X = tg.randn([2, 3], { seed: 5 }),
      As = tg.randn([4, 1, 3, 3], { seed: 6 });
    const Q = tg.quadForm(X, As);
    assert.equal(Q.shape, [4, 2]);
    const Xa = X.arraySync() as number[][],
      Aa = As.arraySync() as number[][][][];
    assertClose(
      Q,
      Aa.flatMap(([Ai]) => Xa.map((xj) => form(xj, Ai, xj))),
      { atol: 1e-5 },
    );
    // y batch [2, 1], R batch [3], x unbatched: [2, 3]
    const Y = tg.randn([2, 1, 2], { seed: 7 }),
      Rs = tg.randn([3, 2, 3], { seed: 8 });
    const B = tg.bilinear(Y, Rs, x);
    assert.equal(B.shape, [2, 3]);
    const Ya = Y.arraySync() as number[][][],
      Ra = Rs.arraySync() as number[][][];
    assertClose(
      B,
      Ya.flatMap(([yi]) => Ra.map((Rk) => form(yi, Rk, xv))),
      { atol: 1e-5 },
    );
    tg.dispose([x, A, y, R, q, b, X, As, Q, Y, Rs, B]);
    await tg.setBackend('wasm');
  });
}

test('the gradient of a broadcast quadForm is summed back to each operand', () => {
  const x = tg.randn([3], { seed: 9 });
  const As = tg.randn([4, 3, 3], { seed: 10 });
  // ∂/∂x Σ_k xᵀA_k x = Σ_k (A_k + A_kᵀ) x
  const g = tg.grad((v: tg.Tensor) => tg.quadForm(v, As).sum())(x);
  const expected = tg.tidy(() => tg.matmul(As.add(As.transpose([0, 2, 1])).sum({ axis: 0 }), x));
  assertClose(g, expected, { atol: 1e-5 });
  tg.dispose([x, As, g, expected]);
});

test('bad shapes and inputs get errors naming the form and the shapes', () => {
  const x = tg.zeros([3]),
    A = tg.zeros([3, 3]),
    R = tg.zeros([2, 3]),
    y = tg.zeros([2]);
  assertThrows(
    () => tg.quadForm(x, R),
    /^quadForm: A must be \[\.\.\., n, n\] with n = 3 \(x's last dimension\), got x \[3\] and A \[2,3\]/,
    'non-square',
  );
  assertThrows(
    () => tg.quadForm(x, tg.zeros([3])),
    /^quadForm: needs x \[\.\.\., n\] and A \[\.\.\., n, n\], got x \[3\] and A \[3\]/,
    'A a vector',
  );
  assertThrows(
    () => tg.quadForm(tg.zeros([2, 3]), tg.zeros([3, 3, 3])),
    /^quadForm: batch dimensions cannot be broadcast: x \[2,3\] and A \[3,3,3\]/,
    'batch',
  );
  assertThrows(
    () => tg.quadForm([1, 2, 3] as never, A),
    /^quadForm: x must be a tapegrad Tensor, got an array/,
    'non-Tensor',
  );
  assertThrows(
    () => tg.quadForm(tg.zeros([3], { dtype: 'int32' }), A),
    /^quadForm: operands must be float32, got int32/,
    'dtype',
  );
  assertThrows(
    () => tg.bilinear(x, R, x),
    /^bilinear: A \[\.\.\., m, n\] needs y \[\.\.\., m\] and x \[\.\.\., n\], got y \[3\], A \[2,3\] and x \[3\]/,
    'y length',
  );
  assertThrows(() => tg.bilinear(y, R, y), /^bilinear: A \[\.\.\., m, n\] needs .* x \[2\]/, 'x length');
  assertThrows(
    () => tg.bilinear(tg.zeros([4, 2]), tg.zeros([3, 2, 3]), x),
    /^bilinear: batch dimensions cannot be broadcast/,
    'batch',
  );
  tg.dispose([x, A, R, y]);
});

test('forms leave nothing behind, with and without a graph', () => {
  const x = tg.randn([2, 3], { seed: 11 }),
    A = tg.randn([3, 3], { seed: 12 }),
    y = tg.randn([2], { seed: 13 });
  const w = tg.randn([3], { seed: 14, requiresGrad: true }),
    R = tg.randn([2, 3], { seed: 15 });
  assertNoLeak(() => tg.quadForm(x, A).dispose(), 'quadForm');
  assertNoLeak(() => tg.bilinear(y, R, w).dispose(), 'bilinear, with a graph');
  assertNoLeak(() => {
    tg.tidy(() => tg.quadForm(w, A).backward());
    w.grad!.dispose();
    w.grad = null;
  }, 'quadForm backward');
  tg.dispose([x, A, y, w, R]);
});

test.run();
