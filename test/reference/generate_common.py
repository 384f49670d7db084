"""What the generators beside this file share: inputs that float32 holds exactly, computed on in
float64; the encodings the suites read (compare.ts); the change between PyTorch's channels-first
layout and tapegrad's channels-last; a layer's case (output and gradients of sum(output · R)); and
writing the JSON beside this file.

Imported by the generate_*.py scripts, which run with Debian's python3-torch (/usr/bin/python3).
"""
import json
import math
import os

import torch

DT = torch.float64


def f32(x):
    """x rounded to float32 and back: inputs that tapegrad holds exactly."""
    return x.to(torch.float32).to(DT)


def randn(*shape, scale=1.0):
    """Normal entries of `shape`, float32-representable, in float64."""
    return f32(torch.randn(list(shape), dtype=DT) * scale)


def number(v):
    """v as JSON holds it: NaN and ±∞ as the strings "NaN", "Infinity", "-Infinity" (JSON has no
    literal for them), booleans as 0 and 1, None as null, lists entry by entry."""
    if isinstance(v, list):
        return [number(u) for u in v]
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float) and not math.isfinite(v):
        return 'NaN' if math.isnan(v) else ('Infinity' if v > 0 else '-Infinity')
    return v


def enc(t):
    """A tensor as its shape and its entries in row-major order (compare.ts's Encoded)."""
    return {'shape': list(t.shape), 'data': number(t.detach().reshape(-1).tolist())}


def lists(t, digits=None):
    """A tensor as nested lists (compare.ts's Nested); with digits, each float to that many
    significant digits (9 is float32's)."""
    def short(v):
        if isinstance(v, list):
            return [short(u) for u in v]
        return float('%.*g' % (digits, v)) if isinstance(v, float) else v
    values = t.detach().tolist()
    return values if digits is None else short(values)


def to_last(t):
    """NC... → N...C"""
    return t.permute(0, *range(2, t.dim()), 1)


def to_first(t):
    """N...C → NC..."""
    return t.permute(0, t.dim() - 1, *range(1, t.dim() - 1))


def ident(t):
    return t


def layer_case(inputs, forward, params, extra=None, digits=None):
    """inputs: {name: tensor in tapegrad's layout}; forward(inputs) → output in tapegrad's layout;
    params: {tapegrad name: (torch parameter, to tapegrad layout)}. The case holds the inputs (with
    their dtypes), the parameters, the output, a random R and the gradients of sum(output · R) with
    respect to the float inputs ('input.' + name) and every parameter."""
    def lst(t):
        return lists(t, digits)

    def dtype(v):
        return 'float32' if v.is_floating_point() else ('bool' if v.dtype == torch.bool else 'int32')

    leaves = {k: v.clone().requires_grad_(v.is_floating_point()) for k, v in inputs.items()}
    out = forward(leaves)
    R = torch.randn(out.shape)
    (out * R).sum().backward()
    result = {
        'inputs': {k: {'values': lst(v), 'dtype': dtype(v)} for k, v in inputs.items()},
        'params': {k: lst(f(p)) for k, (p, f) in params.items()},
        'output': lst(out),
        'R': lst(R),
        'grads': {**{'input.' + k: lst(v.grad) for k, v in leaves.items() if v.grad is not None},
                  **{k: lst(f(p.grad)) for k, (p, f) in params.items()}},
    }
    if extra:
        result.update(extra)
    return result


def weighted_grads(outputs, leaves):
    """Random weights W (float32-representable) for each output, and the gradients of
    L = Σ sum(W * output) with respect to each leaf: {name: W}, {leaf name: ∂L/∂leaf}."""
    w = {k: randn(*v.shape) for k, v in outputs.items()}
    loss = sum((w[k] * v).sum() for k, v in outputs.items())
    grads = torch.autograd.grad(loss, list(leaves.values()))
    return w, dict(zip(leaves, grads))


def compact(value):
    return json.dumps(value, separators=(',', ':'))


def entry_per_line(value, whole=()):
    """value (a dict) as JSON with each entry of its dicts on a line of its own, so that a diff of
    the file shows the cases that changed; the dicts named in `whole` stay on one line."""
    parts = []
    for k, v in value.items():
        if isinstance(v, dict) and k not in whole:
            inner = ',\n'.join('  %s: %s' % (json.dumps(n), compact(c)) for n, c in v.items())
            parts.append(' %s: {\n%s\n }' % (json.dumps(k), inner))
        else:
            parts.append(' %s: %s' % (json.dumps(k), compact(v)))
    return '{\n' + ',\n'.join(parts) + '\n}'


def write_json(name, value, text=None):
    """Writes value as compact JSON, or `text` (the same JSON laid out by the caller), and a newline
    to `name` beside this file; returns its path."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    with open(path, 'w') as f:
        f.write((compact(value) if text is None else text) + '\n')
    return os.path.normpath(path)
