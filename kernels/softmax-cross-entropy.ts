// TapegradSoftmaxCrossEntropy: the forward and the backward of softmax cross-entropy together,
// in two GPU passes (instead of ~10 ops forward and ~7 backward).
//
// Inputs logits z [N, C] and targets t: float32 distributions [N, C] (rows need not sum to 1), or
// int32 class indices [N] (t_r is then the one-hot row of index y_r, never built in memory).
// Outputs [loss [N], dlogits [N, C]] (attr outputs 'both', the default), or only one of them
// ('loss' for a forward whose backward may never run, 'dlogits' for that backward):
//   loss_r    = (Σⱼ t_rj) · logΣⱼ e^{z_rj} − Σⱼ t_rj z_rj      (stable: log-sum-exp shifted by max)
//   dlogits_r = softmax(z_r) · Σⱼ t_rj − t_r                   (∂loss_r/∂z_r)
// The backward of a loss upstream of g can be folded in: input `upstream` (g per row [N], or one
// value [1]) and attr `scale` make the dlogits output scale · g_r · (softmax(z_r)·Σt − t_r), so
// that a mean's 1/N and the incoming gradient cost no dispatch of their own.
// Each invocation loops over its row's C entries, so C is a compile-time constant of the
// shader: meant for classifier heads (C up to a few hundred), the case where dispatches dominate.
// softmaxCrossEntropyReference, at the end, is the same in TF.js ops: what backends without the
// kernel run, and the tests' oracle.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { glslProgram, runGlsl, runWgsl, wgslProgram } from './gpu-program.js';
import { jsKernelConfigs } from './js-kernel.js';
import { simdSoftmaxCrossEntropy } from './wasm-simd-softmax-cross-entropy.js';

export const SOFTMAX_CROSS_ENTROPY = 'TapegradSoftmaxCrossEntropy';

export type SceOutputs = 'both' | 'loss' | 'dlogits';
const wants = (attrs: unknown, which: 'loss' | 'dlogits') => {
  const o = ((attrs as { outputs?: SceOutputs } | undefined)?.outputs ?? 'both') as SceOutputs;
  return o === 'both' || o === which;
};

type Inputs = { logits: TensorInfo; targets: TensorInfo; upstream?: TensorInfo };
const scaleOf = (attrs: unknown) => (attrs as { scale?: number } | undefined)?.scale ?? 1;

/** The inputs, their sizes, and the names and tensors of the dlogits program (upstream when given). */
function programInputs(inputs: unknown) {
  const { logits, targets, upstream } = inputs as Inputs;
  const [N, C] = logits.shape;
  const sparse = targets.shape.length === 1;
  const names = upstream ? ['logits', 'targets', 'upstream'] : ['logits', 'targets'];
  const ins = upstream ? [logits, targets, upstream] : [logits, targets];
  return { logits, targets, upstream, N, C, sparse, names, ins };
}

/**
 * The row statistics both outputs need (max, Σe^{z−max}, Σt, Σtz), as statements in GLSL or
 * WGSL: `z(j)`, `t(j)` and `tz(j)` (the term t·z) read entry j of the row; `decl` declares a
 * mutable float.
 */
function rowStats(
  z: (j: string) => string,
  t: (j: string) => string,
  tz: (j: string) => string,
  decl: (name: string, init: string) => string,
  loop: (body: string) => string,
): string {
  return `
    ${decl('mx', '-3.4e38')}
    ${loop(`mx = max(mx, ${z('j')});`)}
    ${decl('se', '0.0')} ${decl('st', '0.0')} ${decl('stz', '0.0')}
    ${loop(`se = se + exp(${z('j')} - mx); st = st + ${t('j')}; stz = stz + ${tz('j')};`)}`;
}

const glslDecl = (n: string, init: string) => `float ${n} = ${init};`;
const wgslDecl = (n: string, init: string) => `var ${n} : f32 = ${init};`;

export const softmaxCrossEntropyWebGL: KernelConfig = {
  kernelName: SOFTMAX_CROSS_ENTROPY,
  backendName: 'webgl',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { logits, targets, upstream, N, C, sparse, names, ins } = programInputs(inputs);
    // t(j) of the row: a stored entry, or 1 at the row's class index (ints are exact in floats)
    const t = (j: string) => (sparse ? `(int(round(getTargets(row))) == ${j} ? 1.0 : 0.0)` : `getTargets(row, ${j})`);
    const z = (j: string) => `getLogits(row, ${j})`;
    // a class index picks z_y: the other logits add nothing, even −∞ ones (0·(−∞) would be NaN)
    const tz = (j: string) => (sparse ? `(int(round(getTargets(row))) == ${j} ? ${z(j)} : 0.0)` : `${t(j)} * ${z(j)}`);
    const loop = (body: string) => `for (int j = 0; j < ${C}; j++) { ${body} }`;
    const stats = rowStats(z, t, tz, glslDecl, loop);
    const out: TensorInfo[] = [];
    if (wants(attrs, 'loss')) {
      const body = `int row = getOutputCoords(); ${stats} setOutput(st * (mx + log(se)) - stz);`;
      out.push(runGlsl(backend, glslProgram([N], ['logits', 'targets'], [], body), [logits, targets]));
    }
    if (wants(attrs, 'dlogits')) {
      const g = upstream ? `getUpstream(${upstream.shape[0] === 1 ? '0' : 'row'})` : '1.0';
      const body = `ivec2 rc = getOutputCoords(); int row = rc.x; ${stats}
        setOutput(scale * ${g} * (exp(getLogits(row, rc.y) - mx) / se * st - ${t('rc.y')}));`;
      out.push(runGlsl(backend, glslProgram([N, C], names, ['scale'], body), ins, [scaleOf(attrs)]));
    }
    return out;
  },
};

