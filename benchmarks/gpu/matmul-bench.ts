// Matrix products on the webgpu backend (Dawn in Node): tapegrad's WGSL matmul
// (kernels/webgpu-matmul.ts) against TF.js's own, at n = 1024, 2048 and 4096 (float32, square),
// and each tile shape forced in turn, so that the size classes' tiles can be chosen from one run.
// PyTorch's figures on the same GPU come from torch_matmul.py beside this file (--torch FILE
// prints them in the table). Each figure: the median of 5 rounds, each round R products enqueued
// back to back and then one wait for the GPU (queue.onSubmittedWorkDone), R chosen for about
// 0.2 s a round from 3 warm-up products.
// Before timing, each variant's product is compared with TF.js's kernel (relative difference),
// on the square sizes and on odd and transposed shapes; any WebGPU validation error fails the run.
//
//   bash scripts/gpu-bundle.sh        # here; there:
//   OUT=out bash .gpu/run.sh matmul-bench.mjs [--quick] [--sizes 1024,2048] [--variants 'k 8;prefetch'] [--torch f]
//   LD_LIBRARY_PATH=/usr/lib/chromium VK_DRIVER_FILES=/usr/lib/chromium/vk_swiftshader_icd.json \
//     node --import tsx benchmarks/gpu/matmul-bench.ts --sizes 128,256     # SwiftShader, here
//
// Writes $OUT/matmul-bench.json (or benchmarks/results/matmul-bench-<gpu>-<date>.json); exit status 1
// if a check failed.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as TF from '@tensorflow/tfjs-core';
import type { MatMulTile } from '../../src/testing.js';
import { create, globals } from 'webgpu';

// navigator.gpu must exist before @tensorflow/tfjs-backend-webgpu is imported.
Object.assign(globalThis, globals);
Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true, writable: true });
const webgpuBackend = await import('@tensorflow/tfjs-backend-webgpu');
void webgpuBackend.webgpu_util;
const tf = await import('@tensorflow/tfjs-core');
const tg = await import('../../src/index.js');
const testing = await import('../../src/testing.js');
const { flushCommands } = await import('../../kernels/webgpu-dispatch.js');
const { median } = await import('./mlp-step.js');

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const quick = process.argv.includes('--quick'); // a dry run on SwiftShader: n = 128, tapegrad and TF.js
const sizes = (arg('--sizes') ?? (quick ? '128' : '1024,2048,4096')).split(',').map(Number);
const torchFile = arg('--torch');
const t0 = Date.now();
const log = (msg: string) => console.error(`[matmul-bench ${((Date.now() - t0) / 1000).toFixed(0)} s] ${msg}`);

await tg.setBackend('webgpu');
tf.env().set('WEBGPU_CPU_FORWARD', false);
const backend = tf.backend() as unknown as {
  device: EventTarget & {
    features: Set<string>;
    queue: { onSubmittedWorkDone(): Promise<void> };
  };
  adapterInfo?: Record<string, string>;
};
const adapter = await (
  globalThis as unknown as {
    navigator: { gpu: { requestAdapter(): Promise<{ info?: Record<string, string | number> } | null> } };
  }
).navigator.gpu.requestAdapter();
const info = adapter?.info ?? {};
const gpu = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown GPU';
const gpuErrors: string[] = [];
backend.device.addEventListener('uncapturederror', (e) =>
  gpuErrors.push(String((e as unknown as { error: { message: string } }).error.message).split('\n')[0]),
);
log(
  `${gpu}; subgroups: ${backend.device.features.has('subgroups')} (sizes ${info.subgroupMinSize}–${info.subgroupMaxSize})`,
);

