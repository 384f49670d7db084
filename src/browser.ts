// tapegrad's entry point for browsers (the "browser" export condition that Vite, webpack and
// esbuild apply): the public API with the webgl, webgpu, wasm and cpu backends. No top-level
// await (default bundler targets refuse it) and no Node built-ins: the default backend (webgpu,
// else webgl, wasm, cpu) starts at import, and `await tg.ready()` waits for it.
// The setup module must come first: ES modules evaluate in import order.
import './browser-setup.js';
import { ready } from './start.js';

export * from './api.js';

void ready();
