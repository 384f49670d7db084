// Graph inspection: explain(t) lists the recorded graph under t as a table (one row per tensor,
// inputs before outputs, so the table reads in forward order and backward walks it bottom-up),
// and toDot(t) gives the same graph as Graphviz DOT.
import { TapegradError, checkOptions, fmtShape } from './errors.js';
import { describe } from './op.js';
import { Tensor, opLabel, type Node } from './tensor.js';
import { walkGraph } from './tape.js';

/** One row of `explain`'s table: a tensor, the op that made it, its shape, dtype and inputs. */
export interface ExplainRow {
  /** Row number; inputs refer to rows by it. */
  id: number;
  /** The op that made the tensor, or 'leaf' / 'constant' for tensors no op recorded. */
  op: string;
  shape: number[];
  dtype: string;
  /** Row ids of the op's inputs (empty for leaves, and once backward has freed the node). */
  inputs: number[];
  inputShapes: number[][];
  /** What the node holds for its adjoint: its inputs, its own output, owned constants, attributes. */
  saved: string;
  /** Bytes held by the tensors the node saves (inputs, output and owned constants; shared tensors counted in each row). */
  savedBytes: number;
  requiresGrad: boolean;
  /** The node was released by backward() (or the tensor's memory was disposed). */
  freed: boolean;
}

/** What `explain` returns: the rows of the recorded graph and their printed table. */
export interface Explanation {
  rows: ExplainRow[];
  /** The table as text (also what toString() gives). */
  table: string;
  print(): void;
  toString(): string;
}

const bytesOf = (t: Tensor) => (t.isDisposed ? 0 : t.size * 4);

function fmtAttrs(attrs: unknown): string {
  if (attrs === undefined || attrs === null) return '';
  const s = JSON.stringify(attrs, (_k, v) => (v === Infinity ? 'Infinity' : v));
  return s === '{}' ? '' : s;
}

function fmtBytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

function rowsOf(root: Tensor): ExplainRow[] {
  const order = walkGraph([root]);
  const ids = new Map(order.map((t, i) => [t, i]));
  const firstRow = new Map<Node, number>();
  return order.map((t, id) => {
    const node = t.node;
    const inputs = node?.inputs ?? [];
    const savedParts: string[] = [];
    let savedBytes = 0;
    // an op with several outputs: its saved inputs are counted on the first of its rows only
    const sibling = node && node.outputs.length > 1 ? firstRow.get(node) : undefined;
    if (node && node.outputs.length > 1 && sibling === undefined) firstRow.set(node, id);
    if (sibling !== undefined) {
      if (!node!.freed) savedParts.push(`with #${sibling}`);
    } else if (node && !node.freed) {
      // an adjoint that reads its outputs (a factorization's) keeps all of them, counted here once
      const readsAll = node.rule.outputs === 'several' && node.rule.readsOutputs;
      savedParts.push(
        inputs.length ? `inputs ${inputs.map((x) => `#${ids.get(x)}`).join(',')}` : 'no inputs',
        readsAll ? 'outputs' : 'output',
      );
      const outputs = readsAll ? node.outputs : [t];
      savedBytes += inputs.reduce((n, x) => n + bytesOf(x), 0) + outputs.reduce((n, o) => n + bytesOf(o), 0);
      // Owned tensors that are not already inputs or outputs (or handles on outputs, Node.copies):
      // the hidden intermediates of a composite op.
      const known = new Set([
        ...inputs.map((x) => x.value),
        ...node.outputs.flatMap((o) => [o.value, ...o.owned.filter((c) => node.copies.some((k) => k.includes(c)))]),
      ]);
      const hidden = t.owned.filter((c) => !known.has(c));
      if (hidden.length) {
        savedParts.push(`${hidden.length} hidden tensor${hidden.length > 1 ? 's' : ''}`);
        savedBytes += hidden.reduce((n, c) => n + (c.isDisposed ? 0 : c.size * 4), 0);
      }
      const attrs = fmtAttrs(node.attrs);
      if (attrs) savedParts.push(attrs);
    }
    return {
      id,
      op: node ? opLabel(t) : t.requiresGrad ? 'leaf' : 'constant',
      shape: [...t.shape],
      dtype: t.dtype,
      inputs: inputs.map((x) => ids.get(x)!),
      inputShapes: inputs.map((x) => [...x.shape]),
      saved: node ? (node.freed ? '(released by backward)' : savedParts.join('; ')) : '',
      savedBytes,
      requiresGrad: t.requiresGrad,
      freed: (node?.freed ?? false) || t.isDisposed,
    };
  });
}

