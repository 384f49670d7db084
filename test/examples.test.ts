// The examples on real data sets (mnist, words, iris), run in their --quick forms as `npm start`
// runs them: each must exit 0 and end with its result line, with a result far from chance. Also
// the seeded splits the PyTorch references reproduce (benchmarks/reference/examples_common.py).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mulberry32, shuffled, splitIndices, stratifiedSplit } from '../examples/lib/split.js';
import { wordRows } from '../examples/lib/words.js';

/** Runs an example with --quick; returns its output lines (and fails on a non-zero exit). */
function runQuick(file: string): string[] {
  const r = spawnSync(process.execPath, ['--import', 'tsx', file, '--quick'], { encoding: 'utf8' });
  assert.is(r.status, 0, `${file} exited with ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout.trim().split('\n');
}

test('mnist --quick: both models far above chance (10%) on the 2,000 held-out digits', () => {
  const lines = runQuick('examples/mnist.ts');
  const last = lines.at(-1)!;
  const m = last.match(/^held-out accuracy: (\d+\.\d)%$/);
  assert.ok(m, `last line: ${last}`);
  assert.ok(Number(m![1]) > 50, `CNN held-out accuracy ${m![1]}%`);
  const mlp = lines.at(-2)!.match(/^MLP held-out accuracy: (\d+\.\d)%$/);
  assert.ok(mlp && Number(mlp[1]) > 80, `MLP line: ${lines.at(-2)}`);
  assert.ok(
    lines.some((l) => l.startsWith('wrote out/mnist-misclassified.svg, out/mnist-confusion.svg')),
    lines.join('\n'),
  );
});

test('words --quick: held-out nll well below chance (ln 27 = 3.30 nats/char), bigram ≈ 2.51', () => {
  const lines = runQuick('examples/words.ts');
  const last = lines.at(-1)!;
  const m = last.match(/^held-out nll: (\d\.\d{3}) nats\/char \(bigram (\d\.\d{3})\)$/);
  assert.ok(m, `last line: ${last}`);
  assert.ok(Number(m![1]) < 3.0, `transformer ${m![1]}`);
  assert.ok(Math.abs(Number(m![2]) - 2.51) < 0.03, `bigram ${m![2]}`);
  const sampled = lines.find((l) => l.startsWith('twenty sampled words'));
  assert.is(sampled?.split(': ')[1].split(' ').length, 20, String(sampled));
});

test('iris --quick: gradcheck passes and both models ≥ 93% held out', () => {
  const lines = runQuick('examples/iris.ts');
  assert.ok(
    lines.some((l) => l.startsWith('gradcheck of the logistic loss: ok')),
    lines.join('\n'),
  );
  const last = lines.at(-1)!;
  const m = last.match(/^held-out accuracy: logistic regression (\d+\.\d)%, MLP (\d+\.\d)%$/);
  assert.ok(m, `last line: ${last}`);
  assert.ok(Number(m![1]) >= 93 && Number(m![2]) >= 93, last);
});

test('the seeded splits: the values examples_common.py reproduces, disjoint and complete', () => {
  const r = mulberry32(2024);
  // mulberry32's first draws for seed 2024, as Python computes them
  assert.equal(
    [r(), r(), r()].map((v) => v.toFixed(12)),
    [0.811762373894, 0.710821494926, 0.650525885867].map((v) => v.toFixed(12)),
  );
  assert.equal(splitIndices(10000, 2000, 2024).train.slice(0, 5), [432, 3395, 1353, 6086, 3490]);
  const s = splitIndices(100, 10, 7);
  assert.equal(
    [...s.train, ...s.heldOut].sort((a, b) => a - b),
    [...Array(100).keys()],
  );
  assert.equal(shuffled(5, 1).length, 5);
  const labels = [...Array(150).keys()].map((i) => Math.floor(i / 50));
  const st = stratifiedSplit(labels, 0.8, 2024);
  assert.equal(
    [0, 1, 2].map((k) => st.heldOut.filter((i) => labels[i] === k).length),
    [10, 10, 10],
  );
});

test('word rows: every prediction counted once, with at most 16 tokens of context', () => {
  const short = wordRows(['cat']);
  assert.is(short.rows, 1);
  assert.equal(Array.from(short.x.slice(0, 5)), [0, 3, 1, 20, 0]);
  assert.equal(Array.from(short.y.slice(0, 5)), [3, 1, 20, 0, 0]);
  assert.is(
    short.mask.reduce((a, b) => a + b, 0),
    4,
  );
  const long = 'pneumonoultramicroscopic'; // 24 letters: 25 predictions
  const r = wordRows([long]);
  assert.is(r.rows, 2);
  assert.is(
    r.mask.reduce((a, b) => a + b, 0),
    25,
  );
  // the second row ends with the word's last letter predicting the end
  assert.is(r.y[31], 0);
  assert.is(r.x[31], long.charCodeAt(23) - 96);
});

test.run();
