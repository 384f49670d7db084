// `npm run bench -- [--backend wasm,cpu] [--suite mlp,matmul,chain,linalg,gradcheck] [--size small|full]
//                   [--json file] [--reps n] [--no-jax] [--no-torch]`
// Progress goes to stderr, the tables to stdout, the records and their chart to benchmarks/results/.
import '@tensorflow/tfjs'; // registers TF.js's own gradients, for the tf.grad baselines
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { runBenchmarks, SUITE_NAMES, UsageError } from './runner.js';
import { timesTable, ratios, ratiosTable, notes } from './report.js';
import { cpuDevice, machineSlug, writeResults } from './output.js';
import type { Size } from './harness.js';
import { progress } from '../scripts/progress.js';

const USAGE = `usage: npm run bench -- [--backend wasm,cpu] [--suite ${SUITE_NAMES.join(',')}] [--size small|full] [--json file] [--reps n] [--no-jax] [--no-torch]`;

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    suite: { type: 'string', default: SUITE_NAMES.join(',') },
    size: { type: 'string', default: 'small' },
    json: { type: 'string' },
    reps: { type: 'string' },
    'no-jax': { type: 'boolean', default: false },
    'no-torch': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const device = cpuDevice();
const started = Date.now();
let result: Awaited<ReturnType<typeof runBenchmarks>>;
const bar = progress('bench', list(values.backend!).length * list(values.suite!).length);
try {
  result = await runBenchmarks({
    backends: list(values.backend!),
    suites: list(values.suite!),
    onSuiteDone: (suite, backend) => bar.tick(1, `${suite} on ${backend}`),
    size: values.size as Size,
    device: () => device,
    reps: values.reps ? Number(values.reps) : undefined,
    jax: !values['no-jax'],
    torch: !values['no-torch'],
    log: (m) => process.stderr.write(m + '\n'),
  });
} catch (e) {
  // A misspelt option gets the usage line; anything else is a failure with its stack.
  if (e instanceof UsageError) console.error(`bench: ${e.message}\n${USAGE}`);
  else console.error(e);
  process.exit(2);
}
bar.done();
const { records, checks } = result;

const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
const out = writeResults(records, dir, machineSlug(device), values.json);
console.log(`# tapegrad benchmarks — ${device}, Node ${process.versions.node} — ${records[0]?.date ?? ''}\n`);
console.log(timesTable(records));
console.log('\n("~": extrapolated from a timed sample of finite-difference evaluations)\n');
console.log(ratiosTable(ratios(records)));
for (const n of notes(records)) console.log(`\n${n}`);
const bad = checks.filter((c) => !c.ok);
console.log(
  `\ngradient checks: ${checks.length - bad.length} of ${checks.length} passed${bad.map((c) => `\n  DIFFER: ${c.suite} ${c.size} ${c.impl} (relative difference ${c.relDiff.toExponential(2)})`).join('')}`,
);
console.log(
  `\nwrote ${out.json}\n      ${out.svg}${values.json ? `\n      ${values.json}` : ''}  (${((Date.now() - started) / 1000).toFixed(0)} s)`,
);
process.exit(bad.length ? 1 : 0);
