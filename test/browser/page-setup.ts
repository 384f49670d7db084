// The test page's first module: reads the backend from the page's URL (?backend=webgl) before
// tapegrad is imported, so that index.ts starts on it and the shared suites (NODE_BACKENDS in
// test/helpers.ts) run on it instead of cpu and wasm.
// `label` names a variant of a backend (webgl-f16: WebGL with half-float textures, forced with
// TF.js's URL flag tfjsflags=WEBGL_RENDER_FLOAT32_ENABLED:false); it picks the suites that run.
const params = new URLSearchParams(location.search);
const backend = params.get('backend') ?? 'webgl';
Object.assign(globalThis, {
  TAPEGRAD_BACKEND: backend,
  TAPEGRAD_TEST_BACKENDS: [backend],
  TAPEGRAD_PAGE_LABEL: params.get('label') ?? backend,
});
