"""Writes linalg.json (beside this file): reference values and gradients for tg.linalg's
decompositions and the functions built on them, computed by PyTorch in float64.

Run with Debian's python3-torch: /usr/bin/python3 test/reference/generate_linalg.py
npm test does not need torch: linalg.test.ts beside it reads the committed JSON.

Each case holds its inputs (float32-representable), the op's outputs and the gradients of a loss
L = sum(W * output) over outputs that do not depend on the sign choices of eigenvectors and
singular vectors (values, U·diag(c)·Vh, V·diag(c)·Vᵀ, Q and R with R's diagonal made nonnegative,
which is tapegrad's QR convention). The weights W are in the case too; the test computes the same
loss with tapegrad.
"""
import torch

from generate_common import DT, enc, f32, randn, weighted_grads, write_json

torch.manual_seed(0)
EPS32 = 2.0 ** -23


def graded(*shape):
    """Columns scaled from 1 down to 1e-4: condition number about 10^4."""
    n = shape[-1]
    return f32(torch.randn(*shape, dtype=DT) * torch.logspace(0, -4, n, dtype=DT))


def rank2(*shape):
    *batch, m, n = shape
    return f32(torch.randn(*batch, m, 2, dtype=DT) @ torch.randn(*batch, 2, n, dtype=DT))


def symmetric(*shape):
    a = randn(*shape)
    return f32((a + a.transpose(-2, -1)) / 2)


# the inputs of the cases with chosen spectra draw from a generator of their own, so that the
# weights of the cases before them stay as they were
OWN = torch.Generator().manual_seed(1)


def spectrum(m, n, values, symmetric=False):
    """U·diag(values)·Vᵀ with random orthonormal U [m, k], V [n, k] (V = U when symmetric)."""
    k = len(values)
    u = torch.linalg.qr(torch.randn(m, k, dtype=DT, generator=OWN))[0]
    v = u if symmetric else torch.linalg.qr(torch.randn(n, k, dtype=DT, generator=OWN))[0]
    return f32(u @ torch.diag(torch.tensor(values, dtype=DT)) @ v.T)


def junk_upper(a):
    """a's lower triangle and diagonal, with other values above: what reads only the lower triangle gives the same."""
    n = a.shape[-1]
    above = torch.triu(torch.randn(*a.shape, dtype=DT, generator=OWN), 1) * (1 - torch.eye(n, dtype=DT))
    return f32(torch.tril(a) + above)


def qr_outputs(a):
    q, r = torch.linalg.qr(a)
    s = torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))
    s = torch.where(s == 0, torch.ones_like(s), s)
    return {'Q': q * s.unsqueeze(-2), 'R': r * s.unsqueeze(-1)}


def weighted(x, yt):
    """X·diag(1, 2, …)·Yᵀ, as the test computes it."""
    k = x.shape[-1]
    return (x * torch.arange(1, k + 1, dtype=DT)) @ yt


def eigh_outputs(a):
    values, vectors = torch.linalg.eigh(a)
    return {'values': values, 'projection': weighted(vectors, vectors.transpose(-2, -1))}


def svd_outputs(a):
    u, s, vh = torch.linalg.svd(a, full_matrices=False)
    return {'S': s, 'product': weighted(u, vh)}


OPS = {
    'qr': lambda x: qr_outputs(x['A']),
    'eigh': lambda x: eigh_outputs(x['A']),
    'svd': lambda x: svd_outputs(x['A']),
    'svdvals': lambda x: {'S': torch.linalg.svdvals(x['A'])},
    'pinv': lambda x: {'P': torch.linalg.pinv(x['A'], rtol=max(x['A'].shape[-2:]) * EPS32)},
    'pinv.rtol=0.01': lambda x: {'P': torch.linalg.pinv(x['A'], rtol=0.01)},
    'pinv.atol=0.5': lambda x: {'P': torch.linalg.pinv(x['A'], atol=0.5)},
    'pinv.hermitian': lambda x: {'P': torch.linalg.pinv(x['A'], hermitian=True, rtol=max(x['A'].shape[-2:]) * EPS32)},
    'pinv.hermitian,rtol=0.1': lambda x: {'P': torch.linalg.pinv(x['A'], hermitian=True, rtol=0.1)},
    # tolerances as tensors, one per matrix, broadcasting against the batch (the result's batch is
    # their broadcast), and negative ones, which act as 0
    'pinv.atol=[2.5,0.5]': lambda x: {'P': torch.linalg.pinv(x['A'], atol=torch.tensor([2.5, 0.5], dtype=DT))},
    'pinv.atol=-1,rtol=[0.01,0.3]': lambda x: {
        'P': torch.linalg.pinv(x['A'], atol=torch.tensor(-1.0, dtype=DT), rtol=torch.tensor([0.01, 0.3], dtype=DT))},
    'pinv.hermitian,rtol=[[0.1],[0.5]]': lambda x: {
        'P': torch.linalg.pinv(x['A'], hermitian=True, rtol=torch.tensor([[0.1], [0.5]], dtype=DT))},
    # atol ≤ 0 leaves rtol at its default, float32's max(m, n)·ε for tapegrad's float32 A (passed here,
    # since this reference runs in float64)
    'pinv.atol=-1': lambda x: {'P': torch.linalg.pinv(x['A'], atol=-1.0, rtol=max(x['A'].shape[-2:]) * EPS32)},
    'pinv.rtol=-0.5': lambda x: {'P': torch.linalg.pinv(x['A'], rtol=-0.5)},
    'lstsq': lambda x: {'X': torch.linalg.lstsq(x['A'], x['B']).solution},
    'matrixNorm.fro': lambda x: {'norm': torch.linalg.matrix_norm(x['A'], 'fro')},
    'matrixNorm.nuc': lambda x: {'norm': torch.linalg.matrix_norm(x['A'], 'nuc')},
    'matrixNorm.2': lambda x: {'norm': torch.linalg.matrix_norm(x['A'], 2)},
    'matrixExp': lambda x: {'E': torch.linalg.matrix_exp(x['A'])},
    'matrixPower.3': lambda x: {'P': torch.linalg.matrix_power(x['A'], 3)},
    'matrixPower.-2': lambda x: {'P': torch.linalg.matrix_power(x['A'], -2)},
}

