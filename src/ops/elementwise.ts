// Elementwise ops. Each rule gives the adjoint g·f'(x) with the math in a comment; binary ops
// state the adjoint at the broadcast shape and binary() sums it back to each operand's shape.
import * as tf from '@tensorflow/tfjs-core';
import { defineOp, applyWithConstants, asTensor, applyToFloat } from '../op.js';
import { promoted, resultTypeOf } from '../dtypes.js';
import { broadcastShapes, unbroadcast } from './shape.js';
import { checkOptions, TapegradError } from '../errors.js';
import { noGrad, isGradEnabled } from '../tape.js';
import { Tensor, type TensorLike, type DType, type OpRule, type OpSignature } from '../tensor.js';
import { toTensor } from '../creation.js';
import { erf as erfAccurate } from '../backend/erf-absolute-error.js';
import { elu as eluAccurate } from '../backend/cpu-elu-exp-minus-one.js';
import {
  expMinusScaledSquare as expMinusScaledSquareValue,
  hasFused,
  leakyReluGrad,
  leakyReluGradReference,
  reluGrad,
  gelu as geluForward,
  geluGrad,
  geluWithDerivative,
  splitPoint,
  timesNormalCdf,
} from '../backend/fused.js';
import {
  atan2SignedZero,
  broadcastToEmptyShape,
  clipByValueFloat32Only,
  divEqualOperandsNaN,
  expm1SmallArgument,
  logZeroNegativeInfinity,
  powAsInC,
} from '../backend/defects.js';
import {
  acosLowPrecision,
  acoshNearOne,
  asinhSmallOrNegative,
  atanhNearZero,
  coshLargeArgument,
  log1pSmallArgument,
  sinhNearZero,
  softplusModerateNegative,
} from '../backend/gpu-inexact-unary-kernels.js';

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

// ---- the two classes of elementwise op, declared in one line each
export type UnaryFn = ((x: Tensor) => Tensor) & { rule: OpRule<void> };

type Where = Omit<OpSignature, 'kind'>;

/**
 * An elementwise op x ↦ f(x); `dx(g, x, y)` is g·f'(x), where y = f(x) is at hand. `where`: its
 * domain and kinks, from which the fuzzer and the error catalogue derive their cases.
 */
export function unary(
  name: string,
  forward: (x: tf.Tensor) => tf.Tensor,
  dx: (g: Tensor, x: Tensor, y: Tensor) => Tensor,
  where: Where = {},
  { keepsInt = false, bools = 'float' as BoolUnary } = {},
): UnaryFn {
  const op = defineOp<void>({
    name,
    forward: ([x]) => forward(x),
    vjp: (g, [x], y) => [() => dx(g, x, y)],
    signature: { kind: 'unary', ...where },
  });
  // int32 stays int32 for ops that map integers to integers (neg, abs, …); the rest work in float32
  const fn = (x: Tensor) => {
    const t = asTensor(name, x);
    if (t.dtype === 'float32' || (keepsInt && t.dtype === 'int32')) return op([t]);
    if (t.dtype === 'bool' && bools !== 'float') {
      if (bools === 'same') return new Tensor(tf.clone(t.value));
      if (bools === 'int32') return new Tensor(tf.tidy(() => forward(tf.cast(t.value, 'int32'))));
      refuseBool(name, 'a bool tensor', bools.refuse);
    }
    return applyToFloat(t, (f) => op([f]));
  };
  return Object.assign(fn, { rule: op.rule });
}

/**
 * What a unary op does with a bool tensor, as PyTorch: compute in float32 (exp, sin, …), give it back
 * (sign), compute in int32 (square), or refuse, with a hint (neg, abs, relu, floor, …).
 */
type BoolUnary = 'float' | 'same' | 'int32' | { refuse: string };

/** Hints for the bool tensors PyTorch refuses. */
const CAST_FIRST = "cast it first (x.cast('float32'))";
const INVERT_MASK = 'to invert a mask, use logicalNot(x)';
const REFUSES_BOOL = { bools: { refuse: CAST_FIRST } };
const REFUSES_BOOL_KEEPS_INT = { keepsInt: true, bools: { refuse: CAST_FIRST } };

/** A TapegradError for bool operands PyTorch refuses too (`what`: 'a bool tensor', 'two bool tensors'). */
function refuseBool(name: string, what: string, hint: string): never {
  throw new TapegradError(name, `${what} is not supported, as in PyTorch; ${hint}`);
}

export type BinaryFn = ((a: TensorLike, b: TensorLike) => Tensor) & { rule: OpRule<void> };
/**
 * What a binary op does with bool tensors beyond PyTorch's promotion (src/dtypes.ts: a bool tensor
 * meeting an int32 tensor or an integer computes in int32, a float32 tensor or a non-integer number
 * in float32): `pair`, two bool tensors give the logic op PyTorch computes (add: or, mul: and) or are
 * refused; `refuse`, any bool operand is refused (sub), with a hint that depends on whether both are.
 */
interface BoolBinary {
  pair?: ((a: tf.Tensor, b: tf.Tensor) => tf.Tensor) | { refuse: string };
  refuse?: (pair: boolean) => string;
}
type BinaryRule = (g: Tensor, a: Tensor, b: Tensor, y: Tensor) => Tensor;

/**
 * An elementwise op of two broadcasting operands. `da` and `db` give the adjoint at the broadcast
 * shape; summing it back to each operand's own shape happens here, once for every binary op.
 * Operands of different dtypes are cast to PyTorch's result type first (src/dtypes.ts), off the
 * tape: only float32 operands receive a gradient, as in PyTorch.
 */
