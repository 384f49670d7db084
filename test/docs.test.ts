// The documentation holds: every public export carries a doc comment, since the API reference
// (npm run docs) is generated from them — the exports of src/index.ts and of each namespace it
// exports (tg.nn, tg.optim, ...), read with TypeScript's own checker, as TypeDoc reads them; and
// every repository path that the Markdown docs name exists.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import ts from 'typescript';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Public names (`nn.Linear`, `matmul`) reachable from `entry` whose declarations have no doc comment. */
export function undocumentedExports(entry: string): { checked: number; missing: string[] } {
  const config = ts.getParsedCommandLineOfConfigFile(
    `${root}tsconfig.build.json`,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  const program = ts.createProgram([entry], { ...config!.options, noEmit: true });
  const checker = program.getTypeChecker();
  const missing: string[] = [];
  let checked = 0;
  const seen = new Set<ts.Symbol>();
  const visit = (moduleSymbol: ts.Symbol, prefix: string) => {
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const name = prefix + exported.name;
      const isNamespace = target.declarations?.some((d) => ts.isSourceFile(d) || ts.isModuleDeclaration(d));
      if (isNamespace) {
        if (seen.has(target)) continue;
        seen.add(target);
        visit(target, `${name}.`);
        continue;
      }
      checked++;
      const doc = ts.displayPartsToString(target.getDocumentationComment(checker)).trim();
      if (!doc) missing.push(name);
    }
  };
  const source = program.getSourceFile(entry);
  if (!source) throw new Error(`cannot read ${entry}`);
  visit(checker.getSymbolAtLocation(source)!, '');
  return { checked, missing };
}

const docs = suite('doc comments');

docs('every export of src/index.ts and of its namespaces has a doc comment', () => {
  const { checked, missing } = undocumentedExports(`${root}src/index.ts`);
  assert.ok(checked > 100, `only ${checked} exports found`);
  assert.equal(missing, [], `${missing.length} of ${checked} exports lack a doc comment:\n  ${missing.join('\n  ')}`);
});

/** Repository paths (src/…, test/…, docs/…) that a Markdown text names; braces expanded, globs left out. */
export function pathsNamed(markdown: string): string[] {
  const found = markdown.match(/\b(?:src|test|benchmarks|kernels|scripts|docs|examples)\/[\w./{},-]*/g) ?? [];
  const paths = new Set<string>();
  for (const raw of found) {
    const p = raw.replace(/[.,]+$/, '');
    if (p.endsWith('-')) continue; // a name pattern such as gpu-check-<gpu>-<date>.json
    const brace = p.match(/^(.*)\{([^}]*)\}(.*)$/);
    for (const q of brace ? brace[2].split(',').map((alt) => brace[1] + alt + brace[3]) : [p]) paths.add(q);
  }
  return [...paths];
}

const MARKDOWN = [
  'README.md',
  'ARCHITECTURE.md',
  'docs/benchmarks.md',
  'docs/gpu.md',
  'docs/errors.md',
  'benchmarks/README.md',
  'kernels/README.md',
  'test/README.md',
];

docs('every repository path the Markdown docs name exists', () => {
  const stale: string[] = [];
  for (const doc of MARKDOWN) {
    if (!existsSync(`${root}${doc}`)) continue;
    for (const p of pathsNamed(readFileSync(`${root}${doc}`, 'utf8')))
      if (!existsSync(`${root}${p}`)) stale.push(`${doc}: ${p}`);
  }
  assert.equal(stale, [], `paths that do not exist:\n  ${stale.join('\n  ')}`);
});

/** tg.nn's and tg.optim's runtime exports that the README's table must name (helpers and files aside). */
const NOT_IN_TABLE = new Set(['nn.init', 'nn.encodeSafetensors', 'nn.decodeSafetensors']);

docs("the README's table names every layer, loss, optimizer and schedule of tg.nn and tg.optim", async () => {
  const tg = await import('../src/index.js');
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const names = [...Object.keys(tg.nn).map((k) => `nn.${k}`), ...Object.keys(tg.optim).map((k) => `optim.${k}`)].filter(
    (n) => !NOT_IN_TABLE.has(n),
  );
  assert.ok(names.length > 40, `only ${names.length} names found`);
  const missing = names.filter((n) => !readme.includes(`\`${n}\``));
  assert.equal(missing, [], `README.md's table lacks:\n  ${missing.join('\n  ')}`);
});

docs("the guide's count of registry ops is the registry's", async () => {
  const tg = await import('../src/index.js');
  const guide = readFileSync(`${root}docs/guide.md`, 'utf8');
  const stated = /`tg\.registry` \((\d+) of them\)/.exec(guide);
  assert.ok(stated, 'docs/guide.md no longer states how many ops tg.registry holds');
  assert.is(Number(stated[1]), Object.keys(tg.registry).length);
});

docs('pathsNamed reads paths out of prose, expanding braces', () => {
  assert.equal(pathsNamed('see docs/gpu.md, then `benchmarks/results/x-2026.{json,svg}` and results-*.json'), [
    'docs/gpu.md',
    'benchmarks/results/x-2026.json',
    'benchmarks/results/x-2026.svg',
  ]);
});

docs.run();
