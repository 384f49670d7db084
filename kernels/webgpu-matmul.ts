// tapegrad's own matrix product for TF.js's webgpu backend, registered for BatchMatMul and
// _FusedMatMul in place of TF.js's (setBackend('webgpu') installs it). Two WGSL programs:
//
// - tiled: each workgroup computes a BM × BN block of C. Per step of TK along K it copies a
//   BM × TK block of A and a TK × BN block of B into workgroup memory (read from global memory as
//   vec4 where the contiguous axis allows it), then each thread accumulates a TM × TN block of C in
//   registers (vec4 along N) from that copy. The tile shape is chosen per size class: large square,
//   square, tall (N small), wide (M small). Transposed operands are read in place (only the
//   copy's addressing changes); batch axes broadcast (each operand's batch strides are uniforms).
// - tiny: both sides of C under 64: one thread per entry of C, a plain loop over K. The tiled
//   program gains nothing there, and its larger shader takes far longer to compile (each layout
//   of operands is a shader of its own, and small products come in many layouts).
// - dot: for small outputs with a long K (few tiles to share out): one workgroup per output entry,
//   its threads striding over K, summed with subgroupAdd where the device has subgroups of one
//   fixed size (the workgroup is one subgroup), else in workgroup memory.
//
// Both end in the epilogue of TF.js's _FusedMatMul: a bias and a prelu weight (each broadcast to
// the output), then the activation. What they do not cover (other dtypes, empty operands, more
// than four batch axes, a grid past the device's limits) runs TF.js's own kernel.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackendLike, WgslProgram } from './gpu-program.js';

/** The activations TF.js's _FusedMatMul takes. */
export type MatMulActivation = 'linear' | 'relu' | 'relu6' | 'elu' | 'leakyrelu' | 'prelu' | 'sigmoid';

/** A tile: wx × wy threads, each computing tm × tn entries of C (tm, tn multiples of 4); tk the step along K. */
export interface MatMulTile {
  wx: number;
  wy: number;
  tm: number;
  tn: number;
  tk: number;
  /** Read the next step's blocks into registers while this step's are multiplied. */
  prefetch?: boolean;
  /**
   * Two halves of workgroup memory: the next step's blocks are copied into one while this step's
   * are multiplied from the other (one barrier a step instead of two; twice the workgroup memory).
   */
  doubleBuffer?: boolean;
}

/** The tile of each size class; BM = wy·tm rows and BN = wx·tn columns of C per workgroup. */
export const MATMUL_TILES: Record<'large' | 'square' | 'tall' | 'wide' | 'small', MatMulTile> = {
  large: { wx: 16, wy: 16, tm: 8, tn: 8, tk: 16 }, // 128 × 128
  square: { wx: 16, wy: 16, tm: 4, tn: 4, tk: 16 }, // 64 × 64
  tall: { wx: 4, wy: 32, tm: 4, tn: 4, tk: 16 }, // 128 × 16
  wide: { wx: 32, wy: 4, tm: 4, tn: 4, tk: 16 }, // 16 × 128
  small: { wx: 4, wy: 4, tm: 4, tn: 4, tk: 16 }, // 16 × 16
};
/** The size classes that run the tiled program. */
export type TiledSizeClass = Exclude<keyof typeof MATMUL_TILES, 'small'>;
/** The tiled classes, 'tiny' (one thread per entry of C) and 'dot' (one workgroup per entry). */
export type MatMulSizeClass = TiledSizeClass | 'tiny' | 'dot';

/** A tile's name, as in shader keys and records: `wx_wy_tm_tn_tk`, then `_prefetch` or `_double`. */
export const matMulTileName = (t: MatMulTile): string =>
  `${t.wx}_${t.wy}_${t.tm}_${t.tn}_${t.tk}${t.prefetch ? '_prefetch' : ''}${t.doubleBuffer ? '_double' : ''}`;

/** The limits of a device a tile must fit (WebGPU's names). */
export interface TileLimits {
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupStorageSize: number;
}

/** Why `t` cannot run on a device with these limits, or null where it can. */
export function matMulTileProblem(t: MatMulTile, limits: TileLimits): string | null {
  const threads = t.wx * t.wy;
  const bytes = (t.doubleBuffer ? 2 : 1) * t.tk * (t.wy * t.tm + t.wx * t.tn) * 4;
  if (t.tm % 4 || t.tn % 4 || t.tk % 4 || t.tm <= 0 || t.tn <= 0 || t.tk <= 0 || t.wx <= 0 || t.wy <= 0)
    return 'tm, tn and tk must be positive multiples of 4 and wx, wy positive';
  if (t.prefetch && t.doubleBuffer) return 'prefetch and doubleBuffer are two ways of doing one thing: choose one';
  if (threads > limits.maxComputeInvocationsPerWorkgroup)
    return `${threads} threads a workgroup, over the device's ${limits.maxComputeInvocationsPerWorkgroup}`;
  if (bytes > limits.maxComputeWorkgroupStorageSize)
    return `${bytes} bytes of workgroup memory, over the device's ${limits.maxComputeWorkgroupStorageSize}`;
  return null;
}

