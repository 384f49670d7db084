// The gradient field of f(x, y) = sin(xy) on [0, 4]²: a heat map of f with ∇f drawn as arrows,
// the gradient computed by tapegrad's reverse mode (one backward() for the whole grid).
//
//   node --import tsx examples/gradient-field.ts
//
// Writes out/gradient-field.svg, and checks ∇f against the exact (y cos xy, x cos xy).
import * as tg from 'tapegrad';
import { Svg, colormap, DIVERGING } from './lib/svg.js';

const LO = 0;
const HI = 4;
const HEAT = 100; // heat-map cells per side
const ARROWS = 20; // arrows per side
const PLOT = 480; // the square plot's side, in pixels
const M = { l: 50, t: 40, r: 90, b: 50 };

/** Cell centres of an n×n grid over [LO, HI]², row-major from the top (y = HI) down. */
function grid(n: number): { xs: number[]; ys: number[] } {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      xs.push(LO + ((c + 0.5) / n) * (HI - LO));
      ys.push(HI - ((r + 0.5) / n) * (HI - LO));
    }
  }
  return { xs, ys };
}
const f = (x: tg.Tensor, y: tg.Tensor) => x.mul(y).sin();

// f on the fine grid, for the heat map
const heat = grid(HEAT);
const fv = tg.tidy(() => f(tg.tensor(heat.xs), tg.tensor(heat.ys))).dataSync();

// ∇f on the coarse grid: Σ f has gradient (∂f/∂xᵢ, ∂f/∂yᵢ) at every point at once
const pts = grid(ARROWS);
const x = tg.tensor(pts.xs, { requiresGrad: true });
const y = tg.tensor(pts.ys, { requiresGrad: true });
tg.tidy(() => f(x, y).sum().backward());
const gx = x.grad!.dataSync();
const gy = y.grad!.dataSync();
let maxErr = 0;
pts.xs.forEach((xi, i) => {
  const yi = pts.ys[i];
  maxErr = Math.max(maxErr, Math.abs(gx[i] - yi * Math.cos(xi * yi)), Math.abs(gy[i] - xi * Math.cos(xi * yi)));
});
console.log(
  `∇ sin(xy) at ${pts.xs.length} points by reverse mode; max |error| against (y cos xy, x cos xy): ${maxErr.toExponential(2)}`,
);
if (!(maxErr < 1e-4)) throw new Error(`the gradient is off by ${maxErr}`);

// ---- picture
const [W, H] = [PLOT, PLOT];
const [SW, SH] = [PLOT + M.l + M.r, PLOT + M.t + M.b];
const px = (v: number) => M.l + ((v - LO) / (HI - LO)) * W;
const py = (v: number) => M.t + ((HI - v) / (HI - LO)) * H;
const svg = new Svg(SW, SH);
svg.text(SW / 2, 26, 'f(x, y) = sin(xy) and its gradient ∇f = (y cos xy, x cos xy)', {
  'text-anchor': 'middle',
  'font-size': 15,
});
const cw = W / HEAT;
fv.forEach((v, i) =>
  svg.rect(M.l + (i % HEAT) * cw, M.t + Math.floor(i / HEAT) * cw, cw + 0.4, cw + 0.4, {
    fill: colormap(DIVERGING, (v + 1) / 2),
  }),
);
// arrows: length proportional to |∇f|, the longest filling 90% of a grid cell
const mags = pts.xs.map((_, i) => Math.hypot(gx[i], gy[i]));
const maxMag = Math.max(...mags);
const cell = W / ARROWS;
pts.xs.forEach((xi, i) => {
  const s = (0.9 * cell) / maxMag;
  const [cx, cy] = [px(xi), py(pts.ys[i])];
  const [dx, dy] = [gx[i] * s, -gy[i] * s];
  svg.arrow(cx - dx / 2, cy - dy / 2, cx + dx / 2, cy + dy / 2, 5, { stroke: '#111', 'stroke-width': 1.2 });
});
// axes and a colour bar
svg.rect(M.l, M.t, W, H, { fill: 'none', stroke: '#000' });
for (let k = 0; k <= 4; k++) {
  svg
    .text(px(k), M.t + H + 18, String(k), { 'text-anchor': 'middle' })
    .text(M.l - 10, py(k) + 4, String(k), { 'text-anchor': 'end' });
}
svg
  .text(M.l + W / 2, SH - 12, 'x', { 'text-anchor': 'middle', 'font-size': 14 })
  .text(18, M.t + H / 2, 'y', { 'font-size': 14 });
const barX = M.l + W + 25;
for (let k = 0; k < 100; k++)
  svg.rect(barX, M.t + (k / 100) * H, 18, H / 100 + 0.5, { fill: colormap(DIVERGING, 1 - k / 100) });
svg
  .text(barX + 22, M.t + 8, '+1')
  .text(barX + 22, M.t + H / 2 + 4, '0')
  .text(barX + 22, M.t + H, '−1');
console.log(`wrote ${svg.save('out/gradient-field.svg')}`);
x.dispose();
y.dispose();
x.grad!.dispose();
y.grad!.dispose();