export const softmaxCrossEntropyWebGPU: KernelConfig = {
  kernelName: SOFTMAX_CROSS_ENTROPY,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { logits, targets, upstream, N, C, sparse, names, ins } = programInputs(inputs);
    // t(j) of the row: a stored entry, or 1 at the row's class index
    const t = (j: string) =>
      sparse ? `select(0.0, 1.0, i32(targets[row]) == ${j})` : `f32(targets[row * ${C} + ${j}])`;
    const z = (j: string) => `f32(logits[row * ${C} + ${j}])`;
    // a class index picks z_y: the other logits add nothing, even −∞ ones (0·(−∞) would be NaN)
    const tz = (j: string) => (sparse ? `select(0.0, ${z(j)}, i32(targets[row]) == ${j})` : `${t(j)} * ${z(j)}`);
    const loop = (body: string) => `for (var j = 0; j < ${C}; j = j + 1) { ${body} }`;
    const stats = rowStats(z, t, tz, wgslDecl, loop);
    const key = `${sparse ? 'sparse_' : ''}${C}`;
    const out: TensorInfo[] = [];
    if (wants(attrs, 'loss')) {
      const body = `let row = index; ${stats} setOutputAtIndex(index, st * (mx + log(se)) - stz);`;
      const program = wgslProgram(`tapegrad_sce_loss_${key}`, [N], ['logits', 'targets'], [], body);
      out.push(runWgsl(backend, program, [logits, targets]));
    }
    if (wants(attrs, 'dlogits')) {
      const perRow = upstream !== undefined && upstream.shape[0] !== 1;
      const g = upstream ? `f32(upstream[${perRow ? 'row' : '0'}])` : '1.0';
      const body = `let row = index / ${C}; ${stats}
        setOutputAtIndex(index, uniforms.scale * ${g} * (exp(f32(logits[index]) - mx) / se * st - ${t(`index % ${C}`)}));`;
      const program = wgslProgram(
        `tapegrad_sce_grad_${key}_${upstream ? (perRow ? 'rows' : 'one') : 'none'}`,
        [N, C],
        names,
        ['scale'],
        body,
      );
      out.push(runWgsl(backend, program, ins, [scaleOf(attrs)]));
    }
    return out;
  },
};

/**
 * cpu and wasm: one pass per row for its maximum, one for its sums (in float64: each in four partial
 * sums, entry index mod 4, joined as (s₀ + s₂) + (s₁ + s₃)), one more for dlogits. As on the GPUs, a
 * class index picks z_y alone, so that −∞ logits off the target add nothing. On wasm the passes run
 * in SIMD (wasm-simd-softmax-cross-entropy.ts: the same sums in the same order, of an exponential
 * within 2 ulp of float64 where Math.exp is within 1), so that its float32 outputs are the loop's
 * but where the float64 values lie within a few float64 ulp of a float32 rounding boundary, or
 * where a loss or an entry of dlogits is the small difference of larger float64 terms.
 */