/** The size class of a product of batch × (M × K)·(K × N). */
export function matMulSizeClass(batch: number, m: number, n: number, k: number): MatMulSizeClass {
  if (batch * m * n <= 4096 && k >= 256 && batch * m * n * 4 < k * 64) return 'dot';
  if (m >= 64 && n >= 64) {
    // The 128 × 128 tile only where it still gives every multiprocessor of a large GPU work.
    return batch * Math.ceil(m / 128) * Math.ceil(n / 128) >= 128 ? 'large' : 'square';
  }
  if (m >= 64) return 'tall';
  if (n >= 64) return 'wide';
  return 'tiny';
}

/** What the shader text depends on (all of it goes into the program's key). */
interface Layout {
  transposeA: boolean;
  transposeB: boolean;
  /** A, B and C read or written as vec4 (their contiguous axis is a multiple of 4). */
  vecA: boolean;
  vecB: boolean;
  vecC: boolean;
  bias: boolean;
  prelu: boolean;
  activation: MatMulActivation;
  /** Only C's lower triangle (n ≤ m) is wanted: the work strictly above the diagonal is skipped. */
  lower: boolean;
}

// ---------------------------------------------------------------------------------------------
// Switches for the tests and the benchmarks.

let enabled = true;
let forcedTile: MatMulTile | null = null;
let subgroupsAllowed = true;
/** Per device: the tiles chosen for it (tuneMatMul, setMatMulTiles), in place of MATMUL_TILES. */
const deviceTiles = new WeakMap<object, Partial<Record<TiledSizeClass, MatMulTile>>>();

/** Turns tapegrad's matmul on or off on webgpu (on by default); off runs TF.js's kernels. */
export function setMatMulKernelEnabled(on: boolean): void {
  enabled = on;
}
/** Runs every tiled product with this tile (null: the size class's), to compare tiles. */
export function setMatMulTile(tile: MatMulTile | null): void {
  forcedTile = tile;
}
/** The tile setMatMulTile forces, or null. */
export const forcedMatMulTile = (): MatMulTile | null => forcedTile;
/**
 * Sets the tile of each size class given, for the active webgpu backend's device (the others keep
 * theirs); null puts back MATMUL_TILES. Throws where a tile does not fit the device.
 */
export function setMatMulTiles(tiles: Partial<Record<TiledSizeClass, MatMulTile>> | null): void {
  const device = activeDevice('setMatMulTiles');
  if (!tiles) {
    deviceTiles.delete(device);
    return;
  }
  for (const [c, t] of Object.entries(tiles)) {
    if (!(c in MATMUL_TILES) || c === 'small') throw new Error(`setMatMulTiles: no tiled size class '${c}'`);
    const problem = matMulTileProblem(t, device.limits);
    if (problem) throw new Error(`setMatMulTiles: the ${c} tile ${matMulTileName(t)} does not fit: ${problem}`);
  }
  deviceTiles.set(device, { ...deviceTiles.get(device), ...tiles });
}
/** The tile each tiled size class runs on the active webgpu backend's device. */
export function matMulTiles(): Record<TiledSizeClass, MatMulTile> {
  const chosen = deviceTiles.get(activeDevice('matMulTiles')) ?? {};
  const { large, square, tall, wide } = MATMUL_TILES;
  return { large, square, tall, wide, ...chosen };
}
function activeDevice(fn: string): Device {
  const device = tf.getBackend() === 'webgpu' ? (tf.backend() as unknown as Partial<Backend>).device : undefined;
  if (!device) throw new Error(`${fn}: the active backend is ${tf.getBackend()}, not webgpu`);
  return device;
}
/** Allows or forbids the subgroup reduction (where the device has subgroups), to test both paths. */
export function setMatMulSubgroups(on: boolean): void {
  subgroupsAllowed = on;
}

// ---------------------------------------------------------------------------------------------
// WGSL.

const EPILOGUE_ACTIVATION: Record<MatMulActivation, string> = {
  linear: 'return v;',
  // select keeps NaN where max() may not, as TF.js's other kernels do.
  relu: 'return select(v, 0.0, v < 0.0);',
  relu6: 'return select(select(v, 0.0, v < 0.0), 6.0, v > 6.0);',
  elu: 'return select(v, exp(v) - 1.0, v < 0.0);',
  leakyrelu: 'return select(v, uniforms.alpha * v, v < 0.0);',
  prelu: 'return select(v, w * v, v < 0.0);',
  sigmoid: 'return 1.0 / (1.0 + exp(-v));',
};

/** The batch decomposition and the scalar epilogue, shared by both programs. */
function commonSource(l: Layout): string {
  const at = (name: string, batch: string, mn: string) =>
    `${name}[${batch} + m * uniforms.${mn}.x + n * uniforms.${mn}.y]`;
  return `
  // Offset of batch z in an operand whose batch strides (in entries; 0 where it broadcasts) are s.
  fn batchOffset(z : i32, s : vec4<i32>) -> i32 {
    let b = uniforms.batch;
    var r = z;
    let i3 = r % b.w; r = r / b.w;
    let i2 = r % b.z; r = r / b.z;
    let i1 = r % b.y; let i0 = r / b.y;
    return i0 * s.x + i1 * s.y + i2 * s.z + i3 * s.w;
  }
  fn activate(v : f32, w : f32) -> f32 { ${EPILOGUE_ACTIVATION[l.activation]} }
  // The epilogue of entry (m, n) of batch z: + bias, then the activation (prelu's weight w).
  fn epilogue(acc : f32, zBias : i32, zPrelu : i32, m : i32, n : i32) -> f32 {
    var v = acc;
    ${l.bias ? `v = v + f32(${at('bias', 'zBias', 'biasMN')});` : ''}
    ${l.prelu ? `let w = f32(${at('preluActivationWeights', 'zPrelu', 'preluMN')});` : 'let w = 0.0;'}
    return activate(v, w);
  }`;
}

