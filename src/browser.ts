// tapegrad for the browser: the whole API, with the webgl, webgpu, wasm and cpu backends.
// scripts/build-browser.mjs bundles this file into dist/browser/tapegrad.js (ES module).
// The setup module must come first: ES modules evaluate in import order, and index.ts picks
// the default backend (webgpu, else webgl, else wasm, else cpu) as it evaluates.
import './browser-setup.js';

export * from './index.js';
