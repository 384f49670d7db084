// Where the CPU time of one MLP Adam training step goes on webgpu in Node (Dawn): the step of
// the GPU check (B = 1024, 1024 → 1024 → 10, cross-entropy, Adam), timed bare, then with
// timers wrapped around the layers a dispatch passes through — TF.js's engine (runKernel), the
// webgpu backend (runWebGPUProgram, makeUniforms, buffer acquisition, uploads), and the WebGPU
// calls themselves (createBindGroup, writeBuffer, submit, pass encoding) — with the number of
// each per step; what the step takes beyond runKernel is tapegrad's tape and tidy.
//
//   bash scripts/gpu-bundle.sh                                # here: bundles .gpu/step-profile.mjs
//   bash .gpu/run.sh step-profile.mjs [B] [--quick]           # there; JSON to $OUT
// --quick (a dry run on a software adapter): rounds of 5 steps, a fifth as many rounds and uploads.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGpuScript, testing as dispatch, tf, tg } from './gpu-script.js';
const { median, mlpAdamStep, pipelinedRound } = await import('./mlp-step.js');

/* eslint-disable @typescript-eslint/no-explicit-any */
const B = Number(process.argv[2] ?? 1024);
const wrapOff = process.argv.includes('--no-wrap');
const quick = process.argv.includes('--quick');
const roundSteps = quick ? 5 : 20;
const scaled = (n: number) => (quick ? Math.max(2, Math.ceil(n / 5)) : n);
const { gpu, date } = await startGpuScript('step-profile');
const backend = tf.backend() as any;

const { step } = mlpAdamStep(B, B, B);

/** ms per step over rounds of 20 queued steps: [pipelined, enqueue] medians, and each round's. */
async function timeSteps(rounds: number): Promise<{ pipelinedMs: number; enqueueMs: number; all: number[] }> {
  const rs = [];
  for (let r = 0; r < scaled(rounds); r++) rs.push(await pipelinedRound(step, roundSteps));
  return {
    pipelinedMs: median(rs.map((r) => r.ms)),
    enqueueMs: median(rs.map((r) => r.enqueueMs)),
    all: rs.map((r) => +r.ms.toFixed(3)),
  };
}

for (let i = 0; i < 10; i++) {
  const l = step();
  await l.data();
  l.dispose();
}
// The same step without tapegrad's dispatch cache (kernels/webgpu-dispatch.ts), then with it.
// (Off, Adam's small per-step input goes through TF.js's upload, not just its dispatch.)
dispatch.setDispatchCacheEnabled(false);
const uncached = await timeSteps(10);
console.log(
  `B=${B} without the dispatch cache: ${uncached.pipelinedMs.toFixed(3)} ms/step pipelined, ${uncached.enqueueMs.toFixed(3)} enqueue; rounds ${uncached.all.join(' ')}`,
);
dispatch.setDispatchCacheEnabled(true);
const s0 = dispatch.dispatchCacheStats()!;
const bare = await timeSteps(15);
const s1 = dispatch.dispatchCacheStats()!;
const cacheStats = { ...s1, hits: s1.hits - s0.hits, misses: s1.misses - s0.misses };
console.log(
  `B=${B} with the dispatch cache:    ${bare.pipelinedMs.toFixed(3)} ms/step pipelined, ${bare.enqueueMs.toFixed(3)} enqueue; rounds ${bare.all.join(' ')}`,
);
console.log(
  `  bind groups: ${cacheStats.hits} hits, ${cacheStats.misses} misses over ${scaled(15) * roundSteps} steps; holding ${s1.uniformBuffers} uniform buffers, ${s1.bindGroups} bind groups`,
);

// ---- TF.js's commands per submit (the optimizer submits at each step's end as well)
const batchSweep: Record<string, number> = {};
for (const batch of [15, 32, 64, 15]) {
  tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', batch);
  const r = await timeSteps(8);
  batchSweep[`${batch}`] = +r.pipelinedMs.toFixed(3);
  console.log(
    `  WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE ${batch}: ${r.pipelinedMs.toFixed(3)} ms/step pipelined; rounds ${r.all.join(' ')}`,
  );
}

// ---- uploads: a tensor from JavaScript values, used by one kernel, per upload (µs), without and
// with tapegrad's upload by queue.writeBuffer (kernels/webgpu-dispatch.ts)
const uploads: Record<string, { tfjsUs: number; tapegradUs: number }> = {};
for (const n of [256, 1 << 20]) {
  const values = Float32Array.from({ length: n }, (_, i) => i % 7);
  const us: number[] = [];
  for (const on of [false, true]) {
    dispatch.setDispatchCacheEnabled(on);
    const reps = scaled(n > 1000 ? 20 : 200);
    const per: number[] = [];
    for (let round = 0; round < 3; round++) {
      const t0 = performance.now();
      let last: any = null;
      for (let i = 0; i < reps; i++) {
        last?.dispose();
        const t = tg.tensor(values);
        last = tg.mul(t, 2);
        t.dispose();
      }
      await last.data();
      last.dispose();
      per.push(((performance.now() - t0) * 1000) / reps);
    }
    us.push(per.sort((a, b) => a - b)[1]);
  }
  dispatch.setDispatchCacheEnabled(true);
  uploads[`${n * 4} bytes`] = { tfjsUs: +us[0].toFixed(1), tapegradUs: +us[1].toFixed(1) };
  console.log(
    `upload of ${n * 4} bytes then one kernel: TF.js's upload ${us[0].toFixed(1)} µs, by writeBuffer ${us[1].toFixed(1)} µs`,
  );
}

