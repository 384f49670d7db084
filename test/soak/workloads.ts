// Memory soak workloads: each runs the same step many times; the live tensor count and bytes,
// sampled every so often, must not grow after the first sample (taken once the workload has
// warmed up: an optimizer creates its state on the first step). Used by scripts/soak.ts (10,000
// steps) and test/soak.test.ts (1,000).
import * as tg from '../../src/index.js';

export interface Workload {
  name: string;
  /** Steps relative to the MLP's: repeated transform calls are slower per step, so they run fewer. */
  scale: number;
  setup(): { step: () => void | Promise<void>; teardown: () => void };
}

export interface Sample {
  step: number;
  numTensors: number;
  numBytes: number;
}
export interface SoakResult {
  name: string;
  steps: number;
  samples: Sample[];
  /** Tensors and bytes after teardown minus before setup: what the workload left behind. */
  residue: { numTensors: number; numBytes: number };
  grew: boolean;
  ms: number;
}

/** A planted leak for checking the checker: every `every` steps one tensor is kept (into `kept`) and not freed. */
export function plantLeak(every = 100, kept: tg.Tensor[] = []): (i: number) => void {
  return (i) => {
    if (i % every === 0) kept.push(tg.keep(tg.zeros([4])));
  };
}

/** Runs a workload for `steps` steps, sampling memory `samples` times. */
export async function soak(
  w: Workload,
  steps: number,
  samples = 10,
  leak?: (i: number) => void,
  log?: (line: string) => void,
): Promise<SoakResult> {
  const before = tg.memory();
  const t0 = performance.now();
  const { step, teardown } = w.setup();
  const every = Math.max(1, Math.floor(steps / samples));
  const out: Sample[] = [];
  for (let i = 1; i <= steps; i++) {
    await step();
    leak?.(i);
    if (i % every === 0) {
      const m = tg.memory();
      out.push({ step: i, numTensors: m.numTensors, numBytes: m.numBytes });
      log?.(
        `${w.name.padEnd(16)} step ${String(i).padStart(6)}  numTensors ${String(m.numTensors).padStart(5)}  numBytes ${m.numBytes}`,
      );
    }
  }
  teardown();
  const after = tg.memory();
  const first = out[0];
  const grew = out.some((s) => s.numTensors > first.numTensors || s.numBytes > first.numBytes);
  return {
    name: w.name,
    steps,
    samples: out,
    residue: { numTensors: after.numTensors - before.numTensors, numBytes: after.numBytes - before.numBytes },
    grew,
    ms: performance.now() - t0,
  };
}

/** A regression batch: 64 samples of 8 features, target sin(Σx). */
function data(): { x: tg.Tensor; y: tg.Tensor } {
  const x = tg.randn([64, 8], { seed: 1 });
  const y = tg.noGrad(() => tg.tidy(() => tg.sin(tg.sum(x, { axis: 1, keepDims: true }))));
  return { x, y };
}

/** The loop users write — mse loss, zeroGrad, backward, step, inside a tidy — run through `wrap`. */
function trainingLoop(
  net: tg.nn.Module,
  opt: tg.optim.Optimizer,
  x: tg.Tensor,
  y: tg.Tensor,
  wrap: (step: () => void) => void,
) {
  return {
    step: () =>
      wrap(() =>
        tg.tidy(() => {
          const loss = tg.mseLoss(net.forward(x), y);
          opt.zeroGrad();
          loss.backward();
          opt.step();
        }),
      ),
    teardown: () => {
      opt.dispose();
      net.dispose();
      tg.dispose([x, y]);
    },
  };
}

