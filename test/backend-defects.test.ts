// The TF.js defects src/backend/defects.ts works around, on cpu and wasm: for each, a test that
// runs TF.js's own kernel on the input it gets wrong and expects it still wrong ("TF.js still
// …": when one fails, TF.js has fixed the kernel and the workaround can go), and a test that
// tapegrad's path gives the right values. The GPU backends' defects are in
// test/browser/backend-defects.browser.ts.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import * as defects from '../src/backend/defects.js';
import { dropTrappedWasm, isWasmTrap } from '../src/backend/wasm-heap-limit.js';
import { withRawWasmKernels } from '../src/backend/wasm-unwritten-output.js';
import { assertClose } from './helpers.js';

const s = suite('TF.js defects (cpu, wasm)');

/** Values of a TF.js tensor computed on `backend`, all tensors made freed. */
async function on(backend: tg.BackendName, f: () => tf.Tensor): Promise<number[]> {
  await tg.setBackend(backend);
  return tf.tidy(() => Array.from(f().dataSync()));
}
const seq = (shape: number[], from = 1) => tf.reshape(tf.range(from, from + shape.reduce((a, b) => a * b, 1)), shape);
/** Deterministic values without ties: sin of a spread-out index. */
const wavy = (shape: number[]) => tf.tidy(() => tf.mul(tf.sin(tf.mul(seq(shape, 0), 1.37)), 3));

// ---- matMulBroadcastingBatches

const batchOperands = () => [seq([2, 3, 3]), seq([3, 1, 3, 1])] as const;
/** [2,3,3]·[3,1,3,1] with both operands broadcast to the batch [3, 2] first: the true product. */
const batchProduct = () => {
  const [a, b] = batchOperands();
  return tf.matMul(tf.broadcastTo(a, [3, 2, 3, 3]), tf.broadcastTo(b, [3, 2, 3, 1]));
};

for (const backend of ['cpu', 'wasm'] as const) {
  s(`${backend}: TF.js still returns 9 of the 18 values of a [2,3,3]·[3,1,3,1] matMul`, async () => {
    await tg.setBackend(backend);
    tf.tidy(() => {
      const [a, b] = batchOperands();
      const c = tf.matMul(a, b);
      assert.equal(c.shape, [3, 2, 3, 1]);
      assert.is(
        c.dataSync().length,
        9,
        'TF.js matMul broadcasts mixed batch ranks now: matMulBroadcastingBatches can go',
      );
    });
  });
  s(`${backend}: matMulBroadcastingBatches (and tg.matmul) give all 18`, async () => {
    const want = await on(backend, batchProduct);
    const got = await on(backend, () => defects.matMulBroadcastingBatches(...batchOperands()));
    assert.equal(got, want);
    const A = tg.tensor(await on(backend, () => batchOperands()[0]), { shape: [2, 3, 3] });
    const B = tg.tensor(await on(backend, () => batchOperands()[1]), { shape: [3, 1, 3, 1] });
    const C = tg.matmul(A, B);
    assert.equal(Array.from(await C.data()), want);
    tg.dispose([A, B, C]);
  });
}

// ---- conv2d on wasm

const convSameOperands = () => [wavy([1, 2, 2, 1]), wavy([2, 1, 1, 1])] as const;

s("wasm: TF.js's conv2d still returns zeros for 'same', stride 2, a [2,1] filter", async () => {
  const want = await on('cpu', () => tf.conv2d(...(convSameOperands() as [tf.Tensor4D, tf.Tensor4D]), 2, 'same'));
  const raw = await on('wasm', () => tf.conv2d(...(convSameOperands() as [tf.Tensor4D, tf.Tensor4D]), 2, 'same'));
  assert.ok(want[0] !== 0, 'the cpu value is not 0');
  assert.equal(raw, [0], "wasm's conv2d is right now: conv2dSamePaddingExplicit can go");
});
s('wasm: conv2dSamePaddingExplicit gives the cpu value', async () => {
  const want = await on('cpu', () => tf.conv2d(...(convSameOperands() as [tf.Tensor4D, tf.Tensor4D]), 2, 'same'));
  const got = await on('wasm', () => defects.conv2dSamePaddingExplicit(...convSameOperands(), [2, 2], 'same'));
  assertClose(got, want, { atol: 1e-5, rtol: 1e-5 });
});

