// The playground (`npm run playground`) in headless Chromium (Debian's, through playwright-core,
// as the other browser suites): the server starts on a free port; the page loads with no console
// error; spirals and MNIST train for a few seconds on every backend that starts and their accuracy
// rises; a digit drawn on the pad gets a prediction; model files cross between Node and the page
// both ways (and one that does not fit is refused in words); a NaN loss stops training naming the
// op; the loss's gradcheck passes; the page starts on the fastest backend that starts (a hardware GPU,
// else wasm) and says why; a backend that cannot start is shown with its reason; the
// benchmark page opens. Screenshots go to out/playground-*.png. Without Chromium: SKIPPED.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';
import { CHROMIUM, FLAGS } from '../scripts/chromium.js';
import { startPlayground } from '../playground/server.js';
import { BROWSER_BACKENDS, fastestBackend, isSoftwareRenderer } from '../playground/backends.js';
import { loadMnist } from '../playground/data.js';
import { makeModel, type ModelSpec } from '../playground/models.js';

const root = join(import.meta.dirname, '..');
const out = join(root, 'out');
const skipped = !existsSync(CHROMIUM);
/** Training bursts: at least this long, and at least MIN_STEPS steps (webgpu on SwiftShader is slow). */
const TRAIN_MS = 3000;
const MIN_STEPS = 15;

let browser: Browser;
let page: Page;
let url = '';
let close = () => {};
/** Console errors and uncaught exceptions of the page, since the last look. */
const errors: string[] = [];

async function openPage(init?: () => void): Promise<Page> {
  const p = await browser.newPage({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
  p.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
  p.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  if (init) await p.addInitScript(init);
  await p.goto(url);
  await p.waitForFunction(() => 'playground' in window && document.body.dataset.busy === 'false', null, {
    timeout: 120_000,
  });
  return p;
}

/** Waits until nothing is queued on the page and training has stopped. */
const settled = (p: Page = page) =>
  p.waitForFunction(() => document.body.dataset.busy === 'false' && document.body.dataset.training !== 'true', null, {
    timeout: 120_000,
  });

const stats = async () =>
  page.$eval('#stats', (el) => ({
    step: Number((el as HTMLElement).dataset.step),
    first: Number((el as HTMLElement).dataset.firstAccuracy),
    accuracy: Number((el as HTMLElement).dataset.accuracy),
    text: el.textContent,
  }));

const message = () => page.$eval('#message', (el) => ((el as HTMLElement).hidden ? '' : (el.textContent ?? '').trim()));

async function choose(selector: string, value?: string): Promise<void> {
  if (value === undefined) await page.check(selector);
  else await page.selectOption(selector, value);
  await settled();
}

async function setLr(lr: string): Promise<void> {
  await page.fill('#lr', lr);
  await page.dispatchEvent('#lr', 'change');
}

/** Trains for TRAIN_MS and `minSteps` at least; returns the first and last accuracy. */
async function train(
  minSteps = MIN_STEPS,
): Promise<{ step: number; first: number; accuracy: number; text: string | null }> {
  await page.click('#train');
  const t0 = Date.now();
  await page.waitForFunction(
    ([ms, steps, start]) => Date.now() - start >= ms && Number(document.getElementById('stats')!.dataset.step) >= steps,
    [TRAIN_MS, minSteps, t0],
    { timeout: 120_000, polling: 200 },
  );
  await page.click('#train');
  await settled();
  return stats();
}

const shot = (name: string, p: Page = page) => p.screenshot({ path: join(out, `playground-${name}.png`) });

function noErrors(what: string): void {
  const seen = errors.splice(0);
  assert.equal(seen, [], `${what}: the page logged errors`);
}

let backends: string[] = [];
if (!skipped) {
  mkdirSync(out, { recursive: true });
  const started = await startPlayground(0);
  url = started.url;
  close = () => started.server.close();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  page = await openPage();
  backends = await page.$$eval('input[name=backend]:not([disabled])', (els) =>
    els.map((e) => (e as HTMLInputElement).value),
  );
}

test('the server binds 127.0.0.1 and sends the cross-origin isolation headers; the page loads cleanly', async () => {
  if (skipped) return;
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const res = await fetch(url);
  assert.is(res.headers.get('cross-origin-opener-policy'), 'same-origin');
  assert.is(res.headers.get('cross-origin-embedder-policy'), 'require-corp');
  assert.ok(await page.evaluate(() => crossOriginIsolated), 'the page is cross-origin isolated');
  assert.ok(backends.includes('cpu') && backends.includes('wasm'), `backends that start: ${backends}`);
  assert.match(
    String(await page.textContent('#backend-badge')),
    /^running on (webgpu|webgl|wasm|cpu)( \(\d+ threads?\))?$/,
  );
  assert.is(await message(), '');
  noErrors('loading');
  await shot('start');
});

for (const backend of ['webgpu', 'webgl', 'wasm', 'cpu']) {
  test(`${backend}: spirals and MNIST train for a few seconds and their accuracy rises`, async () => {
    if (skipped || !backends.includes(backend)) return;
    await choose(`input[name=backend][value=${backend}]`);
    // on wasm, the badge also says how many threads it runs: every core (at most 8), the page being isolated
    const cores = await page.evaluate(() => Math.min(navigator.hardwareConcurrency, 8));
    assert.match(
      String(await page.textContent('#backend-badge')),
      backend === 'wasm'
        ? new RegExp(`^running on wasm \\(${cores} threads?\\)$`)
        : new RegExp(`^running on ${backend}$`),
    );
    await choose('input[name=data][value=spirals]');
    await choose('#model-kind', 'mlp');
    await setLr('0.03');
    const s = await train();
    assert.ok(s.accuracy > s.first + 0.05, `spirals on ${backend}: ${s.first} → ${s.accuracy} (${s.text})`);
    await shot(`spirals-${backend}`);
    await choose('input[name=data][value=mnist]');
    await setLr('0.003');
    const m = await train();
    assert.ok(m.accuracy > m.first + 0.2, `MNIST on ${backend}: ${m.first} → ${m.accuracy} (${m.text})`);
    assert.is(await message(), '');
    noErrors(backend);
  });
}

test('a digit drawn on the pad gets a prediction and ten probabilities', async () => {
  if (skipped) return;
  await choose('input[name=data][value=mnist]');
  const box = (await page.locator('#pad').boundingBox())!;
  // a "7": a bar across the top, then a stroke down to the lower left
  await page.mouse.move(box.x + 80, box.y + 70);
  await page.mouse.down();
  for (const [x, y] of [
    [200, 70],
    [185, 130],
    [150, 200],
    [130, 240],
  ])
    await page.mouse.move(box.x + x, box.y + y, { steps: 6 });
  await page.mouse.up();
  await settled();
  const digit = await page.$eval('#prediction', (el) => (el as HTMLElement).dataset.digit);
  assert.match(String(digit), /^\d$/);
  const probs = await page.$$eval('#probs li', (els) => els.map((e) => parseFloat(e.lastChild!.textContent!)));
  assert.is(probs.length, 10);
  assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 100) < 1, `probabilities ${probs}`);
  await shot('mnist');
  noErrors('drawing');
});

