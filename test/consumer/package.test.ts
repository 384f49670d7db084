// The packed package, installed by name in a project of its own: what it ships, what it installs,
// how it loads from ES modules, from CommonJS and from TypeScript, and how its optional backends
// fail when their packages are missing.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import ts from 'typescript';
import { nodeIn, packedProject, root, tarballFiles, tscIn } from './packed.js';

const packed = packedProject();
console.log(
  `consumer project ${packed.dir} (${packed.seconds ? `built, packed and installed in ${packed.seconds.toFixed(1)} s` : 'cached'})`,
);
const files = tarballFiles(packed.tarball);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

test('the tarball has the license, the README and every file the README links to', () => {
  assert.ok(files.includes('LICENSE'), 'LICENSE');
  assert.ok(files.includes('README.md'), 'README.md');
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const links = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
    .map((m) => m[1])
    .filter((l) => !/^[a-z]+:/.test(l));
  assert.ok(links.length > 0, 'the README links to files');
  const missing = links.filter(
    (l) =>
      !files.includes(l.replace(/^\.\//, '')) && !files.some((f) => f.startsWith(`${l.replace(/^\.\/|\/$/g, '')}/`)),
  );
  assert.equal(missing, [], 'README links missing from the tarball');
});

test('every source map in the tarball carries its sources or points at shipped files', () => {
  const maps = files.filter((f) => f.endsWith('.map'));
  assert.ok(maps.length > 10, `${maps.length} maps`);
  const bad: string[] = [];
  for (const m of maps) {
    const map = JSON.parse(readFileSync(join(packed.dir, 'node_modules/tapegrad', m), 'utf8'));
    map.sources.forEach((s: string, i: number) => {
      const shipped = files.includes(join(m, '..', s).replace(/\\/g, '/'));
      if (!shipped && typeof map.sourcesContent?.[i] !== 'string') bad.push(`${m}: ${s}`);
    });
  }
  assert.equal(bad.slice(0, 5), [], 'maps pointing at sources the package does not ship');
});

test('the tarball ships no tests, benchmarks or examples', () => {
  assert.equal(
    files.filter((f) => /^(test|benchmarks|examples|scripts)\//.test(f)),
    [],
  );
});

test('every target in package.json "exports" is in the tarball', () => {
  const targets: string[] = [];
  const walk = (v: unknown) =>
    typeof v === 'string' ? targets.push(v) : v && typeof v === 'object' && Object.values(v).forEach(walk);
  walk(pkg.exports);
  for (const t of targets) assert.ok(files.includes(t.replace(/^\.\//, '')), t);
});

test('installing pulls no optional backend: webgpu (Dawn) and tfjs-node stay out unless asked for', () => {
  assert.not.ok(existsSync(join(packed.dir, 'node_modules/webgpu')), 'node_modules/webgpu');
  assert.not.ok(existsSync(join(packed.dir, 'node_modules/@tensorflow/tfjs-node')), 'tfjs-node');
  for (const name of ['webgpu', '@tensorflow/tfjs-node'])
    assert.ok(pkg.peerDependenciesMeta?.[name]?.optional, `${name} is an optional peer`);
});

const LIST = `import * as tg from 'tapegrad';
const list = await tg.listBackends();
let setError = '';
try { await tg.setBackend('webgpu'); } catch (e) { setError = String(e.message); }
console.log(JSON.stringify({ backend: tg.getBackend(), list, setError }));
`;

test('listBackends() never throws; unavailable backends say why, naming the package to install', () => {
  writeFileSync(join(packed.dir, 'list-backends.mjs'), LIST);
  const r = nodeIn(packed.dir, ['list-backends.mjs']);
  assert.is(r.code, 0, r.stderr);
  const { backend, list, setError } = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.is(backend, 'wasm');
  const by = Object.fromEntries(list.map((b: { name: string }) => [b.name, b]));
  assert.equal(Object.keys(by).sort(), ['cpu', 'tensorflow', 'wasm', 'webgl', 'webgpu']);
  assert.ok(by.wasm.available && by.cpu.available);
  assert.not.ok(by.webgpu.available);
  assert.match(by.webgpu.reason, 'npm install webgpu');
  assert.match(by.tensorflow.reason, 'npm install @tensorflow/tfjs-node');
  assert.match(setError, /^setBackend: 'webgpu' cannot start here: .*npm install webgpu/);
});

test('with webgpu (Dawn) installed but a TF.js backend package missing, listBackends() names that package', () => {
  const dawn = join(packed.dir, 'node_modules/webgpu');
  const tfWebgpu = join(packed.dir, 'node_modules/@tensorflow/tfjs-backend-webgpu');
  const aside = `${tfWebgpu}.aside`;
  symlinkSync(join(root, 'node_modules/webgpu'), dawn, 'dir');
  renameSync(tfWebgpu, aside);
  try {
    const r = nodeIn(packed.dir, ['list-backends.mjs']);
    assert.is(r.code, 0, r.stderr);
    const { list, setError } = JSON.parse(r.stdout.trim().split('\n').pop()!);
    const webgpu = list.find((b: { name: string }) => b.name === 'webgpu');
    assert.not.ok(webgpu.available);
    assert.match(webgpu.reason, 'npm install @tensorflow/tfjs-backend-webgpu');
    assert.match(setError, 'npm install @tensorflow/tfjs-backend-webgpu');
  } finally {
    renameSync(aside, tfWebgpu);
    rmSync(dawn, { force: true });
  }
});

test("require('tapegrad') fails with a message saying how to import it", () => {
  writeFileSync(join(packed.dir, 'require.cjs'), "require('tapegrad');\n");
  const r = nodeIn(packed.dir, ['require.cjs']);
  assert.is.not(r.code, 0);
  assert.match(r.stderr, 'tapegrad is an ES module and cannot be loaded with require()');
  assert.match(r.stderr, "import * as tg from 'tapegrad'");
  assert.match(r.stderr, "await import('tapegrad')");
});

test('a CommonJS TypeScript project: module commonjs compiles and fails at run time with that message; node16 refuses at type-check', () => {
  const dir = join(packed.dir, 'cjs-project');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{ "type": "commonjs" }\n');
  writeFileSync(
    join(dir, 'main.ts'),
    "import * as tg from 'tapegrad';\nconsole.log(tg.tensor([1, 2]).sum().toString());\n",
  );
  const common = { strict: true, target: 'es2022', outDir: 'out', skipLibCheck: true, types: [] };
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { ...common, module: 'commonjs', moduleResolution: 'node10' },
      files: ['main.ts'],
    }),
  );
  const tc = tscIn(dir, ['-p', 'tsconfig.json']);
  assert.is(tc.code, 0, tc.out);
  const r = nodeIn(dir, ['out/main.js']);
  assert.is.not(r.code, 0);
  assert.match(r.stderr, 'tapegrad is an ES module and cannot be loaded with require()');
  writeFileSync(
    join(dir, 'tsconfig.node16.json'),
    JSON.stringify({
      compilerOptions: { ...common, module: 'node16', moduleResolution: 'node16', noEmit: true },
      files: ['main.ts'],
    }),
  );
  const tc16 = tscIn(dir, ['-p', 'tsconfig.node16.json']);
  assert.is.not(tc16.code, 0);
  assert.match(tc16.out, /TS1479|ECMAScript module/);
});

/** Every export of src/api.ts, its namespaces' (tg.nn, tg.nn.init, …) included: dotted path, value or type, required type parameters. */
function publicExports(): { path: string; value: boolean; type: boolean; typeArgs: number }[] {
  const program = ts.createProgram([join(root, 'src/api.ts')], {
    strict: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const out: { path: string; value: boolean; type: boolean; typeArgs: number }[] = [];
  const walk = (module: ts.Symbol, prefix: string) => {
    for (const e of checker.getExportsOfModule(module)) {
      const s = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
      const path = prefix + e.name;
      if (s.flags & ts.SymbolFlags.ValueModule) {
        out.push({ path, value: true, type: false, typeArgs: 0 });
        walk(s, `${path}.`);
        continue;
      }
      const decl = s.declarations?.[0];
      const params =
        decl && (ts.isInterfaceDeclaration(decl) || ts.isTypeAliasDeclaration(decl) || ts.isClassDeclaration(decl))
          ? (decl.typeParameters ?? []).filter((p) => !p.default).length
          : 0;
      out.push({
        path,
        value: (s.flags & ts.SymbolFlags.Value) !== 0,
        type: (s.flags & ts.SymbolFlags.Type) !== 0,
        typeArgs: params,
      });
    }
  };
  walk(checker.getSymbolAtLocation(program.getSourceFile(join(root, 'src/api.ts'))!)!, '');
  return out;
}

test('every export of the API, namespaces included, is reachable from the installed package: its type under strict TypeScript (nodenext and bundler resolution, the declarations checked too), its value at run time', () => {
  const exports = publicExports();
  assert.ok(exports.length > 300, `${exports.length} exports found`);
  assert.ok(exports.some((e) => e.path === 'nn.init.kaimingNormal' && e.value));
  assert.ok(exports.some((e) => e.path === 'optim.AdamOptions' && e.type && !e.value));
  const dir = join(packed.dir, 'exports-project');
  mkdirSync(dir, { recursive: true });
  const lines = ["import * as tg from 'tapegrad';"];
  exports.forEach((e, i) => {
    if (e.value) lines.push(`export const value${i} = tg.${e.path};`);
    if (e.type && !e.value) {
      const args = e.typeArgs ? `<${Array(e.typeArgs).fill('any').join(', ')}>` : '';
      lines.push(`export type Type${i} = tg.${e.path}${args};`);
    }
    if (e.type && e.value && e.typeArgs === 0) lines.push(`export type Instance${i} = tg.${e.path};`);
  });
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(dir, 'exports.ts'), `${lines.join('\n')}\n`);
  const common = {
    strict: true,
    target: 'es2022',
    noEmit: true,
    skipLibCheck: false,
    types: [],
    lib: ['es2022', 'dom'],
  };
  for (const [module, moduleResolution] of [
    ['nodenext', 'nodenext'],
    ['esnext', 'bundler'],
  ]) {
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { ...common, module, moduleResolution }, files: ['exports.ts'] }),
    );
    const tc = tscIn(dir, ['-p', 'tsconfig.json']);
    // tapegrad's declaration files are checked too; TF.js's have errors of their own (its hash_util's Long)
    const errors = tc.out.split('\n').filter((l) => /error TS\d+/.test(l) && !l.includes('node_modules/@tensorflow/'));
    assert.equal(errors, [], `${moduleResolution}: ${errors.slice(0, 20).join('\n')}`);
    assert.ok(tc.code === 0 || tc.out.includes('error TS'), tc.out);
  }
  const values = exports.filter((e) => e.value).map((e) => e.path);
  writeFileSync(
    join(dir, 'values.mjs'),
    `import * as tg from 'tapegrad';\nconst missing = ${JSON.stringify(values)}.filter((p) => p.split('.').reduce((o, k) => o?.[k], tg) === undefined);\nconsole.log(JSON.stringify(missing));\n`,
  );
  const r = nodeIn(dir, ['values.mjs']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim().split('\n').pop()!), [], 'values the installed package lacks');
});

test.run();