s('wasm: TF.js still has no Conv2DBackpropFilter kernel', () => {
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'cpu'), 'cpu has one');
  assert.not.ok(
    tf.getKernel('Conv2DBackpropFilter', 'wasm'),
    'wasm has Conv2DBackpropFilter now: conv2dBackpropFilterWithoutKernel can go',
  );
});
for (const [stride, pad] of [
  [1, 'valid'],
  [2, 'same'],
  [2, 'valid'],
] as const) {
  s(
    `wasm: conv2dBackpropFilterWithoutKernel gives cpu's Conv2DBackpropFilter (stride ${stride}, '${pad}')`,
    async () => {
      const x = () => wavy([2, 5, 5, 3]);
      const ho = pad === 'same' ? Math.ceil(5 / stride) : Math.floor((5 - 3) / stride) + 1;
      const dy = () => wavy([2, ho, ho, 4]);
      const attrs = { strides: [stride, stride], pad, dataFormat: 'NHWC', filterShape: [3, 3, 3, 4] };
      const want = await on(
        'cpu',
        () =>
          tf
            .engine()
            .runKernel('Conv2DBackpropFilter', { x: x(), dy: dy() }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor,
      );
      const got = await on('wasm', () =>
        defects.conv2dBackpropFilterWithoutKernel(x(), dy(), [3, 3, 3, 4], [stride, stride], pad),
      );
      assertClose(got, want, { atol: 1e-4, rtol: 1e-5 });
    },
  );
}

// ---- max pooling's argmax on wasm

/** TF.js's MaxPoolGrad of Σ maxPool(x) (square windows, 'valid'): each window's 1 at its maximum. */
const maxPoolGradOf = (x: tf.Tensor, window: number, stride: number) => {
  const y = tf.maxPool(x as tf.Tensor4D, window, stride, 'valid');
  return tf
    .engine()
    .runKernel(
      'MaxPoolGrad',
      { dy: tf.onesLike(y), input: x, output: y },
      { filterSize: window, strides: stride, pad: 'valid' },
    ) as tf.Tensor;
};
/** The same through maxPoolArgmaxWithoutKernel: a 1 scattered to each window's argmax. */
const argmaxGradOf = (x: tf.Tensor, window: number, stride: number) => {
  const y = tf.maxPool(x as tf.Tensor4D, window, stride, 'valid');
  const before = tf.memory().numTensors;
  const idx = defects.maxPoolArgmaxWithoutKernel(x, y, [window, window], [stride, stride], 'valid');
  assert.is(tf.memory().numTensors, before + 1, `${tf.getBackend()}: only the argmax is left`);
  return tf.scatterND(tf.reshape(idx, [-1, 1]), tf.onesLike(tf.reshape(y, [-1])), [x.size]);
};

const poolInput = () => wavy([2, 4, 4, 1]);
const maxPoolGrad = () => maxPoolGradOf(poolInput(), 2, 1);

s(
  "wasm: TF.js's MaxPoolGrad and maxPoolWithArgmax are still wrong for a [2,4,4,1] input, window 2, stride 1",
  async () => {
    const want = await on('cpu', maxPoolGrad);
    const raw = await on('wasm', maxPoolGrad);
    assert.ok(
      raw.some((v, i) => v !== want[i]),
      "wasm's MaxPoolGrad is right now",
    );
    const argmax = () => tf.maxPoolWithArgmax(poolInput() as tf.Tensor4D, 2, 1, 'valid').indexes;
    const wantIdx = await on('cpu', argmax);
    const rawIdx = await on('wasm', argmax);
    assert.ok(
      rawIdx.some((v, i) => v !== wantIdx[i]),
      "wasm's maxPoolWithArgmax is right now: maxPoolArgmaxWithoutKernel may use it",
    );
  },
);
s("wasm: maxPoolArgmaxWithoutKernel scatters to cpu's MaxPoolGrad", async () => {
  const want = await on('cpu', maxPoolGrad);
  const got = await on('wasm', () => argmaxGradOf(poolInput(), 2, 1));
  assert.equal(got, want);
});

s("maxPoolArgmaxWithoutKernel, windows that tile x (batch and channels > 1, ties): cpu's MaxPoolGrad", async () => {
  // rounded, so that windows hold ties: the first maximum (row by row) takes the gradient
  const input = () => tf.round(tf.mul(wavy([2, 4, 6, 3]), 2));
  const want = await on('cpu', () => maxPoolGradOf(input(), 2, 2));
  for (const backend of ['cpu', 'wasm'] as const) {
    const got = await on(backend, () => argmaxGradOf(input(), 2, 2));
    assert.equal(got, want, backend);
  }
});

// ---- AvgPoolGrad with 'same' padding

/**
 * The adjoint of a 'same' average pool of a [1,3,3,1] image (2×2 windows, stride 2) at dy = 1:
 * each entry gets 1/(real entries of its window) — 1/4, 1/2 at the edges, 1 in the corner.
 */
const AVG_SAME_ADJOINT = [1 / 4, 1 / 4, 1 / 2, 1 / 4, 1 / 4, 1 / 2, 1 / 2, 1 / 2, 1];

for (const backend of ['cpu', 'wasm'] as const) {
  s(`${backend}: TF.js's AvgPoolGrad still divides 'same' border windows by the full window`, async () => {
    const raw = await on(
      backend,
      () =>
        tf
          .engine()
          .runKernel(
            'AvgPoolGrad',
            { dy: tf.ones([1, 2, 2, 1]), input: tf.ones([1, 3, 3, 1]) },
            { filterSize: 2, strides: 2, pad: 'same' },
          ) as tf.Tensor,
    );
    assert.ok(
      raw.some((v, i) => Math.abs(v - AVG_SAME_ADJOINT[i]) > 1e-6),
      `AvgPoolGrad is right now (${raw}): avgPoolSameBorderScale can go`,
    );
  });
  s(`${backend}: tg.avgPool2d 'same' has the true adjoint (avgPoolSameBorderScale)`, async () => {
    await tg.setBackend(backend);
    const x = tg.ones([1, 3, 3, 1], { requiresGrad: true });
    const y = tg.avgPool2d(x, { kernelSize: 2, stride: 2, padding: 'same' });
    const loss = y.sum();
    loss.backward();
    assertClose(x.grad!, AVG_SAME_ADJOINT, { atol: 1e-6, rtol: 1e-6 });
    tg.dispose([x, x.grad!, y, loss]);
  });
}

s('every workaround frees what it makes', async () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    await tg.setBackend(backend);
    const [a, b] = batchOperands();
    const [cx, cw] = convSameOperands();
    const x = wavy([2, 4, 4, 1]);
    const y = tf.maxPool(x as tf.Tensor4D, 2, 1, 'valid');
    const e = tf.scalar(-1);
    const flat = tf.reshape(x, [-1]);
    const [gx, gi] = tf.tidy(() => [...gatherOperands()]);
    const before = tf.memory().numTensors;
    const outs = [
      defects.matMulBroadcastingBatches(a, b),
      defects.conv2dSamePaddingExplicit(cx, cw, [2, 2], 'same'),
      defects.conv2dBackpropFilterWithoutKernel(x, y, [2, 2, 1, 1], [1, 1], 'valid'),
      defects.maxPoolArgmaxWithoutKernel(x, y, [2, 2], [1, 1], 'valid'),
      defects.avgPoolSameBorderScale(3, 3, [2, 2], [2, 2], [0, 1], [0, 1]),
      defects.prodKeepDimsByReshape(x, [1, 2], true),
      defects.maxMinBeyond1e20('max', x, [1], false),
      defects.argMaxMinShape('max', flat, 0),
      defects.powAsInC(x, e),
      defects.expm1SmallArgument(x),
      defects.gatherLastAxisByFlatIndex(gx, gi),
    ];
    assert.is(tf.memory().numTensors, before + outs.length, `${backend}: only the results are left`);
    tf.dispose([...outs, a, b, cx, cw, x, y, e, flat, gx, gi]);
  }
  await tg.setBackend('wasm');
});

