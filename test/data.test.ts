// tg.data: datasets, the loader's batches (order, shuffles, dropLast, collate), that a loop leaks
// nothing however it ends, random splits, and the errors for bad input.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';
import { assertNoLeak, assertThrows, NODE_BACKENDS } from './helpers.js';

const { TensorDataset, DataLoader, randomSplit, Subset, collate } = tg.data;
const rows = (t: tg.Tensor) => t.arraySync() as number[][];

/** x[i] = [i, 10i], y[i] = i (int32): every batch says which items it holds. */
function numbered(n: number): [tg.Tensor, tg.Tensor] {
  const x = tg.tensor(Array.from({ length: n }, (_, i) => [i, 10 * i]));
  const y = tg.tensor(
    Array.from({ length: n }, (_, i) => i),
    { dtype: 'int32' },
  );
  return [x, y];
}

test('TensorDataset: rows of every tensor; get and getBatch', () => {
  const [x, y] = numbered(5);
  const ds = new TensorDataset(x, y);
  assert.is(ds.length, 5);
  assertNoLeak(() => {
    const [xi, yi] = ds.get(3);
    assert.equal(xi.arraySync(), [3, 30]);
    assert.equal(yi.arraySync(), 3);
    assert.is(yi.dtype, 'int32');
    const [xb, yb] = ds.getBatch([4, 0]);
    assert.equal(rows(xb), [
      [4, 40],
      [0, 0],
    ]);
    assert.equal(yb.arraySync(), [4, 0]);
    tg.dispose([xi, yi, xb, yb]);
  });
  assertThrows(() => ds.get(5), /^TensorDataset\.get: index 5 is out of range \[0, 5\)$/);
  assertThrows(() => ds.get(-1), /index -1 is out of range/);
  assertThrows(() => ds.getBatch([0, 7]), /^TensorDataset\.getBatch: index 7 is out of range \[0, 5\)$/);
  assertThrows(
    () => new TensorDataset(x, tg.zeros([4])),
    /^TensorDataset: every tensor needs the same first axis: tensor 0 has shape \[5,2\], tensor 1 \[4\]$/,
  );
  assertThrows(() => new TensorDataset(), /TensorDataset: needs at least one tensor/);
  assertThrows(() => new TensorDataset(tg.scalar(1)), /tensor 0 is a scalar/);
  tg.dispose([x, y]);
});

test('DataLoader: batches in order, the last one short unless dropLast; length; on cpu and wasm', async () => {
  for (const backend of NODE_BACKENDS) {
    await tg.setBackend(backend);
    const [x, y] = numbered(10);
    const ds = new TensorDataset(x, y);
    const loader = new DataLoader(ds, { batchSize: 4 });
    assert.is(loader.length, 3);
    const seen: number[][] = [];
    assertNoLeak(() => {
      for (const [xb, yb] of loader) {
        assert.equal(xb.shape[1], 2);
        assert.equal(
          rows(xb).map((r) => r[0]),
          yb.arraySync(),
        );
        seen.push(yb.arraySync() as number[]);
      }
    }, `${backend}: a pass`);
    assert.equal(
      seen,
      [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9],
      ],
      backend,
    );
    const dropped = new DataLoader(ds, { batchSize: 4, dropLast: true });
    assert.is(dropped.length, 2);
    assert.equal([...dropped].length, 2);
    const one = new DataLoader(ds);
    assert.is(one.length, 10, 'batchSize 1 by default');
    assertNoLeak(() => {
      for (const [xb] of one) assert.equal(xb.shape, [1, 2]);
    });
    tg.dispose([x, y]);
  }
});

test('DataLoader shuffle: each pass a permutation, a new one each pass; the same seed, the same passes', () => {
  const [x, y] = numbered(12);
  const ds = new TensorDataset(x, y);
  const passes = (seed: number) => {
    const loader = new DataLoader(ds, { batchSize: 5, shuffle: true, seed });
    return [0, 1, 2].map(() => {
      const pass: number[][] = [];
      for (const [, yb] of loader) pass.push(yb.arraySync() as number[]);
      return pass;
    });
  };
  const a = passes(7);
  for (const pass of a) {
    assert.equal(
      pass.map((b) => b.length),
      [5, 5, 2],
    );
    assert.equal(
      pass.flat().sort((p, q) => p - q),
      Array.from({ length: 12 }, (_, i) => i),
    );
  }
  assert.not.equal(a[0], a[1], 'a new order each pass');
  assert.not.equal(
    a[0].flat(),
    Array.from({ length: 12 }, (_, i) => i),
    'shuffled',
  );
  assert.equal(passes(7), a, 'reproducible');
  assert.not.equal(passes(8), a, 'another seed, other orders');
  tg.dispose([x, y]);
});

