// A 3-class spiral classifier: an MLP trained with Adam on a seeded spiral dataset.
//
//   node --import tsx examples/spirals.ts [--quick]
//
// Prints a line per epoch (loss, training accuracy) and writes two pictures:
//   out/spirals-regions.svg  the decision regions with the data points
//   out/spirals-loss.svg     the training loss per step
// --quick trains for fewer epochs (for the tour); both reach ≥ 97% training accuracy.
// --lr X sets Adam's learning rate (default 0.01); a rate that makes the loss NaN or infinite
// stops the run with an error naming the step.
import * as tg from 'tapegrad';
import { Svg, lineChart, CLASS_COLORS, CLASS_TINTS } from './lib/svg.js';
import { rng, finiteLoss, orExit, trainingStep } from './lib/train.js';
import { progress } from '../scripts/progress.js';

const quick = process.argv.includes('--quick');
const CLASSES = 3;
const PER_CLASS = 100;
const EPOCHS = quick ? 40 : 80;
const BATCH = 50;
const lrArg = process.argv.indexOf('--lr');
const LR = lrArg > 0 ? Number(process.argv[lrArg + 1]) : 0.01;

/** Spiral arms (CS231n's dataset): class k at angle 4k + 4r + noise, radius r ∈ [0, 1]. */
function spirals(seed: number): { xs: number[][]; ys: number[] } {
  const r = rng(seed);
  const xs: number[][] = [];
  const ys: number[] = [];
  for (let k = 0; k < CLASSES; k++) {
    for (let i = 0; i < PER_CLASS; i++) {
      const rad = i / (PER_CLASS - 1);
      const t = k * 4 + rad * 4 + r.normal() * 0.2;
      xs.push([rad * Math.sin(t), rad * Math.cos(t)]);
      ys.push(k);
    }
  }
  return { xs, ys };
}

/** Class index of each row: the argmax of the logits. */
function predict(net: tg.nn.Module, xs: number[][]): number[] {
  const classes = tg.tidy(() => tg.noGrad(() => tg.argmax(net.forward(tg.tensor(xs)), { axis: 1 })));
  const out = Array.from(classes.dataSync());
  classes.dispose();
  return out;
}

const { xs, ys } = spirals(7);
const n = xs.length;
const net = new tg.nn.MLP([2, 64, 64, CLASSES], { activation: 'relu', seed: 1 });
const opt = new tg.optim.Adam(net.parameters(), { lr: LR });
const order = rng(3);
const losses: number[] = [];

console.log(
  `spirals: ${n} points, ${CLASSES} classes; MLP [2, 64, 64, 3], Adam lr ${LR}, batch ${BATCH}, ${EPOCHS} epochs on ${tg.getBackend()}`,
);
const start = performance.now();
let accuracy = 0;
const bar = progress('spirals', EPOCHS * Math.ceil(n / BATCH));
orExit(() => {
  for (let epoch = 1; epoch <= EPOCHS; epoch++) {
    // a fresh shuffle each epoch (Fisher–Yates)
    const perm = [...Array(n).keys()];
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(order.uniform() * (i + 1));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    let epochLoss = 0;
    for (let b = 0; b < n; b += BATCH) {
      const idx = perm.slice(b, b + BATCH);
      // the batch's tensors are made inside the step, so that it frees them
      const loss = trainingStep(opt, () =>
        tg.nn.crossEntropy(
          net.forward(tg.tensor(idx.map((i) => xs[i]))),
          tg.tensor(
            idx.map((i) => ys[i]),
            { dtype: 'int32' },
          ),
        ),
      );
      const v = finiteLoss(loss, opt.stepCount);
      loss.dispose();
      losses.push(v);
      bar.tick(1, `loss ${v.toFixed(4)}`);
      epochLoss += (v * idx.length) / n;
    }
    const pred = predict(net, xs);
    accuracy = pred.filter((p, i) => p === ys[i]).length / n;
    console.log(
      `epoch ${String(epoch).padStart(3)}  loss ${epochLoss.toFixed(4)}  accuracy ${(accuracy * 100).toFixed(1)}%`,
    );
  }
});
bar.done();
const seconds = (performance.now() - start) / 1000;
console.log(`trained in ${seconds.toFixed(1)} s: training accuracy ${(accuracy * 100).toFixed(1)}%`);

// ---- pictures
const G = 120;
const SIZE = 480;
const lo = -1.1;
const hi = 1.1;
const toPx = (v: number) => ((v - lo) / (hi - lo)) * SIZE;
const grid: number[][] = [];
for (let r = 0; r < G; r++)
  for (let c = 0; c < G; c++) grid.push([lo + ((c + 0.5) / G) * (hi - lo), hi - ((r + 0.5) / G) * (hi - lo)]);
const regions = predict(net, grid);
const svg = new Svg(SIZE, SIZE + 30);
const cell = SIZE / G;
// one rectangle per run of equal cells in a row keeps the file small
for (let r = 0; r < G; r++) {
  for (let c = 0; c < G; ) {
    const k = regions[r * G + c];
    let end = c + 1;
    while (end < G && regions[r * G + end] === k) end++;
    svg.rect(c * cell, r * cell, (end - c) * cell + 0.5, cell + 0.5, { fill: CLASS_TINTS[k] });
    c = end;
  }
}
xs.forEach(([x, y], i) =>
  svg.circle(toPx(x), SIZE - toPx(y), 3.5, { fill: CLASS_COLORS[ys[i]], stroke: '#222', 'stroke-width': 0.6 }),
);
svg.text(
  SIZE / 2,
  SIZE + 20,
  `decision regions after ${EPOCHS} epochs: ${(accuracy * 100).toFixed(1)}% training accuracy`,
  { 'text-anchor': 'middle' },
);
const regionsPath = svg.save('out/spirals-regions.svg');
const lossPath = lineChart(losses, {
  title: 'spirals: training loss (cross-entropy)',
  xLabel: 'step',
  yLabel: 'loss',
  logY: true,
}).save('out/spirals-loss.svg');
console.log(`wrote ${regionsPath} and ${lossPath}`);

net.dispose();
opt.dispose();
if (accuracy < 0.97) {
  console.error(`training accuracy ${(accuracy * 100).toFixed(1)}% is below the 97% this example promises`);
  process.exit(1);
}