/**
 * One operand's tile copy: `count` items shared by the T threads (item `idx`), each one global
 * read (`value`, a vec4 or an f32, 0 outside the operand where `inside` fails) after the `coords`
 * lets, and `store(base)` writing `v` into workgroup memory at offset `base` (a WGSL prefix).
 */
interface TileCopy {
  count: number;
  vec: boolean;
  coords: string;
  inside: string;
  value: string;
  store: (base: string) => string;
}

/**
 * The copy of A's BM × tk block into As[k][m] (k major, m as vec4 lanes: As[k·BM/4 + m/4][m % 4]),
 * or of B's tk × BN block into Bs[k][n]: the same four cases, by which axis of the stored operand
 * is contiguous (A untransposed and B transposed keep k contiguous) and whether it is read as vec4.
 */
function tileCopy(
  o: { name: 'A' | 'B'; outer: 'm' | 'n'; size: number; kContiguous: boolean; vec: boolean },
  tk: number,
): TileCopy {
  const { name, outer: x, size, kContiguous, vec } = o;
  const [shared, extent, base, off] = name === 'A' ? ['As', 'M', 'bm', 'aOff'] : ['Bs', 'N', 'bn', 'bOff'];
  const S4 = size / 4;
  const inside = `g${x} < ${extent} && gk < K`;
  const at = (b: string, k: string, lane: string) => `${shared}[${b}${k} * ${S4} + ${lane}]`;
  if (kContiguous && vec)
    // [x][k], K a multiple of 4: a vec4 along k is one entry in each of 4 rows of the copy.
    return {
      count: (size * tk) / 4,
      vec,
      coords: `let kq = idx % ${tk / 4}; let ${x} = idx / ${tk / 4}; let g${x} = ${base} + ${x}; let gk = k0 + kq * 4;`,
      inside,
      value: `${name}[(${off} + g${x} * K + gk) / 4]`,
      store: (b) => `for (var j = 0; j < 4; j++) { ${at(b, '(kq * 4 + j)', `${x} / 4`)}[${x} % 4] = v[j]; }`,
    };
  if (kContiguous)
    return {
      count: size * tk,
      vec,
      coords: `let kk = idx % ${tk}; let ${x} = idx / ${tk}; let g${x} = ${base} + ${x}; let gk = k0 + kk;`,
      inside,
      value: `${name}[${off} + g${x} * K + gk]`,
      store: (b) => `${at(b, 'kk', `${x} / 4`)}[${x} % 4] = v;`,
    };
  if (vec)
    // [k][x], the extent a multiple of 4: a vec4 along x is one entry of the copy.
    return {
      count: S4 * tk,
      vec,
      coords: `let ${x}q = idx % ${S4}; let kk = idx / ${S4}; let g${x} = ${base} + ${x}q * 4; let gk = k0 + kk;`,
      inside,
      value: `${name}[(${off} + gk * ${extent} + g${x}) / 4]`,
      store: (b) => `${at(b, 'kk', `${x}q`)} = v;`,
    };
  return {
    count: size * tk,
    vec,
    coords: `let ${x} = idx % ${size}; let kk = idx / ${size}; let g${x} = ${base} + ${x}; let gk = k0 + kk;`,
    inside,
    value: `${name}[${off} + gk * ${extent} + g${x}]`,
    store: (b) => `${at(b, 'kk', `${x} / 4`)}[${x} % 4] = v;`,
  };
}

const SKIP_DECLARATION = 'var<workgroup> skipBlock : i32;';
/**
 * A workgroup whose block lies strictly above the diagonal (`above`, the same for all its threads)
 * leaves at once. TF.js passes workgroupId through a private variable, which WGSL's uniformity
 * analysis does not count as uniform, so the verdict goes through workgroupUniformLoad: the return
 * is then uniform, as the barriers after it need.
 */
const skipAboveDiagonal = (above: string) => `if (li == 0) { skipBlock = select(0, 1, ${above}); }
    if (workgroupUniformLoad(&skipBlock) == 1) { return; }`;

