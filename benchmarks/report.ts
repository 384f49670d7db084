// Turning records into what people read: a table of times, a table of ratios (markdown, so it can
// go into the README as is), and an SVG chart of the ratios. No Node imports: the browser page
// draws the same chart.
import type { BenchRecord } from './harness.js';

const fmt = (ms: number) =>
  ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3);
const ratio = (x: number | undefined) =>
  x === undefined || !Number.isFinite(x) ? '—' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);

function mdTable(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(w[i])).join(' | ') + ' |';
  return [line(head), '|' + w.map((n) => '-'.repeat(n + 2)).join('|') + '|', ...rows.map(line)].join('\n');
}

/** Every record: median, min and max in ms. */
export function timesTable(records: BenchRecord[]): string {
  const rows = records.map((r) => [
    r.suite,
    r.size,
    r.backend,
    r.impl,
    r.phase,
    (r.estimated ? '~' : '') + fmt(r.medianMs),
    fmt(r.minMs),
    fmt(r.maxMs),
    String(r.reps),
  ]);
  return mdTable(['suite', 'size', 'backend', 'impl', 'phase', 'median ms', 'min', 'max', 'reps'], rows);
}

/** The ratios that matter for one problem (suite, size, backend). */
export interface Ratios {
  suite: string;
  size: string;
  backend: string;
  /** tapegrad (forward + gradient) / tapegrad forward: the cheap-gradient principle says ≈ 3 for matmul-bound work. */
  tgGradOverFwd?: number;
  tfGradOverFwd?: number;
  jaxGradOverFwd?: number;
  /** tapegrad's gradient time / TF.js's own (below 1: tapegrad is faster). */
  tgOverTf?: number;
  tgOverJax?: number;
  tgOverJaxJit?: number;
  /** tapegrad / PyTorch on the CPU (the cpu suite; the forward where a problem has no gradient). */
  tgOverTorch?: number;
  /** tapegrad with tg.compile / PyTorch (the cpu suite). */
  compiledOverTorch?: number;
  /** tapegrad with tg.compile / jax-js jit(grad). */
  compiledOverJaxJit?: number;
  /** finite differences / tapegrad: what AD saves. */
  fdOverTg?: number;
}

const TF_IMPLS = ['tf.grad', 'tf.variableGrads', 'tf.train.adam'];

