// Smoke test of the benchmarks: every suite at the small size with one repetition on wasm. It
// checks that the implementations compared agree on the gradient, that the records have the JSON
// shape the results files use, that the training loop's memory stays constant and that nothing
// leaks. It never asserts a time.
import '@tensorflow/tfjs'; // TF.js's own gradients, for the tf.grad baselines
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tg from '../src/index.js';
import { runBenchmarks, validate, SUITE_NAMES, UsageError } from '../benchmarks/runner.js';
import { ratios, ratiosTable, ratiosSvg, timesTable } from '../benchmarks/report.js';
import { writeResults } from '../benchmarks/output.js';
import { relDiff } from '../benchmarks/common.js';
import type { BenchRecord, Check } from '../benchmarks/harness.js';

let records: BenchRecord[] = [];
let checks: Check[] = [];
let before = { numTensors: 0, numBytes: 0 };

test.before(async () => {
  await tg.setBackend('wasm');
  before = tg.memory();
  const r = await runBenchmarks({
    backends: ['wasm'],
    suites: SUITE_NAMES,
    size: 'small',
    reps: 1,
    warmup: 1,
    warmupMs: 0,
    budgetMs: 1,
    device: () => 'test machine',
    log: () => {},
  });
  records = r.records;
  checks = r.checks;
});

test('every suite produced records, tapegrad forward and gradient among them', () => {
  for (const suite of SUITE_NAMES) {
    const mine = records.filter((r) => r.suite === suite);
    assert.ok(mine.length > 0, `no records for ${suite}`);
    assert.ok(
      mine.some((r) => r.impl === 'tapegrad' && r.phase === 'forward'),
      `${suite}: no tapegrad forward`,
    );
    assert.ok(
      mine.some((r) => r.impl === 'tapegrad' && r.phase === 'grad'),
      `${suite}: no tapegrad gradient`,
    );
  }
  for (const suite of ['mlp', 'matmul', 'chain']) {
    assert.ok(
      records.some((r) => r.suite === suite && r.impl.startsWith('tf.') && r.phase === 'grad'),
      `${suite}: no TF.js gradient`,
    );
    // jax-js may overflow its stack on the 1,000-op chain (on any call): then the harness skips it
    if (suite !== 'chain')
      assert.ok(
        records.some((r) => r.suite === suite && r.impl === 'jax-js' && r.phase === 'grad'),
        `${suite}: no jax-js gradient`,
      );
    assert.ok(
      records.some((r) => r.suite === suite && r.impl === 'finite differences'),
      `${suite}: no finite differences`,
    );
  }
});

test('the records have the results-file shape', () => {
  for (const r of records) {
    for (const k of ['suite', 'backend', 'impl', 'phase', 'size', 'device', 'date'] as const)
      assert.type(r[k], 'string', `${k} of ${JSON.stringify(r)}`);
    for (const k of ['medianMs', 'minMs', 'maxMs', 'reps'] as const)
      assert.ok(Number.isFinite(r[k]) && r[k] >= 0, `${k} of ${JSON.stringify(r)}`);
    assert.ok(r.minMs <= r.medianMs && r.medianMs <= r.maxMs, `min ≤ median ≤ max in ${JSON.stringify(r)}`);
    assert.ok(['forward', 'grad'].includes(r.phase));
    assert.is(r.backend, 'wasm');
    assert.is(r.device, 'test machine');
    assert.ok(!Number.isNaN(Date.parse(r.date)));
  }
});

test("every other implementation's gradient agrees with tapegrad's", () => {
  assert.ok(checks.length >= 10, `only ${checks.length} checks ran`);
  for (const impl of ['tf.variableGrads', 'tf.grad', 'jax-js', 'gradcheck full', 'gradcheck fast'])
    assert.ok(
      checks.some((c) => c.impl === impl),
      `no check of ${impl}`,
    );
  const bad = checks.filter((c) => !c.ok);
  assert.equal(bad, [], `disagreements: ${JSON.stringify(bad)}`);
});

test('a wrong gradient would be caught', () => {
  assert.ok(relDiff([1, 2, 3], [1, 2, 3]) === 0);
  assert.ok(relDiff([1, 2, 3.1], [1, 2, 3]) > 2e-3);
  assert.is(relDiff([1, 2], [1, 2, 3]), Infinity);
});

test("the training loop's memory is constant and the run leaves nothing behind", () => {
  const loop = records.find((r) => r.memory);
  assert.ok(loop, 'no training-loop record');
  assert.equal(loop!.memory!.after, loop!.memory!.before);
  assert.equal(tg.memory(), before);
});

test('the results file, tables and chart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tapegrad-bench-'));
  try {
    const out = writeResults(records, dir, 'test-machine', join(dir, 'copy.json'));
    assert.equal(JSON.parse(readFileSync(out.json, 'utf8')), records);
    assert.equal(JSON.parse(readFileSync(join(dir, 'copy.json'), 'utf8')), records);
    // A second run the same day replaces the figures of the problems it measured, keeps the others.
    const again = writeResults([{ ...records[0], medianMs: 123 }], dir, 'test-machine');
    const merged = JSON.parse(readFileSync(again.json, 'utf8')) as BenchRecord[];
    const sameProblem = (r: BenchRecord) =>
      r.suite === records[0].suite && r.size === records[0].size && r.backend === records[0].backend;
    assert.equal(merged.filter(sameProblem), [{ ...records[0], medianMs: 123 }]);
    assert.equal(
      merged.filter((r) => !sameProblem(r)),
      records.filter((r) => !sameProblem(r)),
    );
    assert.match(readFileSync(out.svg, 'utf8'), /^<svg[\s\S]*<\/svg>$/);
  } finally {
    rmSync(dir, { recursive: true });
  }
  const rs = ratios(records);
  const mlp = rs.find((r) => r.suite === 'mlp' && r.size.startsWith('B=256 '));
  assert.ok(
    mlp && mlp.tgGradOverFwd! > 0 && mlp.tgOverTf! > 0 && mlp.tgOverJax! > 0 && mlp.fdOverTg! > 0,
    JSON.stringify(mlp),
  );
  assert.match(ratiosTable(rs), /tapegrad grad\/fwd/);
  assert.is(timesTable(records).split('\n').length, records.length + 2);
  assert.match(ratiosSvg(rs, 't'), /<rect/);
});

test('misspelt options are named', () => {
  assert.throws(
    () => validate({ suites: ['mlpp'], size: 'small' }),
    (e: Error) => e instanceof UsageError && /unknown suite 'mlpp'; known: mlp/.test(e.message),
  );
  assert.throws(
    () => validate({ suites: ['mlp'], size: 'huge' as 'small' }),
    (e: Error) => e instanceof UsageError && /unknown size 'huge'/.test(e.message),
  );
});

test.run();
