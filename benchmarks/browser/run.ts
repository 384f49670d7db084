// `npm run bench:browser -- [--backend webgl,webgpu] [--suite …] [--size small|full] [--json file] [--reps n] [--serve]`
// Serves the benchmark page on 127.0.0.1, runs it in headless Chromium (Debian's /usr/bin/chromium
// through playwright-core) on each backend, and writes the same JSON and chart as `npm run bench`.
// --serve only serves the page, to open by hand (a button per suite, the chart drawn on the page).
import { createServer, type Server } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, basename } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { bundlePage } from './bundle.js';
import { timesTable, ratios, ratiosTable } from '../report.js';
import { cpuDevice, machineSlug, writeResults } from '../output.js';
import type { BenchRecord, Check } from '../harness.js';
import { CHROMIUM, FLAGS } from '../../scripts/chromium.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'webgl,webgpu' },
    suite: { type: 'string' },
    size: { type: 'string', default: 'small' },
    json: { type: 'string' },
    reps: { type: 'string' },
    serve: { type: 'boolean', default: false },
    port: { type: 'string', default: '0' },
  },
});

/** Serves index.html, the bundle and the TF.js wasm binaries on 127.0.0.1. */
async function serve(bundle: string, port: number): Promise<{ server: Server; url: string }> {
  const wasmDir = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    // Cross-origin isolation gives the page a finer performance.now() (Chrome coarsens it to
    // 0.1 ms otherwise) and SharedArrayBuffer; everything here is same-origin, so nothing breaks.
    const headers = {
      'cache-control': 'no-store',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    };
    const send = (type: string, body: string | Buffer) => {
      res.writeHead(200, { ...headers, 'content-type': type });
      res.end(body);
    };
    if (path === '/favicon.ico') return void res.writeHead(204, headers).end();
    if (path === '/' || path === '/index.html')
      return send('text/html; charset=utf-8', readFileSync(join(here, 'index.html')));
    if (path === '/bench.js') return send('text/javascript; charset=utf-8', bundle);
    const wasm = join(wasmDir, basename(path));
    if (path.endsWith('.wasm') && existsSync(wasm)) return send('application/wasm', readFileSync(wasm));
    log(`404 ${path}`);
    res.writeHead(404, headers).end('not found');
  });
  await new Promise<void>((ok) => server.listen(port, '127.0.0.1', ok));
  const addr = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${addr.port}/` };
}

const log = (m: string) => process.stderr.write(m + '\n');
log('bundling the page …');
const { server, url } = await serve(await bundlePage(), Number(values.port));
if (values.serve) {
  log(`serving the benchmark page at ${url} (Ctrl-C to stop)`);
} else {
  if (!existsSync(CHROMIUM)) {
    log(`no Chromium at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH=/path/to/chrome`);
    server.close();
    process.exit(2);
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
  const records: BenchRecord[] = [];
  const checks: Check[] = [];
  let failed = false;
  try {
    const page = await browser.newPage();
    // Lines cut at 300 characters: jax-js prints whole shaders when one fails to compile.
    const cut = (t: string) => (t.length > 300 ? `${t.slice(0, 300)} …` : t);
    page.on('console', (m) => log(`[page] ${cut(m.text())}`));
    page.on('pageerror', (e) => log(`[page error] ${cut(e.message)}`));
    await page.goto(url);
    await page.waitForFunction(() => 'runBench' in window, null, { timeout: 60_000 });
    // Each backend on its own, so that one that fails to start does not stop the others.
    for (const backend of values
      .backend!.split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      try {
        const opts = {
          backends: [backend],
          suites: values.suite?.split(','),
          size: values.size,
          reps: values.reps ? Number(values.reps) : undefined,
        };
        const r = await page.evaluate((o) => (window as any).runBench(o), opts);
        records.push(...r.records);
        checks.push(...r.checks);
      } catch (e) {
        failed = true;
        log(`backend ${backend} failed: ${(e as Error).message.split('\n')[0]}`);
      }
    }
  } finally {
    await browser.close();
    server.close();
  }
  if (records.length) {
    const out = writeResults(records, join(here, '..', 'results'), machineSlug(`chromium ${cpuDevice()}`), values.json);
    console.log(
      `# tapegrad benchmarks in headless Chromium — ${[...new Set(records.map((r) => r.device))].join('; ')}\n`,
    );
    console.log(timesTable(records));
    console.log('\n' + ratiosTable(ratios(records)));
    const bad = checks.filter((c) => !c.ok);
    console.log(
      `\ngradient checks: ${checks.length - bad.length} of ${checks.length} passed${bad.map((c) => `\n  DIFFER: ${c.suite} ${c.size} ${c.impl} (relative difference ${c.relDiff.toExponential(2)})`).join('')}`,
    );
    console.log(`\nwrote ${out.json}\n      ${out.svg}`);
    failed ||= bad.length > 0;
  }
  process.exit(failed || !records.length ? 1 : 0);
}