export function ratios(records: BenchRecord[]): Ratios[] {
  const groups = new Map<string, BenchRecord[]>();
  for (const r of records) {
    const k = `${r.suite}\u0000${r.size}\u0000${r.backend}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const out: Ratios[] = [];
  for (const rs of groups.values()) {
    const t = (impls: string | string[], phase: 'forward' | 'grad') =>
      rs.find((r) => [impls].flat().includes(r.impl) && r.phase === phase)?.medianMs;
    const tgG = t('tapegrad', 'grad');
    const tgF = t('tapegrad', 'forward');
    if (tgG === undefined && tgF === undefined) continue;
    const div = (a?: number, b?: number) => (a === undefined || b === undefined ? undefined : a / b);
    out.push({
      suite: rs[0].suite,
      size: rs[0].size,
      backend: rs[0].backend,
      tgGradOverFwd: div(tgG, t('tapegrad', 'forward')),
      tfGradOverFwd: div(t(TF_IMPLS, 'grad'), t(TF_IMPLS, 'forward')),
      jaxGradOverFwd: div(t('jax-js', 'grad'), t('jax-js', 'forward')),
      tgOverTf: div(tgG, t(TF_IMPLS, 'grad')),
      tgOverJax: div(tgG, t('jax-js', 'grad')),
      tgOverJaxJit: div(tgG, t('jax-js jit', 'grad')),
      tgOverTorch: tgG === undefined ? div(tgF, t('pytorch', 'forward')) : div(tgG, t('pytorch', 'grad')),
      compiledOverTorch: div(t('tapegrad compiled', 'grad'), t('pytorch', 'grad')),
      compiledOverJaxJit: div(t('tapegrad compiled', 'grad'), t('jax-js jit', 'grad')),
      fdOverTg: div(t('finite differences', 'grad'), tgG),
    });
  }
  return out;
}

export function ratiosTable(rs: Ratios[]): string {
  const rows = rs.map((r) => [
    r.suite,
    r.size,
    r.backend,
    ratio(r.tgGradOverFwd),
    ratio(r.tfGradOverFwd),
    ratio(r.jaxGradOverFwd),
    ratio(r.tgOverTf),
    ratio(r.tgOverJax),
    ratio(r.tgOverJaxJit),
    ratio(r.tgOverTorch),
    ratio(r.compiledOverTorch),
    ratio(r.compiledOverJaxJit),
    ratio(r.fdOverTg),
  ]);
  return mdTable(
    [
      'suite',
      'size',
      'backend',
      'tapegrad grad/fwd',
      'tf grad/fwd',
      'jax grad/fwd',
      'tapegrad/tf',
      'tapegrad/jax',
      'tapegrad/jax jit',
      'tapegrad/pytorch',
      'compiled/pytorch',
      'compiled/jax jit',
      'FD/tapegrad',
    ],
    rows,
  );
}

/** Bars drawn per problem, with their colours. */
const SERIES: { key: keyof Ratios; label: string; colour: string }[] = [
  { key: 'tgGradOverFwd', label: 'tapegrad (fwd+grad)/fwd', colour: '#4e79a7' },
  { key: 'tgOverTf', label: 'tapegrad / TF.js gradients', colour: '#f28e2b' },
  { key: 'tgOverJax', label: 'tapegrad / jax-js grad', colour: '#59a14f' },
  { key: 'tgOverJaxJit', label: 'tapegrad / jax-js jit(grad)', colour: '#b07aa1' },
  { key: 'tgOverTorch', label: 'tapegrad / PyTorch CPU', colour: '#e15759' },
];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A horizontal bar chart of the ratios on a log scale, one group of bars per problem, with the
 * line at 1 marked: left of it tapegrad is faster (or its gradient cheaper than its forward).
 */
export function ratiosSvg(rs: Ratios[], title: string): string {
  const lo = 0.05;
  const hi = 50;
  const labelW = 250;
  const plotW = 520;
  const bar = 9;
  const rowsH = rs.map((r) => SERIES.filter((s) => r[s.key] !== undefined).length * (bar + 2) + 10);
  const top = 44;
  const height = top + rowsH.reduce((a, b) => a + b, 0) + 30 + SERIES.length * 16;
  const width = labelW + plotW + 70;
  const x = (v: number) =>
    labelW + (plotW * (Math.log(Math.min(hi, Math.max(lo, v))) - Math.log(lo))) / (Math.log(hi) - Math.log(lo));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="18" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text x="10" y="34" fill="#555">ratios, log scale; left of 1 = tapegrad faster / gradient cheaper than forward</text>`,
  ];
  const ticks = [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50];
  const bottom = height - 30 - SERIES.length * 16;
  for (const t of ticks) {
    parts.push(
      `<line x1="${x(t)}" y1="${top - 4}" x2="${x(t)}" y2="${bottom}" stroke="${t === 1 ? '#000' : '#ddd'}" stroke-width="${t === 1 ? 1.5 : 1}"/>`,
    );
    parts.push(`<text x="${x(t)}" y="${bottom + 12}" text-anchor="middle" fill="#555">${t}</text>`);
  }
  let y = top;
  rs.forEach((r, i) => {
    parts.push(
      `<text x="${labelW - 8}" y="${y + 10}" text-anchor="end">${esc(`${r.suite} ${r.size} [${r.backend}]`)}</text>`,
    );
    let yy = y;
    for (const s of SERIES) {
      const v = r[s.key] as number | undefined;
      if (v === undefined) continue;
      const x0 = x(1);
      const x1 = x(v);
      parts.push(
        `<rect x="${Math.min(x0, x1)}" y="${yy}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${bar}" fill="${s.colour}"><title>${esc(`${s.label}: ${ratio(v)}`)}</title></rect>`,
      );
      parts.push(`<text x="${Math.max(x0, x1) + 3}" y="${yy + bar - 1}" font-size="9" fill="#333">${ratio(v)}</text>`);
      yy += bar + 2;
    }
    y += rowsH[i];
  });
  SERIES.forEach((s, i) => {
    const ly = bottom + 26 + i * 16;
    parts.push(
      `<rect x="${labelW}" y="${ly - 9}" width="12" height="10" fill="${s.colour}"/><text x="${labelW + 18}" y="${ly}">${esc(s.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Records that say something beyond time: the training loop's memory. */
export function notes(records: BenchRecord[]): string[] {
  return records.filter((r) => r.memory).map((r) => `${r.suite} ${r.size} [${r.backend}] ${r.impl}: ${r.note ?? ''}`);
}
