// The test page's first module: reads the backend from the page's URL (?backend=webgl) before
// tapegrad is imported, so that index.ts starts on it and the shared suites (NODE_BACKENDS in
// test/helpers.ts) run on it instead of cpu and wasm.
const backend = new URLSearchParams(location.search).get('backend') ?? 'webgl';
Object.assign(globalThis, { TAPEGRAD_BACKEND: backend, TAPEGRAD_TEST_BACKENDS: [backend] });
