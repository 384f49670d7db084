// A small regression: fit y = sin(2x) + 0.3x + noise on [−3, 3] with an MLP (tanh, Adam, MSE),
// holding out a fifth of the points to measure the error on data the model never saw.
//
//   node --import tsx examples/regression.ts
//
// Prints training and held-out MSE (against the baseline of predicting the mean) and writes
// out/regression.svg: the data, the true curve and the fitted one.
import * as tg from 'tapegrad';
import { Svg } from './lib/svg.js';
import { rng, finiteLoss, orExit, trainingStep } from './lib/train.js';
import { progress } from '../scripts/progress.js';

const N = 200;
const NOISE = 0.1;
const STEPS = 600;
const truth = (x: number) => Math.sin(2 * x) + 0.3 * x;

// seeded data; every fifth point is held out
const r = rng(11);
const xs = Array.from({ length: N }, () => -3 + 6 * r.uniform());
const ys = xs.map((x) => truth(x) + NOISE * r.normal());
const split = <T>(a: T[], held: boolean) => a.filter((_, i) => (i % 5 === 0) === held);
const [xTrain, yTrain, xTest, yTest] = [split(xs, false), split(ys, false), split(xs, true), split(ys, true)];
const col = (v: number[]) => tg.tensor(v, { shape: [v.length, 1] });

const net = new tg.nn.MLP([1, 32, 32, 1], { activation: 'tanh', seed: 5 });
const opt = new tg.optim.Adam(net.parameters(), {
  lr: new tg.optim.CosineAnnealing(0.02, { tMax: STEPS, etaMin: 1e-3 }),
});
const X = col(xTrain);
const Y = col(yTrain);

/** Mean squared error of the model on (x, y), with no graph recorded. */
function mse(x: number[], y: number[]): number {
  return tg.tidy(() => tg.noGrad(() => tg.nn.mseLoss(net.forward(col(x)), col(y)))).item();
}

const start = performance.now();
const bar = progress('regression', STEPS);
orExit(() => {
  for (let step = 1; step <= STEPS; step++) {
    const loss = trainingStep(opt, () => tg.nn.mseLoss(net.forward(X), Y));
    const v = finiteLoss(loss, step);
    loss.dispose();
    bar.tick(1, `train MSE ${v.toFixed(4)}`);
    if (step % 100 === 0)
      console.log(`step ${String(step).padStart(4)}  train MSE ${v.toFixed(4)}  lr ${opt.lr.toExponential(1)}`);
  }
});
bar.done();
const seconds = (performance.now() - start) / 1000;
const mean = yTrain.reduce((a, b) => a + b, 0) / yTrain.length;
const baseline = yTest.reduce((a, y) => a + (y - mean) ** 2, 0) / yTest.length;
const [trainErr, testErr] = [mse(xTrain, yTrain), mse(xTest, yTest)];
console.log(`trained in ${seconds.toFixed(1)} s on ${tg.getBackend()}`);
console.log(
  `train MSE ${trainErr.toFixed(4)}  held-out MSE ${testErr.toFixed(4)}  (noise floor ${(NOISE ** 2).toFixed(4)}, predicting the mean: ${baseline.toFixed(4)})`,
);

// ---- picture
const [W, H, m] = [640, 400, 40];
const px = (x: number) => m + ((x + 3) / 6) * (W - 2 * m);
const py = (y: number) => H - m - ((y + 2) / 4) * (H - 2 * m);
const curve = Array.from({ length: 200 }, (_, i) => -3 + (6 * i) / 199);
const fit = tg.tidy(() => tg.noGrad(() => net.forward(col(curve)))).dataSync();
const svg = new Svg(W, H);
svg.text(W / 2, 24, `regression: held-out MSE ${testErr.toFixed(4)} (train ${trainErr.toFixed(4)})`, {
  'text-anchor': 'middle',
  'font-size': 15,
});
svg.line(m, py(0), W - m, py(0), { stroke: '#bbb' }).line(px(0), m, px(0), H - m, { stroke: '#bbb' });
xTrain.forEach((x, i) => svg.circle(px(x), py(yTrain[i]), 3, { fill: '#1f77b4', opacity: 0.7 }));
xTest.forEach((x, i) => svg.circle(px(x), py(yTest[i]), 3.5, { fill: '#ff7f0e', stroke: '#222', 'stroke-width': 0.6 }));
svg.polyline(
  curve.map((x) => [px(x), py(truth(x))]),
  { stroke: '#2ca02c', 'stroke-width': 2, 'stroke-dasharray': '6 4' },
);
svg.polyline(
  curve.map((x, i) => [px(x), py(fit[i])]),
  { stroke: '#d62728', 'stroke-width': 2 },
);
[
  ['training points', '#1f77b4'],
  ['held-out points', '#ff7f0e'],
  ['truth sin(2x) + 0.3x', '#2ca02c'],
  ['MLP fit', '#d62728'],
].forEach(([label, color], i) => {
  svg.rect(W - 200, 44 + i * 18, 12, 12, { fill: color }).text(W - 182, 54 + i * 18, label);
});
console.log(`wrote ${svg.save('out/regression.svg')}`);

for (const t of [X, Y]) t.dispose();
net.dispose();
opt.dispose();
if (!(testErr < 2 * NOISE ** 2 + 0.01)) {
  console.error(`held-out MSE ${testErr} is far above the noise floor ${NOISE ** 2}`);
  process.exit(1);
}
