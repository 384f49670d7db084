// Sin, Cos and Tan on webgl and webgpu with their own argument reduction, in place of TF.js's,
// which call the shading language's sin, cos and tan. Neither WGSL nor GLSL bounds their error
// outside [−π, π] (Vulkan and WGSL allow 2⁻¹¹ absolute inside), and drivers reduce the argument by
// a float32 2π: sin(1e4) is 7e−4 off on SwiftShader, and its polynomial is 2e−4 off inside
// [−π, π], enough that finite differences of cos disagree with −sin by 2%.
//
// Here x is reduced in float32 to y = x − n·π/2 (n the nearest integer to x·2/π) by Cody and
// Waite's method with π/2 in five parts: the first four with at most 6 significant bits, so that
// n·Pₖ is exact for |n| < 2¹⁸ and each subtraction exact, the last rounded to float32. Then
// sin y or cos y on [−π/4, π/4] is the minimax polynomial of src/backend/float32-sin-cos.ts (musl's
// __sindf and __cosdf), evaluated in float32, and n mod 4 chooses and signs it; tan is their
// quotient. For |x| < 2¹⁸·π/2 ≈ 411,774 the results are within 1e−7 of sin and cos (tan within a
// few units in the last place, relative); beyond, where float32 values are 1/32 apart and more, the
// reduction would lose precision as x grows, and the shading language's own function runs. A fused
// multiply-add, which compilers may form, only helps.
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
/** Below this |x| (2¹⁸·π/2), n·Pₖ is exact and the reduction keeps float32 accuracy. */
export const REDUCED_EXACTLY_BELOW = 411774;
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

/**
 * The shader statements, in the syntax both languages share once `decl` declares a float (`let` in
 * WGSL, `float` in GLSL) and `sel(a, b, c)` picks b when c; they read `a` and set `r`.
 */
function body(f: ReducedTrig, decl: string, sel: (a: string, b: string, c: string) => string): string {
  const reduce = PIO2_PARTS.map((p, k) => `${decl} y${k + 1} = y${k} - n * ${lit(p)};`).join('\n');
  const y = `y${PIO2_PARTS.length}`;
  const odd = '(q == 1.0 || q == 3.0)';
  const result =
    f === 'tan'
      ? `r = ${sel('s / c', '-c / s', odd)};`
      : `${decl} v = ${sel('s', 'c', odd)};\nr = ${sel('v', '-v', 'q >= 2.0')};`;
  return `
    ${decl} n = floor(a * ${lit(INV_PIO2)} + 0.5);
    ${decl} y0 = a;
    ${reduce}
    ${decl} z = ${y} * ${y};
    ${decl} s = ${y} + ${y} * z * ${horner(SIN, 'z')};
    ${decl} c = 1.0 + z * ${horner(COS, 'z')};
    // n mod 4, exact for every float32 n; cos x = sin(x + π/2): one quadrant on
    ${decl} q0 = n - 4.0 * floor(n * 0.25)${f === 'cos' ? ' + 1.0' : ''};
    ${decl} q = ${sel('q0', 'q0 - 4.0', 'q0 >= 4.0')};
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
    } else if (abs(a) >= ${lit(REDUCED_EXACTLY_BELOW)}) {
      r = ${f}(a);
    } else {
      ${body(f, 'let', (a, b, c) => `select(${a}, ${b}, ${c})`)}
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
    } else if (abs(a) >= ${lit(REDUCED_EXACTLY_BELOW)}) {
      r = ${f}(a);
    } else {
      ${body(f, 'float', (a, b, c) => `(${c} ? ${b} : ${a})`)}
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
