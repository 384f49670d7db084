// The file format of Module.save()/load(): safetensors (https://github.com/huggingface/safetensors),
// so that PyTorch, JAX and others can read tapegrad's weights and the other way round.
//
//   bytes 0..8    N, the header's length, a little-endian unsigned 64-bit integer
//   bytes 8..8+N  a UTF-8 JSON header: { "<name>": { "dtype": "F32", "shape": [..],
//                 "data_offsets": [begin, end] }, ..., "__metadata__": { string: string } }
//   the rest      the tensors' bytes, little-endian float32, at data_offsets (relative to here)
//
// Note that tapegrad's Linear stores its weight as [in, out] (x·W), PyTorch's as [out, in].
import * as tf from '@tensorflow/tfjs-core';
import { TapegradError } from '../errors.js';
import { Tensor } from '../tensor.js';

/** A state dict as the bytes of a safetensors file. PyTorch `safetensors.torch.save`. */
export function encodeSafetensors(entries: [string, Tensor][], metadata: Record<string, string> = {}): Uint8Array {
  if (!Array.isArray(entries)) throw new TapegradError('encodeSafetensors', 'entries must be an array of [name, Tensor] pairs');
  for (const e of entries) {
    if (!Array.isArray(e) || typeof e[0] !== 'string' || !(e[1] instanceof Tensor)) throw new TapegradError('encodeSafetensors', 'entries must be an array of [name, Tensor] pairs');
    e[1].assertLive('encodeSafetensors', `'${e[0]}'`);
  }
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  const datas: Float32Array[] = [];
  for (const [name, t] of entries) {
    if (t.dtype !== 'float32') throw new TapegradError('encodeSafetensors', `'${name}' is ${t.dtype}; only float32 is saved`);
    const data = t.dataSync() as Float32Array;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
    datas.push(data);
  }
  // Pad the header with spaces so the body starts 8-byte aligned (as the reference writer does).
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(padded - json.length));
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const d of datas) {
    const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    out.set(littleEndian(bytes), at);
    at += d.byteLength;
  }
  return out;
}

/**
 * Tensors by name from safetensors bytes (float32 entries only); the caller owns them.
 * PyTorch `safetensors.torch.load`.
 */
export function decodeSafetensors(fn: string, bytes: Uint8Array): Record<string, Tensor> {
  if (!(bytes instanceof Uint8Array) || bytes.length < 8) throw new TapegradError(fn, 'not a safetensors file: shorter than its 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (8 + n > bytes.length) throw new TapegradError(fn, `not a safetensors file: header length ${n} exceeds the file's ${bytes.length} bytes`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new TapegradError(fn, `not a safetensors file: its header is not JSON (${(e as Error).message})`);
  }
  const body = bytes.subarray(8 + n);
  const out: Record<string, Tensor> = {};
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (e.dtype !== 'F32') throw new TapegradError(fn, `'${name}' has dtype ${e.dtype}; only F32 is supported`);
    const [begin, end] = e.data_offsets;
    const size = e.shape.reduce((a, b) => a * b, 1);
    if (end - begin !== size * 4 || end > body.length) throw new TapegradError(fn, `'${name}': data_offsets [${begin}, ${end}] do not hold shape [${e.shape}] in float32`);
    const copy = littleEndian(body.slice(begin, end));
    out[name] = new Tensor(tf.tensor(new Float32Array(copy.buffer, copy.byteOffset, size), e.shape, 'float32'));
  }
  return out;
}

const HOST_IS_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** float32 bytes between host order and little-endian (a no-op on every common host). */
function littleEndian(bytes: Uint8Array): Uint8Array {
  if (HOST_IS_LE) return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 4) for (let k = 0; k < 4; k++) out[i + k] = bytes[i + 3 - k];
  return out;
}
