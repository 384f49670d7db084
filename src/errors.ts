/** Every error tapegrad throws: the message starts with the public function that failed. */
export class TapegradError extends Error {
  constructor(
    readonly fn: string,
    detail: string,
  ) {
    super(`${fn}: ${detail}`);
    this.name = 'TapegradError';
  }
}

/** [2,3] — how shapes appear in messages. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Whether two shapes are equal, entry by entry (no strings built: it runs on every op's gradient). */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Normalise a possibly negative axis list against a rank; sorted, unique. */
export function normalizeAxes(fn: string, axis: number | readonly number[] | undefined | null, rank: number): number[] {
  if (axis === undefined || axis === null) return [...Array(rank).keys()];
  if (typeof axis !== 'number' && !Array.isArray(axis))
    throw new TapegradError(fn, `axis must be an integer or an array of integers, got ${JSON.stringify(axis)}`);
  const list = typeof axis === 'number' ? [axis] : [...axis];
  const out = new Set<number>();
  for (const a of list) {
    if (!Number.isInteger(a) || a < -rank || a >= Math.max(rank, 1)) {
      throw new TapegradError(fn, `axis ${a} is out of range for a tensor of rank ${rank}`);
    }
    out.add(a < 0 ? a + rank : a);
  }
  return [...out].sort((x, y) => x - y);
}

export function normalizeAxis(fn: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new TapegradError(fn, `axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

const SYNC_ONLY =
  'the function must be synchronous (the setting is global: it would end at the first await, or apply to other tasks while ' +
  'the function is pending); call it around each synchronous step';

/** Refuses an `async function` before it runs (shared by noGrad and detectAnomaly). */
export function refuseAsync(fn: string, f: (...args: never[]) => unknown): void {
  const kind = f.constructor?.name;
  if (kind === 'AsyncFunction' || kind === 'AsyncGeneratorFunction')
    throw new TapegradError(fn, `${SYNC_ONLY} (got an async function)`);
}

/** Refuses a result that is a Promise (a plain function that started async work); its rejection is not left unhandled. */
export function refusePromise(fn: string, result: unknown): void {
  if (result instanceof Promise) {
    result.catch(() => {});
    throw new TapegradError(fn, `${SYNC_ONLY} (it returned a Promise)`);
  }
}
