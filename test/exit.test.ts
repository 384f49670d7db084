// A program that imports tapegrad handles its own uncaught errors as plain Node does: exit code 1,
// its error first. (The wasm backend's Emscripten glue installs process listeners that rethrow,
// which makes Node exit with code 7 after a line of minified glue; backend.ts removes them.)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const index = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '../src/index.ts')).href;
const dir = mkdtempSync(join(tmpdir(), 'tapegrad-exit-'));

/** Runs `body` as a program (after importing tapegrad when `withTapegrad`); its exit code and stderr. */
function runProgram(name: string, body: string, withTapegrad = true) {
  const file = join(dir, `${name}.mts`);
  writeFileSync(
    file,
    `${withTapegrad ? `import * as tg from '${index}';\ntg.scalar(1).add(1).dispose();\n` : ''}${body}\n`,
  );
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stderr: r.stderr, file };
}

const PROGRAMS: Record<string, string> = {
  'a throw at the top level': "throw new Error('the program failed');",
  'a throw in a timer': "setTimeout(() => { throw new Error('the program failed'); }, 1);",
  'an unhandled rejection': "Promise.reject(new Error('the program failed'));",
};

for (const [what, body] of Object.entries(PROGRAMS)) {
  test(`${what}: exit code 1 and the program's error first, as without tapegrad`, () => {
    const plain = runProgram(`plain-${what.replace(/\W+/g, '-')}`, body, false);
    const r = runProgram(what.replace(/\W+/g, '-'), body);
    assert.is(plain.code, 1, 'plain Node');
    assert.is(r.code, 1, r.stderr.slice(0, 300));
    const first = r.stderr.trimStart().split('\n')[0];
    assert.ok(
      first.includes(r.file) || first.startsWith('Error: the program failed'),
      `stderr starts with: ${first.slice(0, 200)}`,
    );
    assert.match(r.stderr, 'Error: the program failed');
    assert.not.match(r.stderr, 'Emscripten');
    assert.ok(r.stderr.length < 2000, `stderr is ${r.stderr.length} characters`);
  });
}

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
