// A tiny SVG writer for the examples: a document of shapes, a few colour maps, and a line chart.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const n = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2));
type Attrs = Record<string, string | number>;
const attrs = (a: Attrs) =>
  Object.entries(a)
    .map(([k, v]) => `${k}="${typeof v === 'number' ? n(v) : esc(v)}"`)
    .join(' ');

/** An SVG document built shape by shape; toString() gives the file's text. */
export class Svg {
  private readonly parts: string[] = [];
  constructor(
    readonly width: number,
    readonly height: number,
    background = '#ffffff',
  ) {
    this.rect(0, 0, width, height, { fill: background });
  }
  rect(x: number, y: number, w: number, h: number, a: Attrs = {}): this {
    this.parts.push(`<rect ${attrs({ x, y, width: w, height: h, ...a })}/>`);
    return this;
  }
  circle(cx: number, cy: number, r: number, a: Attrs = {}): this {
    this.parts.push(`<circle ${attrs({ cx, cy, r, ...a })}/>`);
    return this;
  }
  line(x1: number, y1: number, x2: number, y2: number, a: Attrs = {}): this {
    this.parts.push(`<line ${attrs({ x1, y1, x2, y2, stroke: '#000', ...a })}/>`);
    return this;
  }
  polyline(points: [number, number][], a: Attrs = {}): this {
    this.parts.push(
      `<polyline ${attrs({ points: points.map(([x, y]) => `${n(x)},${n(y)}`).join(' '), fill: 'none', stroke: '#000', ...a })}/>`,
    );
    return this;
  }
  polygon(points: [number, number][], a: Attrs = {}): this {
    this.parts.push(`<polygon ${attrs({ points: points.map(([x, y]) => `${n(x)},${n(y)}`).join(' '), ...a })}/>`);
    return this;
  }
  text(x: number, y: number, s: string, a: Attrs = {}): this {
    this.parts.push(`<text ${attrs({ x, y, 'font-family': 'sans-serif', 'font-size': 12, ...a })}>${esc(s)}</text>`);
    return this;
  }
  /** An arrow from (x1, y1) to (x2, y2) with a filled head of the given size. */
  arrow(x1: number, y1: number, x2: number, y2: number, head: number, a: Attrs = {}): this {
    const len = Math.hypot(x2 - x1, y2 - y1);
    if (len < 1e-9) return this;
    const [ux, uy] = [(x2 - x1) / len, (y2 - y1) / len];
    const h = Math.min(head, len * 0.6);
    const [bx, by] = [x2 - ux * h, y2 - uy * h];
    this.line(x1, y1, bx, by, a);
    return this.polygon(
      [
        [x2, y2],
        [bx - uy * h * 0.5, by + ux * h * 0.5],
        [bx + uy * h * 0.5, by - ux * h * 0.5],
      ],
      { fill: String(a.stroke ?? '#000') },
    );
  }
  toString(): string {
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${this.width}" height="${this.height}" viewBox="0 0 ${this.width} ${this.height}">\n${this.parts.join('\n')}\n</svg>\n`;
  }
  /** Writes the file (creating its folder) and returns its path. */
  save(path: string): string {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, this.toString());
    return path;
  }
}

/** Linear interpolation through colour stops, t ∈ [0, 1] → '#rrggbb'. */
export function colormap(stops: string[], t: number): string {
  const c = stops.map((s) => [1, 3, 5].map((i) => parseInt(s.slice(i, i + 2), 16)));
  const x = Math.min(Math.max(t, 0), 1) * (c.length - 1);
  const i = Math.min(Math.floor(x), c.length - 2);
  const f = x - i;
  return (
    '#' +
    c[i]
      .map((v, k) =>
        Math.round(v + (c[i + 1][k] - v) * f)
          .toString(16)
          .padStart(2, '0'),
      )
      .join('')
  );
}
/** Viridis, sampled at 6 stops. */
export const VIRIDIS = ['#440154', '#414487', '#2a788e', '#22a884', '#7ad151', '#fde725'];
/** A blue–white–red diverging map for signed values. */
export const DIVERGING = ['#2166ac', '#92c5de', '#f7f7f7', '#f4a582', '#b2182b'];
/** Class colours (strong) and their light tints for regions. */
export const CLASS_COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e'];
export const CLASS_TINTS = ['#f6c6c6', '#c5dcf0', '#c8ebc8', '#e0d4ee', '#ffe0c2'];

/** A line chart of one series (e.g. a loss curve), with axes, ticks and labels. */
export function lineChart(
  ys: number[],
  opts: { title: string; xLabel: string; yLabel: string; logY?: boolean; width?: number; height?: number },
): Svg {
  const W = opts.width ?? 640;
  const H = opts.height ?? 400;
  const m = { l: 70, r: 20, t: 40, b: 50 };
  const f = (v: number) => (opts.logY ? Math.log10(Math.max(v, 1e-12)) : v);
  const fy = ys.map(f);
  const [lo, hi] = [Math.min(...fy), Math.max(...fy)];
  const span = hi - lo || 1;
  const X = (i: number) => m.l + (i / Math.max(ys.length - 1, 1)) * (W - m.l - m.r);
  const Y = (v: number) => H - m.b - ((v - lo) / span) * (H - m.t - m.b);
  const svg = new Svg(W, H);
  svg.text(W / 2, 24, opts.title, { 'text-anchor': 'middle', 'font-size': 16 });
  svg.line(m.l, H - m.b, W - m.r, H - m.b).line(m.l, m.t, m.l, H - m.b);
  for (let k = 0; k <= 4; k++) {
    const v = lo + (span * k) / 4;
    svg
      .line(m.l - 5, Y(v), m.l, Y(v))
      .text(m.l - 8, Y(v) + 4, opts.logY ? (10 ** v).toPrecision(2) : v.toPrecision(3), {
        'text-anchor': 'end',
        'font-size': 11,
      });
    const i = Math.round(((ys.length - 1) * k) / 4);
    svg
      .line(X(i), H - m.b, X(i), H - m.b + 5)
      .text(X(i), H - m.b + 18, String(i), { 'text-anchor': 'middle', 'font-size': 11 });
  }
  svg.text(W / 2, H - 12, opts.xLabel, { 'text-anchor': 'middle' });
  svg.text(16, H / 2, opts.yLabel, { 'text-anchor': 'middle', transform: `rotate(-90 16 ${H / 2})` });
  svg.polyline(
    fy.map((v, i) => [X(i), Y(v)]),
    { stroke: '#1f77b4', 'stroke-width': 2 },
  );
  return svg;
}
