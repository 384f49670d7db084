// Training in the page: steps run in short bursts (a few tens of milliseconds), the losses of a
// burst are read once at its end with `await data()` (a GPU backend is never waited on step by
// step), and the page gets the main thread back between bursts. A loss that is NaN or infinite
// stops training; the batch is then run again under tg.detectAnomaly to name the op that made it.
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/api.js';
import { batchOf, type DataSet } from './data.js';
import { makeModel, makeOptimizer, type Model, type OptimizerName } from './models.js';
import { rng } from '../src/random.js';

export interface TrainerOptions {
  optimizer: OptimizerName;
  lr: number;
  batchSize: number;
}

/** Training diverged: the loss is not finite. `anomaly` is what detectAnomaly said. */
export class DivergedError extends Error {
  constructor(
    readonly step: number,
    readonly loss: number,
    readonly anomaly: string,
  ) {
    super(
      `the loss is ${loss} at step ${step}, so training stopped; the model is as it was before that step ` +
        `(a smaller learning rate may help).\n${anomaly}`,
    );
  }
}

export class Trainer {
  step = 0;
  readonly losses: { step: number; loss: number }[] = [];
  readonly accuracies: { step: number; accuracy: number }[] = [];
  private opt: tg.optim.Optimizer;
  private order: number[] = [];
  private cursor = 0;
  private readonly shuffle = rng(3);
  /** Steps per burst, adapted so that a burst takes about its target time. */
  private burst = 1;
  private inBurst = false;
  private pending: TrainerOptions | null = null;

  constructor(
    readonly model: Model,
    public data: DataSet,
    readonly options: TrainerOptions,
  ) {
    this.opt = makeOptimizer(options.optimizer, model.net.parameters(), options.lr);
  }

  /**
   * A new optimizer (its state starts afresh) with other settings; during a burst, from the next
   * one on (the burst may need to go back to its start with the optimizer it began with).
   */
  setOptions(options: TrainerOptions): void {
    this.pending = { ...options };
    if (!this.inBurst) this.applyOptions();
  }

  private applyOptions(): void {
    if (!this.pending) return;
    Object.assign(this.options, this.pending);
    this.pending = null;
    this.opt.dispose();
    this.opt = makeOptimizer(this.options.optimizer, this.model.net.parameters(), this.options.lr);
  }

  /** Other data of the same kind (the user added a point): the model and optimizer carry on. */
  setData(data: DataSet): void {
    this.data = data;
    this.order = [];
  }

