// Progress for long-running scripts (bench, fuzz, soak, the training examples): on a terminal, one
// line redrawn in place — a bar, the count and an estimate of the time left; elsewhere (a log, CI),
// a plain line every few seconds and one at the end, so that logs stay readable.
//   const bar = progress('fuzz', 500); for (...) { ...; bar.tick(); } bar.done();

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Where to write (default process.stderr, so that a script's stdout stays its results). */
  stream?: ProgressStream;
  /** Force the terminal or the plain form (default: the stream's isTTY). */
  tty?: boolean;
  /** Plain form: the least time between two lines, in ms (default 5000). */
  intervalMs?: number;
  /** The clock, in ms (tests pass their own). */
  now?: () => number;
}

export interface Progress {
  /** n more units done (default 1); note is shown after the estimate (a loss, a case count…). */
  tick(n?: number, note?: string): void;
  /** The final line: the count and the total time. */
  done(note?: string): void;
}

/** "1h 02m", "3m 07s", "12s", "0.4s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(1)}s`;
  const whole = Math.round(s);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const sec = whole % 60;
  if (h) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m) return `${m}m ${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

/** The bar's text for `done` of `total` (no carriage return): "label [#####.....]  50% 5/10 2.0s left". */
export function progressLine(
  label: string,
  done: number,
  total: number,
  elapsedMs: number,
  width = 20,
  note = '',
): string {
  const frac = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(frac * width);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  const left = done > 0 ? formatDuration((elapsedMs / done) * Math.max(0, total - done)) : '?';
  const pct = `${Math.floor(frac * 100)}%`.padStart(4);
  return `${label} ${bar} ${pct} ${done}/${total} ${left} left${note ? `  ${note}` : ''}`;
}

export function progress(label: string, total: number, opts: ProgressOptions = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const tty = opts.tty ?? Boolean(stream.isTTY);
  const now = opts.now ?? (() => performance.now());
  const interval = opts.intervalMs ?? 5000;
  const start = now();
  let count = 0;
  let last = -Infinity;
  let lastNote = '';
  let finished = false;
  const draw = (note: string) => {
    const line = progressLine(label, count, total, now() - start, 20, note);
    const cols = stream.columns ?? 120;
    stream.write(`\r${line.slice(0, cols - 1).padEnd(Math.min(cols - 1, line.length + 2))}`);
  };
  return {
    tick(n = 1, note = '') {
      if (finished) return;
      count += n;
      if (note) lastNote = note;
      const t = now();
      // a terminal redraws at most 10 times a second; a log gets a line every `interval` (the last
      // one is done()'s)
      if (!tty && count >= total && last > -Infinity) return;
      if (t - last < (tty ? 100 : interval) && count < total) return;
      last = t;
      if (tty) draw(lastNote);
      else stream.write(`${progressLine(label, count, total, t - start, 20, lastNote)}\n`);
    },
    done(note = '') {
      if (finished) return;
      finished = true;
      const line = `${label}: ${count}/${total} in ${formatDuration(now() - start)}${note || lastNote ? `  ${note || lastNote}` : ''}`;
      stream.write(tty ? `\r${line}\x1b[K\n` : `${line}\n`);
    },
  };
}
