// tapegrad's WGSL matmul (kernels/webgpu-matmul.ts) against TF.js's cpu backend, on every size
// class and tile, transposed operands, broadcast batches and the fused epilogues. Run by
// test/webgpu-node.test.ts in a child process with SwiftShader's Vulkan driver (or by hand):
//   LD_LIBRARY_PATH=/usr/lib/chromium VK_DRIVER_FILES=/usr/lib/chromium/vk_swiftshader_icd.json \
//     node --import tsx test/gpu/webgpu-matmul.suite.ts
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../../src/index.js';
import {
  MATMUL_TILES,
  matMulSizeClass,
  matMulTileName,
  matMulTiles,
  setMatMulSubgroups,
  setMatMulTile,
  setMatMulTiles,
  type MatMulActivation,
  type MatMulTile,
  webgpuMatMul,
} from '../../kernels/webgpu-matmul.js';
import { tuneMatMul, webgpuAdapter } from '../../kernels/webgpu-matmul-tune.js';
import { checkMatMulCase, matMulCases, operands, product, type MatMulCase } from '../matmul-cases.js';

const mm = suite('our webgpu matmul against the cpu backend');
const gpuErrors: string[] = [];
let programs: string[] = [];

mm.before(async () => {
  await tg.setBackend('webgpu');
  const backend = tf.backend() as unknown as {
    device: EventTarget;
    runWebGPUProgram: (p: { shaderKey: string }, ...rest: unknown[]) => unknown;
  };
  backend.device.addEventListener('uncapturederror', (e) =>
    gpuErrors.push(String((e as unknown as { error: { message: string } }).error.message)),
  );
  const run = backend.runWebGPUProgram;
  backend.runWebGPUProgram = function (p, ...rest) {
    programs.push(p.shaderKey);
    return run.call(this, p, ...rest);
  };
});

/** The case on cpu and on webgpu (through tapegrad's matmul, not TF.js's). */
async function check(c: MatMulCase): Promise<void> {
  programs = [];
  await checkMatMulCase(tg, c);
  assert.ok(
    programs.some((p) => p.startsWith('tapegrad_matmul')),
    `${c.name}: ran ${programs.join(', ')}, not tapegrad's matmul`,
  );
}

for (const c of matMulCases) mm(c.name, () => check(c));

mm('every tile shape on odd sizes (33×65·65×17, transposed or not, with bias and relu)', async () => {
  try {
    for (const [name, tile] of Object.entries(MATMUL_TILES)) {
      setMatMulTile(tile);
      for (const [transposeA, transposeB] of [
        [false, false],
        [true, true],
      ]) {
        await check({
          name: `${name} tile, transposeA ${transposeA}, transposeB ${transposeB}`,
          a: transposeA ? [65, 33] : [33, 65],
          b: transposeB ? [17, 65] : [65, 17],
          transposeA,
          transposeB,
          bias: [17],
          activation: 'relu',
        });
      }
    }
  } finally {
    setMatMulTile(null);
  }
});

for (const [form, more] of [
  ['prefetching (next step read into registers)', { prefetch: true }],
  ['double-buffered (next step copied into the other half of workgroup memory)', { doubleBuffer: true }],
] as const)
  mm(`the ${form} tile on odd sizes and on multiples of 4`, async () => {
    try {
      // k 8 in steps of 8: several steps, so that both halves are written and read again
      for (const tile of [
        { ...MATMUL_TILES.square, ...more },
        { ...MATMUL_TILES.tall, tk: 8, ...more },
      ]) {
        setMatMulTile(tile);
        for (const [m, k, n] of [
          [33, 65, 17],
          [68, 36, 132],
        ]) {
          for (const [transposeA, transposeB] of [
            [false, false],
            [true, true],
          ]) {
            await check({
              name: `${matMulTileName(tile)}, ${m}×${k}·${k}×${n}, transposeA ${transposeA}, transposeB ${transposeB}`,
              a: transposeA ? [k, m] : [m, k],
              b: transposeB ? [n, k] : [k, n],
              transposeA,
              transposeB,
            });
            assert.ok(programs.some((p) => p.includes(matMulTileName(tile))));
          }
        }
      }
    } finally {
      setMatMulTile(null);
    }
  });

