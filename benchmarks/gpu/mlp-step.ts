// The training step the GPU scripts time (gpu-check.ts, compiled-step.ts, step-profile.ts,
// warmup.ts): one Adam step of a fresh D → H → 10 MLP (relu) with mean cross-entropy against
// integer labels on B samples — the step benchmarks/gpu/torch_adam_mlp.py times in PyTorch —
// eager or compiled whole. The cpu and threads suites time it too, in Node and in the browser's
// bench page, so it imports tapegrad itself, not gpu-script.ts (Dawn); a GPU script imports it
// dynamically, after gpu-script.ts has set navigator.gpu and started tapegrad.
import * as tg from '../../src/index.js';
import type { Tensor } from '../../src/index.js';

export interface MlpAdamStep {
  /** One step (zeroGrad, forward, backward, Adam); returns the loss, which the caller frees. */
  step: () => Tensor;
  /** Frees the model, the optimizer's state and the data. */
  dispose: () => void;
}

/** The model, its optimizer and the data of one B × D → H → 10 problem, and the step's loss. */
function mlpProblem(B: number, D: number, H: number) {
  const net = new tg.nn.MLP([D, H, 10], { activation: 'relu', seed: 1 });
  const opt = new tg.optim.Adam(net.parameters(), { lr: 1e-3 });
  const X = tg.randn([B, D], { seed: 2 });
  const y = tg.tensor(
    Array.from({ length: B }, (_, i) => (i * 7) % 10),
    { dtype: 'int32' },
  );
  /** Forward, backward and the optimizer's step; returns the loss. */
  const train = (x: Tensor, labels: Tensor) => {
    const loss = tg.crossEntropy(net.forward(x), labels);
    loss.backward();
    opt.step();
    return loss;
  };
  const dispose = () => {
    opt.zeroGrad();
    opt.dispose();
    net.dispose();
    tg.dispose([X, y]);
  };
  return { opt, X, y, train, dispose };
}

export function mlpAdamStep(B: number, D: number, H: number): MlpAdamStep {
  const { opt, X, y, train, dispose } = mlpProblem(B, D, H);
  const step = () =>
    tg.tidy(() => {
      opt.zeroGrad();
      return train(X, y);
    });
  return { step, dispose };
}

/**
 * The same step compiled whole (tg.compile of forward, backward and Adam; zeroGrad before each
 * call): on webgpu, replayed from its recorded GPU work after its first calls.
 */
export function compiledMlpAdamStep(B: number, D: number, H: number): MlpAdamStep & { traces: () => number } {
  const { opt, X, y, train, dispose } = mlpProblem(B, D, H);
  const compiled = tg.compile(train);
  const step = () => {
    opt.zeroGrad();
    return compiled(X, y);
  };
  return {
    step,
    dispose: () => {
      compiled.dispose();
      dispose();
    },
    traces: () => compiled.traces,
  };
}

/**
 * `n` steps queued, then one read (how a training loop runs): ms per step in all (`ms`) and
 * before the wait for the GPU (`enqueueMs`: near `ms`, the step is bound by the CPU).
 */
export async function pipelinedRound(step: () => Tensor, n = 20): Promise<{ ms: number; enqueueMs: number }> {
  const start = performance.now();
  let last: Tensor | null = null;
  for (let i = 0; i < n; i++) {
    last?.dispose();
    last = step();
  }
  const enqueueMs = (performance.now() - start) / n;
  await last!.data();
  last!.dispose();
  return { ms: (performance.now() - start) / n, enqueueMs };
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
