// See what backward() will do: a two-layer net's graph as a table and as Graphviz DOT.
// Writes out/graph.dot, and out/graph.svg when Graphviz's `dot` is installed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as tg from 'tapegrad';

const x = tg.randn([4, 3], { seed: 1 });
const W1 = tg.randn([3, 5], { seed: 2, requiresGrad: true });
const b1 = tg.zeros([5], { requiresGrad: true });
const W2 = tg.randn([5, 1], { seed: 3, requiresGrad: true });
const target = tg.ones([4, 1]);

tg.tidy(() => {
  const h = tg.tanh(tg.add(tg.matmul(x, W1), b1));
  const loss = tg.mseLoss(tg.matmul(h, W2), target);

  console.log('The graph under the loss (backward walks it from the bottom row up):\n');
  tg.explain(loss, { print: true });

  mkdirSync('out', { recursive: true });
  writeFileSync('out/graph.dot', tg.toDot(loss, { name: 'mlp loss' }));
  console.log('\nwrote out/graph.dot');
  const svg = spawnSync('dot', ['-Tsvg', 'out/graph.dot', '-o', 'out/graph.svg']);
  console.log(
    svg.error
      ? '(Graphviz `dot` is not installed: no SVG)'
      : svg.status === 0
        ? 'wrote out/graph.svg'
        : `dot failed: ${svg.stderr}`,
  );

  loss.backward();
  console.log('\nAfter backward() the nodes are released (pass { retainGraph: true } to keep them):\n');
  tg.explain(loss, { print: true });
});
tg.dispose([x, W1, b1, W2, target, W1.grad, b1.grad, W2.grad]);
