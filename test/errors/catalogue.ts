// The error catalogue: for every public function of tg, calls with wrong types, wrong shapes,
// wrong dtypes and disposed tensors, and what the TapegradError must say. test/errors.test.ts
// iterates tg's exports (and tg.linalg, tg.nn, tg.nn.init, tg.optim, tg.data), so a new export without an
// entry here (or in SKIP, with a reason) fails the suite.
import * as tf from '@tensorflow/tfjs-core';
import * as tg from '../../src/index.js';
import type { AnyOpRule, OpSignature } from '../../src/tensor.js';

/** One bad call: what is wrong, the call, and a pattern the message must match after the function's name. */
/** The optional fourth element overrides the entry's name for this probe (errors of the shared reverse sweep say 'backward'). */
export type Probe = [what: string, call: () => unknown, detail: RegExp, name?: string];
export interface Entry {
  /** The name the message must start with (default: the export's name). */
  name?: string;
  probes: Probe[];
}

// ---- fixtures (fresh each call, so that a probe cannot spoil another)
const m22 = () =>
  tg.tensor([
    [1, 2],
    [3, 4],
  ]);
const v2 = () => tg.tensor([1, 2]);
const i32 = () => tg.tensor([0, 1], { dtype: 'int32' });
const bool = () => tg.tensor([1, 0], { dtype: 'bool' });
const img = () => tg.zeros([1, 4, 4, 1]);
function gone(): tg.Tensor {
  const t = tg.tensor([1, 2]);
  t.dispose();
  return t;
}
const NOT_TENSOR = /must be a (tapegrad )?Tensor|expected a (tapegrad )?Tensor/;
const DISPOSED = /has been disposed/;

// ---- probe families
const unaryProbes = (f: (x: never, ...rest: never[]) => unknown): Probe[] => [
  ['a string', () => f('x' as never), NOT_TENSOR],
  ['a nested array', () => f([[1, 2]] as never), /wrap it with tg\.tensor/],
  ['a disposed tensor', () => f(gone() as never), DISPOSED],
];
const binaryProbes = (f: (a: never, b: never) => unknown): Probe[] => [
  ['a string operand', () => f(m22() as never, 'x' as never), /expected a Tensor or a number|must be a/],
  [
    'shapes that do not broadcast',
    () => f(tg.ones([2, 3]) as never, tg.ones([4]) as never),
    /\[2,3\] and \[4\] cannot be broadcast/,
  ],
  ['a disposed operand', () => f(v2() as never, gone() as never), DISPOSED],
];
/** Products refuse operands of two dtypes, as PyTorch's do (elementwise ops promote: src/dtypes.ts). */
const mixedDtypesProbe = (f: (a: never, b: never) => unknown): Probe => [
  'mixed dtypes',
  () => f(v2() as never, i32() as never),
  /dtypes differ: float32 and int32/,
];
const reduceProbes = (f: (x: never, o?: never) => unknown): Probe[] => [
  ...unaryProbes(f as never),
  [
    'an axis out of range',
    () => f(m22() as never, { axis: 2 } as never),
    /axis 2 is out of range for a tensor of rank 2/,
  ],
  ['a fractional axis', () => f(m22() as never, { axis: 0.5 } as never), /axis 0\.5 is out of range/],
  [
    'a string axis',
    () => f(m22() as never, { axis: 'rows' } as never),
    /axis must be an integer or an array of integers, got "rows"/,
  ],
];
const compareProbes = (f: (a: never, b: never) => unknown): Probe[] => [
  ['two numbers', () => f(1 as never, 2 as never), /needs at least one Tensor/],
  ['shapes that do not broadcast', () => f(tg.ones([2, 3]) as never, tg.ones([4]) as never), /cannot be broadcast/],
  ['a string operand', () => f(v2() as never, 'x' as never), /expected a Tensor or a number/],
  ['a disposed operand', () => f(v2() as never, gone() as never), DISPOSED],
];
const shapeArgProbes = (f: (shape: never, ...r: never[]) => unknown): Probe[] => [
  ['a negative size', () => f([2, -1] as never), /shape must be an array of non-negative integers/],
  ['a fractional size', () => f([1.5] as never), /shape must be an array of non-negative integers/],
  ['a number for a shape', () => f(3 as never), /shape must be an array/],
  ['an unknown dtype', () => f([2] as never, { dtype: 'float64' } as never), /unknown dtype 'float64'/],
];
const fnArgProbes = (call: (f: never) => unknown): Probe[] => [
  ['a number for the function', () => call(3 as never), /function/],
];
const lossProbes = (f: (a: never, b: never, o?: never) => unknown): Probe[] => [
  ...unaryProbes(f as never),
  ['shapes that differ', () => f(tg.ones([2, 3]) as never, tg.ones([3, 2]) as never), /\[2,3\].*\[3,2\]/],
  [
    'an unknown reduction',
    () => f(tg.ones([2]) as never, tg.ones([2]) as never, { reduction: 'avg' } as never),
    /reduction must be 'mean', 'sum' or 'none', got 'avg'/,
  ],
];
const layerForward = (make: () => { forward(x: never): unknown }): Probe[] => [
  ['forward of a string', () => make().forward('x' as never), NOT_TENSOR],
  ['forward of a disposed tensor', () => make().forward(gone() as never), DISPOSED],
];
const initProbes = (f: (shape: never, ...r: never[]) => unknown): Probe[] => [
  ['a negative size', () => f([2, -1] as never, 1 as never), /shape/],
  ['a number for a shape', () => f(3 as never, 1 as never), /shape/],
];
const optimProbes = (C: new (p: never, o: never) => unknown): Probe[] => {
  const p = () => tg.ones([2], { requiresGrad: true });
  return [
    ['no parameters', () => new C([] as never, { lr: 0.1 } as never), /non-empty array of parameters/],
    [
      'a parameter that does not require grad',
      () => new C([tg.ones([2])] as never, { lr: 0.1 } as never),
      /does not require grad/,
    ],
    ['a string learning rate', () => new C([p()] as never, { lr: 'fast' } as never), /lr|learning rate/],
    ['a negative learning rate', () => new C([p()] as never, { lr: -1 } as never), /lr|learning rate/],
    ['no options', () => new C([p()] as never, undefined as never), /lr|options/],
  ];
};

/** The probes of a form of op: what its signature (src/tensor.ts, OpSignature) says it accepts. */
const PROBES_OF: Record<OpSignature['kind'], (f: never) => Probe[]> = {
  unary: unaryProbes,
  binary: binaryProbes,
  reduce: reduceProbes,
};

/** Entries for every public op declared with a signature; an entry written below takes their place. */
function fromSignatures(): Record<string, Entry> {
  const fns = tg as unknown as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(tg.registry as Record<string, AnyOpRule>).flatMap(([name, rule]) =>
      rule.outputs !== 'several' && rule.signature && typeof fns[name] === 'function'
        ? [[name, { probes: PROBES_OF[rule.signature.kind](fns[name] as never) }]]
        : [],
    ),
  );
}

/** Exports that take no arguments, or any argument at all, and so cannot fail. */
export const SKIP: Record<string, string> = {
  getBackend: 'takes no arguments',
  getThreads: 'takes no arguments',
  listBackends: 'takes no arguments',
  ready: 'takes no arguments',
  memory: 'takes no arguments',
  isGradEnabled: 'takes no arguments',
  isAnomalyEnabled: 'takes no arguments',
  TapegradError: 'the error class itself: any (fn, detail) makes an error',
  'nn.ReLU': 'no constructor arguments; forward is probed under nn.Tanh, the same code path',
  'nn.Sigmoid': 'no constructor arguments; forward is probed under nn.Tanh, the same code path',
  'nn.GELU': 'no constructor arguments; forward is probed under nn.Tanh, the same code path',
};

/** Objects among the exports: tables of rules (data, not functions) and namespaces, iterated separately. */
export const NOT_FUNCTIONS = ['registry', 'linalg', 'nn', 'optim', 'data', 'nn.init', 'nn.init.initializers'];

