// Least squares two ways: minimise L(x) = ‖Ax − b‖² by gradient descent, and solve the normal
// equations AᵀA x = Aᵀb with tg.linalg.solve. First the gradient 2Aᵀ(Ax − b) (the appendix's
// Props. 7–8 applied to L = xᵀAᵀAx − 2bᵀAx + bᵀb) is checked against autodiff. Exits non-zero if
// the gradient or the two solutions disagree.
import * as tg from 'tapegrad';

const m = 40;
const n = 5;
const A = tg.randn([m, n], { seed: 1 });
const xTrue = tg.tensor([1, -2, 0.5, 3, -1]);
const b = tg.tidy(() => tg.matmul(A, xTrue).add(tg.randn([m], { seed: 2, std: 0.1 })));

const loss = (x: tg.Tensor) => tg.matmul(A, x).sub(b).square().sum();
const closedGrad = (x: tg.Tensor) => tg.matmul(A.transpose(), tg.matmul(A, x).sub(b)).mul(2);
const maxAbs = (t: tg.Tensor) => t.abs().max().item();
let failed = false;

// 1. the closed-form gradient against autodiff, at a random point
const gradError = tg.tidy(() => {
  const x0 = tg.randn([n], { seed: 3 });
  return maxAbs(tg.grad(loss)(x0).sub(closedGrad(x0)));
});
const gradOk = gradError < 1e-3;
failed ||= !gradOk;
console.log(
  `∇‖Ax − b‖² = 2Aᵀ(Ax − b): max |autodiff − closed form| = ${gradError.toExponential(2)} ${gradOk ? '✓' : '✗'}`,
);

// 2. gradient descent with step 1/L, L = 2‖A‖²_F ≥ the gradient's Lipschitz constant 2λmax(AᵀA)
const lr = tg.tidy(() => 1 / (2 * A.square().sum().item()));
console.log(`\ngradient descent from x = 0, step ${lr.toExponential(2)}:`);
let x = tg.zeros([n]);
const steps = 400;
for (let k = 1; k <= steps; k++) {
  const next = tg.tidy(() => x.sub(tg.grad(loss)(x).mul(lr)));
  x.dispose();
  x = next;
  if ([1, 10, 50, 100, 200, 400].includes(k))
    console.log(`  step ${String(k).padStart(3)}: L(x) = ${tg.tidy(() => loss(x).item()).toFixed(6)}`);
}

// 3. the normal equations
const xSolve = tg.tidy(() => tg.linalg.solve(tg.matmul(A.transpose(), A), tg.matmul(A.transpose(), b)));

const fmt = (t: tg.Tensor) => `[${Array.from(t.dataSync(), (v) => v.toFixed(5).padStart(9)).join(' ')}]`;
const residual = (t: tg.Tensor) => tg.tidy(() => tg.matmul(A, t).sub(b).norm().item());
const gap = tg.tidy(() => maxAbs(x.sub(xSolve)));
const residualGap = Math.abs(residual(x) - residual(xSolve));
const agree = gap < 1e-3 && residualGap < 1e-4;
failed ||= !agree;
console.log(`\n  gradient descent (${steps} steps): x = ${fmt(x)}   ‖Ax − b‖ = ${residual(x).toFixed(6)}`);
console.log(`  solve(AᵀA, Aᵀb):             x = ${fmt(xSolve)}   ‖Ax − b‖ = ${residual(xSolve).toFixed(6)}`);
console.log(`  true x (noise σ = 0.1 in b): x = ${fmt(xTrue)}`);
console.log(
  `\n  max |x_gd − x_solve| = ${gap.toExponential(2)}, |residual difference| = ${residualGap.toExponential(2)} ${agree ? '✓' : '✗'}`,
);

tg.dispose([A, xTrue, b, x, xSolve]);
process.exit(failed ? 1 : 0);