// ---- bool through Reverse and GatherV2 on wasm (GatherV2 traps the module, so only Reverse is run)

s('wasm: TF.js still leaves the reverse of a bool tensor unwritten', async () => {
  // Its kernel writes 4 bytes an entry into the 1-byte entries of a bool output, past the end of
  // the block: the heap is left damaged (the threaded build's malloc then traps or waits forever
  // on its lock), so the values are read without freeing anything and the module is dropped. Where
  // the block lies at the end of the heap's memory, the kernel's write itself traps.
  await tg.setBackend('wasm');
  const x = tf.tensor([1, 1, 0, 0, 0, 1, 0, 1], [8], 'bool');
  let got: number[] | 'trapped';
  let reversed: tf.Tensor | undefined;
  try {
    reversed = tf.reverse(x);
    got = Array.from(reversed.dataSync());
  } catch (e) {
    if (!isWasmTrap(e)) throw e;
    got = 'trapped';
  }
  dropTrappedWasm();
  tf.dispose(reversed ? [x, reversed] : x); // the engine's records only: the dropped module frees nothing
  await tg.setBackend('wasm');
  assert.not.equal(got, [1, 0, 1, 0, 0, 0, 1, 1], 'wasm reverses bool now: boolAsInt32 can go for flip');
});
s('wasm: boolAsInt32 (and tg.flip, tg.diagonal, tg.takeAlongAxis) give the right bool values', async () => {
  const x = [1, 1, 0, 0, 0, 1, 0, 1];
  const got = await on('wasm', () => defects.boolAsInt32(tf.tensor(x, [8], 'bool'), (t) => tf.reverse(t)));
  assert.equal(got, [...x].reverse());
  await tg.setBackend('wasm');
  const b = tg.tensor([x.slice(0, 4), x.slice(4)], { dtype: 'bool' });
  const idx = tg.tensor([[3, 0]], { dtype: 'int32' });
  const flipped = tg.flip(b, 1);
  const diagonal = tg.diagonal(b, { offset: 1 });
  const taken = tg.takeAlongAxis(b, idx, 1);
  assert.equal(flipped.arraySync(), [
    [0, 0, 1, 1],
    [1, 0, 1, 0],
  ]);
  assert.equal(diagonal.arraySync(), [1, 0]);
  assert.equal(taken.arraySync(), [[0, 1]]);
  assert.is(flipped.dtype, 'bool');
  tg.dispose([b, idx, flipped, diagonal, taken]);
});

