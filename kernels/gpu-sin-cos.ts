// Sin, Cos and Tan on webgl and webgpu with their own argument reduction, in place of TF.js's,
// which call the shading language's sin, cos and tan. Neither WGSL nor GLSL bounds their error
// outside [−π, π] (Vulkan and WGSL allow 2⁻¹¹ absolute inside), and drivers reduce the argument by
// a float32 2π: sin(1e4) is 7e−4 off on SwiftShader, and its polynomial is 2e−4 off inside
// [−π, π], enough that finite differences of cos disagree with −sin by 2%.
//
// For |x| < 2¹⁸·π/2 ≈ 411,774, x is reduced in float32 to y = x − n·π/2 (n the nearest integer to
// x·2/π) by Cody and Waite's method with π/2 in five parts: the first four with at most 6
// significant bits, so that n·Pₖ is exact for |n| < 2¹⁸ and each subtraction exact, the last
// rounded to float32. Larger |x| = m·2ᵏ (m the 24-bit significand, k ≥ −5) are reduced by Payne and
// Hanek's method in 32-bit integers: only a 96-bit window of 2/π's bits matters (the bits before it
// make m·2ᵏ·2/π a multiple of 4, those after it change it by under 2⁻⁷⁰), so n mod 4 and the
// fraction x·2/π − n, to 64 bits, are read from the product of m and that window (in 16-bit limbs,
// whose products fit 32 bits). Then sin y or cos y on [−π/4, π/4] is the minimax polynomial of
// src/backend/float32-sin-cos.ts (musl's __sindf and __cosdf), evaluated in float32, and n mod 4
// chooses and signs it; tan is their quotient. Results are within 1e−7 of sin and cos (tan within
// a few units in the last place, relative) for every finite float32. A fused multiply-add, which
// compilers may form, only helps.
// NaN and ±∞ give NaN; sin and tan of |x| < 2⁻¹² are x (so −0 stays −0), cos is 1.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { glslProgram, runGlsl, runWgsl, wgslProgram } from './gpu-program.js';

export type ReducedTrig = 'sin' | 'cos' | 'tan';
const KERNEL: Record<ReducedTrig, string> = { sin: 'Sin', cos: 'Cos', tan: 'Tan' };

/** π/2 as the sum of these: 6-bit parts then the rest rounded to float32 (all exact float32 values). */
export const PIO2_PARTS = [
  1.5625, 0.008056640625, 0.00023651123046875, 0.0000031590461730957031, 1.5893254712295857e-8,
];
/** Below this |x| (2¹⁸·π/2), n·Pₖ is exact and Cody and Waite's reduction keeps float32 accuracy. */
export const REDUCED_EXACTLY_BELOW = 411774;
/**
 * 2/π's first 224 bits after the point, in 32-bit words, after a zero word: the window for an
 * exponent e starts at bit e + 7 of this sequence (bits before the point are 0).
 */
export const TWO_OVER_PI_WORDS = [
  0, 0xa2f9836e, 0x4e441529, 0xfc2757d1, 0xf534ddc0, 0xdb629599, 0x3c439041, 0xfe5163ab,
];
/** π/2 as a 12-bit part (its products with 12-bit values are exact in float32) and the rest. */
const PIO2_12 = 1.57080078125;
const PIO2_REST = Math.fround(Math.PI / 2 - PIO2_12);
const f32 = Math.fround;
const INV_PIO2 = f32(2 / Math.PI);
const SIN = [-0.16666666641626524, 0.008333329385889463, -0.00019839334836096632, 0.000002718311493989822].map(f32);
const COS = [-0.499999997251031, 0.04166662332373906, -0.001388676377460993, 0.00002439044879627741].map(f32);
const TINY = 2 ** -12;

/** A float32 value as a literal both languages read exactly (the shortest decimal of its float64). */
const lit = (v: number) => {
  const s = String(v);
  return /[.e]/.test(s) ? s : `${s}.0`;
};
/** c₀ + z(c₁ + z(c₂ + …)) as an expression. */
const horner = (c: number[], z: string) =>
  c.slice(0, -1).reduceRight((acc, k) => `(${lit(k)} + ${z} * ${acc})`, lit(c[c.length - 1]));

/** What the two shading languages spell differently. */
interface Shading {
  /** Declares an immutable float, uint, int: `let` in WGSL, the type in GLSL. */
  float: string;
  uint: string;
  int: string;
  /** Declares a mutable float. */
  mutableFloat: (name: string) => string;
  /** b where c, else a. */
  sel: (a: string, b: string, c: string) => string;
  bitsOf: (x: string) => string;
  fromBits: (u: string) => string;
  toFloat: (i: string) => string;
  /** A uint's bits as an int. */
  asInt: (u: string) => string;
  /** Declares the uint array T of TWO_OVER_PI_WORDS and reads T[i] for a uint i. */
  table: string;
  at: (i: string) => string;
}

