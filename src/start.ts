// Starting the default backend, shared by the entry points: index.ts (Node) waits for it at
// import; browser.ts (bundlers, whose default targets refuse top-level await) starts it at import
// and lets the application wait with `await tg.ready()`.
import { initDefaultBackend, setBackend as switchBackend, type BackendName } from './backend/index.js';

let starting: Promise<void> | undefined;

/**
 * Resolves once the default backend has started (in Node, before `import` returns; in the
 * browser, webgpu, webgl, wasm or cpu, whichever starts first). Rejects if none can.
 */
export function ready(): Promise<void> {
  if (!starting) {
    starting = initDefaultBackend();
    // Marked handled here; whoever awaits ready() still sees the failure.
    starting.catch(() => {});
  }
  return starting;
}

/**
 * Makes `name` the active backend; resolves once it is ready, or throws saying why it cannot
 * start. Waits for the default backend's start first, so that it cannot override this choice.
 */
export async function setBackend(name: BackendName): Promise<void> {
  await starting?.catch(() => {});
  return switchBackend(name);
}
