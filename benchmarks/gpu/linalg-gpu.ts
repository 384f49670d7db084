// The linear algebra on TF.js's 'webgpu' backend in Node, through Dawn, for the GPU command:
//
//   1. LinalgLu and LinalgCholesky of one n×n matrix on the blocked programs (kernels/lu.ts,
//      kernels/cholesky.ts), and on one GPU thread per matrix up to n = 256, so that the two can
//      be compared where both finish; each result checked by a residual against a random vector,
//      ‖P·A·z − L·(U·z)‖∞ / (n ‖A‖∞ ‖z‖∞) (‖A·z − L·(Lᵀ·z)‖∞ for Cholesky), in float64 on the
//      CPU;
//      At n = 1024 and 2048 (--quick: 96 and 160) the blocked programs run twice: with each block
//      step's trailing update through the tiled matmul (the default) and with one thread per
//      entry looping over the block's columns ('blocked, loop update'); Cholesky a third time,
//      its product L21·L21ᵀ computed whole rather than its lower triangle ('blocked, full product');
//   2. LinalgTriangularSolve of one lower-triangular n×n T with 256 right-hand columns (--quick:
//      64) at the same orders, its blocked update through the tiled matmul and as the loop, each
//      checked by ‖T·x − b‖∞ / (n ‖T‖∞ ‖x‖∞) over its first columns;
//   3. batches of small matrices on both paths (where the choice between them lies);
//   4. the ops solve (4 right-hand columns), inv and det, and the gradient of sum(solve(A, B)),
//      on well-conditioned matrices.
// Each case: one warm-up call (pipelines compiled), then the median of a few calls, each read
// back (the sum of its output). Cases that would start past --seconds (default 100) are listed
// as not run. benchmarks/gpu/torch_linalg.py times the same cases with PyTorch on CUDA.
//
//   bash scripts/gpu-bundle.sh                        # here: bundles .gpu/linalg-gpu.mjs
//   bash .gpu/run.sh linalg-gpu.mjs [--quick] [--seconds s]   # there; JSON to $OUT/linalg-gpu.json
//   LD_LIBRARY_PATH=/usr/lib/chromium VK_DRIVER_FILES=/usr/lib/chromium/vk_swiftshader_icd.json \
//     node --import tsx benchmarks/gpu/linalg-gpu.ts --quick     # here, on SwiftShader (small sizes)
// Exit status 1 if a residual is too large, a tensor is left behind, or WebGPU raised a validation error.
import type * as TF from '@tensorflow/tfjs-core';
import { arg, flag, median, startGpuScript, testing, tf, tg } from './gpu-script.js';

const quick = flag('--quick');
const seconds = Number(arg('--seconds') ?? 100);
const t0 = Date.now();
const run = await startGpuScript('linalg-gpu');
const { gpu, log, gpuErrors, date, file } = run;

interface LinalgRecord {
  what: string;
  path: Path;
  n: number;
  batch: number;
  /** Right-hand columns (the triangular solve). */
  k?: number;
  medianMs: number;
  ms: number[];
  /** The residual described above, for the factorizations. */
  residual?: number;
  ok: boolean;
}
type Path = 'blocked' | 'blocked, loop update' | 'blocked, full product' | 'per-matrix' | 'auto';
const records: LinalgRecord[] = [];
const notRun: string[] = [];
const failures: string[] = [];
function save(): void {
  run.save({
    what: 'tapegrad linear algebra on webgpu through Dawn in Node (benchmarks/gpu/linalg-gpu.ts), float32',
    quick,
    records,
    notRun,
    gpuErrors: gpuErrors.slice(0, 20),
    failures: run.withGpuErrors(failures),
  });
}

const outOfTime = () => (Date.now() - t0) / 1000 > seconds;

/** One warm-up call, then `reps` calls, each awaited through the sum of its output. */
async function time(f: () => TF.Tensor, reps: number): Promise<number[]> {
  const once = async () => {
    const start = performance.now();
    const y = f();
    const s = tf.sum(y);
    await s.data();
    tf.dispose([y, s]);
    return performance.now() - start;
  };
  await once();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) ms.push(await once());
  return ms;
}

function randomMatrices(batch: number, n: number, seed: number, spd: boolean): TF.Tensor {
  return tf.tidy(() => {
    const g = tf.randomNormal([batch, n, n], 0, 1, 'float32', seed);
    // spd: GᵀG/n + I; else G with n added on the diagonal only for solve/inv/det (well conditioned).
    return spd ? tf.add(tf.div(tf.matMul(g, g, true, false), n), tf.eye(n)) : g;
  });
}

