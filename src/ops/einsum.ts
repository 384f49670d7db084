// einsum: sums of products named by subscript letters. The equation is parsed once into letter
// ids per axis; the forward reduces it to TF.js transposes, reshapes and batched matmuls (one per
// operand after the first), never materialising an outer product of all the operands. The adjoint
// of each operand is an einsum of the cotangent with the other operands.
import * as tf from '@tensorflow/tfjs-core';
import { defineOp, asTensor, owning, type Op } from '../op.js';
import { TapegradError, fmtShape } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { eye } from '../creation.js';
import { mul } from './elementwise.js';
import { reshape, broadcastTo, expandDims } from './shape.js';

/**
 * einsum's attributes, the equation parsed against the operands' shapes. Letters are ids: A–Z
 * 0–25, a–z 26–51 (so sorting ids sorts as PyTorch's implicit output does); the axes '...' stands
 * for are ids 52, 53, … aligned from the right across operands. An axis of length 1 that
 * broadcasts against a longer one of the same letter is −1: it is dropped.
 */
export interface EinsumAttrs {
  equation: string;
  subs: number[][];
  out: number[];
}
const ELLIPSIS = 52;
const letterId = (c: string) => (c <= 'Z' ? c.charCodeAt(0) - 65 : c.charCodeAt(0) - 97 + 26);
const GREEK = 'αβγδεζηθικλμνξοπρστυφχψω';
/** The letter of an id, for messages (the axes of '...' as Greek letters). */
const letterOf = (id: number) =>
  id >= ELLIPSIS ? (GREEK[id - ELLIPSIS] ?? `#${id}`) : String.fromCharCode(id < 26 ? 65 + id : 97 + id - 26);

// ---- the forward on TF.js tensors
interface Term {
  x: tf.Tensor;
  letters: number[];
}
const without = (xs: number[], drop: number[]) => xs.filter((l) => !drop.includes(l));
/** x's axes put in the order of `to` (a permutation of its letters). */
function arrange(t: Term, to: number[]): tf.Tensor {
  const perm = to.map((l) => t.letters.indexOf(l));
  return perm.every((p, i) => p === i) ? t.x : tf.transpose(t.x, perm);
}
/** Sums a term over letters it alone has. */
function sumOut(t: Term, letters: number[]): Term {
  if (!letters.length) return t;
  return {
    x: tf.sum(
      t.x,
      letters.map((l) => t.letters.indexOf(l)),
    ),
    letters: without(t.letters, letters),
  };
}
/** One operand with its dropped axes squeezed and each repeated letter reduced to its diagonal. */
function prepare(x: tf.Tensor, subs: number[]): Term {
  let t: Term = {
    x: tf.reshape(
      x,
      x.shape.filter((_, i) => subs[i] >= 0),
    ),
    letters: subs.filter((l) => l >= 0),
  };
  for (;;) {
    const q = t.letters.findIndex((l, i) => t.letters.indexOf(l) !== i);
    if (q < 0) return t;
    const l = t.letters[q];
    const p = t.letters.indexOf(l);
    const n = t.x.shape[p];
    const rest = t.letters.flatMap((_, i) => (i === p || i === q ? [] : [i]));
    const moved = tf.transpose(t.x, [...rest, p, q]);
    // entries (i, i) of each n×n matrix sit at i·(n + 1) in its flattening
    const at = tf.tensor1d(
      Int32Array.from({ length: n }, (_, i) => i * (n + 1)),
      'int32',
    );
    const flat = tf.reshape(moved, [...moved.shape.slice(0, -2), n * n]);
    t = { x: tf.gather(flat, at, flat.rank - 1), letters: [...rest.map((i) => t.letters[i]), l] };
  }
}
/** Σ over the shared letters not needed later of A·B, as one batched matmul. */
function pair(a: Term, b: Term, needed: Set<number>): Term {
  const inB = new Set(b.letters);
  const inA = new Set(a.letters);
  a = sumOut(
    a,
    a.letters.filter((l) => !inB.has(l) && !needed.has(l)),
  );
  b = sumOut(
    b,
    b.letters.filter((l) => !inA.has(l) && !needed.has(l)),
  );
  const batch = a.letters.filter((l) => inB.has(l) && needed.has(l));
  const summed = a.letters.filter((l) => inB.has(l) && !needed.has(l));
  const left = a.letters.filter((l) => !inB.has(l));
  const right = b.letters.filter((l) => !inA.has(l));
  const size = (t: Term, ls: number[]) => ls.reduce((n, l) => n * t.x.shape[t.letters.indexOf(l)], 1);
  const [nb, nl, nk, nr] = [size(a, batch), size(a, left), size(a, summed), size(b, right)];
  const A = tf.reshape(arrange(a, [...batch, ...left, ...summed]), [nb, nl, nk]);
  const B = tf.reshape(arrange(b, [...batch, ...summed, ...right]), [nb, nk, nr]);
  // no shared letter to sum: an outer product per batch entry, which a broadcasting mul gives directly
  const C = summed.length ? tf.matMul(A, B) : tf.mul(A, tf.reshape(B, [nb, 1, nr]));
  const shape = [
    ...[...batch, ...left].map((l) => a.x.shape[a.letters.indexOf(l)]),
    ...right.map((l) => b.x.shape[b.letters.indexOf(l)]),
  ];
  return { x: tf.reshape(C, shape), letters: [...batch, ...left, ...right] };
}
/** The einsum of TF.js tensors: operands folded left to right, each contraction one matmul. */
function contract(xs: tf.Tensor[], subs: number[][], out: number[]): tf.Tensor {
  return tf.tidy(() => {
    const sizes = new Map<number, number>();
    xs.forEach((x, i) => subs[i].forEach((l, a) => l >= 0 && sizes.set(l, x.shape[a])));
    // a sum over no entries is 0; an empty output needs no kernel (wasm's refuse empty inputs)
    if (xs.some((x) => x.size === 0)) return tf.zeros(out.map((l) => sizes.get(l)!));
    const terms = xs.map((x, i) => prepare(x, subs[i]));
    const elsewhere = (i: number) => new Set([...out, ...terms.flatMap((t, j) => (j === i ? [] : t.letters))]);
    terms.forEach((t, i) => {
      const used = elsewhere(i);
      terms[i] = sumOut(
        t,
        t.letters.filter((l) => !used.has(l)),
      );
    });
    let acc = terms[0];
    for (let j = 1; j < terms.length; j++) {
      const needed = new Set([...out, ...terms.slice(j + 1).flatMap((t) => t.letters)]);
      acc = pair(acc, terms[j], needed);
    }
    const result = arrange(acc, out);
    return result === xs[0] ? tf.clone(result) : result;
  });
}