  /** The next batch's row indices: a fresh shuffle each epoch. */
  private nextBatch(): number[] {
    const n = this.data.train.y.length;
    const b = Math.min(this.options.batchSize, n);
    if (this.cursor + b > this.order.length) {
      this.order = [...Array(n).keys()];
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(this.shuffle.uniform() * (i + 1));
        [this.order[i], this.order[j]] = [this.order[j], this.order[i]];
      }
      this.cursor = 0;
    }
    const idx = this.order.slice(this.cursor, this.cursor + b);
    this.cursor += b;
    return idx;
  }

  /** The mean cross-entropy of rows `idx` of the training split (recorded on the tape). */
  lossOn(model: Model, idx: number[]): tg.Tensor {
    const [x, y] = batchOf(this.data.train, this.data.features, idx);
    const xb = tg.tensor(x, { shape: [idx.length, this.data.features] });
    const yb = tg.tensor(y, { dtype: 'int32' });
    return tg.nn.crossEntropy(model.forward(xb), yb);
  }

  /** One optimizer step on rows `idx`; returns the loss (before the step). */
  private takeStep(idx: number[]): tg.Tensor {
    return tg.tidy(() => {
      const loss = this.lossOn(this.model, idx);
      this.opt.zeroGrad();
      loss.backward();
      this.opt.step();
      return loss;
    });
  }

  /**
   * One burst of steps; resolves with the last loss. A loss that is not finite rejects with a
   * DivergedError, and leaves the model and optimizer as they were before the step that made it
   * (the burst starts from a copy of both, and goes back to it and forward again to that step).
   */
  async burstOfSteps(targetMs = 100): Promise<number> {
    this.applyOptions();
    this.inBurst = true;
    const t0 = performance.now();
    this.model.net.train();
    // parameters and buffers (BatchNorm's running statistics) as the burst found them
    const state = [...this.model.net.parameters(), ...this.model.net.buffers()];
    const start = { values: state.map((t) => tf.keep(t.value.clone())), opt: this.opt.stateDict() };
    const startState = () => Object.values(start.opt.state).flatMap((s) => Object.values(s.tensors));
    try {
      const batches: number[][] = [];
      const losses: tg.Tensor[] = [];
      for (let s = 0; s < this.burst; s++) {
        batches.push(this.nextBatch());
        losses.push(this.takeStep(batches[s]));
      }
      const values = await Promise.all(losses.map(async (l) => (await l.data())[0]));
      tg.dispose(losses);
      const bad = values.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        state.forEach((t, i) => {
          t.value.dispose();
          t.value = tf.keep(start.values[i].clone());
        });
        this.opt.loadStateDict(start.opt);
        for (let s = 0; s < bad; s++) this.takeStep(batches[s]).dispose();
        throw new DivergedError(this.step + bad + 1, values[bad], await this.diagnose(batches[bad]));
      }
      values.forEach((loss) => this.losses.push({ step: ++this.step, loss }));
      // a GPU's read has a latency of its own: bursts grow until the steps, not the read, fill the time
      const ms = performance.now() - t0;
      if (ms < targetMs / 2) this.burst = Math.min(32, this.burst * 2);
      else if (ms > targetMs * 2) this.burst = Math.max(1, Math.floor(this.burst / 2));
      return values[values.length - 1];
    } finally {
      tf.dispose(start.values);
      tg.dispose(startState());
      this.inBurst = false;
    }
  }

  /**
   * Runs the batch forward and backward under detectAnomaly on a copy of the model on the cpu
   * backend (whose synchronous reads, which the detector uses, work everywhere), and returns what
   * it found: the op and pass where a NaN or ±Inf first appears, and the parameters that hold one.
   */
  async diagnose(idx: number[]): Promise<string> {
    const named = this.model.net.namedParameters();
    const nonFinite: string[] = [];
    for (const [name, p] of named) {
      if ((await p.data()).some((v) => !Number.isFinite(v))) nonFinite.push(name);
    }
    const bytes = await stateBytes(this.model.net);
    const backend = tg.getBackend();
    let found = 'detectAnomaly found no NaN or Inf when the step ran again on the cpu backend';
    await tg.setBackend('cpu');
    const copy = makeModel(this.model.spec, this.model.features, this.model.classes);
    try {
      copy.net.fromBytes(bytes);
      tg.detectAnomaly(() =>
        tg.tidy(() => {
          const loss = this.lossOn(copy, idx);
          loss.backward();
        }),
      );
    } catch (e) {
      found = `detectAnomaly, running that step again on the cpu backend, stops at ${(e as Error).message}`;
    } finally {
      copy.net.dispose();
      await tg.setBackend(backend);
    }
    const params = nonFinite.length
      ? `\nParameters that already held NaN or Inf before that step: ${nonFinite.join(', ')}.`
      : '';
    return `${found}.${params}`;
  }

  /** Accuracy on the test split (the points themselves for 2-D sets), in batches. */
  async evaluate(limit = 500): Promise<number> {
    const { x, y } = this.data.test;
    const n = Math.min(limit, y.length);
    let right = 0;
    this.model.net.eval();
    try {
      for (let at = 0; at < n; at += 250) {
        const rows = Math.min(250, n - at);
        const predicted = tg.tidy(() =>
          tg.noGrad(() => {
            const xb = tg.tensor(x.subarray(at * this.data.features, (at + rows) * this.data.features), {
              shape: [rows, this.data.features],
            });
            return tg.argmax(this.model.forward(xb), { axis: 1 });
          }),
        );
        const classes = await predicted.data();
        predicted.dispose();
        for (let i = 0; i < rows; i++) if (classes[i] === y[at + i]) right++;
      }
    } finally {
      this.model.net.train();
    }
    const accuracy = right / n;
    this.accuracies.push({ step: this.step, accuracy });
    return accuracy;
  }

  dispose(): void {
    this.opt.dispose();
  }
}

/**
 * The model's state as safetensors bytes, read with `await data()`: Module.toBytes() reads
 * synchronously, which webgpu in a page may not do for tensors on the GPU.
 */
export async function stateBytes(net: tg.nn.Module): Promise<Uint8Array> {
  const entries = Object.entries(net.stateDict());
  const copies: [string, tg.Tensor][] = [];
  for (const [name, t] of entries)
    copies.push([name, tg.tensor(Float32Array.from(await t.data()), { shape: t.shape })]);
  try {
    return tg.nn.encodeSafetensors(copies, { format: 'tapegrad', module: net.describe() });
  } finally {
    tg.dispose(copies.map(([, t]) => t));
  }
}
