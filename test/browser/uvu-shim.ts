// Stands in for `uvu` inside the browser bundle (test/browser/run.ts aliases it): suites register
// exactly as with uvu (test(name, fn), hooks, .run()), but .run() only queues the suite, and the
// page (test/browser/page.ts) runs the queue itself, one test at a time, to report each result.
// `uvu/assert` is the real one: it has no Node dependency.
type Handler = (state: Record<string, unknown>) => unknown;

interface Context {
  tests: { name: string; fn: Handler }[];
  only: { name: string; fn: Handler }[];
  before: Handler[];
  after: Handler[];
  beforeEach: Handler[];
  afterEach: Handler[];
  skips: number;
}

export interface QueuedSuite extends Context {
  name: string;
  /** The test file that ran .run(), set by the page before it imports the file. */
  file: string;
  state: Record<string, unknown>;
}

const g = globalThis as unknown as { TAPEGRAD_SUITES?: QueuedSuite[]; TAPEGRAD_CURRENT_FILE?: string };
/** Every suite whose .run() was called, in order. */
export const queue: QueuedSuite[] = (g.TAPEGRAD_SUITES ??= []);

const fresh = (): Context => ({ tests: [], only: [], before: [], after: [], beforeEach: [], afterEach: [], skips: 0 });

export interface Test {
  (name: string, fn: Handler): void;
  only(name: string, fn: Handler): void;
  skip(name?: string, fn?: Handler): void;
  before: ((fn: Handler) => void) & { each(fn: Handler): void };
  after: ((fn: Handler) => void) & { each(fn: Handler): void };
  run(): void;
}

export function suite(name = '', state: Record<string, unknown> = {}): Test {
  let ctx = fresh();
  const test = ((n: string, fn: Handler) => void ctx.tests.push({ name: n, fn })) as Test;
  test.only = (n, fn) => void ctx.only.push({ name: n, fn });
  test.skip = () => void ctx.skips++;
  test.before = Object.assign((fn: Handler) => void ctx.before.push(fn), {
    each: (fn: Handler) => void ctx.beforeEach.push(fn),
  });
  test.after = Object.assign((fn: Handler) => void ctx.after.push(fn), {
    each: (fn: Handler) => void ctx.afterEach.push(fn),
  });
  test.run = () => {
    queue.push({ ...ctx, name, file: g.TAPEGRAD_CURRENT_FILE ?? '?', state: { ...state } });
    ctx = fresh();
  };
  return test;
}

export const test = suite();
