// tg.nn layers on random configurations and input shapes, each checked against finite differences
// through its input and every parameter.
//
// A case is a layer kind, eight numbers that choose its configuration and input shape, and a seed
// for the values. The check is a directional one per tensor T (the input, each parameter): for the
// loss L = Σ R∘layer(x) with fixed random weights R and a random direction u, ∂L/∂T·u from backward()
// against a fourth-order central difference of L along u, with L summed in float64 from the
// layer's float32 output. Kinks and ties are kept out two ways: inputs of the layers that have
// them at known places are nudged away (ReLU and its kin away from their kinks, max pooling's
// window entries spaced so that no two tie), and a case whose difference quotients at steps h and
// h/2 disagree is skipped as non-smooth there (a ReLU behind a Linear, a max behind a convolution).
import fc from 'fast-check';
import * as tg from '../../src/index.js';

const nn = tg.nn;

export interface LayerCase {
  kind: string;
  /** Choose the configuration and the input shape (each kind reads them its own way). */
  p: number[];
  seed: number;
}

/** A layer made for a case: its inputs (float ones are checked), and how to run it to one tensor. */
export interface Built {
  layer: tg.nn.Module<unknown>;
  inputs: tg.Tensor[];
  run: (layer: tg.nn.Module<unknown>, xs: tg.Tensor[]) => tg.Tensor;
  /** The call, as code: what a failure prints. */
  what: string;
  /** Entries of a parameter that get no gradient by design (Embedding's padding row): 0 where fixed, else 1. */
  free?: Record<string, () => tg.Tensor>;
}

/** How far every nudged input stays from a kink or a tie: more than the differences move it. */
const MARGIN = 0.15;

const pick = (p: number[], i: number, n: number) => p[i % p.length] % n;
const shape = (s: number[]) => `[${s.join(',')}]`;
const randn = (s: number[], seed: number) => tg.randn(s, { seed });

/** x with every entry at least MARGIN from each kink (moved away from the nearest one). */
function awayFrom(x: tg.Tensor, kinks: number[]): tg.Tensor {
  const v = Float32Array.from(x.dataSync());
  for (let i = 0; i < v.length; i++)
    for (const k of kinks) if (Math.abs(v[i] - k) < MARGIN) v[i] = k + (v[i] >= k ? MARGIN : -MARGIN) * 1.5;
  x.dispose();
  return tg.tensor(v, { shape: x.shape });
}

/** Entries of `s` spaced 0.4 apart in a random order: no two of a pooling window tie within the steps. */
function spaced(s: number[], seed: number): tg.Tensor {
  const n = s.reduce((a, b) => a * b, 1);
  const order = Array.from({ length: n }, (_, i) => i);
  let r = seed >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    r = (Math.imul(r, 1664525) + 1013904223) >>> 0;
    const j = r % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return tg.tensor(
    order.map((k) => (k - n / 2) * 0.4),
    { shape: s },
  );
}

/** Every output of a layer that returns several (RNN's output and final state), as one vector. */
const joined = (ts: tg.Tensor[]) => tg.concat(ts.map((t) => t.reshape([-1])));

/** A square window's output size. */
const out = (n: number, k: number, s: number, pad: number, d = 1) =>
  Math.floor((n + 2 * pad - d * (k - 1) - 1) / s) + 1;

