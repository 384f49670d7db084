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
import { hasSyncRead } from '../backend/facts.js';

/** A state dict as the bytes of a safetensors file. PyTorch `safetensors.torch.save`. */
export function encodeSafetensors(entries: [string, Tensor][], metadata: Record<string, string> = {}): Uint8Array {
  return encodeSafetensorsAs('encodeSafetensors', entries, metadata);
}

/**
 * encodeSafetensors with errors named after `fn` (the public function writing the bytes); the
 * values read synchronously, where the backend can (webgpu cannot: there `fn` says what to use).
 */
export function encodeSafetensorsAs(
  fn: string,
  entries: [string, Tensor][],
  metadata: Record<string, string>,
): Uint8Array {
  checkEntries(fn, entries, metadata);
  if (entries.length && !hasSyncRead())
    throw new TapegradError(
      fn,
      'the webgpu backend here cannot read values synchronously; save(path) in Node reads them as webgpu can ' +
        "(in a page, encode copies made from each tensor's await data())",
    );
  return bytesOf(
    entries,
    entries.map(([, t]) => t.dataSync() as Float32Array),
    metadata,
  );
}

/** encodeSafetensorsAs, reading the values asynchronously (as every backend can). */
export async function encodeSafetensorsAsync(
  fn: string,
  entries: [string, Tensor][],
  metadata: Record<string, string>,
): Promise<Uint8Array> {
  checkEntries(fn, entries, metadata);
  const values: Float32Array[] = [];
  for (const [, t] of entries) values.push((await t.data()) as Float32Array);
  return bytesOf(entries, values, metadata);
}

/** The entries are named float32 tensors, each name once and none '__metadata__'; the metadata strings. */
function checkEntries(fn: string, entries: [string, Tensor][], metadata: Record<string, string>): void {
  if (!Array.isArray(entries)) throw new TapegradError(fn, 'entries must be an array of [name, Tensor] pairs');
  for (const e of entries) {
    if (!Array.isArray(e) || typeof e[0] !== 'string' || !(e[1] instanceof Tensor))
      throw new TapegradError(fn, 'entries must be an array of [name, Tensor] pairs');
    e[1].assertLive(fn, `'${e[0]}'`);
  }
  if (metadata === null || typeof metadata !== 'object' || Object.values(metadata).some((v) => typeof v !== 'string')) {
    throw new TapegradError(fn, 'metadata must be an object of strings');
  }
  const names = new Set<string>();
  for (const [name, t] of entries) {
    if (name === '__metadata__' || names.has(name))
      throw new TapegradError(
        fn,
        name === '__metadata__'
          ? "the name '__metadata__' is reserved for the file's metadata"
          : `the name '${name}' is used twice`,
      );
    names.add(name);
    if (t.dtype !== 'float32') throw new TapegradError(fn, `'${name}' is ${t.dtype}; only float32 is saved`);
  }
}

/** The file: header, then each entry's values (read by the caller) in order. */
function bytesOf(entries: [string, Tensor][], values: Float32Array[], metadata: Record<string, string>): Uint8Array {
  // no prototype: an entry named "__proto__" is an own property, and JSON.stringify writes it
  const header: Record<string, unknown> = Object.create(null);
  header.__metadata__ = metadata;
  let offset = 0;
  entries.forEach(([name, t], i) => {
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + values[i].byteLength] };
    offset += values[i].byteLength;
  });
  // Pad the header with spaces so the body starts 8-byte aligned (as the reference writer does).
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length)
    json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(padded - json.length));
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const d of values) {
    const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    out.set(littleEndian(bytes), at);
    at += d.byteLength;
  }
  return out;
}

/** The dtypes of the format; only F32 is read. */
const KNOWN_DTYPES = [
  'BOOL',
  'U8',
  'I8',
  'F8_E5M2',
  'F8_E4M3',
  'I16',
  'U16',
  'F16',
  'BF16',
  'I32',
  'U32',
  'F32',
  'F64',
  'I64',
  'U64',
];

interface Entry {
  name: string;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Tensors by name from safetensors bytes (float32 entries only); the caller owns them. The bytes are
 * untrusted: the whole header is checked (lengths, offsets, dtypes, shapes) before any tensor is made,
 * so a bad file is a TapegradError that leaves nothing behind and allocates no more than its size.
 * PyTorch `safetensors.torch.load`.
 */
export function decodeSafetensors(bytes: Uint8Array): Record<string, Tensor> {
  return parseSafetensors('decodeSafetensors', bytes);
}

/** decodeSafetensors, with errors named after `fn` (the public function reading the bytes). */
export function parseSafetensors(fn: string, bytes: Uint8Array): Record<string, Tensor> {
  return parseSafetensorsFile(fn, bytes).tensors;
}

/** The tensors of a safetensors file and its __metadata__ (strings by name; empty when it has none). */
export function parseSafetensorsFile(
  fn: string,
  bytes: Uint8Array,
): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const entries = readHeader(fn, bytes);
  const body = bytes.subarray(bytes.length - entries.bodyLength);
  const made: [string, Tensor][] = [];
  try {
    for (const { name, shape, begin, end } of entries.list) {
      const copy = littleEndian(body.slice(begin, end));
      made.push([
        name,
        new Tensor(tf.tensor(new Float32Array(copy.buffer, copy.byteOffset, (end - begin) / 4), shape, 'float32')),
      ]);
    }
  } catch (e) {
    for (const [, t] of made) t.dispose();
    throw e;
  }
  // fromEntries defines own properties: a tensor named "__proto__" is an entry like any other
  return { tensors: Object.fromEntries(made), metadata: entries.metadata };
}