test('points clicked onto the plane are the data set, and they train', async () => {
  if (skipped) return;
  await choose(`input[name=backend][value=${backends.includes('wasm') ? 'wasm' : 'cpu'}]`);
  await choose('input[name=data][value=points]');
  await page.click('#clear-points');
  await settled();
  const box = (await page.locator('#plane').boundingBox())!;
  // class A on the left, class C on the right
  for (const [label, xs] of [
    [0, [60, 90, 120]],
    [2, [300, 330, 360]],
  ] as const) {
    await page.click(`#point-tools .swatch[data-class="${label}"]`);
    for (const x of xs) for (const y of [100, 200, 300]) await page.mouse.click(box.x + x, box.y + y);
  }
  await settled();
  const points = await page.evaluate(() => (window as any).playground.state.points as { x: number; label: number }[]);
  assert.is(points.length, 18);
  assert.ok(
    points.every((p) => (p.label === 0 ? p.x < 0 : p.x > 0)),
    'left is class A, right class C',
  );
  await setLr('0.03');
  const s = await train();
  assert.ok(s.accuracy > 0.9, `the clicked points: accuracy ${s.accuracy} (${s.text})`);
  await shot('points');
  noErrors('points');
});

/** The page's probabilities for the first held-out digits, as its model computes them. */
const pageProbabilities = (n: number) =>
  page.evaluate(async (n) => {
    const { state } = (window as any).playground;
    const { model, trainer } = state;
    model.net.eval();
    const x = trainer.data.test.x.subarray(0, n * 784);
    const tg = (window as any).playground.tg;
    const p = tg.tidy(() => tg.softmax(model.forward(tg.tensor(x, { shape: [n, 784] })), 1));
    const values = Array.from(await p.data());
    p.dispose();
    model.net.train();
    return values as number[];
  }, n);

