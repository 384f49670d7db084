// The plane view of the 2-D data sets: the model's decision regions on a grid (each cell tinted by
// the class probabilities, deeper where the model is sure) under the data points; a click adds a
// point of the chosen class.
import * as tg from '../src/api.js';
import type { DataSet, Point } from './data.js';
import type { Model } from './models.js';

/** The plane shown: [-EXTENT, EXTENT]² (the spirals reach radius 1). */
const EXTENT = 1.15;
/** Grid cells per side where the model is evaluated. */
const GRID = 64;
export const CLASS_RGB: [number, number, number][] = [
  [228, 87, 46],
  [46, 134, 171],
  [243, 167, 18],
];

/** Canvas pixel → plane coordinates. */
export function toPlane(canvas: HTMLCanvasElement, px: number, py: number): [number, number] {
  return [(px / canvas.width) * 2 * EXTENT - EXTENT, EXTENT - (py / canvas.height) * 2 * EXTENT];
}

/** The class probabilities at the grid's cell centres, row by row from the top: [GRID², classes]. */
export async function regionProbabilities(model: Model): Promise<Float32Array> {
  const xy = new Float32Array(GRID * GRID * 2);
  for (let r = 0; r < GRID; r++) {
    for (let c = 0; c < GRID; c++) {
      xy[2 * (r * GRID + c)] = ((c + 0.5) / GRID) * 2 * EXTENT - EXTENT;
      xy[2 * (r * GRID + c) + 1] = EXTENT - ((r + 0.5) / GRID) * 2 * EXTENT;
    }
  }
  model.net.eval();
  const probs = tg.tidy(() =>
    tg.noGrad(() => tg.softmax(model.forward(tg.tensor(xy, { shape: [GRID * GRID, 2] })), 1)),
  );
  model.net.train();
  try {
    return (await probs.data()) as Float32Array;
  } finally {
    probs.dispose();
  }
}

/** Draws the regions (if given) and the points. */
export function drawPlane(canvas: HTMLCanvasElement, data: DataSet, probs: Float32Array | null): void {
  const ctx = canvas.getContext('2d')!;
  const { width: w, height: h } = canvas;
  ctx.fillStyle = '#fafafa';
  ctx.fillRect(0, 0, w, h);
  if (probs?.every(Number.isFinite)) {
    const classes = data.classes;
    const img = new ImageData(GRID, GRID);
    for (let i = 0; i < GRID * GRID; i++) {
      let best = 0;
      const rgb = [0, 0, 0];
      for (let k = 0; k < classes; k++) {
        const p = probs[i * classes + k];
        best = Math.max(best, p);
        for (let ch = 0; ch < 3; ch++) rgb[ch] += p * CLASS_RGB[k % 3][ch];
      }
      const a = 0.15 + 0.4 * best;
      for (let ch = 0; ch < 3; ch++) img.data[4 * i + ch] = 255 * (1 - a) + rgb[ch] * a;
      img.data[4 * i + 3] = 255;
    }
    const small = new OffscreenCanvas(GRID, GRID);
    small.getContext('2d')!.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(small, 0, 0, w, h);
  }
  // axes through the origin
  ctx.strokeStyle = 'rgb(0 0 0 / 8%)';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(w / 2, 0);
  ctx.lineTo(w / 2, h);
  ctx.moveTo(0, h / 2);
  ctx.lineTo(w, h / 2);
  ctx.stroke();
  const { x, y } = data.train;
  for (let i = 0; i < y.length; i++) {
    const px = ((x[2 * i] + EXTENT) / (2 * EXTENT)) * w;
    const py = ((EXTENT - x[2 * i + 1]) / (2 * EXTENT)) * h;
    const [r, g, b] = CLASS_RGB[y[i] % 3];
    ctx.fillStyle = `rgb(${r} ${g} ${b})`;
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.arc(px, py, 4.5, 0, 2 * Math.PI);
    ctx.fill();
    ctx.stroke();
  }
}

/** Wires the point tools: the class swatches, clicks on the canvas, and Clear. */
export function wirePointTools(
  canvas: HTMLCanvasElement,
  points: () => Point[] | null,
  changed: (points: Point[]) => void,
): void {
  let label = 0;
  const swatches = Array.from(document.querySelectorAll<HTMLButtonElement>('#point-tools .swatch'));
  for (const s of swatches) {
    s.addEventListener('click', () => {
      label = Number(s.dataset.class);
      for (const o of swatches) o.classList.toggle('selected', o === s);
    });
  }
  canvas.addEventListener('click', (e) => {
    const current = points();
    if (!current) return;
    const rect = canvas.getBoundingClientRect();
    const [x, y] = toPlane(
      canvas,
      ((e.clientX - rect.left) * canvas.width) / rect.width,
      ((e.clientY - rect.top) * canvas.height) / rect.height,
    );
    changed([...current, { x, y, label }]);
  });
  document.getElementById('clear-points')!.addEventListener('click', () => changed([]));
}