export function binary(
  name: string,
  forward: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor,
  da: BinaryRule,
  db: BinaryRule,
  where: Where = {},
  { trueDivision = false, bools = {} as BoolBinary } = {},
): BinaryFn {
  const op = defineOp<void>({
    name,
    forward: ([a, b]) => forward(a, b),
    vjp: (g, [a, b], y) => [() => unbroadcast(da(g, a, b, y), a.shape), () => unbroadcast(db(g, a, b, y), b.shape)],
    signature: { kind: 'binary', ...where },
  });
  const fn = (a: TensorLike, b: TensorLike): Tensor => {
    // PyTorch's result type (src/dtypes.ts): bool < int32 < float32, a number an integer or a float
    const promotedTo = resultTypeOf(name, [a, b]);
    if (a instanceof Tensor && b instanceof Tensor) broadcastShapes(name, a.shape, b.shape);
    const pair = a instanceof Tensor && b instanceof Tensor && a.dtype === 'bool' && b.dtype === 'bool';
    if ((a instanceof Tensor && a.dtype === 'bool') || (b instanceof Tensor && b.dtype === 'bool')) {
      if (bools.refuse) refuseBool(name, pair ? 'two bool tensors' : 'a bool tensor', bools.refuse(pair));
      if (pair && bools.pair) {
        if (typeof bools.pair !== 'function') refuseBool(name, 'two bool tensors', bools.pair.refuse);
        return new Tensor(bools.pair((a as Tensor).value, (b as Tensor).value));
      }
    }
    // division of integers is true division (TF.js would floor); two numbers compute in float32
    const noTensor = !(a instanceof Tensor || b instanceof Tensor);
    const dtype = trueDivision || noTensor ? 'float32' : promotedTo;
    return promoted([a, b], dtype, (xs) => applyWithConstants(op, name, xs, undefined, dtype));
  };
  return Object.assign(fn, { rule: op.rule });
}

// ---- unary
/** −x, elementwise. d(−x) = −dx. PyTorch `torch.neg`, JAX `jnp.negative`. */
export const neg = unary('neg', tf.neg, (g) => neg(g), {}, { keepsInt: true, bools: { refuse: INVERT_MASK } });
/** |x|, elementwise. d|x| = sign(x) dx. PyTorch `torch.abs`, JAX `jnp.abs`. */
export const abs = unary(
  'abs',
  tf.abs,
  (g, x) => mul(g, sign(x)),
  { kinks: [0] },
  { keepsInt: true, bools: { refuse: CAST_FIRST } },
);
/**
 * The sign of x (−1, 0 or 1), elementwise. Sign is piecewise constant: zero gradient.
 * PyTorch `torch.sign`, JAX `jnp.sign`.
 */
export const sign = unary('sign', tf.sign, (g) => mul(g, 0), { kinks: [0] }, { keepsInt: true, bools: 'same' });
/** eˣ, elementwise. d eˣ = eˣ dx. PyTorch `torch.exp`, JAX `jnp.exp`. */
export const exp = unary('exp', tf.exp, (g, _x, y) => mul(g, y), { domain: 'moderate' });
/** ln x, elementwise. d ln x = dx / x. PyTorch `torch.log`, JAX `jnp.log`. */
export const log = unary('log', logZeroNegativeInfinity, (g, x) => div(g, x), { domain: 'positive' });
/** ln(1 + x), elementwise, accurate near 0. d ln(1+x) = dx / (1+x). PyTorch `torch.log1p`, JAX `jnp.log1p`. */
export const log1p = unary('log1p', log1pSmallArgument, (g, x) => div(g, add(x, 1)), { domain: 'aboveMinusOne' });
/**
 * eˣ − 1, elementwise, accurate near 0. d(eˣ−1) = eˣ dx, computed as eˣ: PyTorch's y + 1 cancels to 0
 * below x ≈ −17, where eˣ is still a float32 number. PyTorch `torch.expm1`, JAX `jnp.expm1`.
 */
export const expm1 = unary('expm1', expm1SmallArgument, (g, x) => mul(g, exp(x)), { domain: 'moderate' });
/** √x, elementwise. d√x = dx / (2√x). PyTorch `torch.sqrt`, JAX `jnp.sqrt`. */
export const sqrt = unary('sqrt', tf.sqrt, (g, _x, y) => div(g, mul(y, 2)), { domain: 'positive' });
/** 1/√x, elementwise. d x^(−½) = −½ x^(−3/2) dx = −½ y/x dx. PyTorch `torch.rsqrt`, JAX `jax.lax.rsqrt`. */
export const rsqrt = unary('rsqrt', tf.rsqrt, (g, x, y) => mul(g, div(mul(y, -0.5), x)), { domain: 'positive' });
/** x², elementwise. d x² = 2x dx. PyTorch `torch.square`, JAX `jnp.square`. */
export const square = unary(
  'square',
  tf.square,
  (g, x) => mul(g, mul(x, 2)),
  { domain: 'moderate' },
  { keepsInt: true, bools: 'int32' },
);
/** 1/x, elementwise. d(1/x) = −dx/x² = −y² dx. PyTorch `torch.reciprocal`, JAX `jnp.reciprocal`. */
export const reciprocal = unary('reciprocal', tf.reciprocal, (g, _x, y) => neg(mul(g, square(y))), {
  domain: 'nonzero',
});
/** sin x, elementwise. d sin x = cos x dx. PyTorch `torch.sin`, JAX `jnp.sin`. */
export const sin = unary('sin', tf.sin, (g, x) => mul(g, cos(x)));
/** cos x, elementwise. d cos x = −sin x dx. PyTorch `torch.cos`, JAX `jnp.cos`. */
export const cos = unary('cos', tf.cos, (g, x) => neg(mul(g, sin(x))));
/** tan x, elementwise. d tan x = (1 + tan²x) dx. PyTorch `torch.tan`, JAX `jnp.tan`. */
export const tan = unary('tan', tf.tan, (g, _x, y) => mul(g, add(square(y), 1)), { domain: 'unit' });
/**
 * tanh x, elementwise. d tanh x = sech²x dx, computed as 4u/(1 + u)², u = e^(−2|x|): PyTorch's 1 − tanh²x
 * is 0 from |x| ≈ 9 (tanh x rounds to ±1) and 100 ulp off at |x| = 3.
 * PyTorch `torch.tanh`, JAX `jnp.tanh`.
 */
export const tanh = unary('tanh', tf.tanh, (g, x) => {
  const u = exp(mul(abs(x), -2));
  return div(mul(g, mul(u, 4)), square(add(u, 1)));
});
/**
 * σ(x) = 1/(1 + e⁻ˣ), elementwise. d σ(x) = σ(x) σ(−x) dx: PyTorch's σ(x)(1 − σ(x)) is 0 from x ≈ 17
 * (σ(x) rounds to 1) where the derivative, ≈ e⁻ˣ, is still a float32 number.
 * PyTorch `torch.sigmoid`, JAX `jax.nn.sigmoid`.
 */
