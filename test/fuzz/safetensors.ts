// Fuzzing the safetensors reader as untrusted input: random bytes, truncated and bit-flipped valid
// files, header lengths up to 2^64, and headers with offsets out of range or overlapping, unknown
// dtypes, odd shapes and names such as "__proto__". Every input must either decode (into tensors
// whose bytes fit in the file) or throw a TapegradError — and leave no tensor behind either way.
import fc from 'fast-check';
import * as tg from '../../src/index.js';

/** A file from a header (an object, or raw JSON text) and a body; `length` overrides the 8-byte header length. */
export function safetensorsFile(header: unknown, body: Uint8Array, length?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

const NAMES = ['w', 'b', 'layer.0.weight', '__proto__', 'constructor', 'toString', '__metadata__', '', 'ü'];
const DTYPES = ['F32', 'F16', 'BF16', 'F64', 'I32', 'I64', 'U8', 'BOOL', 'F33', '', 'f32'];
const offset = fc.oneof(
  fc.nat(64),
  fc.integer({ min: -8, max: -1 }),
  fc.constantFrom(2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e300, 0.5),
);
const dim = fc.oneof(fc.nat(4), fc.constantFrom(-1, 2 ** 26, 2 ** 31, 2 ** 53, 0.5));
const entry = fc.record({
  dtype: fc.oneof(fc.constantFrom(...DTYPES), fc.string({ maxLength: 4 })),
  shape: fc.oneof(fc.array(dim, { maxLength: 3 }), fc.constant('2' as unknown as number[])),
  data_offsets: fc.oneof(fc.tuple(offset, offset), fc.array(offset, { maxLength: 3 })),
});
/** A header of 0–4 entries by name, well-formed or not. */
const header = fc.array(
  fc.tuple(fc.constantFrom(...NAMES), fc.oneof(entry, fc.constantFrom(null, 3, 'x', [] as unknown[], { a: 1 }))),
  { maxLength: 4 },
);

/** A valid file of 0–3 float32 tensors (names may be "__proto__"), with consistent offsets. */
const valid = fc
  .array(
    fc.tuple(fc.constantFrom(...NAMES.filter((n) => n !== '__metadata__')), fc.array(fc.nat(3), { maxLength: 2 })),
    { maxLength: 3 },
  )
  .map((items) => {
    const seen = new Map<string, number[]>(items);
    const h: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    let at = 0;
    for (const [name, shape] of seen) {
      const size = shape.reduce((a, b) => a * b, 1);
      h[name] = { dtype: 'F32', shape, data_offsets: [at, at + 4 * size] };
      at += 4 * size;
    }
    // JSON.stringify of an object literal drops a "__proto__" set by assignment: build the text by hand
    const json = `{${Object.entries(h)
      .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)
      .join(',')}}`;
    return safetensorsFile(
      json,
      new Uint8Array(at).map((_, i) => (i * 37) & 0xff),
    );
  });

/** Inputs, each a byte array (shrinks toward small files). */
export const safetensorsInputs: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 80 }),
  valid,
  valid.chain((f) => fc.nat(f.length).map((n) => f.slice(0, n))), // truncated
  valid.chain((f) =>
    fc.tuple(fc.nat(Math.max(0, f.length - 1)), fc.nat(255)).map(([i, v]) => f.map((b, k) => (k === i ? v : b))),
  ), // one byte changed
  fc
    .tuple(header, fc.uint8Array({ maxLength: 48 }))
    .map(([h, body]) =>
      safetensorsFile(`{${h.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`, body),
    ),
  fc
    .tuple(
      valid,
      fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(2n ** 53n, 2n ** 53n + 1n, 2n ** 32n, 0n)),
    )
    .map(([f, len]) => {
      const g = f.slice();
      new DataView(g.buffer).setBigUint64(0, len, true);
      return g;
    }),
  fc
    .constantFrom('', '[]', 'null', '"x"', '{"__proto__":{"polluted":1}}', '{"a":', '\uFFFF')
    .map((h) => safetensorsFile(h, new Uint8Array(0))),
);

/** What one input did; a string describing the problem, or null when the reader behaved. */
export function checkSafetensors(bytes: Uint8Array): string | null {
  const before = tg.memory();
  let out: Record<string, tg.Tensor> | undefined;
  try {
    out = tg.nn.decodeSafetensors(bytes);
  } catch (e) {
    const after = tg.memory();
    if (!(e instanceof tg.TapegradError))
      return `threw ${(e as Error)?.name}, not a TapegradError: ${(e as Error)?.message}`;
    if (!e.message.startsWith('decodeSafetensors: '))
      return `the message does not name decodeSafetensors: ${e.message}`;
    if (after.numTensors !== before.numTensors)
      return `an error left ${after.numTensors - before.numTensors} tensors behind: ${e.message}`;
    return null;
  }
  const tensors = Object.values(out);
  const problem = tensors.some((t) => !(t instanceof tg.Tensor))
    ? 'an entry is not a Tensor'
    : tensors.reduce((s, t) => s + t.size * 4, 0) > bytes.length
      ? 'the tensors hold more bytes than the file'
      : Object.getPrototypeOf(out) !== Object.prototype
        ? 'the result has a changed prototype'
        : null;
  tg.dispose(tensors);
  const after = tg.memory();
  if (after.numTensors !== before.numTensors)
    return `decoding left ${after.numTensors - before.numTensors} tensors behind`;
  return problem;
}

export const safetensorsProperty = fc.property(safetensorsInputs, (bytes) => {
  const problem = checkSafetensors(bytes);
  if (problem) throw new Error(`safetensors fuzz case failed: ${problem}\n  bytes: [${Array.from(bytes).join(', ')}]`);
});
