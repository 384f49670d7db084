// Matrix products on the webgpu backend (Dawn in Node): tapegrad's WGSL matmul
// (kernels/webgpu-matmul.ts) against TF.js's own, at n = 1024, 2048 and 4096 (float32, square),
// and each candidate tile of the large and square classes forced in turn. First it times the
// candidate tiles of every size class (tuneMatMul) and writes the fastest to
// $OUT/matmul-tiles.json, which the GPU command's later parts run with (gpu-script.ts): its
// 'tapegrad (size class)' figures are those tiles'.
// PyTorch's figures on the same GPU come from torch_matmul.py beside this file (--torch FILE
// prints them in the table). Each figure: the median of 5 rounds, each round R products enqueued
// back to back and then one wait for the GPU (queue.onSubmittedWorkDone), R chosen for about
// 0.2 s a round from 3 warm-up products.
// Before timing, each variant's product is compared with TF.js's kernel (relative difference),
// on the square sizes and on odd and transposed shapes; any WebGPU validation error fails the run.
//
//   bash scripts/gpu-bundle.sh        # here; there:
//   OUT=out bash .gpu/run.sh matmul-bench.mjs [--quick] [--sizes 1024,2048] [--variants '8_8_8;double'] [--torch f]
//   LD_LIBRARY_PATH=/usr/lib/chromium VK_DRIVER_FILES=/usr/lib/chromium/vk_swiftshader_icd.json \
//     node --import tsx benchmarks/gpu/matmul-bench.ts --sizes 128,256     # SwiftShader, here
//
// Writes $OUT/matmul-bench.json (or benchmarks/results/matmul-bench-<gpu>-<date>.json); exit status 1
// if a check failed.
import { existsSync, readFileSync } from 'node:fs';
import type { MatMulTile } from '../../src/testing.js';
import { arg, flag, median, relDiff, startGpuScript, testing, tf } from './gpu-script.js';

const quick = flag('--quick'); // a dry run on SwiftShader: n = 128, tapegrad and TF.js
const sizes = (arg('--sizes') ?? (quick ? '128' : '1024,2048,4096')).split(',').map(Number);
const torchFile = arg('--torch');
// the tiles of each size class timed on this GPU first (saved for the parts after this one)
const run = await startGpuScript('matmul-bench', { tuneTiles: true });
const { gpu, log, gpuErrors } = run;
const features = (tf.backend() as unknown as { device: { features: Set<string> } }).device.features;
log(`${gpu}; subgroups: ${features.has('subgroups')}`);

type Variant = { name: string; tile: MatMulTile | null; tfjs?: boolean };
// the sweep: the candidate tiles of the large and square classes (n = 1024 is square, 2048 and 4096 large)
const sweep = new Map(
  [...testing.MATMUL_CANDIDATES.large, ...testing.MATMUL_CANDIDATES.square].map((t) => [testing.matMulTileName(t), t]),
);
const allVariants: Variant[] = [
  { name: 'tapegrad (size class)', tile: null },
  { name: 'TF.js', tile: null, tfjs: true },
  ...[...sweep].map(([name, tile]) => ({ name: `tile ${name}`, tile })),
];
// --variants 'a;b': tapegrad's and TF.js's kernels, and the tiles whose names contain a or b
// ('8_8_16;double'), each timed at the sizes of its class and checked on every shape.
const only = arg('--variants')?.split(';');
const tiles = allVariants.slice(2).filter((v) => !only || only.some((o) => v.name.includes(o)));
const variants = quick ? allVariants.slice(0, 2) : [...allVariants.slice(0, 2), ...tiles];
function use(v: Variant): void {
  testing.setMatMulKernelEnabled(!v.tfjs);
  testing.setMatMulTile(v.tile);
}

const failures: string[] = [];
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
  const wait = run.waitForGpu;
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
const torch: Record<string, number> = {};
if (torchFile && existsSync(torchFile)) {
  for (const r of JSON.parse(readFileSync(torchFile, 'utf8')).results ?? []) torch[r.n] = r.tflops;
}
function save(): void {
  run.save({
    what: 'matmul float32 n×n · n×n on the webgpu backend through Dawn (benchmarks/gpu/matmul-bench.ts)',
    subgroups: features.has('subgroups'),
    sizeClass: Object.fromEntries(sizes.map((n) => [n, testing.matMulSizeClass(1, n, n, n)])),
    checks,
    timings,
    torch,
    gpuErrors: gpuErrors.slice(0, 20),
    failures: run.withGpuErrors(failures),
  });
}
save();
for (const n of sizes) {
  // at each size, the candidates of its size class (the tiles that class chooses from)
  const sizeClass = testing.matMulSizeClass(1, n, n, n);
  const candidates = new Set(
    (sizeClass in testing.MATMUL_CANDIDATES ? testing.MATMUL_CANDIDATES[sizeClass as 'large'] : []).map(
      testing.matMulTileName,
    ),
  );
  for (const v of variants.filter((x) => !x.tile || candidates.has(testing.matMulTileName(x.tile)))) {
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
    `\nmatmul float32, n×n · n×n, TFLOP/s (${gpu}, subgroups ${features.has('subgroups')})`,
    '| n | tapegrad | TF.js | tapegrad speed-up | best tile | PyTorch |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    'every variant (ms per product, TFLOP/s):',
    ...timings.map(
      (t) =>
        `  n = ${t.n}  ${t.variant.padEnd(58)} ${t.ms.toFixed(3).padStart(9)} ms ${t.tflops.toPrecision(3).padStart(9)}`,
    ),
    `tiles of the size classes on this GPU (${run.matmulTiles?.from}): ` +
      Object.entries(run.matmulTiles?.tiles ?? {})
        .map(([c, t]) => `${c} ${testing.matMulTileName(t)}`)
        .join(', '),
    `checks against TF.js's kernel: ${checks.filter((c) => c.ok).length}/${checks.length} within 1e-4`,
    failures.length || gpuErrors.length ? `FAILED: ${[...failures, ...gpuErrors].join('; ')}` : 'no failure',
  ].join('\n'),
);
save();
process.exit(failures.length || gpuErrors.length ? 1 : 0);