// ---- ClipByValue on wasm: float32 only (int32 read as float bits, float words written into bool entries)

/**
 * Whether the tensor f returns was written past its end: on wasm, each block allocated during f gets
 * 16 guard bytes after it (so that a write past the end lands there, not on the heap's bookkeeping),
 * and the result's are checked.
 */
function writesPastItsOutput(f: () => tf.Tensor): boolean {
  const backend = tf.backend() as unknown as {
    wasm: { _malloc(n: number): number; HEAPU8: Uint8Array };
    dataIdMap: { get(id: object): { memoryOffset: number } };
  };
  const m = backend.wasm;
  const malloc = m._malloc;
  const sizes = new Map<number, number>();
  m._malloc = (n) => {
    const p = malloc(n + 16) >>> 0;
    m.HEAPU8.fill(0xcd, p + n, p + n + 16);
    sizes.set(p, n);
    return p;
  };
  try {
    return tf.tidy(() => {
      const p = backend.dataIdMap.get(f().dataId).memoryOffset >>> 0;
      const n = sizes.get(p)!;
      return m.HEAPU8.subarray(p + n, p + n + 16).some((b) => b !== 0xcd);
    });
  } finally {
    m._malloc = malloc;
  }
}

s("wasm: TF.js's ClipByValue still reads int32 as float32 bits and writes float words past a bool output", async () => {
  const ints = await on('wasm', () =>
    withRawWasmKernels(() => tf.clipByValue(tf.tensor([1, 5, -3], [3], 'int32'), 0, 2)),
  );
  assert.not.equal(ints, [1, 2, 0], 'wasm clips int32 now: clipByValueFloat32Only can go');
  const bools = () => tf.clipByValue(tf.tensor([1, 0, 1], [3], 'bool'), 0, 1);
  assert.ok(
    writesPastItsOutput(() => withRawWasmKernels(bools)),
    'wasm clips bool now: clipByValueFloat32Only can go',
  );
  assert.not.ok(writesPastItsOutput(() => defects.clipByValueFloat32Only(tf.tensor([1, 0, 1], [3], 'bool'), 0, 1)));
});
for (const backend of ['cpu', 'wasm'] as const) {
  s(`${backend}: clipByValueFloat32Only (and tg.clip, tg.hardtanh) clip int32 and bool as cpu does`, async () => {
    assert.equal(
      await on(backend, () => defects.clipByValueFloat32Only(tf.tensor([1, 5, -3], [3], 'int32'), 0, 2)),
      [1, 2, 0],
    );
    assert.equal(
      await on(backend, () => defects.clipByValueFloat32Only(tf.tensor([1, 5, -3], [3], 'int32'), 0.5, 2.5)),
      [1, 2, 0],
    );
    assert.equal(
      await on(backend, () => defects.clipByValueFloat32Only(tf.tensor([1, 0, 1], [3], 'bool'), 0, 1)),
      [1, 0, 1],
    );
    const i = tg.tensor([1, 5, -3], { dtype: 'int32' });
    const [c, h] = [tg.clip(i, 0, 2), tg.hardtanh(i)];
    assert.equal([c.dtype, Array.from(c.dataSync()), Array.from(h.dataSync())], ['int32', [1, 2, 0], [1, 1, -1]]);
    tg.dispose([i, c, h]);
  });
}
s(
  'wasm: hundreds of tg.clip calls on bool tensors (hardtanh refusing them) leave the module working (a child process)',
  () => {
    const index = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '../src/index.ts')).href;
    const program =
      `import * as tg from '${index}';\nawait tg.setBackend('wasm');\nlet ok = 0;\n` +
      'for (let k = 0; k < 300; k++) tg.tidy(() => {\n' +
      '  const n = 1 + (k % 37);\n' +
      "  const b = tg.tensor(Array.from({ length: n }, (_, i) => i % 2 === 0), { dtype: 'bool' });\n" +
      '  let same = false;\n' +
      '  if (k % 2)\n' +
      '    same = Array.from(tg.clip(b, 0, 1).dataSync()).every((v, i) => v === (i % 2 === 0 ? 1 : 0));\n' +
      // hardtanh refuses a bool tensor, as PyTorch
      '  else try { tg.hardtanh(b, { min: 0, max: 1 }); }\n' +
      '  catch (e) { same = /^hardtanh: a bool tensor/.test(e.message); }\n' +
      '  if (same && tg.ones([n + 3]).sum().item() === n + 3) ok++;\n' +
      '});\n' +
      "console.log('ok', ok, tg.memory().numTensors);\n";
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.is(r.status, 0, `exit status ${r.status} (signal ${r.signal}): ${r.stderr.slice(0, 400)}`);
    assert.is(r.stdout.trim(), 'ok 300 0');
  },
);

