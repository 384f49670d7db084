// Runs test suites inside headless Chromium, on webgl and on webgpu (both on
// SwiftShader on a machine without a GPU), and checks the browser build of tapegrad itself.
//
// 1. Bundles the browser-side tests (esbuild, as scripts/build-browser.mjs does): page-setup.ts,
//    the library, and each suite file of SUITES as a lazily imported chunk; `uvu` is replaced by
//    uvu-shim.ts so that the page can run and report each test.
// 2. Serves that and dist/browser/ (the real bundle) on 127.0.0.1.
// 3. Drives Debian's chromium (never a downloaded browser) with playwright-core: one page per
//    backend runs every suite (page.ts); a last page imports dist/browser/tapegrad.js and checks
//    its default backend and a gradient on each backend (smoke.html), and, served cross-origin
//    isolated, the wasm backend's threads (threads.html).
//
// Used by test/browser.test.ts (so `npm test` runs it); also runnable alone:
//   node --import tsx test/browser/run.ts [webgl|webgl-suites|webgpu|webgl-f16]
// TAPEGRAD_BROWSER_FILTER=substring runs only the tests whose "file › name" contains it;
// TAPEGRAD_BROWSER_VERBOSE=1 prints the pages' console.
import { build, type Plugin } from 'esbuild';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { bundleForBrowser, copyWasmBinaries } from '../../scripts/build-browser.mjs';
import type { PageReport, TestResult } from './page.js';
import { CHROMIUM, FLAGS } from '../../scripts/chromium.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

export { CHROMIUM, FLAGS };

/**
 * The suites run in the browser, and on which backends. The op registry's gradcheck, the fused
 * kernels and the asynchronous transform/nn checks run on both. The Node suites of the
 * functional transforms, nn and optim are found by name (so that new ones are picked up) and run
 * on webgl only: they read values with dataSync, and webgpu's synchronous read returns zeros and
 * loses the device in headless Chromium with SwiftShader (measured; Node's Dawn has none at all).
 * Each suite runs with NODE_BACKENDS = [the page's backend]. The Node suites have a webgl page of
 * their own, webgl-suites, so that neither webgl page comes near its time budget.
 */
const SUITES: { pattern: RegExp; backends: string[] }[] = [
  { pattern: /^test\/browser\/fuzz-backends\.browser\.ts$/, backends: ['webgl-fuzz', 'webgpu-fuzz'] },
  { pattern: /^test\/browser\/(ops|edge-values)\.browser\.ts$/, backends: ['webgl', 'webgpu', 'webgl-f16'] },
  { pattern: /^test\/browser\/[\w-]+\.browser\.ts$/, backends: ['webgl', 'webgpu'] },
  { pattern: /^test\/fused\.test\.ts$/, backends: ['webgl', 'webgpu'] },
  { pattern: /^test\/(transforms|functional)[\w-]*\.test\.ts$/, backends: ['webgl-suites'] },
  { pattern: /^test\/(nn|optim)[\w-]*\.test\.ts$/, backends: ['webgl-suites'] },
  { pattern: /^test\/training[\w-]*\.test\.ts$/, backends: ['webgl-suites'] },
  { pattern: /^test\/(nn|optim)\/.*\.test\.ts$/, backends: ['webgl-suites'] },
];

/**
 * The pages run by default: webgl and webgl-suites (both WebGL), webgpu, and webgl-f16, WebGL
 * forced to half-float textures (what phones without float32 render targets give) through
 * TF.js's URL flag, where the op suite checks that gradcheck notices the precision and widens its
 * tolerances; and webgl-fuzz and webgpu-fuzz, the backends fuzzer against cpu on pages of their own.
 */
export const BROWSER_BACKENDS = ['webgl', 'webgl-suites', 'webgpu', 'webgl-f16', 'webgl-fuzz', 'webgpu-fuzz'] as const;
const PAGES: Record<string, string> = {
  'webgl-suites': 'backend=webgl',
  'webgl-fuzz': 'backend=webgl',
  'webgpu-fuzz': 'backend=webgpu',
  'webgl-f16': 'backend=webgl&tfjsflags=WEBGL_RENDER_FLOAT32_ENABLED:false',
};

