// tapegrad in a browser app built by a real bundler, from the packed package installed by name:
// esbuild, Vite and webpack each bundle a small app (`import * as tg from 'tapegrad'`) with their
// default settings (plus, for esbuild, the one documented step: copying the wasm binaries beside
// the bundle), and the app runs in headless Chromium: the default backend must be the fastest
// (webgpu), and a gradient must come out right on webgpu, webgl and wasm, with no request failing.
// Builds must not warn about Node built-ins or top-level await.
import { build as esbuild } from 'esbuild';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CHROMIUM, FLAGS } from '../browser/run.js';
import { packedProject } from './packed.js';

const APP = `import * as tg from 'tapegrad';

const report = { done: false, results: {} };
window.__report = report;
(async () => {
  try {
    await tg.ready();
    report.defaultBackend = tg.getBackend();
    report.backends = await tg.listBackends();
    for (const name of ['webgpu', 'webgl', 'wasm']) {
      try {
        await tg.setBackend(name);
        const x = tg.tensor([1.5, -2, 0.25]);
        const g = tg.grad((t) => t.mul(t).sum())(x);
        report.results[name] = { backend: tg.getBackend(), grad: Array.from(await g.data()) };
        tg.dispose([x, g]);
      } catch (e) {
        report.results[name] = { error: String((e && e.stack) || e) };
      }
    }
  } catch (e) {
    report.error = String((e && e.stack) || e);
  }
  report.done = true;
})();
`;

const HTML = (src: string) =>
  `<!doctype html><meta charset="utf-8"><title>app</title><script type="module" src="${src}"></script>\n`;

const skipped = !existsSync(CHROMIUM);
const packed = packedProject();
const appDir = join(packed.dir, 'app');
rmSync(appDir, { recursive: true, force: true });
mkdirSync(appDir, { recursive: true });
writeFileSync(join(appDir, 'main.js'), APP);
writeFileSync(join(appDir, 'index.html'), HTML('./main.js'));

/** The error for a devDependency that is missing (a node_modules older than package.json). */
const notInstalled =
  (name: string) =>
  (e: Error): never => {
    throw new Error(`${name} is not installed: run npm ci (it is a devDependency in package.json): ${e.message}`);
  };

const BUILDERS: Record<string, (outDir: string) => Promise<string[]>> = {
  async esbuild(outDir) {
    const r = await esbuild({
      absWorkingDir: appDir,
      entryPoints: ['main.js'],
      outdir: outDir,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      logLevel: 'silent',
    });
    // README.md, "In a bundled app": esbuild leaves the wasm URLs relative to the bundle.
    const wasmDir = join(packed.dir, 'node_modules/tapegrad/dist/src');
    for (const f of readdirSync(wasmDir)) if (f.endsWith('.wasm')) copyFileSync(join(wasmDir, f), join(outDir, f));
    writeFileSync(join(outDir, 'index.html'), HTML('./main.js'));
    return r.warnings.map((w) => w.text);
  },
  async vite(outDir) {
    const vite = await import('vite').catch(notInstalled('vite'));
    const warnings: string[] = [];
    const logger = vite.createLogger('warn');
    logger.warn = (msg) => void warnings.push(msg);
    logger.warnOnce = (msg) => void warnings.push(msg);
    await vite.build({
      root: appDir,
      configFile: false,
      logLevel: 'warn',
      customLogger: logger,
      build: { outDir, emptyOutDir: true, reportCompressedSize: false },
    });
    return warnings.filter((w) => !/chunks are larger than/.test(w));
  },
  async webpack(outDir) {
    const { default: webpack } = await import('webpack').catch(notInstalled('webpack'));
    const stats = await new Promise<import('webpack').Stats>((resolve, reject) =>
      webpack(
        {
          mode: 'production',
          context: appDir,
          entry: './main.js',
          output: { path: outDir, filename: 'main.js' },
          optimization: { minimize: false },
          performance: { hints: false },
        },
        (err, s) => (err || !s ? reject(err) : resolve(s)),
      ),
    );
    const info = stats.toJson({ all: false, errors: true, warnings: true });
    if (stats.hasErrors()) throw new Error(info.errors!.map((e) => e.message).join('\n'));
    writeFileSync(join(outDir, 'index.html'), HTML('./main.js'));
    return (info.warnings ?? []).map((w) => w.message);
  },
};

const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.html': 'text/html',
  '.map': 'application/json',
};

function serve(dir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = join(dir, path === '/' ? 'index.html' : path.slice(1));
    const ok = !path.includes('..') && existsSync(file) && statSync(file).isFile();
    res.writeHead(ok ? 200 : 404, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(ok ? readFileSync(file) : 'not found');
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/` }),
    ),
  );
}

interface Report {
  done: boolean;
  error?: string;
  defaultBackend?: string;
  results: Record<string, { backend?: string; grad?: number[]; error?: string }>;
}

async function runApp(browser: Browser, dir: string): Promise<{ report?: Report; failed: string[]; errors: string[] }> {
  const { server, url } = await serve(dir);
  const page = await browser.newPage();
  const failed: string[] = [];
  const errors: string[] = [];
  page.on('response', (r) => void (r.status() >= 400 && failed.push(`${r.status()} ${r.url()}`)));
  page.on('requestfailed', (r) => void failed.push(`failed ${r.url()}`));
  page.on('pageerror', (e) => void errors.push(e.message));
  try {
    await page.goto(url);
    await page
      .waitForFunction(() => (globalThis as { __report?: Report }).__report?.done, null, {
        timeout: 120_000,
        polling: 250,
      })
      .catch(() => {});
    const report = await page.evaluate(() => (globalThis as { __report?: Report }).__report);
    return { report, failed, errors };
  } finally {
    await page.close();
    server.close();
  }
}

let browser: Browser | undefined;
test.before(async () => {
  if (!skipped) browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
});
test.after(async () => {
  await browser?.close();
});

const timings: string[] = [];
for (const [name, builder] of Object.entries(BUILDERS)) {
  test(`${name}: the app builds without warnings and runs on webgpu (its default), webgl and wasm`, async () => {
    if (skipped) return;
    const outDir = join(packed.dir, `out-${name}`);
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    const t0 = Date.now();
    const warnings = await builder(outDir);
    const buildS = (Date.now() - t0) / 1000;
    assert.equal(warnings, [], `${name} warned`);
    const t1 = Date.now();
    const { report, failed, errors } = await runApp(browser!, outDir);
    timings.push(`${name}: build ${buildS.toFixed(1)} s, page ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    assert.ok(report?.done, `the page did not finish: ${errors.join('\n') || report?.error}`);
    assert.is(report!.error, undefined);
    assert.equal(failed, [], 'failed requests');
    assert.is(report!.defaultBackend, 'webgpu', 'the default backend');
    for (const b of ['webgpu', 'webgl', 'wasm']) {
      assert.equal(report!.results[b], { backend: b, grad: [3, -4, 0.5] }, b);
    }
  });
}

test('timings', () => {
  if (skipped && process.env.TAPEGRAD_REQUIRE_BROWSER === '1')
    assert.unreachable(`no browser at ${CHROMIUM} (TAPEGRAD_REQUIRE_BROWSER=1)`);
  if (skipped) console.log(`SKIPPED: consumer bundler tests (chromium not found at ${CHROMIUM})`);
  else console.log(timings.join('\n'));
});

test.run();
