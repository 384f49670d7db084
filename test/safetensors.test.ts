// The safetensors reader as untrusted input: specific bad files, then fuzzing with a fixed seed
// (npm run fuzz -- --target safetensors --runs N runs it longer).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tg from '../src/index.js';
import { assertNoLeak, assertThrows } from './helpers.js';
import { checkSafetensors, safetensorsFile, safetensorsProperty } from './fuzz/safetensors.js';

const SEED = 20261129;
const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
const nn = tg.nn;

test('a round trip; an entry named "__proto__" is an entry like any other, and the result keeps its prototype', () => {
  const w = tg.tensor([
    [1, 2],
    [3, 4],
  ]);
  const p = tg.tensor([5]);
  const bytes = nn.encodeSafetensors([
    ['w', w],
    ['__proto__', p],
  ]);
  assertNoLeak(() => {
    const sd = nn.decodeSafetensors(bytes);
    assert.equal(Object.keys(sd).sort(), ['__proto__', 'w']);
    assert.is(Object.getPrototypeOf(sd), Object.prototype);
    assert.equal(
      Array.from(
        Object.entries(sd)
          .find(([k]) => k === '__proto__')![1]
          .dataSync(),
      ),
      [5],
    );
    assert.equal(sd.w.arraySync(), [
      [1, 2],
      [3, 4],
    ]);
    tg.dispose(Object.values(sd));
  });
  tg.dispose([w, p]);
});

test('a truncated file: a TapegradError, and no tensor decoded so far is left behind (fromBytes and load)', async () => {
  const net = new nn.MLP([3, 4, 2]);
  const bytes = net.toBytes();
  assertNoLeak(() => {
    for (const cut of [bytes.length - 1, bytes.length - 20, 100, 9]) {
      assertThrows(
        () => net.fromBytes(bytes.slice(0, cut)),
        /^MLP\(\[3, 4, 2\]\)\.fromBytes: not a safetensors file: /,
        `cut at ${cut}`,
      );
    }
  });
  const dir = mkdtempSync(join(tmpdir(), 'tapegrad-'));
  try {
    const path = join(dir, 'cut.safetensors');
    writeFileSync(path, bytes.slice(0, bytes.length - 1));
    const before = tg.memory().numTensors;
    for (let i = 0; i < 3; i++)
      await net.load(path).then(
        () => assert.unreachable('a truncated file loaded'),
        (e) => assert.instance(e, tg.TapegradError),
      );
    assert.is(tg.memory().numTensors, before, 'load() of a truncated file leaves nothing behind');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  net.dispose();
});

test('bad headers: negative, overlapping and out-of-range offsets, unknown dtypes, huge shapes and lengths', () => {
  const body = new Uint8Array(16);
  const cases: [string, Uint8Array, RegExp][] = [
    [
      'negative data_offsets',
      safetensorsFile({ w: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, body),
      /data_offsets \[-4,0\], not two non-negative integers/,
    ],
    [
      'overlapping entries',
      safetensorsFile(
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        },
        body,
      ),
      /entry 'b' begins at byte 4, but the previous entry ends at 8/,
    ],
    [
      'offsets past the data',
      safetensorsFile({ w: { dtype: 'F32', shape: [8], data_offsets: [0, 32] } }, body),
      /data_offsets \[0, 32\] outside the 16 data bytes/,
    ],
    [
      'offsets of 2^53',
      safetensorsFile({ w: { dtype: 'F32', shape: [1], data_offsets: [2 ** 53, 2 ** 53 + 4] } }, body),
      /not two non-negative integers|outside/,
    ],
    [
      'a shape that does not fit its bytes',
      safetensorsFile({ w: { dtype: 'F32', shape: [2 ** 26, 2 ** 26], data_offsets: [0, 16] } }, body),
      /hold 16 bytes, but shape \[67108864,67108864\] in float32 needs/,
    ],
    [
      'an unknown dtype',
      safetensorsFile({ w: { dtype: 'F33', shape: [4], data_offsets: [0, 16] } }, body),
      /entry 'w' has an unknown dtype "F33"/,
    ],
    [
      'a known dtype that is not read',
      safetensorsFile({ w: { dtype: 'F64', shape: [2], data_offsets: [0, 16] } }, body),
      /entry 'w' has dtype F64; only F32 is supported/,
    ],
    ['a header length of 2^53', safetensorsFile({}, body, 2n ** 53n), /the header length 9007199254740992 exceeds/],
    ['a header that is not an object', safetensorsFile('[1]', body), /its header is not a JSON object/],
    [
      'bytes left over',
      safetensorsFile({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, body),
      /the entries cover 8 of its 16 data bytes/,
    ],
    [
      'metadata that is not strings',
      safetensorsFile({ __metadata__: { a: 1 } }, new Uint8Array(0)),
      /__metadata__ must be an object of strings/,
    ],
  ];
  assertNoLeak(() => {
    for (const [what, bytes, detail] of cases)
      assertThrows(() => nn.decodeSafetensors(bytes), new RegExp(`^decodeSafetensors: .*${detail.source}`), what);
  });
  for (const [what, bytes] of cases) assert.is(checkSafetensors(bytes), null, what);
});

test(`${RUNS} fuzzed inputs (seed ${SEED}): only TapegradErrors, nothing left behind, nothing larger than the file`, () => {
  fc.assert(safetensorsProperty, { seed: SEED, numRuns: RUNS });
});

test.run();
