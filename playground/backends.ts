// The backend panel: every browser backend tapegrad knows, those that start selectable, the others
// greyed out with the reason tg.listBackends() gives.
import * as tg from '../src/api.js';

/** The browser's backends, fastest first (the order the default is picked in). */
export const BROWSER_BACKENDS: tg.BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

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
