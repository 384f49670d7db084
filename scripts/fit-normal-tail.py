# Fits the rational function of kernels/smooth-unary.ts: erfcx(a/√2) = e^(a²/2)·erfc(a/√2) ≈ P(a)/Q(a)
# for a in [0, 14.2] (beyond, the normal tail underflows float32), P of degree 5 and Q of degree 6
# with Q(0) = 1, minimising the largest relative error (linearised least squares, reweighted).
# Needs numpy only: /usr/bin/python3 scripts/fit-normal-tail.py prints the coefficients, the
# float64 error and the error of the float32 evaluation in ulp.
import math

import numpy as np

M = 5
a = np.linspace(0, 14.2, 8000)
y = np.array([math.erfc(v * math.sqrt(0.5)) * math.exp(v * v / 2) for v in a])
q_prev = np.ones_like(a)
p = q = None
for it in range(60):
    A = np.hstack(
        [np.vander(a, M + 1, increasing=True), -(y[:, None] * np.vander(a, M + 2, increasing=True)[:, 1:])]
    )
    w = 1 / (y * q_prev)
    if it > 10:
        r = np.abs(p / q - y) / y
        w = w * (r / r.max() + 1e-3) ** 0.5
    sol, *_ = np.linalg.lstsq(A * w[:, None], y * w, rcond=None)
    pc, qc = sol[: M + 1], np.concatenate([[1], sol[M + 1 :]])
    p, q = np.polyval(pc[::-1], a), np.polyval(qc[::-1], a)
    q_prev = q


def horner(c, x):
    acc = np.full_like(x, c[-1])
    for k in c[-2::-1]:
        acc = acc * x + k
    return acc


a32 = a.astype(np.float32)
got = (horner(pc.astype(np.float32), a32) / horner(qc.astype(np.float32), a32)).astype(np.float64)
want = np.array([math.erfc(float(v) * math.sqrt(0.5)) * math.exp(float(v) ** 2 / 2) for v in a32])
print("P", [float(c) for c in pc])
print("Q", [float(c) for c in qc])
print("float64 relative error", (np.abs(p / q - y) / y).max())
print("float32 evaluation", (np.abs(got - want) / want).max() / 2**-24, "ulp")