/** The tiled program's user code. */
function tiledSource(l: Layout, t: MatMulTile): string {
  const { wx, wy, tm, tn, tk } = t;
  const T = wx * wy;
  const BM = wy * tm;
  const BN = wx * tn;
  const BM4 = BM / 4;
  const BN4 = BN / 4;
  const TM4 = tm / 4;
  const TN4 = tn / 4;
  const copyA = tileCopy({ name: 'A', outer: 'm', size: BM, kContiguous: !l.transposeA, vec: l.vecA }, tk);
  const copyB = tileCopy({ name: 'B', outer: 'n', size: BN, kContiguous: l.transposeB, vec: l.vecB }, tk);
  const rounds = (c: TileCopy) => Math.ceil(c.count / T);
  const guard = (c: TileCopy) => (c.count % T === 0 ? '' : `if (idx < ${c.count}) `);
  const zero = (c: TileCopy) => (c.vec ? 'vec4<f32>(0.0)' : '0.0');
  const read = (c: TileCopy) => `${c.coords} var v = ${zero(c)}; if (${c.inside}) { v = ${c.value}; }`;
  /** The copy done at once: read and store (at `base` in the double-buffered form). */
  const copyNow = (c: TileCopy, base = '') =>
    `for (var r = 0; r < ${rounds(c)}; r++) { let idx = li + r * ${T}; ${guard(c)}{ ${read(c)} ${c.store(base)} } }`;
  /** The copy split in two (prefetch): read into registers p{name}{r}, later store from them. */
  const perRound = (c: TileCopy, body: (r: number) => string) =>
    Array.from({ length: rounds(c) }, (_, r) => `{ let idx = li + ${r * T}; ${guard(c)}{ ${body(r)} } }`).join(
      '\n      ',
    );
  const fetch = (c: TileCopy, name: string) => perRound(c, (r) => `${read(c)} p${name}${r} = v;`);
  const storeFetched = (c: TileCopy, name: string) =>
    perRound(c, (r) => `${c.coords} let v = p${name}${r}; ${c.store('')}`);
  const registers = (c: TileCopy, name: string) =>
    Array.from({ length: rounds(c) }, (_, r) => `var p${name}${r} = ${zero(c)};`).join(' ');

  // The double-buffered form reads this step's copy at rb (As) and rbB (Bs), in the half of
  // workgroup memory the previous step filled.
  const [rA, rB] = t.doubleBuffer ? [`rb * ${tk * BM4} + `, `rb * ${tk * BN4} + `] : ['', ''];
  const accs: string[] = [];
  const fmas: string[] = [];
  const writes: string[] = [];
  const aReads = Array.from({ length: TM4 }, (_, q) => `let a${q} = As[${rA}kk * ${BM4} + ty * ${TM4} + ${q}];`);
  // Thread tx's columns are (c·wx + tx)·4 .. +3: neighbouring threads read neighbouring vec4s of Bs.
  const bReads = Array.from({ length: TN4 }, (_, c) => `let b${c} = Bs[${rB}kk * ${BN4} + ${c * wx} + tx];`);
  for (let i = 0; i < tm; i++) {
    for (let c = 0; c < TN4; c++) {
      accs.push(`var acc${i}_${c} = vec4<f32>(0.0);`);
      fmas.push(`acc${i}_${c} = fma(vec4<f32>(a${i >> 2}[${i & 3}]), b${c}, acc${i}_${c});`);
      const n = `(bn + (${c * wx} + tx) * 4)`;
      const entry = (j: number) => `epilogue(acc${i}_${c}[${j}], zBias, zPrelu, gm, n0 + ${j})`;
      const write = l.vecC
        ? `if (n0 < N) { result[(cOff + gm * N + n0) / 4] = vec4<f32>(${[0, 1, 2, 3].map(entry).join(', ')}); }`
        : [0, 1, 2, 3].map((j) => `if (n0 + ${j} < N) { result[cOff + gm * N + n0 + ${j}] = ${entry(j)}; }`).join('\n');
      writes.push(`{ let gm = bm + ty * ${tm} + ${i}; let n0 = ${n}; if (gm < M) { ${write} } }`);
    }
  }
  const multiply = `for (var kk = 0; kk < ${tk}; kk++) {
        ${aReads.join('\n        ')}
        ${bReads.join('\n        ')}
        ${fmas.join('\n        ')}
      }`;
  const halves = t.doubleBuffer ? 2 : 1;
  let loop: string;
  if (t.doubleBuffer)
    // Step s multiplies half s % 2 while its threads copy step s + 1 into the other half: one
    // barrier a step (the half written at step s + 1 was last read before step s's barrier).
    loop = `{ let k0 = 0; ${copyNow(copyA)} ${copyNow(copyB)} }
    workgroupBarrier();
    for (var k0 = 0; k0 < K; k0 += ${tk}) {
      let rb = (k0 / ${tk}) % 2;
      if (k0 + ${tk} < K) {
        let wb = 1 - rb;
        let k0 = k0 + ${tk};
        ${copyNow(copyA, `wb * ${tk * BM4} + `)}
        ${copyNow(copyB, `wb * ${tk * BN4} + `)}
      }
      ${multiply}
      workgroupBarrier();
    }`;
  else if (t.prefetch)
    // The next tile's global reads are issued before this tile's arithmetic, to overlap them.
    loop = `${registers(copyA, 'a')} ${registers(copyB, 'b')}
    { let k0 = 0; ${fetch(copyA, 'a')} ${fetch(copyB, 'b')} }
    for (var k0 = 0; k0 < K; k0 += ${tk}) {
      ${storeFetched(copyA, 'a')}
      ${storeFetched(copyB, 'b')}
      workgroupBarrier();
      if (k0 + ${tk} < K) {
        let k0 = k0 + ${tk};
        ${fetch(copyA, 'a')}
        ${fetch(copyB, 'b')}
      }
      ${multiply}
      workgroupBarrier();
    }`;
  else
    loop = `for (var k0 = 0; k0 < K; k0 += ${tk}) {
      ${copyNow(copyA)}
      ${copyNow(copyB)}
      workgroupBarrier();
      ${multiply}
      workgroupBarrier();
    }`;
  return `
  ${l.lower ? SKIP_DECLARATION : ''}
  var<workgroup> As : array<vec4<f32>, ${halves * tk * BM4}>;
  var<workgroup> Bs : array<vec4<f32>, ${halves * tk * BN4}>;
  ${commonSource(l)}
  fn main(index : i32) {
    let li = i32(localIndex);
    let tx = li % ${wx};
    let ty = li / ${wx};
    let M = uniforms.M;
    let N = uniforms.N;
    let K = uniforms.K;
    let bn = i32(workgroupId.x) * ${BN};
    let bm = i32(workgroupId.y) * ${BM};
    ${l.lower ? skipAboveDiagonal(`bn >= bm + ${BM}`) : ''}
    let z = i32(workgroupId.z);
    let aOff = batchOffset(z, uniforms.aBatch);
    let bOff = batchOffset(z, uniforms.bBatch);
    let cOff = z * M * N;
    let zBias = ${l.bias ? 'batchOffset(z, uniforms.biasBatch)' : '0'};
    let zPrelu = ${l.prelu ? 'batchOffset(z, uniforms.preluBatch)' : '0'};
    ${accs.join('\n    ')}
    ${loop}
    ${writes.join('\n    ')}
  }`;
}