const WGSL: Shading = {
  float: 'let',
  uint: 'let',
  int: 'let',
  mutableFloat: (name) => `var ${name} : f32`,
  sel: (a, b, c) => `select(${a}, ${b}, ${c})`,
  bitsOf: (x) => `bitcast<u32>(${x})`,
  fromBits: (u) => `bitcast<f32>(${u})`,
  toFloat: (i) => `f32(${i})`,
  asInt: (u) => `bitcast<i32>(${u})`,
  table: `var T = array<u32, ${TWO_OVER_PI_WORDS.length}>(${TWO_OVER_PI_WORDS.map((w) => `${w}u`).join(', ')});`,
  at: (i) => `T[${i}]`,
};

const GLSL: Shading = {
  float: 'float',
  uint: 'uint',
  int: 'int',
  mutableFloat: (name) => `float ${name}`,
  sel: (a, b, c) => `(${c} ? ${b} : ${a})`,
  bitsOf: (x) => `floatBitsToUint(${x})`,
  fromBits: (u) => `uintBitsToFloat(${u})`,
  toFloat: (i) => `float(${i})`,
  asInt: (u) => `int(${u})`,
  table: `uint T[${TWO_OVER_PI_WORDS.length}] = uint[${TWO_OVER_PI_WORDS.length}](${TWO_OVER_PI_WORDS.map((w) => `${w}u`).join(', ')});`,
  at: (i) => `T[int(${i})]`,
};

/** Cody and Waite's reduction of a (|a| < REDUCED_EXACTLY_BELOW): sets n and y. */
function codyWaite(L: Shading): string {
  const reduce = PIO2_PARTS.map((p, k) => `${L.float} y${k + 1} = y${k} - n0 * ${lit(p)};`).join('\n');
  return `
      ${L.float} n0 = floor(a * ${lit(INV_PIO2)} + 0.5);
      ${L.float} y0 = a;
      ${reduce}
      n = n0;
      y = y${PIO2_PARTS.length};`;
}

/**
 * Payne and Hanek's reduction of a (|a| ≥ REDUCED_EXACTLY_BELOW, finite): sets n (its value mod
 * 4 is n's) and y, computing the product of the significand and 96 bits of 2/π in 16-bit limbs.
 */
function payneHanek(L: Shading): string {
  const shifted = (k: number) => `${L.uint} w${k} = (t${k} << s) | ((t${k + 1} >> 1u) >> (31u - s));`; // t >> (32 − s), 0 for s = 0
  // the window W = w0·2⁶⁴ + w1·2³² + w2 in limbs v0 (lowest) … v5; m = m1·2¹⁶ + m0
  const limbs = [2, 1, 0].flatMap((k, i) => [
    `${L.uint} v${2 * i} = w${k} & 0xffffu;`,
    `${L.uint} v${2 * i + 1} = w${k} >> 16u;`,
  ]);
  // column c of m·W: the low halves of mₐ·v_(c−a), the high halves of mₐ·v_(c−1−a), the carry
  const columns = [0, 1, 2, 3, 4, 5].map((c) => {
    const terms = c > 0 ? [`(c${c - 1} >> 16u)`] : [];
    for (const a of [0, 1]) if (c - a >= 0) terms.push(`((m${a} * v${c - a}) & 0xffffu)`);
    for (const a of [0, 1]) if (c - 1 - a >= 0) terms.push(`((m${a} * v${c - 1 - a}) >> 16u)`);
    return `${L.uint} c${c} = ${terms.join(' + ')};\n      ${L.uint} p${c} = c${c} & 0xffffu;`;
  });
  return `
      ${L.uint} bits = ${L.bitsOf('abs(a)')};
      ${L.uint} start = (bits >> 23u) - 120u; // the exponent + 7
      ${L.uint} m0 = bits & 0xffffu;
      ${L.uint} m1 = ((bits >> 16u) & 0x7fu) | 0x80u;
      ${L.table}
      ${L.uint} i = start >> 5u;
      ${L.uint} s = start & 31u;
      ${[0, 1, 2, 3].map((k) => `${L.uint} t${k} = ${L.at(k ? `i + ${k}u` : 'i')};`).join('\n      ')}
      ${[0, 1, 2].map(shifted).join('\n      ')}
      ${limbs.join('\n      ')}
      ${columns.join('\n      ')}
      // m·W·2⁻⁹⁴ = |a|·2/π mod 4: its integer part is bits 94–95, its fraction bits 93–30 (fhi, flo)
      ${L.uint} fhi = ((p5 & 0x3fffu) << 18u) | (p4 << 2u) | (p3 >> 14u);
      ${L.uint} flo = ((p3 & 0x3fffu) << 18u) | (p2 << 2u) | (p1 >> 14u);
      // a fraction ≥ ½ rounds n up, and fhi·2³² + flo read as a signed number is then the fraction − 1
      ${L.uint} nq = (p5 >> 14u) + (fhi >> 31u);
      ${L.float} uhi = ${L.toFloat(L.asInt('fhi & 0xffffff00u'))} * ${lit(2 ** -32)};
      ${L.float} ulo = ${L.toFloat('fhi & 0xffu')} * ${lit(2 ** -32)} + ${L.toFloat('flo')} * ${lit(2 ** -64)};
      // y = (uhi + ulo)·π/2 with uhi's top 12 bits times π/2's exactly
      ${L.float} u1 = ${L.fromBits(`${L.bitsOf('uhi')} & 0xfffff000u`)};
      ${L.float} u2 = (uhi - u1) + ulo;
      ${L.float} yabs = u1 * ${lit(PIO2_12)} + (u1 * ${lit(PIO2_REST)} + u2 * ${lit(Math.fround(Math.PI / 2))});
      n = ${L.sel(L.toFloat('nq'), `-${L.toFloat('nq')}`, 'a < 0.0')};
      y = ${L.sel('yabs', '-yabs', 'a < 0.0')};`;
}

