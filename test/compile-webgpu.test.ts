// tg.compile on the 'webgpu' backend in Node, through Dawn on SwiftShader's Vulkan driver (from
// Debian's chromium package): test/gpu/compile-webgpu.suite.ts, in a child process, since the
// Vulkan loader is found through LD_LIBRARY_PATH, read only when a process starts; the suite's
// own lines are printed, so scripts/test.mjs counts its tests. Skipped, saying so, without the
// driver or the `webgpu` package; with TAPEGRAD_REQUIRE_BROWSER=1 a missing driver fails instead.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const CHROMIUM_LIB = process.env.CHROMIUM_LIB ?? '/usr/lib/chromium';
const ICD = join(CHROMIUM_LIB, 'vk_swiftshader_icd.json');
const hasDawn = existsSync(new URL('../node_modules/webgpu/dist/linux-x64', import.meta.url));
const missing = !existsSync(ICD)
  ? `no SwiftShader Vulkan driver at ${ICD} (Debian's chromium package)`
  : !hasDawn
    ? 'the optional `webgpu` package (Dawn) is not installed'
    : '';

const compileWebgpu = suite('tg.compile on webgpu in Node (Dawn on SwiftShader)');

if (missing) {
  console.log(`\nSKIPPED: tg.compile on webgpu in Node (Dawn): ${missing}`);
  if (process.env.TAPEGRAD_REQUIRE_BROWSER === '1')
    compileWebgpu('SwiftShader and Dawn are present (TAPEGRAD_REQUIRE_BROWSER=1)', () => assert.unreachable(missing));
} else {
  const child = spawnSync(process.execPath, ['--import', 'tsx', 'test/gpu/compile-webgpu.suite.ts'], {
    cwd: new URL('..', import.meta.url).pathname,
    env: {
      ...process.env,
      LD_LIBRARY_PATH: [CHROMIUM_LIB, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
      VK_DRIVER_FILES: ICD,
    },
    encoding: 'utf8',
    timeout: 900_000,
  });
  process.stdout.write(child.stdout ?? '');
  compileWebgpu('test/gpu/compile-webgpu.suite.ts ran to its end', () => {
    assert.is(child.status, 0, `exit ${child.status}:\n${(child.stderr ?? '').split('\n').slice(-15).join('\n')}`);
  });
}

compileWebgpu.run();
