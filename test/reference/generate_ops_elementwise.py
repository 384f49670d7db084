"""Writes ops-elementwise.json: PyTorch's values, gradients and (for some ops) second derivatives
of the elementwise ops atan … frac, atan2 and hardtanh, at ordinary inputs and at edge values
(near 0, large |x|, near the ends of each domain, halves for round, the bounds of hardtanh), for
test/reference/ops-elementwise.test.ts (which needs no torch).

Inputs are float32 numbers; PyTorch computes in float64 from them, so each answer is the exact one
rounded once, and a float32 implementation is judged by its distance from it. Entries: `x` (and
`y` for atan2), `values`, `grad` (d sum f / dx, elementwise; for atan2 `gradY` and `gradX`) and
`grad2` (the derivative of that gradient, where listed; null where it is a convention);
`float32`: the same from PyTorch in float32 (unary ops), whose own error the test allows twice over.
NaN and ±∞ are written as strings.

Run with Debian's python3-torch: /usr/bin/python3 test/reference/generate_ops_elementwise.py
"""
import torch
import torch.nn.functional as F

from generate_common import number as enc, write_json


def f32(values):
    """float32 inputs, held in float64 for the computation."""
    return torch.tensor(values, dtype=torch.float32).double()


def signed(values):
    return sorted({-v for v in values} | set(values))


# op name → (the PyTorch function, inputs, whether to record second derivatives)
UNARY = {
    'atan': (torch.atan, signed([0, 1e-30, 1e-7, 1e-3, 0.5, 1, 10, 1e4, 1e30]), True),
    'asin': (torch.asin, signed([0, 1e-30, 1e-7, 0.3, 0.9, 0.999, 0.99999994, 1]) + [1.5], False),
    'acos': (torch.acos, signed([0, 1e-30, 1e-7, 0.3, 0.9, 0.999, 0.99999994, 1]) + [1.5], False),
    'sinh': (torch.sinh, signed([0, 1e-30, 1e-7, 1e-3, 0.5, 3, 20, 50, 88, 89]), True),
    'cosh': (torch.cosh, signed([0, 1e-7, 1e-3, 0.5, 3, 20, 50, 88, 89]), True),
    'asinh': (torch.asinh, signed([0, 1e-30, 1e-7, 1e-3, 0.5, 3, 100, 1e4, 1e20, 1e38]), True),
    'acosh': (torch.acosh, [0.5, 1, 1.0000001, 1.000001, 1.001, 1.5, 10, 1e4, 1e20, 1e38], False),
    'atanh': (torch.atanh, signed([0, 1e-30, 1e-7, 1e-3, 0.5, 0.9, 0.999999, 1]) + [1.5], True),
    'log2': (torch.log2, [0, 1e-30, 1e-3, 0.5, 1, 2, 8, 10, 1000, 1e30, -1], False),
    'log10': (torch.log10, [0, 1e-30, 1e-3, 0.5, 1, 2, 10, 1000, 1e30, -1], False),
    'exp2': (torch.exp2, signed([0, 1e-7, 0.5, 1, 3, 10, 100, 126]) + [127.5, 128], False),
    'silu': (F.silu, signed([0, 1e-7, 1e-3, 0.5, 2, 10, 20, 80]), True),
    'logSigmoid': (F.logsigmoid, signed([0, 1e-7, 0.5, 2, 10, 20, 50, 80, 1e4]), True),
    'softsign': (F.softsign, signed([1e-7, 0.5, 1, 10, 1e6, 1e30]) + [0], True),
    'selu': (F.selu, signed([1e-7, 1e-3, 0.5, 2, 20, 100]) + [0], True),
    'mish': (F.mish, signed([0, 1e-7, 1e-3, 0.5, 2, 10, 20, 30, 80]), True),
    'floor': (torch.floor, signed([0.3, 0.5, 1, 1.5, 2.5, 2.7, 8388607.5, 1e10]) + [0, 0.49999997], False),
    'ceil': (torch.ceil, signed([0.3, 0.5, 1, 1.5, 2.5, 2.7, 8388607.5, 1e10]) + [0, 0.49999997], False),
    'round': (torch.round, signed([0.3, 0.5, 1, 1.5, 2.5, 3.5, 2.7, 8388607.5, 1e10]) + [0, 0.49999997], False),
    'trunc': (torch.trunc, signed([0.3, 0.5, 1, 1.5, 2.5, 2.7, 8388607.5, 1e10]) + [0], False),
    'frac': (torch.frac, signed([0.3, 0.5, 1, 1.5, 2.5, 2.7, 8388607.5, 1e10]) + [0], False),
}


def unary_answers(f, x, second):
    x = x.clone().requires_grad_()
    y = f(x)
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=second)
    out = {'values': y.tolist(), 'grad': g.tolist()}
    if second:
        (g2,) = torch.autograd.grad(g.sum(), x)
        out['grad2'] = g2.tolist()
    return out


