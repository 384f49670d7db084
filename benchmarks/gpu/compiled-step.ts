// The MLP's Adam step (mlp-step.ts: B → B → 10 on B samples, cross-entropy) compiled whole with
// tg.compile — on webgpu replayed from its recorded GPU work, one command buffer a step — beside
// the same step eager, at B = 64, 256, 1024 and 4096, with the GPU check's protocol: 6 warm-up
// steps; pipelined (20 steps, then one read; 3 rounds, median; `enqueueMs`: the JavaScript time
// of those steps before the wait for the GPU); synced (the loss read every step); steady
// (pipelined again after 200 more steps). Per step it also counts the dispatches and the command
// buffers submitted, checks that the compiled losses equal the eager ones bit for bit (the same
// kernels run), and that no tensor leaks. PyTorch's figures for the same sizes:
// benchmarks/gpu/torch_adam_mlp.py --sizes 64,256,1024,4096 --graphs.
//
//   node --import tsx benchmarks/gpu/compiled-step.ts [--quick] [--sizes 64,256] [--backend wasm]
//   bash .gpu/run.sh compiled-step.mjs                 # on the GPU host (scripts/gpu-bundle.sh)
//
// --quick (a dry run on Dawn over SwiftShader): B = 64 and a short protocol. Writes
// $OUT/compiled-step.json (or benchmarks/results/compiled-step-<gpu>-<date>.json); exits 1 when a
// check fails (unequal losses, a leak, a WebGPU validation error).
import { arg, flag, median, startGpuScript, testing, tg } from './gpu-script.js';
const { compiledMlpAdamStep, mlpAdamStep, pipelinedRound } = await import('./mlp-step.js');

const quick = flag('--quick');
const backend = (arg('--backend') ?? 'webgpu') as 'webgpu' | 'wasm' | 'cpu';
const sizes = (arg('--sizes') ?? (quick ? '64' : '64,256,1024,4096')).split(',').map(Number);
// the protocol: rounds of 20 steps; the quick form is shorter (SwiftShader computes in software)
const roundSteps = quick ? 5 : 20;
const moreSteps = quick ? 10 : 200;
const run = await startGpuScript('compiled-step', { backend });
const { gpu, log, gpuErrors } = run;

interface StepRecord {
  size: string;
  B: number;
  mode: 'eager' | 'compiled';
  /** Dispatches and command buffers (submits) one step makes, counted at WebGPU's own calls. */
  dispatchesPerStep: number | null;
  commandBuffersPerStep: number | null;
  pipelinedMs: number;
  enqueueMs: number;
  syncedMs: number;
  steadyPipelinedMs: number;
  steadyEnqueueMs: number;
  losses: number[];
  leakedTensors: number;
  traces?: number;
}

/** Dispatches and command buffers submitted while `f` runs (WebGPU's prototypes counted), null off webgpu. */
function countGpuWork(f: () => void): { dispatches: number; commandBuffers: number } | null {
  const g = globalThis as unknown as Record<string, { prototype: Record<string, (...a: unknown[]) => unknown> }>;
  const pass = g.GPUComputePassEncoder?.prototype;
  const queue = g.GPUQueue?.prototype;
  if (backend !== 'webgpu' || !pass || !queue) {
    f();
    return null;
  }
  const { dispatchWorkgroups } = pass;
  const { submit } = queue;
  let dispatches = 0;
  let commandBuffers = 0;
  pass.dispatchWorkgroups = function (this: unknown, ...a: unknown[]) {
    dispatches++;
    return dispatchWorkgroups.apply(this, a);
  };
  queue.submit = function (this: unknown, ...a: unknown[]) {
    commandBuffers += (a[0] as unknown[]).length;
    return submit.apply(this, a);
  };
  try {
    f();
  } finally {
    pass.dispatchWorkgroups = dispatchWorkgroups;
    queue.submit = submit;
  }
  return { dispatches, commandBuffers };
}

