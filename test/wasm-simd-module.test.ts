// The factory of our wasm SIMD modules (kernels/wasm-simd-module.ts): a module declared by its
// functions alone gets its switch, one instance per heap (on the heap's memory, in place) and null
// where there is no heap or it is off; and every module tapegrad declares is small enough for a
// browser to compile synchronously and is valid for a shared heap (the threaded build's) and an
// unshared one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../src/index.js';
import { f32x4, I32, i32, local, V128, v128, whileBelow } from '../kernels/wasm-encoder.js';
import { heapOf, simdModule, simdModules, type WasmBackend } from '../kernels/wasm-simd-module.js';

/** addOne(at, count): the `count` float32s at byte address `at` (count a multiple of 4) plus 1. */
const addOne = simdModule<{ addOne(at: number, count: number): number }>('test-add-one', () => {
  const [AT, COUNT, END] = [0, 1, 2];
  const get = local.get;
  const body = [
    ...local.set(END, i32.add(get(AT), i32.shl(get(COUNT), i32.const(2)))),
    ...whileBelow(get(AT), get(END), [
      ...v128.store(get(AT), f32x4.add(v128.load(get(AT)), f32x4.splat(1))),
      ...local.increment(AT, i32.const(16)),
    ]),
    ...i32.const(0),
  ];
  return [{ name: 'addOne', params: [I32, I32], result: I32, locals: [I32, V128], body }];
});

test('a module declared by its functions: run on a heap in place, once per heap, off and on again', () => {
  const heaps = [
    new WebAssembly.Memory({ initial: 1 }),
    new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true }),
  ];
  for (const heap of heaps) {
    const values = new Float32Array(heap.buffer, 64, 8);
    values.set([0, 1, 2, 3, -1, -2, 0.5, 2 ** 30]);
    const m = addOne.on(heap);
    assert.ok(m, 'instantiated');
    m!.addOne(64, 8);
    assert.equal([...values], [1, 2, 3, 4, 0, -1, 1.5, 2 ** 30]);
    assert.is(addOne.on(heap), m, 'one instance per heap');
  }
  assert.is.not(addOne.on(heaps[0]), addOne.on(heaps[1]), 'an instance per heap');
  assert.is(addOne.on(null), null, 'no heap: null');
  addOne.setEnabled(false);
  try {
    assert.is(addOne.on(heaps[0]), null, 'off: null');
    assert.is(addOne.helper(heaps[1]), null, 'off: no helper');
  } finally {
    addOne.setEnabled(true);
  }
  assert.ok(addOne.on(heaps[0]), 'on again');
  assert.is(addOne.helper(heaps[1]), null, 'no threaded functions: no helper');
  assert.throws(() => simdModule('test-add-one', () => []), /a module named 'test-add-one' exists already/);
});

test('the heap of a wasm backend (either build), and none for the others', async () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  assert.is(heapOf({ wasm: { wasmMemory: memory } }), memory);
  assert.is(heapOf({ wasm: { asm: { memory } } }), memory);
  assert.is(heapOf({}), null);
  await tg.setBackend('wasm');
  const heap = heapOf(tf.backend() as unknown as WasmBackend);
  assert.ok(heap instanceof WebAssembly.Memory);
  await tg.setBackend('cpu');
  assert.is(heapOf(tf.backend() as unknown as WasmBackend), null);
});

test("every module tapegrad declares: valid on a shared and an unshared heap, under 4 KiB (a browser's synchronous compile)", () => {
  const names = [...simdModules.keys()];
  for (const name of [
    'adam',
    'batch-matmul',
    'dense-matmul',
    'gelu',
    'gelu-grad',
    'gelu-float64',
    'grads',
    'layer-norm',
    'transpose',
    'sin-cos',
    'pad',
    'winograd',
    'max-pool',
  ])
    assert.ok(names.includes(name), `${name} among ${names.join(', ')}`);
  for (const [name, m] of simdModules)
    for (const shared of [true, false]) {
      const bytes = m.bytes({ kind: 'import', shared });
      assert.ok(WebAssembly.validate(bytes), `${name} (shared ${shared}) is valid`);
      assert.ok(bytes.length < 4096, `${name}: ${bytes.length} bytes`);
    }
});

test.run();
