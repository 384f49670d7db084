// The backend panel: every browser backend tapegrad knows, those that start selectable, the others
// greyed out with the reason tg.listBackends() gives.
import * as tg from '../src/api.js';

/** The browser's backends, fastest first (the order the default is picked in). */
export const BROWSER_BACKENDS: tg.BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/** Whether a GPU's name is a software rasteriser's (the GPU backends then run on the CPU). */
export function isSoftwareRenderer(renderer: string): boolean {
  return /swiftshader|llvmpipe|lavapipe|softpipe|software|basic render/i.test(renderer);
}

/** What each GPU backend runs on: WebGPU's adapter and WebGL's renderer, '' where the browser hides it. */
export async function gpuRenderers(): Promise<{ webgpu: string; webgl: string }> {
  let webgpu = '';
  try {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    const adapter = (await gpu?.requestAdapter()) as
      | { info?: Record<string, string>; isFallbackAdapter?: boolean }
      | null
      | undefined;
    const info = adapter?.info ?? {};
    webgpu = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
    if (adapter?.isFallbackAdapter) webgpu = `${webgpu} (software fallback adapter)`;
  } catch {
    // no WebGPU: the backend list says why
  }
  let webgl = '';
  try {
    const gl = document.createElement('canvas').getContext('webgl2');
    const ext = gl?.getExtension('WEBGL_debug_renderer_info');
    webgl = gl ? String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER)) : '';
  } catch {
    // no WebGL2: the backend list says why
  }
  return { webgpu, webgl };
}

/**
 * The playground's backend: the first of webgpu, webgl, wasm, cpu that starts, passing over a GPU
 * backend that runs on a software rasteriser. GPUs first, as their kernels run in parallel; but on
 * SwiftShader (a headless or GPU-less machine) the playground's MLPs train about 100 times slower
 * on webgpu and 4 times slower on webgl than on wasm (docs/benchmarks.md), as each GPU dispatch is
 * emulated on the CPU, and wasm runs threaded in this cross-origin-isolated page.
 */
export function fastestBackend(
  infos: Pick<tg.BackendInfo, 'name' | 'available'>[],
  renderers: { webgpu: string; webgl: string },
): { name: tg.BackendName; why: string } {
  const skipped: string[] = [];
  for (const name of BROWSER_BACKENDS) {
    if (!infos.find((b) => b.name === name)?.available) continue;
    if ((name === 'webgpu' || name === 'webgl') && isSoftwareRenderer(renderers[name])) {
      skipped.push(`${name} runs on ${renderers[name]}, a software renderer`);
      continue;
    }
    const first = `the first of ${BROWSER_BACKENDS.join(', ')} that starts`;
    return {
      name,
      why: skipped.length ? `${first} on a GPU in hardware: ${skipped.join('; ')}` : first,
    };
  }
  // Every backend that starts is a software GPU (wasm and cpu did not start): take the first.
  const name = BROWSER_BACKENDS.find((n) => infos.find((b) => b.name === n)?.available) ?? 'cpu';
  return { name, why: `the only backends that start run in software: ${skipped.join('; ')}` };
}

/** Lists the backends and calls `chosen` when the user picks one. */
export async function renderBackends(
  active: string,
  chosen: (name: tg.BackendName) => void,
): Promise<tg.BackendInfo[]> {
  const all = await tg.listBackends();
  const infos = BROWSER_BACKENDS.map((n) => all.find((b) => b.name === n)!);
  const box = document.getElementById('backends')!;
  box.replaceChildren();
  for (const info of infos) {
    const label = document.createElement('label');
    label.classList.toggle('unavailable', !info.available);
    label.title = info.reason;
    const input = document.createElement('input');
    input.type = 'radio';
    input.name = 'backend';
    input.value = info.name;
    input.disabled = !info.available;
    input.checked = info.name === active;
    input.addEventListener('change', () => chosen(info.name));
    const reason = document.createElement('small');
    reason.textContent = info.available ? info.reason : `unavailable: ${info.reason}`;
    label.append(input, ` ${info.name}`, reason);
    box.append(label);
  }
  return infos;
}

/** Marks `name` as the checked backend (after a switch, or a refused one). */
export function checkBackend(name: string): void {
  document.querySelectorAll<HTMLInputElement>('input[name=backend]').forEach((input) => {
    input.checked = input.value === name;
  });
}
