// What the suites comparing tapegrad with PyTorch's committed JSON share: reading the JSON beside
// them, turning its arrays into tensors, the relative error, the worst errors' report, and the
// check of a layer's output and gradients (the nn suites).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import * as tg from '../../src/index.js';
import { assertClose, NODE_BACKENDS } from '../helpers.js';

/** A generator's JSON output in this folder, parsed. */
export const readReference = <T>(file: string): T => JSON.parse(readFileSync(new URL(file, import.meta.url), 'utf8'));

/** An array as the nn generators write it: nested lists. */
export type Nested = number | Nested[];
export const flat = (v: Nested): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v]);

/** A layer's case as generate_common.py's layer_case writes it: R weighs the output in the loss. */
export interface LayerCase {
  inputs: Record<string, { values: Nested; dtype: tg.DType }>;
  params: Record<string, Nested>;
  output: Nested;
  R: Nested;
  /** By 'input.<name>' for an input, by state-dict name for a parameter. */
  grads: Record<string, Nested>;
}

/** The nn cases' inputs as tensors: the float ones ask for their gradient, ints and bools do not. */
export const layerInputs = (inputs: LayerCase['inputs']): Record<string, tg.Tensor> =>
  Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [
      k,
      tg.tensor(v.values as number[], { dtype: v.dtype, requiresGrad: v.dtype === 'float32' }),
    ]),
  );

/** An array as the ops and linalg generators write it: its shape and its entries in row-major order. */
export interface Encoded<N = number> {
  shape: number[];
  data: N[];
}

/** Each encoded array as a float tensor that asks for its gradient. */
export const leaves = (arrays: Record<string, Encoded>): Record<string, tg.Tensor> =>
  Object.fromEntries(
    Object.entries(arrays).map(([k, v]) => [k, tg.tensor(v.data, { shape: v.shape, requiresGrad: true })]),
  );

/**
 * max |got − want| over max(floor, max |want|) (float32 against float64); the non-finite entries of
 * want must stand at the same places with the same values (else Infinity), and an all-zero want
 * with floor 0 gives the absolute error.
 */
export function relError(got: ArrayLike<number>, want: number[], floor = 0): number {
  if (got.length !== want.length) return Infinity;
  let err = 0;
  let scale = floor;
  for (let i = 0; i < want.length; i++) {
    if (!Number.isFinite(want[i])) {
      if (!Object.is(got[i], want[i]) && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) return Infinity;
      continue;
    }
    err = Math.max(err, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return scale === 0 ? err : err / scale;
}

/** The worst error seen per case (or op) and quantity, across backends, for the report. */
export class WorstErrors {
  private readonly seen: Record<string, Record<string, number>> = {};

  /** Records e for key's quantity and returns it. */
  note(key: string, quantity: string, e: number): number {
    const row = (this.seen[key] ??= {});
    row[quantity] = Math.max(row[quantity] ?? 0, e);
    return e;
  }

  /** Records max |t − ref| (the nn suites' measure) for key's quantity. */
  noteAbs(key: string, quantity: string, t: tg.Tensor, ref: Nested): void {
    const got = t.dataSync();
    this.note(key, quantity, Math.max(0, ...flat(ref).map((w, i) => Math.abs(got[i] - w))));
  }

  /** One line per key: `  key: quantity 1.23e-5, …`. */
  lines(): string[] {
    return Object.entries(this.seen).map(
      ([key, row]) =>
        `  ${key}: ${Object.entries(row)
          .map(([q, e]) => `${q} ${e.toExponential(2)}`)
          .join(', ')}`,
    );
  }

  clear(): void {
    for (const k of Object.keys(this.seen)) delete this.seen[k];
  }
}

/** A last suite that prints the worst errors the suites before it saw. */
export function reportWorst(title: string, worst: WorstErrors): void {
  const s = suite(`${title}: report`);
  s('print the largest differences', () => {
    for (const line of worst.lines()) console.log(line);
  });
  s.run();
}

/**
 * The ops suites' frame: one uvu suite per Node backend (`<title> against PyTorch <version> (float64)
 * on <backend>`), one test per case (`<op>: <label>`) that runs check(c) and must leave no tensor
 * behind, then the report of the worst errors the checks noted.
 */
export function compareOnEachBackend<C extends { op: string; label: string }>(
  title: string,
  reference: { torch: string; cases: C[] },
  worst: WorstErrors,
  check: (c: C) => void | Promise<void>,
): void {
  for (const backend of NODE_BACKENDS) {
    const s = suite(`${title} against PyTorch ${reference.torch} (float64) on ${backend}`);
    s.before(async () => {
      await tg.setBackend(backend);
    });
    for (const c of reference.cases)
      s(`${c.op}: ${c.label}`, async () => {
        const before = tg.memory().numTensors;
        await check(c);
        assert.is(tg.memory().numTensors, before, 'no tensor left behind');
      });
    s.run();
  }
  reportWorst(`${title} against PyTorch`, worst);
}

/** The nn suites' tolerance for outputs and gradients against PyTorch. */
export const LAYER_TOLERANCE = { atol: 1e-5, rtol: 1e-4 };

/** Asserts t is PyTorch's ref within LAYER_TOLERANCE and records the error under key. */
export function assertLikeTorch(t: tg.Tensor, ref: Nested, key: string, what: string, worst: WorstErrors): void {
  worst.noteAbs(key, what, t, ref);
  assertClose(t, flat(ref), { ...LAYER_TOLERANCE, msg: `${key} ${what}` });
}

/**
 * Loads PyTorch's values into m's state dict, by tapegrad's names: the dict must hold exactly the
 * names the case gives.
 */
export function loadState(name: string, m: tg.nn.Module<unknown>, values: Record<string, Nested>): void {
  const sd = m.stateDict();
  assert.equal(Object.keys(sd).sort(), Object.keys(values).sort(), `${name}: PyTorch's state-dict names`);
  const load = Object.fromEntries(
    Object.entries(sd).map(([k, t]) => [k, tg.tensor(values[k] as number[], { shape: t.shape })]),
  );
  m.loadStateDict(load);
  tg.dispose(Object.values(load));
}

/**
 * Asserts every gradient PyTorch gave is tapegrad's: `input.<name>` for an input, a state-dict name
 * for a parameter of m.
 */
export function assertGrads(
  name: string,
  grads: Record<string, Nested>,
  inputs: Record<string, tg.Tensor>,
  m: tg.nn.Module<unknown> | null,
  worst: WorstErrors,
): void {
  for (const [k, g] of Object.entries(grads)) {
    const t = k.startsWith('input.') ? inputs[k.slice(6)] : m?.stateDict()[k];
    assert.ok(t?.grad, `${name}: no gradient for ${k}`);
    assertLikeTorch(t.grad!, g, name, `d/d${k}`, worst);
  }
}

/** Frees the tensors and their gradients. */
export function disposeWithGrads(ts: Iterable<tg.Tensor>): void {
  for (const t of ts) {
    t.grad?.dispose();
    t.dispose();
  }
}
