// The error catalogue: every public function, called wrongly, gets a TapegradError that names the
// function and what was wrong. (The hand-written bad-input cases are in bad-input.test.ts.)
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tg from '../src/index.js';
import * as tf from '@tensorflow/tfjs-core';
import { CATALOGUE, NOT_FUNCTIONS, SKIP } from './errors/catalogue.js';

// ---- the catalogue: every public function of tg, called wrongly, throws a TapegradError whose
// message starts with the function's name and says what was wrong — never a bare TF.js message,
// a TypeError, a hang, or a NaN result. The probes are in test/errors/catalogue.ts; an export with
// no probes (and not in SKIP with a reason) fails the first test, so the catalogue grows with the API.
const cat = suite('error catalogue');

/** Every function or class tg exports, by dotted name, namespaces included. */
function publicFunctions(): string[] {
  const out: string[] = [];
  const walk = (ns: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(ns)) {
      const name = prefix + k;
      if (typeof v === 'function') out.push(name);
      else if (NOT_FUNCTIONS.includes(name)) {
        if (['linalg', 'nn', 'optim', 'data', 'nn.init'].includes(name)) walk(v as Record<string, unknown>, `${name}.`);
      } else if (v && typeof v === 'object') out.push(name); // an unknown object export: it must be listed somewhere
    }
  };
  walk(tg as unknown as Record<string, unknown>, '');
  return out.sort();
}

cat('every public function has probes in the catalogue (or a reason in SKIP)', () => {
  const missing = publicFunctions().filter((k) => !(k in CATALOGUE) && !(k in SKIP));
  assert.equal(
    missing,
    [],
    `exports with no error probes: ${missing.join(', ')} (add them to test/errors/catalogue.ts)`,
  );
  const stale = Object.keys(CATALOGUE).filter((k) => !publicFunctions().includes(k));
  assert.equal(stale, [], `catalogue entries for names tg no longer exports: ${stale.join(', ')}`);
});

/** Runs a probe in its own TF.js scope (its fixtures are freed) and returns what it threw, or its result. */
async function outcome(call: () => unknown): Promise<{ threw: boolean; error?: unknown; value?: unknown }> {
  tf.engine().startScope();
  try {
    const value = await call();
    return { threw: false, value };
  } catch (error) {
    return { threw: true, error };
  } finally {
    tf.engine().endScope();
  }
}

for (const [key, entry] of Object.entries(CATALOGUE)) {
  cat(`${key}: ${entry.probes.length} bad calls give clear errors`, async () => {
    const prefix = entry.name ?? key;
    const problems: string[] = [];
    for (const [what, call, detail, name] of entry.probes) {
      const r = await outcome(call);
      if (!r.threw) {
        problems.push(
          `${what}: no error (returned ${r.value instanceof tg.Tensor ? `a tensor ${r.value.isDisposed ? '' : JSON.stringify(r.value.arraySync())}` : String(r.value)})`,
        );
        continue;
      }
      const msg = (r.error as Error)?.message ?? String(r.error);
      if (!(r.error instanceof tg.TapegradError)) {
        problems.push(`${what}: threw ${(r.error as Error)?.name ?? typeof r.error}, not a TapegradError: ${msg}`);
        continue;
      }
      const want = name ?? prefix;
      if (!want.startsWith('(') && !msg.startsWith(`${want}:`))
        problems.push(`${what}: the message does not start with '${want}:': ${msg}`);
      else if (!detail.test(msg)) problems.push(`${what}: the message does not match ${detail}: ${msg}`);
    }
    assert.equal(problems, [], `${key}:\n  ${problems.join('\n  ')}`);
  });
}

cat('a tensor made on one backend is usable after switching to another (its data moves, as in TF.js)', async () => {
  await tg.setBackend('cpu');
  const x = tg.tensor([1, 2, 3], { requiresGrad: true });
  await tg.setBackend('wasm');
  const before = tg.memory().numTensors;
  tg.tidy(() => tg.mul(x, x).sum().backward());
  assert.equal(Array.from(x.grad!.dataSync()), [2, 4, 6]);
  tg.dispose([x, x.grad]);
  assert.is(tg.memory().numTensors, before - 1 - 1 + 1, 'x and its grad freed on the new backend');
});

cat.run();