async function nodeProbabilities(spec: ModelSpec, bytes: Uint8Array, n: number): Promise<number[]> {
  const data = await loadMnist(url);
  const model = makeModel(spec, 784, 10, 5);
  try {
    model.net.fromBytes(bytes);
    model.net.eval();
    const p = tg.tidy(() =>
      tg.softmax(model.forward(tg.tensor(data.test.x.subarray(0, n * 784), { shape: [n, 784] })), 1),
    );
    const values = Array.from(await p.data());
    p.dispose();
    return values;
  } finally {
    model.net.dispose();
  }
}

test('model files: Node → page (the CNN) and page → Node (the MLP) give the same probabilities', async () => {
  if (skipped) return;
  await choose(`input[name=backend][value=${backends.includes('wasm') ? 'wasm' : 'cpu'}]`);
  await choose('input[name=data][value=mnist]');
  // Node → page: a CNN with its own seed, saved as examples/mnist.ts saves its model
  const cnnSpec: ModelSpec = { kind: 'cnn', width: 32, depth: 2, activation: 'relu' };
  const cnn = makeModel(cnnSpec, 784, 10, 9);
  const file = join(out, 'playground-node-cnn.safetensors');
  await cnn.net.save(file);
  cnn.net.dispose();
  await choose('#model-kind', 'cnn');
  await page.setInputFiles('#load', file);
  await settled();
  assert.match(await message(), /Loaded playground-node-cnn\.safetensors/);
  const fromNode = await nodeProbabilities(cnnSpec, readFileSync(file), 4);
  const inPage = await pageProbabilities(4);
  fromNode.forEach((p, i) => assert.ok(Math.abs(p - inPage[i]) < 1e-4, `entry ${i}: Node ${p}, page ${inPage[i]}`));
  // the loaded CNN trains on (fewer steps: a step of the CNN costs some ten of the MLP's)
  await setLr('0.003');
  const c = await train(8);
  assert.ok(c.accuracy > c.first + 0.2, `the CNN on MNIST: ${c.first} → ${c.accuracy} (${c.text})`);
  await shot('cnn');

  // page → Node: the MLP trained above, through the Save button's download
  await choose('#model-kind', 'mlp');
  await setLr('0.003');
  await train();
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
  assert.is(download.suggestedFilename(), 'mnist-mlp.safetensors');
  const saved = join(out, 'playground-page-mlp.safetensors');
  await download.saveAs(saved);
  const mlpSpec: ModelSpec = { kind: 'mlp', width: 32, depth: 2, activation: 'relu' };
  const inNode = await nodeProbabilities(mlpSpec, readFileSync(saved), 4);
  const fromPage = await pageProbabilities(4);
  inNode.forEach((p, i) => assert.ok(Math.abs(p - fromPage[i]) < 1e-4, `entry ${i}: Node ${p}, page ${fromPage[i]}`));
  noErrors('model files');
});

test('a model file that does not fit the chosen model is refused with a message saying so', async () => {
  if (skipped) return;
  await choose('#model-kind', 'mlp');
  const wrong = join(out, 'playground-wrong.safetensors');
  const other = makeModel({ kind: 'mlp', width: 8, depth: 1, activation: 'relu' }, 2, 3);
  writeFileSync(wrong, other.net.toBytes());
  other.net.dispose();
  await page.setInputFiles('#load', wrong);
  await settled();
  const text = await message();
  assert.match(text, /playground-wrong\.safetensors does not fit the chosen model, MLP\(\[784, 32, 32, 10\]\)/);
  assert.match(text, /saved from MLP\(\[2, 8, 3\]\)/);
  assert.match(text, /has shape \[2,8\], expected \[784,32\]|expected \[784, 32\]/);
  await shot('wrong-file');
  await page.click('#message-close');
  noErrors('a file that does not fit');
});

