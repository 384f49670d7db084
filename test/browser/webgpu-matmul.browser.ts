// tapegrad's WGSL matmul (kernels/webgpu-matmul.ts) in headless Chromium's WebGPU, against TF.js's
// cpu backend on the shapes of test/matmul-cases.ts (every size class, transposes, broadcast
// batches, the fused epilogues); the dot program with subgroups and without. On the webgl page
// there is nothing to check: the kernel is webgpu's.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../../src/index.js';
import { setMatMulSubgroups } from '../../kernels/webgpu-matmul.js';
import { checkMatMulCase, matMulCases } from '../matmul-cases.js';

const page = tg.getBackend();
const s = suite(`tapegrad's webgpu matmul (${page} page)`);

if (page === 'webgpu') {
  const programs: string[] = [];
  const errors: string[] = [];
  s.before(() => {
    const backend = tf.backend() as unknown as {
      device: EventTarget;
      runWebGPUProgram: (p: { shaderKey: string }, ...rest: unknown[]) => unknown;
    };
    backend.device.addEventListener('uncapturederror', (e) =>
      errors.push(String((e as unknown as { error: { message: string } }).error.message)),
    );
    const run = backend.runWebGPUProgram;
    backend.runWebGPUProgram = function (p, ...rest) {
      programs.push(p.shaderKey);
      return run.call(this, p, ...rest);
    };
  });
  s.after(() => tg.setBackend(page));

  for (const c of matMulCases) {
    s(c.name, async () => {
      programs.length = 0;
      await checkMatMulCase(tg, c);
      assert.ok(
        programs.some((p) => p.startsWith('tapegrad_matmul')),
        `ran ${programs.join(', ')}`,
      );
    });
  }
  s('the dot program, with subgroups where the device has them and without', async () => {
    const c = { name: 'dot', a: [2, 3, 700], b: [700, 5], transposeA: false, transposeB: false };
    try {
      for (const on of [true, false]) {
        setMatMulSubgroups(on);
        programs.length = 0;
        await checkMatMulCase(tg, { ...c, name: `dot, subgroups ${on}` });
        assert.ok(
          programs.some((p) => p.startsWith('tapegrad_matmul_dot')),
          programs.join(', '),
        );
      }
    } finally {
      setMatMulSubgroups(true);
    }
  });
  s('no WebGPU validation error', async () => {
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(errors.slice(0, 3), []);
  });
} else {
  s('nothing to check on this page (the kernel is webgpu-only)', () => {});
}

s.run();