// ---- the op
const einsumOp: Op<EinsumAttrs> = defineOp<EinsumAttrs>({
  name: 'einsum',
  forward: (xs, { subs, out }) => contract(xs, subs, out),
  // ∂/∂X_i of Σ Π X_j: the einsum of g (over the output's letters) with the other operands, to
  // X_i's letters; a letter X_i alone summed is broadcast back, a repeated letter (a diagonal)
  // gets the result on its diagonal, and a broadcast axis of length 1 is summed back by the einsum.
  vjp: (g, xs, _y, { equation, subs, out }) =>
    xs.map((x, i) => () => {
      const otherSubs = subs.filter((_, j) => j !== i);
      const others = xs.filter((_, j) => j !== i);
      const available = new Set([...out, ...otherSubs.flat()]);
      const kept = subs[i].filter((l) => l >= 0);
      const keptSizes = x.shape.filter((_, a) => subs[i][a] >= 0);
      const sizeOf = (l: number) => keptSizes[kept.indexOf(l)];
      const unique = [...new Set(kept)];
      const target = unique.filter((l) => available.has(l));
      let t: Tensor = einsumOp([g, ...others], { equation, subs: [out, ...otherSubs], out: target });
      if (target.length < unique.length) {
        t = reshape(
          t,
          unique.map((l) => (target.includes(l) ? sizeOf(l) : 1)),
        );
        t = broadcastTo(t, unique.map(sizeOf));
      }
      kept.forEach((l, k) => {
        const first = kept.indexOf(l);
        if (first === k) return;
        // the k-th axis repeats letter l: spread t along it and keep only the diagonal with its first
        const n = sizeOf(l);
        const I = eye(n);
        const mask = reshape(
          I,
          Array.from({ length: t.rank + 1 }, (_, a) => (a === first || a === k ? n : 1)),
        );
        t = owning(mul(expandDims(t, k), mask), [I, mask]);
      });
      return reshape(t, x.shape);
    }),
});

