// The small training steps' levers (tapegrad/testing's smallStepLevers): each switched off and on,
// two copies of the same model trained side by side give the same bits — losses, parameters and
// the optimizer's state after every step — eager and compiled, on one thread and on two (the
// helper thread's share), and leave no tensor behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import { smallStepLevers } from '../src/testing.js';
import { readyHelper } from '../kernels/helper-thread.js';

const heap = () => (tf.backend() as unknown as { wasm: { wasmMemory: WebAssembly.Memory } }).wasm.wasmMemory;

type MakeOpt = (ps: tg.Tensor[]) => tg.optim.Optimizer;
const OPTIMIZERS: [string, MakeOpt][] = [
  ['Adam', (ps) => new tg.optim.Adam(ps, { lr: 1e-2 })],
  ['AdamW', (ps) => new tg.optim.AdamW(ps, { lr: 1e-2, weightDecay: 0.1 })],
  ['Adam amsgrad', (ps) => new tg.optim.Adam(ps, { lr: 1e-2, amsgrad: true })],
  ['SGD momentum', (ps) => new tg.optim.SGD(ps, { lr: 1e-2, momentum: 0.9 })],
];

/** A relu MLP on a fixed batch (large enough for the helper thread's share of Adam), its optimizer and a step. */
function problem(makeOpt: MakeOpt, compiled: boolean) {
  const net = new tg.nn.MLP([96, 320, 256, 10], { activation: 'relu', seed: 3 });
  const opt = makeOpt(net.parameters());
  const x = tg.randn([48, 96], { seed: 4 });
  const y = tg.tensor(
    Array.from({ length: 48 }, (_, i) => (i * 7) % 10),
    { dtype: 'int32' },
  );
  const train = (xb: tg.Tensor, yb: tg.Tensor) => {
    const loss = tg.nn.crossEntropy(net.forward(xb), yb);
    loss.backward();
    opt.step();
    return loss;
  };
  const run = compiled ? tg.compile(train) : null;
  const step = (): number => {
    opt.zeroGrad();
    const l = run ? run(x, y) : tg.tidy(() => train(x, y));
    const v = l.dataSync()[0];
    l.dispose();
    return v;
  };
  /** Every parameter's and every state tensor's values. */
  const snapshot = (): number[][] => {
    const sd = opt.stateDict();
    const state = Object.values(sd.state).flatMap((s) => Object.values(s.tensors));
    const out = [...net.parameters(), ...state].map((t) => Array.from(t.dataSync()));
    tg.dispose(state);
    return out;
  };
  const dispose = () => {
    run?.dispose();
    opt.zeroGrad();
    opt.dispose();
    net.dispose();
    tg.dispose([x, y]);
  };
  return { step, snapshot, dispose };
}

const sameBits = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

async function leversKeepTheBits(threads: number): Promise<void> {
  await tg.setBackend('wasm');
  tg.setThreads(threads);
  if (threads > 1)
    for (let waited = 0; readyHelper(heap()) === null; waited += 50) {
      assert.ok(waited < 30_000, 'the helper thread started');
      await new Promise((r) => setTimeout(r, 50));
    }
  const start = tg.memory();
  for (const [lever, setLever] of Object.entries(smallStepLevers))
    for (const [name, makeOpt] of OPTIMIZERS)
      for (const compiled of [false, true]) {
        const what = `${lever} on ${threads} thread(s), ${name}${compiled ? ', compiled' : ''}`;
        const off = problem(makeOpt, compiled);
        const on = problem(makeOpt, compiled);
        try {
          for (let i = 0; i < 4; i++) {
            setLever(false);
            const lossOff = off.step();
            setLever(true);
            const lossOn = on.step();
            assert.ok(Object.is(lossOff, lossOn), `${what}: step ${i} loss ${lossOn} against ${lossOff}`);
            const [a, b] = [off.snapshot(), on.snapshot()];
            assert.is(a.length, b.length, `${what}: as many state tensors`);
            a.forEach((v, k) => assert.ok(sameBits(v, b[k]), `${what}: step ${i}, tensor ${k} differs`));
          }
        } finally {
          setLever(true);
          off.dispose();
          on.dispose();
        }
      }
  const end = tg.memory();
  assert.is(end.numTensors, start.numTensors, `levers on ${threads} thread(s) leaked tensors`);
  assert.is(end.numBytes, start.numBytes, `levers on ${threads} thread(s) leaked bytes`);
}

test('every lever gives the same bits off and on, eager and compiled, on one thread', () => leversKeepTheBits(1));
test('every lever gives the same bits off and on, eager and compiled, on two threads', () => leversKeepTheBits(2));

test.run();