/** The tiny program's user code: an 8 × 8 workgroup per 8 × 8 block of C, one thread per entry. */
function tinySource(l: Layout): string {
  const a = l.transposeA ? 'A[aOff + k * M + m]' : 'A[aOff + m * K + k]';
  const b = l.transposeB ? 'B[bOff + n * K + k]' : 'B[bOff + k * N + n]';
  return `
  ${commonSource(l)}
  fn main(index : i32) {
    let li = i32(localIndex);
    let M = uniforms.M;
    let N = uniforms.N;
    let K = uniforms.K;
    let n = i32(workgroupId.x) * 8 + li % 8;
    let m = i32(workgroupId.y) * 8 + li / 8;
    let z = i32(workgroupId.z);
    if (m >= M || n >= N${l.lower ? ' || n > m' : ''}) { return; }
    let aOff = batchOffset(z, uniforms.aBatch);
    let bOff = batchOffset(z, uniforms.bBatch);
    let zBias = ${l.bias ? 'batchOffset(z, uniforms.biasBatch)' : '0'};
    let zPrelu = ${l.prelu ? 'batchOffset(z, uniforms.preluBatch)' : '0'};
    var acc = 0.0;
    for (var k = 0; k < K; k++) { acc = fma(${a}, ${b}, acc); }
    result[z * M * N + m * N + n] = epilogue(acc, zBias, zPrelu, m, n);
  }`;
}

/** The marker of the subgroup variant; the device's createShaderModule moves it to the top. */
const ENABLE_SUBGROUPS = 'enable subgroups;';

/** The dot program's user code: workgroup (n, m, z) computes C[z][m][n] with `size` threads. */
function dotSource(l: Layout, size: number, subgroups: boolean): string {
  const a = l.transposeA ? 'A[aOff + k * M + m]' : 'A[aOff + m * K + k]';
  const b = l.transposeB ? 'B[bOff + n * K + k]' : 'B[bOff + k * N + n]';
  const tree: string[] = [];
  for (let s = size / 2; s >= 1; s /= 2) {
    tree.push(`if (li < ${s}) { partial[li] = partial[li] + partial[li + ${s}]; } workgroupBarrier();`);
  }
  const write = 'result[z * M * N + m * N + n] = epilogue(total, zBias, zPrelu, m, n);';
  const reduce = subgroups
    ? `// One subgroup per workgroup (the size was chosen so): subgroupAdd sums it all.
    let total = subgroupAdd(acc);
    if (li == 0) { ${write} }`
    : `partial[li] = acc;
    workgroupBarrier();
    ${tree.join('\n    ')}
    if (li == 0) { let total = partial[0]; ${write} }`;
  return `
  ${subgroups ? ENABLE_SUBGROUPS : `var<workgroup> partial : array<f32, ${size}>;`}
  ${l.lower ? SKIP_DECLARATION : ''}
  ${commonSource(l)}
  fn main(index : i32) {
    let li = i32(localIndex);
    let M = uniforms.M;
    let N = uniforms.N;
    let K = uniforms.K;
    let n = i32(workgroupId.x);
    let m = i32(workgroupId.y);
    ${l.lower ? skipAboveDiagonal('n > m') : ''}
    let z = i32(workgroupId.z);
    let aOff = batchOffset(z, uniforms.aBatch);
    let bOff = batchOffset(z, uniforms.bBatch);
    let zBias = ${l.bias ? 'batchOffset(z, uniforms.biasBatch)' : '0'};
    let zPrelu = ${l.prelu ? 'batchOffset(z, uniforms.preluBatch)' : '0'};
    var acc = 0.0;
    for (var k0 = 0; k0 < K; k0 += ${size}) {
      let k = k0 + li;
      if (k < K) { acc = fma(${a}, ${b}, acc); }
    }
    ${reduce}
  }`;
}

// ---------------------------------------------------------------------------------------------
// Shapes, uniforms, and the program.

const MAX_BATCH_AXES = 4;

