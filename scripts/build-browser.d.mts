// Types of scripts/build-browser.mjs, for the TypeScript that imports it (test/browser/run.ts).
/** Copies the wasm backend's .wasm files into `outDir` (relative to the repo root, or absolute). */
export function copyWasmBinaries(outDir: string): void;
/** Bundles `entry` into `outfile` (both relative to the repo root) as an ES module for browsers, with the wasm binaries beside it. */
export function bundleForBrowser(entry: string, outfile: string): Promise<void>;