export const sigmoid = unary('sigmoid', tf.sigmoid, (g, x, y) => mul(g, mul(y, sigmoid(neg(x)))));
/**
 * g·[at > 0]: relu's adjoint, at its input or its output (the same mask). Unrecorded, one fused GPU
 * pass where there is one (src/backend/fused.ts); recorded (createGraph), g times the constant
 * mask the kernel's reference makes.
 */
export function reluAdjoint(g: Tensor, at: Tensor): Tensor {
  if (!isGradEnabled()) return new Tensor(reluGrad(g.value, at.value));
  return mul(
    g,
    constantMask(() => leakyReluGradReference(tf.onesLike(at.value), at.value, 0)),
  );
}
/** max(x, 0), elementwise. d relu(x) = [x > 0] dx. PyTorch `torch.relu`, JAX `jax.nn.relu`. */
export const relu = unary(
  'relu',
  tf.relu,
  reluAdjoint,
  { kinks: [0] },
  { keepsInt: true, bools: { refuse: CAST_FIRST } },
);
/**
 * x where x > 0, else eˣ − 1. d elu(x) = [x > 0] dx + [x ≤ 0] eˣ dx, with eˣ computed as such (y + 1
 * would cancel to 0 below x ≈ −17). PyTorch `torch.nn.functional.elu`, JAX `jax.nn.elu`.
 */
export const elu = unary(
  'elu',
  eluAccurate,
  (g, x) => {
    // [x > 0] + e^(x [x ≤ 0]) [x ≤ 0]
    const below = constantMask(() => tf.cast(tf.lessEqual(x.value, 0), 'float32'));
    const above = constantMask(() => tf.cast(tf.greater(x.value, 0), 'float32'));
    return mul(g, add(above, mul(exp(mul(x, below)), below)));
  },
  { kinks: [0] },
  REFUSES_BOOL,
);
/** ln(1 + eˣ), elementwise. d ln(1+eˣ) = σ(x) dx. PyTorch `torch.nn.functional.softplus`, JAX `jax.nn.softplus`. */
export const softplus = unary('softplus', softplusModerateNegative, (g, x) => mul(g, sigmoid(x)), {}, REFUSES_BOOL);
/**
 * e^(−c x²) (c a power of 2) recorded about the constant xₕ (x rounded to 1/64) as kernels/gelu.ts
 * computes it, e^(−c xₕ²)·e^(−c (x − xₕ)(x + xₕ)), so that its derivative is −2cx e^(−c x²).
 */
function expMinusScaledSquare(x: Tensor, c: number): Tensor {
  const xh = constantMask(() => splitPoint(x.value));
  const head = constantMask(() => expMinusScaledSquareValue(xh.value, c)); // e^(−c xₕ²): its exponent is exact
  return mul(head, exp(mul(mul(sub(x, xh), add(x, xh)), -c)));
}
/**
 * The error function, elementwise. d erf x = (2/√π) e^(−x²) dx, without rounding x² (the exponential of
 * a rounded x² is 2x² ulp off: 160 at x = 9). PyTorch `torch.erf`, JAX `jax.scipy.special.erf`.
 */
export const erf = unary('erf', erfAccurate, (g, x) => mul(g, mul(expMinusScaledSquare(x, 1), 2 / Math.sqrt(Math.PI))));
/** float32's largest finite number and smallest normal one. */
const FLOAT32_MAX = 3.4028234663852886e38;
const FLOAT32_MIN_NORMAL = 2 ** -126;
/** f·φ(x) = f e^(−x²/2)/√(2π) (f = x, or 1), multiplied in the order that stays in float32's normal range. */
function timesNormalDensity(x: Tensor, f: Tensor | number): Tensor {
  const h = expMinusScaledSquare(x, 0.25); // h² = e^(−x²/2)
  return mul(typeof f === 'number' ? mul(h, f * INV_SQRT_2PI) : mul(mul(f, INV_SQRT_2PI), h), h);
}
/** Φ(x), the standard normal CDF, accurate in its lower tail (kernels/gelu.ts). dΦ(x) = φ(x) dx. */
const normalCdf = unary(
  'normalCdf',
  (x) => timesNormalCdf(x, 1),
  (g, x) => mul(g, timesNormalDensity(x, 1)),
);
/**
 * The derivative Φ(x) + x φ(x) that gelu's forward wrote beside its output (cpu and wasm, while
 * recording), by the output's value: the adjoint's one multiply. The output owns it (freed with it).
 */
const geluDerivatives = new WeakMap<tf.Tensor, tf.Tensor>();
const geluOp = unary(
  'gelu',
  (x) => {
    if (!isGradEnabled() || x.dtype !== 'float32' || !hasFused('geluWithDerivative')) return geluForward(x);
    const [y, d] = geluWithDerivative(x);
    geluDerivatives.set(y, d);
    return y;
  },
  // unrecorded on cpu and wasm, one pass (kernels/gelu.ts): g times the derivative the forward wrote, or
  // the adjoint's kernel where it did not (or the output that owns it is gone)
  (g, x, y) => {
    if (isGradEnabled() || !hasFused('geluGrad'))
      // x clipped to the finite floats keeps ∞·0 out of x φ(x) at ±∞, where its limit is 0
      return mul(g, add(normalCdf(x), timesNormalDensity(x, clip(x, -FLOAT32_MAX, FLOAT32_MAX))));
    const d = geluDerivatives.get(y.value);
    return new Tensor(d && !d.isDisposed ? tf.mul(g.value, d) : geluGrad(g.value, x.value));
  },
  {},
  REFUSES_BOOL,
);
/**
 * x·Φ(x), the exact GELU. gelu(x) = x Φ(x) (exact, PyTorch's default); d gelu = (Φ(x) + x φ(x)) dx.
 * Φ is computed from its lower tail, ½ erfc(−x/√2), rather than PyTorch's ½(1 + erf(x/√2)), which cancels:
 * PyTorch's float32 gelu is 4,500 ulp off at x = −4, 4% at −5 and 0 from −5.7, tapegrad's within a
 * few ulp down to x ≈ −14, where it leaves float32's normal range. At ±∞ gelu and its derivative are their
 * limits (gelu(−∞) = −0, derivative 0 and 1), where PyTorch's are NaN.
 * PyTorch `torch.nn.functional.gelu`, JAX `jax.nn.gelu(x, approximate=False)`.
 */