type Variant = { name: string; tile: MatMulTile | null; tfjs?: boolean };
const tile = (wx: number, wy: number, tm: number, tn: number, tk: number): MatMulTile => ({ wx, wy, tm, tn, tk });
const allVariants: Variant[] = [
  { name: 'tapegrad (size class)', tile: null },
  { name: 'TF.js', tile: null, tfjs: true },
  { name: 'tile 128×128 (16×16 threads, 8×8 each, k 16)', tile: testing.MATMUL_TILES.large },
  { name: 'tile 128×128 (16×16 threads, 8×8 each, k 8)', tile: tile(16, 16, 8, 8, 8) },
  {
    name: 'tile 128×128 (16×16 threads, 8×8 each, k 16, prefetch)',
    tile: { ...tile(16, 16, 8, 8, 16), prefetch: true },
  },
  { name: 'tile 128×128 (16×16 threads, 8×8 each, k 8, prefetch)', tile: { ...tile(16, 16, 8, 8, 8), prefetch: true } },
  { name: 'tile 128×64 (8×16 threads, 8×8 each, k 16)', tile: tile(8, 16, 8, 8, 16) },
  { name: 'tile 64×128 (16×8 threads, 8×8 each, k 16)', tile: tile(16, 8, 8, 8, 16) },
  { name: 'tile 64×64 (8×8 threads, 8×8 each, k 16)', tile: tile(8, 8, 8, 8, 16) },
  { name: 'tile 64×64 (8×8 threads, 8×8 each, k 16, prefetch)', tile: { ...tile(8, 8, 8, 8, 16), prefetch: true } },
  { name: 'tile 64×64 (16×16 threads, 4×4 each, k 16)', tile: testing.MATMUL_TILES.square },
  { name: 'tile 32×64 (16×8 threads, 4×4 each, k 32)', tile: tile(16, 8, 4, 4, 32) },
];
// --variants 'a;b': tapegrad's and TF.js's kernels, and the tiles whose names contain a or b.
const only = arg('--variants')?.split(';');
const tiles = allVariants.slice(2).filter((v) => !only || only.some((o) => v.name.includes(o)));
const variants = quick ? allVariants.slice(0, 2) : [...allVariants.slice(0, 2), ...tiles];
function use(v: Variant): void {
  testing.setMatMulKernelEnabled(!v.tfjs);
  testing.setMatMulTile(v.tile);
}

const failures: string[] = [];
async function relDiff(x: TF.Tensor, y: TF.Tensor): Promise<number> {
  const [a, b] = [await x.data(), await y.data()];
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-30);
}

// ---- correctness against TF.js's kernel, per variant
const checks: { variant: string; shape: string; relDiff: number; ok: boolean }[] = [];
const shapes: [number[], number[], boolean, boolean][] = [
  [[sizes[0], sizes[0]], [sizes[0], sizes[0]], false, false],
  [[33, 65], [65, 17], false, false],
  [[3, 70, 130], [70, 129], true, false],
  [[257, 96], [200, 96], false, true],
];
for (const [sa, sb, ta, tb] of shapes) {
  const a = tf.randomNormal(sa, 0, 1, 'float32', 1);
  const b = tf.randomNormal(sb, 0, 1, 'float32', 2);
  use(variants[1]);
  const want = tf.matMul(a, b, ta, tb);
  for (const v of variants.filter((x) => !x.tfjs)) {
    use(v);
    const got = tf.matMul(a, b, ta, tb);
    const d = await relDiff(got, want);
    const shape = `${sa.join('×')}${ta ? 'ᵀ' : ''} · ${sb.join('×')}${tb ? 'ᵀ' : ''}`;
    checks.push({ variant: v.name, shape, relDiff: d, ok: d < 1e-4 });
    if (!(d < 1e-4)) failures.push(`${v.name}, ${shape}: relative difference ${d} from TF.js's kernel`);
    got.dispose();
  }
  tf.dispose([a, b, want]);
}
use(variants[0]);
log(
  `checks: ${checks.length}, worst relative difference ${Math.max(...checks.map((c) => c.relDiff)).toExponential(1)}`,
);