export interface BrowserResult extends TestResult {
  backend: string;
}

export interface BrowserRun {
  /** Why nothing ran (no chromium), when nothing did. */
  skipped?: string;
  results: BrowserResult[];
  /** Per backend: what the page found (precision, tolerances, versions). */
  info: Record<string, Record<string, unknown>>;
  /** Each suite file and the backends it ran on. */
  files: Record<string, string[]>;
  seconds: number;
}

/** Every suite file SUITES names, with the backends it runs on. */
function suiteFiles(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else {
        const rel = relative(root, p).split('\\').join('/');
        const match = SUITES.find((s) => s.pattern.test(rel));
        if (match) out[rel] = match.backends;
      }
    }
  };
  walk(join(root, 'test'));
  return out;
}

/** `uvu` (the bare package, not uvu/assert) becomes the shim that queues suites for the page. */
const uvuShim: Plugin = {
  name: 'uvu-shim',
  setup(b) {
    b.onResolve({ filter: /^uvu$/ }, () => ({ path: join(root, 'test/browser/uvu-shim.ts') }));
  },
};

/**
 * Node's built-in modules, in the test bundle: a stand-in whose every function throws a
 * "node-only:" error, so that a suite importing node:fs still loads, and the tests that use it are
 * reported as skipped in the browser (page.ts). esbuild's CommonJS interop reads named imports
 * through the module's prototype, which is a Proxy here.
 */
const nodeBuiltins: Plugin = {
  name: 'node-builtins',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-only' }));
    b.onLoad({ filter: /.*/, namespace: 'node-only' }, (args) => ({
      contents: `const only = new Proxy({}, { get: (_, name) => typeof name !== 'string' || name === 'then' ? undefined : () => { throw new Error('node-only: ${args.path}.' + name + ' is not available in a browser'); } });
module.exports = Object.create(only);`,
      loader: 'js',
    }));
  },
};

async function bundleTests(files: Record<string, string[]>, outdir: string): Promise<void> {
  const loaders = Object.entries(files)
    .map(
      ([f, backends]) =>
        `  ${JSON.stringify(f)}: { backends: ${JSON.stringify(backends)}, load: () => import(${JSON.stringify('../../' + f)}) },`,
    )
    .join('\n');
  await build({
    absWorkingDir: root,
    stdin: {
      contents: `import './page-setup.ts';\nimport '../../src/browser-setup.ts';\nimport { runPage } from './page.ts';\nawait runPage({\n${loaders}\n});\n`,
      resolveDir: join(root, 'test/browser'),
      sourcefile: 'entry.ts',
      loader: 'ts',
    },
    outdir,
    entryNames: 'entry',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    logLevel: 'error',
    plugins: [uvuShim, nodeBuiltins],
  });
  copyWasmBinaries(outdir);
}