export const CATALOGUE: Record<string, Entry> = {
  // ---- tensors and creation
  Tensor: {
    name: '(method)',
    probes: [
      ['new Tensor of an array', () => new tg.Tensor([1, 2] as never), /^Tensor: .*tg\.tensor/],
      [
        'backward() of a non-scalar without a seed',
        () => tg.ones([2], { requiresGrad: true }).mul(2).backward(),
        /^backward: a seed gradient is needed/,
      ],
      [
        'backward() of a tensor that needs no grad',
        () => tg.ones([2]).sum().backward(),
        /^backward: the tensor does not require grad/,
      ],
      [
        'backward() with a seed of the wrong shape',
        () =>
          tg
            .ones([2], { requiresGrad: true })
            .mul(2)
            .backward(tg.ones([3])),
        /^backward: the seed \(float32 \[3\]\) must be float32 with the output's shape \[2\]/,
      ],
      [
        'backward() twice without retainGraph',
        () => {
          const y = tg.ones([2], { requiresGrad: true }).mul(2).sum();
          y.backward();
          y.backward();
        },
        /^backward: the graph through '.*' was freed/,
      ],
      [
        'requiresGrad on an int32 tensor',
        () => (i32().requiresGrad = true),
        /^requiresGrad: only float32 tensors can require grad/,
      ],
      ['item() of a vector', () => v2().item(), /^item: needs a tensor with one element, got shape \[2\]/],
      ['dataSync() of a disposed tensor', () => gone().dataSync(), /^dataSync: the tensor .* has been disposed/],
      [
        'registerHook of a tensor without grad',
        () => v2().registerHook(() => {}),
        /^registerHook: the tensor does not require grad/,
      ],
      [
        'a number assigned to .grad',
        () => ((tg.ones([2], { requiresGrad: true }) as { grad: unknown }).grad = 3),
        /^grad: must be a Tensor or null, got number 3/,
      ],
      [
        'a .grad of the wrong shape',
        () => (tg.ones([2], { requiresGrad: true }).grad = tg.ones([3])),
        /^grad: must be float32 with the tensor's shape \[2\], got float32 \[3\]/,
      ],
      [
        'a hook that returns a number',
        () => {
          const x = tg.ones([2], { requiresGrad: true });
          const h = x.mul(2);
          h.registerHook((() => 3) as never);
          h.sum().backward();
        },
        /^registerHook: a hook must return a Tensor \(the new gradient\) or nothing, got number 3/,
      ],
      [
        'registerHook of a non-function',
        () => tg.ones([2], { requiresGrad: true }).registerHook(3 as never),
        /^registerHook: .*function/,
      ],
    ],
  },
  tensor: {
    probes: [
      ['a ragged array', () => tg.tensor([[1, 2], [3]]), /ragged array/],
      ['a string entry', () => tg.tensor([1, 'a'] as never), /non-numeric value "a" at \[1\]/],
      [
        'a shape that does not fit the data',
        () => tg.tensor([1, 2, 3], { shape: [2, 2] }),
        /shape \[2,2\] holds 4 values, but 3 were given/,
      ],
      ['an unknown dtype', () => tg.tensor([1], { dtype: 'float64' as never }), /unknown dtype 'float64'/],
      [
        'requiresGrad on int32 data',
        () => tg.tensor([1], { dtype: 'int32', requiresGrad: true }),
        /only float32 tensors can require grad/,
      ],
      ['undefined', () => tg.tensor(undefined as never), /non-numeric value|expected/],
    ],
  },
  scalar: {
    probes: [
      ['a string', () => tg.scalar('1' as never), /expected a number, got string/],
      ['an unknown dtype', () => tg.scalar(1, { dtype: 'x' as never }), /unknown dtype/],
    ],
  },
  zeros: { probes: shapeArgProbes(tg.zeros as never) },
  ones: { probes: shapeArgProbes(tg.ones as never) },
  full: {
    probes: [
      ...shapeArgProbes(((s: never, o?: never) => tg.full(s, 1, o)) as never),
      ['a string fill value', () => tg.full([2], 'a' as never), /value must be a number/],
    ],
  },
  zerosLike: { probes: unaryProbes(tg.zerosLike as never) },
  onesLike: { probes: unaryProbes(tg.onesLike as never) },
  eye: {
    probes: [
      ['a negative size', () => tg.eye(-1), /sizes must be non-negative integers/],
      ['a fractional size', () => tg.eye(2.5), /sizes must be non-negative integers/],
      ['an infinite size', () => tg.eye(Infinity), /sizes must be non-negative integers/],
    ],
  },
  randn: {
    probes: [
      ...shapeArgProbes(tg.randn as never).slice(0, 3),
      ['a negative std', () => tg.randn([2], { std: -1 }), /std must be a non-negative number/],
    ],
  },
  rand: {
    probes: [
      ...shapeArgProbes(tg.rand as never).slice(0, 3),
      ['low above high', () => tg.rand([2], { low: 1, high: 0 }), /low .* must be below high/],
    ],
  },
  arange: {
    probes: [
      ['a zero step', () => tg.arange(0, 5, 0), /step must not be 0/],
      ['an infinite stop', () => tg.arange(0, Infinity), /finite/],
      ['NaN', () => tg.arange(NaN), /finite/],
      ['a string', () => tg.arange('5' as never), /finite number/],
      ['a bool dtype', () => tg.arange(3, undefined, 1, { dtype: 'bool' }), /dtype must be float32 or int32/],
    ],
  },
  linspace: {
    probes: [
      ['zero points', () => tg.linspace(0, 1, 0), /n must be a positive integer, got 0/],
      ['a fractional count', () => tg.linspace(0, 1, 2.5), /n must be a positive integer/],
      ['a NaN end', () => tg.linspace(0, NaN, 3), /finite/],
    ],
  },

  // ---- backends, recording, memory
  setBackend: {
    probes: [
      [
        'an unknown backend',
        () => tg.setBackend('gpu' as never),
        /unknown backend 'gpu'; (available|known): wasm, cpu/,
      ],
      ['a number', () => tg.setBackend(3 as never), /unknown backend '3'/],
    ],
  },
  setThreads: {
    probes: [
      ['no threads', () => tg.setThreads(0), /a whole number of threads ≥ 1, got 0/],
      ['a fraction', () => tg.setThreads(2.5), /a whole number of threads ≥ 1, got 2\.5/],
      ['a string', () => tg.setThreads('4' as never), /a whole number of threads ≥ 1, got 4/],
    ],
  },
  noGrad: {
    probes: [
      ...fnArgProbes(tg.noGrad as never),
      ['an async function', () => tg.noGrad((async () => tg.ones([1])) as never), /must be synchronous/],
    ],
  },
  tidy: {
    probes: [
      ...fnArgProbes(tg.tidy as never),
      ['an async function', () => tg.tidy((async () => tg.ones([1])) as never), /must be synchronous/],
    ],
  },
  keep: { probes: unaryProbes(tg.keep as never) },
  dispose: {
    probes: [
      ['a string', () => tg.dispose('x'), /expected Tensors/],
      ['a number', () => tg.dispose(3), /expected Tensors/],
    ],
  },
  gradients: {
    probes: [
      ['a string output', () => tg.gradients('y' as never, [v2()]), NOT_TENSOR],
      [
        'inputs not in an array',
        () => tg.gradients(tg.ones([1], { requiresGrad: true }).sum(), v2() as never),
        /inputs must be an array/,
      ],
      ['a disposed input', () => tg.gradients(tg.ones([1], { requiresGrad: true }).sum(), [gone()]), DISPOSED],
      [
        'a seed of the wrong shape',
        () => {
          const x = tg.ones([2], { requiresGrad: true });
          return tg.gradients(x.mul(2), [x], { seeds: [tg.ones([3])] });
        },
        /the seed \(float32 \[3\]\) must be float32 with the output's shape \[2\]/,
        'backward',
      ],
    ],
  },
  defineOp: {
    probes: [
      ['a rule without forward', () => tg.defineOp({ name: 'x' } as never), /needs \{ name, forward, vjp \}/],
      ['no rule', () => tg.defineOp(undefined as never), /needs \{ name, forward, vjp \}/],
    ],
  },
  customOp: {
    probes: [
      [
        'a spec without vjp',
        () => tg.customOp({ name: 'x', forward: (a: never) => a } as never),
        /needs \{ name, forward, vjp \}/,
      ],
      [
        'a number input',
        () => tg.customOp({ name: 'twice', forward: (a) => a, vjp: () => [] })(3 as never),
        /^twice: input 0 must be a Tensor, got number 3/,
      ],
      [
        'a forward that returns nothing',
        () => tg.customOp({ name: 'broken', forward: (() => undefined) as never, vjp: () => [] })(v2()),
        /^broken: .*forward must return a tf\.Tensor/,
      ],
      [
        'a vjp returning a gradient of the wrong shape',
        () => {
          const op = tg.customOp({ name: 'wrongGrad', forward: (a) => a.clone(), vjp: () => [() => tg.ones([3])] });
          const x = tg.ones([2], { requiresGrad: true });
          op(x).sum().backward();
        },
        /^backward: .*'wrongGrad' gave shape \[3\] for input 0 of shape \[2\]/,
      ],
      [
        'a vjp returning too few gradient functions',
        () => {
          const op = tg.customOp({ name: 'pairOp', forward: (a, b) => tf.add(a, b), vjp: (g) => [() => g] });
          const x = tg.ones([2], { requiresGrad: true });
          op(x, tg.ones([2], { requiresGrad: true }))
            .sum()
            .backward();
        },
        /^pairOp: the vjp returned 1 gradient functions for 2 inputs/,
      ],
      [
        'a vjp returning a tensor, not an array',
        () => {
          const op = tg.customOp({ name: 'bareOp', forward: (a) => a.clone(), vjp: ((g: tg.Tensor) => g) as never });
          op(tg.ones([2], { requiresGrad: true }))
            .sum()
            .backward();
        },
        /^bareOp: the vjp must return an array of 1 gradient functions .*got Tensor/,
      ],
      [
        'a vjp function returning a number',
        () => {
          const op = tg.customOp({ name: 'numOp', forward: (a) => a.clone(), vjp: () => [(() => 3) as never] });
          op(tg.ones([2], { requiresGrad: true }))
            .sum()
            .backward();
        },
        /^numOp: the vjp's function for input 0 must return a Tensor, got number 3/,
      ],
    ],
    name: '(custom op)',
  },

  // ---- transforms
  grad: {
    probes: [
      ...fnArgProbes(tg.grad as never),
      [
        'argnums out of range',
        () => tg.grad((x: tg.Tensor) => x.sum(), 1)(v2()),
        /argnums 1 out of range for 1 arguments/,
      ],
      ['a non-scalar result', () => tg.grad((x: tg.Tensor) => x.mul(2))(v2()), /must return a scalar, got shape \[2\]/],
      [
        'a string argument',
        () => tg.grad((x: tg.Tensor) => x.sum())('x' as never),
        /argument 0 must be a Tensor or a number/,
      ],
      [
        'an int32 argument',
        () => tg.grad((x: tg.Tensor) => x.sum())(i32()),
        /argument 0 is int32; only float32 arguments can be differentiated/,
      ],
      ['a disposed argument', () => tg.grad((x: tg.Tensor) => x.sum())(gone()), DISPOSED],
    ],
  },
  valueAndGrad: {
    probes: [
      ...fnArgProbes(tg.valueAndGrad as never),
      [
        'a non-Tensor result',
        () => tg.valueAndGrad((() => 3) as unknown as (x: tg.Tensor) => tg.Tensor)(v2()),
        /must return a Tensor, got number 3/,
      ],
    ],
  },
  vjp: {
    probes: [
      ...fnArgProbes(((f: never) => tg.vjp(f, v2())) as never),
      ['a string primal', () => tg.vjp((x: tg.Tensor) => x, 'x' as never), /argument 0 must be a Tensor or a number/],
    ],
  },
  jacobian: {
    probes: [
      ...fnArgProbes(tg.jacobian as never),
      [
        'a string argument',
        () => tg.jacobian((x: tg.Tensor) => x)('x' as never),
        /argument 0 must be a Tensor or a number/,
      ],
    ],
  },
  jvp: {
    probes: [
      ...fnArgProbes(((f: never) => tg.jvp(f, [v2()], [v2()])) as never),
      [
        'a tangent of the wrong shape',
        () => tg.jvp((x: tg.Tensor) => x.mul(2), [v2()], [tg.ones([3])]),
        /\[3\].*\[2\]|\[2\].*\[3\]/,
      ],
      ['primals not in an array', () => tg.jvp((x: tg.Tensor) => x, v2() as never, [v2()]), /array/],
    ],
  },
  hessian: {
    probes: [
      ...fnArgProbes(tg.hessian as never),
      [
        'an array of argnums',
        () => tg.hessian((x: tg.Tensor) => x.sum(), [0] as never),
        /argnum must be one argument index/,
      ],
    ],
  },
  compile: {
    probes: [
      ...fnArgProbes(tg.compile as never),
      ['an async function', () => tg.compile((async () => v2()) as never), /must be synchronous/],
      ['a string argument', () => tg.compile((x: tg.Tensor) => x.neg())('x' as never), NOT_TENSOR],
      ['a disposed argument', () => tg.compile((x: tg.Tensor) => x.neg())(gone()), DISPOSED],
      [
        'a read of a value inside',
        () => tg.compile((x: tg.Tensor) => x.mul(x.sum().item()))(v2()),
        /compile: fn reads tensor values/,
      ],
      ['a number returned', () => tg.compile(() => 3 as never)(), /compile: fn must return a Tensor/],
      [
        'an argument missing',
        () => (tg.compile((x: tg.Tensor, y: tg.Tensor) => x.add(y)) as never as (x: tg.Tensor) => void)(v2()),
        /^compile: the function takes 2 arguments, called with 1 \(float32\[2\]\)/,
      ],
      [
        'an extra argument after the trace',
        () => {
          const f = tg.compile((x: tg.Tensor) => x.neg()) as never as (...xs: tg.Tensor[]) => tg.Tensor;
          f(v2());
          f(v2(), v2());
        },
        /^compile: traced with 1 argument \(float32\[2\]\), called with 2 /,
      ],
    ],
  },
  hvp: {
    probes: [
      ...fnArgProbes(((f: never) => tg.hvp(f, v2(), v2())) as never),
      [
        'v of the wrong shape',
        () => tg.hvp((x: tg.Tensor) => x.square().sum(), v2(), tg.ones([3])),
        /v has shape \[3\] but x has shape \[2\]/,
      ],
    ],
  },
  gradcheck: {
    probes: [
      ['a number for f', () => tg.gradcheck(3 as never, [v2()]), /the first argument must be a function/],
      ['no inputs', () => tg.gradcheck((x: tg.Tensor) => x, []), /inputs must be a non-empty array of Tensors/],
      ['only int32 inputs', () => tg.gradcheck((x: tg.Tensor) => x, [i32()]), /no float32 input to differentiate/],
      [
        'an unknown mode',
        () => tg.gradcheck((x: tg.Tensor) => x, [v2()], { mode: 'quick' as never }),
        /mode must be 'full' or 'fast', got 'quick'/,
      ],
      ['a disposed input', () => tg.gradcheck((x: tg.Tensor) => x, [gone()]), DISPOSED],
      [
        'a negative atol',
        () => tg.gradcheck((x: tg.Tensor) => x, [v2()], { atol: -1 }),
        /atol must be a finite number ≥ 0, got -1/,
      ],
      [
        'an unknown option',
        () => tg.gradcheck((x: tg.Tensor) => x, [v2()], { eps: 1e-3 } as never),
        /unknown option 'eps'/,
      ],
      [
        'a failure with throwOnFailure',
        () =>
          tg.gradcheck(
            (x: tg.Tensor) =>
              tg.customOp({ name: 'half', forward: (a) => a.clone(), vjp: (g) => [() => g.mul(0.5)] })(x),
            [v2()],
            { throwOnFailure: true },
          ),
        /^gradcheck: FAILED, 2 of 4 comparisons outside the tolerance \(full mode/,
      ],
    ],
  },
  gradgradcheck: {
    probes: [
      ['a number for f', () => tg.gradgradcheck(3 as never, [v2()]), /the first argument must be a function/],
      ['no inputs', () => tg.gradgradcheck((x: tg.Tensor) => x, []), /inputs must be a non-empty array/],
      [
        'a zero step',
        () => tg.gradgradcheck((x: tg.Tensor) => x, [v2()], { step: 0 }),
        /step must be a number in \(0, 1\]/,
      ],
    ],
  },
  detectAnomaly: {
    probes: [
      ...fnArgProbes(tg.detectAnomaly as never),
      ['an async function', () => tg.detectAnomaly((async () => tg.ones([1])) as never), /must be synchronous/],
    ],
  },
  setDetectAnomaly: { probes: [['a string', () => tg.setDetectAnomaly('on' as never), /expected true or false/]] },
  explain: { probes: unaryProbes(tg.explain as never).slice(0, 2) },
  toDot: { probes: unaryProbes(tg.toDot as never).slice(0, 2) },

  // ---- ops declared with a signature (unary, binary, reduce): probes derived from it
  ...fromSignatures(),

  // ---- elementwise
  leakyRelu: {
    probes: [
      ...unaryProbes(tg.leakyRelu as never),
      ['a string alpha', () => tg.leakyRelu(v2(), 'a' as never), /alpha must be a finite number/],
    ],
  },
  clip: {
    probes: [
      ...unaryProbes(((x: never) => tg.clip(x, 0, 1)) as never),
      ['lo above hi', () => tg.clip(v2(), 1, 0), /lo \(1\) must not exceed hi \(0\)/],
      ['a NaN bound', () => tg.clip(v2(), NaN, 1), /must not exceed|number/],
    ],
  },
  hardtanh: {
    probes: [
      ...unaryProbes(tg.hardtanh as never),
      ['min above max', () => tg.hardtanh(v2(), { min: 1, max: 0 }), /min \(1\) must be a number not above max \(0\)/],
      ['a number for the options', () => tg.hardtanh(v2(), -2 as never), /options must be \{ min, max \}, got -2/],
      ["PyTorch's option name", () => tg.hardtanh(v2(), { min_val: -2 } as never), /unknown option 'min_val'/],
    ],
  },
  clone: { probes: unaryProbes(tg.clone as never) },
  resultType: {
    probes: [
      [
        'a string operand',
        () => tg.resultType(v2(), 'x' as never),
        /^resultType: expected a Tensor or a number, got string/,
      ],
      ['a nested array', () => tg.resultType([[1]] as never, 1), /wrap it with tg\.tensor/],
      ['a disposed tensor', () => tg.resultType(gone(), 1), DISPOSED],
    ],
  },
  promoteTypes: {
    probes: [
      [
        "PyTorch's float64",
        () => tg.promoteTypes('float64' as never, 'int32'),
        /^promoteTypes: unknown dtype "float64"/,
      ],
      ['a tensor for a dtype', () => tg.promoteTypes(v2() as never, 'int32'), /unknown dtype/],
    ],
  },
  sub: {
    probes: [
      ...binaryProbes(tg.sub as never),
      ['a bool operand', () => tg.sub(v2(), bool()), /^sub: a bool tensor is not supported, as in PyTorch/],
    ],
  },
  where: {
    probes: [
      ['a float condition', () => tg.where(v2(), v2(), v2()), /the condition must be a bool tensor, got float32/],
      ['a string condition', () => tg.where('c' as never, v2(), v2()), NOT_TENSOR],
      ['shapes that do not broadcast', () => tg.where(bool(), tg.ones([3]), 0), /cannot be broadcast/],
      ['a disposed branch', () => tg.where(bool(), gone(), 0), DISPOSED],
    ],
  },
  ...Object.fromEntries(
    (['greater', 'greaterEqual', 'less', 'lessEqual', 'equal', 'notEqual'] as const).map((k) => [
      k,
      { probes: compareProbes(tg[k] as never) },
    ]),
  ),
  logicalAnd: { probes: compareProbes(tg.logicalAnd as never) },
  logicalOr: { probes: compareProbes(tg.logicalOr as never) },
  logicalNot: {
    probes: [...unaryProbes(tg.logicalNot as never), ['a float tensor', () => tg.logicalNot(v2()), /bool/]],
  },
  cast: {
    probes: [
      ...unaryProbes(((x: never) => tg.cast(x, 'int32')) as never),
      ['an unknown dtype', () => tg.cast(v2(), 'float64' as never), /unknown dtype 'float64'/],
    ],
  },
  isFinite: { probes: unaryProbes(tg.isFinite as never) },

  // ---- reductions
  variance: {
    probes: [
      ...reduceProbes(tg.variance as never),
      [
        'correction too large',
        () => tg.variance(v2(), { correction: 2 }),
        /needs more than 2 entries per reduced slice, got 2/,
      ],
    ],
  },
  norm: {
    probes: [...reduceProbes(tg.norm as never), ['ord below 1', () => tg.norm(v2(), { ord: 0.5 }), /ord must be ≥ 1/]],
  },
  ...Object.fromEntries(
    (['argmax', 'argmin'] as const).map((k) => [
      k,
      {
        probes: [
          ...unaryProbes(tg[k] as never),
          ['an axis out of range', () => tg[k](m22(), { axis: 2 }), /axis 2 is out of range for a tensor of rank 2/],
          ['an empty tensor', () => tg[k](tg.zeros([0, 3])), /needs a non-empty tensor, got shape \[0,3\]/],
        ] as Probe[],
      },
    ]),
  ),

  // ---- std, all/any, scans, sorting
  std: {
    probes: [
      ...reduceProbes(tg.std as never),
      ['one entry (correction 1)', () => tg.std(tg.tensor([1])), /needs more than 1 entries per reduced slice, got 1/],
      [
        'a negative correction',
        () => tg.std(v2(), { correction: -1 }),
        /correction must be a non-negative number, got -1/,
      ],
    ],
  },
  all: { probes: reduceProbes(tg.all as never) },
  any: { probes: reduceProbes(tg.any as never) },
  ...Object.fromEntries(
    (['cumsum', 'cumprod', 'logCumSumExp'] as const).map((k) => [
      k,
      {
        probes: [
          ...unaryProbes(((x: never) => tg[k](x, 0)) as never),
          ['an axis out of range', () => tg[k](m22(), 2), /axis 2 is out of range for a tensor of rank 2/],
          ['a fractional axis', () => tg[k](m22(), 0.5), /axis 0\.5 is out of range/],
          [
            'no axis',
            () => (tg[k] as unknown as (x: tg.Tensor) => tg.Tensor)(m22()),
            /axis must be an integer, got undefined/,
          ],
        ] as Probe[],
      },
    ]),
  ),
  median: {
    probes: [
      ...unaryProbes(tg.median as never),
      ['an axis out of range', () => tg.median(m22(), { axis: -3 }), /axis -3 is out of range for a tensor of rank 2/],
      ['several axes', () => tg.median(m22(), { axis: [0, 1] as never }), /axis must be an integer, got \[0,1\]/],
      [
        'an empty axis',
        () => tg.median(tg.zeros([0, 3]), { axis: 0 }),
        /cannot reduce over an empty axis: shape \[0,3\]/,
      ],
    ],
  },
  sort: {
    probes: [
      ...unaryProbes(tg.sort as never),
      ['an axis out of range', () => tg.sort(m22(), { axis: 2 }), /axis 2 is out of range for a tensor of rank 2/],
      [
        'a string flag',
        () => tg.sort(m22(), { descending: 'yes' as never }),
        /descending must be a boolean, got "yes"/,
      ],
    ],
  },
  topk: {
    probes: [
      ...unaryProbes(((x: never) => tg.topk(x, 1)) as never),
      [
        'k above the axis length',
        () => tg.topk(m22(), 3),
        /k must be an integer in \[0, 2\] .*axis 1 of \[2,2\].*got 3/,
      ],
      ['a fractional k', () => tg.topk(m22(), 1.5), /k must be an integer in \[0, 2\].*got 1\.5/],
      ['a negative k', () => tg.topk(m22(), -1), /k must be an integer .*got -1/],
      ['an axis out of range', () => tg.topk(m22(), 1, { axis: 2 }), /axis 2 is out of range for a tensor of rank 2/],
    ],
  },

  // ---- shape ops
  reshape: {
    probes: [
      ...unaryProbes(((x: never) => tg.reshape(x, [2])) as never),
      ['a size that does not fit', () => tg.reshape(m22(), [3]), /cannot reshape \[2,2\] \(4 values\) to \[3\]/],
      ['two -1s', () => tg.reshape(m22(), [-1, -1]), /invalid shape \[-1,-1\]/],
      ['a -1 beside a 0 (ambiguous)', () => tg.reshape(tg.zeros([0, 3]), [0, -1]), /the −1 in \[0,-1\] is ambiguous/],
    ],
  },
  transpose: {
    probes: [
      ...unaryProbes(tg.transpose as never),
      [
        'a perm of the wrong length',
        () => tg.transpose(m22(), [0]),
        /perm \[0\] is not a permutation of the 2 axes of \[2,2\]/,
      ],
    ],
  },
  expandDims: {
    probes: [
      ...unaryProbes(tg.expandDims as never),
      ['an axis out of range', () => tg.expandDims(v2(), 3), /axis 3 is out of range/],
    ],
  },
  squeeze: {
    probes: [
      ...unaryProbes(tg.squeeze as never),
      ['an axis of length 2', () => tg.squeeze(m22(), 0), /axis 0 has length 2, not 1, in \[2,2\]/],
    ],
  },
  broadcastTo: {
    probes: [
      ...unaryProbes(((x: never) => tg.broadcastTo(x, [2])) as never),
      [
        'an incompatible shape',
        () => tg.broadcastTo(m22(), [3, 2]),
        /cannot broadcast \[2,2\] to \[3,2\]|cannot be broadcast/,
      ],
      ['a string shape', () => tg.broadcastTo(m22(), 'big' as never), /shape must be an array/],
    ],
  },
  tile: {
    probes: [
      ...unaryProbes(((x: never) => tg.tile(x, [1])) as never),
      ['reps of the wrong length', () => tg.tile(m22(), [2]), /reps \[2\] must be 2 positive integers for \[2,2\]/],
    ],
  },
  slice: {
    probes: [
      ...unaryProbes(((x: never) => tg.slice(x, [0])) as never),
      [
        'a slice past the end',
        () => tg.slice(m22(), [1, 1], [2, 1]),
        /begin \[1,1\] and size \[2,1\] do not fit in \[2,2\]/,
      ],
    ],
  },
  pad: {
    probes: [
      ...unaryProbes(((x: never) => tg.pad(x, [[1, 1]])) as never),
      [
        'negative padding',
        () => tg.pad(v2(), [[-1, 0]]),
        /paddings \[\[-1,0\]\] must be 1 pairs of non-negative integers for \[2\]/,
      ],
      ['a string value', () => tg.pad(v2(), [[1, 1]], 'zero' as never), /value must be a number/],
    ],
  },
  concat: {
    probes: [
      ['an empty list', () => tg.concat([]), /needs a non-empty array of tensors/],
      [
        'shapes that differ',
        () => tg.concat([m22(), tg.ones([2, 3])], 0),
        /shapes \[2,2\], \[2,3\] differ outside axis 0/,
      ],
      ['a string entry', () => tg.concat([m22(), 'x' as never]), /tensor 1 must be a tapegrad Tensor/],
    ],
  },
  stack: {
    probes: [
      ['an empty list', () => tg.stack([]), /needs a non-empty array of tensors/],
      ['shapes that differ', () => tg.stack([v2(), tg.ones([3])]), /shapes differ: \[2\], \[3\]/],
      ['a disposed entry', () => tg.stack([v2(), gone()]), DISPOSED],
    ],
  },
  split: {
    probes: [
      ...unaryProbes(((x: never) => tg.split(x, 2)) as never),
      ['an uneven split', () => tg.split(tg.ones([3]), 2), /cannot split axis 0 of length 3 into 2/],
      ['sizes that do not add up', () => tg.split(m22(), [1, 2], 1), /cannot split axis 1 of length 2 into \[1,2\]/],
      ['no parts', () => tg.split(m22(), []), /cannot split axis 0 of length 2 into \[\]/],
      ['an axis out of range', () => tg.split(m22(), 2, 2), /^split: axis 2 is out of range for a tensor of rank 2/],
    ],
  },
  chunk: {
    probes: [
      ...unaryProbes(((x: never) => tg.chunk(x, 2)) as never),
      ['zero chunks', () => tg.chunk(m22(), 0), /^chunk: chunks must be a positive integer, got number 0/],
      ['a fractional count', () => tg.chunk(m22(), 1.5), /^chunk: chunks must be a positive integer, got number 1.5/],
      ['an axis out of range', () => tg.chunk(m22(), 2, -3), /^chunk: axis -3 is out of range for a tensor of rank 2/],
    ],
  },
  unbind: {
    probes: [
      ...unaryProbes(((x: never) => tg.unbind(x)) as never),
      ['a scalar', () => tg.unbind(tg.tensor(1)), /^unbind: axis 0 is out of range for a tensor of rank 0/],
      ['an axis out of range', () => tg.unbind(m22(), 2), /^unbind: axis 2 is out of range for a tensor of rank 2/],
    ],
  },
  gather: {
    probes: [
      ...unaryProbes(((x: never) => tg.gather(x, [0])) as never),
      ['float indices', () => tg.gather(v2(), v2()), /indices must be int32, got float32/],
      ['an index out of range', () => tg.gather(v2(), [5]), /index 5 at position 0 is out of range \[0, 2\)/],
      [
        'a fractional index',
        () => tg.gather(v2(), [0.5]),
        /indices must be an int32 Tensor or an array of integers, got \[0\.5\]/,
      ],
    ],
  },
  scatterAdd: {
    probes: [
      ['a string input', () => tg.scatterAdd('g' as never, i32(), 0, 2), NOT_TENSOR],
      ['float indices', () => tg.scatterAdd(v2(), v2(), 0, 2), /indices must be int32/],
      [
        'indices of the wrong length',
        () => tg.scatterAdd(v2(), tg.tensor([0], { dtype: 'int32' }), 0, 2),
        /indices must be a vector of length 2 \(axis 0 of \[2\]\), got shape \[1\]/,
      ],
      ['an axis out of range', () => tg.scatterAdd(v2(), i32(), 3, 2), /axis 3 is out of range/],
    ],
  },

  // ---- indexing and einsum
  flip: {
    probes: [
      ...unaryProbes(((x: never) => tg.flip(x, 0)) as never),
      ['an axis out of range', () => tg.flip(m22(), 2), /axis 2 is out of range for a tensor of rank 2/],
      ['an axis twice', () => tg.flip(m22(), [0, -2]), /axis 0 appears twice in \[0,-2\]/],
      ['a string for the axes', () => tg.flip(m22(), 'rows' as never), /axes must be an integer or an array/],
    ],
  },
  roll: {
    probes: [
      ...unaryProbes(((x: never) => tg.roll(x, 1)) as never),
      ['a fractional shift', () => tg.roll(v2(), 0.5), /shifts must be an integer or an array of integers, got 0\.5/],
      ['shifts and axes that differ in length', () => tg.roll(m22(), [1, 1], 0), /must have the same length/],
      ['two shifts without axes', () => tg.roll(m22(), [1, 1]), /without axes, shifts must be one integer/],
      ['an axis out of range', () => tg.roll(m22(), 1, 2), /axis 2 is out of range for a tensor of rank 2/],
    ],
  },
  tril: {
    probes: [
      ...unaryProbes(((x: never) => tg.tril(x)) as never),
      ['a vector', () => tg.tril(v2()), /needs a matrix \(rank ≥ 2\), got \[2\]/],
      ['a fractional k', () => tg.tril(m22(), 0.5), /k must be an integer, got 0\.5/],
    ],
  },
  triu: {
    probes: [
      ...unaryProbes(((x: never) => tg.triu(x)) as never),
      ['a vector', () => tg.triu(v2()), /needs a matrix \(rank ≥ 2\), got \[2\]/],
      ['a string k', () => tg.triu(m22(), '1' as never), /k must be an integer, got "1"/],
    ],
  },
  diag: {
    probes: [
      ...unaryProbes(((x: never) => tg.diag(x)) as never),
      ['a rank-3 tensor', () => tg.diag(tg.ones([2, 2, 2])), /needs a vector .* or a matrix .*, got \[2,2,2\]/],
      ['a fractional k', () => tg.diag(v2(), 1.5), /k must be an integer, got 1\.5/],
    ],
  },
  diagonal: {
    probes: [
      ...unaryProbes(((x: never) => tg.diagonal(x)) as never),
      ['a vector', () => tg.diagonal(v2()), /needs rank ≥ 2, got \[2\]/],
      ['the same axis twice', () => tg.diagonal(m22(), { axis1: 0, axis2: -2 }), /axis1 and axis2 must differ/],
      ['an axis out of range', () => tg.diagonal(m22(), { axis2: 2 }), /axis 2 is out of range/],
      ['a fractional offset', () => tg.diagonal(m22(), { offset: 0.5 }), /offset must be an integer, got 0\.5/],
    ],
  },
  swapAxes: {
    probes: [
      ...unaryProbes(((x: never) => tg.swapAxes(x, 0, 1)) as never),
      ['an axis out of range', () => tg.swapAxes(m22(), 0, 2), /axis 2 is out of range for a tensor of rank 2/],
    ],
  },
  takeAlongAxis: {
    probes: [
      ...unaryProbes(((x: never) => tg.takeAlongAxis(x, i32(), 0)) as never),
      ['float indices', () => tg.takeAlongAxis(v2(), v2(), 0), /indices must be int32, got float32/],
      [
        'indices of another rank',
        () => tg.takeAlongAxis(m22(), i32(), 1),
        /indices \[2\] must have the rank of x \[2,2\]/,
      ],
      [
        'an index out of range',
        () =>
          tg.takeAlongAxis(
            m22(),
            tg.tensor(
              [
                [0, 1],
                [2, 0],
              ],
              { dtype: 'int32' },
            ),
            1,
          ),
        /index 2 at position \[1,0\] is out of range \[0, 2\) for axis 1 of \[2,2\]/,
      ],
      [
        'a negative index',
        () => tg.takeAlongAxis(v2(), tg.tensor([-1], { dtype: 'int32' }), 0),
        /index -1 at position \[0\] is out of range \[0, 2\)/,
      ],
      ['an axis out of range', () => tg.takeAlongAxis(v2(), i32(), 1), /axis 1 is out of range/],
    ],
  },
  scatterAlongAxis: {
    probes: [
      ['a string input', () => tg.scatterAlongAxis('x' as never, i32(), v2(), 0), NOT_TENSOR],
      ['disposed values', () => tg.scatterAlongAxis(v2(), i32(), gone(), 0), DISPOSED],
      ['float indices', () => tg.scatterAlongAxis(v2(), v2(), v2(), 0), /indices must be int32, got float32/],
      [
        'an index out of range',
        () => tg.scatterAlongAxis(v2(), tg.tensor([3], { dtype: 'int32' }), v2(), 0),
        /index 3 at position \[0\] is out of range \[0, 2\) for axis 0 of \[2\]/,
      ],
      [
        "an index written twice with reduce 'none'",
        () => tg.scatterAlongAxis(v2(), tg.tensor([1, 1], { dtype: 'int32' }), v2(), 0),
        /indices at positions \[0\] and \[1\] both write \[1\] of x; .*reduce 'sum'/,
      ],
      [
        'values smaller than the indices',
        () => tg.scatterAlongAxis(m22(), tg.tensor([[0], [1]], { dtype: 'int32' }), tg.ones([1, 1]), 1),
        /the values \[1,1\] must have the indices' rank and at least their sizes \[2,1\]/,
      ],
      [
        'an unknown reduce',
        () => tg.scatterAlongAxis(v2(), i32(), v2(), 0, { reduce: 'max' as never }),
        /reduce must be 'sum' or 'none', got "max"/,
      ],
      [
        'mixed dtypes',
        () => tg.scatterAlongAxis(v2(), i32(), i32(), 0),
        /dtypes differ: x is float32, the values int32/,
      ],
    ],
  },
  oneHot: {
    probes: [
      ['a string', () => tg.oneHot('x' as never, 2), /indices must be an int32 Tensor or an array of integers/],
      ['float indices', () => tg.oneHot(v2(), 3), /indices must be int32, got float32/],
      ['an index out of range', () => tg.oneHot([0, 3], 3), /index 3 at position \[1\] is out of range \[0, 3\)/],
      ['a zero depth', () => tg.oneHot([0], 0), /depth must be a positive integer, got 0/],
      ['a disposed tensor', () => tg.oneHot(gone(), 2), DISPOSED],
    ],
  },
  stopGradient: { probes: unaryProbes(tg.stopGradient as never) },
  einsum: {
    probes: [
      ['a number for the equation', () => tg.einsum(3 as never, m22()), /the equation must be a string, got 3/],
      ['no operands', () => tg.einsum('ij'), /'ij': needs at least one operand/],
      ['a string operand', () => tg.einsum('ij', 'x' as never), NOT_TENSOR],
      ['an int32 operand', () => tg.einsum('i', i32()), /operands must be float32, operand 0 is int32/],
      ['too few terms', () => tg.einsum('ij->i', m22(), m22()), /'ij->i': 1 input term for 2 operands/],
      [
        'letters that do not match the rank',
        () => tg.einsum('ijk', m22()),
        /'ijk': operand 0 has rank 2 \(shape \[2,2\]\) but its subscripts 'ijk' name 3 axes/,
      ],
      [
        'a letter with two sizes',
        () => tg.einsum('ij,jk', m22(), tg.ones([3, 2])),
        /'ij,jk': letter 'j' has size 2 in operand 0 \(shape \[2,2\]\) but 3 in operand 1 \(shape \[3,2\]\)/,
      ],
      [
        'a repeated letter with two sizes',
        () => tg.einsum('ii', tg.ones([2, 3])),
        /'ii': letter 'i' is repeated in operand 0 with sizes 2 and 3/,
      ],
      [
        'an output letter in no operand',
        () => tg.einsum('ij->k', m22()),
        /'ij->k': output letter 'k' appears in no operand/,
      ],
      [
        'a repeated output letter',
        () => tg.einsum('ij->ii', m22()),
        /'ij->ii': output letter 'i' appears more than once/,
      ],
      ["two '...'", () => tg.einsum('...i...', m22()), /has more than one '\.\.\.'/],
      ["a '.' outside '...'", () => tg.einsum('i.j', m22()), /has a '\.' that is not part of '\.\.\.'/],
      ["'...' in the output only", () => tg.einsum('ij->...', m22()), /the output has '\.\.\.' but no operand has/],
      ['a digit', () => tg.einsum('i1', m22()), /unexpected character '1'/],
      ["two '->'", () => tg.einsum('ij->i->j', m22()), /more than one '->'/],
    ],
  },

  // ---- matrices and forms
  linear: {
    probes: [
      ['a number for the input', () => tg.linear(2 as never, m22()), NOT_TENSOR],
      ['a disposed weight', () => tg.linear(m22(), gone() as never), DISPOSED],
      [
        'shapes that do not fit',
        () => tg.linear(m22(), tg.ones([3, 2])),
        /needs an input \[n, in\] and a weight \[in, out\] that fit, got \[2,2\] and \[3,2\]/,
      ],
      ['a vector input', () => tg.linear(v2(), m22()), /needs an input \[n, in\]/],
      [
        'a bias of the wrong length',
        () => tg.linear(m22(), m22(), tg.ones([3])),
        /the bias must have shape \[2\], got \[3\]/,
      ],
      [
        'an int32 weight',
        () =>
          tg.linear(
            m22(),
            tg.tensor(
              [
                [1, 2],
                [3, 4],
              ],
              { dtype: 'int32' },
            ),
          ),
        /the weight must be float32, got int32/,
      ],
      [
        'an unknown activation',
        () => tg.linear(m22(), m22(), null, { activation: 'tanh' as never }),
        /activation must be 'none' or 'relu', got 'tanh'/,
      ],
    ],
  },
  matmul: {
    probes: [
      ...binaryProbes(tg.matmul as never).filter(([w]) => w !== 'shapes that do not broadcast'),
      mixedDtypesProbe(tg.matmul as never),
      [
        'inner dimensions that differ',
        () => tg.matmul(tg.ones([2, 3]), tg.ones([4, 5])),
        /inner dimensions differ: \[2,3\] x \[4,5\]/,
      ],
      ['a scalar operand', () => tg.matmul(tg.scalar(1), m22()), /rank ≥ 1/],
    ],
  },
  matrixTranspose: {
    probes: [
      ...unaryProbes(tg.matrixTranspose as never),
      ['a vector', () => tg.matrixTranspose(v2()), /rank ≥ 2|matrix/],
    ],
  },
  dot: {
    probes: [
      ...binaryProbes(tg.dot as never).filter(([w]) => w !== 'shapes that do not broadcast'),
      mixedDtypesProbe(tg.dot as never),
      ['vectors of different lengths', () => tg.dot(v2(), tg.ones([3])), /vector lengths differ: \[2\] · \[3\]/],
    ],
  },
  outer: {
    probes: [
      ['a string operand', () => tg.outer(v2(), 'x' as never), NOT_TENSOR],
      ['a matrix', () => tg.outer(m22(), v2()), /needs two vectors, got \[2,2\] and \[2\]/],
    ],
  },
  trace: {
    probes: [
      ...unaryProbes(tg.trace as never),
      ['a vector', () => tg.trace(v2()), /needs a matrix \(rank ≥ 2\), got \[2\]/],
    ],
  },
  quadForm: {
    probes: [
      ['a string x', () => tg.quadForm('x' as never, m22()), NOT_TENSOR],
      ['sizes that differ', () => tg.quadForm(tg.ones([3]), m22()), /\[3\].*\[2,2\]/],
      ['a disposed A', () => tg.quadForm(v2(), gone()), DISPOSED],
    ],
  },
  bilinear: {
    probes: [
      ['a string y', () => tg.bilinear('y' as never, m22(), v2()), NOT_TENSOR],
      ['sizes that differ', () => tg.bilinear(tg.ones([3]), m22(), v2()), /\[3\].*\[2,2\]/],
    ],
  },

  // ---- nn ops and convolution
  softmax: {
    probes: [
      ...unaryProbes(tg.softmax as never),
      ['an axis out of range', () => tg.softmax(v2(), 1), /axis 1 is out of range for a tensor of rank 1/],
    ],
  },
  logSoftmax: {
    probes: [
      ...unaryProbes(tg.logSoftmax as never),
      ['an axis out of range', () => tg.logSoftmax(v2(), 1), /axis 1 is out of range/],
    ],
  },
  crossEntropy: {
    probes: [
      ['string logits', () => tg.crossEntropy('z' as never, i32()), NOT_TENSOR],
      [
        'float class indices',
        () => tg.crossEntropy(tg.ones([2, 3]), v2()),
        /class-index labels must be int32, got float32/,
      ],
      [
        'a class index out of range',
        () => tg.crossEntropy(tg.ones([2, 3]), tg.tensor([0, 3], { dtype: 'int32' })),
        /class index 3 at position 1 is out of range \[0, 3\)/,
      ],
      [
        'labels of the wrong shape',
        () => tg.crossEntropy(tg.ones([2, 3]), tg.ones([3], { dtype: 'int32' })),
        /labels of shape \[3\] fit neither/,
      ],
      [
        'label smoothing above 1',
        () => tg.crossEntropy(tg.ones([2, 3]), i32(), { labelSmoothing: 2 }),
        /labelSmoothing must be in \[0, 1\], got 2/,
      ],
    ],
  },
  mseLoss: { probes: lossProbes(tg.mseLoss as never) },
  l1Loss: { probes: lossProbes(tg.l1Loss as never) },
  conv2d: {
    probes: [
      ['a string input', () => tg.conv2d('x' as never, tg.ones([1, 1, 1, 1])), NOT_TENSOR],
      ['a 3-D input', () => tg.conv2d(tg.ones([4, 4, 1]), tg.ones([1, 1, 1, 1])), /the input must be NHWC/],
      [
        'channels that differ',
        () => tg.conv2d(img(), tg.ones([1, 1, 2, 1])),
        /the input has 1 channels but the filter expects 2/,
      ],
      ['a filter larger than the image', () => tg.conv2d(img(), tg.ones([5, 5, 1, 1])), /\[5,5\]|larger|fit/],
      ['a zero stride', () => tg.conv2d(img(), tg.ones([1, 1, 1, 1]), { stride: 0 }), /stride/],
    ],
  },
  maxPool2d: {
    probes: [
      ['a string input', () => tg.maxPool2d('x' as never, { kernelSize: 2 }), NOT_TENSOR],
      ['no kernelSize', () => tg.maxPool2d(img(), {} as never), /kernelSize is required/],
      ['a 2-D input', () => tg.maxPool2d(m22(), { kernelSize: 2 }), /NHWC/],
    ],
  },
  avgPool2d: {
    probes: [
      ['a string input', () => tg.avgPool2d('x' as never, { kernelSize: 2 }), NOT_TENSOR],
      ['no options', () => tg.avgPool2d(img(), undefined as never), /kernelSize is required/],
      [
        'an unknown padding',
        () => tg.avgPool2d(img(), { kernelSize: 2, padding: 'full' as never }),
        /padding must be 'valid' or 'same', got "full"/,
      ],
    ],
  },
  conv1d: {
    probes: [
      ['a string input', () => tg.conv1d('x' as never, tg.ones([1, 1, 1])), NOT_TENSOR],
      ['a 4-D input', () => tg.conv1d(img(), tg.ones([1, 1, 1])), /the input must be NWC \[batch, length, channels\]/],
      [
        'channels that differ',
        () => tg.conv1d(tg.ones([1, 4, 2]), tg.ones([1, 3, 1])),
        /the input has 2 channels but the filter expects 3/,
      ],
      [
        'a pair for the stride',
        () => tg.conv1d(tg.ones([1, 4, 1]), tg.ones([1, 1, 1]), { stride: [1, 2] as never }),
        /stride must be an integer ≥ 1/,
      ],
      [
        'a window too long',
        () => tg.conv1d(tg.ones([1, 4, 1]), tg.ones([3, 1, 1]), { dilation: 2 }),
        /a window of 5 does not fit in a length of 4/,
      ],
    ],
  },
  convTranspose2d: {
    probes: [
      ['a string filter', () => tg.convTranspose2d(img(), 'w' as never), NOT_TENSOR],
      ['a 3-D input', () => tg.convTranspose2d(tg.ones([4, 4, 1]), tg.ones([1, 1, 1, 1])), /the input must be NHWC/],
      [
        'channels that differ',
        () => tg.convTranspose2d(img(), tg.ones([2, 2, 3, 1])),
        /the input has 1 channels but the filter expects 3/,
      ],
      [
        'an outputPadding as large as the stride',
        () => tg.convTranspose2d(img(), tg.ones([2, 2, 1, 1]), { stride: 2, outputPadding: 2 }),
        /outputPadding 2 must be smaller than the stride or the dilation/,
      ],
      [
        'groups that do not divide the channels',
        () => tg.convTranspose2d(tg.ones([1, 2, 2, 3]), tg.ones([1, 1, 3, 1]), { groups: 2 }),
        /divisible by 2 groups/,
      ],
    ],
  },
  adaptiveAvgPool2d: {
    probes: [
      ...unaryProbes((x: never) => tg.adaptiveAvgPool2d(x, 1)),
      ['a 2-D input', () => tg.adaptiveAvgPool2d(m22(), 1), /the input must be NHWC/],
      [
        'a zero size',
        () => tg.adaptiveAvgPool2d(img(), [0, 2]),
        /outputSize must be a positive integer or a pair of them/,
      ],
    ],
  },
  interpolate: {
    probes: [
      ...unaryProbes((x: never) => tg.interpolate(x, { scaleFactor: 2 })),
      [
        'no options',
        () => tg.interpolate(img(), undefined as never),
        /options \{ size \} or \{ scaleFactor \} are required/,
      ],
      [
        'both size and scaleFactor',
        () => tg.interpolate(img(), { size: 2, scaleFactor: 2 }),
        /give one of size and scaleFactor/,
      ],
      [
        'an unknown mode',
        () => tg.interpolate(img(), { size: 2, mode: 'bicubic' as never }),
        /mode must be 'nearest' or 'bilinear', got "bicubic"/,
      ],
      ['a negative scale', () => tg.interpolate(img(), { scaleFactor: -1 }), /scaleFactor must be a positive number/],
      [
        'alignCorners with nearest',
        () => tg.interpolate(img(), { size: 2, alignCorners: true }),
        /alignCorners applies to mode 'bilinear' only/,
      ],
    ],
  },

  // ---- tg.linalg
  'linalg.inv': {
    probes: [
      ...unaryProbes(tg.linalg.inv as never),
      ['a non-square matrix', () => tg.linalg.inv(tg.ones([2, 3])), /square/],
      ['a singular matrix', () => tg.linalg.inv(tg.ones([2, 2])), /singular/],
    ],
  },
  'linalg.det': {
    probes: [...unaryProbes(tg.linalg.det as never), ['a vector', () => tg.linalg.det(v2()), /square|matri/]],
  },
  'linalg.slogdet': {
    probes: [
      ...unaryProbes(tg.linalg.slogdet as never),
      ['a non-square matrix', () => tg.linalg.slogdet(tg.ones([2, 3])), /square/],
      [
        'the gradient at a singular matrix',
        () => tg.grad((x: tg.Tensor) => tg.linalg.slogdet(x)[1])(tg.ones([2, 2])),
        /matrix is singular \(the gradient of log\|det\|/,
      ],
    ],
  },
  'linalg.solve': {
    probes: [
      ['a string A', () => tg.linalg.solve('A' as never, v2()), NOT_TENSOR],
      ['B of the wrong size', () => tg.linalg.solve(m22(), tg.ones([3])), /\[3\]/],
      ['a singular A', () => tg.linalg.solve(tg.ones([2, 2]), v2()), /singular/],
    ],
  },
  'linalg.cholesky': {
    probes: [
      ...unaryProbes(tg.linalg.cholesky as never),
      [
        'a matrix that is not positive definite',
        () =>
          tg.linalg.cholesky(
            tg.tensor([
              [1, 2],
              [2, 1],
            ]),
          ),
        /positive definite/,
      ],
      [
        'a non-symmetric matrix with checkSymmetric',
        () =>
          tg.linalg.cholesky(
            tg.tensor([
              [2, 1],
              [0, 2],
            ]),
            { checkSymmetric: true },
          ),
        /matrix is not symmetric/,
      ],
    ],
  },
  'linalg.triangularSolve': {
    probes: [
      ['a string T', () => tg.linalg.triangularSolve('T' as never, v2()), NOT_TENSOR],
      ['B of the wrong size', () => tg.linalg.triangularSolve(m22(), tg.ones([3])), /\[3\]/],
    ],
  },
  'linalg.lu': {
    probes: [
      ...unaryProbes(tg.linalg.lu as never),
      ['a non-square matrix', () => tg.linalg.lu(tg.ones([2, 3])), /square/],
    ],
  },
  'linalg.qr': {
    probes: [
      ...unaryProbes(tg.linalg.qr as never),
      ['a wide matrix', () => tg.linalg.qr(tg.ones([2, 3])), /at least as many rows as columns.*2×3/],
      ['a vector', () => tg.linalg.qr(v2()), /matri/],
    ],
  },
  'linalg.eigh': {
    probes: [
      ...unaryProbes(tg.linalg.eigh as never),
      ['a non-square matrix', () => tg.linalg.eigh(tg.ones([2, 3])), /square, got 2×3/],
      [
        'a matrix that is not symmetric',
        () => tg.linalg.eigh(m22()),
        /must be symmetric, but A\[0,1\] = 2 and A\[1,0\] = 3/,
      ],
    ],
  },
  'linalg.svd': {
    probes: [
      ...unaryProbes(tg.linalg.svd as never),
      ['a vector', () => tg.linalg.svd(v2()), /matri/],
      ['an int32 matrix', () => tg.linalg.svd(tg.ones([2, 2], { dtype: 'int32' })), /float32/],
    ],
  },
  'linalg.svdvals': {
    probes: [...unaryProbes(tg.linalg.svdvals as never), ['a vector', () => tg.linalg.svdvals(v2()), /matri/]],
  },
  'linalg.pinv': {
    probes: [
      ...unaryProbes(tg.linalg.pinv as never),
      ['an empty matrix', () => tg.linalg.pinv(tg.zeros([0, 2])), /empty/],
      [
        "NumPy's rcond",
        () => tg.linalg.pinv(tg.eye(2), { rcond: 1e-3 } as never),
        /^linalg\.pinv: unknown option 'rcond'; the options are atol, rtol, hermitian$/,
      ],
      [
        'a NaN rtol',
        () => tg.linalg.pinv(tg.eye(2), { rtol: Number.NaN }),
        /^linalg\.pinv: rtol must be a number or a tensor/,
      ],
      [
        'an atol tensor that does not broadcast',
        () => tg.linalg.pinv(tg.ones([3, 2, 2]), { atol: tg.ones([2]) }),
        /^linalg\.pinv: the tolerances' shapes \(atol \[2\], rtol \[\]\) do not broadcast/,
      ],
      [
        'hermitian of a wide matrix',
        () => tg.linalg.pinv(tg.ones([2, 3]), { hermitian: true }),
        /^linalg\.pinv: hermitian needs square matrices, got 2×3/,
      ],
    ],
  },
  'linalg.lstsq': {
    probes: [
      ['a string A', () => tg.linalg.lstsq('A' as never, v2()), NOT_TENSOR],
      ['B of the wrong size', () => tg.linalg.lstsq(m22(), tg.ones([3])), /2 rows.*\[3\]/],
    ],
  },
  'linalg.matrixNorm': {
    probes: [
      ...unaryProbes(tg.linalg.matrixNorm as never),
      ['an unknown order', () => tg.linalg.matrixNorm(m22(), 3 as never), /ord must be 'fro', 'nuc' or 2, got 3/],
    ],
  },
  'linalg.matrixExp': {
    probes: [
      ...unaryProbes(tg.linalg.matrixExp as never),
      ['a non-square matrix', () => tg.linalg.matrixExp(tg.ones([2, 3])), /square/],
    ],
  },
  'linalg.matrixPower': {
    probes: [
      ['a string', () => tg.linalg.matrixPower('x' as never, 2), NOT_TENSOR],
      ['a fractional exponent', () => tg.linalg.matrixPower(m22(), 0.5), /integer, got 0.5/],
    ],
  },

  // ---- tg.nn
  'nn.Module': {
    name: 'Module',
    probes: [['forward of the base class', () => new tg.nn.Module().forward(v2()), /forward/]],
  },
  'nn.Linear': {
    name: 'Linear',
    probes: [
      ['a fractional width', () => new tg.nn.Linear(2.5, 3), /integer|features/],
      ['a string width', () => new tg.nn.Linear('2' as never, 3), /integer|features/],
      ...layerForward(() => new tg.nn.Linear(2, 3)),
      ['an input of the wrong width', () => new tg.nn.Linear(2, 3).forward(tg.ones([4, 5])), /\[4,5\]|5/],
    ],
  },
  'nn.Sequential': {
    name: 'Sequential',
    probes: [['a non-module layer', () => new tg.nn.Sequential(3 as never), /layer 0|Module/]],
  },
  'nn.MLP': {
    name: 'MLP',
    probes: [
      ['one size', () => new tg.nn.MLP([2]), /sizes must list at least an input and an output width/],
      [
        'an unknown activation',
        () => new tg.nn.MLP([2, 3], { activation: 'swish' as never }),
        /unknown activation 'swish'/,
      ],
      ...layerForward(() => new tg.nn.MLP([2, 3])),
    ],
  },
  'nn.Flatten': {
    name: 'Flatten',
    probes: [
      ['a negative start dim', () => new tg.nn.Flatten(-5).forward(m22()), /startDim|axis/],
      ...layerForward(() => new tg.nn.Flatten()),
    ],
  },
  'nn.Dropout': {
    name: 'Dropout',
    probes: [
      ['p above 1', () => new tg.nn.Dropout(1.5), /p must be in \[0, 1\)|\[0, 1\]/],
      ...layerForward(() => new tg.nn.Dropout(0.5)),
    ],
  },
  'nn.LayerNorm': {
    name: 'LayerNorm',
    probes: [
      ['a negative size', () => new tg.nn.LayerNorm(-1), /shape|positive/],
      ['an input of the wrong trailing shape', () => new tg.nn.LayerNorm(3).forward(m22()), /\[2,2\]|3/],
    ],
  },
  'nn.Tanh': { name: 'tanh', probes: layerForward(() => new tg.nn.Tanh()) },
  'nn.LeakyReLU': { name: 'leakyRelu', probes: layerForward(() => new tg.nn.LeakyReLU()) },
  'nn.Softmax': {
    name: 'softmax',
    probes: [
      ['an axis out of range', () => new tg.nn.Softmax(3).forward(v2()), /axis 3 is out of range/],
      ...layerForward(() => new tg.nn.Softmax()),
    ],
  },
  'nn.LogSoftmax': {
    name: 'logSoftmax',
    probes: [
      ['an axis out of range', () => new tg.nn.LogSoftmax(3).forward(v2()), /axis 3 is out of range/],
      ...layerForward(() => new tg.nn.LogSoftmax()),
    ],
  },
  'nn.ELU': { name: 'elu', probes: layerForward(() => new tg.nn.ELU()) },
  'nn.Softplus': { name: 'softplus', probes: layerForward(() => new tg.nn.Softplus()) },
  'nn.SiLU': { name: 'silu', probes: layerForward(() => new tg.nn.SiLU()) },
  'nn.Mish': { name: 'mish', probes: layerForward(() => new tg.nn.Mish()) },
  'nn.Hardtanh': {
    name: 'hardtanh',
    probes: [
      ...layerForward(() => new tg.nn.Hardtanh()),
      [
        'min above max',
        () => new tg.nn.Hardtanh({ min: 2 }),
        /min \(2\) must be a number not above max \(1\)/,
        'Hardtanh',
      ],
      [
        "PyTorch's option name",
        () => new tg.nn.Hardtanh({ max_val: 2 } as never),
        /unknown option 'max_val'/,
        'Hardtanh',
      ],
    ],
  },
  'nn.LogSigmoid': { name: 'logSigmoid', probes: layerForward(() => new tg.nn.LogSigmoid()) },
  'nn.Softsign': { name: 'softsign', probes: layerForward(() => new tg.nn.Softsign()) },
  'nn.SELU': { name: 'selu', probes: layerForward(() => new tg.nn.SELU()) },
  'nn.Identity': { name: 'Identity', probes: layerForward(() => new tg.nn.Identity()) },
  'nn.Conv2d': {
    name: 'Conv2d',
    probes: [
      ['zero channels', () => new tg.nn.Conv2d(0, 1, 3), /channels|positive/],
      ['a string kernel size', () => new tg.nn.Conv2d(1, 1, 'big' as never), /kernelSize/],
    ],
  },
  'nn.MaxPool2d': {
    name: 'MaxPool2d',
    probes: [
      ['no options', () => new tg.nn.MaxPool2d(undefined as never), /kernelSize is required/],
      ['a fractional size', () => new tg.nn.MaxPool2d(1.5), /kernelSize must be an integer ≥ 1/],
    ],
  },
  'nn.AvgPool2d': {
    name: 'AvgPool2d',
    probes: [
      ['no options', () => new tg.nn.AvgPool2d(undefined as never), /kernelSize is required/],
      ['a zero stride', () => new tg.nn.AvgPool2d(2, { stride: 0 }), /stride must be an integer ≥ 1/],
    ],
  },
  'nn.Conv1d': {
    name: 'Conv1d',
    probes: [
      ['a pair kernel size', () => new tg.nn.Conv1d(1, 1, [3, 3] as never), /kernelSize must be a positive integer/],
      [
        'groups that do not divide',
        () => new tg.nn.Conv1d(3, 4, 3, { groups: 2 }),
        /must both be divisible by groups 2/,
      ],
      [
        'a 2-D input',
        () => new tg.nn.Conv1d(2, 1, 1).forward(m22()),
        /expected input of shape \[N, L, 2\] \(NWC\), got \[2,2\]/,
      ],
    ],
  },
  'nn.ConvTranspose2d': {
    name: 'ConvTranspose2d',
    probes: [
      ['zero channels', () => new tg.nn.ConvTranspose2d(1, 0, 3), /outChannels must be a positive integer/],
      [
        'wrong input channels',
        () => new tg.nn.ConvTranspose2d(2, 1, 1).forward(img()),
        /expected input of shape \[N, H, W, 2\] \(NHWC\), got \[1,4,4,1\]/,
      ],
    ],
  },
  'nn.AdaptiveAvgPool2d': {
    name: 'AdaptiveAvgPool2d',
    probes: [
      ['a string size', () => new tg.nn.AdaptiveAvgPool2d('big' as never), /outputSize must be a positive integer/],
      [
        'a 2-D input',
        () => new tg.nn.AdaptiveAvgPool2d(1).forward(m22()),
        /expected input of shape \[N, H, W, C\] \(NHWC\), got \[2,2\]/,
      ],
    ],
  },
  'nn.Upsample': {
    name: 'Upsample',
    probes: [
      [
        'no options',
        () => new tg.nn.Upsample(undefined as never),
        /options \{ size \} or \{ scaleFactor \} are required/,
      ],
      ['neither size nor scaleFactor', () => new tg.nn.Upsample({}), /give one of size and scaleFactor/],
      [
        'an unknown mode',
        () => new tg.nn.Upsample({ size: 2, mode: 'area' as never }),
        /mode must be 'nearest' or 'bilinear'/,
      ],
    ],
  },
  'nn.Embedding': {
    name: 'Embedding',
    probes: [
      ['zero rows', () => new tg.nn.Embedding(0, 2), /numEmbeddings must be a positive integer/],
      [
        'an index out of range',
        () => new tg.nn.Embedding(3, 2).forward(tg.tensor([0, 3], { dtype: 'int32' })),
        /index 3 at position \[1\] is out of range \[0, 3\)/,
      ],
      ['float indices', () => new tg.nn.Embedding(3, 2).forward(v2()), /indices must be int32/],
      ...layerForward(() => new tg.nn.Embedding(3, 2)),
    ],
  },
  'nn.BatchNorm1d': {
    name: 'BatchNorm1d',
    probes: [
      [
        'a batch of one in training',
        () => new tg.nn.BatchNorm1d(2).forward(tg.ones([1, 2])),
        /more than 1 value per channel when training/,
      ],
      [
        'an input of the wrong width',
        () => new tg.nn.BatchNorm1d(3).forward(m22()),
        /expected input of shape \[N, 3\] or \[N, L, 3\], got \[2,2\]/,
      ],
      ...layerForward(() => new tg.nn.BatchNorm1d(2)),
    ],
  },
  'nn.BatchNorm2d': {
    name: 'BatchNorm2d',
    probes: [
      [
        'an input of the wrong rank',
        () => new tg.nn.BatchNorm2d(2).forward(m22()),
        /expected input of shape \[N, H, W, 2\] \(NHWC\), got \[2,2\]/,
      ],
      ['a string momentum', () => new tg.nn.BatchNorm2d(2, { momentum: 'fast' as never }), /momentum/],
    ],
  },
  'nn.GroupNorm': {
    name: 'GroupNorm',
    probes: [
      ['channels not divisible by groups', () => new tg.nn.GroupNorm(3, 4), /divisible/],
      [
        'an input of the wrong width',
        () => new tg.nn.GroupNorm(1, 3).forward(m22()),
        /expected input of shape \[N, \.\.\., 3\]/,
      ],
      ...layerForward(() => new tg.nn.GroupNorm(1, 2)),
    ],
  },
  'nn.RMSNorm': {
    name: 'RMSNorm',
    probes: [
      ['a negative size', () => new tg.nn.RMSNorm(-1), /positive integer/],
      [
        'an input of the wrong trailing shape',
        () => new tg.nn.RMSNorm(3).forward(m22()),
        /expected input of shape \[\.\.\., 3\], got \[2,2\]/,
      ],
      ...layerForward(() => new tg.nn.RMSNorm(2)),
    ],
  },
  'nn.scaledDotProductAttention': {
    name: 'scaledDotProductAttention',
    probes: [
      [
        'keys of another width',
        () => tg.nn.scaledDotProductAttention(m22(), tg.ones([2, 3]), m22()),
        /expected query \[\.\.\., L, E\], key \[\.\.\., S, E\]/,
      ],
      ['a string query', () => tg.nn.scaledDotProductAttention('q' as never, m22(), m22()), NOT_TENSOR],
      ['a disposed key', () => tg.nn.scaledDotProductAttention(m22(), gone() as never, m22()), DISPOSED],
      [
        'an int32 mask',
        () =>
          tg.nn.scaledDotProductAttention(m22(), m22(), m22(), {
            mask: tg.tensor(
              [
                [1, 0],
                [0, 1],
              ],
              { dtype: 'int32' },
            ),
          }),
        /mask must be bool/,
      ],
    ],
  },
  'nn.MultiheadAttention': {
    name: 'MultiheadAttention',
    probes: [
      ['heads that do not divide the width', () => new tg.nn.MultiheadAttention(6, 4), /divisible/],
      [
        'a query of the wrong rank',
        () => new tg.nn.MultiheadAttention(2, 1).forward(m22()),
        /expected the query of shape \[N, L, 2\] \(batch first\), got \[2,2\]/,
      ],
      ...layerForward(() => new tg.nn.MultiheadAttention(2, 1)),
    ],
  },
  'nn.TransformerEncoderLayer': {
    name: 'TransformerEncoderLayer',
    probes: [
      [
        'an unknown activation',
        () => new tg.nn.TransformerEncoderLayer(4, 2, { activation: 'tanh' as never }),
        /activation must be 'relu' or 'gelu'/,
      ],
      [
        'an input of the wrong width',
        () => new tg.nn.TransformerEncoderLayer(4, 2, { dimFeedforward: 4 }).forward(tg.ones([1, 2, 3])),
        /expected input of shape \[N, L, 4\]/,
      ],
      ...layerForward(() => new tg.nn.TransformerEncoderLayer(2, 1, { dimFeedforward: 2 })),
    ],
  },
  'nn.RNN': {
    name: 'RNN',
    probes: [
      ['a zero hidden size', () => new tg.nn.RNN(2, 0), /hiddenSize must be a positive integer, got 0/],
      ['an unknown nonlinearity', () => new tg.nn.RNN(2, 3, { nonlinearity: 'gelu' as never }), /'tanh' or 'relu'/],
      ['dropout of 1', () => new tg.nn.RNN(2, 3, { dropout: 1 }), /dropout must be in \[0, 1\)/],
      ...layerForward(() => new tg.nn.RNN(2, 3)),
      [
        'an input of the wrong width',
        () => new tg.nn.RNN(3, 4).forward(tg.ones([5, 2, 2])),
        /expected input of shape \[T, B, 3\] or \[T, 3\] \(unbatched\), got \[5,2,2\] \(layer RNN\(3→4\)\)/,
      ],
      [
        'an initial state of the wrong shape',
        () => new tg.nn.RNN(2, 3).forward(tg.ones([4, 2, 2]), tg.ones([1, 3, 3])),
        /expected the initial state h0 of shape \[1,2,3\], got \[1,3,3\]/,
      ],
    ],
  },
  'nn.GRU': {
    name: 'GRU',
    probes: [
      ['a fractional numLayers', () => new tg.nn.GRU(2, 3, { numLayers: 1.5 }), /numLayers must be a positive integer/],
      ...layerForward(() => new tg.nn.GRU(2, 3)),
      [
        'a batch-first input of rank 4',
        () => new tg.nn.GRU(2, 3, { batchFirst: true }).forward(tg.ones([1, 2, 3, 2])),
        /expected input of shape \[B, T, 2\] or \[T, 2\] \(unbatched\), got \[1,2,3,2\]/,
      ],
      ['an empty sequence', () => new tg.nn.GRU(2, 3).forward(tg.ones([0, 2, 2])), /at least one time step/],
    ],
  },
  'nn.LSTM': {
    name: 'LSTM',
    probes: [
      ['a string input size', () => new tg.nn.LSTM('2' as never, 3), /inputSize must be a positive integer/],
      ...layerForward(() => new tg.nn.LSTM(2, 3)),
      ['a tensor for the state', () => new tg.nn.LSTM(2, 3).forward(tg.ones([4, 2]), v2() as never), /\{ h, c \}/],
      [
        'h without c',
        () => new tg.nn.LSTM(2, 3).forward(tg.ones([4, 2]), { h: tg.ones([1, 3]) } as never),
        /both h and c/,
      ],
      [
        'a cell state of the wrong shape',
        () =>
          new tg.nn.LSTM(2, 3, { bidirectional: true }).forward(tg.ones([4, 2]), {
            h: tg.ones([2, 3]),
            c: tg.ones([1, 3]),
          }),
        /expected the initial state c of shape \[2,3\], got \[1,3\]/,
      ],
      ['int32 input', () => new tg.nn.LSTM(2, 3).forward(tg.ones([4, 2], { dtype: 'int32' })), /must be float32/],
    ],
  },
  'nn.RNNCell': {
    name: 'RNNCell',
    probes: [
      [
        'an unknown nonlinearity',
        () => new tg.nn.RNNCell(2, 3, { nonlinearity: 'sigmoid' as never }),
        /'tanh' or 'relu'/,
      ],
      ...layerForward(() => new tg.nn.RNNCell(2, 3)),
      [
        'an input of the wrong width',
        () => new tg.nn.RNNCell(3, 4).forward(m22()),
        /expected input of shape \[B, 3\] or \[3\] \(unbatched\), got \[2,2\] \(layer RNNCell\(3→4\)\)/,
      ],
    ],
  },
  'nn.GRUCell': {
    name: 'GRUCell',
    probes: [
      ['zero inputs', () => new tg.nn.GRUCell(0, 3), /inputSize must be a positive integer/],
      ...layerForward(() => new tg.nn.GRUCell(2, 3)),
      [
        'a state of the wrong shape',
        () => new tg.nn.GRUCell(2, 3).forward(m22(), tg.ones([2, 2])),
        /expected the state h of shape \[2,3\], got \[2,2\]/,
      ],
    ],
  },
  'nn.LSTMCell': {
    name: 'LSTMCell',
    probes: [
      ...layerForward(() => new tg.nn.LSTMCell(2, 3)),
      ['a number for the state', () => new tg.nn.LSTMCell(2, 3).forward(v2(), 3 as never), /\{ h, c \}/],
      [
        'a cell state of the wrong shape',
        () => new tg.nn.LSTMCell(2, 3).forward(v2(), { h: tg.ones([3]), c: tg.ones([2]) }),
        /expected the state c of shape \[3\], got \[2\]/,
      ],
    ],
  },
  'nn.crossEntropy': {
    name: 'crossEntropy',
    probes: [['float class indices', () => tg.nn.crossEntropy(tg.ones([2, 3]), v2()), /must be int32/]],
  },
  'nn.mseLoss': { name: 'mseLoss', probes: lossProbes(tg.nn.mseLoss as never) },
  'nn.l1Loss': { name: 'l1Loss', probes: lossProbes(tg.nn.l1Loss as never) },
  'nn.huberLoss': {
    name: 'huberLoss',
    probes: [
      ...lossProbes(tg.nn.huberLoss as never),
      ['a negative delta', () => tg.nn.huberLoss(v2(), v2(), { delta: -1 }), /delta/],
    ],
  },
  'nn.binaryCrossEntropyWithLogits': {
    name: 'binaryCrossEntropyWithLogits',
    probes: lossProbes(tg.nn.binaryCrossEntropyWithLogits as never),
  },
  'nn.nllLoss': {
    name: 'nllLoss',
    probes: [
      ['a string', () => tg.nn.nllLoss('x' as never, i32()), NOT_TENSOR],
      ['a disposed tensor', () => tg.nn.nllLoss(gone(), i32()), DISPOSED],
      ['float targets', () => tg.nn.nllLoss(m22(), v2()), /targets must be int32/],
      ['targets of the wrong shape', () => tg.nn.nllLoss(m22(), tg.tensor([0], { dtype: 'int32' })), /\[1\].*\[2,2\]/],
      [
        'a class index out of range',
        () => tg.nn.nllLoss(m22(), tg.tensor([0, 2], { dtype: 'int32' })),
        /class index 2 at position 1 is out of range \[0, 2\)/,
      ],
      [
        'a weight of the wrong size',
        () => tg.nn.nllLoss(m22(), i32(), { weight: tg.ones([3]) }),
        /weight.*\[2\].*\[3\]/,
      ],
      ['an unknown reduction', () => tg.nn.nllLoss(m22(), i32(), { reduction: 'avg' as never }), /'avg'/],
    ],
  },
  'nn.binaryCrossEntropy': {
    name: 'binaryCrossEntropy',
    probes: [
      ...lossProbes(tg.nn.binaryCrossEntropy as never),
      ['a probability above 1', () => tg.nn.binaryCrossEntropy(tg.tensor([0.5, 2]), tg.ones([2])), /\[0, 1\].*2/],
      ['int32 targets', () => tg.nn.binaryCrossEntropy(tg.ones([2]), i32()), /targets must be float32/],
      [
        'a weight that does not broadcast',
        () => tg.nn.binaryCrossEntropy(tg.ones([2]), tg.ones([2]), { weight: tg.ones([3]) }),
        /\[3\]/,
      ],
    ],
  },
  'nn.klDiv': {
    name: 'klDiv',
    probes: [
      ...unaryProbes(tg.nn.klDiv as never),
      ['shapes that differ', () => tg.nn.klDiv(tg.ones([2, 3]), tg.ones([3, 2])), /\[2,3\].*\[3,2\]/],
      [
        'an unknown reduction',
        () => tg.nn.klDiv(tg.ones([2]), tg.ones([2]), { reduction: 'avg' as never }),
        /reduction must be 'batchmean', 'mean', 'sum' or 'none', got 'avg'/,
      ],
    ],
  },
  'nn.smoothL1Loss': {
    name: 'smoothL1Loss',
    probes: [
      ...lossProbes(tg.nn.smoothL1Loss as never),
      ['a negative beta', () => tg.nn.smoothL1Loss(v2(), v2(), { beta: -1 }), /beta must be non-negative, got -1/],
    ],
  },
  'nn.cosineSimilarity': {
    name: 'cosineSimilarity',
    probes: [
      ...unaryProbes(tg.nn.cosineSimilarity as never),
      ['shapes that do not broadcast', () => tg.nn.cosineSimilarity(tg.ones([2, 3]), tg.ones([2])), /\[2,3\].*\[2\]/],
      ['an axis out of range', () => tg.nn.cosineSimilarity(m22(), m22(), { axis: 2 }), /axis 2 is out of range/],
    ],
  },
  'nn.marginRankingLoss': {
    name: 'marginRankingLoss',
    probes: [
      ...unaryProbes(tg.nn.marginRankingLoss as never),
      ['shapes that differ', () => tg.nn.marginRankingLoss(v2(), v2(), tg.ones([3])), /\[2\].*\[2\].*\[3\]/],
      ['an unknown reduction', () => tg.nn.marginRankingLoss(v2(), v2(), v2(), { reduction: 'avg' as never }), /'avg'/],
    ],
  },
  'nn.tripletMarginLoss': {
    name: 'tripletMarginLoss',
    probes: [
      ...unaryProbes(tg.nn.tripletMarginLoss as never),
      ['shapes that differ', () => tg.nn.tripletMarginLoss(m22(), m22(), tg.ones([2, 3])), /\[2,2\].*\[2,3\]/],
      ['a p below 1', () => tg.nn.tripletMarginLoss(m22(), m22(), m22(), { p: 0 }), /p must be ≥ 1, got 0/],
      [
        'an unknown reduction',
        () => tg.nn.tripletMarginLoss(m22(), m22(), m22(), { reduction: 'avg' as never }),
        /'avg'/,
      ],
    ],
  },
  'nn.encodeSafetensors': {
    name: 'encodeSafetensors',
    probes: [
      ['a non-array', () => tg.nn.encodeSafetensors(3 as never), /entries|array/],
      ['a disposed tensor', () => tg.nn.encodeSafetensors([['w', gone()]]), DISPOSED],
    ],
  },
  'nn.decodeSafetensors': {
    name: 'decodeSafetensors',
    probes: [
      ['garbage bytes', () => tg.nn.decodeSafetensors(new Uint8Array([1, 2, 3])), /not a safetensors file: 3 bytes/],
      [
        'a string',
        () => tg.nn.decodeSafetensors('model.safetensors' as never),
        /expected the file's bytes as a Uint8Array, got string/,
      ],
      [
        'a header length of 2^53',
        () => tg.nn.decodeSafetensors(new Uint8Array([0, 0, 0, 0, 0, 0, 32, 0, 0])),
        /the header length 9007199254740992 exceeds the 1 bytes after it/,
      ],
    ],
  },
  ...Object.fromEntries(
    (
      [
        'glorotUniform',
        'glorotNormal',
        'heUniform',
        'heNormal',
        'xavierUniform',
        'xavierNormal',
        'kaimingUniform',
        'kaimingNormal',
      ] as const
    ).map((k) => [
      `nn.init.${k}`,
      { name: k, probes: initProbes((tg.nn.init as unknown as Record<string, never>)[k]) },
    ]),
  ),
  'nn.init.uniform': {
    name: 'uniform',
    probes: [
      ...initProbes(tg.nn.init.uniform as never),
      ['a negative limit', () => tg.nn.init.uniform([2], -1), /limit/],
    ],
  },
  'nn.init.normal': {
    name: 'normal',
    probes: [...initProbes(tg.nn.init.normal as never), ['a negative std', () => tg.nn.init.normal([2], -1), /std/]],
  },
  'nn.init.defaultUniform': {
    name: 'defaultUniform',
    probes: [
      ...initProbes(tg.nn.init.defaultUniform as never),
      ['a zero fan-in', () => tg.nn.init.defaultUniform([2], 0), /fanIn/],
    ],
  },
  'nn.init.fans': { name: 'fans', probes: [['a number for a shape', () => tg.nn.init.fans(3 as never), /shape/]] },

  // ---- tg.optim
  'optim.SGD': {
    name: 'SGD',
    probes: [
      ...optimProbes(tg.optim.SGD as never),
      [
        'negative momentum',
        () => new tg.optim.SGD([tg.ones([1], { requiresGrad: true })], { lr: 0.1, momentum: -1 }),
        /momentum/,
      ],
    ],
  },
  'optim.Adam': {
    name: 'Adam',
    probes: [
      ...optimProbes(tg.optim.Adam as never),
      [
        'beta above 1',
        () => new tg.optim.Adam([tg.ones([1], { requiresGrad: true })], { lr: 0.1, betas: [1.5, 0.9] }),
        /beta/,
      ],
    ],
  },
  'optim.AdamW': { name: 'AdamW', probes: optimProbes(tg.optim.AdamW as never) },
  'optim.RMSprop': { name: 'RMSprop', probes: optimProbes(tg.optim.RMSprop as never) },
  'optim.Optimizer': {
    name: 'SGD.step',
    probes: [
      [
        'step() after dispose()',
        () => {
          const o = new tg.optim.SGD([tg.ones([1], { requiresGrad: true })], { lr: 0.1 });
          o.dispose();
          o.step();
        },
        /the optimizer has been disposed/,
      ],
      [
        'a parameter in two groups',
        () => {
          const w = tg.ones([1], { requiresGrad: true });
          return new tg.optim.SGD([{ params: [w] }, { params: [w] }], { lr: 0.1 });
        },
        /listed twice/,
        'SGD',
      ],
      ['a group without params', () => new tg.optim.SGD([{ params: [] }], { lr: 0.1 }), /needs params/, 'SGD'],
      [
        'a state dict of another optimizer',
        () => new tg.optim.SGD([tg.ones([1], { requiresGrad: true })], { lr: 0.1 }).loadStateDict({} as never),
        /expected what stateDict\(\) returns/,
        'SGD.loadStateDict',
      ],
    ],
  },
  'optim.StepLR': {
    name: 'StepLR',
    probes: [
      ['a zero step size', () => new tg.optim.StepLR(0.1, { stepSize: 0 }), /stepSize/],
      [
        "an optimizer for lr (PyTorch's order)",
        () =>
          new tg.optim.StepLR(new tg.optim.SGD([tg.ones([1], { requiresGrad: true })], { lr: 0.1 }) as never, {
            stepSize: 2,
          }),
        /lr must be a non-negative number or a schedule, got the optimizer SGD; a schedule is given to the optimizer as its lr: new SGD\(params, \{ lr: new StepLR\(0\.1, \{ \.\.\. \}\) \}\)/,
      ],
    ],
  },
  'optim.CosineAnnealing': {
    name: 'CosineAnnealing',
    probes: [['a zero tMax', () => new tg.optim.CosineAnnealing(0.1, { tMax: 0 }), /tMax/]],
  },
  'optim.LinearWarmup': {
    name: 'LinearWarmup',
    probes: [['negative warmup steps', () => new tg.optim.LinearWarmup(0.1, { warmupSteps: -1 }), /warmupSteps/]],
  },
  'optim.Adagrad': {
    name: 'Adagrad',
    probes: [
      ...optimProbes(tg.optim.Adagrad as never).filter(([w]) => w !== 'no options'),
      [
        'a negative lr decay',
        () => new tg.optim.Adagrad([tg.ones([1], { requiresGrad: true })], { lrDecay: -1 }),
        /lrDecay/,
      ],
    ],
  },
  'optim.Adamax': {
    name: 'Adamax',
    probes: [
      ...optimProbes(tg.optim.Adamax as never).filter(([w]) => w !== 'no options'),
      [
        'beta above 1',
        () => new tg.optim.Adamax([tg.ones([1], { requiresGrad: true })], { betas: [0.9, 1.5] }),
        /betas\[1\]/,
      ],
    ],
  },
  'optim.NAdam': {
    name: 'NAdam',
    probes: [
      ...optimProbes(tg.optim.NAdam as never).filter(([w]) => w !== 'no options'),
      [
        'a negative momentum decay',
        () => new tg.optim.NAdam([tg.ones([1], { requiresGrad: true })], { momentumDecay: -1 }),
        /momentumDecay/,
      ],
    ],
  },
  'optim.RAdam': {
    name: 'RAdam',
    probes: [
      ...optimProbes(tg.optim.RAdam as never).filter(([w]) => w !== 'no options'),
      [
        'an unknown option',
        () => new tg.optim.RAdam([tg.ones([1], { requiresGrad: true })], { decay: 1 } as never),
        /unknown option 'decay'/,
      ],
    ],
  },
  'optim.LBFGS': {
    name: 'LBFGS',
    probes: [
      ...optimProbes(tg.optim.LBFGS as never).filter(([w]) => w !== 'no options'),
      [
        'step without a closure',
        () => new tg.optim.LBFGS([tg.ones([1], { requiresGrad: true })]).step(),
        /needs a closure/,
        'LBFGS.step',
      ],
      [
        'a zero history',
        () => new tg.optim.LBFGS([tg.ones([1], { requiresGrad: true })], { historySize: 0 }),
        /historySize/,
      ],
    ],
  },
  'optim.ExponentialLR': {
    name: 'ExponentialLR',
    probes: [
      ['no gamma', () => new tg.optim.ExponentialLR(0.1, {} as never), /gamma/],
      ['a negative lr', () => new tg.optim.ExponentialLR(-1, { gamma: 0.9 }), /lr/],
    ],
  },
  'optim.MultiStepLR': {
    name: 'MultiStepLR',
    probes: [
      ['milestones not an array', () => new tg.optim.MultiStepLR(0.1, { milestones: 3 as never }), /milestones/],
    ],
  },
  'optim.OneCycleLR': {
    name: 'OneCycleLR',
    probes: [
      ['a zero maxLr', () => new tg.optim.OneCycleLR(0, { totalSteps: 10 }), /maxLr/],
      ['no totalSteps', () => new tg.optim.OneCycleLR(0.1, {} as never), /totalSteps/],
      ['a step beyond the cycle', () => new tg.optim.OneCycleLR(0.1, { totalSteps: 2 }).at(5), /beyond/],
    ],
  },
  'optim.SequentialLR': {
    name: 'SequentialLR',
    probes: [
      ['no schedules', () => new tg.optim.SequentialLR([], { milestones: [] }), /non-empty array of schedules/],
      ['too few milestones', () => new tg.optim.SequentialLR([0.1, 0.2], { milestones: [] }), /milestone/],
    ],
  },
  'optim.ReduceLROnPlateau': {
    name: 'ReduceLROnPlateau',
    probes: [
      [
        'an unknown mode',
        () => new tg.optim.ReduceLROnPlateau(0.1, { mode: 'up' as never }),
        /mode must be 'min' or 'max'/,
      ],
      ['a NaN metric', () => new tg.optim.ReduceLROnPlateau(0.1).step(NaN), /metric/, 'ReduceLROnPlateau.step'],
    ],
  },
  'optim.clipGradNorm': {
    name: 'clipGradNorm',
    probes: [
      ['a negative max norm', () => tg.optim.clipGradNorm([tg.ones([1], { requiresGrad: true })], -1), /maxNorm/],
      ['a non-array', () => tg.optim.clipGradNorm(3 as never, 1), /array|parameters/],
    ],
  },

  // ---- tg.data
  'data.TensorDataset': {
    name: 'TensorDataset',
    probes: [
      ['no tensors', () => new tg.data.TensorDataset(), /needs at least one tensor/],
      ['first axes that differ', () => new tg.data.TensorDataset(m22(), tg.ones([3])), /same first axis/],
      ['a number', () => new tg.data.TensorDataset(3 as never), NOT_TENSOR],
      ['a disposed tensor', () => new tg.data.TensorDataset(gone()), DISPOSED],
      [
        'an index out of range',
        () => new tg.data.TensorDataset(m22()).get(2),
        /index 2 is out of range \[0, 2\)/,
        'TensorDataset.get',
      ],
    ],
  },
  'data.Subset': {
    name: 'Subset',
    probes: [
      ['not a dataset', () => new tg.data.Subset(3 as never, [0]), /expected a dataset/],
      [
        'an index out of range',
        () => new tg.data.Subset(new tg.data.TensorDataset(m22()), [0, 5]),
        /index 5 is out of range/,
      ],
    ],
  },
  'data.randomSplit': {
    name: 'randomSplit',
    probes: [
      [
        'fractions that do not sum to 1',
        () => tg.data.randomSplit(new tg.data.TensorDataset(m22()), [0.5, 0.2]),
        /fractions that sum to 1/,
      ],
      ['not a dataset', () => tg.data.randomSplit(null as never, [1]), /expected a dataset/],
    ],
  },
  'data.DataLoader': {
    name: 'DataLoader',
    probes: [
      [
        'a zero batch size',
        () => new tg.data.DataLoader(new tg.data.TensorDataset(m22()), { batchSize: 0 }),
        /batchSize must be a positive integer/,
      ],
      ['not a dataset', () => new tg.data.DataLoader(v2() as never), /expected a dataset/],
      ['async items in a for … of', () => [...new tg.data.DataLoader({ length: 1, get: async () => 1 })], /for await/],
    ],
  },
  'data.collate': {
    name: 'collate',
    probes: [
      ['no items', () => tg.data.collate([]), /non-empty array/],
      ['shapes that differ', () => tg.data.collate([tg.ones([2]), tg.ones([3])]), /cannot be stacked/],
    ],
  },
};
