// Longer fuzzing than `npm test` runs:
//   npm run fuzz -- --runs 500 --seed 7 [--backend cpu] [--order 2]     random op compositions, gradchecked
//   npm run fuzz -- --target ways --runs 2000 [--seed S] [--backend cpu]  every way of taking the gradient agrees
//                   (hooks and retainGrad on split/chunk/unbind outputs, createGraph, detectAnomaly, explain, compile)
//   npm run fuzz -- --target empty --runs 2000 [--seed S] [--backend cpu] compositions with an axis of length 0
//   npm run fuzz -- --target safetensors --runs 100000 [--seed S]        the safetensors reader on bad files
//   npm run fuzz -- --target layers --runs 2000 [--seed S] [--backend cpu] tg.nn layers on random configurations
//                   and input shapes, gradchecked through the input and every parameter
//   npm run fuzz -- --target bad-input --runs 5000 [--seed S] [--backend cpu] [--huge]
//                   malformed arguments to the public functions: a TapegradError naming the function or a clean
//                   result, and no tensor left behind (--huge adds sizes of gigabytes: wasm only, whose heap is capped)
//   npm run fuzz -- --target resume --runs 5000 [--seed S] [--backend cpu]
//                   a training run resumed from a checkpoint (state dicts or bytes, the rest compiled or not)
//                   against the same run straight on, bit for bit: random layers, optimizers, schedules
//   npm run fuzz -- --target backends --runs 5000 [--seed S] [--specials] [--layers] [--backend webgpu]
//                   random compositions on wasm (or webgpu) and on cpu from the same inputs (with --specials,
//                   NaN, ±∞, ±0 and subnormal entries among them): the same values and gradients, and on
//                   webgpu no validation error. In Node, webgpu runs on Dawn with a Vulkan driver named by
//                   the environment (here SwiftShader's: LD_LIBRARY_PATH=/usr/lib/chromium
//                   VK_DRIVER_FILES=/usr/lib/chromium/vk_swiftshader_icd.json npm run fuzz -- …); with --layers,
//                   tg.nn layers (--target layers's cases) rather than op compositions, parameters' gradients too
//   npm run fuzz -- --target kernels --runs 500 [--seed S] [--backend wasm] [--kinds matmul,gelu,...]
//                   the wasm kernels of our own against what they replace (products, gelu, batch norm, Adam)
//                   and tg.compile against eager, on random sizes, values and switches, on one and two threads
// (--order 2 checks gradients of gradients with tg.gradgradcheck, which reaches the adjoints' own adjoints).
// Prints the shrunk failing case (a runnable TypeScript snippet, or the bytes) and exits 1 on a failure.
import fc from 'fast-check';
import * as tg from '../src/index.js';
import { emptyProperty, propertyOf, minimize, runCase, snippet, type Case } from '../test/fuzz/gen.js';
import { waysProperty } from '../test/fuzz/ways.js';
import { safetensorsProperty } from '../test/fuzz/safetensors.js';
import { layersProperty } from '../test/fuzz/layers.js';
import { badInputPropertyOf } from '../test/fuzz/bad-input.js';
import { resumeProperty } from '../test/fuzz/resume.js';
import { backendsPropertyOf, layerBackendsPropertyOf } from '../test/fuzz/backends.js';
import { KERNEL_KINDS, kernelsPropertyOf } from '../test/fuzz/kernels.js';
import { progress } from './progress.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
};
const target = arg('target', 'ops');
const runs = Number(arg('runs', target === 'safetensors' ? '20000' : '200'));
const seed = Number(arg('seed', String(Date.now() % 1_000_000)));
const backend = arg('backend', 'wasm') as tg.BackendName;
const order = Number(arg('order', '1'));
const kinds = arg('kinds', KERNEL_KINDS.join(',')).split(',');
const layers = process.argv.includes('--layers');
if (
  !['ops', 'ways', 'empty', 'safetensors', 'layers', 'kernels', 'bad-input', 'resume', 'backends'].includes(target) ||
  !Number.isInteger(runs) ||
  runs < 1 ||
  !Number.isInteger(seed) ||
  (order !== 1 && order !== 2) ||
  kinds.some((k) => !KERNEL_KINDS.includes(k))
) {
  console.error(
    'usage: npm run fuzz -- [--target ops|ways|empty|safetensors|layers|kernels|bad-input|resume|backends] [--runs N] [--seed S] ' +
      `[--backend wasm|cpu|webgpu] [--order 1|2] [--kinds ${KERNEL_KINDS.join(',')}] (--target kernels)`,
  );
  process.exit(2);
}
await tg.setBackend(backend);
const WHAT: Record<string, string> = {
  ops: 'op compositions',
  ways: 'the ways of taking a gradient',
  empty: 'op compositions with an axis of length 0',
  safetensors: 'the safetensors reader',
  layers: 'tg.nn layers on random configurations and input shapes',
  kernels: 'the kernels of our own and tg.compile against what they replace',
  'bad-input': 'malformed arguments to the public functions',
  resume: 'training runs resumed from a checkpoint against the same runs straight on',
  backends: `${layers ? 'tg.nn layers' : 'op compositions'} on ${backend === 'webgpu' ? 'webgpu' : 'wasm'} against cpu`,
};
const asyncProperties = {
  ways: waysProperty,
  empty: emptyProperty,
  layers: layersProperty,
  kernels: kernelsPropertyOf(kinds),
  'bad-input': badInputPropertyOf(process.argv.includes('--huge')),
  resume: resumeProperty,
  backends: (layers ? layerBackendsPropertyOf : backendsPropertyOf)(
    process.argv.includes('--specials'),
    backend === 'webgpu' ? 'webgpu' : 'wasm',
  ),
} as Record<string, fc.IAsyncPropertyWithHooks<[unknown]>>;
console.log(`fuzzing ${WHAT[target]}: ${runs} cases on ${backend}, seed ${seed}${order === 2 ? ', second order' : ''}`);
const bar = progress(`fuzz ${target}`, runs);
const t0 = performance.now();
const r =
  target === 'ways' ||
  target === 'empty' ||
  target === 'layers' ||
  target === 'kernels' ||
  target === 'bad-input' ||
  target === 'resume' ||
  target === 'backends'
    ? await fc.check(
        asyncProperties[target].afterEach(async (previous) => {
          await previous();
          bar.tick();
        }),
        { seed, numRuns: runs },
      )
    : target === 'ops'
      ? await fc.check(
          propertyOf(order as 1 | 2).afterEach(async (previous) => {
            await previous();
            bar.tick();
          }),
          { seed, numRuns: runs },
        )
      : fc.check(
          safetensorsProperty.afterEach((previous) => {
            previous();
            bar.tick();
          }),
          { seed, numRuns: runs },
        );
bar.done();
const secs = ((performance.now() - t0) / 1000).toFixed(1);
if (r.failed) {
  console.log(
    `FAILED after ${r.numRuns} cases (${r.numShrinks} shrinks, ${secs} s); reproduce with --target ${target} --seed ${seed} --runs ${runs}`,
  );
  if (target === 'ops') {
    const smallest = await minimize(r.counterexample![0] as Case);
    console.log(snippet(smallest, await runCase(smallest)));
  } else console.log(String((r.errorInstance as Error)?.message ?? r.errorInstance)); // the shrunk case
  process.exit(1);
}
const why =
  target === 'ops' || target === 'layers' ? ' near a kink' : target === 'resume' ? ' (layers without parameters)' : '';
console.log(`ok: ${r.numRuns} cases passed, ${r.numSkips} skipped${why} (${secs} s)`);