export const gelu = Object.assign(
  (x: Tensor): Tensor => {
    const y = geluOp(x);
    // the derivative the forward wrote: kept with the output while its graph may read it
    const d = geluDerivatives.get(y.value);
    if (d && !y.node) {
      geluDerivatives.delete(y.value);
      d.dispose();
    } else if (d && !y.owned.includes(d)) y.owned.push(d);
    return y;
  },
  { rule: geluOp.rule },
);

// ---- inverse trigonometric and hyperbolic functions, logarithms and powers of 2 and 10
/**
 * 1 − x² whose value is (1 − x)(1 + x), exact near |x| = 1, and whose derivative is −2x: the recorded
 * 1 − x² plus a constant correction (the derivative of the product would cancel near 0).
 */
function oneMinusSquare(x: Tensor): Tensor {
  const v = sub(1, square(x));
  return add(
    v,
    constantMask(() => tf.sub(tf.mul(tf.sub(1, x.value), tf.add(x.value, 1)), v.value)),
  );
}
/** arctan x, elementwise. d atan x = dx / (1 + x²). PyTorch `torch.atan`, JAX `jnp.arctan`. */
export const atan = unary('atan', tf.atan, (g, x) => div(g, add(square(x), 1)));
/**
 * arcsin x for |x| ≤ 1 (NaN beyond), elementwise. d asin x = dx / √((1 − x)(1 + x)).
 * PyTorch `torch.asin`, JAX `jnp.arcsin`.
 */
export const asin = unary('asin', tf.asin, (g, x) => mul(g, rsqrt(oneMinusSquare(x))), { domain: 'openUnit' });
/**
 * arccos x for |x| ≤ 1 (NaN beyond), elementwise, accurate on every backend.
 * d acos x = −dx / √((1 − x)(1 + x)).
 * PyTorch `torch.acos`, JAX `jnp.arccos`.
 */
export const acos = unary('acos', acosLowPrecision, (g, x) => neg(mul(g, rsqrt(oneMinusSquare(x)))), {
  domain: 'openUnit',
});
/**
 * sinh x, elementwise, accurate near 0 on every backend. d sinh x = cosh x dx.
 * PyTorch `torch.sinh`, JAX `jnp.sinh`.
 */
export const sinh = unary('sinh', sinhNearZero, (g, x) => mul(g, cosh(x)), { domain: 'moderate' });
/** cosh x, elementwise. d cosh x = sinh x dx. PyTorch `torch.cosh`, JAX `jnp.cosh`. */
export const cosh = unary('cosh', coshLargeArgument, (g, x) => mul(g, sinh(x)), { domain: 'moderate' });
/**
 * asinh x, elementwise, accurate near 0 and for large |x| on every backend. d asinh x = dx / √(x² + 1).
 * PyTorch `torch.asinh`, JAX `jnp.arcsinh`.
 */
export const asinh = unary('asinh', asinhSmallOrNegative, (g, x) => {
  // √(x² + 1) = m √((x/m)² + 1/m²) for the constant m = max(|x|, 1): x² would overflow past 1.8e19
  const m = constantMask(() => tf.maximum(tf.abs(x.value), 1));
  const c = constantMask(() => tf.div(1, tf.square(m.value)));
  return div(g, mul(sqrt(add(square(div(x, m)), c)), m));
});
/**
 * acosh x for x ≥ 1 (NaN below), elementwise, accurate near 1. d acosh x = dx / (√(x − 1) √(x + 1)).
 * PyTorch `torch.acosh`, JAX `jnp.arccosh`.
 */
export const acosh = unary('acosh', acoshNearOne, (g, x) => div(g, mul(sqrt(sub(x, 1)), sqrt(add(x, 1)))), {
  domain: 'aboveOne',
});
/**
 * atanh x for |x| < 1 (±∞ at ±1, NaN beyond), elementwise, accurate near 0. d atanh x = dx / ((1 − x)(1 + x)).
 * PyTorch `torch.atanh`, JAX `jnp.arctanh`.
 */
export const atanh = unary('atanh', atanhNearZero, (g, x) => div(g, oneMinusSquare(x)), {
  domain: 'openUnit',
});
/** log₂ x, elementwise. d log₂ x = dx / (x ln 2). PyTorch `torch.log2`, JAX `jnp.log2`. */
export const log2 = unary(
  'log2',
  (x) => tf.tidy(() => tf.mul(logZeroNegativeInfinity(x), Math.LOG2E)),
  (g, x) => div(g, mul(x, Math.LN2)),
  { domain: 'positive' },
);
/** log₁₀ x, elementwise. d log₁₀ x = dx / (x ln 10). PyTorch `torch.log10`, JAX `jnp.log10`. */
export const log10 = unary(
  'log10',
  (x) => tf.tidy(() => tf.mul(logZeroNegativeInfinity(x), Math.LOG10E)),
  (g, x) => div(g, mul(x, Math.LN10)),
  { domain: 'positive' },
);
/** 2ˣ, elementwise. d 2ˣ = 2ˣ ln 2 dx. PyTorch `torch.exp2`, JAX `jnp.exp2`. */
export const exp2 = unary(
  'exp2',
  (x) => tf.tidy(() => tf.pow(tf.scalar(2), x)),
  (g, _x, y) => mul(g, mul(y, Math.LN2)),
  { domain: 'moderate' },
);

// ---- activations
/** Below this x, σ(x) = eˣ/(1 + eˣ) is eˣ in float32. */
const SILU_EXP_BELOW = -20;
/**
 * x·σ(x), the sigmoid-weighted linear unit (swish). d silu(x) = σ(x)(1 + x σ(−x)) dx.
 * PyTorch `torch.nn.functional.silu`, JAX `jax.nn.silu`.
 */
