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
  // a scalar's axis 0 (or −1), accepted as PyTorch does, is no axis: reducing over it is the identity
  if (rank === 0) return [];
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

/** PyTorch's and NumPy's names of options that tapegrad spells otherwise (a user's first guess). */
const OTHER_SPELLINGS: Record<string, string> = {
  dim: 'axis',
  axes: 'axis',
  keepdim: 'keepDims',
  keepdims: 'keepDims',
  unbiased: 'correction',
  ddof: 'correction',
  p: 'ord',
};

/** The known option a misspelt one most likely means: another case, snake_case, or PyTorch's name. */
function meant(name: string, known: readonly string[]): string | undefined {
  const squash = (s: string) => s.toLowerCase().replace(/_/g, '');
  return known.find((k) => squash(k) === squash(name)) ?? known.find((k) => k === OTHER_SPELLINGS[name]);
}

/**
 * An options argument checked: undefined (no options) or a plain object whose keys are all among
 * `known`. A misspelt or PyTorch-named option (`keepdim`, `dim`) would otherwise be ignored
 * silently, giving a result of another shape or value; a number where options belong
 * (`sum(x, 1)`, as `x.sum(1)` in PyTorch) likewise. Every unknown name is given at once, each
 * with its likely meaning; `where` says which options they were (an optimizer's parameter group).
 */
export function checkOptions<T extends object>(
  fn: string,
  opts: T | undefined,
  known: readonly string[],
  where?: string,
): T {
  if (opts === undefined) return {} as T;
  const proto = opts === null || typeof opts !== 'object' ? undefined : Object.getPrototypeOf(opts);
  if (proto !== Object.prototype && proto !== null) {
    const got =
      opts === null
        ? 'null'
        : Array.isArray(opts)
          ? 'an array'
          : typeof opts === 'object'
            ? `a ${opts.constructor?.name ?? 'object'}`
            : `${typeof opts} ${JSON.stringify(opts)}`;
    const example = typeof opts === 'number' && known.includes('axis') ? ` such as { axis: ${opts} }` : '';
    throw new TapegradError(fn, `options must be an object${example}, got ${got}`);
  }
  const unknown = Object.keys(opts).filter((k) => !known.includes(k));
  if (unknown.length === 0) return opts;
  const named = unknown.map((k) => {
    const guess = meant(k, known);
    return `'${k}'${guess ? ` (did you mean '${guess}'?)` : ''}`;
  });
  throw new TapegradError(
    fn,
    `unknown option${unknown.length > 1 ? 's' : ''} ${named.join(', ')}${where ? ` in ${where}` : ''}; ` +
      `the options are ${known.join(', ')}`,
  );
}