// ---- speed
const timings: { n: number; variant: string; ms: number; tflops: number }[] = [];
async function time(n: number, rounds = 5): Promise<number> {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 3);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 4);
  const product = () => tf.matMul(a, b).dispose();
  const wait = async () => {
    flushCommands();
    await backend.device.queue.onSubmittedWorkDone();
  };
  product(); // compiles the pipeline
  await wait();
  const w = performance.now();
  for (let i = 0; i < 2; i++) product();
  await wait();
  // Rounds of about 0.2 s of the GPU's work each, 2 to 50 products.
  const R = Math.max(2, Math.min(50, Math.round(200 / ((performance.now() - w) / 2))));
  const ms: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    for (let i = 0; i < R; i++) product();
    await wait();
    ms.push((performance.now() - start) / R);
  }
  tf.dispose([a, b]);
  return median(ms);
}
const dir = process.env.OUT ?? join(process.cwd(), 'benchmarks/results');
const slug = gpu
  .toLowerCase()
  .replace(/[^a-z0-9]+/g, '-')
  .replace(/^-|-$/g, '');
const date = new Date().toISOString();
const file = process.env.OUT ? join(dir, 'matmul-bench.json') : join(dir, `${name}-${slug}-${date.slice(0, 10)}.json`);
const torch: Record<string, number> = {};
if (torchFile && existsSync(torchFile)) {
  for (const r of JSON.parse(readFileSync(torchFile, 'utf8')).results ?? []) torch[r.n] = r.tflops;
}
function save(): void {
  mkdirSync(dir, { recursive: true });
  const report = {
    what: 'matmul float32 n×n · n×n on the webgpu backend through Dawn (benchmarks/gpu/matmul-bench.ts)',
    gpu,
    subgroups: backend.device.features.has('subgroups'),
    date,
    sizeClass: Object.fromEntries(sizes.map((n) => [n, testing.matMulSizeClass(1, n, n, n)])),
    checks,
    timings,
    torch,
    gpuErrors: gpuErrors.slice(0, 20),
    failures: gpuErrors.length ? [...failures, `${gpuErrors.length} WebGPU validation errors`] : failures,
  };
  writeFileSync(file, JSON.stringify(report, null, 1) + '\n');
}
save();
for (const n of sizes) {
  for (const v of variants) {
    use(v);
    const ms = await time(n);
    timings.push({ n, variant: v.name, ms, tflops: (2 * n ** 3) / (ms * 1e9) });
    log(`n = ${n}, ${v.name}: ${ms.toFixed(3)} ms, ${((2 * n ** 3) / (ms * 1e9)).toFixed(2)} TFLOP/s`);
    save();
  }
}
use(variants[0]);

const at = (n: number, name: string) => timings.find((t) => t.n === n && t.variant === name);
const rows = sizes.map((n) => {
  const ours = at(n, variants[0].name)!;
  const theirs = at(n, variants[1].name)!;
  // --quick (and --variants matching none) times no tile of the sweep.
  const best = timings.filter((t) => t.n === n && t.variant.startsWith('tile')).sort((x, y) => x.ms - y.ms)[0];
  const bestCell = best ? `${best.tflops.toPrecision(3)} (${best.variant.slice(5)})` : '—';
  return `| ${n} | ${ours.tflops.toPrecision(3)} (${testing.matMulSizeClass(1, n, n, n)}) | ${theirs.tflops.toPrecision(3)} | ${(theirs.ms / ours.ms).toFixed(2)}× | ${bestCell} | ${torch[n]?.toFixed(2) ?? '—'} |`;
});
console.log(
  [
    `\nmatmul float32, n×n · n×n, TFLOP/s (${gpu}, subgroups ${backend.device.features.has('subgroups')})`,
    '| n | tapegrad | TF.js | tapegrad speed-up | best tile | PyTorch |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    'every variant (ms per product, TFLOP/s):',
    ...timings.map(
      (t) =>
        `  n = ${t.n}  ${t.variant.padEnd(58)} ${t.ms.toFixed(3).padStart(9)} ms ${t.tflops.toPrecision(3).padStart(9)}`,
    ),
    `checks against TF.js's kernel: ${checks.filter((c) => c.ok).length}/${checks.length} within 1e-4`,
    failures.length || gpuErrors.length ? `FAILED: ${[...failures, ...gpuErrors].join('; ')}` : 'no failure',
  ].join('\n'),
);
save();
process.exit(failures.length || gpuErrors.length ? 1 : 0);