/**
 * The output's batch axes (size-1 axes dropped, padded in front with 1 to four) and each operand's
 * strides along them in entries, 0 where it broadcasts; null past four axes. An operand's shape
 * is [...batch, rows, cols], its batch right-aligned with the output's.
 */
function batchStrides(outBatch: number[], operands: number[][]): { batch: number[]; strides: number[][] } | null {
  const keep = outBatch.map((_, i) => i).filter((i) => outBatch[i] !== 1);
  if (keep.length > MAX_BATCH_AXES) return null;
  const pad = Array(MAX_BATCH_AXES - keep.length).fill(1);
  const strides = operands.map((shape) => {
    const dims = shape.slice(0, -2);
    const aligned = [...Array(outBatch.length - dims.length).fill(1), ...dims];
    const step: number[] = [];
    let s = shape[shape.length - 2] * shape[shape.length - 1];
    for (let i = aligned.length - 1; i >= 0; i--) {
      step[i] = aligned[i] === 1 ? 0 : s;
      s *= aligned[i];
    }
    return [...pad.map(() => 0), ...keep.map((i) => step[i])];
  });
  return { batch: [...pad, ...keep.map((i) => outBatch[i])], strides };
}

/** An operand broadcast to the output (bias, prelu weights): its last two axes' strides (0 where broadcast). */
function epilogueOperandShape(shape: number[]): number[] {
  // As a [..., rows, cols] operand: a vector is one row; a scalar one entry.
  if (shape.length === 0) return [1, 1];
  if (shape.length === 1) return [1, shape[0]];
  return shape;
}
const mnStrides = (shape: number[]) => {
  const [r, c] = shape.slice(-2);
  return [r === 1 ? 0 : c, c === 1 ? 0 : 1];
};

interface Device {
  features: { has(f: string): boolean };
  limits: TileLimits & { maxComputeWorkgroupsPerDimension: number };
  createShaderModule(d: { code: string }): unknown;
}
interface SubgroupSizes {
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
}
interface Backend extends WebGPUBackendLike {
  device: Device & { adapterInfo?: SubgroupSizes };
}
/** The adapter's subgroup sizes, per device made through preferSubgroupDevice. */
const subgroupSizes = new WeakMap<object, SubgroupSizes>();

/** The threads per dot workgroup, and whether they reduce with subgroupAdd. */
function dotWorkgroup(backend: Backend): { size: number; subgroups: boolean } {
  const info = subgroupSizes.get(backend.device) ?? backend.device.adapterInfo;
  const [lo, hi] = [info?.subgroupMinSize, info?.subgroupMaxSize];
  const fixed = lo !== undefined && lo === hi && lo >= 4 && lo <= 128 && (lo & (lo - 1)) === 0;
  if (subgroupsAllowed && fixed && backend.device.features.has('subgroups')) return { size: lo, subgroups: true };
  return { size: 64, subgroups: false };
}

interface MatMulArgs {
  a: TensorInfo;
  b: TensorInfo;
  transposeA: boolean;
  transposeB: boolean;
  bias?: TensorInfo | null;
  prelu?: TensorInfo | null;
  activation: MatMulActivation;
  alpha: number;
  lower?: boolean;
}

function broadcastShape(x: number[], y: number[]): number[] | null {
  try {
    return tf.broadcast_util.assertAndGetBroadcastShape(x, y);
  } catch {
    return null;
  }
}

const flat = (t: TensorInfo): TensorInfo =>
  ({ dataId: t.dataId, dtype: t.dtype, shape: [t.shape.reduce((p, q) => p * q, 1)] }) as TensorInfo;

