// The issue's figures side by side: each target of the GPU command timed by tapegrad and by
// PyTorch, read from the JSON records the command's parts left in $OUT (run-all.sh runs this last;
// it needs no GPU). One row per target: tapegrad's time, PyTorch's, and tapegrad's as a multiple
// of PyTorch's (under 1: faster). The targets:
//   matmul n×n, float32        matmul-bench.json (tapegrad's size class) / torch-matmul.json
//   Adam step, eager           gpu-check-step.json (fused kernels, steady) / torch-adam-mlp.json
//                              (the faster of torch.optim.Adam's default and fused=True, steady)
//   Adam step, compiled        compiled-step.json (compiled, steady) / torch-adam-all.json
//                              (its CUDA graph where captured, else the faster eager form)
//   LU, Cholesky, solve, …     linalg-gpu.json (the faster path) / torch-linalg.json
// A part that did not run (or PyTorch absent: run-all.json says why) leaves its cells empty.
//
//   OUT=gpu-results node --import tsx benchmarks/gpu/compare.ts      # or bash .gpu/run.sh compare.mjs
//
// Prints the table and writes $OUT/compare.json.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const out = process.env.OUT;
if (!out) {
  console.error('compare: OUT must name the folder of the GPU command’s records');
  process.exit(2);
}

// the records are other scripts' JSON, read loosely
type Json = any;
const read = (name: string): Json | null => {
  const file = join(out, name);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null; // a part cut while writing
  }
};

interface Row {
  target: string;
  tapegradMs: number | null;
  pytorchMs: number | null;
  /** tapegradMs / pytorchMs. */
  ratio: number | null;
}
const rows: Row[] = [];
const row = (target: string, tapegradMs: number | null | undefined, pytorchMs: number | null | undefined) =>
  rows.push({
    target,
    tapegradMs: tapegradMs ?? null,
    pytorchMs: pytorchMs ?? null,
    ratio: tapegradMs && pytorchMs ? tapegradMs / pytorchMs : null,
  });
const fastest = (xs: (number | undefined)[]): number | undefined => {
  const finite = xs.filter((x): x is number => Number.isFinite(x));
  return finite.length ? Math.min(...finite) : undefined;
};

const manifest = read('run-all.json');
const matmul = read('matmul-bench.json');
const torchMatmul = read('torch-matmul.json');
for (const t of matmul?.timings ?? []) {
  if (t.variant !== 'tapegrad (size class)') continue;
  const theirs = (torchMatmul?.results ?? []).find((r: Json) => r.n === t.n);
  row(`matmul ${t.n}×${t.n} float32`, t.ms, theirs?.ms);
}

const step = read('gpu-check-step.json');
const torchStep = read('torch-adam-mlp.json');
for (const r of step?.mlpAdamStep ?? []) {
  if (!r.fused) continue;
  const theirs = (torchStep?.records ?? []).filter((p: Json) => p.size === r.size);
  row(`Adam step ${r.size}, eager`, r.steadyPipelinedMs, fastest(theirs.map((p: Json) => p.steadyPipelinedMs)));
}

const compiled = read('compiled-step.json');
const torchAll = read('torch-adam-all.json');
for (const r of compiled?.records ?? []) {
  if (r.mode !== 'compiled') continue;
  const theirs = (torchAll?.records ?? []).filter((p: Json) => p.size === r.size);
  const graph = theirs.find((p: Json) => p.impl === 'pytorch CUDA graph');
  row(
    `Adam step ${r.size}, compiled${graph ? ' (PyTorch: CUDA graph)' : ''}`,
    r.steadyPipelinedMs,
    graph?.steadyPipelinedMs ?? fastest(theirs.map((p: Json) => p.steadyPipelinedMs)),
  );
}

const linalg = read('linalg-gpu.json');
const torchLinalg = read('torch-linalg.json');
const cases = new Map<string, Json[]>();
for (const r of linalg?.records ?? []) {
  const k = `${r.what} n=${r.n} batch=${r.batch}`;
  cases.set(k, [...(cases.get(k) ?? []), r]);
}
for (const [k, rs] of cases) {
  const { what, n, batch } = rs[0];
  const theirs = (torchLinalg?.records ?? []).find((p: Json) => p.what === what && p.n === n && p.batch === batch);
  const best = rs.reduce((a: Json, b: Json) => (b.medianMs < a.medianMs ? b : a));
  row(`${k}${rs.length > 1 ? ` (${best.path})` : ''}`, best.medianMs, theirs?.medianMs);
}

const device = (r: Json | null) => r?.gpu ?? r?.device;
const tapegradOn = device(matmul) ?? device(step) ?? device(compiled) ?? device(linalg) ?? 'no record';
const pytorchOn = device(torchMatmul) ?? device(torchStep) ?? device(torchAll) ?? device(torchLinalg);
const pytorchNote = pytorchOn ?? `no record (${manifest?.pytorch ?? 'run-all.json has no word on PyTorch'})`;
const ms = (x: number | null) => (x === null ? '—' : x < 1 ? x.toPrecision(3) : x.toFixed(2));
console.log(`# tapegrad beside PyTorch, ms (ratio: tapegrad's time ÷ PyTorch's; under 1 is faster)\n`);
console.log(`tapegrad: ${tapegradOn} (webgpu through Dawn)`);
console.log(`PyTorch:  ${pytorchNote}\n`);
console.log('| target | tapegrad ms | PyTorch ms | ratio |');
console.log('| --- | --- | --- | --- |');
for (const r of rows)
  console.log(
    `| ${r.target} | ${ms(r.tapegradMs)} | ${ms(r.pytorchMs)} | ${r.ratio ? `${r.ratio.toFixed(2)}×` : '—'} |`,
  );
if (!rows.length) console.log('| (no part left a record) | — | — | — |');
const record = {
  what: 'tapegrad beside PyTorch (benchmarks/gpu/compare.ts)',
  tapegradOn,
  pytorchOn: pytorchNote,
  rows,
};
writeFileSync(join(out, 'compare.json'), `${JSON.stringify(record, null, 1)}\n`);
