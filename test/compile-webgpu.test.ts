// tg.compile on the 'webgpu' backend in Node, through Dawn on SwiftShader's Vulkan driver (from
// Debian's chromium package): test/gpu/compile-webgpu.suite.ts in a child process (test/dawn.ts
// says why). Skipped, saying so, without the driver or the `webgpu` package; with
// TAPEGRAD_REQUIRE_BROWSER=1 a missing driver fails instead.
import { suite } from 'uvu';
import { runSuiteInDawn, skippedWithoutDawn } from './dawn.js';

const compileWebgpu = suite('tg.compile on webgpu in Node (Dawn on SwiftShader)');
if (!skippedWithoutDawn(compileWebgpu, 'tg.compile on webgpu in Node (Dawn)'))
  runSuiteInDawn(compileWebgpu, 'test/gpu/compile-webgpu.suite.ts');
compileWebgpu.run();
