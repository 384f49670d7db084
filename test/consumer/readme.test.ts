// Every code block of README.md and docs/guide.md runs as it stands: each TypeScript block is
// written to a file of its own in a project where the packed package is installed by name,
// type-checked together under strict TypeScript, and run. The shell block's npm commands exist.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nodeIn, packedProject, root, tscIn } from './packed.js';

const DOCS = ['README.md', 'docs/guide.md'];

interface Block {
  doc: string;
  line: number;
  lang: string;
  code: string;
}

function blocks(doc: string): Block[] {
  const out: Block[] = [];
  const lines = readFileSync(join(root, doc), 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].match(/^```(\w*)\s*$/);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    while (++i < lines.length && !/^```\s*$/.test(lines[i])) body.push(lines[i]);
    out.push({ doc, line: start + 1, lang: open[1], code: `${body.join('\n')}\n` });
  }
  return out;
}

const all = DOCS.flatMap(blocks);
const tsBlocks = all.filter((b) => b.lang === 'ts');
const packed = packedProject();
const dir = join(packed.dir, 'doc-blocks');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const fileOf = (b: Block) => `${b.doc.replace(/\W+/g, '-')}-line-${b.line}.ts`;
for (const b of tsBlocks) writeFileSync(join(dir, fileOf(b)), b.code);
writeFileSync(
  join(dir, 'tsconfig.json'),
  JSON.stringify({
    compilerOptions: {
      strict: true,
      noEmit: true,
      target: 'es2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      lib: ['es2022', 'dom'],
      types: ['node'],
      typeRoots: [join(root, 'node_modules/@types')],
      // tapegrad's own declaration files are checked too; TF.js's have errors of their own (below).
      skipLibCheck: false,
    },
    include: ['*.ts'],
  }),
);

test('every code block is TypeScript or the shell commands of this repository', () => {
  assert.equal(
    all.filter((b) => b.lang !== 'ts' && b.lang !== 'sh').map((b) => `${b.doc}:${b.line} ${b.lang || '(no language)'}`),
    [],
  );
  assert.ok(tsBlocks.length >= 8, `${tsBlocks.length} TypeScript blocks`);
});

test("the shell blocks' npm commands are scripts of package.json", () => {
  const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts;
  for (const b of all.filter((x) => x.lang === 'sh')) {
    for (const m of b.code.matchAll(/npm (?:run )?([\w:-]+)/g)) {
      if (m[1] !== 'install' && m[1] !== 'ci') assert.ok(scripts[m[1]], `${b.doc}:${b.line}: npm ${m[1]}`);
    }
  }
});

test('the TypeScript blocks type-check under strict TypeScript against the installed package', () => {
  const r = tscIn(dir, ['-p', 'tsconfig.json']);
  const errors = r.out.split('\n').filter((l) => /error TS\d+/.test(l) && !l.includes('node_modules/@tensorflow/'));
  assert.equal(errors, []);
  assert.ok(r.code === 0 || r.out.includes('error TS'), r.out);
});

for (const b of tsBlocks) {
  test(`${b.doc}, the block at line ${b.line}, runs`, () => {
    const r = nodeIn(dir, [fileOf(b)], { ts: true });
    assert.is(r.code, 0, `${r.stderr.slice(0, 2000)}`);
  });
}

test.run();
