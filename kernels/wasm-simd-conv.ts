// A 2-D convolution and its filter gradient as WebAssembly SIMD loops over a wasm backend's heap,
// each a product with x's window matrix that is never formed: x is padded once (xₚ), and row
// r = (a·kw + b)·Cin + c of the filter seen as [kh·kw·Cin, Cout] reads xₚ at a fixed offset from a
// window's corner. Filter and dy are read where they lie: XNNPACK packs a convolution's filter
// afresh for each new filter tensor, and in a training step every filter and every dy is new.
//
//   conv(xp, corners, offsets, w, bias, y, pixelFrom, pixelTo, rows, cout, hasBias): y = the windows
//   times w (+ bias), tiles of 4 output pixels × 8 channels (see conv below).
//   filterGrad(xp, dy, dw, offsets, rowFrom, rowTo, cout, images, ho, wo, imageBytes, rowStep, colStep):
//   w̄[r, o] = Σ_{n,i,j} xₚ[n, i·sh + a, j·sw + b, c]·dy[n, i, j, o] added image after image into dw's
//   rows rowFrom … rowTo − 1 (dw [rows, cout], zeroed by the caller), tiles of 4 rows × 8 channels
//   over one image's pixels at a time; rowStep and colStep are the bytes between the corners of
//   neighbouring outputs down and across, imageBytes between images.
//
// Each output entry adds its float32 products in a fixed order, rounding each product and each sum
// to float32 (the JavaScript loops of conv2d-forward.ts and conv2d-filter-grad.ts do the same, for
// the same bits). Rows or pixels split freely between threads: each entry is one thread's.
import { type Code, f32x4, I32, i32, local, V128, v128, whileBelow, type WasmFunction } from './wasm-encoder.js';
import { simdModule } from './wasm-simd-module.js';

const get = local.get;
const inc = local.increment;