/** The header's entries, checked against the file (as the reference reader: contiguous offsets covering the body). */
function readHeader(
  fn: string,
  bytes: Uint8Array,
): { list: Entry[]; bodyLength: number; metadata: Record<string, string> } {
  const bad = (detail: string) => new TapegradError(fn, `not a safetensors file: ${detail}`);
  if (!(bytes instanceof Uint8Array))
    throw new TapegradError(
      fn,
      `expected the file's bytes as a Uint8Array, got ${bytes === null ? 'null' : typeof bytes === 'object' ? ((bytes as object).constructor?.name ?? 'an object') : typeof bytes}`,
    );
  if (bytes.length < 8) throw bad(`${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(bytes.length - 8))
    throw bad(`the header length ${n64} exceeds the ${bytes.length - 8} bytes after it (a truncated file?)`);
  const n = Number(n64);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw bad(`its header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    throw bad('its header is not a JSON object');
  const bodyLength = bytes.length - 8 - n;
  const list: Entry[] = [];
  let metadata: Record<string, string> = Object.create(null);
  for (const [name, e] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (
        e === null ||
        typeof e !== 'object' ||
        Array.isArray(e) ||
        Object.values(e).some((v) => typeof v !== 'string')
      ) {
        throw bad('__metadata__ must be an object of strings');
      }
      metadata = Object.assign(Object.create(null), e);
      continue;
    }
    const at = `entry '${name}'`;
    if (e === null || typeof e !== 'object' || Array.isArray(e)) throw bad(`${at} is not an object`);
    const { dtype, shape, data_offsets: offsets } = e as Record<string, unknown>;
    if (typeof dtype !== 'string' || !KNOWN_DTYPES.includes(dtype))
      throw bad(`${at} has an unknown dtype ${JSON.stringify(dtype)}`);
    if (dtype !== 'F32') throw new TapegradError(fn, `${at} has dtype ${dtype}; only F32 is supported`);
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0))
      throw bad(`${at} has shape ${JSON.stringify(shape)}, not an array of non-negative integers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o) || o < 0)) {
      throw bad(`${at} has data_offsets ${JSON.stringify(offsets)}, not two non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > bodyLength)
      throw bad(`${at} has data_offsets [${begin}, ${end}] outside the ${bodyLength} data bytes (a truncated file?)`);
    // the size in bytes, without overflow: a shape whose product exceeds the entry's bytes fails early
    let bytesNeeded = 4;
    for (const d of shape as number[]) bytesNeeded = d === 0 ? 0 : Math.min(bytesNeeded * d, Number.MAX_SAFE_INTEGER);
    if (bytesNeeded !== end - begin)
      throw bad(
        `${at}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but shape [${shape}] in float32 needs ${bytesNeeded}`,
      );
    list.push({ name, shape: shape as number[], begin, end });
  }
  // the reference reader's rule: entries, sorted by offset, tile the data bytes exactly
  const sorted = [...list].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let offset = 0;
  for (const { name, begin, end } of sorted) {
    if (begin !== offset)
      throw bad(
        `entry '${name}' begins at byte ${begin}, but the previous entry ends at ${offset} (entries must not overlap or leave gaps)`,
      );
    offset = end;
  }
  if (offset !== bodyLength) throw bad(`the entries cover ${offset} of its ${bodyLength} data bytes`);
  return { list, bodyLength, metadata };
}

const HOST_IS_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** float32 bytes between host order and little-endian (a no-op on every common host). */
function littleEndian(bytes: Uint8Array): Uint8Array {
  if (HOST_IS_LE) return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 4) for (let k = 0; k < 4; k++) out[i + k] = bytes[i + 3 - k];
  return out;
}

/** What save() and load() use of Node's fs/promises (typed here, so that no user needs Node's types). */
export interface NodeFiles {
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
}

/**
 * Node's fs/promises, imported under a name computed at run time so that bundlers leave it out of
 * browser builds; in a browser, save/load say what to use instead.
 */
export async function nodeFs(fn: string): Promise<NodeFiles> {
  if (typeof process === 'undefined' || !process.versions?.node) {
    throw new TapegradError(fn, 'reads and writes files in Node only; in a browser use toBytes() and fromBytes()');
  }
  const name = ['node:fs', 'promises'].join('/');
  return import(/* webpackIgnore: true */ /* @vite-ignore */ name);
}