const SMOKE_PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
const report = { done: false, results: [], info: {} };
window.__tapegrad = report;
const check = async (name, fn) => {
  const t0 = performance.now();
  try { await fn(); report.results.push({ file: 'dist/browser/tapegrad.js', suite: 'bundle', name, ok: true, ms: performance.now() - t0 }); }
  catch (e) { report.results.push({ file: 'dist/browser/tapegrad.js', suite: 'bundle', name, ok: false, ms: performance.now() - t0, error: String(e && e.stack || e) }); }
};
try {
  const tg = await import('/lib/tapegrad.js');
  await tg.ready();
  report.info.defaultBackend = tg.getBackend();
  report.info.backends = await tg.listBackends();
  await check('the default backend is webgpu where it starts (else webgl, wasm, cpu)', () => {
    const first = ['webgpu', 'webgl', 'wasm', 'cpu'].find((n) => report.info.backends.find((b) => b.name === n).available);
    if (tg.getBackend() !== first) throw new Error('default ' + tg.getBackend() + ', expected ' + first);
  });
  for (const name of ['cpu', 'wasm', 'webgl', 'webgpu']) {
    await check(name + ': setBackend, then the gradient of Σx² is 2x', async () => {
      await tg.setBackend(name);
      const x = tg.tensor([1.5, -2, 0.25]);
      const g = tg.grad((t) => t.mul(t).sum())(x);
      const got = Array.from(await g.data());
      if (tg.getBackend() !== name || got.join() !== '3,-4,0.5') throw new Error(tg.getBackend() + ': ' + got);
      tg.dispose([x, g]);
    });
  }
} catch (e) {
  report.results.push({ file: 'dist/browser/tapegrad.js', suite: 'bundle', name: 'importing the bundle', ok: false, ms: 0, error: String(e && e.stack || e) });
}
report.done = true;
</script>`;

/**
 * The wasm backend's threads in a cross-origin-isolated page (served with COOP/COEP): every core
 * by default, set and read back, and the same bits on one thread as on every core.
 */
const THREADS_PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
const report = { done: false, results: [], info: {} };
window.__tapegrad = report;
const check = async (name, fn) => {
  const t0 = performance.now();
  try { await fn(); report.results.push({ file: 'dist/browser/tapegrad.js', suite: 'threads', name, ok: true, ms: performance.now() - t0 }); }
  catch (e) { report.results.push({ file: 'dist/browser/tapegrad.js', suite: 'threads', name, ok: false, ms: performance.now() - t0, error: String(e && e.stack || e) }); }
};
try {
  const tg = await import('/lib/tapegrad.js');
  await tg.ready();
  const cores = navigator.hardwareConcurrency;
  await check('wasm: the page is cross-origin isolated; every core runs by default (at most 8)', async () => {
    if (!crossOriginIsolated) throw new Error('not cross-origin isolated');
    await tg.setBackend('wasm');
    report.info.cores = cores;
    report.info.threads = tg.getThreads();
    if (tg.getThreads() !== Math.min(cores, 8)) throw new Error(tg.getThreads() + ' threads on ' + cores + ' cores');
    if (navigator.hardwareConcurrency !== cores) throw new Error('navigator.hardwareConcurrency was left changed');
  });
  await check('wasm: setThreads(1), then back to every core; matmul and a linear layer give the same bits', async () => {
    await tg.setBackend('wasm');
    const a = tg.randn([192, 160], { seed: 1 }), b = tg.randn([160, 128], { seed: 2 }), c = tg.randn([128], { seed: 3 });
    const run = async () => {
      const y = tg.linear(a, b, c).relu().matmul(b.transpose());
      const g = tg.grad((w) => tg.linear(a, w, c).tanh().sum())(b);
      const bits = [...new Uint32Array((await y.data()).buffer), ...new Uint32Array((await g.data()).buffer)];
      tg.dispose([y, g]);
      return bits;
    };
    tg.setThreads(1);
    if (tg.getThreads() !== 1) throw new Error('setThreads(1) gave ' + tg.getThreads());
    const one = await run();
    tg.setThreads(cores);
    if (tg.getThreads() !== Math.min(cores, 8)) throw new Error('setThreads(' + cores + ') gave ' + tg.getThreads());
    const all = await run();
    const at = one.findIndex((v, i) => v !== all[i]);
    if (at >= 0 || one.length !== all.length) throw new Error('entry ' + at + ' differs');
    tg.dispose([a, b, c]);
  });
} catch (e) {
  report.results.push({ file: 'dist/browser/tapegrad.js', suite: 'threads', name: 'importing the bundle', ok: false, ms: 0, error: String(e && e.stack || e) });
}
report.done = true;
</script>`;

const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
  '.html': 'text/html',
};