function filterGrad(): WasmFunction {
  const [XP, DY, DW, OFFSETS, ROW_FROM, ROW_TO, COUT, IMAGES, HO, WO, IMAGE_BYTES, ROW_STEP, COL_STEP] = Array.from(
    { length: 13 },
    (_, i) => i,
  );
  const [N, R, J, OH, OW, P, D, X_IMAGE, DY_IMAGE, DY_IMAGE_BYTES, C_BYTES, DW_AT, X_ROW, D_ROW, D_ROW_BYTES] =
    Array.from({ length: 15 }, (_, i) => 13 + i);
  const O = [28, 29, 30, 31];
  const [DV0, DV1, AV] = [32, 33, 34];
  const ACC = Array.from({ length: 8 }, (_, i) => 35 + i);
  const DVS = [DV0, DV1];
  /**
   * Rows R … R + rows − 1 and columns J … J + 4·width − 1 (width 0: the one column J, in every
   * lane), summed over one image's pixels onto what dw holds.
   */
  const tile = (rows: number, width: number): Code => {
    const lanes = Math.max(width, 1);
    const acc = (r: number, w: number) => ACC[r * lanes + w];
    const each = (f: (r: number, w: number) => Code): Code =>
      Array.from({ length: rows }, (_, r) => Array.from({ length: lanes }, (_, w) => f(r, w))).flat(2);
    const at = (r: number) => i32.add(get(DW_AT), i32.mul(i32.const(r), get(C_BYTES)));
    return [
      ...local.set(DW_AT, i32.add(i32.add(get(DW), i32.mul(get(R), get(C_BYTES))), i32.shl(get(J), i32.const(2)))),
      ...each((r, w) => local.set(acc(r, w), width ? v128.load(at(r), 16 * w) : v128.load32Splat(at(r)))),
      ...local.set(X_ROW, get(X_IMAGE)),
      ...local.set(D_ROW, i32.add(get(DY_IMAGE), i32.shl(get(J), i32.const(2)))),
      ...local.set(OH, i32.const(0)),
      ...whileBelow(get(OH), get(HO), [
        ...local.set(P, get(X_ROW)),
        ...local.set(D, get(D_ROW)),
        ...local.set(OW, i32.const(0)),
        ...whileBelow(get(OW), get(WO), [
          ...Array.from({ length: lanes }, (_, w) =>
            local.set(DVS[w], width ? v128.load(get(D), 16 * w) : v128.load32Splat(get(D))),
          ).flat(),
          ...Array.from({ length: rows }, (_, r) => [
            ...local.set(AV, v128.load32Splat(i32.add(get(P), get(O[r])))),
            ...Array.from({ length: lanes }, (_, w) =>
              local.set(acc(r, w), f32x4.add(get(acc(r, w)), f32x4.mul(get(AV), get(DVS[w])))),
            ).flat(),
          ]).flat(),
          ...inc(P, get(COL_STEP)),
          ...inc(D, get(C_BYTES)),
          ...inc(OW, i32.const(1)),
        ]),
        ...inc(X_ROW, get(ROW_STEP)),
        ...inc(D_ROW, get(D_ROW_BYTES)),
        ...inc(OH, i32.const(1)),
      ]),
      ...each((r, w) => (width ? v128.store(at(r), get(acc(r, w)), 16 * w) : v128.storeLow32(at(r), get(acc(r, w))))),
    ];
  };
  /** Rows R … R + rows − 1 against every column: tiles 8 wide, then 4, then single columns. */
  const rowTile = (rows: number): Code => [
    ...O.slice(0, rows).flatMap((o, r) =>
      local.set(o, i32.load(i32.add(get(OFFSETS), i32.shl(i32.add(get(R), i32.const(r)), i32.const(2))))),
    ),
    ...local.set(J, i32.const(0)),
    ...whileBelow(i32.add(get(J), i32.const(7)), get(COUT), [...tile(rows, 2), ...inc(J, i32.const(8))]),
    ...whileBelow(i32.add(get(J), i32.const(3)), get(COUT), [...tile(rows, 1), ...inc(J, i32.const(4))]),
    ...whileBelow(get(J), get(COUT), [...tile(rows, 0), ...inc(J, i32.const(1))]),
    ...inc(R, i32.const(rows)),
  ];
  const body = [
    ...local.set(C_BYTES, i32.shl(get(COUT), i32.const(2))),
    ...local.set(D_ROW_BYTES, i32.mul(get(WO), get(C_BYTES))),
    ...local.set(DY_IMAGE_BYTES, i32.mul(get(HO), get(D_ROW_BYTES))),
    ...local.set(X_IMAGE, get(XP)),
    ...local.set(DY_IMAGE, get(DY)),
    ...local.set(N, i32.const(0)),
    ...whileBelow(get(N), get(IMAGES), [
      ...local.set(R, get(ROW_FROM)),
      ...whileBelow(i32.add(get(R), i32.const(3)), get(ROW_TO), rowTile(4)),
      ...whileBelow(get(R), get(ROW_TO), rowTile(1)),
      ...inc(X_IMAGE, get(IMAGE_BYTES)),
      ...inc(DY_IMAGE, get(DY_IMAGE_BYTES)),
      ...inc(N, i32.const(1)),
    ]),
    ...i32.const(0),
  ];
  return {
    name: 'filterGrad',
    params: new Array(13).fill(I32),
    result: I32,
    locals: [...new Array(19).fill(I32), ...new Array(11).fill(V128)],
    body,
  };
}

/**
 * conv(xp, corners, offsets, w, bias, y, pixelFrom, pixelTo, rows, cout, hasBias): for each output
 * pixel p from pixelFrom to pixelTo − 1 and channel o, y[p, o] = bias[o] (or +0) + Σ_r xp[corners[p] +
 * offsets[r]]·w[r, o] (w [rows, cout] read in place, y [pixels, cout]; byte offsets and addresses),
 * r ascending, each product and sum rounded to float32. Tiles of 4 pixels × 8 channels.
 */
