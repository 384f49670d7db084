// tapegrad's entry point for Node (and for bundlers without the "browser" condition): the public
// API, with the default backend (wasm, else cpu) started before the first op can run.
import { ready } from './start.js';

export * from './api.js';

await ready();
