// The GPU check: tapegrad on TF.js's 'webgpu' backend in Node, through Dawn (the `webgpu`
// package), on an NVIDIA GPU machine. docs/gpu.md has the one command that stages and runs it.
//
//   1. the fused kernels (src/backend/fused.ts) against their references, at training sizes;
//   2. one Adam training step of an MLP, cross-entropy on 10 classes: B = 1024, 1024 → 1024 → 10
//      and B = 4096, 4096 → 4096 → 10, with the fused kernels and without; per step, both
//      pipelined (20 steps, then one read) and synced (the loss read after every step), after 6
//      warm-up steps, and pipelined again after 200 more ("steady": JavaScript's JIT warmed up);
//   3. the same step at B = 1024 under TF.js's webgpu tuning flags (commands per submit, the
//      matmul workgroup threshold), to choose tapegrad's defaults from measurements;
//   4. the op-registry gradcheck suite (test/op-cases.ts), full mode, every case, within
//      --gradcheck-seconds (default 240; cases past it are reported as not run), twice on webgpu:
//      with WEBGPU_CPU_FORWARD off (every op on the GPU's kernels) and on (TF.js's default, under
//      which small CPU-resident inputs are computed by its CPU kernels). --gradcheck-mode fast
//      checks random directions instead (tg.gradcheck's fast mode): every case and kernel still
//      runs, at a fraction of the evaluations, for a dry run on a software adapter.
// --parts fused,mlp,flags,gradcheck chooses the parts (all by default).
// The order puts the figures first, and the JSON is rewritten after each part, so that a run
// cut short by the machine's time limit still brings back what it measured.
//
// Prints a summary and writes everything as JSON to $OUT/gpu-check.json, or to
// benchmarks/results/gpu-check-<gpu>-<date>.json. Exit status 1 if a check failed.
// Every value is read with `await data()`: webgpu has no synchronous read in Node.
//
//   bash scripts/gpu-bundle.sh                              # here: bundles .gpu/gpu-check.mjs
//   bash .gpu/run.sh gpu-check.mjs [--quick]                # there: --quick, smaller MLP sizes
//   node --import tsx benchmarks/gpu/gpu-check.ts --backend wasm --quick   # a dry run without a GPU
import type * as TF from '@tensorflow/tfjs-core';
import { arg, flag, median, relDiff, startGpuScript, testing, tf, tg } from './gpu-script.js';
const { mlpAdamStep, pipelinedRound } = await import('./mlp-step.js');

const fused = await import('../../src/backend/fused.js');
const { cases, compositeCases, flatCases } = await import('../../test/op-cases.js');

const quick = flag('--quick');
const backend = (arg('--backend') ?? 'webgpu') as 'webgpu' | 'wasm' | 'cpu';
const parts = new Set((arg('--parts') ?? 'fused,mlp,flags,gradcheck').split(','));
const gradcheckSeconds = Number(arg('--gradcheck-seconds') ?? 240);
const gradcheckMode = (arg('--gradcheck-mode') ?? 'full') as 'full' | 'fast';
if (gradcheckMode !== 'full' && gradcheckMode !== 'fast') {
  console.error(`gpu-check: --gradcheck-mode is full or fast, not ${gradcheckMode}`);
  process.exit(2);
}
const t0 = Date.now();
const run = await startGpuScript('gpu-check', { backend });
const { gpu, log, gpuErrors, date, file } = run;
log(`${gpu}; backends: ${JSON.stringify(await tg.listBackends())}`);
const failures: string[] = [];

// ---- the report, rewritten after each part