async function time(B: number, mode: 'eager' | 'compiled'): Promise<StepRecord> {
  const before = tg.memory().numTensors;
  const made = mode === 'eager' ? mlpAdamStep(B, B, B) : compiledMlpAdamStep(B, B, B);
  const { step, dispose } = made;
  // warm-up: the compiled step traces, traces again once Adam has state, then records its GPU work
  const losses: number[] = [];
  for (let i = 0; i < 6; i++) {
    const l = step();
    losses.push((await l.data())[0]);
    l.dispose();
  }
  let counted: { dispatches: number; commandBuffers: number } | null = null;
  let last: InstanceType<typeof tg.Tensor> | null = null;
  counted = countGpuWork(() => {
    last = step();
  });
  // (an eager step ends with a submit of its queued commands: the optimizer's endOfStep)
  await last!.data();
  last!.dispose();
  const rounds = [];
  for (let round = 0; round < 3; round++) rounds.push(await pipelinedRound(step, roundSteps));
  const synced: number[] = [];
  for (let i = 0; i < roundSteps; i++) {
    const start = performance.now();
    const l = step();
    await l.data();
    l.dispose();
    synced.push(performance.now() - start);
  }
  for (let i = 0; i < moreSteps / roundSteps; i++) await pipelinedRound(step, roundSteps);
  const steady = [];
  for (let round = 0; round < 3; round++) steady.push(await pipelinedRound(step, roundSteps));
  const traces = 'traces' in made ? (made as { traces: () => number }).traces() : undefined;
  dispose();
  return {
    size: `B=${B} ${B}→${B}→10`,
    B,
    mode,
    dispatchesPerStep: counted?.dispatches ?? null,
    commandBuffersPerStep: counted?.commandBuffers ?? null,
    pipelinedMs: median(rounds.map((r) => r.ms)),
    enqueueMs: median(rounds.map((r) => r.enqueueMs)),
    syncedMs: median(synced),
    steadyPipelinedMs: median(steady.map((r) => r.ms)),
    steadyEnqueueMs: median(steady.map((r) => r.enqueueMs)),
    losses,
    leakedTensors: tg.memory().numTensors - before,
    traces,
  };
}

const records: StepRecord[] = [];
const failures: string[] = [];
function save(): void {
  run.save({
    what: `tapegrad's MLP Adam step compiled (tg.compile; on webgpu its GPU work replayed) and eager (benchmarks/gpu/compiled-step.ts), ${backend} backend in Node, float32`,
    protocol: { roundSteps, moreSteps },
    records,
    replay: { ...testing.webgpuReplayCounters, refusals: testing.webgpuReplayCounters.refusals.slice(0, 5) },
    gpuErrors: gpuErrors.slice(0, 10),
    failures: run.withGpuErrors(failures),
  });
}

log(`${gpu}: sizes ${sizes.join(', ')}`);
for (const B of sizes) {
  const eager = await time(B, 'eager');
  records.push(eager);
  save();
  const compiled = await time(B, 'compiled');
  records.push(compiled);
  for (const r of [eager, compiled])
    if (r.leakedTensors !== 0) failures.push(`${r.size} ${r.mode}: ${r.leakedTensors} tensors leaked`);
  if (JSON.stringify(compiled.losses) !== JSON.stringify(eager.losses))
    failures.push(`${compiled.size}: compiled losses ${compiled.losses} differ from eager ${eager.losses}`);
  if (compiled.traces !== 2) failures.push(`${compiled.size}: traced ${compiled.traces} times (2 expected)`);
  for (const r of [eager, compiled])
    log(
      `${r.size} ${r.mode.padEnd(8)}: ${r.pipelinedMs.toFixed(3)} ms/step pipelined (${r.enqueueMs.toFixed(3)} enqueue), ${r.syncedMs.toFixed(3)} synced, ${r.steadyPipelinedMs.toFixed(3)} steady (${r.steadyEnqueueMs.toFixed(3)} enqueue), ${r.dispatchesPerStep} dispatches and ${r.commandBuffersPerStep} command buffers a step`,
    );
  save();
}

const lines = [
  `compiled Adam step on ${gpu} (ms per step; enqueue: JavaScript time before the wait for the GPU)`,
  '| size | mode | dispatches | command buffers | pipelined | enqueue | synced | steady | steady enqueue |',
  '|---|---|---|---|---|---|---|---|---|',
  ...records.map(
    (r) =>
      `| ${r.size} | ${r.mode} | ${r.dispatchesPerStep ?? '-'} | ${r.commandBuffersPerStep ?? '-'} | ${r.pipelinedMs.toFixed(3)} | ${r.enqueueMs.toFixed(3)} | ${r.syncedMs.toFixed(3)} | ${r.steadyPipelinedMs.toFixed(3)} | ${r.steadyEnqueueMs.toFixed(3)} |`,
  ),
];
console.log(lines.join('\n'));
if (failures.length || gpuErrors.length) {
  console.error(`compiled-step: FAILED\n${[...failures, ...gpuErrors.slice(0, 3)].join('\n')}`);
  process.exit(1);
}