function conv(): WasmFunction {
  const [XP, CORNERS, OFFSETS, WEIGHTS, BIAS, Y, PIXEL_FROM, PIXEL_TO, ROWS, COUT, HAS_BIAS] = Array.from(
    { length: 11 },
    (_, i) => i,
  );
  const [PIX, J, K, O, WP, OP, Y_AT, C_BYTES] = Array.from({ length: 8 }, (_, i) => 11 + i);
  const CORNER = [19, 20, 21, 22];
  const [BV0, BV1, AV] = [23, 24, 25];
  const ACC = Array.from({ length: 8 }, (_, i) => 26 + i);
  const BVS = [BV0, BV1];
  const tile = (pixels: number, width: number): Code => {
    const lanes = Math.max(width, 1);
    const acc = (k: number, w: number) => ACC[k * lanes + w];
    const each = (f: (k: number, w: number) => Code): Code =>
      Array.from({ length: pixels }, (_, k) => Array.from({ length: lanes }, (_, w) => f(k, w))).flat(2);
    const biasAt = i32.add(get(BIAS), i32.shl(get(J), i32.const(2)));
    const at = (k: number) => i32.add(get(Y_AT), i32.mul(i32.const(k), get(C_BYTES)));
    return [
      ...each((k, w) =>
        local.set(
          acc(k, w),
          v128.select(width ? v128.load(biasAt, 16 * w) : v128.load32Splat(biasAt), f32x4.splat(0), get(HAS_BIAS)),
        ),
      ),
      ...local.set(WP, i32.add(get(WEIGHTS), i32.shl(get(J), i32.const(2)))),
      ...local.set(OP, get(OFFSETS)),
      ...local.set(K, i32.const(0)),
      ...whileBelow(get(K), get(ROWS), [
        ...local.set(O, i32.load(get(OP))),
        ...Array.from({ length: lanes }, (_, w) =>
          local.set(BVS[w], width ? v128.load(get(WP), 16 * w) : v128.load32Splat(get(WP))),
        ).flat(),
        ...Array.from({ length: pixels }, (_, k) => [
          ...local.set(AV, v128.load32Splat(i32.add(get(CORNER[k]), get(O)))),
          ...Array.from({ length: lanes }, (_, w) =>
            local.set(acc(k, w), f32x4.add(get(acc(k, w)), f32x4.mul(get(AV), get(BVS[w])))),
          ).flat(),
        ]).flat(),
        ...inc(WP, get(C_BYTES)),
        ...inc(OP, i32.const(4)),
        ...inc(K, i32.const(1)),
      ]),
      ...local.set(Y_AT, i32.add(i32.add(get(Y), i32.mul(get(PIX), get(C_BYTES))), i32.shl(get(J), i32.const(2)))),
      ...each((k, w) => (width ? v128.store(at(k), get(acc(k, w)), 16 * w) : v128.storeLow32(at(k), get(acc(k, w))))),
    ];
  };
  const pixelTile = (pixels: number): Code => [
    ...CORNER.slice(0, pixels).flatMap((c, k) =>
      local.set(
        c,
        i32.add(get(XP), i32.load(i32.add(get(CORNERS), i32.shl(i32.add(get(PIX), i32.const(k)), i32.const(2))))),
      ),
    ),
    ...local.set(J, i32.const(0)),
    ...whileBelow(i32.add(get(J), i32.const(7)), get(COUT), [...tile(pixels, 2), ...inc(J, i32.const(8))]),
    ...whileBelow(i32.add(get(J), i32.const(3)), get(COUT), [...tile(pixels, 1), ...inc(J, i32.const(4))]),
    ...whileBelow(get(J), get(COUT), [...tile(pixels, 0), ...inc(J, i32.const(1))]),
    ...inc(PIX, i32.const(pixels)),
  ];
  return {
    name: 'conv',
    params: new Array(11).fill(I32),
    result: I32,
    locals: [...new Array(12).fill(I32), ...new Array(11).fill(V128)],
    body: [
      ...local.set(C_BYTES, i32.shl(get(COUT), i32.const(2))),
      ...local.set(PIX, get(PIXEL_FROM)),
      ...whileBelow(i32.add(get(PIX), i32.const(3)), get(PIXEL_TO), pixelTile(4)),
      ...whileBelow(get(PIX), get(PIXEL_TO), pixelTile(1)),
      ...i32.const(0),
    ],
  };
}

export interface SimdConvFilterGrad {
  filterGrad(...args: number[]): number;
}
export interface SimdConvForward {
  conv(...args: number[]): number;
}

/** The filter gradient's module (its filterGrad also on the helper thread). */
export const convFilterGrad = simdModule<SimdConvFilterGrad>('convFilterGrad', () => [filterGrad()], ['filterGrad']);
/** The forward convolution's module, apart so that each stays small enough to compile synchronously. */
export const convForward = simdModule<SimdConvForward>('convForward', () => [conv()], ['conv']);
/** The modules' bytes. */
export const filterGradModule = convFilterGrad.bytes;
export const convModule = convForward.bytes;
/** Turns both SIMD loops off (and on again), so that tests and benchmarks can run the JavaScript ones beside them. */
export function setSimdConv(on: boolean): void {
  convFilterGrad.setEnabled(on);
  convForward.setEnabled(on);
}
