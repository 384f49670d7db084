// Imports run one way: no module in src/ or kernels/ may reach itself through its imports.
// Every static import and export-from counts, `import type` included: a type-only cycle is still
// two layers that each need the other to be read. Dynamic import() (optional packages loaded on
// demand) is not a dependency of the module's evaluation and is not counted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(new URL('..', import.meta.url).pathname);

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The relative modules a file imports or re-exports, as absolute .ts paths. */
export function importsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  const src = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
  const specs: string[] = [];
  for (const s of src.statements) {
    const from = ts.isImportDeclaration(s) || ts.isExportDeclaration(s) ? s.moduleSpecifier : undefined;
    if (from && ts.isStringLiteral(from)) specs.push(from.text);
  }
  return specs.filter((m) => m.startsWith('.')).map((m) => resolve(dirname(file), m.replace(/\.js$/, '.ts')));
}

/** Strongly connected components with more than one file (or a file importing itself): Tarjan. */
export function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** One path around a cycle, for the message: a → b → … → a. */
function loop(graph: Map<string, string[]>, scc: string[]): string[] {
  const inScc = new Set(scc);
  const start = scc[0];
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!inScc.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = prev.get(u)!) path.splice(1, 0, u);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return scc;
}

function importGraph(files: string[], override = new Map<string, string>()): Map<string, string[]> {
  return new Map(files.map((f) => [f, importsOf(f, override.get(f))]));
}

const rel = (f: string) => relative(root, f);
const files = [...sourceFiles(join(root, 'src')), ...sourceFiles(join(root, 'kernels'))];

test('src/ and kernels/ have no import cycle', () => {
  const graph = importGraph(files);
  const found = cycles(graph);
  const report = found.map(
    (scc) => `${scc.length} files (${scc.map(rel).join(', ')}); one loop: ${loop(graph, scc).map(rel).join(' → ')}`,
  );
  assert.equal(report, [], `import cycles:\n${report.join('\n')}`);
});

test('the check finds a planted cycle and names its files', () => {
  // errors.ts is the bottom layer; make it import the public index, which imports everything
  const errors = join(root, 'src/errors.ts');
  const planted = `import { Tensor } from './index.js';\n${readFileSync(errors, 'utf8')}`;
  const graph = importGraph(files, new Map([[errors, planted]]));
  const found = cycles(graph);
  assert.ok(found.length === 1 && found[0].includes(errors), 'the planted cycle is found');
  const path = loop(graph, found[0]).map(rel);
  assert.is(path[0], path[path.length - 1]);
  assert.ok(path.includes('src/index.ts'), path.join(' → '));
});

test('import type and export-from count; dynamic import() does not', () => {
  const f = join(root, 'src/x.ts');
  const text = [
    "import type { A } from './a.js';",
    "export { B } from './b.js';",
    "export * from './c.js';",
    "import * as tf from '@tensorflow/tfjs-core';",
    "const d = await import('./d.js');",
  ].join('\n');
  assert.equal(importsOf(f, text).map(rel), ['src/a.ts', 'src/b.ts', 'src/c.ts']);
});

test.run();