interface CaseResult {
  name: string;
  mode: string;
  ok: boolean;
  maxAbsError?: number;
  ms: number;
  error?: string;
}
interface StepResult {
  size: string;
  fused: boolean;
  kernelsPerStep: number;
  pipelinedMs: number;
  enqueueMs: number;
  syncedMs: number;
  steadyPipelinedMs: number;
  lossFirst: number;
  lossLast: number;
  leakedTensors: number;
}
interface FlagResult {
  flags: Record<string, number>;
  pipelinedMs: number;
  syncedMs: number;
}
const gradchecks: CaseResult[] = [];
const gradcheckNotRun: string[] = [];
const fusedChecks: { kernel: string; shape: number[]; relDiff: number; ok: boolean }[] = [];
const steps: StepResult[] = [];
const flagSweep: FlagResult[] = [];
const allFailures = () => run.withGpuErrors(failures);
function save(): void {
  run.save({
    what: `tapegrad GPU check (benchmarks/gpu/gpu-check.ts): ${backend} backend${backend === 'webgpu' ? ' through Dawn' : ''} in Node, float32`,
    gradcheck: {
      mode: gradcheckMode,
      cases: gradchecks.length,
      failed: gradchecks.filter((r) => !r.ok).length,
      notRun: gradcheckNotRun,
      results: gradchecks,
    },
    fused: fusedChecks,
    mlpAdamStep: steps,
    flagSweep,
    gpuErrors: gpuErrors.slice(0, 20),
    failures: allFailures(),
  });
}

// ---- 1. fused = composed, at training sizes

const rand = (shape: number[], seed: number, scale = 1) => tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), scale);
async function compareFused(kernel: string, shape: number[], got: TF.Tensor[], want: TF.Tensor[]): Promise<void> {
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, await relDiff(got[i], want[i]));
  fusedChecks.push({ kernel, shape, relDiff: worst, ok: worst < 1e-5 });
  if (!(worst < 1e-5)) failures.push(`fused ${kernel} ${JSON.stringify(shape)}: relative difference ${worst}`);
  tf.dispose([...got, ...want]);
}
if (parts.has('fused')) {
  const shape = [1024, 1024];
  const [p, g, m] = [1, 2, 3].map((s) => rand(shape, s));
  const v = tf.abs(rand(shape, 4, 0.1));
  for (const decoupled of [false, true]) {
    const a = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupled, step: 3 };
    await compareFused(
      decoupled ? 'AdamW' : 'Adam',
      shape,
      testing.adamUpdate(p, g, m, v, a),
      fused.adamUpdateReference(p, g, m, v, a),
    );
  }
  await compareFused('reluGrad', shape, [fused.reluGrad(g, m)], [fused.leakyReluGradReference(g, m, 0)]);
  await compareFused(
    'leakyReluGrad',
    shape,
    [fused.leakyReluGrad(g, m, 0.01)],
    [fused.leakyReluGradReference(g, m, 0.01)],
  );
  const z = rand([4096, 10], 5, 3);
  const t = tf.cast(tf.oneHot(tf.randomUniform([4096], 0, 10, 'int32', 6) as TF.Tensor1D, 10), 'float32');
  const both = testing.softmaxCrossEntropy(z, t);
  const ref = fused.softmaxCrossEntropyReference(z, t) as { loss: TF.Tensor; dlogits: TF.Tensor };
  await compareFused('softmaxCrossEntropy', [4096, 10], [both.loss, both.dlogits], [ref.loss, ref.dlogits]);
  tf.dispose([p, g, m, v, z, t]);
}
if (fusedChecks.length)
  log(`fused kernels: ${fusedChecks.map((f) => `${f.kernel} ${f.relDiff.toExponential(1)}`).join(', ')}`);

save();

// ---- 2. the MLP training step with Adam

// --sizes BxDxH,...: other sizes (a dry run on a software GPU takes 64x64x64).
const sizesArg = process.argv.indexOf('--sizes');
const sizes =
  sizesArg > 0
    ? process.argv[sizesArg + 1].split(',').map((s) => s.split('x').map(Number))
    : quick
      ? [
          [256, 256, 256],
          [1024, 1024, 1024],
        ]
      : [
          [1024, 1024, 1024],
          [4096, 4096, 4096],
        ];