export const WORKLOADS: Workload[] = [
  {
    // tg.nn and tg.optim: the loop users write
    name: 'mlp+adam',
    scale: 1,
    setup() {
      const { x, y } = data();
      const net = new tg.nn.MLP([8, 32, 32, 1], { activation: 'tanh', seed: 1 });
      return trainingLoop(net, new tg.optim.Adam(net.parameters(), { lr: 1e-3 }), x, y, (step) => step());
    },
  },
  {
    // the same net from tg ops, with a hand-written SGD step that replaces each parameter's value
    name: 'mlp+manual-sgd',
    scale: 1,
    setup() {
      const { x, y } = data();
      const params = [
        tg.randn([8, 32], { seed: 2, std: 0.3 }),
        tg.zeros([32]),
        tg.randn([32, 1], { seed: 3, std: 0.3 }),
        tg.zeros([1]),
      ];
      params.forEach((p) => (p.requiresGrad = true));
      const [W1, b1, W2, b2] = params;
      return {
        step: () => {
          tg.tidy(() => tg.mseLoss(tg.add(tg.matmul(tg.tanh(tg.add(tg.matmul(x, W1), b1)), W2), b2), y).backward());
          for (const p of params) {
            const next = tg.tidy(() => tg.noGrad(() => p.sub(p.grad!.mul(0.05))));
            p.value.dispose();
            p.value = tg.keep(next).value;
            p.grad!.dispose();
            p.grad = null;
          }
        },
        teardown: () => tg.dispose([x, y, ...params]),
      };
    },
  },
  {
    // the same training step with anomaly detection on: its checks must free what they read
    name: 'mlp+anomaly',
    scale: 0.2,
    setup() {
      const { x, y } = data();
      const net = new tg.nn.MLP([8, 32, 1], { activation: 'gelu', seed: 2 });
      return trainingLoop(net, new tg.optim.SGD(net.parameters(), { lr: 1e-2 }), x, y, (step) =>
        tg.detectAnomaly(step),
      );
    },
  },
  {
    // nested transforms: grad of a function closing over a parameter (the createGraph path)
    name: 'grad(grad)',
    scale: 0.5,
    setup() {
      const w = tg.tensor([0.5, -1, 2], { requiresGrad: true });
      const x = tg.tensor([1, 2, 3]);
      const f = (v: tg.Tensor) => tg.sum(tg.tanh(tg.mul(v, w)));
      return {
        step: () =>
          tg.tidy(() => {
            const g = tg.grad((v: tg.Tensor) => tg.sum(tg.square(tg.grad(f)(v))))(x);
            g.dispose();
          }),
        teardown: () => tg.dispose([w, x, w.grad]),
      };
    },
  },
  {
    name: 'jacobian',
    scale: 0.2,
    setup() {
      const A = tg.randn([4, 3], { seed: 4 });
      const x = tg.randn([3], { seed: 5 });
      const f = (v: tg.Tensor) => tg.tanh(tg.matmul(A, v));
      return { step: () => tg.jacobian(f)(x).dispose(), teardown: () => tg.dispose([A, x]) };
    },
  },
  {
    name: 'hessian',
    scale: 0.2,
    setup() {
      const A = tg.randn([3, 3], { seed: 6 });
      const x = tg.randn([3], { seed: 7 });
      const f = (v: tg.Tensor) => tg.add(tg.quadForm(v, A), tg.sum(tg.exp(v)));
      return { step: () => tg.hessian(f)(x).dispose(), teardown: () => tg.dispose([A, x]) };
    },
  },
  {
    name: 'gradcheck',
    scale: 0.1,
    setup() {
      const A = tg.randn([3, 4], { seed: 8 });
      const x = tg.randn([4], { seed: 9 });
      const f = (a: tg.Tensor, v: tg.Tensor) => tg.logSumExp(tg.matmul(a, v));
      let i = 0;
      return {
        step: async () => {
          const r = await tg.gradcheck(f, [A, x], { mode: i++ % 2 ? 'fast' : 'full' });
          if (!r.ok) throw new Error(`gradcheck failed on a correct function: ${JSON.stringify(r.worst)}`);
        },
        teardown: () => tg.dispose([A, x]),
      };
    },
  },
];
