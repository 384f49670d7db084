// The packed package installed in a project of its own, as a user gets it: `npm pack`, then
// `npm install <tarball>` in a temporary directory outside the repository, so that `tapegrad`
// resolves by name through package.json "exports" and only its declared dependencies are there.
//
// The project is cached under the system's temp directory by a hash of everything that goes
// into the package, so the consumer suites of one `npm test` pack and install once.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** Files whose content decides the package: sources, build scripts, package metadata, docs. */
const INPUTS = [
  'package.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'README.md',
  'LICENSE',
  'ARCHITECTURE.md',
  'src',
  'kernels',
  'docs',
  'scripts/build-package.mjs',
  'scripts/build-browser.mjs',
];

function inputHash(): string {
  const h = createHash('sha256');
  const add = (p: string) => {
    const abs = join(root, p);
    if (!existsSync(abs)) return;
    if (statSync(abs).isDirectory()) for (const n of readdirSync(abs).sort()) add(join(p, n));
    else h.update(p).update('\0').update(readFileSync(abs)).update('\0');
  };
  for (const p of INPUTS) add(p);
  return h.digest('hex').slice(0, 16);
}

export interface Packed {
  /** The consumer project: package.json ("type": "module") and node_modules/tapegrad. */
  dir: string;
  /** The tarball `npm pack` made. */
  tarball: string;
  /** Seconds spent building, packing and installing (0 when the cached project was reused). */
  seconds: number;
}

const run = (cmd: string, args: string[], cwd: string) => {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' },
  });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
};

/** Builds, packs and installs tapegrad into a temporary project (or reuses the one for these sources). */
export function packedProject(): Packed {
  const dir = join(tmpdir(), `tapegrad-consumer-${inputHash()}`);
  if (existsSync(join(dir, '.installed')))
    return { dir, tarball: join(dir, 'pack', readdirSync(join(dir, 'pack'))[0]), seconds: 0 };
  const t0 = Date.now();
  // Projects for older sources, left by earlier runs (two hours old: other checkouts may be using theirs).
  for (const n of readdirSync(tmpdir())) {
    const p = join(tmpdir(), n);
    if (n.startsWith('tapegrad-consumer-') && p !== dir && Date.now() - statSync(p).mtimeMs > 7_200_000)
      rmSync(p, { recursive: true, force: true });
  }
  const work = `${dir}.${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, 'pack'), { recursive: true });
  const build = run(process.execPath, [join(root, 'scripts/build-package.mjs')], root);
  if (build.code !== 0) throw new Error(`build failed:\n${build.out}`);
  const pack = run('npm', ['pack', '--ignore-scripts', '--pack-destination', join(work, 'pack')], root);
  if (pack.code !== 0) throw new Error(`npm pack failed:\n${pack.out}`);
  const tarball = readdirSync(join(work, 'pack')).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack made no tarball:\n${pack.out}`);
  writeFileSync(
    join(work, 'package.json'),
    `${JSON.stringify({ name: 'tapegrad-consumer', private: true, type: 'module' }, null, 2)}\n`,
  );
  // From the npm cache when it has everything (no network); else the registry fills the gaps.
  const spec = `./pack/${tarball}`;
  let install = run('npm', ['install', '--offline', spec], work);
  if (install.code !== 0) install = run('npm', ['install', '--prefer-offline', spec], work);
  if (install.code !== 0) throw new Error(`npm install ${spec} failed:\n${install.out}`);
  writeFileSync(join(work, '.installed'), '');
  rmSync(dir, { recursive: true, force: true });
  renameSync(work, dir);
  return { dir, tarball: join(dir, 'pack', tarball), seconds: (Date.now() - t0) / 1000 };
}

/** Every file in the tarball (paths inside the package, without the leading "package/"). */
export function tarballFiles(tarball: string): string[] {
  const r = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar -tzf failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ''));
}

/** Runs `node args` in the consumer project; tsx (from this repository) when `ts` is set. */
export function nodeIn(
  dir: string,
  args: string[],
  opts: { ts?: boolean; env?: Record<string, string>; timeoutMs?: number } = {},
) {
  const tsx = import.meta.resolve('tsx');
  const r = spawnSync(process.execPath, [...(opts.ts ? ['--import', tsx] : []), ...args], {
    cwd: dir,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    env: { ...process.env, ...opts.env },
  });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** The TypeScript compiler of this repository, run on a project in `dir`. */
export function tscIn(dir: string, args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

export const rel = (p: string) => relative(root, p);
