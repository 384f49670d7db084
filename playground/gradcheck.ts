// "Gradcheck the loss": tg.gradcheck on the current model's training loss, through every parameter
// tensor. The loss is made a function of one number per parameter tensor, tᵢ, moving that tensor
// along a fixed random unit direction uᵢ: L(t) = loss(p₁ + t₁u₁, …, pₖ + tₖuₖ) on a fixed batch.
// Its gradient at t = 0 is ⟨∇ₚᵢ loss, uᵢ⟩, which is what the tape's backward gives (through every
// layer, the loss and the optimizer's view of the parameters); tg.gradcheck compares it with
// finite differences of L. A full check of every parameter entry would take thousands of loss
// evaluations; this takes about 4k.
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/api.js';
import type { Trainer } from './trainer.js';

export interface LossCheck {
  report: tg.GradcheckReport;
  /** The parameter each entry of t moves. */
  names: string[];
  batch: number;
}

export async function gradcheckLoss(trainer: Trainer): Promise<LossCheck> {
  const { model, data } = trainer;
  const named = model.net.namedParameters();
  const names = named.map(([n]) => n);
  const params = named.map(([, p]) => p);
  const idx = [...Array(Math.min(64, data.train.y.length)).keys()];
  const directions = params.map((p, i) =>
    tg.tidy(() => {
      const u = tg.randn(p.shape, { seed: 100 + i });
      return tg.keep(u.div(u.square().sum().sqrt()));
    }),
  );
  // BatchNorm's running statistics change with every forward pass in training mode: put them back after
  const buffers = model.net.buffers().map((b) => [b, tf.keep(tf.clone(b.value))] as const);
  model.net.train();
  let slopes: tg.Tensor | null = null;
  let t0: tg.Tensor | null = null;
  try {
    model.net.zeroGrad();
    tg.tidy(() => trainer.lossOn(model, idx).backward());
    slopes = tg.keep(tg.tidy(() => tg.stack(params.map((p, i) => p.grad!.mul(directions[i]).sum()))));
    model.net.zeroGrad();
    const along = slopes;
    const lossAlong = tg.customOp({
      name: 'lossAlongDirections',
      // L(t): the loss with each parameter tensor moved by tᵢuᵢ
      forward: (t) =>
        tf.tidy(() => {
          const saved = params.map((p) => p.value);
          try {
            params.forEach((p, i) => {
              p.value = tf.add(saved[i], tf.mul(tf.slice(t, [i], [1]), directions[i].value));
            });
            const loss = tg.noGrad(() => trainer.lossOn(model, idx));
            return tf.clone(loss.value);
          } finally {
            params.forEach((p, i) => (p.value = saved[i]));
          }
        }),
      // ∂L/∂tᵢ at t = 0 (where gradcheck takes the analytic gradient): ⟨∇ₚᵢ loss, uᵢ⟩ from backward
      vjp: (g) => [() => g.mul(along)],
    });
    t0 = tg.zeros([params.length]);
    const report = await tg.gradcheck(lossAlong, [t0]);
    return { report, names, batch: idx.length };
  } finally {
    tg.dispose([...directions, ...(slopes ? [slopes] : []), ...(t0 ? [t0] : [])]);
    for (const [b, v] of buffers) {
      b.value.dispose();
      b.value = v;
    }
  }
}

/** The report as the page shows it: what was checked, gradcheck's own summary, the worst parameter. */
export function describeCheck(check: LossCheck): string {
  const { report, names } = check;
  const worst = report.worst?.index ? names[report.worst.index[0]] : null;
  return [
    `${report.ok ? '✓ the gradients agree' : '✗ the gradients disagree'} — ${names.length} parameter tensors, ` +
      `a batch of ${check.batch}, on ${report.backend}`,
    '',
    String(report),
    '',
    worst ? `worst comparison: parameter ${worst} (entry ${report.worst!.index![0]} of t)` : '',
    `entries of t: ${names.map((n, i) => `${i} ${n}`).join(', ')}`,
  ].join('\n');
}
