// xₚ on the wasm heap by the SIMD loop (kernels/wasm-simd-pad.ts): every entry of xp written (the
// zeros around x, x's bits inside, NaN payloads and −0 kept), the same bits as padInto's copies, over
// uneven and one-sided padding, rows of lengths that are and are not multiples of 4 entries, one image
// and many; the images shared with the helper thread give the same bits; and the module is valid and
// small enough for a browser to compile synchronously.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import { padOnHeap, setSimdPad, simdPadModule } from '../kernels/wasm-simd-pad.js';
import { padInto, type Pair } from '../kernels/window-padding.js';
import { heapOf, type WasmBackend } from '../kernels/wasm-simd-module.js';
import { randomValues, withHelperChunks } from './helpers.js';

interface Case {
  x: number[];
  before: Pair;
  after: Pair;
}
const CASES: Case[] = [
  // the MNIST CNN's first layer, smaller: one channel, rows of 6 entries
  { x: [3, 6, 6, 1], before: [1, 1], after: [1, 1] },
  // uneven padding, rows of 7 × 3 = 21 entries
  { x: [2, 5, 7, 3], before: [0, 2], after: [1, 0] },
  // only after, one image
  { x: [1, 4, 5, 8], before: [0, 0], after: [2, 3] },
  // only before, rows of 4 entries
  { x: [2, 3, 2, 2], before: [3, 1], after: [0, 0] },
  // the second layer's input: 16 channels
  { x: [4, 14, 14, 16], before: [1, 1], after: [1, 1] },
];

/** A float32 with the bits `bits` (a NaN with a payload), for the bitwise checks. */
const fromBits = (bits: number) => new Float32Array(new Uint32Array([bits]).buffer)[0];
const NAN_PAYLOAD = 0x7fc01234;

/** x's values, xp filled with garbage, both on the wasm heap; runs pad and returns xp's bits. */
function padded({ x: shape, before, after }: Case, pad: typeof padOnHeap, seed: number): Uint32Array {
  const [N, H, W, C] = shape;
  const [Hp, Wp] = [H + before[0] + after[0], W + before[1] + after[1]];
  const backend = tf.backend() as unknown as WasmBackend;
  const values = randomValues(N * H * W * C, seed, [-0, Number.POSITIVE_INFINITY, Number.NaN]);
  values[values.length - 1] = fromBits(NAN_PAYLOAD);
  const x = tf.tensor(values, shape);
  const xp = tf.fill([N, Hp, Wp, C], 7.5);
  try {
    const xv = backend.typedArrayFromHeap(x as never) as Float32Array;
    const xpv = backend.typedArrayFromHeap(xp as never) as Float32Array;
    pad(heapOf(backend as never), xv, xpv, shape, [before[0], before[1]], [Hp, Wp]);
    return new Uint32Array(xpv.buffer.slice(xpv.byteOffset, xpv.byteOffset + 4 * xpv.length));
  } finally {
    tf.dispose([x, xp]);
  }
}

/** xₚ written entry by entry: the oracle. */
function expected({ x: shape, before, after }: Case, seed: number): Uint32Array {
  const [N, H, W, C] = shape;
  const [Hp, Wp] = [H + before[0] + after[0], W + before[1] + after[1]];
  const values = randomValues(N * H * W * C, seed, [-0, Number.POSITIVE_INFINITY, Number.NaN]);
  values[values.length - 1] = fromBits(NAN_PAYLOAD);
  const bits = new Uint32Array(values.buffer);
  const out = new Uint32Array(N * Hp * Wp * C);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++)
        for (let c = 0; c < C; c++)
          out[((n * Hp + i + before[0]) * Wp + j + before[1]) * C + c] = bits[((n * H + i) * W + j) * C + c];
  return out;
}

const sameBits = (got: Uint32Array, want: Uint32Array, what: string) => {
  assert.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++)
    if (got[i] !== want[i])
      assert.unreachable(`${what}: entry ${i} has bits ${got[i].toString(16)}, expected ${want[i].toString(16)}`);
};

test.before(async () => {
  await tg.setBackend('wasm');
});

test('the SIMD loop writes every entry of xp: zeros around, x bit for bit inside; padInto the same', () => {
  CASES.forEach((c, k) => {
    const want = expected(c, k);
    sameBits(padded(c, padOnHeap, k), want, `SIMD, x ${c.x}`);
    setSimdPad(false);
    try {
      sameBits(padded(c, padOnHeap, k), want, `padOnHeap with the SIMD loop off, x ${c.x}`);
    } finally {
      setSimdPad(true);
    }
    sameBits(
      padded(c, (_heap, ...rest) => padInto(...rest), k),
      want,
      `padInto, x ${c.x}`,
    );
  });
});

test('shared with the helper thread by images: the same bits', async () => {
  const c: Case = { x: [16, 30, 30, 16], before: [1, 1], after: [1, 1] };
  const want = expected(c, 9);
  const got = await withHelperChunks(() => padded(c, padOnHeap, 9), 'pad');
  sameBits(got, want, 'shared');
  tg.setThreads(1);
});

test('the module: valid for a shared heap and an unshared one, under 4 KiB', () => {
  for (const shared of [true, false]) {
    const bytes = simdPadModule({ kind: 'import', shared });
    assert.ok(WebAssembly.validate(bytes));
    assert.ok(bytes.length < 4096, `${bytes.length} bytes`);
  }
});

test.run();
