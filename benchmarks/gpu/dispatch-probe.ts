// Where a webgpu dispatch's CPU time goes, in Node through Dawn. This probe times each WebGPU call
// TF.js makes per dispatch, bare (no TF.js), and then TF.js's own op path, so that a run can tell
// the driver's cost from TF.js's and from tapegrad's (docs/benchmarks.md has the figures).
//
//   bash scripts/gpu-bundle.sh                                # here: bundles .gpu/dispatch-probe.mjs
//   bash .gpu/run.sh dispatch-probe.mjs                       # there (about 20 s); JSON to $OUT
//   LD_LIBRARY_PATH=/usr/lib/chromium VK_DRIVER_FILES=/usr/lib/chromium/vk_swiftshader_icd.json \
//     node --import tsx benchmarks/gpu/dispatch-probe.ts           # here, on SwiftShader, to compare
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf, tg } from './gpu-script.js';

// The WebGPU globals Dawn provides (GPUBufferUsage, GPUMapMode), typed loosely: this file is the
// only one that calls WebGPU directly, and the project has no @webgpu/types.
/* eslint-disable @typescript-eslint/no-explicit-any */
const g = globalThis as any;
const adapter = await g.navigator.gpu.requestAdapter();
if (!adapter) {
  console.error('dispatch-probe: Dawn found no GPU adapter');
  process.exit(2);
}
const gpu = [adapter.info?.vendor, adapter.info?.architecture, adapter.info?.device, adapter.info?.description]
  .filter(Boolean)
  .join(' ');
const device = await adapter.requestDevice();
const results: Record<string, number> = {};

/** Median over 5 rounds of the time per call, in microseconds. */
async function time(name: string, calls: number, round: () => Promise<void> | void): Promise<void> {
  const per: number[] = [];
  await round(); // warm-up
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    await round();
    per.push(((performance.now() - t0) * 1000) / calls);
  }
  results[name] = per.sort((a, b) => a - b)[2];
  console.log(`${name.padEnd(58)} ${results[name].toFixed(1).padStart(8)} µs`);
}

const { STORAGE, UNIFORM, COPY_DST, COPY_SRC, MAP_READ } = g.GPUBufferUsage;
const N = 500;

// ---- the WebGPU calls, bare

await time('createBuffer 4 KiB + destroy', N, () => {
  for (let i = 0; i < N; i++) device.createBuffer({ size: 4096, usage: STORAGE | COPY_DST }).destroy();
});
await time('createBuffer 4 KiB mappedAtCreation + unmap + destroy', N, () => {
  for (let i = 0; i < N; i++) {
    const b = device.createBuffer({ size: 4096, usage: g.GPUBufferUsage.MAP_WRITE | COPY_SRC, mappedAtCreation: true });
    b.getMappedRange();
    b.unmap();
    b.destroy();
  }
});
const uniform = device.createBuffer({ size: 16, usage: UNIFORM | COPY_DST });
const data = new Int32Array(4);
await time('queue.writeBuffer 16 B', N, () => {
  for (let i = 0; i < N; i++) device.queue.writeBuffer(uniform, 0, data);
});
const module = device.createShaderModule({
  code: `@group(0) @binding(0) var<storage, read_write> x : array<f32>;
@group(0) @binding(1) var<uniform> u : vec4<i32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id : vec3<u32>) {
  if (i32(id.x) < u.x) { x[id.x] = x[id.x] + 1.0; }
}`,
});
const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
const storage = device.createBuffer({ size: 4096, usage: STORAGE | COPY_SRC | COPY_DST });
device.queue.writeBuffer(uniform, 0, new Int32Array([1000, 0, 0, 0]));
const bind = () =>
  device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: storage } },
      { binding: 1, resource: { buffer: uniform } },
    ],
  });
