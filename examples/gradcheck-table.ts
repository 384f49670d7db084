// Every registered op's adjoint against finite differences: a full-mode gradcheck of each op's
// test case (every input entry perturbed with a fourth-order stencil), printed as a table.
//
//   node --import tsx examples/gradcheck-table.ts [--backend cpu]
//
// Exits non-zero if any op fails. The cases (inputs kept inside each op's domain and away from
// its kinks) are the ones the test suite uses: test/op-cases.ts.
import * as tg from 'tapegrad';
import { cases, flatCases } from '../test/op-cases.js';

const at = process.argv.indexOf('--backend');
if (at > 0) await tg.setBackend(process.argv[at + 1] as tg.BackendName);

const rows: { op: string; r: tg.GradcheckReport }[] = [];
const start = performance.now();
for (const [label, c] of flatCases(cases)) {
  // the first case of each op (op#0, or the op's only case)
  if (label.includes('#') && !label.endsWith('#0')) continue;
  const xs = c.make(1);
  const r = await tg.gradcheck(c.f, xs, { mode: 'full', ...c.tol });
  tg.dispose(xs);
  rows.push({ op: label.replace(/#0$/, ''), r });
}
const seconds = (performance.now() - start) / 1000;

const fmt = (v: number) => (v === 0 ? '0' : v.toExponential(1));
const width = Math.max(...rows.map((x) => x.op.length), 2);
console.log(`${'op'.padEnd(width)}  mode  max abs err  max rel err  evals  ok`);
for (const { op, r } of rows) {
  console.log(
    `${op.padEnd(width)}  ${r.mode.padEnd(4)}  ${fmt(r.maxAbsError).padStart(11)}  ${fmt(r.maxRelError).padStart(11)}  ${String(r.evaluations).padStart(5)}  ${r.ok ? 'ok' : 'FAIL'}`,
  );
}
const failed = rows.filter((x) => !x.r.ok);
const worst = rows.reduce((a, b) => (b.r.maxAbsError > a.r.maxAbsError ? b : a));
console.log(
  `\n${rows.length - failed.length}/${rows.length} ops pass on ${tg.getBackend()} in ${seconds.toFixed(1)} s; ` +
    `largest absolute error ${fmt(worst.r.maxAbsError)} (${worst.op})` +
    (failed.length ? `; FAILED: ${failed.map((x) => x.op).join(', ')}` : ''),
);
process.exit(failed.length ? 1 : 0);
