// Running suites on the 'webgpu' backend in Node through Dawn (the optional `webgpu` package) on
// SwiftShader's Vulkan driver, which Debian's chromium package carries. Each script runs in a child
// process, since the Vulkan loader is found through LD_LIBRARY_PATH, read only when a process
// starts; its own lines are printed, so scripts/test.mjs counts its tests. Without the driver or
// the package the suites are skipped, saying so; with TAPEGRAD_REQUIRE_BROWSER=1 (CI installs
// chromium) a missing driver fails the run instead.
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const CHROMIUM_LIB = process.env.CHROMIUM_LIB ?? '/usr/lib/chromium';
const ICD = join(CHROMIUM_LIB, 'vk_swiftshader_icd.json');
const hasDawn = existsSync(new URL('../node_modules/webgpu/dist/linux-x64', import.meta.url));

/** Why Dawn cannot run here, or '' where it can. */
export const DAWN_MISSING = !existsSync(ICD)
  ? `no SwiftShader Vulkan driver at ${ICD} (Debian's chromium package)`
  : !hasDawn
    ? 'the optional `webgpu` package (Dawn) is not installed'
    : '';

/**
 * True (after saying so) where Dawn cannot run: the caller skips its suites; with
 * TAPEGRAD_REQUIRE_BROWSER=1 a test that fails is added to `s` instead.
 */
export function skippedWithoutDawn(s: Test, what: string): boolean {
  if (!DAWN_MISSING) return false;
  console.log(`\nSKIPPED: ${what}: ${DAWN_MISSING}`);
  if (process.env.TAPEGRAD_REQUIRE_BROWSER === '1')
    s('SwiftShader and Dawn are present (TAPEGRAD_REQUIRE_BROWSER=1)', () => assert.unreachable(DAWN_MISSING));
  return true;
}

/** Runs `script` (from the repository root) with Dawn's driver, waiting up to 15 minutes. */
export function inDawn(
  script: string,
  args: string[] = [],
  env: Record<string, string> = {},
): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: new URL('..', import.meta.url).pathname,
    env: {
      ...process.env,
      ...env,
      LD_LIBRARY_PATH: [CHROMIUM_LIB, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
      VK_DRIVER_FILES: ICD,
    },
    encoding: 'utf8',
    timeout: 900_000,
  });
}

/** The last 15 lines of what a child printed. */
export const tailOf = (text: string | null | undefined) => (text ?? '').split('\n').slice(-15).join('\n');

/**
 * Runs the uvu suite `script` with Dawn, prints its lines, and adds to `s` a test that it ran to
 * its end (exit 0, else the end of its stderr).
 */
export function runSuiteInDawn(s: Test, script: string, env: Record<string, string> = {}): void {
  const child = inDawn(script, [], env);
  process.stdout.write(child.stdout ?? '');
  s(`${script} ran to its end`, () => {
    assert.is(child.status, 0, `exit ${child.status}:\n${tailOf(child.stderr)}`);
  });
}
