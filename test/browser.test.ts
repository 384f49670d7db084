// The browser suites (test/browser/run.ts) as part of `npm test`: every test that ran in
// headless Chromium on webgl and on webgpu becomes one test here. Without Chromium they are
// skipped, saying so (scripts/test.mjs repeats the line in its summary); with
// TAPEGRAD_REQUIRE_BROWSER=1 (CI) a missing browser fails the run instead.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runBrowserSuites, CHROMIUM } from './browser/run.js';

const run = await runBrowserSuites();

if (run.skipped) {
  console.log(`\nSKIPPED: browser suites (webgl, webgpu): ${run.skipped}`);
  if (process.env.TAPEGRAD_REQUIRE_BROWSER === '1') {
    const required = suite('browser');
    required('Chromium is present (TAPEGRAD_REQUIRE_BROWSER=1)', () =>
      assert.unreachable(`no browser at ${CHROMIUM}: ${run.skipped}`),
    );
    required.run();
  }
} else {
  const backends = [...new Set(run.results.map((r) => r.backend))];
  for (const backend of backends) {
    const results = run.results.filter((r) => r.backend === backend);
    const s = suite(`browser ${backend}`);
    for (const r of results) {
      if (r.skipped) continue; // a Node-only test (it called node:fs): counted below
      s(`${r.file} › ${r.name}`, () => {
        if (!r.ok) assert.unreachable(r.error ?? 'failed');
      });
    }
    s.run();
    const skipped = results.filter((r) => r.skipped).length;
    const ms = results.reduce((a, r) => a + r.ms, 0);
    console.log(
      `# browser ${backend}: ${results.length - skipped} tests in ${(ms / 1000).toFixed(1)} s${skipped ? `, ${skipped} Node-only skipped` : ''}; ${JSON.stringify(run.info[backend] ?? {})}`,
    );
  }
  console.log(`# browser suites: ${run.seconds.toFixed(0)} s in all, with bundling and Chromium's start`);
}