// ---- gather along the last axis with batch dimensions

/** [[10,11,12],[20,21,22]] gathered along its last axis by [[2,0,1],[1,2,0]]. */
const gatherOperands = () => [seq([2, 3], 10), tf.tensor([2, 0, 1, 1, 2, 0], [2, 3], 'int32')] as const;
const GATHERED = [12, 10, 11, 14, 15, 13];

s("wasm: TF.js's GatherV2 with batch dimensions still reads the wrong rows ([2,3] by [2,3] indices)", async () => {
  const got = await on('wasm', () => tf.gather(...gatherOperands(), 1, 1));
  assert.not.equal(got, GATHERED, 'wasm gathers with batchDims right now: gatherLastAxisByFlatIndex can go');
});
for (const backend of ['cpu', 'wasm'] as const) {
  s(`${backend}: gatherLastAxisByFlatIndex (and tg.sort) gather the right rows`, async () => {
    assert.equal(await on(backend, () => defects.gatherLastAxisByFlatIndex(...gatherOperands())), GATHERED);
    const x = tg.tensor([
      [3, 1, 2],
      [6, 4, 5],
    ]);
    const { values, indices } = tg.sort(x);
    assert.equal(await values.array(), [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.equal(await indices.array(), [
      [1, 2, 0],
      [1, 2, 0],
    ]);
    tg.dispose([x, values, indices]);
  });
}

// ---- kernels given an input with no entries run on cpu (wasm-unwritten-output.ts, goesToCpu)

s("wasm: TF.js's reductions along an axis of an empty tensor still trap the module (a child process)", () => {
  const index = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '../src/index.ts')).href;
  const guard = pathToFileURL(
    join(dirname(fileURLToPath(import.meta.url)), '../src/backend/wasm-unwritten-output.ts'),
  ).href;
  const program =
    `import * as tg from '${index}';\nimport * as tf from '@tensorflow/tfjs-core';\n` +
    `import { withRawWasmKernels } from '${guard}';\nawait tg.setBackend('wasm');\n` +
    "try { withRawWasmKernels(() => tf.sum(tf.zeros([0, 3, 3]), 1)); console.log('no trap'); }\n" +
    "catch (e) { console.log(String(e.message).includes('divide by zero') ? 'trapped' : e.message); }\n";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.is(
    r.stdout.trim().split('\n').pop(),
    'trapped',
    `wasm sums [0,3,3] over axis 1 now: ${r.stderr.slice(0, 300)}`,
  );
});
for (const backend of ['cpu', 'wasm'] as const) {
  s(
    `${backend}: ops on empty tensors along a non-empty axis, and gather from one, leave the backend working`,
    async () => {
      await tg.setBackend(backend);
      const x = tg.zeros([0, 3, 3], { requiresGrad: true });
      const reduced = [
        tg.variance(x, { axis: 1, keepDims: true }),
        tg.std(x, { axis: 1 }),
        tg.max(x, { axis: 2 }),
        tg.prod(x, { axis: 1 }),
        tg.logSumExp(x, { axis: 1 }),
        tg.cumsum(x, 1),
        tg.argmax(x, { axis: 1 }),
        tg.any(x, { axis: 2 }),
      ];
      assert.equal(
        reduced.map((r) => r.shape),
        [
          [0, 1, 3],
          [0, 3],
          [0, 3],
          [0, 3],
          [0, 3],
          [0, 3, 3],
          [0, 3],
          [0, 3],
        ],
      );
      tg.tidy(() => tg.add(tg.sum(reduced[0]), tg.sum(reduced[1])).backward());
      assert.equal(x.grad!.shape, [0, 3, 3]);
      const cases: [number[], number[], number, number[]][] = [
        [[0, 2], [0], 0, [0, 2]],
        [[2, 0], [1], 0, [1, 0]],
        [[0, 2], [2], 1, [0, 2]],
        [[2, 3], [0], 1, [2, 0]],
      ];
      for (const [xs, is, axis, want] of cases) {
        assert.equal(
          tf.tidy(() => tf.gather(tf.zeros(xs), tf.zeros(is, 'int32'), axis).shape),
          want,
          `${xs} by ${is}`,
        );
        const t = tg.zeros(xs, { requiresGrad: true });
        const y = tg.gather(t, tg.tensor(new Int32Array(is[0]), { shape: is, dtype: 'int32' }), axis);
        assert.equal(y.shape, want, `tg.gather ${xs} by ${is} along ${axis}`);
        tg.tidy(() => y.sum().backward());
        assert.equal(t.grad!.shape, xs);
        tg.dispose([t, t.grad, y]);
      }
      assert.is(tg.ones([3]).sum().item(), 3, 'the backend still runs');
      tg.dispose([x, x.grad, ...reduced]);
    },
  );
}

