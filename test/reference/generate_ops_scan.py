"""Writes ops-scan.json (beside this file): PyTorch's values, indices, gradients and a few Hessians
of std, cumsum, cumprod, logcumsumexp, all, any, median, sort and topk, in float64.

Run with Debian's python3-torch: /usr/bin/python3 test/reference/generate_ops_scan.py
npm test does not need torch: ops-scan.test.ts beside it reads the committed JSON.

Each case holds its input x (float32-representable), the options in tapegrad's spelling, the
outputs, and the gradient of L = sum(W * values) for weights W also in the case (and, for some,
the Hessian of L). Non-finite numbers are written as the strings "NaN", "Infinity", "-Infinity"
(JSON has no literal for them). Forms PyTorch spells differently: cumsum's exclusive is
cumsum(x) - x, reverse is flip(cumsum(flip(x))).
"""
import math

import torch

from generate_common import DT, enc, randn, write_json

torch.manual_seed(0)


def cumsum(x, axis, exclusive=False, reverse=False):
    if reverse:
        return torch.flip(cumsum(torch.flip(x, [axis]), axis, exclusive), [axis])
    y = torch.cumsum(x, axis)
    return y - x if exclusive else y


def std(x, axis=None, keepDims=False, correction=1):
    if axis is None:
        return torch.std(x, unbiased=bool(correction)) if not keepDims else torch.std(x, unbiased=bool(correction)).reshape([1] * x.dim())
    return torch.std(x, dim=axis, unbiased=bool(correction), keepdim=keepDims)


def median(x, axis=None, keepDims=False):
    """PyTorch's median(dim) (the lower middle, the index it picks); without a dim, over the
    flattened x through median(dim=0), whose gradient goes to one entry as tapegrad's does
    (PyTorch's median() shares it among ties)."""
    if axis is None:
        v, i = torch.median(x.reshape(-1), dim=0)
        return (v.reshape([1] * x.dim()) if keepDims else v), i
    return torch.median(x, dim=axis, keepdim=keepDims)


# each op: (x, options) -> dict of outputs; 'values' is the differentiable one
OPS = {
    'std': lambda x, o: {'values': std(x, **o)},
    'cumsum': lambda x, o: {'values': cumsum(x, **o)},
    'cumprod': lambda x, o: {'values': torch.cumprod(x, o['axis'])},
    'logCumSumExp': lambda x, o: {'values': torch.logcumsumexp(x, o['axis'])},
    'all': lambda x, o: {'bools': torch.all(x, dim=o['axis'], keepdim=o.get('keepDims', False)) if 'axis' in o else torch.all(x)},
    'any': lambda x, o: {'bools': torch.any(x, dim=o['axis'], keepdim=o.get('keepDims', False)) if 'axis' in o else torch.any(x)},
    'median': lambda x, o: {'values': median(x, **o)[0]},
    'sort': lambda x, o: dict(
        zip(['values', 'indices'], torch.sort(x, dim=o.get('axis', -1), descending=o.get('descending', False), stable=True))
    ),
    'topk': lambda x, o: dict(
        zip(['values', 'indices'], torch.topk(x, o['k'], dim=o.get('axis', -1), largest=o.get('largest', True)))
    ),
}

cases = []


def case(op, label, x, opts=None, hessian=False, indices=True):
    """indices: whether tapegrad must pick PyTorch's entries (not where PyTorch's order among ties is
    unspecified: then only the values are compared, as the gradient goes to the entries picked)."""
    opts = opts or {}
    x = x.clone().requires_grad_(True)
    out = OPS[op](x, opts)
    c = {'op': op, 'label': label, 'options': opts, 'x': enc(x), 'outputs': {k: enc(v) for k, v in out.items()}}
    if not indices:
        c['outputs'].pop('indices', None)
    if 'values' in out and indices:
        w = randn(*out['values'].shape)
        (out['values'] * w).sum().backward()
        c['weights'] = enc(w)
        c['grad'] = enc(x.grad)
        if hessian:
            h = torch.autograd.functional.hessian(lambda u: (OPS[op](u, opts)['values'] * w).sum(), x.detach())
            c['hessian'] = enc(h.reshape(x.numel(), x.numel()))
    cases.append(c)


