// The browser entry's first module: it runs before the default backend starts.
// It registers the GPU backends (their packages register at import; in the browser navigator.gpu
// exists, so webgpu does too) and tells the wasm backend where its binaries are: beside this
// module. Written as `new URL('./file', import.meta.url)` so that Vite and webpack emit each file
// as an asset and rewrite the URL; esbuild leaves the URL relative to the bundle, beside which the
// app copies the files (README.md, "In a bundled app").
import * as webgl from '@tensorflow/tfjs-backend-webgl';
import * as webgpu from '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

// Referenced so that bundlers keep the imports whose side effect is the registration.
void webgl.version_webgl;
void webgpu.webgpu_util;

/** The URL `at()` gives, or undefined where import.meta.url is empty (a bundle in a classic script). */
const asset = (at: () => URL): string | undefined => {
  try {
    return at().href;
  } catch {
    return undefined;
  }
};

const files = {
  'tfjs-backend-wasm.wasm': asset(() => new URL('./tfjs-backend-wasm.wasm', import.meta.url)),
  'tfjs-backend-wasm-simd.wasm': asset(() => new URL('./tfjs-backend-wasm-simd.wasm', import.meta.url)),
  'tfjs-backend-wasm-threaded-simd.wasm': asset(
    () => new URL('./tfjs-backend-wasm-threaded-simd.wasm', import.meta.url),
  ),
};
if (files['tfjs-backend-wasm.wasm']) setWasmPaths(files);
