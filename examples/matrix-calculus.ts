// The appendix "Matrix Differentiation", proposition by proposition: each statement's derivative
// computed three ways on random inputs — by tapegrad (grad, jacobian, hessian, jvp), by the
// appendix's closed form, and by finite differences (tg.gradcheck) — and a table of how well they
// agree. Exits non-zero if any row disagrees.
//
// Row vectors: tg.matmul(x, A) with a 1-D x is the row xᵀA, so the closed forms read as written.
import * as tg from 'tapegrad';

const n = 4;
const m = 3;
const p = 2;
const randn = (shape: number[], seed: number) => tg.randn(shape, { seed });
const mm = tg.matmul;
const T = (M: tg.Tensor) => M.transpose();

const A = randn([m, n], 1); // rectangular, for y = Ax and yᵀAx
const Q = randn([n, n], 2); // square, not symmetric, for xᵀQx
const S = tg.tidy(() => Q.add(T(Q)).mul(0.5)); // symmetric
const B = randn([n, p], 3);
const C = randn([m, p], 4);
const D = randn([n, p], 11);
const G = randn([m, p], 5);
const x = randn([n], 6);
const y = randn([m], 7);
const z = randn([p], 8);
const A0 = tg.tidy(() => randn([n, n], 9).add(tg.eye(n).mul(n))); // well conditioned
const A1 = randn([n, n], 10);

// the inner functions of Props. 6 and 10–14, and their Jacobians (the appendix's ∂x/∂z)
const xOf = (v: tg.Tensor) => mm(B, v).tanh(); // x(z) = tanh(Bz)
const yOf = (v: tg.Tensor) => mm(C, v).sin(); // y(z) = sin(Cz) ∈ Rᵐ
const wOf = (v: tg.Tensor) => mm(D, v).sin(); // w(z) = sin(Dz) ∈ Rⁿ, for yᵀx with both in Rⁿ
const dxdz = () => B.mul(tg.sub(1, xOf(z).square()).reshape([n, 1])); // diag(1 − x²) B
const dydz = () => C.mul(mm(C, z).cos().reshape([m, 1])); // diag(cos Cz) C
const dwdz = () => D.mul(mm(D, z).cos().reshape([n, 1])); // diag(cos Dz) D

interface Row {
  prop: string;
  statement: string;
  closedForm: string;
  /** tapegrad's derivative. */
  autodiff: () => tg.Tensor;
  /** The closed form, evaluated. */
  closed: () => tg.Tensor;
  /** The function differentiated, and where (finite differences check its Jacobian there). */
  f: (v: tg.Tensor) => tg.Tensor;
  at: tg.Tensor;
}