export const silu = unary(
  'silu',
  // below −20, σ(x) = eˣ to float32 precision, and x eˣ is taken as (x e^(x/2)) e^(x/2), so that no
  // factor leaves float32's normal range (wasm's Sigmoid gives 0 for results below it)
  (x) =>
    tf.tidy(() => {
      const h = tf.exp(tf.mul(x, 0.5));
      return tf.where(tf.less(x, SILU_EXP_BELOW), tf.mul(tf.mul(x, h), h), tf.mul(x, tf.sigmoid(x)));
    }),
  // σ(−x), not 1 − σ(x), which rounds for large x
  (g, x) => mul(g, mul(sigmoid(x), add(mul(x, sigmoid(neg(x))), 1))),
  {},
  REFUSES_BOOL,
);
/**
 * log σ(x) = −softplus(−x), elementwise, as min(x, 0) − log1p(e^(−|x|)): no overflow for large −x and
 * full precision (≈ −e⁻ˣ) for large x. d log σ(x) = σ(−x) dx.
 * PyTorch `torch.nn.functional.logsigmoid`, JAX `jax.nn.log_sigmoid`.
 */
export const logSigmoid = unary(
  'logSigmoid',
  (x) => tf.tidy(() => tf.sub(tf.minimum(x, 0), log1pSmallArgument(tf.exp(tf.neg(tf.abs(x)))))),
  (g, x) => mul(g, sigmoid(neg(x))),
  {},
  REFUSES_BOOL,
);
/**
 * x / (1 + |x|), elementwise. d softsign(x) = dx / (1 + |x|)².
 * PyTorch `torch.nn.functional.softsign`, JAX `jax.nn.soft_sign`.
 */
export const softsign = unary(
  'softsign',
  (x) => tf.tidy(() => tf.div(x, tf.add(tf.abs(x), 1))),
  (g, x) => div(g, square(add(abs(x), 1))),
  { kinks: [0] },
  REFUSES_BOOL,
);
const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;
/**
 * λx where x > 0, else λα(eˣ − 1), with PyTorch's λ ≈ 1.0507 and α ≈ 1.6733; accurate near 0.
 * d selu(x) = λ [x > 0] dx + λα eˣ [x ≤ 0] dx.
 * PyTorch `torch.nn.functional.selu`, JAX `jax.nn.selu`.
 */
export const selu = unary(
  'selu',
  (x) =>
    tf.tidy(() =>
      tf.where(
        tf.greater(x, 0),
        tf.mul(x, SELU_SCALE),
        tf.mul(expm1SmallArgument(tf.minimum(x, 0)), SELU_SCALE * SELU_ALPHA),
      ),
    ),
  (g, x) => {
    // λ [x > 0] + λα e^(x [x ≤ 0]) [x ≤ 0]: eˣ itself, not y + λα, which cancels for large −x
    const below = constantMask(() => tf.cast(tf.lessEqual(x.value, 0), 'float32'));
    const above = constantMask(() => tf.mul(tf.cast(tf.greater(x.value, 0), 'float32'), SELU_SCALE));
    return mul(g, add(above, mul(exp(mul(x, below)), mul(below, SELU_SCALE * SELU_ALPHA))));
  },
  { kinks: [0] },
  REFUSES_BOOL,
);
/**
 * x·tanh(softplus(x)), elementwise, through tanh(ln(1 + eˣ)) = n/(n + 2), n = eˣ(eˣ + 2), for x < 0 (full
 * precision, ≈ x eˣ, for large −x), and 1 − 2u²/(1 + 2u + 2u²), u = e⁻ˣ, above: nothing overflows (not
 * even float16's 65504). d mish(x) = (t + x σ(x)(1 − t²)) dx, t = tanh(softplus x).
 * PyTorch `torch.nn.functional.mish`, JAX `jax.nn.mish`.
 */
export const mish = unary(
  'mish',
  (x) =>
    tf.tidy(() => {
      const u = tf.exp(tf.neg(tf.abs(x)));
      const u2 = tf.square(u);
      const below = tf.div(tf.mul(u, tf.add(u, 2)), tf.add(tf.mul(u, tf.add(u, 2)), 2));
      const above = tf.sub(1, tf.div(tf.mul(u2, 2), tf.add(tf.add(tf.mul(u, 2), tf.mul(u2, 2)), 1)));
      return tf.mul(x, tf.where(tf.less(x, 0), below, above));
    }),
  (g, x) => {
    // with p = σ(x), q = σ(−x) = e^(−softplus x): t = (1 − q²)/(1 + q²) = p(1 + q)/(1 + q²) and
    // 1 − t² = 4q²/(1 + q²)², products of positive factors (1 − t² itself cancels for large x)
    const p = sigmoid(x);
    const q = sigmoid(neg(x));
    const d = add(square(q), 1);
    return mul(g, add(div(mul(p, add(q, 1)), d), mul(mul(x, p), div(mul(square(q), 4), square(d)))));
  },
  {},
  REFUSES_BOOL,
);

// ---- rounding: piecewise constant, so zero gradient (as PyTorch's), except frac's
/** int32 stays as it is: rounding an integer is the identity. */
const integral = (f: (x: tf.Tensor) => tf.Tensor) => (x: tf.Tensor) => (x.dtype === 'int32' ? tf.clone(x) : f(x));
/** ⌊x⌋, elementwise. Zero gradient (PyTorch's; JAX's too). PyTorch `torch.floor`, JAX `jnp.floor`. */
export const floor = unary(
  'floor',
  integral(tf.floor),
  (g) => mul(g, 0),
  { jumps: 'integers' },
  REFUSES_BOOL_KEEPS_INT,
);
/** ⌈x⌉, elementwise. Zero gradient. PyTorch `torch.ceil`, JAX `jnp.ceil`. */
export const ceil = unary('ceil', integral(tf.ceil), (g) => mul(g, 0), { jumps: 'integers' }, REFUSES_BOOL_KEEPS_INT);
/**
 * x rounded to the nearest integer, halves to even (0.5 → 0, 1.5 → 2, −2.5 → −2), as PyTorch and JAX.
 * Zero gradient. PyTorch `torch.round`, JAX `jnp.round`.
 */
export const round = unary(
  'round',
  integral(tf.round),
  (g) => mul(g, 0),
  { jumps: 'halfIntegers' },
  REFUSES_BOOL_KEEPS_INT,
);
/** x rounded toward 0, elementwise. Zero gradient. PyTorch `torch.trunc`, JAX `jnp.trunc`. */
export const trunc = unary(
  'trunc',
  integral((x) => tf.tidy(() => tf.mul(tf.sign(x), tf.floor(tf.abs(x))))),
  (g) => mul(g, 0),
  { jumps: 'integers' },
  REFUSES_BOOL_KEEPS_INT,
);
/**
 * x − trunc(x), elementwise: the fractional part, with x's sign (frac(−1.5) = −0.5). d frac(x) = dx (as
 * PyTorch's). PyTorch `torch.frac`; JAX has none (`x - jnp.trunc(x)`).
 */