const ACTIVATIONS: Record<string, { make: (p: number[]) => tg.nn.Module; kinks: (p: number[]) => number[] }> = {
  ReLU: { make: () => new nn.ReLU(), kinks: () => [0] },
  LeakyReLU: { make: (p) => new nn.LeakyReLU([0.01, 0.2, 2][pick(p, 7, 3)]), kinks: () => [0] },
  Hardtanh: {
    make: (p) => new nn.Hardtanh({ min: -1 - pick(p, 7, 2), max: 0.5 + pick(p, 6, 2) }),
    kinks: (p) => [-1 - pick(p, 7, 2), 0.5 + pick(p, 6, 2)],
  },
  SELU: { make: () => new nn.SELU(), kinks: () => [0] },
  Tanh: { make: () => new nn.Tanh(), kinks: () => [] },
  Sigmoid: { make: () => new nn.Sigmoid(), kinks: () => [] },
  GELU: { make: () => new nn.GELU(), kinks: () => [] },
  ELU: { make: () => new nn.ELU(), kinks: () => [] },
  Softplus: { make: () => new nn.Softplus(), kinks: () => [] },
  SiLU: { make: () => new nn.SiLU(), kinks: () => [] },
  Mish: { make: () => new nn.Mish(), kinks: () => [] },
  LogSigmoid: { make: () => new nn.LogSigmoid(), kinks: () => [] },
  Softsign: { make: () => new nn.Softsign(), kinks: () => [] },
  Identity: { make: () => new nn.Identity(), kinks: () => [] },
  Softmax: { make: (p) => new nn.Softmax(-1 - pick(p, 7, 2)), kinks: () => [] },
  LogSoftmax: { make: (p) => new nn.LogSoftmax(-1 - pick(p, 7, 2)), kinks: () => [] },
  Flatten: { make: (p) => new nn.Flatten(pick(p, 7, 2)), kinks: () => [] },
};

