// A tiny WebAssembly binary encoder: enough for a module of a few functions that loop over a memory
// (imported, or its own) with 128-bit SIMD. Code is written as expressions: each helper returns
// the bytes that leave its value on the stack, so that a function body reads as its formulas.
// Opcodes are the core specification's; the SIMD ones follow the 0xfd prefix.

export type Code = number[];

/** Unsigned LEB128. */
function uleb(n: number): Code {
  const out: Code = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

/** Signed LEB128 of a 32-bit integer. */
function sleb(n: number): Code {
  const out: Code = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}

const vec = (items: Code[]): Code => [...uleb(items.length), ...items.flat()];
const name = (s: string): Code => vec([...new TextEncoder().encode(s)].map((b) => [b]));
const section = (id: number, body: Code): Code => [id, ...uleb(body.length), ...body];

export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;

/** A function: its parameters and result types (I32, V128), its other locals' types, and its body. */
export interface WasmFunction {
  name: string;
  params: number[];
  result: number;
  locals: number[];
  body: Code;
}

/** Where the module's memory comes from: env.memory (shared, as a threaded Emscripten heap is), or its own. */
export type MemorySource = { kind: 'import'; shared: boolean } | { kind: 'own'; pages: number };

/** A module exporting `functions` by name (and its memory as "memory" when it has its own). */
export function encodeModule(functions: WasmFunction[], memory: MemorySource): Uint8Array<ArrayBuffer> {
  // a shared memory must declare a maximum: 65,536 pages is all of wasm32
  const limits =
    memory.kind === 'own' ? [0x00, ...uleb(memory.pages)] : memory.shared ? [0x03, 0, ...uleb(65536)] : [0x00, 0];
  const types = functions.map((f) => [0x60, ...vec(f.params.map((p) => [p])), 1, f.result]);
  const bodies = functions.map((f) => {
    const code = [...vec(f.locals.map((t) => [1, t])), ...f.body, 0x0b];
    return [...uleb(code.length), ...code];
  });
  const exports = functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]);
  if (memory.kind === 'own') exports.push([...name('memory'), 0x02, 0]);
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...(memory.kind === 'import' ? section(2, vec([[...name('env'), ...name('memory'), 0x02, ...limits]])) : []),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...(memory.kind === 'own' ? section(5, vec([limits])) : []),
    ...section(7, vec(exports)),
    ...section(10, vec(bodies)),
  ]);
}

// --- instructions -------------------------------------------------------------------------------

const simd = (op: number, ...immediates: number[]): Code => [0xfd, ...uleb(op), ...immediates];
/** Memory immediates: alignment (log2 of bytes) and offset 0. */
const memarg = (align: number, offset = 0) => [align, ...uleb(offset)];
const unary = (op: number) => (a: Code) => [...a, ...simd(op)];
const binary = (op: number) => (a: Code, b: Code) => [...a, ...b, ...simd(op)];

export const local = {
  get: (i: number): Code => [0x20, ...uleb(i)],
  set: (i: number, v: Code): Code => [...v, 0x21, ...uleb(i)],
  tee: (i: number, v: Code): Code => [...v, 0x22, ...uleb(i)],
  /** The int32 local `i` increased by `by`. */
  increment: (i: number, by: Code): Code => local.set(i, i32.add(local.get(i), by)),
};

export const i32 = {
  const: (n: number): Code => [0x41, ...sleb(n)],
  add: (a: Code, b: Code): Code => [...a, ...b, 0x6a],
  sub: (a: Code, b: Code): Code => [...a, ...b, 0x6b],
  mul: (a: Code, b: Code): Code => [...a, ...b, 0x6c],
  and: (a: Code, b: Code): Code => [...a, ...b, 0x71],
  shl: (a: Code, b: Code): Code => [...a, ...b, 0x74],
  ltU: (a: Code, b: Code): Code => [...a, ...b, 0x49],
  geU: (a: Code, b: Code): Code => [...a, ...b, 0x4f],
  /** The smaller of a and b, as unsigned integers (each evaluated twice: pass locals or constants). */
  minU: (a: Code, b: Code): Code => i32.select(a, b, i32.ltU(a, b)),
  eqz: (a: Code): Code => [...a, 0x45],
  /** The 4 bytes at `address` (any bits: a float32 copied this way keeps its NaN payload). */
  load: (address: Code): Code => [...address, 0x28, 2, 0],
  store: (address: Code, v: Code): Code => [...address, ...v, 0x36, 2, 0],
  /** a where cond ≠ 0, else b (either type, the same for both). */
  select: (a: Code, b: Code, cond: Code): Code => [...a, ...b, ...cond, 0x1b],
};

/** while (a < b, as unsigned integers) { body } */
export function whileBelow(a: Code, b: Code, body: Code): Code {
  return [0x02, 0x40, 0x03, 0x40, ...i32.geU(a, b), 0x0d, 1, ...body, 0x0c, 0, 0x0b, 0x0b];
}

/** if (cond ≠ 0) { then } else { otherwise } */
export function ifElse(cond: Code, then: Code, otherwise: Code): Code {
  return [...cond, 0x04, 0x40, ...then, 0x05, ...otherwise, 0x0b];
}

/** if (cond ≠ 0) { body } */
export function when(cond: Code, body: Code): Code {
  return [...cond, 0x04, 0x40, ...body, 0x0b];
}

const bytesOf = (
  values: ArrayLike<number>,
  Array: Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor,
) => [...new Uint8Array(Array.from(values).buffer)];

