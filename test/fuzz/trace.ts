// Records the tapegrad calls a program makes as TypeScript, so a failing fuzz case can be printed
// as a snippet that reproduces it exactly: `traced(tg, log)` is tg with every function wrapped.
import * as tg from '../../src/index.js';

export type TG = typeof tg;

/** A literal for a non-tensor argument (numbers, arrays, options objects). */
function literal(v: unknown, name: (t: tg.Tensor) => string): string {
  if (v instanceof tg.Tensor) return name(v);
  if (typeof v === 'number')
    return Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : String(v);
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `[${v.map((e) => literal(e, name)).join(', ')}]`;
  if (v && typeof v === 'object')
    return `{ ${Object.entries(v)
      .map(([k, e]) => `${k}: ${literal(e, name)}`)
      .join(', ')} }`;
  return JSON.stringify(v);
}

/** Names tensors as they appear; the inputs are named first (x0, x1, …). */
export class TraceLog {
  lines: string[] = [];
  private names = new Map<tg.Tensor, string>();
  private count = 0;
  /** The variable the program returns. */
  result: string | undefined;
  setResult(t: tg.Tensor): void {
    this.result = this.name(t);
  }
  nameInputs(inputs: tg.Tensor[]): void {
    inputs.forEach((x, i) => this.names.set(x, `x${i}`));
  }
  name = (t: tg.Tensor): string => this.names.get(t) ?? '/* untraced tensor */';
  record(fn: string, args: unknown[], out: unknown): void {
    const call = `tg.${fn}(${args.map((a) => literal(a, this.name)).join(', ')})`;
    const v = `v${this.count++}`;
    if (out instanceof tg.Tensor) this.names.set(out, v);
    else if (Array.isArray(out)) out.forEach((o, i) => o instanceof tg.Tensor && this.names.set(o, `${v}[${i}]`));
    else if (out && typeof out === 'object')
      for (const [k, o] of Object.entries(out)) if (o instanceof tg.Tensor) this.names.set(o, `${v}.${k}`);
    this.lines.push(`const ${v} = ${call};`);
  }
}

/** tg with every function call recorded into `log` (or tg itself when log is null); namespaces (tg.linalg) too. */
export function traced(log: TraceLog | null): TG {
  return log ? wrap(tg, '', log) : tg;
}
function wrap<T extends object>(target: T, prefix: string, log: TraceLog): T {
  return new Proxy(target, {
    get(obj, prop, recv) {
      const v = Reflect.get(obj, prop, recv);
      if (typeof prop !== 'string' || v === tg.Tensor) return v;
      if (v && typeof v === 'object' && !(v instanceof tg.Tensor) && !Array.isArray(v) && prop !== 'registry')
        return wrap(v, `${prefix}${prop}.`, log);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const out = (v as (...a: unknown[]) => unknown)(...args);
        log.record(prefix + prop, args, out);
        return out;
      };
    },
  });
}

/** Float32 values as a compact literal that reproduces them exactly. */
export function valuesLiteral(x: tg.Tensor): string {
  return `[${Array.from(x.dataSync(), (v) => String(v)).join(', ')}]`;
}
