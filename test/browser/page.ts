// Runs inside the test page: imports each suite file (they queue their suites through
// uvu-shim.ts), then runs every queued test on the page's backend and publishes the results on
// window.__tapegrad for test/browser/run.ts to collect.
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../../src/index.js';
import { floatPrecision } from '../../src/backend/index.js';
import { queue } from './uvu-shim.js';

export interface TestResult {
  file: string;
  suite: string;
  name: string;
  ok: boolean;
  /** The test needs Node (it called a node: module), so it did not run here. */
  skipped?: boolean;
  ms: number;
  error?: string;
}

export interface PageReport {
  done: boolean;
  backend: string;
  info: Record<string, unknown>;
  results: TestResult[];
}

function describeError(e: unknown): string {
  const err = e as { message?: string; operator?: string; expects?: unknown; actual?: unknown; stack?: string };
  const where = (err.stack ?? '').split('\n').slice(1, 4).join('\n');
  return `${err.message ?? String(e)}${err.operator ? ` (${err.operator})` : ''}\n${where}`;
}

/**
 * A test that needs Node: it called a node: module (the bundle's stand-in throws "node-only:"),
 * or the test file itself (a *.test chunk, not the library) used Node's `process`.
 */
function nodeOnly(e: unknown): boolean {
  const err = e as { message?: string; stack?: string };
  if (err.message?.startsWith('node-only:')) return true;
  const frame = (err.stack ?? '').split('\n').find((l) => l.includes('http'));
  return err.message === 'process is not defined' && !!frame && /\.test-\w+\.js/.test(frame);
}

export async function runPage(
  files: Record<string, { backends: string[]; load: () => Promise<unknown> }>,
): Promise<void> {
  const backend = (globalThis as { TAPEGRAD_BACKEND?: string }).TAPEGRAD_BACKEND!;
  const label = (globalThis as { TAPEGRAD_PAGE_LABEL?: string }).TAPEGRAD_PAGE_LABEL!;
  const report: PageReport = { done: false, backend, info: {}, results: [] };
  (globalThis as { __tapegrad?: PageReport }).__tapegrad = report;
  try {
    // TF.js computes ops on tiny CPU-resident tensors on the CPU; these tests are about the GPU.
    tf.env().set('WEBGL_CPU_FORWARD', false);
    tf.env().set('WEBGPU_CPU_FORWARD', false);
    await tg.setBackend(backend as tg.BackendName);
    report.info = {
      active: tg.getBackend(),
      precision: floatPrecision(),
      webglRenderFloat32: backend === 'webgl' ? tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED') : null,
      webglVersion: backend === 'webgl' ? tf.env().getNumber('WEBGL_VERSION') : null,
      userAgent: navigator.userAgent,
    };
    // Suites add what they measure (the ops suite: the precision and tolerances it used).
    (globalThis as { TAPEGRAD_PAGE_INFO?: object }).TAPEGRAD_PAGE_INFO = report.info;
    for (const [file, { backends, load }] of Object.entries(files)) {
      if (!backends.includes(label)) continue;
      (globalThis as { TAPEGRAD_CURRENT_FILE?: string }).TAPEGRAD_CURRENT_FILE = file;
      const t0 = performance.now();
      try {
        await load();
      } catch (e) {
        report.results.push({
          file,
          suite: '',
          name: '(importing the file)',
          ok: false,
          ms: performance.now() - t0,
          error: describeError(e),
        });
      }
    }
    for (const s of queue) {
      const tests = s.only.length ? s.only : s.tests;
      for (const h of s.before) await h(s.state);
      const filter = new URLSearchParams(location.search).get('filter') ?? '';
      for (const t of tests) {
        if (!`${s.file} › ${t.name}`.includes(filter)) continue;
        const t0 = performance.now();
        const result: TestResult = { file: s.file, suite: s.name, name: t.name, ok: true, ms: 0 };
        try {
          // Suites switch backends (and back to wasm, Node's default): every test starts on the page's.
          await tg.setBackend(backend as tg.BackendName);
          for (const h of s.beforeEach) await h(s.state);
          await t.fn(s.state);
          for (const h of s.afterEach) await h(s.state);
        } catch (e) {
          result.error = describeError(e);
          if (nodeOnly(e)) result.skipped = true;
          else result.ok = false;
        }
        result.ms = performance.now() - t0;
        report.results.push(result);
        console.log(
          `[tapegrad] ${result.skipped ? 'skip' : result.ok ? 'ok  ' : 'FAIL'} ${s.file} › ${t.name} (${result.ms.toFixed(0)} ms)`,
        );
      }
      for (const h of s.after) await h(s.state);
    }
  } catch (e) {
    report.results.push({
      file: '(page)',
      suite: '',
      name: `starting '${backend}'`,
      ok: false,
      ms: 0,
      error: describeError(e),
    });
  }
  report.done = true;
}
