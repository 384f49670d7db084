// The benchmark page: bundled by esbuild (see bundle.ts) and served by run.ts. Opened by hand it
// offers a button per suite and draws the results; headless Chromium calls window.runBench().
import '@tensorflow/tfjs'; // TF.js's own gradients (tf.grad baselines) and its webgl backend
import * as webgpu from '@tensorflow/tfjs-backend-webgpu'; // registers 'webgpu' where navigator.gpu exists
import { runBenchmarks, SUITE_NAMES } from '../runner.js';
import { SUITES } from '../suites/index.js';
import { timesTable, ratios, ratiosTable, ratiosSvg } from '../report.js';
import type { BenchRecord, Check, Size } from '../harness.js';

void webgpu.WebGPUBackend; // a used name, so that bundlers keep the registering import

/** The browser and the device a backend runs on, in words. */
async function deviceOf(backend: string): Promise<string> {
  const browser = navigator.userAgent.match(/(HeadlessChrome|Chrome|Firefox|Safari)\/[\d.]+/)?.[0] ?? 'browser';
  if (backend === 'webgl') {
    const gl = document.createElement('canvas').getContext('webgl2');
    const ext = gl?.getExtension('WEBGL_debug_renderer_info');
    return `${browser}, WebGL: ${ext ? gl!.getParameter(ext.UNMASKED_RENDERER_WEBGL) : (gl?.getParameter(gl.RENDERER) ?? 'none')}`;
  }
  if (backend === 'webgpu') {
    const gpu = (
      navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: Record<string, string> } | null> } }
    ).gpu;
    const info = (await gpu?.requestAdapter())?.info;
    return `${browser}, WebGPU: ${info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'adapter' : 'none'}`;
  }
  return `${browser}, ${navigator.hardwareConcurrency} threads`;
}

const $ = (id: string) => document.getElementById(id)!;
const status = (msg: string) => {
  $('status').textContent = msg;
  console.log(msg);
};

let all: BenchRecord[] = [];

function show(records: BenchRecord[], checks: Check[]): void {
  all = [
    ...all.filter(
      (r) =>
        !records.some(
          (n) =>
            n.suite === r.suite &&
            n.size === r.size &&
            n.backend === r.backend &&
            n.impl === r.impl &&
            n.phase === r.phase,
        ),
    ),
    ...records,
  ];
  const rs = ratios(all);
  $('chart').innerHTML = ratiosSvg(rs, `tapegrad benchmarks — ${all[0]?.device ?? ''}`);
  $('ratios').textContent = ratiosTable(rs);
  $('times').textContent = timesTable(all);
  const bad = checks.filter((c) => !c.ok);
  $('checks').textContent =
    `gradient checks: ${checks.length - bad.length} of ${checks.length} passed` +
    bad.map((c) => `\nDIFFER: ${c.suite} ${c.size} ${c.impl} (${c.relDiff.toExponential(2)})`).join('');
  $('json').setAttribute(
    'href',
    URL.createObjectURL(new Blob([JSON.stringify(all, null, 1)], { type: 'application/json' })),
  );
}

/** Runs suites on backends; what headless Chromium calls. Returns the records and the checks. */
async function runBench(o: {
  backends: string[];
  suites?: string[];
  size?: Size;
  reps?: number;
}): Promise<{ records: BenchRecord[]; checks: Check[] }> {
  const result = await runBenchmarks({
    backends: o.backends,
    suites: o.suites ?? SUITE_NAMES,
    size: o.size ?? 'small',
    reps: o.reps,
    device: deviceOf,
    log: status,
  });
  show(result.records, result.checks);
  status('done');
  return result;
}
(window as unknown as { runBench: typeof runBench }).runBench = runBench;

// ---- the controls: a backend and size choice, a button per suite, one for all of them
const buttons = $('buttons');
const run = async (suites: string[]) => {
  buttons.querySelectorAll('button').forEach((b) => ((b as HTMLButtonElement).disabled = true));
  try {
    await runBench({
      backends: [($('backend') as HTMLSelectElement).value],
      suites,
      size: ($('size') as HTMLSelectElement).value as Size,
    });
  } catch (e) {
    status(`failed: ${(e as Error).message}`);
  } finally {
    buttons.querySelectorAll('button').forEach((b) => ((b as HTMLButtonElement).disabled = false));
  }
};
for (const s of SUITES) {
  const b = document.createElement('button');
  b.textContent = s.name;
  b.title = s.title;
  b.onclick = () => run([s.name]);
  buttons.append(b);
}
const every = document.createElement('button');
every.textContent = 'all suites';
every.onclick = () => run(SUITE_NAMES);
buttons.append(every);
// A link may pick the backend (?backend=webgl, as the playground's does) and start suites (?suite=mlp,chain).
const query = new URLSearchParams(location.search);
const backendSelect = $('backend') as HTMLSelectElement;
if (Array.from(backendSelect.options).some((o) => o.value === query.get('backend')))
  backendSelect.value = query.get('backend')!;
status('ready');
if (query.get('suite')) void run(query.get('suite')!.split(','));
