// sin and cos of float32 values, faster than Math.sin and Math.cos (which work for float64) and as
// accurate once rounded to float32: within one unit in the last place of the float64 value (the
// tests find at most half a unit). The argument is reduced in float64 to y = x − n·π/2 with π/2 in
// two parts (Cody and Waite: n·PIO2_HI is exact for |n| < 2²⁸), then sin or cos of y on
// [−π/4, π/4] is a minimax polynomial of degree 9 or 8 (musl's __sindf and __cosdf, good to 2⁻³⁴
// there), chosen and signed by n mod 4. Larger arguments, ±∞ and NaN go to Math.sin and Math.cos.

export const INV_PIO2 = 0.6366197723675814;
/** Adding and subtracting it rounds a float64 below 2⁵¹ to an integer. */
export const TO_INT = 1.5 / Number.EPSILON;
/** π/2 = PIO2_HI + PIO2_LO, PIO2_HI with 25 significant bits. */
export const PIO2_HI = 1.5707963109016418;
export const PIO2_LO = 1.5893254773528196e-8;
export const S1 = -0.16666666641626524;
export const S2 = 0.008333329385889463;
export const S3 = -0.00019839334836096632;
export const S4 = 0.000002718311493989822;
export const C0 = -0.499999997251031;
export const C1 = 0.04166662332373906;
export const C2 = -0.001388676377460993;
export const C3 = 0.00002439044879627741;
/** Below this |x|, sin x and cos x are x and 1 in float32: x²/6 and x²/2 are under half an ulp. */
export const TINY = 2 ** -12;
/** Below this |x| (2²⁸·π/2), n·PIO2_HI is exact and the reduction keeps float32 accuracy. */
export const REDUCED_BELOW = 420000000;

/** ys[i] = sin(xs[i] + shift·π/2) for shift 0 (sin) or 1 (cos). */
function sinShifted(xs: ArrayLike<number>, ys: Float32Array, shift: number, large: (x: number) => number): void {
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    const a = Math.abs(x);
    if (!(a < REDUCED_BELOW)) {
      ys[i] = large(x);
      continue;
    }
    // sin x rounds to x and cos x to 1 there (and sin keeps the sign of a zero)
    if (a < TINY) {
      ys[i] = shift ? 1 : x;
      continue;
    }
    const n = x * INV_PIO2 + TO_INT - TO_INT;
    const y = x - n * PIO2_HI - n * PIO2_LO;
    const quadrant = (n + shift) & 3;
    const z = y * y;
    const w = z * z;
    const v =
      quadrant & 1
        ? 1 + z * C0 + w * C1 + w * z * (C2 + z * C3)
        : y + z * y * (S1 + z * S2) + z * y * w * (S3 + z * S4);
    ys[i] = quadrant & 2 ? -v : v;
  }
}

/** ys[i] = sin(xs[i]), rounded to float32. */
export function sinFloat32(xs: ArrayLike<number>, ys: Float32Array): void {
  sinShifted(xs, ys, 0, Math.sin);
}

/** ys[i] = cos(xs[i]), rounded to float32. */
export function cosFloat32(xs: ArrayLike<number>, ys: Float32Array): void {
  sinShifted(xs, ys, 1, Math.cos);
}