export const frac = unary(
  'frac',
  (x) => (x.dtype === 'int32' ? tf.zerosLike(x) : tf.tidy(() => tf.sub(x, tf.mul(tf.sign(x), tf.floor(tf.abs(x)))))),
  (g) => g,
  { jumps: 'integers' },
  REFUSES_BOOL_KEEPS_INT,
);

const leakyReluOp = defineOp<{ alpha: number }>({
  name: 'leakyRelu',
  forward: ([x], { alpha }) => tf.leakyRelu(x, alpha),
  // d leakyRelu(x) = [x > 0] dx + α [x ≤ 0] dx
  vjp: (g, [x], _y, { alpha }) => [
    () =>
      !isGradEnabled()
        ? new Tensor(leakyReluGrad(g.value, x.value, alpha))
        : mul(
            g,
            constantMask(() => leakyReluGradReference(tf.onesLike(x.value), x.value, alpha)),
          ),
  ],
});
/** x where x > 0, else αx (α = 0.01 by default). PyTorch `torch.nn.functional.leaky_relu`, JAX `jax.nn.leaky_relu`. */
export function leakyRelu(x: Tensor, alpha = 0.01): Tensor {
  if (typeof alpha !== 'number' || !Number.isFinite(alpha))
    throw new TapegradError('leakyRelu', `alpha must be a finite number, got ${String(alpha)}`);
  const t = asTensor('leakyRelu', x);
  if (t.dtype === 'bool') refuseBool('leakyRelu', 'a bool tensor', CAST_FIRST);
  return leakyReluOp([t], { alpha });
}
leakyRelu.rule = leakyReluOp.rule;

const clipOp = defineOp<{ lo: number; hi: number }>({
  name: 'clip',
  forward: ([x], { lo, hi }) => clipByValueFloat32Only(x, lo, hi),
  // d clip(x) = [lo ≤ x ≤ hi] dx
  vjp: (g, [x], _y, { lo, hi }) => [
    () =>
      mul(
        g,
        constantMask(() => tf.cast(tf.logicalAnd(tf.greaterEqual(x.value, lo), tf.lessEqual(x.value, hi)), 'float32')),
      ),
  ],
});
/** x limited to [lo, hi], elementwise. PyTorch `torch.clamp`, JAX `jnp.clip`. */
export function clip(x: Tensor, lo: number, hi: number): Tensor {
  if (!(lo <= hi)) throw new TapegradError('clip', `lo (${lo}) must not exceed hi (${hi})`);
  const t = asTensor('clip', x);
  // an int32 tensor clipped to a non-integer bound is computed in float32, as PyTorch's clamp (TF.js
  // would floor the bound); a bool tensor as 0 and 1, in int32 or float32 by the bounds
  if (t.dtype !== 'float32' && !(Number.isInteger(lo) && Number.isInteger(hi)))
    return applyToFloat(t, (f) => clipOp([f], { lo, hi }));
  if (t.dtype === 'bool') return new Tensor(tf.tidy(() => clipByValueFloat32Only(tf.cast(t.value, 'int32'), lo, hi)));
  return clipOp([t], { lo, hi });
}
clip.rule = clipOp.rule;

/** hardtanh's options with their defaults; an error names `fn` (the function, or the layer). */
export function hardtanhBounds(fn: string, opts: unknown): { min: number; max: number } {
  if (typeof opts !== 'object' || opts === null)
    throw new TapegradError(fn, `options must be { min, max }, got ${String(opts)}`);
  const { min = -1, max = 1 } = checkOptions(fn, opts as { min?: unknown; max?: unknown }, ['min', 'max']);
  if (typeof min !== 'number' || typeof max !== 'number' || !(min <= max))
    throw new TapegradError(fn, `min (${String(min)}) must be a number not above max (${String(max)})`);
  return { min, max };
}
const hardtanhOp = defineOp<{ min: number; max: number }>({
  name: 'hardtanh',
  forward: ([x], { min, max }) => clipByValueFloat32Only(x, min, max),
  // d hardtanh(x) = [min < x < max] dx: zero at the bounds themselves, unlike clip
  vjp: (g, [x], _y, { min, max }) => [
    () =>
      mul(
        g,
        constantMask(() => tf.cast(tf.logicalAnd(tf.greater(x.value, min), tf.less(x.value, max)), 'float32')),
      ),
  ],
});
/**
 * x limited to [min, max] (−1 and 1 by default), elementwise. Its gradient is zero at the bounds
 * themselves (PyTorch's hardtanh; `clip`'s, as `torch.clamp`'s, is one there). PyTorch
 * `torch.nn.functional.hardtanh(x, min_val, max_val)`, JAX `jax.nn.hard_tanh` (fixed at ±1).
 */
export function hardtanh(x: Tensor, opts: { min?: number; max?: number } = {}): Tensor {
  const t = asTensor('hardtanh', x);
  if (t.dtype === 'bool') refuseBool('hardtanh', 'a bool tensor', CAST_FIRST);
  return hardtanhOp([t], hardtanhBounds('hardtanh', opts));
}
hardtanh.rule = hardtanhOp.rule;

// ---- binary, broadcasting
/**
 * a + b, broadcasting; two bool tensors give their logical or. d(a+b) = da + db.
 * PyTorch `torch.add`, JAX `jnp.add`.
 */
export const add = binary(
  'add',
  tf.add,
  (g) => g,
  (g) => g,
  {},
  { bools: { pair: tf.logicalOr } },
);
/** a − b, broadcasting; bool tensors refused, as PyTorch. d(a−b) = da − db. PyTorch `torch.sub`, JAX `jnp.subtract`. */
export const sub = binary(
  'sub',
  tf.sub,
  (g) => g,
  (g) => neg(g),
  {},
  { bools: { refuse: (pair) => (pair ? 'for exclusive or, use notEqual(a, b)' : INVERT_MASK) } },
);
/**
 * a·b, elementwise, broadcasting; two bool tensors give their logical and. d(ab) = b da + a db.
 * PyTorch `torch.mul`, JAX `jnp.multiply`.
 */
