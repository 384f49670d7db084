// The 'webgpu' backend in Node, through Dawn (the optional `webgpu` package), as on an H100 but on
// SwiftShader's Vulkan driver, which Debian's chromium package carries: the same Node code path
// (navigator.gpu from Dawn, asynchronous reads, tapegrad's WGSL kernels registered with TF.js)
// without a GPU. It runs the GPU check's correctness parts (benchmarks/gpu/gpu-check.ts --quick
// --parts fused,gradcheck): the fused kernels against the composed ops, and the op-registry
// gradcheck suite twice (TF.js's CPU forwarding off and on); then test/gpu/webgpu-node.suite.ts
// (what a Node user meets there: no synchronous reads, indices computed on the GPU, a training
// loop) and test/gpu/linalg-blocked.suite.ts (the blocked LU and Cholesky programs). Child
// processes, since the Vulkan loader is found through LD_LIBRARY_PATH, read only when a process
// starts; the suites' own lines are printed, so scripts/test.mjs counts their tests.
//
// Without chromium's SwiftShader (or the `webgpu` package) the suite is skipped, saying so; with
// TAPEGRAD_REQUIRE_BROWSER=1 (CI installs chromium) a missing driver fails the run instead.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CHROMIUM_LIB = process.env.CHROMIUM_LIB ?? '/usr/lib/chromium';
const ICD = join(CHROMIUM_LIB, 'vk_swiftshader_icd.json');
const hasDawn = existsSync(new URL('../node_modules/webgpu/dist/linux-x64', import.meta.url));
const missing = !existsSync(ICD)
  ? `no SwiftShader Vulkan driver at ${ICD} (Debian's chromium package)`
  : !hasDawn
    ? 'the optional `webgpu` package (Dawn) is not installed'
    : '';

const webgpu = suite('webgpu in Node (Dawn on SwiftShader)');

if (missing) {
  console.log(`\nSKIPPED: webgpu in Node (Dawn): ${missing}`);
  if (process.env.TAPEGRAD_REQUIRE_BROWSER === '1')
    webgpu('SwiftShader and Dawn are present (TAPEGRAD_REQUIRE_BROWSER=1)', () => assert.unreachable(missing));
} else {
  const out = mkdtempSync(join(tmpdir(), 'tapegrad-webgpu-'));
  const inDawn = (script: string, ...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: new URL('..', import.meta.url).pathname,
      env: {
        ...process.env,
        OUT: out,
        LD_LIBRARY_PATH: [CHROMIUM_LIB, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
        VK_DRIVER_FILES: ICD,
      },
      encoding: 'utf8',
      timeout: 900_000,
    });
  const nodeSuite = inDawn('test/gpu/webgpu-node.suite.ts');
  process.stdout.write(nodeSuite.stdout ?? '');
  webgpu('test/gpu/webgpu-node.suite.ts ran to its end', () => {
    assert.is(
      nodeSuite.status,
      0,
      `exit ${nodeSuite.status}:\n${(nodeSuite.stderr ?? '').split('\n').slice(-15).join('\n')}`,
    );
  });
  const blockedSuite = inDawn('test/gpu/linalg-blocked.suite.ts');
  process.stdout.write(blockedSuite.stdout ?? '');
  webgpu('test/gpu/linalg-blocked.suite.ts ran to its end', () => {
    assert.is(
      blockedSuite.status,
      0,
      `exit ${blockedSuite.status}:\n${(blockedSuite.stderr ?? '').split('\n').slice(-15).join('\n')}`,
    );
  });
  // tapegrad's WGSL matmul against the cpu backend (test/gpu/webgpu-matmul.suite.ts).
  const matmulSuite = inDawn('test/gpu/webgpu-matmul.suite.ts');
  process.stdout.write(matmulSuite.stdout ?? '');
  webgpu('test/gpu/webgpu-matmul.suite.ts ran to its end', () => {
    const tail = (matmulSuite.stderr ?? '').split('\n').slice(-15).join('\n');
    assert.is(matmulSuite.status, 0, `exit ${matmulSuite.status}:\n${tail}`);
  });
  const child = inDawn(
    'benchmarks/gpu/gpu-check.ts',
    '--quick',
    '--parts',
    'fused,gradcheck',
    '--gradcheck-seconds',
    '600',
  );
  const file = join(out, 'gpu-check.json');
  const report = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
  rmSync(out, { recursive: true, force: true });
  const tail = `${child.stdout ?? ''}${child.stderr ?? ''}`.split('\n').slice(-15).join('\n');

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