mm(
  'tuneMatMul: skipped on SwiftShader unless forced; forced, it times the candidates and the winner runs',
  async () => {
    assert.ok(webgpuAdapter().software, webgpuAdapter().adapter);
    const skipped = await tuneMatMul({ classes: ['square'] });
    assert.equal(skipped.tuned, []);
    assert.equal(skipped.tiles.square, MATMUL_TILES.square);
    const square: MatMulTile[] = [
      { wx: 8, wy: 8, tm: 4, tn: 4, tk: 8, doubleBuffer: true },
      { wx: 4, wy: 4, tm: 8, tn: 8, tk: 8 },
      { wx: 64, wy: 64, tm: 4, tn: 4, tk: 8 }, // 4,096 threads: more than any device allows
    ];
    const tall: MatMulTile[] = [{ wx: 4, wy: 16, tm: 4, tn: 4, tk: 8 }, MATMUL_TILES.tall];
    try {
      const result = await tuneMatMul({
        classes: ['square', 'tall'],
        candidates: { square, tall },
        shapes: { square: [64, 64, 64], tall: [128, 16, 32] },
        force: true,
        roundMs: 1,
      });
      assert.equal(
        result.tuned.map((t) => t.sizeClass),
        ['square', 'tall'],
      );
      const [sq, tl] = result.tuned;
      assert.is(sq.timings.length, 2);
      assert.equal(
        sq.skipped.map((s) => s.tile),
        ['64_64_4_4_8'],
      );
      assert.match(sq.skipped[0].why, /4096 threads/);
      assert.ok(sq.timings.every((t) => t.ms > 0));
      assert.is(sq.timings[0].tile, matMulTileName(sq.tile));
      assert.equal(matMulTiles().square, sq.tile);
      assert.equal(matMulTiles().tall, tl.tile);
      assert.equal(matMulTiles().large, MATMUL_TILES.large);
      // the classes' products now run the chosen tiles, and still equal the cpu backend's
      await check({ name: 'square after tuning', a: [70, 66], b: [66, 72], transposeA: false, transposeB: false });
      assert.ok(
        programs.some((p) => p.startsWith(`tapegrad_matmul_tiled_${matMulTileName(sq.tile)}_`)),
        programs[0],
      );
      await check({ name: 'tall after tuning', a: [130, 40], b: [40, 12], transposeA: false, transposeB: false });
      assert.ok(
        programs.some((p) => p.startsWith(`tapegrad_matmul_tiled_${matMulTileName(tl.tile)}_`)),
        programs[0],
      );
      // timed once per device: a second call times nothing
      programs = [];
      const again = await tuneMatMul({ classes: ['square', 'tall'], candidates: { square, tall } });
      assert.is(again.tuned[0], sq);
      assert.equal(programs, []);
      assert.throws(() => setMatMulTiles({ square: square[2] }), /4096 threads/);
    } finally {
      setMatMulTiles(null);
    }
    assert.equal(matMulTiles().square, MATMUL_TILES.square);
  },
);

mm('the dot program with and without subgroups (long K, few outputs)', async () => {
  assert.is(matMulSizeClass(1, 3, 5, 700), 'dot');
  const features = (tf.backend() as unknown as { device: { features: Set<string> } }).device.features;
  assert.ok(features.has('subgroups'), 'the device was made without subgroups, which SwiftShader offers');
  const c: MatMulCase = { name: 'dot', a: [2, 3, 700], b: [700, 5], transposeA: false, transposeB: false };
  try {
    for (const on of [true, false]) {
      setMatMulSubgroups(on);
      await check({ ...c, name: `dot, subgroups ${on ? 'allowed' : 'off'}` });
      // SwiftShader's subgroups are 4 wide: the workgroup is one subgroup of 4, else 64 threads.
      const want = on ? 'tapegrad_matmul_dot_4_true' : 'tapegrad_matmul_dot_64_false';
      assert.ok(
        programs.some((p) => p.startsWith(want)),
        programs.map((p) => p.slice(0, 40)).join(', '),
      );
      await check({
        ...c,
        name: `dot transposed, subgroups ${on}`,
        a: [2, 700, 3],
        b: [5, 700],
        transposeA: true,
        transposeB: true,
      });
    }
  } finally {
    setMatMulSubgroups(true);
  }
});