export const mul = binary(
  'mul',
  tf.mul,
  (g, _a, b) => mul(g, b),
  (g, a) => mul(g, a),
  { domain: 'moderate' },
  { bools: { pair: tf.logicalAnd } },
);
/**
 * a / b, broadcasting; true division (int32 operands give float32). d(a/b) = da/b − (a/b²) db = da/b − y/b db.
 * PyTorch `torch.div`, JAX `jnp.divide`.
 */
export const div = binary(
  'div',
  divEqualOperandsNaN,
  (g, _a, b) => div(g, b),
  (g, _a, b, y) => neg(div(mul(g, y), b)),
  { domain: ['real', 'nonzero'] },
  { trueDivision: true },
);
// d aᵇ = b aᵇ⁻¹ da + aᵇ ln a db; as PyTorch: the da term is 0 where b = 0 (0·0⁻¹ would be NaN at
// a = 0; b is replaced by 1 there so that no NaN reaches a second derivative either), the db term 0 where a = 0.
// Where b − 1 rounds in float32 (b tiny, or below −1), aᵇ⁻¹ moves by |ln a| times its rounding
// error, 50 ulp for huge or tiny a: there aᵇ⁻¹ is taken as y/a, y = aᵇ, where y is a normal float32
// number and a ≠ 0 (where y overflows or underflows, so does aᵇ⁻¹ but for b ≥ 1, where b − 1 is
// exact). Each branch gets a harmless operand where it is not taken, so that no ∞ times a zero
// cotangent makes a NaN in a second derivative.
const powBinary = binary(
  'pow',
  powAsInC,
  (g, a, b, y) => {
    const b0 = equal(b, 0);
    const b1 = where(b0, 1, b);
    if (y.dtype !== 'float32') return mul(g, where(b0, 0, mul(b, pow(a, sub(b1, 1)))));
    const viaY = constantMask(() => {
      const m = tf.abs(y.value);
      const rounds = tf.notEqual(tf.add(tf.sub(b.value, 1), 1), b.value);
      const normal = tf.logicalAnd(tf.greaterEqual(m, FLOAT32_MIN_NORMAL), tf.lessEqual(m, FLOAT32_MAX));
      return tf.logicalAnd(tf.logicalAnd(rounds, normal), tf.notEqual(a.value, 0));
    });
    const power = where(viaY, div(y, where(viaY, a, 1)), pow(where(viaY, 1, a), sub(b1, 1)));
    return mul(g, where(b0, 0, mul(power, b)));
  },
  (g, a, _b, y) => where(equal(a, 0), 0, mul(g, mul(y, log(a)))),
  { domain: ['positive', 'moderate'] },
  { bools: { pair: { refuse: "cast one of them first (a.cast('int32'))" } } },
);
/**
 * aᵇ, broadcasting; b may be a tensor. Int32 and bool tensors to a negative integer power are refused
 * (PyTorch does; TF.js gives 0 for 2⁻¹); to a non-integer number they compute in float32.
 * PyTorch `torch.pow`, JAX `jnp.power`.
 */
export const pow: BinaryFn = Object.assign(
  (a: TensorLike, b: TensorLike) => {
    // an integer power of integers stays an integer, where a negative one has no value; a
    // non-integer power promotes to float32
    if (a instanceof Tensor && a.dtype !== 'float32' && Number.isInteger(b) && (b as number) < 0) {
      throw new TapegradError(
        'pow',
        `an ${a.dtype} tensor to a negative power (${b}) is not an integer: cast it to float32 first`,
      );
    }
    return powBinary(a, b);
  },
  { rule: powBinary.rule },
);
/**
 * The larger of a and b, elementwise, broadcasting. d max(a,b) = [a > b] da + [a < b] db; ties split the gradient
 * evenly, as JAX and PyTorch do.
 * PyTorch `torch.maximum`, JAX `jnp.maximum`.
 */
export const maximum = binary(
  'maximum',
  tf.maximum,
  (g, a, b) => mul(g, tieMask(greater(a, b), equal(a, b))),
  (g, a, b) => mul(g, tieMask(less(a, b), equal(a, b))),
  {},
  { bools: { pair: tf.logicalOr } },
);
/**
 * The smaller of a and b, elementwise, broadcasting. d min(a,b) = [a < b] da + [a > b] db; ties split evenly.
 * PyTorch `torch.minimum`, JAX `jnp.minimum`.
 */
export const minimum = binary(
  'minimum',
  tf.minimum,
  (g, a, b) => mul(g, tieMask(less(a, b), equal(a, b))),
  (g, a, b) => mul(g, tieMask(greater(a, b), equal(a, b))),
  {},
  { bools: { pair: tf.logicalAnd } },
);

/** The constant m = max(|x|, |y|) by which atan2's adjoint scales x and y: x² + y² over- or underflows. */
const atan2Scale = (y: Tensor, x: Tensor) => constantMask(() => tf.maximum(tf.abs(x.value), tf.abs(y.value)));
/** (x² + y²)/m, computed as m((x/m)² + (y/m)²). */
function atan2Norm(y: Tensor, x: Tensor): Tensor {
  const m = atan2Scale(y, x);
  return mul(add(square(div(x, m)), square(div(y, m))), m);
}
/**
 * The angle of the point (x, y) in (−π, π], elementwise, broadcasting; integers compute in float32.
 * d atan2(y, x) = (x dy − y dx) / (x² + y²). PyTorch `torch.atan2(y, x)`, JAX `jnp.arctan2(y, x)`.
 */
export const atan2 = binary(
  'atan2',
  atan2SignedZero,
  (g, y, x) => div(mul(g, div(x, atan2Scale(y, x))), atan2Norm(y, x)),
  (g, y, x) => neg(div(mul(g, div(y, atan2Scale(y, x))), atan2Norm(y, x))),
  // x > 0 keeps clear of the cut along x < 0 and of the origin
  { domain: ['real', 'positive'] },
  { trueDivision: true },
);

/**
 * A 0/1 (or other piecewise-constant) factor of a gradient, made from TF.js ops without recording:
 * its own derivative is zero almost everywhere. A multiply by it is far cheaper than where() on
 * wasm (tf.where with a broadcast scalar is far slower than tf.mul there: docs/benchmarks.md).
 */
function constantMask(make: () => tf.Tensor): Tensor {
  return new Tensor(tf.tidy(make));
}

