// The 'webgpu' backend in Node, through Dawn (the optional `webgpu` package), as on an H100 but on
// SwiftShader's Vulkan driver, which Debian's chromium package carries: the same Node code path
// (navigator.gpu from Dawn, asynchronous reads, tapegrad's WGSL kernels registered with TF.js)
// without a GPU. It runs the GPU check's correctness parts (benchmarks/gpu/gpu-check.ts --quick
// --parts fused,gradcheck): the fused kernels against the composed ops, and the op-registry
// gradcheck suite twice (TF.js's CPU forwarding off and on); then test/gpu/webgpu-node.suite.ts
// (what a Node user meets there: no synchronous reads, indices computed on the GPU, a training
// loop) and test/gpu/linalg-blocked.suite.ts (the blocked LU and Cholesky programs). Child
// processes, since the Vulkan loader is found through LD_LIBRARY_PATH, read only when a process
// starts (test/dawn.ts). Without chromium's SwiftShader (or the `webgpu` package) the suite is
// skipped, saying so; with TAPEGRAD_REQUIRE_BROWSER=1 a missing driver fails the run instead.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inDawn, runSuiteInDawn, skippedWithoutDawn, tailOf } from './dawn.js';

const webgpu = suite('webgpu in Node (Dawn on SwiftShader)');

if (!skippedWithoutDawn(webgpu, 'webgpu in Node (Dawn)')) {
  const out = mkdtempSync(join(tmpdir(), 'tapegrad-webgpu-'));
  runSuiteInDawn(webgpu, 'test/gpu/webgpu-node.suite.ts', { OUT: out });
  runSuiteInDawn(webgpu, 'test/gpu/linalg-blocked.suite.ts', { OUT: out });
  // tapegrad's WGSL matmul against the cpu backend
  runSuiteInDawn(webgpu, 'test/gpu/webgpu-matmul.suite.ts', { OUT: out });
  const child = inDawn(
    'benchmarks/gpu/gpu-check.ts',
    ['--quick', '--parts', 'fused,gradcheck', '--gradcheck-seconds', '600'],
    { OUT: out },
  );
  const file = join(out, 'gpu-check.json');
  const report = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
  rmSync(out, { recursive: true, force: true });
  const tail = tailOf(`${child.stdout ?? ''}${child.stderr ?? ''}`);

  webgpu('Dawn gives Node a WebGPU adapter and tapegrad starts its webgpu backend', () => {
    assert.ok(report, `gpu-check wrote no report (exit ${child.status}):\n${tail}`);
    assert.match(report.what, /webgpu backend through Dawn/);
    assert.match(report.gpu, /swiftshader/i);
  });
  webgpu(
    'the fused kernels equal the composed ops (Adam, AdamW, relu and leakyRelu backward, softmax-cross-entropy)',
    () => {
      assert.equal(
        report.fused.map((f: { kernel: string }) => f.kernel),
        ['Adam', 'AdamW', 'reluGrad', 'leakyReluGrad', 'softmaxCrossEntropy'],
      );
      for (const f of report.fused) assert.ok(f.ok, `${f.kernel}: relative difference ${f.relDiff}`);
    },
  );
  for (const mode of ['webgpu, WEBGPU_CPU_FORWARD off', 'webgpu, WEBGPU_CPU_FORWARD on (TF.js default)']) {
    webgpu(`the op-registry gradcheck suite passes (${mode})`, () => {
      const results = report.gradcheck.results.filter((r: { mode: string }) => r.mode === mode);
      assert.ok(results.length >= 150, `only ${results.length} cases ran`);
      const bad = results.filter((r: { ok: boolean }) => !r.ok);
      assert.equal(bad, [], `${bad.length} of ${results.length} cases failed`);
    });
  }
  webgpu('the check as a whole passed', () => {
    assert.equal(report.failures, []);
    assert.is(child.status, 0, tail);
  });
  console.log(
    `# webgpu in Node: ${report?.gradcheck?.cases ?? 0} gradchecks in ${report?.seconds?.toFixed(0) ?? '?'} s on ${report?.gpu ?? '?'}`,
  );
}

webgpu.run();