// ---- parsing
/** One operand's subscripts: the letters before and after '...', and whether it has one. */
interface Parsed {
  before: number[];
  after: number[];
  ellipsis: boolean;
}
function parseTerm(term: string, what: string, fail: (m: string) => never): Parsed {
  const dots = term.split('...');
  if (dots.length > 2) fail(`${what} '${term}' has more than one '...'`);
  if (dots.some((p) => p.includes('.'))) fail(`${what} '${term}' has a '.' that is not part of '...'`);
  const ids = (s: string) => [...s].map(letterId);
  return { before: ids(dots[0]), after: ids(dots[1] ?? ''), ellipsis: dots.length === 2 };
}
/** The equation parsed against the operands' shapes, or an error showing the equation and what is wrong. */
function parse(equation: string, shapes: number[][]): EinsumAttrs {
  const fail = (m: string): never => {
    throw new TapegradError('einsum', `'${equation}': ${m}`);
  };
  const e = equation.replace(/\s+/g, '');
  const odd = e.replace(/->/g, '').match(/[^a-zA-Z.,]/);
  if (odd) fail(`unexpected character '${odd[0]}' (subscripts are the letters a–z and A–Z, '...', ',' and '->')`);
  const sides = e.split('->');
  if (sides.length > 2) fail("more than one '->'");
  const terms = sides[0].split(',');
  if (terms.length !== shapes.length)
    fail(
      `${terms.length} input term${terms.length === 1 ? '' : 's'} for ` +
        `${shapes.length} operand${shapes.length === 1 ? '' : 's'}`,
    );
  const parsed = terms.map((t, i) => parseTerm(t, `operand ${i}'s subscripts`, fail));
  const ellipsisRanks = parsed.map((p, i) => {
    const named = p.before.length + p.after.length;
    const r = shapes[i].length;
    if (!p.ellipsis && named !== r)
      fail(
        `operand ${i} has rank ${r} (shape ${fmtShape(shapes[i])}) but its subscripts '${terms[i]}' name ${named} axes`,
      );
    if (p.ellipsis && named > r)
      fail(
        `operand ${i} has rank ${r} (shape ${fmtShape(shapes[i])}) ` +
          `but its subscripts '${terms[i]}' name ${named} axes besides '...'`,
      );
    return p.ellipsis ? r - named : 0;
  });
  const E = Math.max(0, ...ellipsisRanks);
  const broadcastIds = Array.from({ length: E }, (_, k) => ELLIPSIS + k);
  const subs = parsed.map((p, i) => [...p.before, ...broadcastIds.slice(E - ellipsisRanks[i]), ...p.after]);
  let out: number[];
  if (sides.length === 2) {
    const p = parseTerm(sides[1], 'the output', fail);
    if (p.ellipsis && !parsed.some((q) => q.ellipsis)) fail("the output has '...' but no operand has");
    out = [...p.before, ...(p.ellipsis ? broadcastIds : []), ...p.after];
    const twice = out.find((l, i) => out.indexOf(l) !== i);
    if (twice !== undefined) fail(`output letter '${letterOf(twice)}' appears more than once`);
    const missing = out.find((l) => !subs.some((t) => t.includes(l)));
    if (missing !== undefined) fail(`output letter '${letterOf(missing)}' appears in no operand`);
  } else {
    // implicit output: the '...' axes, then the letters that appear once, in alphabetical order
    const all = subs.flat().filter((l) => l < ELLIPSIS);
    const once = [...new Set(all)].filter((l) => all.indexOf(l) === all.lastIndexOf(l)).sort((a, b) => a - b);
    out = [...broadcastIds, ...once];
  }
  // each letter's length: equal wherever it appears, except that 1 broadcasts
  const size = new Map<number, { n: number; from: number }>();
  subs.forEach((s, i) =>
    s.forEach((l, a) => {
      const n = shapes[i][a];
      const first = s.indexOf(l);
      if (first !== a && shapes[i][first] !== n)
        fail(`letter '${letterOf(l)}' is repeated in operand ${i} with sizes ${shapes[i][first]} and ${n}`);
      const seen = size.get(l);
      if (seen && seen.n !== n && seen.n !== 1 && n !== 1) {
        const which = l >= ELLIPSIS ? `the '...' axis ${l - ELLIPSIS} (from the left)` : `letter '${letterOf(l)}'`;
        fail(
          `${which} has size ${seen.n} in operand ${seen.from} (shape ${fmtShape(shapes[seen.from])}) ` +
            `but ${n} in operand ${i} (shape ${fmtShape(shapes[i])})`,
        );
      }
      if (!seen || seen.n === 1) size.set(l, { n, from: i });
    }),
  );
  const dropped = subs.map((s, i) => s.map((l, a) => (shapes[i][a] === 1 && size.get(l)!.n !== 1 ? -1 : l)));
  return { equation, subs: dropped, out };
}

/**
 * Einstein summation: `equation` names each operand's axes by letters ('ij,jk->ik'); letters
 * shared by operands are multiplied along, letters missing from the output are summed over. Without
 * '->' the output is the letters that appear once, in alphabetical order (upper case first). A
 * letter repeated in one operand takes its diagonal ('ii->i', the trace 'ii'); '...' stands for
 * broadcast axes ('...ij,...jk->...ik'); axes of length 1 broadcast. Operands are float32; they
 * may also be passed as one array. PyTorch `torch.einsum`, JAX `jnp.einsum`.
 */
export function einsum(equation: string, ...operands: (Tensor | Tensor[])[]): Tensor {
  if (typeof equation !== 'string')
    throw new TapegradError(
      'einsum',
      `the equation must be a string, got ${JSON.stringify(equation) ?? String(equation)}`,
    );
  const list = operands.length === 1 && Array.isArray(operands[0]) ? operands[0] : operands;
  if (list.length === 0) throw new TapegradError('einsum', `'${equation}': needs at least one operand`);
  const ts = list.map((x, i) => asTensor('einsum', x, `operand ${i}`));
  const bad = ts.findIndex((t) => t.dtype !== 'float32');
  if (bad >= 0) throw new TapegradError('einsum', `operands must be float32, operand ${bad} is ${ts[bad].dtype}`);
  return einsumOp(
    ts,
    parse(
      equation,
      ts.map((t) => t.shape),
    ),
  );
}
einsum.rule = einsumOp.rule;