// ---- timers around each layer
const totals: Record<string, { ms: number; calls: number }> = {};
function wrap(obj: any, method: string, label: string): void {
  const original = obj[method];
  if (typeof original !== 'function') return;
  totals[label] = { ms: 0, calls: 0 };
  obj[method] = function (this: unknown, ...args: unknown[]) {
    const t0 = performance.now();
    try {
      return original.apply(this, args);
    } finally {
      totals[label].ms += performance.now() - t0;
      totals[label].calls++;
    }
  };
}
const engine = tf.engine() as any;
let result: any = { gpu, date, B, roundSteps, uncached, cached: bare, cacheStats, batchSweep, uploads };
if (!wrapOff) {
  wrap(engine, 'runKernel', 'tf engine.runKernel (incl. all below)');
  wrap(backend, 'runWebGPUProgram', 'backend.runWebGPUProgram');
  wrap(backend, 'recordAndSubmit', 'backend.recordAndSubmit');
  wrap(backend, 'makeUniforms', 'backend.makeUniforms');
  wrap(backend, 'uploadToGPU', 'backend.uploadToGPU');
  wrap(backend, 'submitQueue', 'backend.submitQueue');
  wrap(backend, 'disposeData', 'backend.disposeData');
  wrap(backend, 'write', 'backend.write (new tensor data)');
  wrap(backend.bufferManager, 'acquireBuffer', 'bufferManager.acquireBuffer');
  wrap(backend.bufferManager, 'releaseBuffer', 'bufferManager.releaseBuffer');
  wrap(backend.device, 'createBindGroup', 'device.createBindGroup');
  wrap(backend.device, 'createBuffer', 'device.createBuffer');
  wrap(backend.device, 'createCommandEncoder', 'device.createCommandEncoder');
  wrap(backend.queue, 'writeBuffer', 'queue.writeBuffer');
  wrap(backend.queue, 'submit', 'queue.submit');
  // Pass encoding: wrap the prototype of the pass encoder TF.js will create.
  const probeEncoder = backend.device.createCommandEncoder();
  const pass = probeEncoder.beginComputePass();
  const passProto = Object.getPrototypeOf(pass);
  wrap(passProto, 'setPipeline', 'pass.setPipeline');
  wrap(passProto, 'setBindGroup', 'pass.setBindGroup');
  wrap(passProto, 'dispatchWorkgroups', 'pass.dispatchWorkgroups');
  wrap(passProto, 'end', 'pass.end');
  pass.end();
  probeEncoder.finish();
  const pipeline = Object.values(backend.pipelineCache)[0] as any;
  wrap(Object.getPrototypeOf(pipeline), 'getBindGroupLayout', 'pipeline.getBindGroupLayout');
  const encProto = Object.getPrototypeOf(probeEncoder);
  wrap(encProto, 'beginComputePass', 'encoder.beginComputePass');
  wrap(encProto, 'finish', 'encoder.finish');
  wrap(encProto, 'copyBufferToBuffer', 'encoder.copyBufferToBuffer');

  for (const k of Object.keys(totals)) totals[k] = { ms: 0, calls: 0 };
  const wrapped = await timeSteps(15);
  const steps = scaled(15) * roundSteps;
  console.log(
    `with timers: ${wrapped.pipelinedMs.toFixed(3)} ms/step pipelined, ${wrapped.enqueueMs.toFixed(3)} enqueue`,
  );
  const perStep: Record<string, { usPerStep: number; callsPerStep: number; usPerCall: number }> = {};
  for (const [k, v] of Object.entries(totals)) {
    if (v.calls === 0) continue;
    perStep[k] = {
      usPerStep: +((v.ms * 1000) / steps).toFixed(1),
      callsPerStep: +(v.calls / steps).toFixed(2),
      usPerCall: +((v.ms * 1000) / v.calls).toFixed(2),
    };
    console.log(
      `${k.padEnd(44)} ${perStep[k].usPerStep.toFixed(1).padStart(9)} µs/step  ${perStep[k].callsPerStep.toFixed(2).padStart(7)} calls  ${perStep[k].usPerCall.toFixed(2).padStart(8)} µs/call`,
    );
  }
  result = { ...result, wrapped, perStep };
}
const dir = process.env.OUT ?? '.';
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, `step-profile-${B}${wrapOff ? '-bare' : ''}.json`), JSON.stringify(result, null, 1) + '\n');
process.exit(0);