export const v128 = {
  /** The 16 bytes at `address` + `offset` (a constant). */
  load: (address: Code, offset = 0): Code => [...address, ...simd(0x00, ...memarg(4, offset))],
  /** The float32 at `address` + `offset` in every lane. */
  load32Splat: (address: Code, offset = 0): Code => [...address, ...simd(0x09, ...memarg(2, offset))],
  store: (address: Code, v: Code, offset = 0): Code => [...address, ...v, ...simd(0x0b, ...memarg(4, offset))],
  /** The 8 bytes at `address` in the low half, zeros above (two float32s, for promoteLow). */
  load64Zero: (address: Code): Code => [...address, ...simd(0x5d, ...memarg(3))],
  /** The low 8 bytes of v stored at `address` (two float32 lanes, after demoteZero). */
  storeLow64: (address: Code, v: Code): Code => [...address, ...v, ...simd(0x5b, ...memarg(3), 0)],
  /** Lane 0 of v (a float32) stored at `address`. */
  storeLow32: (address: Code, v: Code): Code => [...address, ...v, ...simd(0x5a, ...memarg(2), 0)],
  and: binary(0x4e),
  /** a & ~b */
  andNot: binary(0x4f),
  or: binary(0x50),
  xor: binary(0x51),
  /** Bits of a where mask is set, of b elsewhere. */
  bitselect: (a: Code, b: Code, mask: Code): Code => [...a, ...b, ...mask, ...simd(0x52)],
  /** a where cond (an i32) ≠ 0, else b. */
  select: (a: Code, b: Code, cond: Code): Code => [...a, ...b, ...cond, 0x1b],
  /** The 16 bytes of a then b, picked by the byte indices `lanes` (0–31). */
  shuffle: (a: Code, b: Code, lanes: number[]): Code => [...a, ...b, ...simd(0x0d, ...lanes)],
  /** The high 8 bytes of `v` moved to the low half (and the low to the high). */
  swapHalves: (v: Code): Code => v128.shuffle(v, v, [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]),
  /** The low 8 bytes of a, then the low 8 bytes of b. */
  lowHalves: (a: Code, b: Code): Code => v128.shuffle(a, b, [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]),
  allOnes: (): Code => simd(0x0c, ...new Array(16).fill(0xff)),
  /** 1 if any bit of v is set, else 0 (an i32). */
  anyTrue: (v: Code): Code => [...v, ...simd(0x53)],
};

export const f32x4 = {
  splat: (v: number): Code => simd(0x0c, ...bytesOf([v, v, v, v], Float32Array)),
  /** The float32 value `v` leaves on the stack, in every lane. */
  splatOf: unary(0x13),
  eq: binary(0x41),
  /** Lane-wise a ≠ b: true where either lane is NaN (x ≠ x only there). */
  ne: binary(0x42),
  lt: binary(0x43),
  gt: binary(0x44),
  add: binary(0xe4),
  sub: binary(0xe5),
  mul: binary(0xe6),
  div: binary(0xe7),
  sqrt: unary(0xe3),
  abs: unary(0xe0),
  neg: unary(0xe1),
  /** Lane-wise b < a ? b : a, and a < b ? b : a (a NaN in b gives a: C's fmin and fmax pattern). */
  pmin: binary(0xea),
  pmax: binary(0xeb),
  /** The two float64 lanes rounded to float32 in lanes 0 and 1, zeros above. */
  demoteZero: unary(0x5e),
  /** The float64 lanes of a then of b rounded to float32, as four lanes. */
  demote4: (a: Code, b: Code): Code => v128.lowHalves(f32x4.demoteZero(a), f32x4.demoteZero(b)),
  /** Lane 0 of v in every lane. */
  splatLane0: (v: Code): Code => v128.shuffle(v, v, [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]),
};

export const i32x4 = {
  splat: (v: number): Code => simd(0x0c, ...bytesOf([v, v, v, v], Int32Array)),
  allTrue: (a: Code): Code => [...a, ...simd(0xa3)],
  add: binary(0xae),
  shl: (a: Code, bits: number): Code => [...a, ...i32.const(bits), ...simd(0xab)],
  /** The two float64 lanes truncated to int32 (saturating; NaN gives 0) in lanes 0 and 1, zeros above. */
  truncSatF64x2Zero: unary(0xfc),
};

export const f64x2 = {
  splat: (v: number): Code => simd(0x0c, ...bytesOf([v, v], Float64Array)),
  /** The float64 value `v` leaves on the stack, in both lanes. */
  splatOf: unary(0x14),
  sqrt: unary(0xef),
  div: binary(0xf3),
  abs: unary(0xec),
  /** Lane-wise minimum and maximum; a NaN lane gives NaN, as Math.min and Math.max. */
  min: binary(0xf4),
  max: binary(0xf5),
  /** Rounded to the nearest integer, ties to even. */
  nearest: unary(0x94),
  lt: binary(0x49),
  add: binary(0xf0),
  sub: binary(0xf1),
  mul: binary(0xf2),
  /** Float32 lanes 0 and 1 as float64. */
  promoteLow: unary(0x5f),
  /** Float32 lanes 2 and 3 as float64. */
  promoteHigh: (a: Code): Code => f64x2.promoteLow(v128.swapHalves(a)),
  /** Lane 0 of v in both lanes. */
  splatLane0: (v: Code): Code => v128.shuffle(v, v, [0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7]),
};

export const i64x2 = {
  splat: (v: number): Code => simd(0x0c, ...bytesOf([v, 0, v, 0], Int32Array)),
  add: binary(0xce),
  shl: (a: Code, bits: number): Code => [...a, ...i32.const(bits), ...simd(0xcb)],
  shrS: (a: Code, bits: number): Code => [...a, ...i32.const(bits), ...simd(0xcc)],
  shrU: (a: Code, bits: number): Code => [...a, ...i32.const(bits), ...simd(0xcd)],
};