export const softmaxCrossEntropyJs: KernelConfig[] = jsKernelConfigs(
  SOFTMAX_CROSS_ENTROPY,
  ({ logits }, attrs) => {
    const [N, C] = logits!.shape;
    return [...(wants(attrs, 'loss') ? [[N]] : []), ...(wants(attrs, 'dlogits') ? [[N, C]] : [])];
  },
  ({ logits: z, targets: t, upstream: u }, outs, attrs, infos, heap, scratch) => {
    const [N, C] = infos.logits!.shape;
    const sparse = infos.targets!.shape.length === 1;
    const loss = wants(attrs, 'loss') ? outs[0] : null;
    const dz = wants(attrs, 'dlogits') ? outs[outs.length - 1] : null;
    const scale = scaleOf(attrs);
    const perRow = u !== undefined && u.length !== 1;
    const gOf = (r: number) => scale * (u === undefined ? 1 : u[perRow ? r : 0]);
    const simd = simdSoftmaxCrossEntropy(heap);
    // the module writes dz at each class index: only when every index is one of the C classes
    let inRange = true;
    if (simd && sparse) for (let r = 0; r < N && inRange; r++) inRange = t![r] >= 0 && t![r] < C;
    if (simd && inRange) {
      const stats = scratch.subarray(0, 4 * N);
      const g = scratch.subarray(4 * N, 5 * N);
      if (dz) for (let r = 0; r < N; r++) g[r] = gOf(r);
      const [zs, ts, e] = [z!.byteOffset, t!.byteOffset, scratch.byteOffset + 40 * N];
      simd.rows(zs, ts, N, C, stats.byteOffset, e, g.byteOffset, dz ? dz.byteOffset : 0, sparse ? 0 : 1);
      if (loss) {
        for (let r = 0; r < N; r++) {
          const lse = stats[4 * r] + Math.log(stats[4 * r + 1]);
          loss[r] = sparse ? lse - z![r * C + t![r]] : stats[4 * r + 2] * lse - stats[4 * r + 3];
        }
      }
      return;
    }
    const [st, stz] = [new Float64Array(4), new Float64Array(4)];
    const joined = (s: Float64Array) => s[0] + s[2] + (s[1] + s[3]);
    for (let r = 0; r < N; r++) {
      const o = r * C;
      const y = sparse ? t![r] : -1;
      let mx = -Infinity;
      for (let j = 0; j < C; j++) if (z![o + j] > mx) mx = z![o + j];
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let j = 0;
      for (; j + 4 <= C; j += 4) {
        s0 += Math.exp(z![o + j] - mx);
        s1 += Math.exp(z![o + j + 1] - mx);
        s2 += Math.exp(z![o + j + 2] - mx);
        s3 += Math.exp(z![o + j + 3] - mx);
      }
      if (j < C) s0 += Math.exp(z![o + j] - mx);
      if (j + 1 < C) s1 += Math.exp(z![o + j + 1] - mx);
      if (j + 2 < C) s2 += Math.exp(z![o + j + 2] - mx);
      if (!sparse) {
        st.fill(0);
        stz.fill(0);
        for (let k = 0; k < C; k++) {
          st[k & 3] += t![o + k];
          stz[k & 3] += t![o + k] * z![o + k];
        }
      }
      const sumE = s0 + s2 + (s1 + s3);
      const sumT = sparse ? 1 : joined(st);
      const lse = mx + Math.log(sumE);
      if (loss) loss[r] = sparse ? lse - z![o + y] : sumT * lse - joined(stz);
      if (dz) {
        const g = gOf(r);
        for (let j = 0; j < C; j++) {
          const tj = sparse ? (j === y ? 1 : 0) : t![o + j];
          dz[o + j] = g * ((Math.exp(z![o + j] - mx) / sumE) * sumT - tj);
        }
      }
    }
  },
  true,
  // on wasm: four statistics and g per row, and e's row (C + 1 entries; one spare)
  ({ logits }) => 5 * logits!.shape[0] + logits!.shape[1] + 1,
);

/** Float one-hot rows [..., C] of class indices [...] (tf.oneHot refuses C = 1). */
export function oneHotRows(indices: tf.Tensor, C: number): tf.Tensor {
  return tf.tidy(() => tf.cast(tf.equal(tf.expandDims(indices, -1), tf.range(0, C, 1, 'int32')), 'float32'));
}

/** z[..., y[...]]: each row's entry at its class index. */
function entryAt(z: tf.Tensor, y: tf.Tensor): tf.Tensor {
  const C = z.shape[z.rank - 1];
  const rows = z.size / C;
  const flat = tf.add(tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(C, 'int32')), tf.reshape(y, [-1]));
  return tf.reshape(tf.gather(tf.reshape(z, [-1]), flat), y.shape);
}

/**
 * The kernel's outputs in TF.js ops, for logits z [..., C] and targets t [..., C] or int32 class
 * indices [...]: the row losses (shape [...]) when `outputs` asks for them, and dlogits. Against
 * class indices the loss is logΣe^z − z_y, a gather rather than a one-hot product (so that −∞
 * logits off the target add nothing, and 4% off a wasm MLP step).
 */
export function softmaxCrossEntropyReference(
  z: tf.Tensor,
  targets: tf.Tensor,
  outputs: SceOutputs = 'both',
): { loss?: tf.Tensor; dlogits?: tf.Tensor } {
  return tf.tidy(() => {
    const last = z.rank - 1;
    const sparse = targets.dtype === 'int32';
    const out: { loss?: tf.Tensor; dlogits?: tf.Tensor } = {};
    if (outputs !== 'dlogits') {
      out.loss = sparse
        ? tf.sub(tf.logSumExp(z, last), entryAt(z, targets))
        : tf.sub(tf.mul(tf.logSumExp(z, last), tf.sum(targets, last)), tf.sum(tf.mul(targets, z), last));
    }
    if (outputs !== 'loss') {
      const t = sparse ? oneHotRows(targets, z.shape[last]) : targets;
      const st = sparse ? 1 : tf.sum(t, last, true);
      out.dlogits = tf.sub(tf.mul(tf.softmax(z), st), t);
    }
    return out;
  });
}