// ---- broadcastToEmptyShape (last in the file: allocations added before the probes of faulty wasm
// kernels above shift the heap, under which one of them has trapped the module)

for (const backend of ['cpu', 'wasm'] as const) {
  s(
    `${backend}: TF.js's broadcastTo still leaves a 1 where the target has 0; broadcastToEmptyShape and where do not`,
    async () => {
      await tg.setBackend(backend);
      tf.tidy(() => {
        assert.equal(
          tf.broadcastTo(tf.ones([1, 3]), [0, 3]).shape,
          [1, 3],
          "TF.js's broadcastTo reaches empty shapes now: broadcastToEmptyShape can go",
        );
        assert.equal(tf.broadcastTo(tf.scalar(1), [0]).shape, [1]);
        assert.equal(defects.broadcastToEmptyShape(tf.ones([1, 3], 'bool'), [0, 3]).shape, [0, 3]);
        assert.equal(defects.broadcastToEmptyShape(tf.scalar(1), [0]).shape, [0]);
        assert.equal(Array.from(defects.broadcastToEmptyShape(tf.tensor([1, 2]), [2, 2]).dataSync()), [1, 2, 1, 2]);
      });
      // the condition broadcast onto an empty shape: wasm's Select wrote a row past its empty output,
      // into whatever followed it on the heap (here a tensor of 7s: the others leave holes it takes)
      const sevens = Array.from({ length: 40 }, () => tf.fill([1], 7));
      sevens.filter((_, i) => i % 2 === 0).forEach((t) => t.dispose());
      const kept = sevens.filter((_, i) => i % 2);
      const wide = tg.tensor(Array(64).fill(true), { dtype: 'bool', shape: [1, 64] });
      const empty = tg.zeros([0, 64]);
      const y = tg.where(wide, empty, 1);
      assert.equal(y.shape, [0, 64]);
      assert.ok(
        kept.every((t) => t.dataSync()[0] === 7),
        'tg.where wrote past its empty result',
      );
      tg.dispose([wide, empty, y]);
      tf.dispose(kept);
      const c = tg.tensor([true, false, true], { dtype: 'bool', shape: [1, 3] });
      const a = tg.zeros([0, 3], { requiresGrad: true });
      for (let i = 0; i < 50; i++) {
        const g = tg.grad((x: tg.Tensor) => tg.where(c, x, 1).sum())(a);
        assert.equal(g.shape, [0, 3]);
        g.dispose();
      }
      tg.dispose([a, c]);
    },
  );
}

