// The loss and accuracy chart: the training loss on a log scale (left axis) and the accuracy in
// percent (right axis) against the step, on one canvas.
const css = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

export interface ChartData {
  losses: { step: number; loss: number }[];
  accuracies: { step: number; accuracy: number }[];
}

const PAD = { left: 44, right: 44, top: 12, bottom: 26 };

/** The losses thinned to at most `n` points (the mean of each run), so that drawing stays cheap. */
function thin(losses: ChartData['losses'], n: number): ChartData['losses'] {
  if (losses.length <= n) return losses;
  const k = Math.ceil(losses.length / n);
  const out: ChartData['losses'] = [];
  for (let i = 0; i < losses.length; i += k) {
    const run = losses.slice(i, i + k);
    out.push({ step: run[run.length - 1].step, loss: run.reduce((a, r) => a + r.loss, 0) / run.length });
  }
  return out;
}

export function drawChart(canvas: HTMLCanvasElement, data: ChartData): void {
  const ctx = canvas.getContext('2d')!;
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  const x0 = PAD.left;
  const x1 = w - PAD.right;
  const y0 = h - PAD.bottom;
  const y1 = PAD.top;
  const losses = thin(data.losses, 400);
  const steps = Math.max(data.losses.at(-1)?.step ?? 0, data.accuracies.at(-1)?.step ?? 0);
  // the step axis ends at a round number: 1, 2 or 5 times a power of ten, four ticks
  const unit = 10 ** Math.floor(Math.log10(Math.max(steps, 10) / 4));
  const tick = [1, 2, 5, 10].map((m) => m * unit).find((t) => 4 * t >= steps) ?? 10 * unit;
  const lastStep = 4 * tick;
  const sx = (s: number) => x0 + ((x1 - x0) * s) / lastStep;

  // log-scale loss axis over whole decades
  const logs = losses.map((l) => Math.log10(Math.max(l.loss, 1e-4)));
  const lo = Math.floor(Math.min(-1, ...logs));
  const hi = Math.ceil(Math.max(0.5, ...logs));
  const sy = (v: number) => y0 - ((y0 - y1) * (v - lo)) / (hi - lo);
  const sa = (a: number) => y0 - (y0 - y1) * a;

  ctx.font = '11px system-ui, sans-serif';
  ctx.lineWidth = 1;
  ctx.strokeStyle = '#eceef3';
  ctx.fillStyle = css('--muted');
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let d = lo; d <= hi; d++) {
    ctx.beginPath();
    ctx.moveTo(x0, sy(d));
    ctx.lineTo(x1, sy(d));
    ctx.stroke();
    ctx.fillText(d >= 0 ? String(10 ** d) : `1e${d}`, x0 - 6, sy(d));
  }
  ctx.textAlign = 'left';
  for (const a of [0, 0.5, 1]) ctx.fillText(`${a * 100}%`, x1 + 6, sa(a));
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (let i = 0; i <= 4; i++) {
    const s = tick * i;
    ctx.fillText(String(s), sx(s), y0 + 6);
  }

  const line = (points: [number, number][], color: string) => {
    if (!points.length) return;
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.lineJoin = 'round';
    ctx.beginPath();
    points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.stroke();
    const [x, y] = points[points.length - 1];
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.arc(x, y, 3, 0, 2 * Math.PI);
    ctx.fill();
  };
  line(
    losses.map((l, i) => [sx(l.step), sy(logs[i])]),
    css('--loss'),
  );
  line(
    data.accuracies.map((a) => [sx(a.step), sa(a.accuracy)]),
    css('--acc'),
  );
  if (!losses.length) {
    ctx.fillStyle = css('--muted');
    ctx.textBaseline = 'middle';
    ctx.font = '13px system-ui, sans-serif';
    ctx.fillText('press Train', (x0 + x1) / 2, (y0 + y1) / 2);
  }
}