CASES = [
    ('qr', 'random 5×3', {'A': randn(5, 3)}),
    ('qr', 'batch [2] of 4×4', {'A': randn(2, 4, 4)}),
    ('qr', 'ill-conditioned 6×4', {'A': graded(6, 4)}),
    ('eigh', 'random symmetric 4×4', {'A': symmetric(4, 4)}),
    ('eigh', 'batch [3] of symmetric 3×3', {'A': symmetric(3, 3, 3)}),
    ('eigh', 'random symmetric 8×8', {'A': symmetric(8, 8)}),
    ('svd', 'random 5×3', {'A': randn(5, 3)}),
    ('svd', 'random 3×5', {'A': randn(3, 5)}),
    ('svd', 'batch [2] of 4×4', {'A': randn(2, 4, 4)}),
    ('svdvals', 'ill-conditioned 6×4', {'A': graded(6, 4)}),
    ('svdvals', 'rank 2, 5×4', {'A': rank2(5, 4)}),
    ('pinv', 'random 5×3', {'A': randn(5, 3)}),
    ('pinv', 'batch [2] of 3×4', {'A': randn(2, 3, 4)}),
    ('lstsq', 'random 6×3, B 6×2', {'A': randn(6, 3), 'B': randn(6, 2)}),
    ('matrixNorm.fro', 'batch [2] of 3×4', {'A': randn(2, 3, 4)}),
    ('matrixNorm.nuc', 'random 4×3', {'A': randn(4, 3)}),
    ('matrixNorm.2', 'random 3×5', {'A': randn(3, 5)}),
    ('matrixExp', 'random 3×3 / 2', {'A': f32(randn(3, 3) / 2)}),
    ('matrixExp', 'batch [2] of 4×4 × 1.5 (squared back)', {'A': f32(randn(2, 4, 4) * 1.5)}),
    ('matrixPower.3', 'random 3×3', {'A': randn(3, 3)}),
    ('matrixPower.-2', '3×3 + 3I', {'A': f32(randn(3, 3) + 3 * torch.eye(3, dtype=DT))}),
    ('pinv.rtol=0.01', 'σ = 4, 1, 0.02, 0.001 (two cut), 6×4', {'A': spectrum(6, 4, [4, 1, 0.02, 0.001])}),
    ('pinv.atol=0.5', 'σ = 3, 1, 0.2 (one cut), 4×5', {'A': spectrum(4, 5, [3, 1, 0.2])}),
    ('pinv.hermitian', 'symmetric, λ = 3, −2, 1, 0.5', {'A': spectrum(4, 4, [3, -2, 1, 0.5], symmetric=True)}),
    ('pinv.hermitian', 'batch [2] of symmetric 3×3, other values above the diagonal',
     {'A': torch.stack([junk_upper(spectrum(3, 3, [2, -1.5, 0.75], symmetric=True)) for _ in range(2)])}),
    ('pinv.hermitian,rtol=0.1', 'λ = 3, −1.5, 0.1 (cut), 3×3', {'A': spectrum(3, 3, [3, -1.5, 0.1], symmetric=True)}),
    ('pinv.atol=[2.5,0.5]', 'batch [2] of 4×3, σ = 3, 2, 1 (two cut) and 3, 1, 0.2 (one cut)',
     {'A': torch.stack([spectrum(4, 3, [3, 2, 1]), spectrum(4, 3, [3, 1, 0.2])])}),
    ('pinv.atol=-1,rtol=[0.01,0.3]', 'one 5×3, σ = 4, 1, 0.02, broadcast to a batch [2] (one cut, two cut)',
     {'A': spectrum(5, 3, [4, 1, 0.02])}),
    ('pinv.hermitian,rtol=[[0.1],[0.5]]', 'batch [2] of symmetric 3×3, λ = 3, −1.2, 0.2 and 2, −0.5, 1.5; result [2, 2]',
     {'A': torch.stack([spectrum(3, 3, [3, -1.2, 0.2], symmetric=True),
                        spectrum(3, 3, [2, -0.5, 1.5], symmetric=True)])}),
    ('pinv.atol=-1', 'σ = 2, 1, 1e-7 (cut by the default rtol), 3×4', {'A': spectrum(3, 4, [2, 1, 1e-7])}),
    ('pinv.rtol=-0.5', 'σ = 2, 1, 0.1 (kept), 4×3', {'A': spectrum(4, 3, [2, 1, 0.1])}),
]


def main():
    cases = []
    for op, label, inputs in CASES:
        leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
        outputs = OPS[op](leaves)
        w, grads = weighted_grads(outputs, leaves)
        cases.append({
            'op': op,
            'label': label,
            'inputs': {k: enc(v) for k, v in inputs.items()},
            'outputs': {k: enc(v) for k, v in outputs.items()},
            'weights': {k: enc(v) for k, v in w.items()},
            'grads': {k: enc(g) for k, g in grads.items()},
        })
    out = {
        'generator': 'test/reference/generate_linalg.py',
        'torch': torch.__version__,
        'dtype': 'float64',
        'cases': cases,
    }
    print(f'wrote {len(cases)} cases to {write_json("linalg.json", out)}')


if __name__ == '__main__':
    main()