/** Times one Adam step of a fresh D → H → 10 MLP on B samples, as a training loop runs it. */
async function timeAdamStep(B: number, D: number, H: number, size: string, useFused: boolean): Promise<StepResult> {
  testing.setFusedEnabled(useFused);
  const before = tg.memory().numTensors;
  const { step, dispose } = mlpAdamStep(B, D, H);
  const first = step();
  const lossFirst = (await first.data())[0];
  first.dispose();
  for (let i = 0; i < 5; i++) {
    const l = step();
    await l.data();
    l.dispose();
  }
  let profiled: InstanceType<typeof tg.Tensor> | null = null;
  const profile = await tf.profile(() => {
    profiled = step();
    return profiled.value;
  });
  profiled!.dispose();
  // Pipelined: 20 steps queued, one read at the end (how a training loop runs), 3 rounds.
  const rounds = [];
  for (let round = 0; round < 3; round++) rounds.push(await pipelinedRound(step));
  // Synced: the loss read after every step (a loop that logs every step).
  const synced: number[] = [];
  let lossLast = NaN;
  for (let i = 0; i < 20; i++) {
    const start = performance.now();
    const l = step();
    lossLast = (await l.data())[0];
    l.dispose();
    synced.push(performance.now() - start);
  }
  // Steady: pipelined again after 200 more steps, once JavaScript's JIT has compiled the hot
  // paths (a process's first rounds are slower: benchmarks/gpu/warmup.ts).
  for (let i = 0; i < 10; i++) await pipelinedRound(step);
  const steady: number[] = [];
  for (let round = 0; round < 3; round++) steady.push((await pipelinedRound(step)).ms);
  dispose();
  testing.setFusedEnabled(true);
  return {
    size,
    fused: useFused,
    kernelsPerStep: profile.kernels.length,
    pipelinedMs: median(rounds.map((r) => r.ms)),
    enqueueMs: median(rounds.map((r) => r.enqueueMs)),
    syncedMs: median(synced),
    steadyPipelinedMs: median(steady),
    lossFirst,
    lossLast,
    leakedTensors: tg.memory().numTensors - before,
  };
}

for (const [B, D, H] of parts.has('mlp') ? sizes : []) {
  const size = `B=${B} ${D}→${H}→10`;
  for (const useFused of [true, false]) {
    const r = await timeAdamStep(B, D, H, size, useFused);
    steps.push(r);
    if (r.leakedTensors !== 0) failures.push(`mlp ${size}: ${r.leakedTensors} tensors leaked`);
    if (!(r.lossLast < r.lossFirst))
      failures.push(`mlp ${size}: the loss did not decrease (${r.lossFirst} → ${r.lossLast})`);
    log(
      `mlp ${size} ${useFused ? 'fused   ' : 'composed'}: ${r.pipelinedMs.toFixed(2)} ms/step pipelined (${r.enqueueMs.toFixed(2)} enqueue), ${r.syncedMs.toFixed(2)} ms synced, ${r.steadyPipelinedMs.toFixed(2)} ms steady, ${r.kernelsPerStep} kernels/step, loss ${r.lossFirst.toFixed(3)} → ${r.lossLast.toFixed(3)}`,
    );
    save();
  }
}

// ---- 3. TF.js's webgpu tuning flags, on the B = 1024 step (fused)

if (backend === 'webgpu' && parts.has('flags')) {
  const [B, D, H] = sizes[Math.max(0, sizes.length - (quick ? 1 : 2))];
  const defaults = { WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE: 15, WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL: -1 };
  for (const batch of [15, 64, 1000]) {
    for (const threshold of [-1, 1024]) {
      const flags = {
        WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE: batch,
        WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL: threshold,
      };
      for (const [k, v] of Object.entries(flags)) tf.env().set(k, v);
      const r = await timeAdamStep(B, D, H, `B=${B} ${D}→${H}→10`, true);
      flagSweep.push({ flags, pipelinedMs: r.pipelinedMs, syncedMs: r.syncedMs });
      log(
        `flags ${JSON.stringify(flags)}: ${r.pipelinedMs.toFixed(2)} ms/step pipelined, ${r.syncedMs.toFixed(2)} ms synced`,
      );
    }
  }
  for (const [k, v] of Object.entries(defaults)) tf.env().set(k, v);
  save();
}

// ---- 4. the op-registry gradcheck suite, within its time budget

