// How a tapegrad process reaches its speed on webgpu (Dawn): the MLP Adam step of the GPU check,
// timed in rounds of 20 pipelined steps from the first step on — for a fresh model (A), then a
// second fresh model of the same shapes (B), then one of other shapes (C). If B starts as fast as
// A ends, the warm-up belongs to the process (JavaScript's JIT, its heap), not to the model.
//
//   bash ../shared/gpu/stage.sh test/gpu/warmup.ts          # here
//   bash .gpu/run.sh warmup.mjs [B]                          # there; JSON to $OUT
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true, writable: true });
await import('@tensorflow/tfjs-backend-webgpu');
const tf = await import('@tensorflow/tfjs-core');
const tg = await import('../../src/index.js');

const B = Number(process.argv[2] ?? 1024);
await tg.setBackend('webgpu');
tf.env().set('WEBGPU_CPU_FORWARD', false);

/** ms per step, per round of 20 pipelined steps, for a fresh D → D → 10 MLP on D samples. */
async function rounds(D: number, n: number): Promise<number[]> {
  const net = new tg.nn.MLP([D, D, 10], { activation: 'relu', seed: 1 });
  const opt = new tg.optim.Adam(net.parameters(), { lr: 1e-3 });
  const X = tg.randn([D, D], { seed: 2 });
  const y = tg.tensor(Array.from({ length: D }, (_, i) => (i * 7) % 10), { dtype: 'int32' });
  const step = () =>
    tg.tidy(() => {
      const loss = tg.crossEntropy(net.forward(X), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss;
    });
  const out: number[] = [];
  for (let r = 0; r < n; r++) {
    const t0 = performance.now();
    let last: InstanceType<typeof tg.Tensor> | null = null;
    for (let i = 0; i < 20; i++) {
      last?.dispose();
      last = step();
    }
    await last!.data();
    last!.dispose();
    out.push(+((performance.now() - t0) / 20).toFixed(3));
  }
  opt.zeroGrad();
  opt.dispose();
  net.dispose();
  tg.dispose([X, y]);
  return out;
}

const result = { batch: B, nodeOptions: process.env.NODE_OPTIONS ?? '', A: await rounds(B, 40), B: await rounds(B, 15), C: await rounds(B / 2, 15) };
for (const k of ['A', 'B', 'C'] as const) console.log(`${k}: ${result[k].join(' ')}`);
const dir = process.env.OUT ?? '.';
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, `warmup-${B}${process.env.NODE_OPTIONS ? '-' + process.env.NODE_OPTIONS.replace(/[^a-z0-9]+/gi, '') : ''}.json`), JSON.stringify(result, null, 1) + '\n');
process.exit(0);
