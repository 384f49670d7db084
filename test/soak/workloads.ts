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

/**
 * A model with every layer of tg.nn's newer set: Embedding, Conv1d (dilated, grouped), RMSNorm,
 * MultiheadAttention, GRU and LSTM over tokens; Conv2d (dilated, grouped and depthwise),
 * BatchNorm2d, GroupNorm, MaxPool2d and AvgPool2d with padding and ceilMode, ConvTranspose2d,
 * Upsample and AdaptiveAvgPool2d over images; crossEntropy with weights and an ignored target.
 */
class EveryLayer extends tg.nn.Module {
  readonly emb = this.registerModule('emb', new tg.nn.Embedding(10, 4, { seed: 1 }));
  readonly conv1 = this.registerModule(
    'conv1',
    new tg.nn.Conv1d(4, 4, 3, { padding: 2, dilation: 2, groups: 2, seed: 2 }),
  );
  readonly rms = this.registerModule('rms', new tg.nn.RMSNorm(4));
  readonly attn = this.registerModule('attn', new tg.nn.MultiheadAttention(4, 2));
  readonly gru = this.registerModule('gru', new tg.nn.GRU(4, 4, { batchFirst: true }));
  readonly lstm = this.registerModule('lstm', new tg.nn.LSTM(4, 4, { batchFirst: true }));
  readonly conv2 = this.registerModule(
    'conv2',
    new tg.nn.Conv2d(2, 4, 3, { padding: 2, dilation: 2, groups: 2, seed: 3 }),
  );
  readonly bn = this.registerModule('bn', new tg.nn.BatchNorm2d(4));
  readonly maxPool = this.registerModule('maxPool', new tg.nn.MaxPool2d(2, { padding: 1, ceilMode: true }));
  readonly depthwise = this.registerModule('depthwise', new tg.nn.Conv2d(4, 4, 3, { groups: 4, padding: 1, seed: 4 }));
  readonly gn = this.registerModule('gn', new tg.nn.GroupNorm(2, 4));
  readonly avgPool = this.registerModule(
    'avgPool',
    new tg.nn.AvgPool2d(3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
  );
  readonly up = this.registerModule(
    'up',
    new tg.nn.ConvTranspose2d(4, 4, 3, { stride: 2, padding: 1, outputPadding: 1, seed: 5 }),
  );
  readonly resize = this.registerModule('resize', new tg.nn.Upsample({ scaleFactor: 1.5, mode: 'bilinear' }));
  readonly pool = this.registerModule('pool', new tg.nn.AdaptiveAvgPool2d(2));
  readonly head = this.registerModule('head', new tg.nn.Linear(4 + 16, 3, { seed: 6 }));

  /** images [B, 8, 8, 2] and tokens [B, 6] → logits [B, 3]; intermediates are left to the caller's tidy. */
  run(images: tg.Tensor, tokens: tg.Tensor): tg.Tensor {
    const seq = this.attn.forward(this.rms.forward(this.conv1.forward(this.emb.forward(tokens))));
    const recurrent = this.lstm.forward(this.gru.forward(seq).output).output;
    let img = tg.relu(this.bn.forward(this.conv2.forward(images)));
    img = this.avgPool.forward(this.gn.forward(this.depthwise.forward(this.maxPool.forward(img))));
    img = this.pool.forward(this.resize.forward(this.up.forward(img)));
    const features = tg.concat([tg.mean(recurrent, { axis: 1 }), tg.reshape(img, [img.shape[0], -1])], 1);
    return this.head.forward(features);
  }
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
    // every layer of the newer set (convolutions, pools, resampling, norms, attention, recurrent)
    name: 'every-layer',
    scale: 0.1,
    setup() {
      const net = new EveryLayer();
      const opt = new tg.optim.Adam(net.parameters(), { lr: 1e-3 });
      const images = tg.randn([4, 8, 8, 2], { seed: 11 });
      const tokens = tg.tensor([0, 3, 5, 9, 2, 2, 1, 1, 4, 7, 8, 0, 6, 6, 3, 2, 9, 5, 4, 4, 1, 0, 8, 7], {
        dtype: 'int32',
        shape: [4, 6],
      });
      const labels = tg.tensor([0, 2, -1, 1], { dtype: 'int32' });
      const weight = tg.tensor([1, 0.5, 2]);
      return {
        step: () =>
          tg.tidy(() => {
            const loss = tg.nn.crossEntropy(net.run(images, tokens), labels, {
              weight,
              ignoreIndex: -1,
              labelSmoothing: 0.05,
            });
            opt.zeroGrad();
            loss.backward();
            opt.step();
          }),
        teardown: () => {
          opt.dispose();
          net.dispose();
          tg.dispose([images, tokens, labels, weight]);
        },
      };
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
