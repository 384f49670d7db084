// Saving and loading the model as safetensors: the same bytes Module.save() writes in Node, so a
// file from examples/mnist.ts loads here and a file saved here loads there.
import type * as tg from '../src/api.js';
import { stateBytes } from './trainer.js';

/** Offers the model's state as a download named `name`. */
export async function downloadModel(net: tg.nn.Module, name: string): Promise<void> {
  const bytes = await stateBytes(net);
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The header's metadata of a safetensors file (what wrote it, which module), if it has any. */
export function fileMetadata(bytes: Uint8Array): Record<string, string> {
  try {
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    return header.__metadata__ ?? {};
  } catch {
    return {};
  }
}

/**
 * Loads `bytes` into `net`. When the file does not fit, the error says so in words: the module it
 * was saved from (when the file says), and loadStateDict's list of missing and mis-shaped entries.
 */
export function loadModel(net: tg.nn.Module, bytes: Uint8Array, fileName: string): void {
  try {
    net.fromBytes(bytes);
  } catch (e) {
    const saved = fileMetadata(bytes).module;
    const detail = (e as Error).message.replace(/^[^:]*fromBytes: /, '');
    throw new Error(
      `${fileName} does not fit the chosen model, ${net.describe()}` +
        `${saved ? `: it was saved from ${saved}` : ''}. ${detail}` +
        '\nChoose the model the file was saved from (data set, network, width and depth), then load it again.',
    );
  }
}