/** The residual of the factors of matrix 0 against a random vector, in float64. */
async function residual(kind: 'lu' | 'cholesky', a: TF.Tensor, f: TF.Tensor, n: number): Promise<number> {
  const w = kind === 'lu' ? n + 1 : n;
  const first = async (t: TF.Tensor, cols: number) => {
    const s = tf.slice(t, [0, 0, 0], [1, n, cols]);
    const v = Float64Array.from((await s.data()) as Float32Array);
    s.dispose();
    return v;
  };
  const av = await first(a, n);
  const fv = await first(f, w);
  const z = Array.from({ length: n }, (_, i) => Math.sin(i + 1));
  let aNorm = 0;
  for (let i = 0; i < n; i++) {
    let row = 0;
    for (let j = 0; j < n; j++) row += Math.abs(av[i * n + j]);
    aNorm = Math.max(aNorm, row);
  }
  const lhs = new Float64Array(n); // (P·A·z)_i = (A·z)_{perm[i]}, or A·z
  const az = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) az[i] += av[i * n + j] * z[j];
  for (let i = 0; i < n; i++) lhs[i] = kind === 'lu' ? az[fv[i * w + n]] : az[i];
  const inner = new Float64Array(n); // U·z, or Lᵀ·z
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++) inner[i] += (kind === 'lu' ? fv[i * w + j] : fv[j * w + i]) * z[j];
  let worst = 0;
  for (let i = 0; i < n; i++) {
    let s = kind === 'lu' ? inner[i] : 0; // L's unit diagonal (LU) or its stored one (Cholesky)
    for (let j = 0; j < (kind === 'lu' ? i : i + 1); j++) s += fv[i * w + j] * inner[j];
    worst = Math.max(worst, Math.abs(lhs[i] - s));
  }
  return worst / (n * aNorm * Math.max(...z.map(Math.abs)));
}

async function factorCase(kind: 'lu' | 'cholesky', path: Path, n: number, batch: number) {
  const what = kind === 'lu' ? 'LinalgLu' : 'LinalgCholesky';
  const name = `${what} n=${n} batch=${batch} ${path}`;
  if (outOfTime()) return void notRun.push(name);
  if (path === 'blocked, loop update') testing.setGpuFactorPath('blocked', 32, Infinity);
  else testing.setGpuFactorPath(path === 'blocked, full product' ? 'blocked' : path);
  testing.setCholeskyProductTriangle(path === 'blocked, full product' ? 'full' : 'lower');
  const a = randomMatrices(batch, n, n + batch, kind === 'cholesky');
  const factor = () => tf.engine().runKernel(what, { x: a }) as TF.Tensor;
  const ms = await time(factor, n >= 2048 || path === 'per-matrix' ? 3 : 5);
  const f = factor();
  const r = await residual(kind, a, f, n);
  tf.dispose([a, f]);
  const ok = r < 1e-5 * Math.max(1, n / 64);
  if (!ok) failures.push(`${name}: residual ${r.toExponential(2)}`);
  records.push({ what, path, n, batch, medianMs: median(ms), ms, residual: r, ok });
  log(`${name}: ${median(ms).toFixed(2)} ms, residual ${r.toExponential(1)}`);
  save();
}

/** ‖T·x − b‖∞ / (n ‖T‖∞ ‖x‖∞) over the first `cols` columns, T lower triangular, in float64. */
async function solveResidual(t: TF.Tensor, b: TF.Tensor, x: TF.Tensor, n: number, k: number, cols: number) {
  const [tv, bv, xv] = await Promise.all(
    [t, b, x].map(async (v) => Float64Array.from((await v.data()) as Float32Array)),
  );
  let tNorm = 0;
  for (let i = 0; i < n; i++) {
    let row = 0;
    for (let j = 0; j <= i; j++) row += Math.abs(tv[i * n + j]);
    tNorm = Math.max(tNorm, row);
  }
  let worst = 0;
  let xNorm = 0;
  for (let c = 0; c < cols; c++)
    for (let i = 0; i < n; i++) {
      let r = bv[i * k + c];
      for (let j = 0; j <= i; j++) r -= tv[i * n + j] * xv[j * k + c];
      worst = Math.max(worst, Math.abs(r));
      xNorm = Math.max(xNorm, Math.abs(xv[i * k + c]));
    }
  return worst / (n * tNorm * xNorm);
}