/** 1 where `win`, ½ where `tie`, else 0 — a constant of the gradient (no gradient through it). */
function tieMask(win: Tensor, tie: Tensor): Tensor {
  return noGrad(() => add(cast(win, 'float32'), mul(cast(tie, 'float32'), 0.5)));
}

// ---- where(cond, a, b): a where cond holds, else b; all three broadcast together
const whereOp = defineOp<{ shape: number[] }>({
  name: 'where',
  // operands are broadcast to the full shape first: tf.where with a broadcast scalar is slow on wasm
  forward: ([c, a, b], { shape }) => tf.tidy(() => tf.where(fill(c, shape), fill(a, shape), fill(b, shape))),
  // d where(c, a, b) = [c] da + [¬c] db
  vjp: (g, [c, a, b]) => [null, () => unbroadcast(where(c, g, 0), a.shape), () => unbroadcast(where(c, 0, g), b.shape)],
});
const fill = (t: tf.Tensor, shape: number[]) => (t.shape.join() === shape.join() ? t : broadcastToEmptyShape(t, shape));
/**
 * a where cond is true, else b, broadcasting, in a's and b's result type (src/dtypes.ts: an int32
 * tensor and 0.5 give float32); only a float32 a or b receives a gradient. PyTorch `torch.where`,
 * JAX `jnp.where`.
 */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const c = asTensor('where', cond, 'the condition');
  if (c.dtype !== 'bool') throw new TapegradError('where', `the condition must be a bool tensor, got ${c.dtype}`);
  const dtype = resultTypeOf('where', [a, b]);
  const shapes = [c.shape, ...[a, b].filter((x): x is Tensor => x instanceof Tensor).map((x) => x.shape)];
  const shape = broadcastShapes('where', ...shapes);
  return promoted([a, b], dtype, ([x, y]) => applyWithConstants(whereOp, 'where', [c, x, y], { shape }, dtype));
}
where.rule = whereOp.rule;

// ---- not differentiable: comparisons, logic, casts (results never require grad)
/**
 * A comparison (in the operands' result type, src/dtypes.ts: an int32 tensor meets −0.5 in float32,
 * made int32 it would become 0) or, with `logic`, a logic op (any operand taken as true where it is
 * not 0, as PyTorch's logical_and and logical_or take every dtype).
 */
function constantBinary(name: string, f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, { logic = false } = {}) {
  return (a: TensorLike, b: TensorLike): Tensor => {
    if (!(a instanceof Tensor || b instanceof Tensor))
      throw new TapegradError(name, 'needs at least one Tensor operand');
    const compared = resultTypeOf(name, [a, b]);
    broadcastShapes(name, ...[a, b].map((v) => (v instanceof Tensor ? v.shape : [])));
    const dtype = logic ? 'bool' : compared;
    return promoted([a, b], dtype, (xs) => {
      const [ta, tb] = xs.map((v) => toTensor(name, logic && typeof v === 'number' ? Number(v !== 0) : v, dtype));
      const out = new Tensor(tf.tidy(() => f(ta.value, tb.value)));
      if (ta !== xs[0]) ta.dispose();
      if (tb !== xs[1]) tb.dispose();
      return out;
    });
  };
}
/** a > b, elementwise (bool, not differentiable). PyTorch `torch.gt`, JAX `jnp.greater`. */
export const greater = constantBinary('greater', tf.greater);
/** a ≥ b, elementwise (bool, not differentiable). PyTorch `torch.ge`, JAX `jnp.greater_equal`. */
export const greaterEqual = constantBinary('greaterEqual', tf.greaterEqual);
/** a < b, elementwise (bool, not differentiable). PyTorch `torch.lt`, JAX `jnp.less`. */
export const less = constantBinary('less', tf.less);
/** a ≤ b, elementwise (bool, not differentiable). PyTorch `torch.le`, JAX `jnp.less_equal`. */
export const lessEqual = constantBinary('lessEqual', tf.lessEqual);
/** a = b, elementwise (bool, not differentiable). PyTorch `torch.eq`, JAX `jnp.equal`. */
export const equal = constantBinary('equal', tf.equal);
/** a ≠ b, elementwise (bool, not differentiable). PyTorch `torch.ne`, JAX `jnp.not_equal`. */
export const notEqual = constantBinary('notEqual', tf.notEqual);
/** a ∧ b on bool tensors. PyTorch `torch.logical_and`, JAX `jnp.logical_and`. */
export const logicalAnd = constantBinary('logicalAnd', tf.logicalAnd, { logic: true });
/** a ∨ b on bool tensors. PyTorch `torch.logical_or`, JAX `jnp.logical_or`. */
export const logicalOr = constantBinary('logicalOr', tf.logicalOr, { logic: true });
/** ¬a on a bool tensor. PyTorch `torch.logical_not`, JAX `jnp.logical_not`. */
export function logicalNot(x: Tensor): Tensor {
  const t = asTensor('logicalNot', x);
  if (t.dtype !== 'bool') throw new TapegradError('logicalNot', `needs a bool tensor, got ${t.dtype}`);
  return new Tensor(tf.logicalNot(t.value));
}
/**
 * A copy in another dtype; not differentiable (a float32 → float32 cast is a plain copy).
 * PyTorch `torch.Tensor.to`, JAX `jnp.astype`.
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  const t = asTensor('cast', x);
  if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'bool')
    throw new TapegradError('cast', `unknown dtype '${String(dtype)}' (float32, int32 or bool)`);
  return new Tensor(tf.cast(t.value, dtype));
}
const cloneOp = defineOp<void>({
  name: 'clone',
  forward: ([x]) => tf.clone(x),
  // d clone(x) = dx
  vjp: (g) => [() => g],
});
/**
 * A copy with its own memory that stays on the tape (the gradient flows through it, unlike `detach`).
 * PyTorch `torch.clone`, JAX `jnp.copy`.
 */
export function clone(x: Tensor): Tensor {
  const t = asTensor('clone', x);
  return t.dtype === 'float32' ? cloneOp([t]) : new Tensor(tf.clone(t.value));
}
clone.rule = cloneOp.rule;
/** Is each entry finite (not NaN or ±Inf)? PyTorch `torch.isfinite`, JAX `jnp.isfinite`. */
export function isFinite(x: Tensor): Tensor {
  return new Tensor(tf.isFinite(asTensor('isFinite', x).value));
}