mm(
  'lowerTriangle: the entries on and below the diagonal equal the full product to the bit, on each program',
  async () => {
    const gpu = tf.backend() as unknown as Parameters<typeof webgpuMatMul>[0];
    // [2, m, k]·[2, m, k]ᵀ as Cholesky's L21·L21ᵀ: tiled (each tile shape), tiny, and dot (long k)
    const shapes: [number, number, MatMulTile | null][] = [
      ...Object.values(MATMUL_TILES).map((t): [number, number, MatMulTile | null] => [150, 24, t]),
      [130, 32, null],
      [40, 12, null],
      [6, 700, null],
    ];
    try {
      for (const [m, k, tile] of shapes) {
        setMatMulTile(tile);
        const l = tf.randomNormal([2, m, k], 0, 1, 'float32', m + k);
        programs = [];
        const product = async (lowerTriangle: boolean) => {
          const info = webgpuMatMul(gpu, l, l, false, true, { lowerTriangle });
          assert.ok(info, `[2, ${m}, ${k}]: the product did not run`);
          return tf.engine().makeTensorFromTensorInfo(info!);
        };
        const fullProduct = await product(false);
        const full = (await fullProduct.data()) as Float32Array;
        // the lower product's output from a buffer of NaNs (the pool's last freed), not the full one's
        const forward = tf.env().getBool('WEBGPU_CPU_FORWARD');
        tf.env().set('WEBGPU_CPU_FORWARD', false);
        const nan = tf.tidy(() => tf.add(tf.fill([2 * m * m], Number.NaN), 0));
        tf.env().set('WEBGPU_CPU_FORWARD', forward);
        await nan.data();
        nan.dispose();
        const lowerProduct = await product(true);
        const lower = (await lowerProduct.data()) as Float32Array;
        tf.dispose([fullProduct, lowerProduct]);
        const lowerRan = programs.filter((p) => p.endsWith('_lower'));
        assert.is(lowerRan.length, 1, `${programs.join(', ')}`);
        let differ = 0;
        for (let b = 0; b < 2; b++)
          for (let i = 0; i < m; i++)
            for (let j = 0; j <= i; j++)
              differ += Object.is(full[(b * m + i) * m + j], lower[(b * m + i) * m + j]) ? 0 : 1;
        assert.is(differ, 0, `[2, ${m}, ${k}] tile ${tile ? matMulTileName(tile) : 'of its class'} (${lowerRan[0]})`);
        l.dispose();
      }
      // a program that failed to compile leaves its output as the pool gave it: perhaps the full product's
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(gpuErrors.slice(0, 3), []);
    } finally {
      setMatMulTile(null);
    }
  },
);

mm('the size classes', () => {
  assert.is(matMulSizeClass(1, 4096, 4096, 4096), 'large');
  assert.is(matMulSizeClass(1, 256, 256, 256), 'square');
  assert.is(matMulSizeClass(1, 1000, 10, 64), 'tall');
  assert.is(matMulSizeClass(1, 10, 1000, 64), 'wide');
  assert.is(matMulSizeClass(1, 33, 17, 65), 'tiny');
});

mm('no tensor leaks, and no WebGPU validation error', async () => {
  const before = tf.memory().numTensors;
  const c = matMulCases[0];
  await product(c, operands(c));
  assert.is(tf.memory().numTensors, before);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(gpuErrors.slice(0, 3), []);
});

export type { MatMulActivation };
mm.run();
