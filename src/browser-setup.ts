// The browser bundle's first module: it runs before index.ts picks the default backend.
// It registers the GPU backends (their packages register at import; in the browser navigator.gpu
// exists, so webgpu does too) and points the wasm backend at the .wasm files copied beside the
// bundle by scripts/build-browser.mjs.
import * as webgl from '@tensorflow/tfjs-backend-webgl';
import * as webgpu from '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

// Referenced so that bundlers keep the imports whose side effect is the registration.
void webgl.version_webgl;
void webgpu.webgpu_util;

setWasmPaths(new URL('./', import.meta.url).href);
