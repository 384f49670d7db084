"""Writes ops-index.json (beside this file): reference values and gradients for the indexing ops
(flip, roll, tril, triu, diag, diagonal, swapAxes, takeAlongAxis, scatterAlongAxis, oneHot,
stopGradient) and einsum, computed by PyTorch in float64.

Run with Debian's python3-torch: /usr/bin/python3 test/reference/generate_ops_index.py
npm test does not need torch: ops-index.test.ts beside it reads the committed JSON.

Each case holds its float inputs (float32-representable), its int32 indices, the arguments of the
call (named as tapegrad's), the output and the gradients of L = sum(W * output) for the weights W
in the case; the test computes the same loss with tapegrad.
"""
import torch

from generate_common import enc, randn, weighted_grads, write_json

torch.manual_seed(0)


def ints(values):
    return torch.tensor(values, dtype=torch.int64)


def covered(values, indices):
    """The part of values the indices cover (torch 1.13's scatter backward fails on larger values;
    the forward uses only this part, so the gradient elsewhere is 0 either way)."""
    return values[tuple(slice(0, d) for d in indices.shape)]


# op name → the PyTorch computation from (float inputs, indices, args)
OPS = {
    'flip': lambda x, i, a: torch.flip(x['x'], a['axes']),
    'roll': lambda x, i, a: torch.roll(x['x'], a['shifts'], a.get('axes')),
    'tril': lambda x, i, a: torch.tril(x['x'], a['k']),
    'triu': lambda x, i, a: torch.triu(x['x'], a['k']),
    'diag': lambda x, i, a: torch.diag(x['x'], a['k']),
    'diagonal': lambda x, i, a: torch.diagonal(x['x'], a['offset'], a['axis1'], a['axis2']),
    'swapAxes': lambda x, i, a: torch.swapaxes(x['x'], a['axis1'], a['axis2']),
    'takeAlongAxis': lambda x, i, a: torch.gather(x['x'], a['axis'], i['indices']),
    'scatterAlongAxis': lambda x, i, a: (
        torch.scatter_add(x['x'], a['axis'], i['indices'], covered(x['values'], i['indices']))
        if a['reduce'] == 'sum'
        else torch.scatter(x['x'], a['axis'], i['indices'], covered(x['values'], i['indices']))
    ),
    'oneHot': lambda x, i, a: torch.nn.functional.one_hot(i['indices'], a['depth']),
    'stopGradient': lambda x, i, a: x['x'] * x['x'].detach(),
    'einsum': lambda x, i, a: torch.einsum(a['equation'], *[x[f'x{k}'] for k in range(len(x))]),
}


def einsum_case(equation, *shapes, label=None):
    return ('einsum', label or equation, {f'x{k}': randn(*s) for k, s in enumerate(shapes)}, {},
            {'equation': equation})