// ---- randomNormalKeepingSeedZero

s('TF.js still draws tf.randomNormal seeded 0 afresh at each call (and keeps every other seed)', () => {
  const draw = (seed: number) => tf.tidy(() => Array.from(tf.randomNormal([8], 0, 1, 'float32', seed).dataSync()));
  assert.not.equal(draw(0), draw(0));
  assert.equal(draw(1), draw(1));
});

s(
  'randomNormalKeepingSeedZero (and tg.randn, nn.init.normal, Embedding) give seed 0 the same values each time',
  async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      await tg.setBackend(backend);
      const draw = () => tf.tidy(() => Array.from(defects.randomNormalKeepingSeedZero([8], 0, 1, 0).dataSync()));
      assert.equal(draw(), draw());
      assert.not.equal(
        draw(),
        tf.tidy(() => Array.from(defects.randomNormalKeepingSeedZero([8], 0, 1, 1).dataSync())),
      );
      const values = (make: () => tg.Tensor) => {
        const t = make();
        const v = Array.from(t.dataSync());
        t.dispose();
        return v;
      };
      const twice = (make: () => tg.Tensor, what: string) => assert.equal(values(make), values(make), what);
      twice(() => tg.randn([8], { seed: 0 }), 'tg.randn');
      twice(() => tg.nn.init.normal([8], 1, 0), 'nn.init.normal');
      twice(() => tg.nn.init.kaimingNormal([4, 2], { seed: 0 }), 'nn.init.kaimingNormal');
      const embedding = () => new tg.nn.Embedding(3, 2, { seed: 0 });
      twice(() => {
        const e = embedding();
        return e.weight;
      }, 'nn.Embedding');
    }
  },
);

// ---- argMaxMinOfNaN

for (const backend of ['cpu', 'wasm'] as const) {
  s(`${backend}: TF.js's ArgMax and ArgMin still pass over NaN`, async () => {
    assert.equal(await on(backend, () => tf.argMax(tf.tensor([1, Number.NaN, 2]))), [2]);
    assert.equal(await on(backend, () => tf.argMin(tf.tensor([1, Number.NaN, 0]))), [2]);
  });
  s(`${backend}: argMaxMinOfNaN (and tg.argmax, tg.argmin) give a row's first NaN, as PyTorch`, async () => {
    await tg.setBackend(backend);
    const x = tg.tensor([
      [1, Number.NaN, 2, Number.NaN],
      [3, 1, 2, 0],
    ]);
    const read = (t: tg.Tensor) => {
      const v = Array.from(t.dataSync());
      t.dispose();
      return v;
    };
    // torch.argmax(x, 1), torch.argmin(x, 1), torch.argmax(x, 0), torch.argmax(x)
    assert.equal(read(tg.argmax(x, { axis: 1 })), [1, 0]);
    assert.equal(read(tg.argmin(x, { axis: 1 })), [1, 3]);
    assert.equal(read(tg.argmax(x, { axis: 0 })), [1, 0, 0, 0]);
    assert.equal(read(tg.argmax(x)), [1]);
    const ints = tg.tensor([1, 2], { dtype: 'int32' });
    assert.equal(read(tg.argmax(ints)), [1]);
    tg.dispose([x, ints]);
  });
}

s.run();
