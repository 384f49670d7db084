// Runs the typecheck, the format and lint check (Biome), then every uvu suite (test/**/*.test.ts)
// in its own Node process, and prints one closing line: "N passed, N failed". Set
// TEST_FILTER=substring to run some suites, SKIP_TYPECHECK=1 or SKIP_LINT=1 to leave a check out.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filter = process.env.TEST_FILTER ?? '';
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts') && p.includes(filter)) files.push(p);
  }
};
walk(join(root, 'test'));

const run = (cmd, args) =>
  new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.stderr.on('data', (d) => {
      out += d;
      process.stderr.write(d);
    });
    child.on('close', (code) => resolve({ code, out }));
  });

let passed = 0;
let failed = 0;
if (!process.env.SKIP_TYPECHECK) {
  console.log('# typecheck (tsc --noEmit)');
  const tc = await run('npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']);
  if (tc.code === 0) passed++;
  else failed++;
}
if (!process.env.SKIP_LINT) {
  console.log('\n# format and lint (biome ci)');
  const lint = await run('npx', ['biome', 'ci', '--colors=off', '--error-on-warnings', '--max-diagnostics=50', '.']);
  if (lint.code === 0) passed++;
  else failed++;
}
// biome-ignore lint/suspicious/noControlCharactersInRegex: strips the terminal's colour codes (ESC [ … m)
const clean = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');
const skips = []; // "SKIPPED: ..." lines of suites that could not run here (no browser), repeated at the end
for (const file of files) {
  console.log(`\n# ${file.slice(root.length)}`);
  const { code, out } = await run(process.execPath, ['--import', 'tsx', file]);
  const total = clean(out).match(/Total:\s+(\d+)/g);
  const pass = clean(out).match(/Passed:\s+(\d+)/g);
  const t = total ? total.map((s) => +s.match(/\d+/)[0]).reduce((a, b) => a + b, 0) : 0;
  const p = pass ? pass.map((s) => +s.match(/\d+/)[0]).reduce((a, b) => a + b, 0) : 0;
  passed += p;
  failed += t - p;
  if (code !== 0 && t === p) failed++; // a crash outside any test
  skips.push(
    ...clean(out)
      .split('\n')
      .filter((l) => l.startsWith('SKIPPED:')),
  );
}
if (skips.length) console.log(`\n${skips.join('\n')}`);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