/** Serves the test bundle at /, the library bundle at /lib/, and the two pages. */
function serve(testDir: string, libDir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let body: Buffer | string | null = null;
    if (path === '/index.html')
      body = '<!doctype html><meta charset="utf-8"><script type="module" src="/entry.js"></script>';
    else if (path === '/smoke.html') body = SMOKE_PAGE;
    else if (path === '/threads.html') body = THREADS_PAGE;
    else {
      const file = path.startsWith('/lib/') ? join(libDir, path.slice(5)) : join(testDir, path.slice(1));
      if (!path.includes('..') && existsSync(file) && statSync(file).isFile()) body = readFileSync(file);
    }
    // the threads page is cross-origin isolated: SharedArrayBuffer, so the wasm backend's threads
    const isolation =
      path === '/threads.html'
        ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' }
        : {};
    res.writeHead(body === null ? 404 : 200, { 'content-type': TYPES[extname(path)] ?? 'text/html', ...isolation });
    res.end(body ?? 'not found');
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` }),
    ),
  );
}

/** Runs the browser suites on `backends`; each page gets `timeoutS` seconds (TAPEGRAD_BROWSER_TIMEOUT_S). */
export async function runBrowserSuites(
  backends: readonly string[] = BROWSER_BACKENDS,
  timeoutS = Number(process.env.TAPEGRAD_BROWSER_TIMEOUT_S ?? 300),
): Promise<BrowserRun> {
  const t0 = Date.now();
  const files = suiteFiles();
  if (!existsSync(CHROMIUM)) {
    return {
      skipped: `chromium not found at ${CHROMIUM} (apt-get install -y chromium; or set CHROMIUM_PATH)`,
      results: [],
      info: {},
      files,
      seconds: 0,
    };
  }
  const testDir = join(root, 'dist/browser-test');
  const libDir = join(root, 'dist/browser');
  await bundleTests(files, testDir);
  await bundleForBrowser('src/browser.ts', 'dist/browser/tapegrad.js');
  const { server, url } = await serve(testDir, libDir);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  const run: BrowserRun = { results: [], info: {}, files, seconds: 0 };
  const verbose = !!process.env.TAPEGRAD_BROWSER_VERBOSE;
  try {
    const filter = encodeURIComponent(process.env.TAPEGRAD_BROWSER_FILTER ?? '');
    const pages = [
      ...backends.map((b) => ({
        backend: b,
        path: `/index.html?${PAGES[b] ?? `backend=${b}`}&label=${b}&filter=${filter}`,
      })),
      { backend: 'bundle', path: '/smoke.html' },
      { backend: 'bundle', path: '/threads.html' },
    ];
    for (const { backend, path } of pages) {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
        if (verbose) console.log(`  [${backend}] ${m.text()}`);
      });
      await page.goto(url + path);
      try {
        await page.waitForFunction(() => (globalThis as { __tapegrad?: PageReport }).__tapegrad?.done, null, {
          timeout: timeoutS * 1000,
          polling: 500,
        });
      } catch {
        errors.unshift(`the page did not finish within ${timeoutS} s`);
      }
      const report = await page.evaluate(() => (globalThis as { __tapegrad?: PageReport }).__tapegrad);
      run.info[backend] = { ...run.info[backend], ...(report?.info ?? {}) };
      run.results.push(...(report?.results ?? []).map((r) => ({ ...r, backend })));
      if (!report?.done) {
        run.results.push({
          backend,
          file: '(page)',
          suite: '',
          name: 'the page ran to the end',
          ok: false,
          ms: 0,
          error: errors.slice(0, 5).join('\n') || 'no report',
        });
      }
      await page.close();
    }
  } finally {
    await browser.close();
    server.close();
  }
  run.seconds = (Date.now() - t0) / 1000;
  return run;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const only = process.argv.slice(2);
  const run = await runBrowserSuites(only.length ? only : BROWSER_BACKENDS);
  if (run.skipped) console.log(`SKIPPED: ${run.skipped}`);
  for (const r of run.results)
    console.log(
      `${r.skipped ? 'skip' : r.ok ? 'ok  ' : 'FAIL'} [${r.backend}] ${r.file} › ${r.name} (${r.ms.toFixed(0)} ms)${r.ok ? '' : '\n     ' + r.error}`,
    );
  console.log(JSON.stringify(run.info, null, 1));
  const failed = run.results.filter((r) => !r.ok).length;
  const skipped = run.results.filter((r) => r.skipped).length;
  console.log(
    `${run.results.length - failed - skipped} passed, ${failed} failed, ${skipped} skipped (Node-only), ${run.seconds.toFixed(0)} s`,
  );
  process.exit(failed ? 1 : 0);
}