/** Runs the product on our programs, or returns null where TF.js's kernel should. */
function runMatMul(backend: Backend, args: MatMulArgs): TensorInfo | null {
  const { a, b, transposeA, transposeB, activation } = args;
  const bias = args.bias ?? null;
  const prelu = activation === 'prelu' ? (args.prelu ?? null) : null;
  if (activation === 'prelu' && !prelu) return null;
  if (!(activation in EPILOGUE_ACTIVATION)) return null;
  const operands = [a, b, bias, prelu].filter((t): t is TensorInfo => t !== null);
  if (operands.some((t) => t.dtype !== 'float32' || t.shape.some((d) => d === 0))) return null;
  if (a.shape.length < 2 || b.shape.length < 2) return null;
  const [ra, rb] = [a.shape.length, b.shape.length];
  const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if ((transposeB ? b.shape[rb - 1] : b.shape[rb - 2]) !== K) return null; // TF.js says why
  const outBatch = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  if (!outBatch) return null; // TF.js's kernel says why
  const outShape = [...outBatch, M, N];
  const biasShape = bias ? epilogueOperandShape(bias.shape) : null;
  const preluShape = prelu ? epilogueOperandShape(prelu.shape) : null;
  for (const s of [biasShape, preluShape]) {
    if (s && s.length > outShape.length) return null;
    if (s && !broadcastShape(s, outShape)) return null;
  }
  const shapes = [a.shape, b.shape, biasShape, preluShape].filter((s): s is number[] => s !== null);
  const layout = batchStrides(outBatch, shapes);
  if (!layout) return null;
  const strides = layout.strides;
  const batch = layout.batch.reduce((p, q) => p * q, 1);

  const size = outShape.reduce((p, q) => p * q, 1);
  const l: Layout = {
    transposeA,
    transposeB,
    vecA: (transposeA ? M : K) % 4 === 0,
    vecB: (transposeB ? K : N) % 4 === 0,
    vecC: N % 4 === 0,
    bias: !!bias,
    prelu: !!prelu,
    activation,
    lower: !!args.lower,
  };
  const sizeClass = forcedTile ? 'forced' : matMulSizeClass(batch, M, N, K);
  const limit = backend.device.limits.maxComputeWorkgroupsPerDimension;
  let program: WgslProgram;
  if (sizeClass === 'tiny' && !forcedTile) {
    const scalar = { ...l, vecA: false, vecB: false, vecC: false };
    program = makeProgram(
      `tapegrad_matmul_tiny_${key(scalar)}`,
      scalar,
      size,
      [Math.ceil(N / 8), Math.ceil(M / 8), batch],
      [64, 1, 1],
      () => tinySource(scalar),
    );
  } else if (sizeClass === 'dot') {
    const { size, subgroups } = dotWorkgroup(backend);
    const scalar = { ...l, vecA: false, vecB: false, vecC: false };
    program = makeProgram(
      `tapegrad_matmul_dot_${size}_${subgroups}_${key(scalar)}`,
      scalar,
      size,
      [N, M, batch],
      [size, 1, 1],
      () => dotSource(scalar, size, subgroups),
    );
  } else {
    const c = sizeClass as TiledSizeClass;
    const t = forcedTile ?? deviceTiles.get(backend.device)?.[c] ?? MATMUL_TILES[c];
    if (forcedTile && matMulTileProblem(t, backend.device.limits)) return null;
    program = makeProgram(
      `tapegrad_matmul_tiled_${matMulTileName(t)}_${key(l)}`,
      l,
      size,
      [Math.ceil(N / (t.wx * t.tn)), Math.ceil(M / (t.wy * t.tm)), batch],
      [t.wx * t.wy, 1, 1],
      () => tiledSource(l, t),
    );
  }
  if (program.dispatch.some((d) => d > limit)) return null;
  const uniforms: { type: 'float32' | 'int32'; data: number[] }[] = [
    { type: 'int32', data: [M] },
    { type: 'int32', data: [N] },
    { type: 'int32', data: [K] },
    { type: 'int32', data: layout.batch },
    { type: 'int32', data: strides[0] },
    { type: 'int32', data: strides[1] },
  ];
  let next = 2;
  if (biasShape) {
    uniforms.push({ type: 'int32', data: strides[next++] }, { type: 'int32', data: mnStrides(biasShape) });
  }
  if (preluShape) {
    uniforms.push({ type: 'int32', data: strides[next++] }, { type: 'int32', data: mnStrides(preluShape) });
  }
  if (activation === 'leakyrelu') uniforms.push({ type: 'float32', data: [args.alpha] });
  const out = backend.makeTensorInfo([size], 'float32');
  backend.runWebGPUProgram(program, operands.map(flat), 'float32', uniforms, out);
  return { dataId: out.dataId, dtype: 'float32', shape: outShape } as TensorInfo;
}

/**
 * C = op(A)·op(B) on tapegrad's programs, for another kernel's step (the blocked factorizations'
 * trailing updates): float32 operands [..., rows, cols], batch axes broadcast; null where these
 * programs cannot run it (the caller then computes it its own way). With `lowerTriangle`, only the
 * entries on and below the diagonal are computed (as the full product computes them, to the bit):
 * blocks of C strictly above it are skipped, and their entries left unwritten (a symmetric
 * update, as Cholesky's L21·L21ᵀ, reads only the lower triangle).
 */
export function webgpuMatMul(
  backend: WebGPUBackendLike,
  a: TensorInfo,
  b: TensorInfo,
  transposeA = false,
  transposeB = false,
  { lowerTriangle = false } = {},
): TensorInfo | null {
  return runMatMul(backend as Backend, {
    a,
    b,
    transposeA,
    transposeB,
    activation: 'linear',
    alpha: 0,
    lower: lowerTriangle,
  });
}

function key(l: Layout): string {
  return [
    l.transposeA ? 'tA' : 'A',
    l.transposeB ? 'tB' : 'B',
    l.vecA ? 'v' : 's',
    l.vecB ? 'v' : 's',
    l.vecC ? 'v' : 's',
    l.bias ? 'bias' : '',
    l.prelu ? 'prelu' : '',
    l.activation,
    l.lower ? 'lower' : '',
  ].join('_');
}

function makeProgram(
  shaderKey: string,
  l: Layout,
  size: number,
  dispatch: [number, number, number],
  workgroupSize: [number, number, number],
  source: () => string,
): WgslProgram {
  const names = ['A', 'B', ...(l.bias ? ['bias'] : []), ...(l.prelu ? ['preluActivationWeights'] : [])];
  let uniforms = 'M : i32, N : i32, K : i32, batch : vec4<i32>, aBatch : vec4<i32>, bBatch : vec4<i32>,';
  if (l.bias) uniforms += ' biasBatch : vec4<i32>, biasMN : vec2<i32>,';
  if (l.prelu) uniforms += ' preluBatch : vec4<i32>, preluMN : vec2<i32>,';
  if (l.activation === 'leakyrelu') uniforms += ' alpha : f32,';
  return {
    outputShape: [size], // the output, flat
    shaderKey,
    dispatchLayout: { x: [0] },
    dispatch,
    variableNames: names,
    variableComponents: [l.vecA ? 4 : 1, l.vecB ? 4 : 1, ...names.slice(2).map(() => 1)],
    outputComponent: l.vecC ? 4 : 1,
    uniforms,
    workgroupSize,
    getUserCode: source,
  };
}

