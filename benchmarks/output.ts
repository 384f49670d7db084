// Writing results in Node: benchmarks/results/<machine>-<date>.json (merged with an earlier run of
// the same day: a new figure replaces the old one for the same problem) and the SVG chart beside it.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import os from 'node:os';
import type { BenchRecord } from './harness.js';
import { ratios, ratiosSvg } from './report.js';

/** The processor, in words: "AMD EPYC 7B13 (2 cores)". */
export function cpuDevice(): string {
  const cpus = os.cpus();
  return `${(cpus[0]?.model ?? 'unknown CPU').trim()} (${cpus.length} cores)`;
}

/** A file-name-safe machine name from the device: "amd-epyc-7b13-2-cores". */
export function machineSlug(device: string): string {
  return device.toLowerCase().replace(/\(r\)|\(tm\)|cpu @.*?(?=\()/g, '').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}

const key = (r: BenchRecord) => [r.suite, r.size, r.backend, r.impl, r.phase].join('\u0000');

/** Writes <dir>/<machine>-<date>.json and .svg; returns their paths. */
export function writeResults(records: BenchRecord[], dir: string, machine: string, extraJson?: string): { json: string; svg: string } {
  mkdirSync(dir, { recursive: true });
  const day = (records[0]?.date ?? new Date().toISOString()).slice(0, 10);
  const json = join(dir, `${machine}-${day}.json`);
  let merged = records;
  if (existsSync(json)) {
    const fresh = new Set(records.map(key));
    const old = (JSON.parse(readFileSync(json, 'utf8')) as BenchRecord[]).filter((r) => !fresh.has(key(r)));
    merged = [...old, ...records];
  }
  writeFileSync(json, JSON.stringify(merged, null, 1) + '\n');
  const svg = json.replace(/\.json$/, '.svg');
  writeFileSync(svg, ratiosSvg(ratios(merged), `tapegrad benchmarks — ${machine} — ${day}`));
  if (extraJson) {
    mkdirSync(dirname(extraJson), { recursive: true });
    writeFileSync(extraJson, JSON.stringify(records, null, 1) + '\n');
  }
  return { json, svg };
}
