// Writing results in Node: benchmarks/results/<machine>-<date>.json (merged with an earlier run of
// the same day: a problem measured again replaces all its old figures) and the SVG chart beside it.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import os from 'node:os';
import type { BenchRecord } from './harness.js';
import { ratios, ratiosSvg } from './report.js';
import { SUITE_NAMES } from './runner.js';

/** The processor, in words: "AMD EPYC 7B13 (2 cores)". */
export function cpuDevice(): string {
  const cpus = os.cpus();
  return `${(cpus[0]?.model ?? 'unknown CPU').trim()} (${cpus.length} cores)`;
}

/** A file-name-safe machine name from the device: "amd-epyc-7b13-2-cores". */
export function machineSlug(device: string): string {
  return device
    .toLowerCase()
    .replace(/\(r\)|\(tm\)|cpu @.*?(?=\()/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 60);
}

/** A problem: every figure of one suite, size and backend comes from the same run. */
const problem = (r: BenchRecord) => [r.suite, r.size, r.backend].join('\u0000');

/** Writes <dir>/<machine>-<date>.json and .svg; returns their paths. */
export function writeResults(
  records: BenchRecord[],
  dir: string,
  machine: string,
  extraJson?: string,
): { json: string; svg: string } {
  mkdirSync(dir, { recursive: true });
  const day = (records[0]?.date ?? new Date().toISOString()).slice(0, 10);
  const json = join(dir, `${machine}-${day}.json`);
  let merged = [...records];
  if (existsSync(json)) {
    const fresh = new Set(records.map(problem));
    const old = (JSON.parse(readFileSync(json, 'utf8')) as BenchRecord[]).filter((r) => !fresh.has(problem(r)));
    merged = [...old, ...records];
  }
  // Suites in their running order (a stable sort keeps each suite's problems in theirs).
  merged.sort((a, b) => SUITE_NAMES.indexOf(a.suite) - SUITE_NAMES.indexOf(b.suite));
  writeFileSync(json, JSON.stringify(merged, null, 1) + '\n');
  const svg = json.replace(/\.json$/, '.svg');
  writeFileSync(svg, ratiosSvg(ratios(merged), `tapegrad benchmarks — ${machine} — ${day}`));
  if (extraJson) {
    mkdirSync(dirname(extraJson), { recursive: true });
    writeFileSync(extraJson, JSON.stringify(records, null, 1) + '\n');
  }
  return { json, svg };
}