test('a learning rate that makes the loss NaN stops training and names the op', async () => {
  if (skipped) return;
  await choose('input[name=data][value=spirals]');
  await setLr('1e30');
  await page.click('#train');
  await page.waitForFunction(() => !document.getElementById('message')!.hidden, null, { timeout: 60_000 });
  await settled();
  const text = await message();
  assert.match(text, /Training diverged: the loss is (NaN|-?Infinity) at step \d+, so training stopped/);
  assert.match(text, /detectAnomaly, running that step again on the cpu backend, stops at \w+: anomaly in the/);
  // the model went back to before the step: its parameters are finite, and training can go on
  const finite = await page.evaluate(async () => {
    const { state } = (window as any).playground;
    const values = await Promise.all(state.model.net.parameters().map((p: any) => p.data()));
    return values.every((v: Float32Array) => v.every(Number.isFinite));
  });
  assert.ok(finite, 'the parameters are finite after the divergence');
  await shot('diverged');
  await page.click('#message-close');
  await setLr('0.01');
  await page.click('#reset');
  await settled();
  noErrors('divergence');
});

test('gradcheck of the current loss passes, and its report is shown', async () => {
  if (skipped) return;
  await page.click('#gradcheck');
  await settled();
  const report = String(await page.textContent('#gradcheck-report'));
  assert.match(report, /✓ the gradients agree/);
  assert.is(await page.$eval('#gradcheck-card', (el) => (el as HTMLElement).dataset.ok), 'true');
  noErrors('gradcheck');
});

test('the page starts on the fastest backend that starts: a hardware GPU first, else wasm, and says why', async () => {
  const hardware = { webgpu: 'nvidia hopper', webgl: 'ANGLE (NVIDIA, Vulkan 1.3)' };
  const software = { webgpu: 'google swiftshader', webgl: 'ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device))' };
  const all = (...off: string[]) => BROWSER_BACKENDS.map((name) => ({ name, available: !off.includes(name) }));
  assert.is(fastestBackend(all(), hardware).name, 'webgpu');
  assert.is(fastestBackend(all('webgpu'), hardware).name, 'webgl');
  assert.is(fastestBackend(all(), { ...hardware, webgpu: software.webgpu }).name, 'webgl');
  assert.is(fastestBackend(all(), software).name, 'wasm');
  assert.match(fastestBackend(all(), software).why, /webgpu runs on google swiftshader, a software renderer/);
  assert.is(fastestBackend(all('wasm'), software).name, 'cpu');
  assert.is(fastestBackend(all('wasm', 'cpu'), software).name, 'webgpu');
  assert.ok(isSoftwareRenderer('llvmpipe (LLVM 15.0.6, 256 bits)') && !isSoftwareRenderer('Apple M2'));
  if (skipped) return;
  // Headless Chromium here has webgpu and webgl on SwiftShader only: the page picks wasm.
  const p = await openPage();
  const badge = await p.$eval('#backend-badge', (el) => ({ text: el.textContent, title: (el as HTMLElement).title }));
  assert.match(badge.text!, /^running on wasm \(\d+ threads?\)$/);
  assert.match(
    badge.title,
    /^chosen: the first of webgpu, webgl, wasm, cpu that starts on a GPU in hardware: webgpu runs on .*swiftshader/i,
  );
  await p.close();
  noErrors('the backend chosen at start');
});

test('a backend that cannot start is listed, greyed out, with its reason', async () => {
  if (skipped) return;
  const p = await openPage(() => Object.defineProperty(navigator, 'gpu', { value: undefined }));
  const label = await p.$eval('input[name=backend][value=webgpu]', (el) => ({
    disabled: (el as HTMLInputElement).disabled,
    text: el.parentElement!.textContent,
  }));
  assert.ok(label.disabled, 'webgpu is not offered');
  assert.match(label.text!, /unavailable: .+/);
  await shot('no-webgpu', p);
  await p.close();
  noErrors('without webgpu');
});

test('the benchmark page opens from the playground with its suites', async () => {
  if (skipped) return;
  const [bench] = await Promise.all([page.context().waitForEvent('page'), page.click('#bench-link')]);
  await bench.waitForFunction(() => 'runBench' in window, null, { timeout: 120_000 });
  const suites = await bench.$$eval('#buttons button', (els) => els.map((e) => e.textContent));
  assert.ok(suites.includes('mlp') && suites.includes('all suites'), `suites: ${suites}`);
  await bench.close();
});

test.after(async () => {
  await browser?.close();
  close();
  tg.setDetectAnomaly(false);
});

test('Chromium was found (SKIPPED otherwise)', () => {
  if (!skipped) return;
  console.log(`SKIPPED: playground (chromium not found at ${CHROMIUM}; apt-get install -y chromium)`);
  if (process.env.TAPEGRAD_REQUIRE_BROWSER === '1') assert.unreachable(`no browser at ${CHROMIUM}`);
});

test.run();