def unary_case(f, values, second):
    """The exact answers (float64), and PyTorch's own in float32 (`float32`) for comparison."""
    x = f32(values)
    return {'x': x.tolist(), **unary_answers(f, x, second), 'float32': unary_answers(f, x.float(), second)}


def hardtanh_case(values, lo, hi):
    x = f32(values).requires_grad_()
    y = F.hardtanh(x, lo, hi)
    (g,) = torch.autograd.grad(y.sum(), x)
    return {'x': x.tolist(), 'values': y.tolist(), 'grad': g.tolist(), 'options': {'min': lo, 'max': hi}}


def atan2_case(ys, xs, second):
    y = f32(ys).requires_grad_()
    x = f32(xs).requires_grad_()
    out = torch.atan2(y, x)
    gy, gx = torch.autograd.grad(out.sum(), (y, x), create_graph=second)
    case = {'y': y.tolist(), 'x': x.tolist(), 'values': out.tolist(), 'gradY': gy.tolist(), 'gradX': gx.tolist()}
    if second:
        # d/dy of sum(d/dy) and d/dx of sum(d/dx)
        case['grad2Y'] = torch.autograd.grad(gy.sum(), y, retain_graph=True)[0].tolist()
        case['grad2X'] = torch.autograd.grad(gx.sum(), x)[0].tolist()
    return case


def main():
    cases = {name: unary_case(f, v, s) for name, (f, v, s) in UNARY.items()}
    # PyTorch's float64 double backward of logsigmoid rounds 1 − σ(x) to 0 beyond x ≈ 37: the closed
    # form −σ(x)σ(−x) is written instead
    x = f32(UNARY['logSigmoid'][1])
    cases['logSigmoid']['grad2'] = (-torch.sigmoid(x) * torch.sigmoid(-x)).tolist()
    # so do silu's and mish's, through σ'(x) = σ(x)(1 − σ(x)) and 1 − tanh²: their closed forms with
    # p = σ(x), q = σ(−x): silu″ = pq(2 − x tanh(x/2)); mish″ = pS(2 + xq − 2xtp), t = tanh(softplus x)
    # = p(1 + q)/(1 + q²), S = 1 − t² = 4q²/(1 + q²)²
    x = f32(UNARY['silu'][1])
    p, q = torch.sigmoid(x), torch.sigmoid(-x)
    cases['silu']['grad2'] = (p * q * (2 - x * torch.tanh(x / 2))).tolist()
    x = f32(UNARY['mish'][1])
    p, q = torch.sigmoid(x), torch.sigmoid(-x)
    t, s = p * (1 + q) / (1 + q * q), 4 * q * q / (1 + q * q) ** 2
    cases['mish']['grad2'] = (p * s * (2 + x * q - 2 * x * t * p)).tolist()
    # selu's second derivative at its kink is a convention (PyTorch: 0 there, though its first
    # derivative at 0 is the left one): null, not compared
    cases['selu']['grad2'] = [None if v == 0 else d for v, d in zip(cases['selu']['x'], cases['selu']['grad2'])]
    cases['hardtanh'] = hardtanh_case([-3, -1, -0.999, -0.5, 0, 0.5, 0.999, 1, 3], -1.0, 1.0)
    cases['hardtanh min −0.5, max 2'] = hardtanh_case([-1, -0.5, -0.49, 0, 1.99, 2, 3], -0.5, 2.0)
    # the signs of zero pick the side of the cut along x < 0; (0, 0) is 0
    cases['atan2'] = atan2_case(
        [0.0, -0.0, 0.0, -0.0, 1, -1, 1e-30, -1e-30, 3, -3, 3, 1e30, 1e-7],
        [1.0, 1.0, -1.0, -1.0, 0, 0, -1, -1, 4, -4, -4, 1, 1e30],
        False,
    )
    cases['atan2 second order'] = atan2_case([0.5, -1.5, 2, -0.3], [1, 0.7, -1.2, -2], True)
    # y [2, 3] against x [3]: one row of y per broadcast copy of x
    y = f32([[0.5, -1, 2], [-0.25, 3, -2]]).requires_grad_()
    x = f32([1.5, -0.5, 0.75]).requires_grad_()
    out = torch.atan2(y, x)
    gy, gx = torch.autograd.grad(out.sum(), (y, x))
    cases['atan2 broadcasting'] = {
        'y': y.tolist(), 'x': x.tolist(), 'values': out.tolist(), 'gradY': gy.tolist(), 'gradX': gx.tolist(),
    }
    def encode(c):
        return {k: (encode(v) if k == 'float32' else v if k == 'options' else enc(v)) for k, v in c.items()}

    out = {'torch': torch.__version__, 'cases': {k: encode(c) for k, c in cases.items()}}
    print(f'wrote {write_json("ops-elementwise.json", out)}: {len(cases)} cases')


if __name__ == '__main__':
    main()
