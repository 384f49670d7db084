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
  setMatMulSubgroups,
  setMatMulTile,
  type MatMulActivation,
} from '../../kernels/webgpu-matmul.js';
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

mm('the prefetching tile (next step read into registers) on odd sizes and on multiples of 4', async () => {
  try {
    setMatMulTile({ ...MATMUL_TILES.square, prefetch: true });
    for (const [m, k, n] of [
      [33, 65, 17],
      [68, 36, 132],
    ]) {
      for (const [transposeA, transposeB] of [
        [false, false],
        [true, true],
      ]) {
        await check({
          name: `prefetch, ${m}×${k}·${k}×${n}, transposeA ${transposeA}, transposeB ${transposeB}`,
          a: transposeA ? [k, m] : [m, k],
          b: transposeB ? [n, k] : [k, n],
          transposeA,
          transposeB,
        });
      }
    }
  } finally {
    setMatMulTile(null);
  }
});

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
