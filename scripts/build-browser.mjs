// Builds the browser bundle of tapegrad: dist/browser/tapegrad.js, an ES module with tfjs-core
// and the cpu, wasm, webgl and webgpu backends, and the wasm backend's binaries beside it
// (src/browser-setup.ts points the wasm backend there). test/browser/run.ts uses these
// functions to build the bundle it tests and, with the same options, the browser-side tests.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Copies the wasm backend's .wasm files into `outDir` (relative to the repo root, or absolute). */
export function copyWasmBinaries(outDir) {
  const from = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  const to = resolve(root, outDir);
  mkdirSync(to, { recursive: true });
  for (const f of readdirSync(from)) if (f.endsWith('.wasm')) copyFileSync(join(from, f), join(to, f));
}

/** Bundles `entry` into `outfile` (both relative to the repo root) as an ES module for browsers. */
export async function bundleForBrowser(entry, outfile) {
  await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020', // browser.ts has no top-level await: ready() waits for the default backend
    sourcemap: true,
    logLevel: 'error',
  });
  copyWasmBinaries(dirname(outfile));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = 'dist/browser/tapegrad.js';
  await bundleForBrowser('src/browser.ts', out);
  console.log(`built ${out} (and the wasm binaries beside it)`);
}