// ---------------------------------------------------------------------------------------------
// Registration.

let original: { batchMatMul: KernelConfig; fusedMatMul: KernelConfig } | null = null;

/** TF.js's own webgpu BatchMatMul and _FusedMatMul, once replaced: the benchmarks' baseline. */
export const tfjsWebGPUMatMul = () => original;

/** Moves `enable subgroups;` to the top of a shader (WGSL wants directives before declarations). */
function hoistDirectives(device: Device): void {
  const d = device as Device & { [HOISTED]?: true };
  if (d[HOISTED]) return;
  d[HOISTED] = true;
  const create = device.createShaderModule.bind(device);
  device.createShaderModule = (desc: { code: string }) =>
    create(
      desc.code.includes(ENABLE_SUBGROUPS)
        ? { ...desc, code: `${ENABLE_SUBGROUPS}\n${desc.code.replace(ENABLE_SUBGROUPS, '')}` }
        : desc,
    );
}
const HOISTED = Symbol('tapegrad hoists WGSL directives');

/** Registers tapegrad's matmul for webgpu's BatchMatMul and _FusedMatMul (once), keeping TF.js's as the fallback. */
export function installWebGPUMatMul(backend: object): void {
  hoistDirectives((backend as Backend).device);
  if (original || !tf.getKernel('BatchMatMul', 'webgpu') || !tf.getKernel('_FusedMatMul', 'webgpu')) return;
  original = {
    batchMatMul: tf.getKernel('BatchMatMul', 'webgpu')!,
    fusedMatMul: tf.getKernel('_FusedMatMul', 'webgpu')!,
  };
  const saved = original;
  const kernel =
    (fallback: KernelConfig): KernelFunc =>
    (args) => {
      const inputs = args.inputs as Record<string, TensorInfo | undefined>;
      const attrs = (args.attrs ?? {}) as NamedAttrMap;
      const result = enabled
        ? runMatMul(args.backend as unknown as Backend, {
            a: inputs.a!,
            b: inputs.b!,
            transposeA: !!attrs.transposeA,
            transposeB: !!attrs.transposeB,
            bias: inputs.bias ?? null,
            prelu: inputs.preluActivationWeights ?? null,
            activation: ((attrs.activation as string | undefined) ?? 'linear') as MatMulActivation,
            alpha: (attrs.leakyreluAlpha as number | undefined) ?? 0.2,
          })
        : null;
      return result ?? (fallback.kernelFunc(args) as TensorInfo);
    };
  for (const [name, config] of [
    ['BatchMatMul', saved.batchMatMul],
    ['_FusedMatMul', saved.fusedMatMul],
  ] as const) {
    tf.unregisterKernel(name, 'webgpu');
    tf.registerKernel({ kernelName: name, backendName: 'webgpu', kernelFunc: kernel(config) });
  }
}

/**
 * Wraps TF.js's registered webgpu backend factory (if the backend has not started yet) so that
 * the device it makes also has subgroups where the adapter offers them: TF.js asks only for
 * timestamps. The factory's adapter request is intercepted for its duration only.
 */
export function preferSubgroupDevice(): void {
  const factory = tf.findBackendFactory('webgpu');
  const engine = tf.engine() as unknown as { registry: object };
  if (!factory || (factory as { [WRAPPED]?: true })[WRAPPED] || 'webgpu' in engine.registry) return;
  type Adapter = {
    features: { has(f: string): boolean };
    info?: SubgroupSizes;
    requestDevice(d?: { requiredFeatures?: Iterable<unknown> }): Promise<object>;
  };
  type Gpu = { requestAdapter(o?: object): Promise<Adapter | null> };
  const wrapped = async () => {
    const gpu = (globalThis as unknown as { navigator: { gpu: Gpu } }).navigator.gpu;
    const own = Object.hasOwn(gpu, 'requestAdapter');
    const requestAdapter = gpu.requestAdapter;
    gpu.requestAdapter = async (o?: object) => {
      const adapter = await requestAdapter.call(gpu, o);
      if (adapter?.features.has('subgroups')) {
        const requestDevice = adapter.requestDevice;
        adapter.requestDevice = async (d) => {
          const requiredFeatures = [...(d?.requiredFeatures ?? []), 'subgroups'];
          const device = await requestDevice.call(adapter, { ...d, requiredFeatures });
          if (adapter.info) subgroupSizes.set(device, adapter.info);
          return device;
        };
      }
      return adapter;
    };
    try {
      return await factory();
    } finally {
      if (own) gpu.requestAdapter = requestAdapter;
      else delete (gpu as Partial<Gpu>).requestAdapter;
    }
  };
  (wrapped as { [WRAPPED]?: true })[WRAPPED] = true;
  tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', wrapped, 3);
}
const WRAPPED = Symbol('tapegrad asks for subgroups');