/** Each kind: a layer from p, with its inputs. */
const KINDS: Record<string, (p: number[], seed: number) => Built> = {
  Linear: (p, seed) => {
    const [i, o, bias] = [1 + pick(p, 0, 4), 1 + pick(p, 1, 4), pick(p, 2, 2) === 0];
    const lead = Array.from({ length: pick(p, 3, 3) }, (_, k) => 1 + pick(p, 4 + k, 3));
    const s = [...lead, i];
    return {
      layer: new nn.Linear(i, o, { bias, seed }),
      inputs: [randn(s, seed + 1)],
      run: (m, [x]) => (m as tg.nn.Linear).forward(x),
      what: `new nn.Linear(${i}, ${o}, { bias: ${bias} }) on ${shape(s)}`,
    };
  },
  Conv2d: (p, seed) => {
    const groups = 1 + pick(p, 0, 2);
    const [cin, cout] = [groups * (1 + pick(p, 1, 2)), groups * (1 + pick(p, 2, 2))];
    const k = 1 + pick(p, 3, 3);
    const stride = 1 + pick(p, 4, 2);
    const dilation = 1 + pick(p, 5, 2);
    const padChoice = pick(p, 6, 3);
    const padding: 'same' | number = padChoice === 2 && stride === 1 ? 'same' : Math.min(padChoice, k - 1);
    const span = dilation * (k - 1) + 1;
    const [h, w] = [span + pick(p, 7, 3), span + pick(p, 0, 2)];
    const s = [1 + pick(p, 1, 2), h, w, cin];
    const opts = { stride, padding, dilation, groups, bias: pick(p, 2, 3) !== 0, seed };
    return {
      layer: new nn.Conv2d(cin, cout, k, opts),
      inputs: [randn(s, seed + 1)],
      run: (m, [x]) => (m as tg.nn.Conv2d).forward(x),
      what: `new nn.Conv2d(${cin}, ${cout}, ${k}, ${JSON.stringify(opts)}) on ${shape(s)}`,
    };
  },
  Conv1d: (p, seed) => {
    const groups = 1 + pick(p, 0, 2);
    const [cin, cout] = [groups * (1 + pick(p, 1, 2)), groups * (1 + pick(p, 2, 2))];
    const k = 1 + pick(p, 3, 3);
    const stride = 1 + pick(p, 4, 2);
    const dilation = 1 + pick(p, 5, 2);
    const padChoice = pick(p, 6, 3);
    const padding: 'same' | number = padChoice === 2 && stride === 1 ? 'same' : Math.min(padChoice, k - 1);
    const s = [1 + pick(p, 1, 2), dilation * (k - 1) + 1 + pick(p, 7, 4), cin];
    const opts = { stride, padding, dilation, groups, bias: pick(p, 2, 3) !== 0, seed };
    return {
      layer: new nn.Conv1d(cin, cout, k, opts),
      inputs: [randn(s, seed + 1)],
      run: (m, [x]) => (m as tg.nn.Conv1d).forward(x),
      what: `new nn.Conv1d(${cin}, ${cout}, ${k}, ${JSON.stringify(opts)}) on ${shape(s)}`,
    };
  },
  ConvTranspose2d: (p, seed) => {
    const groups = 1 + pick(p, 0, 2);
    const [cin, cout] = [groups * (1 + pick(p, 1, 2)), groups * (1 + pick(p, 2, 2))];
    const k = 1 + pick(p, 3, 3);
    const stride = 1 + pick(p, 4, 2);
    const dilation = 1 + pick(p, 5, 2);
    const padding = Math.min(pick(p, 6, 2), dilation * (k - 1));
    const outputPadding = pick(p, 7, Math.max(stride, dilation));
    // (n − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1 ≥ 1
    const least = Math.max(1, 1 + Math.ceil((2 * padding - dilation * (k - 1) - outputPadding) / stride));
    const s = [1 + pick(p, 1, 2), least + pick(p, 2, 3), least + pick(p, 3, 3), cin];
    const opts = { stride, padding, outputPadding, dilation, groups, bias: pick(p, 4, 3) !== 0, seed };
    return {
      layer: new nn.ConvTranspose2d(cin, cout, k, opts),
      inputs: [randn(s, seed + 1)],
      run: (m, [x]) => (m as tg.nn.ConvTranspose2d).forward(x),
      what: `new nn.ConvTranspose2d(${cin}, ${cout}, ${k}, ${JSON.stringify(opts)}) on ${shape(s)}`,
    };
  },
  MaxPool2d: (p, seed) => {
    const k = 1 + pick(p, 0, 3);
    const stride = 1 + pick(p, 1, k);
    const padding = pick(p, 2, Math.floor(k / 2) + 1);
    const ceilMode = pick(p, 3, 2) === 1;
    const s = [1 + pick(p, 4, 2), k + pick(p, 5, 3), k + pick(p, 6, 3), 1 + pick(p, 7, 2)];
    const opts = { stride, padding, ceilMode };
    return {
      layer: new nn.MaxPool2d(k, opts),
      inputs: [spaced(s, seed)],
      run: (m, [x]) => (m as tg.nn.MaxPool2d).forward(x),
      what: `new nn.MaxPool2d(${k}, ${JSON.stringify(opts)}) on ${shape(s)} (entries spaced 0.4 apart)`,
    };
  },
  AvgPool2d: (p, seed) => {
    const k = 1 + pick(p, 0, 3);
    const stride = 1 + pick(p, 1, k);
    const padding = pick(p, 2, Math.floor(k / 2) + 1);
    const ceilMode = pick(p, 3, 2) === 1;
    const countIncludePad = pick(p, 4, 2) === 1;
    const s = [1 + pick(p, 5, 2), k + pick(p, 6, 3), k + pick(p, 7, 3), 1 + pick(p, 0, 2)];
    const opts = { stride, padding, ceilMode, countIncludePad };
    return {
      layer: new nn.AvgPool2d(k, opts),
      inputs: [randn(s, seed + 1)],
      run: (m, [x]) => (m as tg.nn.AvgPool2d).forward(x),
      what: `new nn.AvgPool2d(${k}, ${JSON.stringify(opts)}) on ${shape(s)}`,
    };
  },
  AdaptiveAvgPool2d: (p, seed) => {
    const s = [1 + pick(p, 0, 2), 1 + pick(p, 1, 5), 1 + pick(p, 2, 5), 1 + pick(p, 3, 2)];
    const size: [number, number] = [1 + pick(p, 4, s[1]), 1 + pick(p, 5, s[2])];
    return {
      layer: new nn.AdaptiveAvgPool2d(size),
      inputs: [randn(s, seed + 1)],
      run: (m, [x]) => (m as tg.nn.AdaptiveAvgPool2d).forward(x),
      what: `new nn.AdaptiveAvgPool2d(${shape(size)}) on ${shape(s)}`,
    };
  },
  Upsample: (p, seed) => {
    const s = [1 + pick(p, 0, 2), 1 + pick(p, 1, 3), 1 + pick(p, 2, 3), 1 + pick(p, 3, 2)];
    const mode = pick(p, 4, 2) === 0 ? 'nearest' : 'bilinear';
    const opts =
      pick(p, 5, 2) === 0
        ? { scaleFactor: 1 + pick(p, 6, 3), mode }
        : { size: [1 + pick(p, 6, 5), 1 + pick(p, 7, 5)] as [number, number], mode };
    const full = mode === 'bilinear' ? { ...opts, alignCorners: pick(p, 7, 2) === 1 } : opts;
    return {
      layer: new nn.Upsample(full as ConstructorParameters<typeof nn.Upsample>[0]),
      inputs: [randn(s, seed + 1)],
      run: (m, [x]) => (m as tg.nn.Upsample).forward(x),
      what: `new nn.Upsample(${JSON.stringify(full)}) on ${shape(s)}`,
    };
  },
  LayerNorm: (p, seed) => {
    const s = [1 + pick(p, 0, 3), 1 + pick(p, 1, 3), 2 + pick(p, 2, 3)];
    const norm = s.slice(3 - 1 - pick(p, 3, 2));
    const opts = { elementwiseAffine: pick(p, 4, 3) !== 0 };
    return {
      layer: new nn.LayerNorm(norm, opts),
      inputs: [randn(s, seed + 1)],
      run: (m, [x]) => (m as tg.nn.LayerNorm).forward(x),
      what: `new nn.LayerNorm(${shape(norm)}, ${JSON.stringify(opts)}) on ${shape(s)}`,
    };
  },
  RMSNorm: (p, seed) => {
    const s = [1 + pick(p, 0, 3), 1 + pick(p, 1, 3), 1 + pick(p, 2, 3)];
    const norm = s.slice(3 - 1 - pick(p, 3, 2));
    const opts = { elementwiseAffine: pick(p, 4, 3) !== 0 };
    return {
      layer: new nn.RMSNorm(norm, opts),
      inputs: [randn(s, seed + 1)],
      run: (m, [x]) => (m as tg.nn.RMSNorm).forward(x),
      what: `new nn.RMSNorm(${shape(norm)}, ${JSON.stringify(opts)}) on ${shape(s)}`,
    };
  },
  BatchNorm: (p, seed) => {
    const c = 1 + pick(p, 0, 3);
    const twoD = pick(p, 1, 2) === 1;
    const train = pick(p, 2, 3) !== 0;
    // training statistics need two values a channel at least
    const n = 2 + pick(p, 3, 2);
    const s = twoD ? [n, 1 + pick(p, 4, 2), 1 + pick(p, 5, 2), c] : pick(p, 4, 2) ? [n, 1 + pick(p, 5, 3), c] : [n, c];
    const opts = { affine: pick(p, 6, 3) !== 0 };
    const layer = twoD ? new nn.BatchNorm2d(c, opts) : new nn.BatchNorm1d(c, opts);
    layer.train(train);
    return {
      layer,
      inputs: [randn(s, seed + 1)],
      run: (m, [x]) => (m as tg.nn.BatchNorm1d).forward(x),
      what: `new nn.BatchNorm${twoD ? 2 : 1}d(${c}, ${JSON.stringify(opts)}).train(${train}) on ${shape(s)}`,
    };
  },
  GroupNorm: (p, seed) => {
    const groups = 1 + pick(p, 0, 3);
    const c = groups * (1 + pick(p, 1, 2));
    const s = [1 + pick(p, 2, 2), ...(pick(p, 3, 2) ? [1 + pick(p, 4, 3)] : []), 1 + pick(p, 5, 2), c];
    const opts = { affine: pick(p, 6, 3) !== 0 };
    return {
      layer: new nn.GroupNorm(groups, c, opts),
      inputs: [randn(s, seed + 1)],
      run: (m, [x]) => (m as tg.nn.GroupNorm).forward(x),
      what: `new nn.GroupNorm(${groups}, ${c}, ${JSON.stringify(opts)}) on ${shape(s)}`,
    };
  },
  Activation: (p, seed) => {
    const names = Object.keys(ACTIVATIONS);
    const name = names[pick(p, 0, names.length)];
    const s = Array.from({ length: 2 + pick(p, 1, 2) }, (_, k) => 1 + pick(p, 2 + k, 3));
    const { make, kinks } = ACTIVATIONS[name];
    const layer = make(p);
    return {
      layer,
      inputs: [
        awayFrom(
          tg.tidy(() => randn(s, seed + 1).mul(2)),
          kinks(p),
        ),
      ],
      run: (m, [x]) => (m as tg.nn.Module).forward(x),
      what: `nn.${name} (${layer.describe()}) on ${shape(s)}, entries ${MARGIN} from its kinks`,
    };
  },
  Embedding: (p, seed) => {
    const n = 2 + pick(p, 0, 4);
    const dim = 1 + pick(p, 1, 3);
    const paddingIdx = pick(p, 2, 2) ? pick(p, 3, n) : undefined;
    const idx = Array.from({ length: 1 + pick(p, 4, 5) }, (_, k) => pick(p, 5 + k, n));
    const free = () =>
      tg.tensor(
        Array.from({ length: n * dim }, (_, k) => (Math.floor(k / dim) === paddingIdx ? 0 : 1)),
        { shape: [n, dim] },
      );
    return {
      layer: new nn.Embedding(n, dim, { paddingIdx, seed }),
      // PyTorch's padding row gets no gradient though the output reads it: the differences leave it be
      free: { weight: free },
      inputs: [tg.tensor(idx, { dtype: 'int32' })],
      run: (m, [i]) => (m as tg.nn.Embedding).forward(i),
      what: `new nn.Embedding(${n}, ${dim}, { paddingIdx: ${paddingIdx} }) on indices ${JSON.stringify(idx)}`,
    };
  },
  MultiheadAttention: (p, seed) => {
    const heads = 1 + pick(p, 0, 2);
    const e = heads * (1 + pick(p, 1, 2));
    const [n, l, src] = [1 + pick(p, 2, 2), 1 + pick(p, 3, 3), 1 + pick(p, 4, 3)];
    const self = pick(p, 5, 2) === 0;
    const bias = pick(p, 6, 3) !== 0;
    const q = randn([n, l, e], seed + 1);
    const kv = self ? [] : [randn([n, src, e], seed + 2), randn([n, src, e], seed + 3)];
    return {
      layer: new nn.MultiheadAttention(e, heads, { bias, seed }),
      inputs: [q, ...kv],
      run: (m, xs) => (m as tg.nn.MultiheadAttention).forward(xs[0], xs[1], xs[2]),
      what:
        `new nn.MultiheadAttention(${e}, ${heads}, { bias: ${bias} }) on ${shape(q.shape)}` +
        (self ? '' : ` attending to [${n},${src},${e}]`),
    };
  },
  TransformerEncoderLayer: (p, seed) => {
    const heads = 1 + pick(p, 0, 2);
    const d = heads * (1 + pick(p, 1, 2));
    const opts = {
      dimFeedforward: 2 + pick(p, 2, 3),
      dropout: 0,
      activation: (pick(p, 3, 2) ? 'gelu' : 'relu') as 'gelu' | 'relu',
      normFirst: pick(p, 4, 2) === 1,
      seed,
    };
    const s = [1 + pick(p, 5, 2), 1 + pick(p, 6, 3), d];
    return {
      layer: new nn.TransformerEncoderLayer(d, heads, opts),
      inputs: [randn(s, seed + 1)],
      run: (m, [x]) => (m as tg.nn.TransformerEncoderLayer).forward(x),
      what: `new nn.TransformerEncoderLayer(${d}, ${heads}, ${JSON.stringify(opts)}) on ${shape(s)}`,
    };
  },
  Recurrent: (p, seed) => {
    const kind = (['RNN', 'GRU', 'LSTM'] as const)[pick(p, 0, 3)];
    const [input, hidden] = [1 + pick(p, 1, 3), 1 + pick(p, 2, 3)];
    const opts = {
      numLayers: 1 + (pick(p, 3, 4) === 0 ? 1 : 0),
      bidirectional: pick(p, 4, 3) === 0,
      batchFirst: pick(p, 5, 2) === 1,
      bias: pick(p, 6, 4) !== 0,
      seed,
    };
    const [t, b] = [1 + pick(p, 7, 3), 1 + pick(p, 1, 2)];
    const s = opts.batchFirst ? [b, t, input] : [t, b, input];
    const layer = new nn[kind](input, hidden, opts);
    return {
      layer,
      inputs: [randn(s, seed + 1)],
      run: (m, [x]) => {
        const r = (m as tg.nn.LSTM).forward(x) as tg.nn.LSTMOutput;
        return joined(r.cN ? [r.output, r.hN, r.cN] : [r.output, r.hN]);
      },
      what: `new nn.${kind}(${input}, ${hidden}, ${JSON.stringify(opts)}) on ${shape(s)}`,
    };
  },
  Cell: (p, seed) => {
    const kind = (['RNNCell', 'GRUCell', 'LSTMCell'] as const)[pick(p, 0, 3)];
    const [input, hidden, b] = [1 + pick(p, 1, 3), 1 + pick(p, 2, 3), 1 + pick(p, 3, 3)];
    const bias = pick(p, 4, 4) !== 0;
    const withState = pick(p, 5, 2) === 1;
    const x = randn([b, input], seed + 1);
    const state = withState
      ? [randn([b, hidden], seed + 2), ...(kind === 'LSTMCell' ? [randn([b, hidden], seed + 3)] : [])]
      : [];
    return {
      layer: new nn[kind](input, hidden, { bias, seed }),
      inputs: [x, ...state],
      run: (cell, [xi, h, c]) => {
        if (kind !== 'LSTMCell') return (cell as tg.nn.GRUCell).forward(xi, h);
        const r = (cell as tg.nn.LSTMCell).forward(xi, h ? { h, c } : undefined);
        return joined([r.h, r.c]);
      },
      what: `new nn.${kind}(${input}, ${hidden}, { bias: ${bias} }) on [${b},${input}]${withState ? ', a state' : ''}`,
    };
  },
  Stack: (p, seed) => {
    // a small CNN: convolution, an activation, max pooling, flattening and a linear layer
    const c = 1 + pick(p, 0, 2);
    const act = ['ReLU', 'GELU', 'Tanh'][pick(p, 1, 3)];
    const hw = 3 + pick(p, 2, 3);
    const s = [1 + pick(p, 3, 2), hw, hw, 1 + pick(p, 4, 2)];
    const conv = new nn.Conv2d(s[3], c, 2, { seed });
    const side = out(hw, 2, 1, 0);
    const pooled = out(side, 2, 2, 0);
    const layer = new nn.Sequential(
      conv,
      ACTIVATIONS[act].make(p),
      new nn.MaxPool2d(2),
      new nn.Flatten(),
      new nn.Linear(pooled * pooled * c, 1 + pick(p, 5, 3), { seed: seed + 1 }),
    );
    return {
      layer,
      inputs: [randn(s, seed + 2)],
      run: (m, [x]) => (m as tg.nn.Sequential).forward(x),
      what: `Sequential(Conv2d(${s[3]}, ${c}, 2), ${act}, MaxPool2d(2), Flatten, Linear) on ${shape(s)}`,
    };
  },
  MLP: (p, seed) => {
    const sizes = Array.from({ length: 2 + pick(p, 0, 3) }, (_, k) => 1 + pick(p, 1 + k, 4));
    const activation = (['relu', 'tanh', 'gelu'] as const)[pick(p, 5, 3)];
    const s = [1 + pick(p, 6, 3), sizes[0]];
    return {
      layer: new nn.MLP(sizes, { activation, seed }),
      inputs: [randn(s, seed + 1)],
      run: (m, [x]) => (m as tg.nn.MLP).forward(x),
      what: `new nn.MLP(${JSON.stringify(sizes)}, { activation: '${activation}' }) on ${shape(s)}`,
    };
  },
};