# std: PyTorch's default correction (1), the population's (0); at a constant row the gradient is 0
case('std', 'all entries, correction 1', randn(3, 4), hessian=True)
case('std', 'axis 1, keepDims', randn(3, 4), {'axis': 1, 'keepDims': True})
case('std', 'axis 0, correction 0', randn(3, 4), {'axis': 0, 'correction': 0}, hessian=True)
case('std', 'a constant row', torch.tensor([[2.0, 2, 2, 2], [1, -1, 0.5, 3]], dtype=DT), {'axis': 1})

# cumsum, each form
case('cumsum', 'axis 1', randn(3, 4), {'axis': 1})
case('cumsum', 'axis 0, exclusive', randn(3, 4), {'axis': 0, 'exclusive': True})
case('cumsum', 'axis 1, reverse', randn(3, 4), {'axis': 1, 'reverse': True})
case('cumsum', 'axis -1, exclusive and reverse', randn(2, 5), {'axis': -1, 'exclusive': True, 'reverse': True})

# cumprod: no zeros, and one, two, three zeros in a row (PyTorch's cumprod_backward handles them)
case('cumprod', 'axis 1', randn(3, 4), {'axis': 1}, hessian=True)
zeros = torch.tensor(
    [[2.0, 0, 1.5, -1, 0.5], [0.5, 0, -2, 0, 3], [0, 1.5, 0, 0, 2], [0, -0.5, 1.25, 2, 1.5], [1.5, -2, 0.5, 1, 0]], dtype=DT
)
case('cumprod', 'zeros: one, two, three, leading, last', zeros, {'axis': 1})
case('cumprod', 'zeros along axis 0', zeros.t().contiguous(), {'axis': 0})
case('cumprod', 'two zeros, Hessian', torch.tensor([[2.0, 0, 3, 0, 0.5]], dtype=DT), {'axis': 1}, hessian=True)
case('cumprod', 'one zero, Hessian', torch.tensor([[1.5, -2, 0, 0.5]], dtype=DT), {'axis': 1}, hessian=True)

# logcumsumexp: moderate, far apart (a shift by the maximum would underflow), large
case('logCumSumExp', 'axis 1', randn(3, 4), {'axis': 1}, hessian=True)
case('logCumSumExp', 'axis 0, far apart', randn(4, 3, scale=30), {'axis': 0})
case('logCumSumExp', 'large values', torch.tensor([[1000.0, 1001, -1000, 999], [-100, 100, -50, 0]], dtype=DT), {'axis': 1})
case(
    'logCumSumExp',
    '-inf entries after a finite one',
    torch.tensor([[0.0, -math.inf, 1, -math.inf], [2, 1, -math.inf, -math.inf]], dtype=DT),
    {'axis': 1},
)

# all, any
bits = torch.tensor([[1.0, 0, 2], [3, math.nan, -1], [0, 0, 0]], dtype=DT)
for op in ('all', 'any'):
    case(op, 'every entry', bits)
    case(op, 'axis 1', bits, {'axis': 1})
    case(op, 'axis 0, keepDims', bits, {'axis': 0, 'keepDims': True})

# median: even and odd counts, no axis, ties (PyTorch's index among ties)
case('median', 'axis 1, even count (lower middle)', randn(3, 4), {'axis': 1})
case('median', 'axis 0, odd count, keepDims', randn(5, 2), {'axis': 0, 'keepDims': True})
case('median', 'every entry', randn(3, 4))
case(
    'median',
    'ties along axis 1',
    torch.tensor([[1.0, 1, 1, 1], [2, 2, 5, 5], [5, 5, 2, 2], [4, 1, 4, 1], [3, 1, 3, 2]], dtype=DT),
    {'axis': 1},
)

# sort (stable=True: tapegrad's sort is stable), topk
case('sort', 'ascending', randn(3, 5))
case('sort', 'descending along axis 0', randn(4, 3), {'axis': 0, 'descending': True})
ties = torch.tensor([[3.0, 1, 3, 2, 1, 3], [0, 0, -1, 0, 2, -1]], dtype=DT)
case('sort', 'ties, ascending', ties)
case('sort', 'ties, descending', ties, {'descending': True})
case('topk', 'k 3 largest', randn(3, 6), {'k': 3})
case('topk', 'k 2 smallest along axis 0', randn(5, 3), {'k': 2, 'axis': 0, 'largest': False})
case('topk', 'ties (values only: PyTorch orders ties unspecified)', ties, {'k': 4}, indices=False)

print(f'wrote {len(cases)} cases to {write_json("ops-scan.json", {"torch": torch.__version__, "cases": cases})}')
