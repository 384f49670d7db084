// Bundles the benchmark page (page.ts and everything it imports) for the browser with esbuild,
// in memory; run.ts serves the result.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

export async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./page.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome113',
    write: false,
    logLevel: 'warning',
    // Node-only modules some packages mention behind runtime checks; never loaded in a page.
    external: ['node:*', 'fs', 'path', 'os', 'crypto', 'worker_threads', 'util'],
  });
  return result.outputFiles[0].text;
}