const allCases = [...flatCases(cases), ...flatCases(compositeCases)];
// On webgpu twice: every op on the GPU's kernels, then with TF.js's default CPU forwarding.
const cpuForwardModes = !parts.has('gradcheck') ? [] : backend === 'webgpu' ? [false, true] : [undefined];
for (const cpuForward of cpuForwardModes) {
  if (cpuForward !== undefined) tf.env().set('WEBGPU_CPU_FORWARD', cpuForward);
  const mode =
    cpuForward === undefined
      ? backend
      : cpuForward
        ? 'webgpu, WEBGPU_CPU_FORWARD on (TF.js default)'
        : 'webgpu, WEBGPU_CPU_FORWARD off';
  for (const [k, [name, c]] of allCases.entries()) {
    if (Date.now() - t0 > gradcheckSeconds * 1000) {
      gradcheckNotRun.push(...allCases.slice(k).map(([n]) => `${n} (${mode})`));
      break;
    }
    const start = performance.now();
    const xs = c.make(1);
    try {
      const r = await tg.gradcheck(c.f, xs, { ...c.tol, mode: gradcheckMode });
      gradchecks.push({
        name,
        mode,
        ok: r.ok,
        maxAbsError: r.maxAbsError,
        ms: performance.now() - start,
        error: r.ok ? undefined : JSON.stringify(r.worst),
      });
    } catch (e) {
      gradchecks.push({ name, mode, ok: false, ms: performance.now() - start, error: String((e as Error).message) });
    } finally {
      tg.dispose(xs);
    }
    if (k % 50 === 49) {
      log(`gradcheck (${mode}): ${k + 1}/${allCases.length} cases run`);
      save();
    }
  }
}
if (backend === 'webgpu') tf.env().set('WEBGPU_CPU_FORWARD', false);
const badCases = gradchecks.filter((r) => !r.ok);
badCases.forEach((r) => failures.push(`gradcheck ${r.name} (${r.mode}): ${r.error}`));
if (gradcheckNotRun.length)
  failures.push(`gradcheck: ${gradcheckNotRun.length} cases not run within ${gradcheckSeconds} s`);
if (parts.has('gradcheck'))
  log(
    `gradcheck: ${gradchecks.length - badCases.length}/${gradchecks.length} cases pass${gradcheckNotRun.length ? `, ${gradcheckNotRun.length} not run` : ''}`,
  );
await new Promise((r) => setTimeout(r, 200)); // uncaptured GPU errors arrive as events
save();

// ---- the summary

console.log(`\n## tapegrad GPU check — ${gpu}, ${date}\n`);
if (parts.has('gradcheck'))
  console.log(
    `gradcheck (${gradcheckMode} mode, ${backend}): ${gradchecks.length - badCases.length}/${gradchecks.length} cases pass${gradcheckNotRun.length ? ` (${gradcheckNotRun.length} not run)` : ''}`,
  );
if (fusedChecks.length)
  console.log(
    `fused kernels vs composed: ${fusedChecks.map((f) => `${f.kernel} ${f.ok ? 'ok' : 'DIFFERS'} (${f.relDiff.toExponential(1)})`).join(', ')}`,
  );
if (steps.length) {
  console.log(
    '\n| MLP step with Adam | kernels | fused: ms/step pipelined | synced | steady | composed: ms/step pipelined | synced | steady |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
}
for (const [B, D, H] of sizes) {
  const size = `B=${B} ${D}→${H}→10`;
  const f = steps.find((s) => s.size === size && s.fused);
  const c = steps.find((s) => s.size === size && !s.fused);
  if (!f || !c) continue;
  console.log(
    `| ${size} | ${f.kernelsPerStep} vs ${c.kernelsPerStep} | ${f.pipelinedMs.toFixed(2)} | ${f.syncedMs.toFixed(2)} | ${f.steadyPipelinedMs.toFixed(2)} | ${c.pipelinedMs.toFixed(2)} | ${c.syncedMs.toFixed(2)} | ${c.steadyPipelinedMs.toFixed(2)} |`,
  );
}
console.log(`\nwritten: ${file}`);
if (allFailures().length) {
  console.log(`\nFAILED:\n${allFailures().join('\n')}`);
  process.exit(1);
}
