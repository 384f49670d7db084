// The appendix "Matrix Differentiation", Propositions 2 and 5–15, and the derivatives of the
// decompositions (eigenvalues, singular values, the nuclear norm, log|det| through QR and LU), each
// checked three ways on random inputs: tapegrad's gradient or Jacobian, the closed form (computed here in float64 JavaScript,
// independent of tapegrad), and finite differences (tg.gradcheck, full mode). Where the appendix
// has a form (yᵀAx, xᵀAx), both the quadForm/bilinear ops and compositions of matmul are checked.
//
// Convention 3: the derivative of y ∈ Rᵐ with respect to x ∈ Rⁿ is m×n; the derivative of a
// scalar α is a row vector, and tapegrad's gradient is that row as a vector of x's shape.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';
import { assertClose, NODE_BACKENDS } from './helpers.js';

// ---- float64 matrix arithmetic for the closed forms
type Mat = number[][];
type Vec = number[];
const mat = (t: tg.Tensor) => t.arraySync() as Mat;
const vec = (t: tg.Tensor) => Array.from(t.dataSync());
const T = (A: Mat): Mat => A[0].map((_, j) => A.map((row) => row[j]));
const mm = (A: Mat, B: Mat): Mat => A.map((row) => B[0].map((_, j) => row.reduce((s, a, k) => s + a * B[k][j], 0)));
const mv = (A: Mat, x: Vec): Vec => A.map((row) => row.reduce((s, a, k) => s + a * x[k], 0));
const add = (A: Mat, B: Mat): Mat => A.map((row, i) => row.map((a, j) => a + B[i][j]));
const scale = (A: Mat, c: number): Mat => A.map((row) => row.map((a) => a * c));
const outer = (y: Vec, x: Vec): Mat => y.map((a) => x.map((b) => a * b));
const diag = (v: Vec): Mat => v.map((a, i) => v.map((_, j) => (i === j ? a : 0)));
/** A⁻¹ by Gauss–Jordan elimination with partial pivoting. */
function inverse(A: Mat): Mat {
  const n = A.length;
  const M = A.map((row, i) => [...row, ...row.map((_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    const piv = M[c][c];
    for (let j = 0; j < 2 * n; j++) M[c][j] /= piv;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r][c];
      for (let j = 0; j < 2 * n; j++) M[r][j] -= f * M[c][j];
    }
  }
  return M.map((row) => row.slice(n));
}

// ---- the three-way check

interface Check {
  /** tapegrad's derivative (gradient, Jacobian or Hessian). */
  autodiff: () => tg.Tensor;
  /** The appendix's closed form, in float64. */
  closed: Mat | Vec | number;
  /** The function whose derivative is checked against finite differences, and where. */
  f: (...xs: tg.Tensor[]) => tg.Tensor;
  at: tg.Tensor[];
  atol?: number;
}
async function threeWays(label: string, { autodiff, closed, f, at, atol = 1e-4 }: Check): Promise<void> {
  const got = autodiff();
  assertClose(got, typeof closed === 'number' ? closed : (closed as number[]).flat(), {
    atol,
    rtol: 1e-4,
    msg: `${label}: autodiff vs closed form`,
  });
  got.dispose();
  const r = await tg.gradcheck(f, at);
  assert.ok(
    r.ok,
    `${label}: autodiff vs finite differences: max |error| ${r.maxAbsError.toExponential(2)}, worst ${JSON.stringify(r.worst)}`,
  );
}

/** A test whose tensors are made with `randn` and freed at the end; it must leave nothing behind. */
function prop(name: string, body: (randn: (shape: number[], seed: number) => tg.Tensor) => Promise<void>): void {
  for (const backend of NODE_BACKENDS) {
    test(`[${backend}] ${name}`, async () => {
      await tg.setBackend(backend);
      const before = tg.memory().numTensors;
      const made: tg.Tensor[] = [];
      try {
        await body((shape, seed) => {
          const t = tg.randn(shape, { seed });
          made.push(t);
          return t;
        });
      } finally {
        tg.dispose(made);
      }
      assert.is(tg.memory().numTensors, before, `${name} leaked tensors`);
      await tg.setBackend('wasm');
    });
  }
}
/** A well-conditioned square matrix: random plus n·I. */
const wellConditioned = (randn: (s: number[], seed: number) => tg.Tensor, n: number, seed: number) => {
  const R = randn([n, n], seed);
  return tg.tensor(add(mat(R), scale(diag(Array(n).fill(1)), n)));
};

// ---- the propositions

prop('Prop. 2: C = AB gives (AB)ᵀ = BᵀAᵀ, and the adjoints Ā = G Bᵀ, B̄ = Aᵀ G', async (randn) => {
  const A = randn([3, 4], 1),
    B = randn([4, 2], 2),
    G = randn([3, 2], 3);
  const Am = mat(A),
    Bm = mat(B),
    Gm = mat(G);
  tg.tidy(() => {
    const Ct = tg.matmul(A, B).transpose();
    assertClose(Ct, mm(T(Bm), T(Am)).flat(), { msg: '(AB)ᵀ vs BᵀAᵀ in float64' });
    assertClose(tg.matmul(B.transpose(), A.transpose()), Ct, { msg: 'tapegrad BᵀAᵀ vs (AB)ᵀ' });
  });
  // L = ⟨G, AB⟩ has ∂L/∂A = G Bᵀ and ∂L/∂B = Aᵀ G
  const L = (a: tg.Tensor, b: tg.Tensor) => tg.matmul(a, b).mul(G).sum();
  await threeWays('Ā = G Bᵀ', {
    autodiff: () => tg.grad(L, 0)(A, B),
    closed: mm(Gm, T(Bm)),
    f: (a) => tg.matmul(a, B),
    at: [A],
  });
  await threeWays('B̄ = Aᵀ G', {
    autodiff: () => tg.grad(L, 1)(A, B),
    closed: mm(T(Am), Gm),
    f: (b) => tg.matmul(A, b),
    at: [B],
  });
});

prop('Prop. 5: y = Ax has ∂y/∂x = A (m×n)', async (randn) => {
  const A = randn([3, 4], 4),
    x = randn([4], 5);
  await threeWays('∂(Ax)/∂x', {
    autodiff: () => tg.jacobian((v: tg.Tensor) => tg.matmul(A, v))(x),
    closed: mat(A),
    f: (v) => tg.matmul(A, v),
    at: [x],
  });
  // and with respect to A: ∂yᵢ/∂Aⱼₖ = δᵢⱼ xₖ, a [3, 3, 4] Jacobian
  const xv = vec(x);
  const closedA = [0, 1, 2].map((i) => [0, 1, 2].map((j) => xv.map((xk) => (i === j ? xk : 0))));
  await threeWays('∂(Ax)/∂A', {
    autodiff: () => tg.jacobian((a: tg.Tensor) => tg.matmul(a, x))(A),
    closed: closedA.flat(),
    f: (a) => tg.matmul(a, x),
    at: [A],
  });
});

prop('Prop. 6: y = A x(z) has ∂y/∂z = A ∂x/∂z', async (randn) => {
  const A = randn([3, 4], 6),
    B = randn([4, 2], 7),
    z = randn([2], 8);
  const x = (v: tg.Tensor) => tg.matmul(B, v).tanh(); // x(z) = tanh(Bz): ∂x/∂z = diag(1 − x²) B
  const xz = mv(mat(B), vec(z)).map(Math.tanh);
  const dxdz = mm(diag(xz.map((t) => 1 - t * t)), mat(B));
  await threeWays('∂(A x(z))/∂z', {
    autodiff: () => tg.jacobian((v: tg.Tensor) => tg.matmul(A, x(v)))(z),
    closed: mm(mat(A), dxdz),
    f: (v) => tg.matmul(A, x(v)),
    at: [z],
  });
});

prop('Prop. 7: α = yᵀAx has ∂α/∂x = yᵀA and ∂α/∂y = xᵀAᵀ (bilinear op and matmul)', async (randn) => {
  const y = randn([3], 9),
    A = randn([3, 4], 10),
    x = randn([4], 11);
  const Am = mat(A),
    xv = vec(x),
    yv = vec(y);
  const forms = {
    bilinear: (yy: tg.Tensor, a: tg.Tensor, xx: tg.Tensor) => tg.bilinear(yy, a, xx),
    matmul: (yy: tg.Tensor, a: tg.Tensor, xx: tg.Tensor) => tg.dot(yy, tg.matmul(a, xx)),
  };
  for (const [name, alpha] of Object.entries(forms)) {
    await threeWays(`${name}: ∂α/∂x = Aᵀy`, {
      autodiff: () => tg.grad(alpha, 2)(y, A, x),
      closed: mv(T(Am), yv),
      f: (v) => alpha(y, A, v),
      at: [x],
    });
    await threeWays(`${name}: ∂α/∂y = Ax`, {
      autodiff: () => tg.grad(alpha, 0)(y, A, x),
      closed: mv(Am, xv),
      f: (v) => alpha(v, A, x),
      at: [y],
    });
    await threeWays(`${name}: ∂α/∂A = yxᵀ`, {
      autodiff: () => tg.grad(alpha, 1)(y, A, x),
      closed: outer(yv, xv),
      f: (a) => alpha(y, a, x),
      at: [A],
    });
  }
});

prop('Prop. 7, batched: α_b = y_bᵀ A x_b over a batch, with A shared', async (randn) => {
  const Y = randn([5, 3], 12),
    A = randn([3, 4], 13),
    X = randn([5, 4], 14);
  const Am = mat(A),
    Xm = mat(X),
    Ym = mat(Y);
  // the gradient of Σ_b α_b with respect to x_b is Aᵀy_b; with respect to A, Σ_b y_b x_bᵀ
  await threeWays('batched ∂/∂X', {
    autodiff: () => tg.grad((v: tg.Tensor) => tg.bilinear(Y, A, v).sum())(X),
    closed: Ym.map((yb) => mv(T(Am), yb)),
    f: (v) => tg.bilinear(Y, A, v),
    at: [X],
  });
  await threeWays('batched ∂/∂A', {
    autodiff: () => tg.grad((a: tg.Tensor) => tg.bilinear(Y, a, X).sum())(A),
    closed: Ym.map((yb, b) => outer(yb, Xm[b])).reduce(add),
    f: (a) => tg.bilinear(Y, a, X),
    at: [A],
  });
});

prop('Prop. 8: α = xᵀAx has ∂α/∂x = xᵀ(A + Aᵀ) (quadForm op and matmul)', async (randn) => {
  const A = randn([4, 4], 15),
    x = randn([4], 16);
  const Am = mat(A),
    xv = vec(x);
  const forms = {
    quadForm: (v: tg.Tensor, a: tg.Tensor) => tg.quadForm(v, a),
    matmul: (v: tg.Tensor, a: tg.Tensor) => tg.dot(v, tg.matmul(a, v)),
  };
  for (const [name, alpha] of Object.entries(forms)) {
    await threeWays(`${name}: ∂α/∂x = (A + Aᵀ)x`, {
      autodiff: () => tg.grad(alpha)(x, A),
      closed: mv(add(Am, T(Am)), xv),
      f: (v) => alpha(v, A),
      at: [x],
    });
    await threeWays(`${name}: ∂α/∂A = xxᵀ`, {
      autodiff: () => tg.grad(alpha, 1)(x, A),
      closed: outer(xv, xv),
      f: (a) => alpha(x, a),
      at: [A],
    });
  }
  // batched over leading axes: x [2, 4] against A [3, 1, 4, 4] gives α [3, 2]
  const Ab = randn([3, 1, 4, 4], 17),
    Xb = randn([2, 4], 18);
  const Abm = Ab.arraySync() as Mat[][],
    Xbm = mat(Xb);
  const closedB = Xbm.map((xb) =>
    Abm.map(([Ak]) => mv(add(Ak, T(Ak)), xb)).reduce((s, v) => s.map((a, i) => a + v[i])),
  );
  await threeWays('batched ∂/∂x', {
    autodiff: () => tg.grad((v: tg.Tensor) => tg.quadForm(v, Ab).sum())(Xb),
    closed: closedB,
    f: (v) => tg.quadForm(v, Ab),
    at: [Xb],
  });
});

prop('Prop. 9: A symmetric: ∂(xᵀAx)/∂x = 2xᵀA', async (randn) => {
  const R = randn([4, 4], 19),
    x = randn([4], 20);
  const S = tg.tensor(scale(add(mat(R), T(mat(R))), 0.5)); // symmetric
  const Sm = mat(S),
    xv = vec(x);
  await threeWays('quadForm: 2Ax', {
    autodiff: () => tg.grad((v: tg.Tensor) => tg.quadForm(v, S))(x),
    closed: mv(scale(Sm, 2), xv),
    f: (v) => tg.quadForm(v, S),
    at: [x],
  });
  await threeWays('matmul: 2Ax', {
    autodiff: () => tg.grad((v: tg.Tensor) => tg.dot(v, tg.matmul(S, v)))(x),
    closed: mv(scale(Sm, 2), xv),
    f: (v) => tg.dot(v, tg.matmul(S, v)),
    at: [x],
  });
  S.dispose();
});

prop('Props. 8–9, second order: the Hessian of xᵀAx is A + Aᵀ, and 2A for symmetric A', async (randn) => {
  const A = randn([4, 4], 21),
    x = randn([4], 22);
  const S = tg.tensor(scale(add(mat(A), T(mat(A))), 0.5));
  const Am = mat(A),
    Sm = mat(S);
  // finite differences of the gradient x ↦ (A + Aᵀ)x, differentiated by tapegrad (reverse over reverse)
  const gradQ = (M: tg.Tensor) => (v: tg.Tensor) => tg.grad((u: tg.Tensor) => tg.quadForm(u, M))(v);
  await threeWays('quadForm: A + Aᵀ', {
    autodiff: () => tg.hessian((v: tg.Tensor) => tg.quadForm(v, A))(x),
    closed: add(Am, T(Am)),
    f: gradQ(A),
    at: [x],
  });
  await threeWays('matmul: A + Aᵀ', {
    autodiff: () => tg.hessian((v: tg.Tensor) => tg.dot(v, tg.matmul(A, v)))(x),
    closed: add(Am, T(Am)),
    f: gradQ(A),
    at: [x],
  });
  await threeWays('symmetric: 2A', {
    autodiff: () => tg.hessian((v: tg.Tensor) => tg.quadForm(v, S))(x),
    closed: scale(Sm, 2),
    f: gradQ(S),
    at: [x],
  });
  const r = await tg.gradgradcheck((v: tg.Tensor, a: tg.Tensor) => tg.quadForm(v, a), [x, A]);
  assert.ok(r.ok, `gradgradcheck of quadForm: ${JSON.stringify(r.worst)}`);
  S.dispose();
});

prop('Prop. 10: α = yᵀx with x(z), y(z) has ∂α/∂z = xᵀ ∂y/∂z + yᵀ ∂x/∂z', async (randn) => {
  const B = randn([4, 3], 23),
    C = randn([4, 3], 24),
    z = randn([3], 25);
  const x = (v: tg.Tensor) => tg.matmul(B, v); // ∂x/∂z = B
  const y = (v: tg.Tensor) => tg.matmul(C, v).sin(); // ∂y/∂z = diag(cos Cz) C
  const alpha = (v: tg.Tensor) => tg.dot(y(v), x(v));
  const Cz = mv(mat(C), vec(z));
  const xz = mv(mat(B), vec(z)),
    yz = Cz.map(Math.sin);
  const dy = mm(diag(Cz.map(Math.cos)), mat(C));
  // the row xᵀ ∂y/∂z + yᵀ ∂x/∂z, as a vector: (∂y/∂z)ᵀx + (∂x/∂z)ᵀy
  const closed = mv(T(dy), xz).map((a, i) => a + mv(T(mat(B)), yz)[i]);
  await threeWays('∂(yᵀx)/∂z', { autodiff: () => tg.grad(alpha)(z), closed, f: alpha, at: [z] });
});

prop('Prop. 11: α = xᵀx with x(z) has ∂α/∂z = 2xᵀ ∂x/∂z', async (randn) => {
  const B = randn([4, 3], 26),
    z = randn([3], 27);
  const x = (v: tg.Tensor) => tg.matmul(B, v).tanh();
  const alpha = (v: tg.Tensor) => tg.dot(x(v), x(v));
  const xz = mv(mat(B), vec(z)).map(Math.tanh);
  const dx = mm(diag(xz.map((t) => 1 - t * t)), mat(B));
  await threeWays('∂(xᵀx)/∂z', {
    autodiff: () => tg.grad(alpha)(z),
    closed: mv(T(dx), xz).map((a) => 2 * a),
    f: alpha,
    at: [z],
  });
});

prop(
  'Prop. 12: α = yᵀAx with x(z), y(z) has ∂α/∂z = xᵀAᵀ ∂y/∂z + yᵀA ∂x/∂z (bilinear op and matmul)',
  async (randn) => {
    const A = randn([3, 4], 28),
      B = randn([4, 2], 29),
      C = randn([3, 2], 30),
      z = randn([2], 31);
    const x = (v: tg.Tensor) => tg.matmul(B, v).tanh(); // ∂x/∂z = diag(1 − x²) B
    const y = (v: tg.Tensor) => tg.matmul(C, v).sin(); // ∂y/∂z = diag(cos Cz) C
    const Am = mat(A);
    const xz = mv(mat(B), vec(z)).map(Math.tanh);
    const Cz = mv(mat(C), vec(z));
    const yz = Cz.map(Math.sin);
    const dx = mm(diag(xz.map((t) => 1 - t * t)), mat(B));
    const dy = mm(diag(Cz.map(Math.cos)), mat(C));
    // (∂y/∂z)ᵀ A x + (∂x/∂z)ᵀ Aᵀ y
    const closed = mv(T(dy), mv(Am, xz)).map((a, i) => a + mv(T(dx), mv(T(Am), yz))[i]);
    const forms = {
      bilinear: (v: tg.Tensor) => tg.bilinear(y(v), A, x(v)),
      matmul: (v: tg.Tensor) => tg.dot(y(v), tg.matmul(A, x(v))),
    };
    for (const [name, alpha] of Object.entries(forms))
      await threeWays(`${name}: ∂α/∂z`, { autodiff: () => tg.grad(alpha)(z), closed, f: alpha, at: [z] });
  },
);

prop('Props. 13–14: α = xᵀAx with x(z) has ∂α/∂z = xᵀ(A + Aᵀ) ∂x/∂z, and 2xᵀA ∂x/∂z for symmetric A', async (randn) => {
  const A = randn([4, 4], 32),
    B = randn([4, 3], 33),
    z = randn([3], 34);
  const S = tg.tensor(scale(add(mat(A), T(mat(A))), 0.5));
  const x = (v: tg.Tensor) => tg.matmul(B, v).tanh();
  const xz = mv(mat(B), vec(z)).map(Math.tanh);
  const dx = mm(diag(xz.map((t) => 1 - t * t)), mat(B));
  const Am = mat(A),
    Sm = mat(S);
  const q = (M: tg.Tensor) => (v: tg.Tensor) => tg.quadForm(x(v), M);
  const qm = (M: tg.Tensor) => (v: tg.Tensor) => tg.dot(x(v), tg.matmul(M, x(v)));
  const closed13 = mv(T(dx), mv(add(Am, T(Am)), xz));
  await threeWays('Prop. 13, quadForm', { autodiff: () => tg.grad(q(A))(z), closed: closed13, f: q(A), at: [z] });
  await threeWays('Prop. 13, matmul', { autodiff: () => tg.grad(qm(A))(z), closed: closed13, f: qm(A), at: [z] });
  const closed14 = mv(T(dx), mv(scale(Sm, 2), xz));
  await threeWays('Prop. 14, quadForm', { autodiff: () => tg.grad(q(S))(z), closed: closed14, f: q(S), at: [z] });
  await threeWays('Prop. 14, matmul', { autodiff: () => tg.grad(qm(S))(z), closed: closed14, f: qm(S), at: [z] });
  S.dispose();
});

prop('Prop. 15: ∂A⁻¹/∂α = −A⁻¹ (∂A/∂α) A⁻¹, through tg.linalg.inv', async (randn) => {
  const n = 3;
  const A0 = wellConditioned(randn, n, 35),
    A1 = randn([n, n], 36),
    A2 = randn([n, n], 37);
  const A0m = mat(A0),
    A1m = mat(A1),
    A2m = mat(A2);
  // A(α) = A₀ + αA₁: at α = 0 the derivative is −A₀⁻¹A₁A₀⁻¹ (by jvp, and by jacobian)
  const Ainv = (a: tg.Tensor) => tg.linalg.inv(A0.add(A1.mul(a)));
  const I0 = inverse(A0m);
  const closed0 = scale(mm(mm(I0, A1m), I0), -1);
  const zero = tg.scalar(0);
  await threeWays('A₀ + αA₁ at 0, jvp', {
    autodiff: () => {
      const { out, tangent } = tg.jvp(Ainv, [zero], [1]);
      out.dispose();
      return tangent;
    },
    closed: closed0,
    f: Ainv,
    at: [zero],
  });
  await threeWays('A₀ + αA₁ at 0, jacobian', {
    autodiff: () => tg.jacobian(Ainv)(zero),
    closed: closed0,
    f: Ainv,
    at: [zero],
  });
  // a curved path A(α) = A₀ + αA₁ + α²A₂ at α = 0.3: ∂A/∂α = A₁ + 2αA₂
  const a = 0.3;
  const path = (t: tg.Tensor) => tg.linalg.inv(A0.add(A1.mul(t)).add(A2.mul(t.square())));
  const Ia = inverse(add(add(A0m, scale(A1m, a)), scale(A2m, a * a)));
  const at = tg.scalar(a);
  await threeWays('A₀ + αA₁ + α²A₂ at 0.3', {
    autodiff: () => tg.jacobian(path)(at),
    closed: scale(mm(mm(Ia, add(A1m, scale(A2m, 2 * a))), Ia), -1),
    f: path,
    at: [at],
  });
  tg.dispose([A0, zero, at]);
});

// ---- decompositions: A built from a known spectrum, so that the closed forms are exact in float64

/** Orthonormal columns [m, k] by Gram–Schmidt (twice) on standard normal columns. */
function orthonormal(randn: (s: number[], seed: number) => tg.Tensor, m: number, k: number, seed: number): Mat {
  const X = mat(randn([m, k], seed));
  const cols: Vec[] = [];
  for (let j = 0; j < k; j++) {
    let c = X.map((row) => row[j]);
    for (let pass = 0; pass < 2; pass++) {
      for (const q of cols) {
        const d = q.reduce((a, qi, i) => a + qi * c[i], 0);
        c = c.map((ci, i) => ci - d * q[i]);
      }
    }
    const norm = Math.sqrt(c.reduce((a, ci) => a + ci * ci, 0));
    cols.push(c.map((ci) => ci / norm));
  }
  return T(cols);
}
const col = (M: Mat, j: number): Vec => M.map((row) => row[j]);
const sym = (a: tg.Tensor) => a.add(tg.matrixTranspose(a)).mul(0.5);
/** Entry i of a vector-valued f, as a scalar function. */
const entry = (f: (a: tg.Tensor) => tg.Tensor, i: number) => (a: tg.Tensor) => {
  const v = f(a);
  return v.slice([i], [1]).reshape([]);
};

prop('eigh: dλᵢ = vᵢᵀ dA vᵢ, so ∂λᵢ/∂A = vᵢvᵢᵀ (A symmetric, distinct eigenvalues)', async (randn) => {
  const n = 4;
  const V = orthonormal(randn, n, n, 40);
  const lambda = [-1.5, 0.25, 1, 2.5];
  const A = tg.tensor(mm(mm(V, diag(lambda)), T(V)));
  const values = (a: tg.Tensor) => tg.linalg.eigh(sym(a)).values;
  for (const i of [0, 2, 3]) {
    const v = col(V, i);
    await threeWays(`∂λ${i}/∂A`, {
      autodiff: () => tg.grad(entry(values, i))(A),
      closed: outer(v, v),
      f: entry(values, i),
      at: [A],
    });
  }
  A.dispose();
});

prop('eigh at a repeated eigenvalue: Σλᵢ² = ‖A‖²_F is differentiable there, with gradient 2A', async (randn) => {
  const V = orthonormal(randn, 3, 3, 41);
  const Am = mm(mm(V, diag([1, 1, 2])), T(V));
  const A = tg.tensor(Am);
  const sumSquares = (a: tg.Tensor) => tg.linalg.eigh(sym(a)).values.square().sum();
  await threeWays('∂Σλ²/∂A', { autodiff: () => tg.grad(sumSquares)(A), closed: scale(Am, 2), f: sumSquares, at: [A] });
  A.dispose();
});

prop('svd: ∂σᵢ/∂A = uᵢvᵢᵀ, and the nuclear norm ‖A‖_* = Σσᵢ has gradient U·Vᵀ (tall and wide)', async (randn) => {
  for (const [m, n, seed] of [
    [5, 3, 42],
    [3, 4, 44],
  ]) {
    const k = Math.min(m, n);
    const U = orthonormal(randn, m, k, seed);
    const V = orthonormal(randn, n, k, seed + 1);
    const sigma = Array.from({ length: k }, (_, j) => k - j + 0.5);
    const A = tg.tensor(mm(mm(U, diag(sigma)), T(V)));
    const svals = (a: tg.Tensor) => tg.linalg.svdvals(a);
    for (let i = 0; i < k; i++) {
      await threeWays(`${m}×${n}: ∂σ${i}/∂A`, {
        autodiff: () => tg.grad(entry(svals, i))(A),
        closed: outer(col(U, i), col(V, i)),
        f: entry(svals, i),
        at: [A],
      });
    }
    const nuclear = (a: tg.Tensor) => tg.linalg.matrixNorm(a, 'nuc');
    await threeWays(`${m}×${n}: ∂‖A‖_*/∂A`, {
      autodiff: () => tg.grad(nuclear)(A),
      closed: mm(U, T(V)),
      f: nuclear,
      at: [A],
    });
    const spectral = (a: tg.Tensor) => tg.linalg.matrixNorm(a, 2);
    await threeWays(`${m}×${n}: ∂‖A‖₂/∂A`, {
      autodiff: () => tg.grad(spectral)(A),
      closed: outer(col(U, 0), col(V, 0)),
      f: spectral,
      at: [A],
    });
    A.dispose();
  }
});

prop('∂ log|det A| / ∂A = A⁻ᵀ, through QR (Σ log R_kk) as well as LU (slogdet)', async (randn) => {
  const A = wellConditioned(randn, 4, 46);
  const closed = T(inverse(mat(A)));
  const viaQr = (a: tg.Tensor) => {
    // |det A| = |det Q|·Π R_kk = Π R_kk (R_kk > 0)
    return tg.linalg.qr(a).R.mul(tg.eye(4)).sum({ axis: -1 }).log().sum();
  };
  const viaLu = (a: tg.Tensor) => tg.linalg.slogdet(a)[1];
  await threeWays('through QR', { autodiff: () => tg.grad(viaQr)(A), closed, f: viaQr, at: [A] });
  await threeWays('through LU', { autodiff: () => tg.grad(viaLu)(A), closed, f: viaLu, at: [A] });
  A.dispose();
});

test.run();