export const LAYER_KINDS = Object.keys(KINDS);

/** The layer of a kind, configured by p, with its inputs; values from seed (the structure from p alone). */
export const buildLayer = (kind: string, p: number[], seed: number): Built => KINDS[kind](p, seed);

export const layerCaseArb: fc.Arbitrary<LayerCase> = fc.record({
  kind: fc.constantFrom(...LAYER_KINDS),
  p: fc.array(fc.nat({ max: 999 }), { minLength: 8, maxLength: 8 }),
  seed: fc.nat({ max: 100_000 }),
});

/** What a case gave: a failure (with what it was), or skipped as non-smooth, or checked. */
export interface LayerResult {
  ok: boolean;
  skipped: boolean;
  what: string;
  detail: string;
  /** Tensors checked (the input and each parameter). */
  checked: number;
}

/** Unit-RMS random direction of a tensor's shape, from a seed. */
function direction(s: number[], seed: number): tg.Tensor {
  return tg.tidy(() => {
    const u = tg.randn(s, { seed });
    const rms = Math.sqrt(u.square().mean().item()) || 1;
    return u.div(rms);
  });
}

const EPS32 = 2 ** -23;

/**
 * Runs one case: the layer's gradients through its float inputs and its parameters, each along a
 * random direction, against finite differences. Leaves nothing behind.
 */
