// The wasm dense product's kernel alone (kernels/dense-matmul.ts), shape by shape: its WebAssembly
// function on the heap's operands in each variant the module can be built in (tile rows, A splatted
// from a vector or loaded per term, B packed or read in place, the blocking), XNNPACK (tf.matMul with
// our kernel off) and ours through tf.matMul beside them, each timed in turn round after round so
// that the machine's load falls on all alike. Medians in ms and GFLOP/s; markdown on stdout.
//   node --import tsx benchmarks/dense-matmul.ts [--threads 1] [--budget 2] [--variants]
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';
import * as tg from '../src/index.js';
import { setDenseMatMul } from '../src/testing.js';
import { BLOCKING, type GemmOptions, GEMM, gemmFunction } from '../kernels/dense-matmul.js';
import { heapOf, simdModule, type WasmBackend } from '../kernels/wasm-simd-module.js';
import { median } from './harness.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '1' },
    budget: { type: 'string', default: '2' },
    variants: { type: 'string' },
    shapes: { type: 'string' },
    blocking: { type: 'string' },
  },
});
await tg.setBackend('wasm');
tg.setThreads(Number(values.threads));

const SHAPES: [number, number, number][] = values.shapes
  ? values.shapes.split(';').map((s) => s.split(',').map(Number) as [number, number, number])
  : [
      [64, 784, 256],
      [784, 64, 256],
      [256, 64, 784],
      [256, 256, 256],
      [256, 256, 10],
      [1024, 1024, 1024],
      [2048, 64, 256],
      [512, 512, 512],
    ];

type Gemm = (...args: number[]) => number;
const variants: { name: string; options: GemmOptions; blocking: { mc: number; kc: number } }[] = [
  { name: 'built', options: GEMM, blocking: BLOCKING },
];
// "rows,vectors,splat,pack,unroll;…" e.g. "4,2,1,1,4;2,4,0,1,1"
for (const v of values.variants?.split(';') ?? []) {
  const [rows, vectors, splat, pack, unroll] = v.split(',').map(Number);
  const name = `${rows}×${4 * vectors} ${splat ? 'splat' : 'loadsplat'} ${pack ? 'packed' : 'in place'} ×${unroll}`;
  variants.push({ name, options: { rows, vectors, splat: !!splat, pack: !!pack, unroll }, blocking: BLOCKING });
}
// the built kernel with other blocks of rows and terms: "mc,kc;mc,kc"
for (const pair of values.blocking?.split(';') ?? []) {
  const [mc, kc] = pair.split(',').map(Number);
  variants.push({ name: `built, mc ${mc} kc ${kc}`, options: GEMM, blocking: { mc, kc } });
}
const backend = tf.backend() as unknown as WasmBackend;
const heap = heapOf(backend)!;
const built = variants.map(
  (v, i) => simdModule<{ gemm: Gemm }>(`bench-gemm-${i}`, () => [gemmFunction(v.options)]).on(heap)!,
);
// a kernel to compare with, when a file of it lies beside: its gemm(a, b, bias, c, M, N, K, hasBias, clamp, lo, hi)
const before = await import('../kernels/before-dense-matmul.tmp.js' as string).then(
  (m: { gemm: () => Parameters<typeof simdModule>[1] extends () => (infer F)[] ? F : never }) =>
    simdModule<{ gemm: Gemm }>('bench-gemm-before', () => [m.gemm()]).on(heap)!,
  () => null,
);

for (const [M, K, N] of SHAPES) {
  const a = tf.randomNormal([M, K]);
  const b = tf.randomNormal([K, N]);
  const scratch = tf.zeros([(4096 + 1 + 4096) * 16]);
  const c = tf.zeros([M, N]);
  const offset = (t: tf.Tensor) =>
    (backend.typedArrayFromHeap(t as unknown as tf.TensorInfo) as Float32Array).byteOffset;
  const direct = (i: number) => () => {
    const { mc, kc } = variants[i].blocking;
    built[i].gemm(
      offset(a),
      offset(b),
      0,
      offset(c),
      M,
      N,
      K,
      0,
      0,
      offset(scratch),
      mc,
      kc,
      -Infinity,
      Infinity,
      4,
      4 * K,
    );
  };
  // a new B each round, as a training step's weights are: XNNPACK packs a B it has not seen
  let fresh = b.clone();
  const through = (on: boolean) => () => {
    setDenseMatMul(on);
    tf.matMul(a, fresh).dispose();
    setDenseMatMul(true);
  };
  const timed: [string, () => void][] = [
    ['XNNPACK (tf.matMul)', through(false)],
    ['ours (tf.matMul)', through(true)],
    ...(before
      ? [
          ['before', () => before.gemm(offset(a), offset(b), 0, offset(c), M, N, K, 0, 0, -Infinity, Infinity)] as [
            string,
            () => void,
          ],
        ]
      : []),
    ...variants.map((v, i) => [v.name, direct(i)] as [string, () => void]),
  ];
  // warm: V8 compiles a hot function again, optimised, in the background
  for (let w = 0; w < 3; w++) {
    for (const [, f] of timed) f();
    await new Promise((r) => setTimeout(r, 50));
  }
  const times = timed.map(() => [] as number[]);
  const deadline = performance.now() + Number(values.budget) * 1000;
  for (let round = 0; round < 3 || (performance.now() < deadline && round < 200); round++) {
    fresh.dispose();
    fresh = tf.add(b, 0);
    timed.forEach(([, f], i) => {
      const t = performance.now();
      f();
      times[i].push(performance.now() - t);
    });
  }
  fresh.dispose();
  console.log(`\n[${M}, ${K}]·[${K}, ${N}], ${values.threads} thread(s), ${times[0].length} rounds`);
  console.log('| kernel | ms | GFLOP/s |\n|---|---|---|');
  timed.forEach(([name], i) => {
    const ms = median(times[i].slice(1));
    console.log(`| ${name} | ${ms.toFixed(3)} | ${((2 * M * N * K) / ms / 1e6).toFixed(1)} |`);
  });
  tf.dispose([a, b, c, scratch]);
}