/** The shader statements: read `a`, set `r` (a finite, not tiny). */
function body(f: ReducedTrig, L: Shading): string {
  const odd = '(q == 1.0 || q == 3.0)';
  const result =
    f === 'tan'
      ? `r = ${L.sel('sn / cs', '-cs / sn', odd)};`
      : `${L.float} v = ${L.sel('sn', 'cs', odd)};\n    r = ${L.sel('v', '-v', 'q >= 2.0')};`;
  return `
    ${L.mutableFloat('n')};
    ${L.mutableFloat('y')};
    if (abs(a) < ${lit(REDUCED_EXACTLY_BELOW)}) {${codyWaite(L)}
    } else {${payneHanek(L)}
    }
    ${L.float} z = y * y;
    ${L.float} sn = y + y * z * ${horner(SIN, 'z')};
    ${L.float} cs = 1.0 + z * ${horner(COS, 'z')};
    // n mod 4, exact for every float32 n; cos x = sin(x + π/2): one quadrant on
    ${L.float} q0 = n - 4.0 * floor(n * 0.25)${f === 'cos' ? ' + 1.0' : ''};
    ${L.float} q = ${L.sel('q0', 'q0 - 4.0', 'q0 >= 4.0')};
    ${result}`;
}

/** The WGSL program's body: one entry per invocation, over the flat tensor. */
export function trigWgsl(f: ReducedTrig): string {
  return `
    let a = f32(x[index]);
    var r : f32;
    if ((bitcast<u32>(a) & 0x7fffffffu) >= 0x7f800000u) {
      r = uniforms.NAN;
    } else if (abs(a) < ${lit(TINY)}) {
      r = ${f === 'cos' ? '1.0' : 'a'};
    } else {
      ${body(f, WGSL)}
    }
    setOutputAtIndex(index, r);`;
}

/** The GLSL program's body (main's). */
export function trigGlsl(f: ReducedTrig): string {
  return `
    float a = getXAtOutCoords();
    float r;
    if ((floatBitsToUint(a) & 0x7fffffffu) >= 0x7f800000u) {
      r = uintBitsToFloat(0x7fc00000u);
    } else if (abs(a) < ${lit(TINY)}) {
      r = ${f === 'cos' ? '1.0' : 'a'};
    } else {
      ${body(f, GLSL)}
    }
    setOutput(r);`;
}

const originals = new Map<string, KernelConfig>();

/** TF.js's own kernel (`Sin`, `Cos`, `Tan` on `webgl` or `webgpu`) once replaced: for the tests. */
export const tfjsGpuTrig = (f: ReducedTrig, backendName: 'webgl' | 'webgpu'): KernelConfig | undefined =>
  originals.get(`${KERNEL[f]}/${backendName}`);

function kernelFunc(f: ReducedTrig, backendName: 'webgl' | 'webgpu', original: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    if (x.dtype !== 'float32') return original(args);
    return backendName === 'webgpu'
      ? runWgsl(args.backend, wgslProgram(`tapegrad_reduced_${f}`, x.shape, ['x'], [], trigWgsl(f)), [x])
      : runGlsl(args.backend, glslProgram(x.shape, ['x'], [], trigGlsl(f)), [x]);
  };
}

/** Replaces `backendName`'s Sin, Cos and Tan kernels by the range-reduced ones (once). */
export function replaceGpuTrig(backendName: 'webgl' | 'webgpu'): void {
  for (const f of Object.keys(KERNEL) as ReducedTrig[]) {
    const key = `${KERNEL[f]}/${backendName}`;
    const current = tf.getKernel(KERNEL[f], backendName);
    if (originals.has(key) || !current) continue;
    originals.set(key, current);
    tf.unregisterKernel(KERNEL[f], backendName);
    tf.registerKernel({
      kernelName: KERNEL[f],
      backendName,
      kernelFunc: kernelFunc(f, backendName, current.kernelFunc),
    });
  }
}