async function triangularSolveCase(path: Path, n: number, k: number) {
  const what = 'LinalgTriangularSolve';
  const name = `${what} n=${n} k=${k} ${path}`;
  if (outOfTime()) return void notRun.push(name);
  testing.setGpuFactorPath('blocked', 32, path === 'blocked, loop update' ? Infinity : undefined);
  // the identity plus a lower-triangular part of size 1/√n: well conditioned
  const t = tf.tidy(() =>
    tf.add(
      tf.mul(tf.linalg.bandPart(tf.randomNormal([1, n, n], 0, 1, 'float32', n), -1, 0), 1 / Math.sqrt(n)),
      tf.eye(n),
    ),
  );
  const b = tf.randomNormal([1, n, k], 0, 1, 'float32', n + 1);
  const attrs = { lower: true, transpose: false, unitDiagonal: false };
  const solve = () => tf.engine().runKernel(what, { a: t, b }, attrs as never) as TF.Tensor;
  const ms = await time(solve, n >= 2048 ? 3 : 5);
  const x = solve();
  const r = await solveResidual(t, b, x, n, k, 4);
  tf.dispose([t, b, x]);
  const ok = r < 1e-5 * Math.max(1, n / 64);
  if (!ok) failures.push(`${name}: residual ${r.toExponential(2)}`);
  records.push({ what, path, n, batch: 1, k, medianMs: median(ms), ms, residual: r, ok });
  log(`${name}: ${median(ms).toFixed(2)} ms, residual ${r.toExponential(1)}`);
  save();
}

async function opCase(what: 'solve' | 'inv' | 'det' | 'grad sum(solve)', n: number) {
  const name = `${what} n=${n}`;
  if (outOfTime()) return void notRun.push(name);
  testing.setGpuFactorPath('auto');
  const a = tg.tidy(() => tg.randn([n, n], { seed: n }).add(tg.eye(n).mul(n)));
  const b = tg.randn([n, 4], { seed: n + 1 });
  const grad = tg.grad((x: InstanceType<typeof tg.Tensor>) => tg.linalg.solve(x, b).sum());
  const op = (): TF.Tensor =>
    tg.tidy(() => {
      const y =
        what === 'solve'
          ? tg.linalg.solve(a, b)
          : what === 'inv'
            ? tg.linalg.inv(a)
            : what === 'det'
              ? tg.linalg.slogdet(a)[1]
              : grad(a);
      return tf.keep(y.value.clone());
    });
  const ms = await time(op, 3);
  tg.dispose([a, b]);
  records.push({ what, path: 'auto', n, batch: 1, medianMs: median(ms), ms, ok: true });
  log(`${name}: ${median(ms).toFixed(2)} ms`);
  save();
}

const tensorsAtStart = tf.memory().numTensors;
const big = quick ? [48, 96, 160] : [256, 1024, 2048, 4096];
const bothPaths = quick ? [48] : [64, 256];
const bothUpdates = quick ? [96, 160] : [1024, 2048];
const batches: [number, number][] = quick
  ? [
      [64, 8],
      [4, 40],
    ]
  : [
      [4096, 8],
      [256, 64],
      [16, 256],
    ];
const ops = quick ? [32] : [256, 1024];
const solveColumns = quick ? 64 : 256;

for (const kind of ['lu', 'cholesky'] as const) {
  for (const n of bothPaths) {
    await factorCase(kind, 'per-matrix', n, 1);
    await factorCase(kind, 'blocked', n, 1);
  }
  for (const n of big) {
    if (bothPaths.includes(n)) continue;
    await factorCase(kind, 'blocked', n, 1);
    if (bothUpdates.includes(n)) await factorCase(kind, 'blocked, loop update', n, 1);
    if (bothUpdates.includes(n) && kind === 'cholesky') await factorCase(kind, 'blocked, full product', n, 1);
  }
  for (const [batch, n] of batches) {
    await factorCase(kind, 'per-matrix', n, batch);
    await factorCase(kind, 'blocked', n, batch);
  }
}
for (const n of bothUpdates)
  for (const path of ['blocked', 'blocked, loop update'] as const) await triangularSolveCase(path, n, solveColumns);
for (const n of ops) for (const what of ['solve', 'inv', 'det', 'grad sum(solve)'] as const) await opCase(what, n);
testing.setGpuFactorPath('auto');
testing.setCholeskyProductTriangle('lower');
const leaked = tf.memory().numTensors - tensorsAtStart;
if (leaked !== 0) failures.push(`${leaked} tensors left behind`);
save();

console.log(`# tapegrad linear algebra on ${gpu} (webgpu through Dawn), ${date.slice(0, 10)}\n`);
console.log('| what | n | batch | path | median ms | residual |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of records)
  console.log(
    `| ${r.what}${r.k ? ` (k = ${r.k})` : ''} | ${r.n} | ${r.batch} | ${r.path} | ${r.medianMs.toFixed(3)} | ` +
      `${r.residual?.toExponential(1) ?? ''} |`,
  );
if (notRun.length) console.log(`\nnot run (past ${seconds} s): ${notRun.join('; ')}`);
const allFailures = run.withGpuErrors(failures);
console.log(allFailures.length ? `\nFAILED: ${allFailures.join('; ')}` : '\nall residuals within bounds');
console.log(`wrote ${file}`);
process.exit(allFailures.length ? 1 : 0);
