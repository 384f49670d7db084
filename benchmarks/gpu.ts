// The GPU entry: the suites on TF.js's 'webgpu' backend in Node, through Dawn (the `webgpu`
// package), for an NVIDIA GPU machine (docs/gpu.md):
//   bash scripts/gpu-bundle.sh                         # here: bundles into .gpu/gpu.mjs
//   bash .gpu/run.sh gpu.mjs [--suite mlp,matmul] [--size full] [--reps n] [--jax] [--backend webgpu,wasm]
// Results go to $OUT (or benchmarks/results) as <machine>-<date>.json and .svg; the tables to stdout.
// jax-js's own webgpu device is off unless --jax: it is untried on Dawn in Node.
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { create, globals } from 'webgpu';

// navigator.gpu must exist before @tensorflow/tfjs-backend-webgpu is imported: it registers the
// 'webgpu' backend at import time only then. Hence the dynamic imports below.
Object.assign(globalThis, globals);
Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true, writable: true });
const webgpu = await import('@tensorflow/tfjs-backend-webgpu');
void webgpu.WebGPUBackend;
await import('@tensorflow/tfjs'); // TF.js's own gradients, for the tf.grad baselines
const { runBenchmarks, SUITE_NAMES } = await import('./runner.js');
const { timesTable, ratios, ratiosTable, notes } = await import('./report.js');
const { cpuDevice, machineSlug, writeResults } = await import('./output.js');

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'webgpu' },
    suite: { type: 'string', default: 'mlp,matmul,chain,linalg,gradcheck' },
    size: { type: 'string', default: 'full' },
    reps: { type: 'string' },
    jax: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});

type Adapter = { info?: Record<string, string> } | null;
const adapter = (await (
  globalThis as unknown as { navigator: { gpu: { requestAdapter(): Promise<Adapter> } } }
).navigator.gpu.requestAdapter()) as Adapter;
if (!adapter) {
  console.error('gpu: Dawn found no GPU adapter (is the NVIDIA Vulkan ICD visible? see docs/gpu.md)');
  process.exit(2);
}
const gpuName = adapter.info
  ? [adapter.info.vendor, adapter.info.architecture, adapter.info.device, adapter.info.description]
      .filter(Boolean)
      .join(' ')
  : 'GPU';
console.error(
  `gpu: adapter ${gpuName}; suites ${values.suite}; size ${values.size}; known suites ${SUITE_NAMES.join(', ')}`,
);

// One suite at a time, the results rewritten after each: a run cut short by the machine's time
// limit keeps the suites it finished.
const dir = values.out ?? process.env.OUT ?? join(dirname(fileURLToPath(import.meta.url)), 'results');
const records: Awaited<ReturnType<typeof runBenchmarks>>['records'] = [];
const checks: Awaited<ReturnType<typeof runBenchmarks>>['checks'] = [];
let out = { json: '', svg: '' };
for (const suite of values.suite!.split(',')) {
  const r = await runBenchmarks({
    backends: values.backend!.split(','),
    suites: [suite],
    size: values.size as 'small' | 'full',
    reps: values.reps ? Number(values.reps) : undefined,
    jax: values.jax,
    device: (b) => (b === 'webgpu' ? `${gpuName} (WebGPU via Dawn, Node ${process.versions.node})` : cpuDevice()),
    log: (m) => process.stderr.write(m + '\n'),
  });
  records.push(...r.records);
  checks.push(...r.checks);
  out = writeResults(records, dir, machineSlug(`node-webgpu ${gpuName}`));
}
console.log(`# tapegrad benchmarks on ${gpuName} — ${records[0]?.date ?? ''}\n`);
console.log(timesTable(records));
console.log('\n' + ratiosTable(ratios(records)));
for (const n of notes(records)) console.log(`\n${n}`);
const bad = checks.filter((c) => !c.ok);
console.log(
  `\ngradient checks: ${checks.length - bad.length} of ${checks.length} passed${bad.map((c) => `\n  DIFFER: ${c.suite} ${c.size} ${c.impl} (${c.relDiff.toExponential(2)})`).join('')}`,
);
console.log(`\nwrote ${out.json}\n      ${out.svg}`);
