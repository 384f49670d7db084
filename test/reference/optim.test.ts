// tg.optim against PyTorch: every optimizer's 20-step trajectory and every schedule's learning
// rates, from optim.json beside it (written by generate_optim.py with
// PyTorch; torch is not needed here), on cpu and wasm.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../../src/index.js';
import { assertClose, NODE_BACKENDS } from '../helpers.js';
import { readReference } from './compare.js';

interface OptimCase {
  class: string;
  options: Record<string, unknown>;
  groups: Record<string, unknown>[] | null;
  losses: number[];
  trajectory: number[][];
}
interface ScheduleSpec {
  class: string;
  lr?: number | ScheduleSpec;
  opts: Record<string, unknown>;
  schedules?: ScheduleSpec[];
}
const REF = readReference<{
  torch: string;
  problem: { x: number[][]; y: number[][]; W0: number[][]; b0: number[]; l2: number };
  optimizers: Record<string, OptimCase>;
  schedules: Record<string, { spec: ScheduleSpec; lrs: number[] }>;
  plateaus: Record<string, { spec: { lr: number; opts: tg.optim.PlateauOptions }; lrs: number[] }>;
  metrics: number[];
}>('optim.json');

type Ctor = new (params: never, opts: never) => tg.optim.Optimizer;
const optimizers = tg.optim as unknown as Record<string, Ctor>;

/** Runs one case on the active backend: the losses and the parameters [W, b] after each step. */
function trajectory(c: OptimCase): { losses: number[]; params: number[][] } {
  const { x: X, y: Y, W0, b0 } = REF.problem;
  const x = tg.tensor(X);
  const y = tg.tensor(Y);
  const W = tg.tensor(W0, { requiresGrad: true });
  const b = tg.tensor(b0, { requiresGrad: true });
  const named: Record<string, tg.Tensor> = { W, b };
  const params = c.groups ? c.groups.map(({ param, ...o }) => ({ params: [named[param as string]], ...o })) : [W, b];
  const opt = new optimizers[c.class](params as never, c.options as never);
  const loss = () =>
    tg.add(
      tg.nn.mseLoss(tg.tanh(tg.add(tg.matmul(x, W), b)), y),
      tg.mul(tg.add(W.square().sum(), b.square().sum()), REF.problem.l2),
    );
  const closure = () =>
    tg.tidy(() => {
      opt.zeroGrad();
      const l = loss();
      l.backward();
      return l;
    });
  const losses: number[] = [];
  const out: number[][] = [];
  for (let k = 0; k < REF.optimizers[Object.keys(REF.optimizers)[0]].trajectory.length; k++) {
    if (opt instanceof tg.optim.LBFGS) losses.push(opt.step(closure));
    else {
      const l = closure();
      losses.push(l.item());
      l.dispose();
      opt.step();
    }
    out.push([...W.dataSync(), ...b.dataSync()]);
  }
  opt.zeroGrad();
  opt.dispose();
  tg.dispose([x, y, W, b]);
  return { losses, params: out };
}

for (const backend of NODE_BACKENDS) {
  test(`every optimizer follows PyTorch ${REF.torch}'s 20 steps (${backend})`, async () => {
    await tg.setBackend(backend);
    for (const [name, c] of Object.entries(REF.optimizers)) {
      const before = tg.memory();
      const got = trajectory(c);
      assert.equal(tg.memory(), before, `${name}: leaked`);
      // float32 on both sides; for the first-order rules the differences are rounding (≤ 2e-5
      // over 20 steps; ~1e-7 for most). L-BFGS reads float32 losses and gradients that differ by
      // an ulp between the backends and PyTorch, and its decisions (a curvature pair kept or not,
      // a line-search test) amplify that near the minimum, where the loss is flat to float32; and
      // PyTorch's strong-Wolfe search interpolates in float32 tensors, tapegrad's in float64. So
      // L-BFGS is held to the loss at every step and to the point where it ends.
      if (c.class !== 'LBFGS') {
        got.params.forEach((p, k) =>
          assertClose(p, c.trajectory[k], { atol: 2e-5, rtol: 1e-4, msg: `${name} step ${k + 1}` }),
        );
        assertClose(got.losses, c.losses, { atol: 1e-6, rtol: 1e-4, msg: `${name} losses` });
      } else {
        const wolfe = c.options.lineSearchFn === 'strongWolfe';
        got.params
          .slice(0, 2)
          .forEach((p, k) =>
            assertClose(p, c.trajectory[k], { atol: wolfe ? 2e-4 : 1e-5, rtol: 0, msg: `${name} step ${k + 1}` }),
          );
        assertClose(got.params[19], c.trajectory[19], { atol: 1e-3, rtol: 0, msg: `${name} the end point` });
        assertClose(got.losses, c.losses, { atol: 0, rtol: wolfe ? 5e-3 : 1e-4, msg: `${name} losses` });
        assertClose(got.losses.slice(10), c.losses.slice(10), {
          atol: 0,
          rtol: 1e-5,
          msg: `${name} the converged losses`,
        });
      }
    }
  });
}

function schedule(spec: ScheduleSpec | number): tg.optim.LR {
  if (typeof spec === 'number') return spec;
  const S = tg.optim as unknown as Record<string, new (a: unknown, b: unknown) => tg.optim.Schedule>;
  if (spec.class === 'SequentialLR') return new S.SequentialLR(spec.schedules!.map(schedule), spec.opts);
  return new S[spec.class](schedule(spec.lr!), spec.opts);
}

test("every schedule gives PyTorch's learning rates, step by step", () => {
  for (const [name, { spec, lrs }] of Object.entries(REF.schedules)) {
    const s = schedule(spec);
    assertClose(
      lrs.map((_, t) => tg.optim.SGD.prototype && (s as tg.optim.Schedule).at(t)),
      lrs,
      { atol: 1e-12, rtol: 1e-9, msg: name },
    );
    // and an optimizer uses them: lr at step t (a step counts only with a gradient to apply)
    const p = tg.tensor([0], { requiresGrad: true });
    p.grad = tg.zeros([1]);
    const opt = new tg.optim.SGD([p], { lr: s });
    const seen: number[] = [];
    for (let t = 0; t < lrs.length; t++) {
      seen.push(opt.lr);
      opt.step();
    }
    assertClose(seen, lrs, { atol: 1e-12, rtol: 1e-9, msg: `${name} through SGD` });
    opt.dispose();
    p.dispose();
  }
});

test("ReduceLROnPlateau reduces where PyTorch's does, for the same metrics", () => {
  for (const [name, { spec, lrs }] of Object.entries(REF.plateaus)) {
    const s = new tg.optim.ReduceLROnPlateau(spec.lr, spec.opts);
    assertClose(
      REF.metrics.map((m) => s.step(m)),
      lrs,
      { atol: 1e-12, rtol: 1e-9, msg: name },
    );
  }
});

test.run();