CASES = [
    ('flip', '[2,3,4] axes [0,2]', {'x': randn(2, 3, 4)}, {}, {'axes': [0, 2]}),
    ('flip', '[3] axis 0', {'x': randn(3)}, {}, {'axes': [0]}),
    ('roll', '[2,3] shifts [1,-2] axes [0,1]', {'x': randn(2, 3)}, {}, {'shifts': [1, -2], 'axes': [0, 1]}),
    ('roll', '[2,3] by 4, flattened', {'x': randn(2, 3)}, {}, {'shifts': 4}),
    ('roll', '[3,4] by 5 along axis 1', {'x': randn(3, 4)}, {}, {'shifts': 5, 'axes': 1}),
    ('tril', '[3,4]', {'x': randn(3, 4)}, {}, {'k': 0}),
    ('tril', 'batch [2] of 3×3, k = -1', {'x': randn(2, 3, 3)}, {}, {'k': -1}),
    ('tril', '[4,3], k = 2', {'x': randn(4, 3)}, {}, {'k': 2}),
    ('triu', '[3,4]', {'x': randn(3, 4)}, {}, {'k': 0}),
    ('triu', 'batch [2] of 3×3, k = 1', {'x': randn(2, 3, 3)}, {}, {'k': 1}),
    ('triu', '[3,4], k = -1', {'x': randn(3, 4)}, {}, {'k': -1}),
    ('diag', 'vector [3]', {'x': randn(3)}, {}, {'k': 0}),
    ('diag', 'vector [2], k = -2', {'x': randn(2)}, {}, {'k': -2}),
    ('diag', 'vector [3], k = 1', {'x': randn(3)}, {}, {'k': 1}),
    ('diag', 'matrix [3,4], k = 1: its diagonal', {'x': randn(3, 4)}, {}, {'k': 1}),
    ('diagonal', '[3,3]', {'x': randn(3, 3)}, {}, {'offset': 0, 'axis1': -2, 'axis2': -1}),
    ('diagonal', '[2,3,4] offset 1, axes 0 and 2', {'x': randn(2, 3, 4)}, {}, {'offset': 1, 'axis1': 0, 'axis2': 2}),
    ('diagonal', '[4,3] offset -1', {'x': randn(4, 3)}, {}, {'offset': -1, 'axis1': -2, 'axis2': -1}),
    ('diagonal', '[2,3,4] offset -1, axes -1 and 0', {'x': randn(2, 3, 4)}, {},
     {'offset': -1, 'axis1': -1, 'axis2': 0}),
    ('swapAxes', '[2,3,4] axes 0 and 2', {'x': randn(2, 3, 4)}, {}, {'axis1': 0, 'axis2': 2}),
    ('takeAlongAxis', '[3,4] along axis 0, repeated indices', {'x': randn(3, 4)},
     {'indices': ints([[0, 2, 2, 1], [0, 0, 2, 1]])}, {'axis': 0}),
    ('takeAlongAxis', '[3,4] along axis 1, indices [3,2]', {'x': randn(3, 4)},
     {'indices': ints([[3, 0], [1, 1], [2, 3]])}, {'axis': 1}),
    ('takeAlongAxis', '[2,3,2] along axis 1, indices smaller on axis 2', {'x': randn(2, 3, 2)},
     {'indices': ints([[[2], [0], [1], [2]], [[1], [1], [0], [0]]])}, {'axis': 1}),
    ('scatterAlongAxis', "[3,4] axis 1, 'none'", {'x': randn(3, 4), 'values': randn(3, 2)},
     {'indices': ints([[0, 3], [2, 1], [1, 0]])}, {'axis': 1, 'reduce': 'none'}),
    ('scatterAlongAxis', "[3,4] axis 0, 'sum' with repeats", {'x': randn(3, 4), 'values': randn(2, 4)},
     {'indices': ints([[0, 2, 2, 1], [0, 0, 2, 1]])}, {'axis': 0, 'reduce': 'sum'}),
    ('scatterAlongAxis', "[2,3] axis 1, 'none', values larger than the indices",
     {'x': randn(2, 3), 'values': randn(2, 3)}, {'indices': ints([[2], [0]])}, {'axis': 1, 'reduce': 'none'}),
    ('oneHot', '[2,2] indices, depth 3', {}, {'indices': ints([[0, 2], [1, 1]])}, {'depth': 3}),
    ('stopGradient', 'x · stopGradient(x)', {'x': randn(2, 3)}, {}, {}),
    einsum_case('ii', (4, 4), label="trace 'ii'"),
    einsum_case('ii->i', (3, 3), label="diagonal 'ii->i'"),
    einsum_case('bii->bi', (2, 3, 3), label="batched diagonal 'bii->bi'"),
    einsum_case('ij,jk->ik', (3, 4), (4, 2)),
    einsum_case('bij,bjk->bik', (2, 3, 4), (2, 4, 2), label='batched matmul'),
    einsum_case('...ij,...jk->...ik', (2, 1, 3, 4), (3, 4, 2), label="'...' broadcasting [2,1] against [3]"),
    einsum_case('...i,...i->...', (2, 3), (3,), label="'...' dot with a broadcast operand"),
    einsum_case('i,j->ij', (3,), (4,), label='outer product'),
    einsum_case('ij,jk', (2, 3), (3, 4), label="implicit output 'ij,jk'"),
    einsum_case('ba,ab', (2, 3), (3, 2), label="implicit output 'ba,ab' (a scalar: both letters twice)"),
    einsum_case('jb,ja', (3, 2), (3, 4), label="implicit output 'jb,ja' (alphabetical: 'ab')"),
    einsum_case('ij->ji', (2, 3), label='transpose'),
    einsum_case('ij,ij->', (3, 4), (3, 4), label='Frobenius product'),
    einsum_case('ii,ij->j', (3, 3), (3, 2), label='a diagonal times a matrix'),
    einsum_case('iij->j', (3, 3, 2), label="a repeated letter with a kept one 'iij->j'"),
    einsum_case('ij,jk,kl->il', (2, 3), (3, 4), (4, 2), label='three operands'),
    einsum_case('ijk->', (2, 3, 2), label='a sum of everything'),
    einsum_case('ij,jk->ik', (2, 1), (3, 4), label='a letter of length 1 broadcast'),
]


def main():
    cases = []
    for op, label, inputs, indices, args in CASES:
        leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
        out = OPS[op](leaves, indices, args)
        case = {
            'op': op,
            'label': label,
            'args': args,
            'inputs': {k: enc(v) for k, v in inputs.items()},
            'indices': {k: enc(v) for k, v in indices.items()},
            'output': enc(out),
        }
        if out.is_floating_point():
            w, grads = weighted_grads({'output': out}, leaves)
            case['weight'] = enc(w['output'])
            case['grads'] = {k: enc(g) for k, g in grads.items()}
        cases.append(case)
    out = {
        'generator': 'test/reference/generate_ops_index.py',
        'torch': torch.__version__,
        'dtype': 'float64',
        'cases': cases,
    }
    print(f'wrote {len(cases)} cases to {write_json("ops-index.json", out)}')


if __name__ == '__main__':
    main()
