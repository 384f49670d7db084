// Builds what the npm package ships (package.json "files"): dist/src and dist/kernels compiled by
// tsc, the wasm backend's binaries beside dist/src/browser-setup.js (which points the backend at
// them), and dist/require.cjs, the "require" condition's message. Starts from an empty dist/.
import { spawnSync } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyWasmBinaries } from './build-browser.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
rmSync(join(root, 'dist'), { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
copyWasmBinaries('dist/src');
copyFileSync(join(root, 'src/require.cjs'), join(root, 'dist/require.cjs'));
