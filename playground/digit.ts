// The digit pad: draw with the mouse (or a finger), and the model's class probabilities appear.
// The drawing is brought to MNIST's form before the model sees it: the ink's bounding box scaled
// to fit 20×20 pixels, placed in a 28×28 image with its centre of mass at the centre.
import * as tg from '../src/api.js';
import type { Model } from './models.js';

/** The pad's ink as a 28×28 MNIST-style image (values in [0, 1]), or null when it is blank. */
export function padToDigit(pad: HTMLCanvasElement): Float32Array | null {
  const { width: w, height: h } = pad;
  const ink = pad.getContext('2d', { willReadFrequently: true })!.getImageData(0, 0, w, h).data;
  let [left, top, right, bottom] = [w, h, -1, -1];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (ink[4 * (y * w + x)] > 20) {
        left = Math.min(left, x);
        right = Math.max(right, x);
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
      }
    }
  }
  if (right < 0) return null;
  const bw = right - left + 1;
  const bh = bottom - top + 1;
  const scale = 20 / Math.max(bw, bh);
  const box = new OffscreenCanvas(20, 20);
  const bctx = box.getContext('2d', { willReadFrequently: true })!;
  bctx.imageSmoothingQuality = 'high';
  const [dw, dh] = [bw * scale, bh * scale];
  bctx.drawImage(pad, left, top, bw, bh, (20 - dw) / 2, (20 - dh) / 2, dw, dh);
  const small = bctx.getImageData(0, 0, 20, 20).data;
  // centre of mass of the 20×20 box, to be moved to the 28×28 image's centre
  let [mass, mx, my] = [0, 0, 0];
  for (let y = 0; y < 20; y++) {
    for (let x = 0; x < 20; x++) {
      const v = small[4 * (y * 20 + x)] / 255;
      mass += v;
      mx += v * x;
      my += v * y;
    }
  }
  const ox = Math.round(13.5 - mx / mass);
  const oy = Math.round(13.5 - my / mass);
  const out = new Float32Array(28 * 28);
  for (let y = 0; y < 20; y++) {
    for (let x = 0; x < 20; x++) {
      const [tx, ty] = [x + ox, y + oy];
      if (tx >= 0 && tx < 28 && ty >= 0 && ty < 28) out[ty * 28 + tx] = small[4 * (y * 20 + x)] / 255;
    }
  }
  return out;
}

/** The model's class probabilities for one digit. */
export async function classify(model: Model, digit: Float32Array): Promise<Float32Array> {
  model.net.eval();
  const probs = tg.tidy(() => tg.noGrad(() => tg.softmax(model.forward(tg.tensor(digit, { shape: [1, 784] })), 1)));
  model.net.train();
  try {
    return (await probs.data()) as Float32Array;
  } finally {
    probs.dispose();
  }
}

/** Shows the probabilities as bars, the most likely class first in the headline. */
export function showProbabilities(probs: Float32Array | null): void {
  const list = document.getElementById('probs')!;
  const headline = document.getElementById('prediction')!;
  list.replaceChildren();
  if (!probs) {
    headline.textContent = 'draw in the box';
    delete headline.dataset.digit;
    return;
  }
  const top = probs.indexOf(Math.max(...probs));
  headline.textContent = `it looks like a ${top} (${(probs[top] * 100).toFixed(0)}%)`;
  headline.dataset.digit = String(top);
  probs.forEach((p, d) => {
    const li = document.createElement('li');
    li.classList.toggle('top', d === top);
    const bar = document.createElement('span');
    bar.className = 'bar';
    const fill = document.createElement('span');
    fill.style.width = `${(p * 100).toFixed(1)}%`;
    bar.append(fill);
    const pct = document.createElement('span');
    pct.textContent = `${(p * 100).toFixed(1)}%`;
    li.append(String(d), bar, pct);
    list.append(li);
  });
}

/** Puts a 28×28 digit (values in [0, 1]) on the pad, enlarged. */
export function showDigit(pad: HTMLCanvasElement, digit: Float32Array): void {
  const img = new ImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.round(digit[i] * 255);
    img.data.set([v, v, v, 255], 4 * i);
  }
  const small = new OffscreenCanvas(28, 28);
  small.getContext('2d')!.putImageData(img, 0, 0);
  const ctx = pad.getContext('2d')!;
  ctx.imageSmoothingEnabled = true;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, pad.width, pad.height);
  ctx.drawImage(small, 0, 0, pad.width, pad.height);
}

/** Drawing on the pad: white strokes on black; `drawn` is called when a stroke ends. */
export function wirePad(pad: HTMLCanvasElement, drawn: () => void): void {
  const ctx = pad.getContext('2d', { willReadFrequently: true })!;
  const clear = () => {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, pad.width, pad.height);
  };
  clear();
  let last: [number, number] | null = null;
  const at = (e: PointerEvent): [number, number] => {
    const r = pad.getBoundingClientRect();
    return [((e.clientX - r.left) * pad.width) / r.width, ((e.clientY - r.top) * pad.height) / r.height];
  };
  pad.addEventListener('pointerdown', (e) => {
    pad.setPointerCapture(e.pointerId);
    last = at(e);
  });
  pad.addEventListener('pointermove', (e) => {
    if (!last) return;
    const p = at(e);
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = 20;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(...last);
    ctx.lineTo(...p);
    ctx.stroke();
    last = p;
  });
  const end = () => {
    if (!last) return;
    last = null;
    drawn();
  };
  pad.addEventListener('pointerup', end);
  pad.addEventListener('pointercancel', end);
  document.getElementById('clear-pad')!.addEventListener('click', () => {
    clear();
    showProbabilities(null);
  });
}
