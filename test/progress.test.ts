// scripts/progress.ts: the bar and its time estimate on a terminal, plain periodic lines elsewhere.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatDuration, progress, progressLine } from '../scripts/progress.js';

function fakeStream(isTTY: boolean) {
  const out: string[] = [];
  return { out, stream: { isTTY, columns: 100, write: (s: string) => out.push(s) } };
}

test('formatDuration: seconds, minutes, hours', () => {
  assert.is(formatDuration(400), '0.4s');
  assert.is(formatDuration(12_000), '12s');
  assert.is(formatDuration(187_000), '3m 07s');
  assert.is(formatDuration(3_720_000), '1h 02m');
  assert.is(formatDuration(NaN), '?');
});

test('progressLine: the bar, the percentage, the count and the time left from the rate so far', () => {
  assert.is(progressLine('fuzz', 5, 10, 2000, 10), 'fuzz [#####.....]  50% 5/10 2.0s left');
  assert.is(progressLine('fuzz', 0, 10, 0, 4), 'fuzz [....]   0% 0/10 ? left');
  assert.is(progressLine('soak', 30, 120, 60_000, 4, 'loss 0.31'), 'soak [#...]  25% 30/120 3m 00s left  loss 0.31');
});

test('on a terminal: redrawn in place (carriage return), at most 10 times a second, then a final line', () => {
  let t = 0;
  const { out, stream } = fakeStream(true);
  const bar = progress('bench', 4, { stream, now: () => t });
  t = 1000;
  bar.tick();
  t = 1050; // too soon to redraw
  bar.tick();
  t = 2000;
  bar.tick();
  bar.tick(); // the last one is always drawn
  bar.done();
  assert.is(out.length, 4);
  assert.ok(
    out.slice(0, 3).every((s) => s.startsWith('\r') && !s.includes('\n')),
    JSON.stringify(out),
  );
  assert.match(out[0], /bench \[#####\.+\] {2}25% 1\/4 3\.0s left/);
  assert.match(out[1], /75% 3\/4 0\.7s left/);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the line ends with the terminal's erase-line code (ESC [ K)
  assert.match(out[3], /^\rbench: 4\/4 in 2\.0s\x1b\[K\n$/);
});

test('not a terminal: whole lines, one per interval, and the final one', () => {
  let t = 0;
  const { out, stream } = fakeStream(false);
  const bar = progress('soak', 100, { stream, now: () => t, intervalMs: 5000 });
  for (let i = 0; i < 100; i++) {
    t += 200; // 20 s in all: a line at 0.2 s, then every 5 s, and at the end
    bar.tick(1, `step ${i}`);
  }
  bar.done();
  assert.ok(
    out.every((s) => s.endsWith('\n') && !s.includes('\r')),
    JSON.stringify(out),
  );
  assert.is(out.length, 5, JSON.stringify(out)); // 0.2 s, 5.2, 10.2, 15.2, and done()'s
  assert.match(out[0], /^soak \[\.+\] {3}1% 1\/100 20s left {2}step 0\n$/);
  assert.match(out[4], /^soak: 100\/100 in 20s {2}step 99\n$/);
});

test.run();
