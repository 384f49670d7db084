// The chainable methods on Tensor (x.add(y).sum(), x.backward()): each is the free function of
// the same name. They are declared onto Tensor by module augmentation and installed on its
// prototype here, so that tensor.ts, at the bottom of the layers, never imports the ops.
import { Tensor } from '../tensor.js';
import { backward, type BackwardOptions } from '../backward.js';
import * as elementwise from './elementwise.js';
import * as reduce from './reduce.js';
import * as scan from './scan.js';
import * as sorting from './sort.js';
import type { CumsumOptions } from './scan.js';
import type { MedianOptions, SortOptions, SortResult, TopkOptions } from './sort.js';
import * as shape from './shape.js';
import * as matrix from './matrix.js';
import * as nn from './nn.js';
import * as indexing from './indexing.js';

type Axis = number | number[];
type ReduceOptions = { axis?: Axis; keepDims?: boolean };

declare module '../tensor.js' {
  interface Tensor {
    /** Reverse-mode sweep from this tensor; accumulates into the .grad of leaves that require grad. */
    backward(seed?: Tensor | number | null, opts?: BackwardOptions): void;
    add(b: TensorLike): Tensor;
    sub(b: TensorLike): Tensor;
    mul(b: TensorLike): Tensor;
    div(b: TensorLike): Tensor;
    pow(b: TensorLike): Tensor;
    maximum(b: TensorLike): Tensor;
    minimum(b: TensorLike): Tensor;
    neg(): Tensor;
    abs(): Tensor;
    sign(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    log1p(): Tensor;
    expm1(): Tensor;
    sqrt(): Tensor;
    rsqrt(): Tensor;
    square(): Tensor;
    reciprocal(): Tensor;
    sin(): Tensor;
    cos(): Tensor;
    tan(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    relu(): Tensor;
    leakyRelu(alpha?: number): Tensor;
    elu(): Tensor;
    softplus(): Tensor;
    gelu(): Tensor;
    clip(lo: number, hi: number): Tensor;
    atan(): Tensor;
    asin(): Tensor;
    acos(): Tensor;
    sinh(): Tensor;
    cosh(): Tensor;
    asinh(): Tensor;
    acosh(): Tensor;
    atanh(): Tensor;
    log2(): Tensor;
    log10(): Tensor;
    exp2(): Tensor;
    silu(): Tensor;
    logSigmoid(): Tensor;
    softsign(): Tensor;
    selu(): Tensor;
    mish(): Tensor;
    hardtanh(opts?: { min?: number; max?: number }): Tensor;
    floor(): Tensor;
    ceil(): Tensor;
    round(): Tensor;
    trunc(): Tensor;
    frac(): Tensor;
    /** atan2(this, x): the angle of the point (x, this), as PyTorch's `y.atan2(x)`. */
    atan2(x: TensorLike): Tensor;
    equal(b: TensorLike): Tensor;
    notEqual(b: TensorLike): Tensor;
    greater(b: TensorLike): Tensor;
    greaterEqual(b: TensorLike): Tensor;
    less(b: TensorLike): Tensor;
    lessEqual(b: TensorLike): Tensor;
    /** A copy in another dtype (not differentiable), as the free function `cast`. */
    cast(dtype: DType): Tensor;
    /** A copy that stays on the tape, as the free function `clone`. */
    clone(): Tensor;
    /** All axes reversed (PyTorch's `x.T`): `transpose(x)`, differentiable. */
    readonly T: Tensor;
    /** The last two axes swapped (PyTorch's `x.mT`): `matrixTranspose(x)`, differentiable; rank ≥ 2. */
    readonly mT: Tensor;
    sum(opts?: ReduceOptions): Tensor;
    mean(opts?: ReduceOptions): Tensor;
    prod(opts?: ReduceOptions): Tensor;
    max(opts?: ReduceOptions): Tensor;
    min(opts?: ReduceOptions): Tensor;
    logSumExp(opts?: ReduceOptions): Tensor;
    variance(opts?: ReduceOptions & { correction?: number }): Tensor;
    norm(opts?: ReduceOptions & { ord?: number }): Tensor;
    argmax(opts?: { axis?: number; keepDims?: boolean }): Tensor;
    argmin(opts?: { axis?: number; keepDims?: boolean }): Tensor;
    std(opts?: ReduceOptions & { correction?: number }): Tensor;
    all(opts?: ReduceOptions): Tensor;
    any(opts?: ReduceOptions): Tensor;
    cumsum(axis: number, opts?: CumsumOptions): Tensor;
    cumprod(axis: number): Tensor;
    logCumSumExp(axis: number): Tensor;
    median(opts?: MedianOptions): Tensor;
    sort(opts?: SortOptions): SortResult;
    topk(k: number, opts?: TopkOptions): SortResult;
    reshape(shape: number[]): Tensor;
    transpose(perm?: number[]): Tensor;
    expandDims(axis?: number): Tensor;
    squeeze(axis?: Axis): Tensor;
    slice(begin: number[], size?: number[]): Tensor;
    split(numOrSizes: number | number[], axis?: number): Tensor[];
    chunk(chunks: number, axis?: number): Tensor[];
    unbind(axis?: number): Tensor[];
    gather(indices: Tensor | number[], axis?: number): Tensor;
    pad(paddings: [number, number][], value?: number): Tensor;
    broadcastTo(shape: number[]): Tensor;
    tile(reps: number[]): Tensor;
    flip(axes?: Axis): Tensor;
    roll(shifts: number | number[], axes?: Axis): Tensor;
    tril(k?: number): Tensor;
    triu(k?: number): Tensor;
    diag(k?: number): Tensor;
    diagonal(opts?: { offset?: number; axis1?: number; axis2?: number }): Tensor;
    swapAxes(axis1: number, axis2: number): Tensor;
    takeAlongAxis(indices: Tensor, axis: number): Tensor;
    scatterAlongAxis(indices: Tensor, values: Tensor, axis: number, opts?: { reduce?: 'sum' | 'none' }): Tensor;
    matmul(b: Tensor): Tensor;
    dot(b: Tensor): Tensor;
    softmax(axis?: number): Tensor;
    logSoftmax(axis?: number): Tensor;
  }
}

/** For each method, the free function it calls: one that takes the tensor first, then the method's arguments. */
type FreeFunctions = {
  [K in keyof Tensor]?: Tensor[K] extends (...args: infer P) => infer R ? (x: Tensor, ...args: P) => R : never;
};

/** The free functions of a family that the given names pick out. */
function pick<F, K extends keyof F>(family: F, ...names: K[]): Pick<F, K> {
  return Object.fromEntries(names.map((name) => [name, family[name]])) as Pick<F, K>;
}

const chainable = {
  backward: (x: Tensor, seed?: Tensor | number | null, opts: BackwardOptions = {}) =>
    backward(x, seed ?? undefined, opts),
  ...pick(elementwise, 'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'neg', 'abs', 'sign', 'exp', 'log'),
  ...pick(elementwise, 'log1p', 'expm1', 'sqrt', 'rsqrt', 'square', 'reciprocal', 'sin', 'cos', 'tan', 'tanh'),
  ...pick(elementwise, 'sigmoid', 'relu', 'leakyRelu', 'elu', 'softplus', 'gelu', 'clip', 'atan', 'asin', 'acos'),
  ...pick(elementwise, 'sinh', 'cosh', 'asinh', 'acosh', 'atanh', 'log2', 'log10', 'exp2', 'silu', 'logSigmoid'),
  ...pick(elementwise, 'softsign', 'selu', 'mish', 'hardtanh', 'floor', 'ceil', 'round', 'trunc', 'frac', 'atan2'),
  ...pick(elementwise, 'equal', 'notEqual', 'greater', 'greaterEqual', 'less', 'lessEqual', 'cast', 'clone'),
  ...pick(reduce, 'sum', 'mean', 'prod', 'max', 'min', 'logSumExp', 'variance', 'norm', 'argmax', 'argmin'),
  ...pick(reduce, 'std', 'all', 'any'),
  ...pick(scan, 'cumsum', 'cumprod', 'logCumSumExp'),
  ...pick(sorting, 'median', 'sort', 'topk'),
  ...pick(shape, 'reshape', 'transpose', 'expandDims', 'squeeze', 'slice', 'gather', 'pad', 'broadcastTo', 'tile'),
  ...pick(shape, 'split', 'chunk', 'unbind'),
  ...pick(indexing, 'flip', 'roll', 'tril', 'triu', 'diag', 'diagonal', 'swapAxes', 'takeAlongAxis'),
  ...pick(indexing, 'scatterAlongAxis'),
  ...pick(matrix, 'matmul', 'dot'),
  ...pick(nn, 'softmax', 'logSoftmax'),
} satisfies FreeFunctions;

// x.T and x.mT are properties, as PyTorch's
const properties = { T: (x: Tensor) => shape.transpose(x), mT: matrix.matrixTranspose };
for (const [name, get] of Object.entries(properties)) {
  Object.defineProperty(Tensor.prototype, name, {
    get(this: Tensor) {
      return get(this);
    },
    configurable: true,
  });
}

for (const [name, fn] of Object.entries(chainable) as [string, (x: Tensor, ...args: unknown[]) => unknown][]) {
  Object.defineProperty(Tensor.prototype, name, {
    value: function (this: Tensor, ...args: unknown[]) {
      return fn(this, ...args);
    },
    writable: true,
    configurable: true,
  });
}