function formatTable(rows: ExplainRow[]): string {
  const header = ['#', 'op', 'shape', 'inputs', 'saved', 'bytes', 'grad', 'freed'];
  const cells = rows.map((r) => [
    `#${r.id}`,
    r.op,
    fmtShape(r.shape) + (r.dtype === 'float32' ? '' : ` ${r.dtype}`),
    r.inputs.map((i, k) => `#${i}${fmtShape(r.inputShapes[k])}`).join(' '),
    r.saved,
    r.savedBytes ? fmtBytes(r.savedBytes) : '',
    r.requiresGrad ? 'yes' : 'no',
    r.freed ? 'yes' : '',
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c].length)));
  const line = (row: string[]) =>
    row
      .map((s, c) => s.padEnd(widths[c]))
      .join('  ')
      .trimEnd();
  const total = rows.reduce((n, r) => n + r.savedBytes, 0);
  const nodes = rows.filter((r) => r.op !== 'leaf' && r.op !== 'constant').length;
  const footer = `${nodes} op${nodes === 1 ? '' : 's'}, ${rows.length - nodes} leaves/constants; backward visits the rows from the bottom up`;
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...cells.map(line),
    footer + (total ? `; saved tensors ${fmtBytes(total)}` : ''),
  ].join('\n');
}

function checkRoot(fn: string, t: unknown): Tensor {
  if (!(t instanceof Tensor)) throw new TapegradError(fn, `expected a tapegrad Tensor, got ${describe(t)}`);
  return t;
}

/**
 * The recorded graph under `t` as a table: each tensor's op, shape, inputs, what its node saved for
 * backward, whether it requires grad, and whether backward() has freed it. `{ print: true }` also
 * prints it.
 */
export function explain(t: Tensor, opts: { print?: boolean } = {}): Explanation {
  checkOptions('explain', opts, ['print']);
  const rows = rowsOf(checkRoot('explain', t));
  const table = formatTable(rows);
  const out: Explanation = { rows, table, print: () => console.log(table), toString: () => table };
  if (opts.print) out.print();
  return out;
}

const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');

/** The recorded graph under `t` as Graphviz DOT: ops as boxes, leaves as ellipses, edges from inputs to outputs. */
export function toDot(t: Tensor, opts: { name?: string } = {}): string {
  checkOptions('toDot', opts, ['name']);
  const rows = rowsOf(checkRoot('toDot', t));
  const name = opts.name ?? 'tapegrad';
  const lines = [`digraph "${esc(name)}" {`, '  rankdir=BT;', '  node [fontname="Helvetica", fontsize=10];'];
  for (const r of rows) {
    const isOp = r.op !== 'leaf' && r.op !== 'constant';
    const label = `#${r.id} ${esc(r.op)}\\n${fmtShape(r.shape)}${r.freed ? '\\n(freed)' : ''}`;
    const style = isOp
      ? `shape=box, style="rounded${r.freed ? ',dashed' : ''}"`
      : r.requiresGrad
        ? 'shape=ellipse, style=filled, fillcolor="#cfe8ff"'
        : 'shape=ellipse, color=gray50, fontcolor=gray30';
    const root = r.id === rows.length - 1 ? ', penwidth=2' : '';
    lines.push(`  n${r.id} [label="${label}", ${style}${root}];`);
  }
  for (const r of rows) for (const i of r.inputs) lines.push(`  n${i} -> n${r.id};`);
  lines.push('}');
  return lines.join('\n') + '\n';
}
