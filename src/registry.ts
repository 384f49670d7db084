// The registry of differentiable primitives, collected from the op families: every export that
// carries a rule (an op's public function, `fn.rule`, or an Op itself) is registered under its
// export name, which is the op's name. The gradcheck suite iterates it, so that an op without a
// gradient check fails it (and fails to compile: its cases are typed Record<OpName, …>).
import type { AnyOpRule } from './tensor.js';
import * as elementwise from './ops/elementwise.js';
import * as reduce from './ops/reduce.js';
import * as scan from './ops/scan.js';
import * as sorting from './ops/sort.js';
import * as shape from './ops/shape.js';
import * as matrix from './ops/matrix.js';
import * as nn from './ops/nn.js';
import * as conv from './ops/conv.js';
import * as forms from './ops/forms.js';
import * as indexing from './ops/indexing.js';
import * as einsum from './ops/einsum.js';
import { linalgRules } from './linalg/rules.js';

/** The rules a module's exports carry, by export name. */
export type RulesOf<M> = {
  [K in keyof M as M[K] extends { rule: AnyOpRule } ? K : never]: M[K] extends { rule: infer R } ? R : never;
};

/** The rules a module's exports carry, by export name (what RulesOf describes). */
export function rulesOf<M extends object>(module: M): RulesOf<M> {
  const found = Object.entries(module).filter(([, v]) => typeof v === 'function' && (v as { rule?: unknown }).rule);
  return Object.fromEntries(found.map(([k, v]) => [k, (v as { rule: AnyOpRule }).rule])) as RulesOf<M>;
}

/** Every differentiable primitive, by name. */
export const registry = {
  ...rulesOf(elementwise),
  ...rulesOf(reduce),
  ...rulesOf(scan),
  ...rulesOf(sorting),
  ...rulesOf(shape),
  ...rulesOf(matrix),
  ...rulesOf(nn),
  ...rulesOf(conv),
  ...rulesOf(forms),
  ...rulesOf(indexing),
  ...rulesOf(einsum),
  ...linalgRules,
} satisfies Record<string, AnyOpRule>;
/** The name of a differentiable primitive in `registry`. */
export type OpName = keyof typeof registry;
