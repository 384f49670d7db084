// The Jacobi rotation that LinalgEigh (two-sided, on A) and LinalgSvd (one-sided, on the columns
// of W = B·V, whose 2×2 Gram matrices it diagonalizes) are built from: the angle that zeroes the
// off-diagonal entry of a symmetric 2×2 matrix, and the rotation of two rows or columns by it.
// In JavaScript (float64) and as WGSL functions on the program's `result` buffer (f32), where a
// swap of two rows or columns serves the shaders' sorts too.

/**
 * tan θ of the rotation that zeroes a_pq of the symmetric [[a_pp, a_pq], [a_pq, a_qq]]: the smaller
 * root of t² + 2ζt − 1 = 0, ζ = (a_qq − a_pp)/2a_pq (Rutishauser's choice, |θ| ≤ π/4). Then
 * c = 1/√(1 + t²), s = t·c.
 */
export function jacobiTangent(app: number, aqq: number, apq: number): number {
  const zeta = (aqq - app) / (2 * apq);
  return (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
}

/**
 * The pairs (x[i + k·stride], x[j + k·stride]), k < count, rotated: (x_i, x_j) ← (c·x_i − s·x_j,
 * s·x_i + c·x_j), as BLAS's rot. Columns i and j of a row-major matrix: stride its width;
 * rows: i and j their starts, stride 1.
 */
export function rotatePairs(
  x: Float64Array,
  i: number,
  j: number,
  stride: number,
  count: number,
  c: number,
  s: number,
): void {
  for (let k = 0; k < count; k++) {
    const xi = x[i + k * stride];
    const xj = x[j + k * stride];
    x[i + k * stride] = c * xi - s * xj;
    x[j + k * stride] = s * xi + c * xj;
  }
}

/**
 * jacobiTangent and rotatePairs in WGSL, on the program's output buffer `result`; and swapPairs,
 * which exchanges the pairs (the shaders' sorts move rows and columns with it).
 */
export const JACOBI_WGSL = `
fn jacobiTangent(app : f32, aqq : f32, apq : f32) -> f32 {
  let zeta = (aqq - app) / (2.0 * apq);
  return select(-1.0, 1.0, zeta >= 0.0) / (abs(zeta) + sqrt(1.0 + zeta * zeta));
}
fn rotatePairs(i : i32, j : i32, stride : i32, count : i32, c : f32, s : f32) {
  for (var k = 0; k < count; k++) {
    let xi = result[i + k * stride];
    let xj = result[j + k * stride];
    result[i + k * stride] = c * xi - s * xj;
    result[j + k * stride] = s * xi + c * xj;
  }
}
fn swapPairs(i : i32, j : i32, stride : i32, count : i32) {
  for (var k = 0; k < count; k++) {
    let xi = result[i + k * stride];
    result[i + k * stride] = result[j + k * stride];
    result[j + k * stride] = xi;
  }
}
`;