const alpha8 = (v: tg.Tensor) => tg.quadForm(v, Q);
const rows: Row[] = [
  {
    prop: '2',
    statement: 'L = ⟨G, AB⟩',
    closedForm: '∂L/∂A = GBᵀ',
    autodiff: () => tg.grad((a: tg.Tensor) => mm(a, B).mul(G).sum())(A),
    closed: () => mm(G, T(B)),
    f: (a) => mm(a, B),
    at: A,
  },
  {
    prop: '2',
    statement: 'L = ⟨G, AB⟩',
    closedForm: '∂L/∂B = AᵀG',
    autodiff: () => tg.grad((b: tg.Tensor) => mm(A, b).mul(G).sum())(B),
    closed: () => mm(T(A), G),
    f: (b) => mm(A, b),
    at: B,
  },
  {
    prop: '5',
    statement: 'y = Ax',
    closedForm: '∂y/∂x = A',
    autodiff: () => tg.jacobian((v: tg.Tensor) => mm(A, v))(x),
    closed: () => A,
    f: (v) => mm(A, v),
    at: x,
  },
  {
    prop: '6',
    statement: 'y = A x(z), x = tanh(Bz)',
    closedForm: '∂y/∂z = A ∂x/∂z',
    autodiff: () => tg.jacobian((v: tg.Tensor) => mm(A, xOf(v)))(z),
    closed: () => mm(A, dxdz()),
    f: (v) => mm(A, xOf(v)),
    at: z,
  },
  {
    prop: '7',
    statement: 'α = yᵀAx (bilinear)',
    closedForm: '∂α/∂x = yᵀA',
    autodiff: () => tg.grad((v: tg.Tensor) => tg.bilinear(y, A, v))(x),
    closed: () => mm(y, A),
    f: (v) => tg.bilinear(y, A, v),
    at: x,
  },
  {
    prop: '7',
    statement: 'α = yᵀAx (bilinear)',
    closedForm: '∂α/∂y = xᵀAᵀ',
    autodiff: () => tg.grad((v: tg.Tensor) => tg.bilinear(v, A, x))(y),
    closed: () => mm(x, T(A)),
    f: (v) => tg.bilinear(v, A, x),
    at: y,
  },
  {
    prop: '7',
    statement: 'α = yᵀ(Ax) (matmul)',
    closedForm: '∂α/∂x = yᵀA',
    autodiff: () => tg.grad((v: tg.Tensor) => tg.dot(y, mm(A, v)))(x),
    closed: () => mm(y, A),
    f: (v) => tg.dot(y, mm(A, v)),
    at: x,
  },
  {
    prop: '8',
    statement: 'α = xᵀQx (quadForm)',
    closedForm: '∂α/∂x = xᵀ(Q + Qᵀ)',
    autodiff: () => tg.grad(alpha8)(x),
    closed: () => mm(x, Q.add(T(Q))),
    f: alpha8,
    at: x,
  },
  {
    prop: '8',
    statement: 'α = xᵀ(Qx) (matmul)',
    closedForm: '∂α/∂x = xᵀ(Q + Qᵀ)',
    autodiff: () => tg.grad((v: tg.Tensor) => tg.dot(v, mm(Q, v)))(x),
    closed: () => mm(x, Q.add(T(Q))),
    f: (v) => tg.dot(v, mm(Q, v)),
    at: x,
  },
  {
    prop: '9',
    statement: 'α = xᵀSx, S = Sᵀ',
    closedForm: '∂α/∂x = 2xᵀS',
    autodiff: () => tg.grad((v: tg.Tensor) => tg.quadForm(v, S))(x),
    closed: () => mm(x, S).mul(2),
    f: (v) => tg.quadForm(v, S),
    at: x,
  },
  {
    prop: '8′',
    statement: 'α = xᵀQx, second order',
    closedForm: '∇²α = Q + Qᵀ',
    autodiff: () => tg.hessian(alpha8)(x),
    closed: () => Q.add(T(Q)),
    f: (v) => tg.grad(alpha8)(v),
    at: x,
  },
  {
    prop: '9′',
    statement: 'α = xᵀSx, second order',
    closedForm: '∇²α = 2S',
    autodiff: () => tg.hessian((v: tg.Tensor) => tg.quadForm(v, S))(x),
    closed: () => S.mul(2),
    f: (v) => tg.grad((u: tg.Tensor) => tg.quadForm(u, S))(v),
    at: x,
  },
  {
    prop: '10',
    statement: 'α = yᵀx, x(z), y(z) = sin(Dz)',
    closedForm: 'xᵀ ∂y/∂z + yᵀ ∂x/∂z',
    autodiff: () => tg.grad((v: tg.Tensor) => tg.dot(wOf(v), xOf(v)))(z),
    closed: () => mm(xOf(z), dwdz()).add(mm(wOf(z), dxdz())),
    f: (v) => tg.dot(wOf(v), xOf(v)),
    at: z,
  },
  {
    prop: '11',
    statement: 'α = xᵀx, x(z)',
    closedForm: '2xᵀ ∂x/∂z',
    autodiff: () => tg.grad((v: tg.Tensor) => tg.dot(xOf(v), xOf(v)))(z),
    closed: () => mm(xOf(z), dxdz()).mul(2),
    f: (v) => tg.dot(xOf(v), xOf(v)),
    at: z,
  },
  {
    prop: '12',
    statement: 'α = yᵀAx, x(z), y(z)',
    closedForm: 'xᵀAᵀ ∂y/∂z + yᵀA ∂x/∂z',
    autodiff: () => tg.grad((v: tg.Tensor) => tg.bilinear(yOf(v), A, xOf(v)))(z),
    closed: () => mm(mm(xOf(z), T(A)), dydz()).add(mm(mm(yOf(z), A), dxdz())),
    f: (v) => tg.bilinear(yOf(v), A, xOf(v)),
    at: z,
  },
  {
    prop: '13',
    statement: 'α = xᵀQx, x(z)',
    closedForm: 'xᵀ(Q + Qᵀ) ∂x/∂z',
    autodiff: () => tg.grad((v: tg.Tensor) => tg.quadForm(xOf(v), Q))(z),
    closed: () => mm(mm(xOf(z), Q.add(T(Q))), dxdz()),
    f: (v) => tg.quadForm(xOf(v), Q),
    at: z,
  },
  {
    prop: '14',
    statement: 'α = xᵀSx, x(z), S = Sᵀ',
    closedForm: '2xᵀS ∂x/∂z',
    autodiff: () => tg.grad((v: tg.Tensor) => tg.quadForm(xOf(v), S))(z),
    closed: () => mm(mm(xOf(z), S), dxdz()).mul(2),
    f: (v) => tg.quadForm(xOf(v), S),
    at: z,
  },
  {
    prop: '15',
    statement: 'A(α) = A₀ + αA₁, at α = 0',
    closedForm: 'dA⁻¹/dα = −A₀⁻¹A₁A₀⁻¹',
    autodiff: () => {
      const { out, tangent } = tg.jvp((a: tg.Tensor) => tg.linalg.inv(A0.add(A1.mul(a))), [0], [1]);
      out.dispose();
      return tangent;
    },
    closed: () => {
      const I = tg.linalg.inv(A0);
      return mm(mm(I, A1), I).neg();
    },
    f: (a) => tg.linalg.inv(A0.add(A1.mul(a))),
    at: tg.keep(tg.scalar(0)),
  },
];

