"""Writes ops-bool.json: what PyTorch does with bool tensors in each elementwise op tapegrad has, and
with operands of mixed dtypes in each op that takes two — the result's dtype and values, or that it
refuses (with its message) — for test/reference/ops-bool.test.ts (which needs no torch).

Each op meets bool operands: a bool tensor alone (unary ops); two bool tensors, a bool tensor and
an integer, a bool tensor and a non-integer number, and the number first (binary ops). In `mixed`,
each op of two operands (binary, comparisons, logic, where's two branches, cat and stack) meets
tensors of two different dtypes among bool, int32 and float32 (each order), and int32 and float32
tensors meeting integer and non-integer numbers (PyTorch's result_type). dtypes are written as
tapegrad's: int64 → int32 (PyTorch's integer default is tapegrad's int32), float32.

Run with Debian's python3-torch: /usr/bin/python3 test/reference/generate_ops_bool.py
"""
import torch
import torch.nn.functional as F

from generate_common import number, write_json

X = [True, False, True]
A = [True, True, False, False]
B = [True, False, True, False]

# tapegrad's name → PyTorch's function of the bool tensor
UNARY = {
    'neg': torch.neg, 'abs': torch.abs, 'sign': torch.sign, 'exp': torch.exp, 'log': torch.log,
    'log1p': torch.log1p, 'expm1': torch.expm1, 'sqrt': torch.sqrt, 'rsqrt': torch.rsqrt,
    'square': torch.square, 'reciprocal': torch.reciprocal, 'sin': torch.sin, 'cos': torch.cos,
    'tan': torch.tan, 'tanh': torch.tanh, 'sigmoid': torch.sigmoid, 'relu': torch.relu, 'elu': F.elu,
    'softplus': F.softplus, 'erf': torch.erf, 'gelu': F.gelu, 'atan': torch.atan, 'asin': torch.asin,
    'acos': torch.acos, 'sinh': torch.sinh, 'cosh': torch.cosh, 'asinh': torch.asinh,
    'acosh': torch.acosh, 'atanh': torch.atanh, 'log2': torch.log2, 'log10': torch.log10,
    'exp2': torch.exp2, 'silu': F.silu, 'logSigmoid': F.logsigmoid, 'softsign': F.softsign,
    'selu': F.selu, 'mish': F.mish, 'floor': torch.floor, 'ceil': torch.ceil, 'round': torch.round,
    'trunc': torch.trunc, 'frac': torch.frac, 'leakyRelu': F.leaky_relu,
    'clip': lambda x: torch.clamp(x, 0, 1), 'hardtanh': F.hardtanh, 'logicalNot': torch.logical_not,
    'isFinite': torch.isfinite, 'clone': torch.clone,
}

BINARY = {
    'add': torch.add, 'sub': torch.sub, 'mul': torch.mul, 'div': torch.div, 'pow': torch.pow,
    'maximum': torch.maximum, 'minimum': torch.minimum, 'atan2': torch.atan2,
    'greater': torch.gt, 'greaterEqual': torch.ge, 'less': torch.lt, 'lessEqual': torch.le,
    'equal': torch.eq, 'notEqual': torch.ne, 'logicalAnd': torch.logical_and,
    'logicalOr': torch.logical_or,
}

# the operand pairs of binary ops: (label, a, b); 'bool' is a bool tensor
PAIRS = [('bool, bool', A, B), ('bool, 2', A, 2), ('bool, 0.5', A, 0.5), ('2, bool', 2, A), ('0.5, bool', 0.5, A)]

DTYPES = {torch.bool: 'bool', torch.int64: 'int32', torch.int32: 'int32', torch.float32: 'float32'}

# the mixed-dtype operands: a tensor of each dtype (4 entries; 0 in each, so that division meets
# 0/0 and x/0), and numbers of each kind
TENSORS = {
    'bool': [True, True, False, False],
    'int32': [2, 1, 0, 3],
    'float32': [0.5, -1.5, 2.0, 0.25],
}
TORCH_DTYPE = {'bool': torch.bool, 'int32': torch.int32, 'float32': torch.float32}
COND = [True, False, True, False]

# the ops of two operands beyond BINARY: where's two branches (cond COND), cat and stack of the two
JOINS = {
    'where': lambda a, b: torch.where(torch.tensor(COND), a, b),
    'concat': lambda a, b: torch.cat([a, b]),
    'stack': lambda a, b: torch.stack([a, b]),
}


def mixed_pairs():
    """(label, a, b): each ordered pair of tensors of two dtypes, then int32 and float32 tensors with
    numbers (bool tensors with numbers are in PAIRS); a tensor operand is {dtype, values}."""
    t = {d: {'dtype': d, 'values': v} for d, v in TENSORS.items()}
    out = [(f'{x}, {y}', t[x], t[y]) for x in TENSORS for y in TENSORS if x != y]
    for d, n in [('int32', 2), ('int32', 2.5), ('int32', -1), ('float32', 2)]:
        out += [(f'{d}, {n}', t[d], n), (f'{n}, {d}', n, t[d])]
    return out


def mixed_operand(v):
    return torch.tensor(v['values'], dtype=TORCH_DTYPE[v['dtype']]) if isinstance(v, dict) else v


def operand(v):
    return torch.tensor(v) if isinstance(v, list) else v


def outcome(f, *args):
    """{dtype, values} (in row-major order) or {error}. A number is a Python number, or a 0-d tensor of it for the functions
    that take only tensors (maximum, atan2, logical_and…), which promotes the same way."""
    try:
        y = f(*args)
    except TypeError:
        return outcome(f, *[a if isinstance(a, torch.Tensor) else torch.tensor(a) for a in args])
    except RuntimeError as e:
        return {'error': str(e).split('\n')[0]}
    return {'dtype': DTYPES[y.dtype], 'values': number(y.flatten().tolist())}


def main():
    unary = {name: {'x': X, **outcome(f, torch.tensor(X))} for name, f in UNARY.items()}
    binary = {
        name: [{'operands': label, 'a': a, 'b': b, **outcome(f, operand(a), operand(b))} for label, a, b in PAIRS]
        for name, f in BINARY.items()
    }
    mixed = {
        name: [
            {'operands': label, 'a': a, 'b': b, **outcome(f, mixed_operand(a), mixed_operand(b))}
            for label, a, b in mixed_pairs()
            if name not in ('concat', 'stack') or (isinstance(a, dict) and isinstance(b, dict))
        ]
        for name, f in {**BINARY, **JOINS}.items()
    }
    out = {'generator': 'test/reference/generate_ops_bool.py', 'torch': torch.__version__, 'unary': unary,
           'binary': binary, 'where': {'cond': COND}, 'mixed': mixed}
    print(f'wrote {len(unary)} unary, {len(binary)} binary ops and {len(mixed)} of mixed dtypes to '
          f'{write_json("ops-bool.json", out)}')


if __name__ == '__main__':
    main()
