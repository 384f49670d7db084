// `npm start`: a short tour of tapegrad — the built package loading as a user gets it, the
// gradcheck table over every registered op, the appendix's matrix calculus, least squares, and
// the training examples with the pictures they write, and brief runs of the examples on real data
// (Iris, MNIST digits, English words).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const steps: { title: string; cmd: string[] }[] = [
  {
    title: 'the built package, imported by name as a user would (plain Node, dist/)',
    cmd: [
      'node',
      '--input-type=module',
      '-e',
      "import * as tg from 'tapegrad'; const x = tg.tensor([1, 2, 3], { requiresGrad: true }); x.square().sum().backward(); console.log(`tapegrad on ${tg.getBackend()}: d/dx Σx² at [1,2,3] =`, Array.from(x.grad.dataSync()));",
    ],
  },
  { title: 'gradcheck of every registered op against finite differences', cmd: ['examples/gradcheck-table.ts'] },
  { title: 'the appendix "Matrix Differentiation", proposition by proposition', cmd: ['examples/matrix-calculus.ts'] },
  { title: 'least squares by gradient descent vs the normal equations', cmd: ['examples/least-squares.ts'] },
  { title: 'a 3-class spiral classifier (MLP + Adam)', cmd: ['examples/spirals.ts', '--quick'] },
  { title: 'the gradient field of sin(xy)', cmd: ['examples/gradient-field.ts'] },
  { title: "Fisher's Iris: logistic regression by L-BFGS and an MLP", cmd: ['examples/iris.ts', '--quick'] },
  { title: 'real MNIST digits: a CNN and an MLP (briefly)', cmd: ['examples/mnist.ts', '--quick'] },
  { title: 'a character-level transformer on English words (briefly)', cmd: ['examples/words.ts', '--quick'] },
  { title: 'a small regression with a held-out error', cmd: ['examples/regression.ts'] },
  { title: 'what backward() will do: the recorded graph', cmd: ['examples/explain.ts'] },
];

let failed = 0;
for (const { title, cmd } of steps) {
  const isScript = cmd[0].endsWith('.ts');
  if (isScript && !existsSync(cmd[0])) continue;
  console.log(`\n━━ ${title} ━━`);
  const args = isScript ? ['--import', 'tsx', ...cmd] : cmd.slice(1);
  const r = spawnSync(isScript ? process.execPath : cmd[0], args, { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.log(`✗ ${cmd.join(' ')} exited with ${r.status}`);
  }
}
console.log(failed ? `\n${failed} step(s) failed` : '\nTour complete. Pictures are in out/.');
process.exit(failed ? 1 : 0);