await time('createBindGroup (2 entries)', N, () => {
  for (let i = 0; i < N; i++) bind();
});
const group = bind();
await time('dispatch in one pass, one submit, wait (per dispatch)', N, async () => {
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  for (let i = 0; i < N; i++) {
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(16);
  }
  pass.end();
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
});
await time('encoder + pass + dispatch + submit each, wait at end', N, async () => {
  for (let i = 0; i < N; i++) {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(16);
    pass.end();
    device.queue.submit([enc.finish()]);
  }
  await device.queue.onSubmittedWorkDone();
});
await time('as TF.js per dispatch: writeBuffer + bindGroup + dispatch, submit /15', N, async () => {
  let enc = device.createCommandEncoder();
  let pass = enc.beginComputePass();
  for (let i = 0; i < N; i++) {
    device.queue.writeBuffer(uniform, 0, data);
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind());
    pass.dispatchWorkgroups(16);
    if (i % 15 === 14) {
      pass.end();
      device.queue.submit([enc.finish()]);
      enc = device.createCommandEncoder();
      pass = enc.beginComputePass();
    }
  }
  pass.end();
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
});
const readback = device.createBuffer({ size: 16, usage: MAP_READ | COPY_DST });
await time('read 16 B back (copy + submit + mapAsync + unmap)', 50, async () => {
  for (let i = 0; i < 50; i++) {
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(storage, 0, readback, 0, 16);
    device.queue.submit([enc.finish()]);
    await readback.mapAsync(g.GPUMapMode.READ);
    readback.unmap();
  }
});

// ---- TF.js's op path and tapegrad's, on the same process's TF.js webgpu backend

await tg.setBackend('webgpu');
tf.env().set('WEBGPU_CPU_FORWARD', false);
const v = tf.randomNormal([1000]);
const chain = (steps: number) =>
  tf.tidy(() => {
    let y = v;
    for (let i = 0; i < steps; i++) y = tf.add(y, y);
    return y;
  });
for (const batch of [15, 100]) {
  tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', batch);
  await time(`TF.js: tf.add on a 1000-vector, chained (submit /${batch})`, N, async () => {
    const y = chain(N);
    await y.data();
    y.dispose();
  });
}
tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', 15);
const tv = tg.tensor(await v.data());
await time('tapegrad: tg.add on a 1000-vector, chained (no grad)', N, async () => {
  const y = tg.tidy(() => {
    let y = tv;
    for (let i = 0; i < N; i++) y = tg.add(y, y);
    return y;
  });
  await y.data();
  y.dispose();
});
// The host's own speed, for scale: the same chain on TF.js's cpu backend (no GPU at all).
await tg.setBackend('cpu');
const vc = tf.randomNormal([1000]);
await time('host: tf.add on a 1000-vector, chained, cpu backend', N, async () => {
  const y = tf.tidy(() => {
    let y = vc;
    for (let i = 0; i < N; i++) y = tf.add(y, y);
    return y;
  });
  await y.data();
  y.dispose();
});
await tg.setBackend('webgpu');
const be = tf.backend() as unknown as {
  bufferManager: { numBytesAllocated: number; getNumFreeBuffers(): number; getNumUsedBuffers(): number };
};
const report = {
  what: 'per-call CPU time of WebGPU calls through Dawn in Node, and of TF.js ops on its webgpu backend (benchmarks/gpu/dispatch-probe.ts), µs, median of 5 rounds',
  gpu,
  date: new Date().toISOString(),
  node: process.version,
  microseconds: results,
  bufferManager: {
    allocatedBytes: be.bufferManager.numBytesAllocated,
    free: be.bufferManager.getNumFreeBuffers(),
    used: be.bufferManager.getNumUsedBuffers(),
  },
};
const dir = process.env.OUT ?? '.';
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'dispatch-probe.json'), JSON.stringify(report, null, 1) + '\n');
console.log(`\n${gpu}: written ${join(dir, 'dispatch-probe.json')}`);
process.exit(0);