export async function runLayerCase(c: LayerCase): Promise<LayerResult> {
  const before = tg.memory().numTensors;
  let built: Built;
  try {
    built = KINDS[c.kind](c.p, c.seed);
  } catch (e) {
    return {
      ok: false,
      skipped: false,
      what: `${c.kind} ${JSON.stringify(c.p)}`,
      detail: `building threw: ${e}`,
      checked: 0,
    };
  }
  const { layer, inputs, run, what } = built;
  const result: LayerResult = { ok: true, skipped: false, what, detail: '', checked: 0 };
  const floats = inputs.filter((x) => x.dtype === 'float32');
  const leaves = floats.map((x) => tg.tensor(x.dataSync(), { shape: x.shape, requiresGrad: true }));
  const args = inputs.map((x) => (x.dtype === 'float32' ? leaves[floats.indexOf(x)] : x));
  try {
    const shapeOut = tg.noGrad(() => tg.tidy(() => run(layer, args).shape));
    const R = Float64Array.from(tg.tidy(() => tg.randn(shapeOut, { seed: c.seed + 7 }).dataSync()));
    /** L = Σ R∘y in float64, and Σ |R∘y| (the size of its rounding). */
    const loss = (): [number, number] => {
      const y = tg.noGrad(() => tg.tidy(() => run(layer, args).dataSync()));
      let l = 0;
      let size = 0;
      for (let i = 0; i < y.length; i++) {
        l += R[i] * y[i];
        size += Math.abs(R[i] * y[i]);
      }
      return [l, size];
    };
    const weights = tg.tensor(Float32Array.from(R), { shape: shapeOut });
    const targets: [string, tg.Tensor][] = [
      ...leaves.map((x, i) => [`input ${i}`, x] as [string, tg.Tensor]),
      ...layer.namedParameters(),
    ];
    /** Runs `f` with t's values moved by e·u, then puts them back. */
    const moved = <T>(t: tg.Tensor, u: tg.Tensor, e: number, f: () => T): T => {
      const v0 = t.value;
      if (e !== 0) t.value = tg.tidy(() => tg.add(new tg.Tensor(v0), u.mul(e)).value);
      try {
        return f();
      } finally {
        if (e !== 0) {
          t.value.dispose();
          t.value = v0;
        }
      }
    };
    /** ∂L/∂t·u from backward(), at t moved by e·u. */
    const analyticAt = (t: tg.Tensor, u: tg.Tensor, e: number) =>
      moved(t, u, e, () => {
        layer.zeroGrad();
        for (const x of leaves) {
          x.grad?.dispose();
          x.grad = null;
        }
        tg.tidy(() => run(layer, args).mul(weights).sum().backward());
        return t.grad ? tg.tidy(() => t.grad!.mul(u).sum().item()) : 0;
      });
    let k = 0;
    try {
      for (const [name, t] of targets) {
        const u = tg.tidy(() => {
          const d = direction(t.shape, c.seed + 100 + k++);
          return built.free?.[name] ? d.mul(built.free[name]()) : d;
        });
        try {
          const scale = Math.max(1, Math.sqrt(tg.tidy(() => t.square().mean().item())));
          const h = 1e-2 * scale;
          const analytic = analyticAt(t, u, 0);
          // fourth-order central difference at step h, from L at ±h and ±2h
          const quotient = (step: number): [number, number] => {
            const [a2, s2] = moved(t, u, 2 * step, loss);
            const [a1, s1] = moved(t, u, step, loss);
            const [b1, t1] = moved(t, u, -step, loss);
            const [b2, t2] = moved(t, u, -2 * step, loss);
            return [(-a2 + 8 * a1 - 8 * b1 + b2) / (12 * step), Math.max(s2, s1, t1, t2)];
          };
          const [n1, size] = quotient(h);
          const [n2] = quotient(h / 2);
          // float32 rounding of L, as the quotients amplify it (3/h for both steps together)
          const noise = 200 * EPS32 * size * (3 / h) + 1e-6;
          const tol = noise + 2e-3 * Math.max(Math.abs(analytic), Math.abs(n1));
          result.checked++;
          if (Math.abs(analytic - n1) <= tol) continue;
          // a disagreement where the layer is not smooth within the steps (a kink or a tie hidden
          // behind its own maps) is no failure: there the difference quotients at h and h/2
          // disagree, or the gradient jumps between the ends (a smooth one curves by far less)
          const jump = Math.abs(analyticAt(t, u, 2 * h) - 2 * analytic + analyticAt(t, u, -2 * h));
          if (Math.abs(n1 - n2) > tol || jump > Math.abs(analytic - n1) / 2) {
            result.skipped = true;
            result.detail =
              `${name}: not smooth within the steps (quotients ${n1} and ${n2}, ` +
              `gradient's second difference ${jump})`;
            break;
          }
          result.ok = false;
          result.detail =
            `${name} ${shape(t.shape)}: backward gives ${analytic}, finite differences ${n1} ` +
            `(h/2: ${n2}; allowed ${tol.toExponential(2)})`;
          break;
        } finally {
          u.dispose();
        }
      }
    } finally {
      weights.dispose();
    }
  } catch (e) {
    result.ok = false;
    result.detail = `threw: ${(e as Error)?.stack ?? e}`;
  } finally {
    for (const x of [...inputs, ...leaves]) {
      x.grad?.dispose();
      x.dispose();
    }
    layer.dispose();
  }
  const leaked = tg.memory().numTensors - before;
  if (result.ok && leaked !== 0) {
    result.ok = false;
    result.detail = `leaked ${leaked} tensors`;
  }
  return result;
}

/** The property: a case whose gradients disagree with finite differences throws, saying which and where. */
export const layersProperty = fc.asyncProperty(layerCaseArb, async (c) => {
  const r = await runLayerCase(c);
  if (!r.ok) throw new Error(`layer fuzz case failed: ${r.what}: ${r.detail}\ncase ${JSON.stringify(c)}\n`);
  fc.pre(!r.skipped);
});
