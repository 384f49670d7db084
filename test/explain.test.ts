// Graph inspection: explain() lists the recorded graph, toDot() renders it as Graphviz DOT.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';
import { assertNoLeak } from './helpers.js';

test('an op with several outputs: a row per output (unbind[k]), its saved inputs counted once', () => {
  const x = tg.tensor(
    [
      [1, 2],
      [3, 4],
      [5, 6],
    ],
    { requiresGrad: true },
  );
  assertNoLeak(() =>
    tg.tidy(() => {
      const [a, , c] = tg.unbind(x);
      const ex = tg.explain(a.add(c));
      assert.equal(
        ex.rows.map((r) => r.op),
        ['leaf', 'unbind[0]', 'unbind[2]', 'add'],
      );
      assert.equal(ex.rows[1].inputs, [0]);
      assert.equal(ex.rows[2].inputs, [0]);
      assert.is(ex.rows[1].savedBytes, (6 + 2) * 4);
      assert.is(ex.rows[2].saved, 'with #1');
      assert.is(ex.rows[2].savedBytes, 0);
      assert.match(String(a), /gradFn=unbind\[0\]/);
    }),
  );
  x.dispose();
});

test('explain lists every tensor of the graph in forward order with shapes, inputs and what was saved', () => {
  const x = tg.tensor([[1, 2, 3]], { requiresGrad: true });
  const W = tg.randn([3, 2], { seed: 1 });
  tg.tidy(() => {
    const y = tg.tanh(tg.matmul(x, W)).sum();
    const ex = tg.explain(y);
    assert.equal(
      ex.rows.map((r) => r.op),
      ['leaf', 'constant', 'matmul', 'tanh', 'sum'],
    );
    const mm = ex.rows[2];
    assert.equal(mm.shape, [1, 2]);
    assert.equal(mm.inputs, [0, 1]);
    assert.equal(mm.inputShapes, [
      [1, 3],
      [3, 2],
    ]);
    assert.match(mm.saved, /inputs #0,#1; output/);
    assert.is(mm.savedBytes, (3 + 6 + 2) * 4);
    assert.is(ex.rows[1].requiresGrad, false);
    assert.is(ex.rows[4].requiresGrad, true);
    assert.ok(ex.rows.every((r) => !r.freed));
    assert.match(ex.table, /#2\s+matmul\s+\[1,2\]\s+#0\[1,3\] #1\[3,2\]/);
    assert.match(ex.table, /3 ops, 2 leaves\/constants/);
    assert.is(String(ex), ex.table);
    y.backward();
    const after = tg.explain(y);
    assert.is(after.rows.length, 1, 'backward released the nodes: the graph is cut');
    assert.is(after.rows[0].freed, true);
    assert.match(after.table, /released by backward/);
  });
  tg.dispose([x, x.grad, W]);
});

test('a tensor used twice appears once; attributes are shown', () => {
  const x = tg.tensor([1, 2], { requiresGrad: true });
  tg.tidy(() => {
    const y = tg.mul(x, x).sum({ axis: 0 });
    const ex = tg.explain(y);
    assert.equal(
      ex.rows.map((r) => r.op),
      ['leaf', 'mul', 'sum'],
    );
    assert.equal(ex.rows[1].inputs, [0, 0]);
    assert.match(ex.rows[2].saved, /"axes":\[0\]/);
  });
  x.dispose();
});

test('explain of a leaf or an untracked tensor is one row', () => {
  const c = tg.tensor([1]);
  const ex = tg.explain(c);
  assert.equal(
    ex.rows.map((r) => r.op),
    ['constant'],
  );
  c.dispose();
  assert.is(tg.explain(c).rows[0].freed, true, 'a disposed tensor is shown as freed');
});

test('explain can print; it allocates nothing', () => {
  const x = tg.tensor([1, 2], { requiresGrad: true });
  const y = tg.exp(x);
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  try {
    assertNoLeak(() => tg.explain(y, { print: true }));
  } finally {
    console.log = log;
  }
  assert.is(lines.length, 1);
  assert.match(lines[0], /exp\s+\[2\]/);
  tg.dispose([x, y]);
});

test('toDot gives a digraph with one node per tensor and one edge per input', () => {
  const a = tg.tensor([1, 2], { requiresGrad: true });
  const b = tg.tensor([3, 4], { requiresGrad: true });
  tg.tidy(() => {
    const y = tg.add(tg.mul(a, b), a).sum();
    const dot = tg.toDot(y, { name: 'my graph' });
    assert.match(dot, /^digraph "my graph" \{/);
    assert.is((dot.match(/^\s+n\d+ \[label=/gm) ?? []).length, 5);
    assert.is((dot.match(/->/g) ?? []).length, 5);
    assert.match(dot, /n0 \[label="#0 leaf\\n\[2\]", shape=ellipse/);
    assert.match(dot, /label="#4 sum\\n\[\]", shape=box, style="rounded", penwidth=2/);
    assert.ok(dot.trimEnd().endsWith('}'));
  });
  tg.dispose([a, b]);
});

test('bad arguments name the function', () => {
  assert.throws(() => tg.explain([1, 2] as never), /^explain: expected a tapegrad Tensor, got an array/);
  assert.throws(() => tg.toDot(null as never), /^toDot: expected a tapegrad Tensor, got null/);
});

test.run();