test('a batch is freed when the loop moves on or ends: break, throw, for await; until then it is usable', async () => {
  const [x, y] = numbered(9);
  const ds = new TensorDataset(x, y);
  const loader = new DataLoader(ds, { batchSize: 2, shuffle: true, seed: 1 });
  assertNoLeak(() => {
    let prev: tg.Tensor | null = null;
    for (const [xb] of loader) {
      if (prev) assert.ok(prev.isDisposed, 'the previous batch was freed');
      assert.ok(!xb.isDisposed);
      prev = xb;
    }
    assert.ok(prev!.isDisposed, 'the last batch is freed when the loop ends');
  }, 'a full pass');
  assertNoLeak(() => {
    for (const [xb] of loader) {
      if (xb.shape[0] === 2) break;
    }
  }, 'break');
  assertNoLeak(() => {
    try {
      for (const _ of loader) throw new Error('in the loop');
    } catch (e) {
      assert.is((e as Error).message, 'in the loop');
    }
  }, 'throw');
  const before = tg.memory();
  let batches = 0;
  for await (const [xb, yb] of loader) {
    assert.equal(
      rows(xb).map((r) => r[0]),
      yb.arraySync(),
    );
    batches++;
  }
  assert.is(batches, 5);
  assert.equal(tg.memory(), before, 'for await leaks nothing');
  // a training loop: the batch feeds a tidy step
  const net = new tg.nn.Linear(2, 3, { seed: 1 });
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.01 });
  const start = tg.memory();
  for (const [xb, yb] of new DataLoader(ds, { batchSize: 4 })) {
    tg.tidy(() => {
      opt.zeroGrad();
      tg.nn.crossEntropy(net.forward(xb), yb.minimum(tg.tensor(2, { dtype: 'int32' }))).backward();
      opt.step();
    });
  }
  opt.zeroGrad();
  assert.equal(tg.memory(), start, 'a training pass leaks nothing');
  net.dispose();
  tg.dispose([x, y]);
});

test("datasets of any items: async get, numbers, objects; a custom collate; the dataset's own tensors are not freed", async () => {
  const stored = [tg.tensor([1, 2]), tg.tensor([3, 4]), tg.tensor([5, 6])];
  const ds = { length: 3, get: (i: number) => ({ x: stored[i], label: i }) };
  const before = tg.memory();
  const got: unknown[] = [];
  for (const b of new DataLoader(ds, { batchSize: 2 })) {
    const { x, label } = b as { x: tg.Tensor; label: tg.Tensor };
    got.push([x.arraySync(), label.arraySync(), label.dtype]);
  }
  assert.equal(got, [
    [
      [
        [1, 2],
        [3, 4],
      ],
      [0, 1],
      'float32',
    ],
    [[[5, 6]], [2], 'float32'],
  ]);
  assert.equal(tg.memory(), before);
  assert.ok(
    stored.every((t) => !t.isDisposed),
    "the dataset's tensors live on",
  );
  // a collate that hands back a stored tensor: the loader does not free it
  const firstOnly = new DataLoader(ds, { batchSize: 2, collate: (items) => items[0].x });
  for (const b of firstOnly) assert.ok(b instanceof tg.Tensor);
  assert.ok(stored.every((t) => !t.isDisposed));
  assert.equal(tg.memory(), before);
  // async items: for await; a plain for … of says to use for await
  const slow = { length: 3, get: async (i: number) => [tg.tensor([i]), i] as [tg.Tensor, number] };
  const seen: number[][] = [];
  for await (const [xb, n] of new DataLoader(slow, { batchSize: 3 }) as AsyncIterable<[tg.Tensor, tg.Tensor]>)
    seen.push([...(xb.dataSync() as Float32Array), ...(n.dataSync() as Float32Array)]);
  assert.equal(seen, [[0, 1, 2, 0, 1, 2]]);
  assert.equal(tg.memory(), before, 'item tensors made by get are freed once collated');
  assertThrows(() => [...new DataLoader(slow)], /DataLoader: the dataset returns Promises: iterate with for await/);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(tg.memory(), before, 'the tensors those promises made are freed when they settle');
  // a get that throws part-way frees what it had made
  const failing = {
    length: 4,
    get: (i: number) => {
      if (i === 2) throw new Error('bad item');
      return tg.tensor([i]);
    },
  };
  try {
    for (const _ of new DataLoader(failing, { batchSize: 4 }));
    assert.unreachable('should throw');
  } catch (e) {
    assert.is((e as Error).message, 'bad item');
  }
  assert.equal(tg.memory(), before, 'nothing left after a failing get');
  tg.dispose(stored);
});