const sup = (k: number) => String(k).replace(/\d/g, (d) => '⁰¹²³⁴⁵⁶⁷⁸⁹'[+d]);
console.log(
  `tapegrad on ${tg.getBackend()}, float32: x ∈ R${sup(n)}, y ∈ R${sup(m)}, z ∈ R${sup(p)}; x(z) = tanh(Bz), y(z) = sin(Cz)\n`,
);
const header = ['prop', 'statement', 'closed form', '|autodiff − closed|', '|autodiff − FD|', 'ok'];
const table: string[][] = [];
let failures = 0;
for (const r of rows) {
  const [diff, scale] = tg.tidy(() => {
    const ad = r.autodiff();
    const cf = r.closed();
    if (ad.shape.join() !== cf.shape.join())
      throw new Error(`Prop. ${r.prop}: autodiff shape [${ad.shape}] vs closed form [${cf.shape}]`);
    return [ad.sub(cf).abs().max().item(), cf.abs().max().item()];
  });
  const fd = await tg.gradcheck(r.f, [r.at]);
  const ok = diff <= 1e-4 * (1 + scale) && fd.ok;
  if (!ok) failures++;
  table.push([
    r.prop,
    r.statement,
    r.closedForm,
    diff.toExponential(1),
    fd.maxAbsError.toExponential(1),
    ok ? '✓' : '✗',
  ]);
}
const widths = header.map((h, c) => Math.max(h.length, ...table.map((row) => row[c].length)));
const line = (cells: string[]) =>
  cells
    .map((s, c) => s.padEnd(widths[c]))
    .join('  ')
    .trimEnd();
console.log(line(header));
console.log(widths.map((w) => '─'.repeat(w)).join('  '));
for (const row of table) console.log(line(row));
console.log(
  `\nmax |autodiff − closed| is in float32 arithmetic; FD is tg.gradcheck's fourth-order central differences (full mode).`,
);

tg.dispose([A, Q, S, B, C, D, G, x, y, z, A0, A1, rows[rows.length - 1].at]);
if (failures) {
  console.log(`${failures} row(s) disagree`);
  process.exit(1);
}
console.log('all rows agree');