test('collate: stacks tensors, numbers to float32, tuples and objects position by position; refuses mismatches', () => {
  const items = [tg.tensor([1, 2]), tg.tensor([4, 5])];
  assertNoLeak(() => {
    const b = collate([
      [items[0], 3],
      [items[1], 6],
    ]) as [tg.Tensor, tg.Tensor];
    assert.equal(b[0].arraySync(), [
      [1, 2],
      [4, 5],
    ]);
    assert.equal(b[1].arraySync(), [3, 6]);
    assert.is(b[1].dtype, 'float32');
    tg.dispose(b);
  });
  tg.dispose(items);
  assertThrows(
    () => collate([tg.ones([2]), tg.ones([3])]),
    /^collate: item 1 has shape \[3\] float32, item 0 \[2\] float32: they cannot be stacked$/,
  );
  assertThrows(() => collate([tg.ones([2]), 3]), /collate: item 1 is number 3 but item 0 is a Tensor/);
  assertThrows(
    () => collate(['a', 'b']),
    /collate: cannot batch items like item 0 \(.*a.*\): give the loader a collate function/,
  );
  assertThrows(() => collate([]), /collate: expected a non-empty array of items/);
});

test("randomSplit: fractions or counts, disjoint subsets covering the dataset, PyTorch's remainder rule, seeded", () => {
  const [x, y] = numbered(10);
  const ds = new TensorDataset(x, y);
  const [train, val] = randomSplit(ds, [0.8, 0.2], { seed: 3 });
  assert.instance(train, Subset);
  assert.equal([train.length, val.length], [8, 2]);
  const all = [...train.indices, ...val.indices].sort((a, b) => a - b);
  assert.equal(
    all,
    Array.from({ length: 10 }, (_, i) => i),
  );
  assert.equal(randomSplit(ds, [0.8, 0.2], { seed: 3 })[0].indices, train.indices, 'same seed, same split');
  assert.equal(
    randomSplit(ds, [0.33, 0.33, 0.34], { seed: 1 }).map((s) => s.length),
    [4, 3, 3],
    'floor, remainder to the first',
  );
  assert.equal(
    randomSplit(ds, [7, 3]).map((s) => s.length),
    [7, 3],
  );
  // a subset's items are the dataset's items; the loader gathers them through getBatch
  assertNoLeak(() => {
    const item = val.get(1) as tg.Tensor[];
    assert.equal(item[0].arraySync(), [val.indices[1], 10 * val.indices[1]]);
    tg.dispose(item);
    const ys = [...new DataLoader(val, { batchSize: 2 })].length;
    assert.is(ys, 1);
    for (const [, yb] of new DataLoader(val, { batchSize: 2 })) assert.equal(yb.arraySync(), val.indices);
  });
  assertThrows(
    () => randomSplit(ds, [0.5, 0.4]),
    /^randomSplit: lengths \[0\.5,0\.4\] must be counts that sum to the dataset's length 10, or fractions that sum to 1$/,
  );
  assertThrows(() => randomSplit(ds, [8, 3]), /lengths \[8,3\] must be counts/);
  assertThrows(() => randomSplit(ds, [-1, 11]), /lengths must be a non-empty array of non-negative numbers/);
  assertThrows(() => randomSplit({} as never, [1]), /randomSplit: expected a dataset/);
  assertThrows(() => randomSplit(ds, [0.5, 0.5], { seed: 1.5 }), /randomSplit: seed must be an integer, got 1\.5/);
  assertThrows(() => val.get(2), /Subset\.get: index 2 is out of range \[0, 2\)/);
  tg.dispose([x, y]);
});

test('DataLoader refuses bad options', () => {
  const [x] = numbered(3);
  const ds = new TensorDataset(x);
  assertThrows(() => new DataLoader(ds, { batchSize: 0 }), /^DataLoader: batchSize must be a positive integer, got 0$/);
  assertThrows(() => new DataLoader(ds, { batchSize: 2.5 }), /batchSize must be a positive integer, got 2\.5/);
  assertThrows(
    () => new DataLoader([1, 2] as never),
    /DataLoader: expected a dataset \(an object with an integer length and get\(i\)\)/,
  );
  assertThrows(() => new DataLoader(ds, { collate: 3 as never }), /DataLoader: collate must be a function/);
  assertThrows(() => new DataLoader(ds, { shuffle: true, seed: 0.5 }), /DataLoader: seed must be an integer/);
  assertThrows(() => new DataLoader(ds, { seed: 1 }), /DataLoader: seed is given but shuffle is off/);
  x.dispose();
});

test.run();
