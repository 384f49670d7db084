# Fits the float32 SIMD gelu's approximations (kernels/gelu.ts), minimising the largest relative error by
# linearised least squares, reweighted, on [0, A_MAX]:
#   C(a) = ½ erfcx(a/√2) = ½ e^(a²/2) erfc(a/√2) ≈ P(a)/Q(a), P of degree 4, Q of degree 5, Q(0) = 1;
#   V(a) = (C(a) − a/√(2π))/(a₀ − a) ≈ S(a)/Q(a), the same Q, S of degree 5 (a₀ the root of C(a) = a/√(2π));
#   e^r ≈ 1 + Σ cⱼ rʲ, j = 1 … 6, for |r| ≤ ½ ln 2 + 0.005.
# Needs numpy and mpmath: /usr/bin/python3 scripts/fit-gelu-float32.py prints the coefficients, a₀, each
# fit's relative error and the error of its float32 evaluation (Horner's scheme), in units of 2⁻²⁴.
import numpy as np
import mpmath as mp

mp.mp.dps = 40
A_MAX = 15.0
U = 2.0**-24


def c_exact(a):
    a = mp.mpf(a)
    return mp.erfc(a / mp.sqrt(2)) * mp.exp(a * a / 2) / 2


a0 = mp.findroot(lambda a: c_exact(a) - a / mp.sqrt(2 * mp.pi), 0.75)


def v_exact(a):
    return (c_exact(a) - mp.mpf(a) / mp.sqrt(2 * mp.pi)) / (a0 - mp.mpf(a))


def reweighted(design, y, iters=80):
    """Coefficients minimising the largest relative error of design @ c against y."""
    w = 1 / np.abs(y)
    for it in range(iters):
        c, *_ = np.linalg.lstsq(design * w[:, None], y * w, rcond=None)
        r = np.abs(design @ c - y) / np.abs(y)
        if it >= 10:
            w = w * (r / r.max() + 1e-3) ** 0.5
    return c, r.max()


def fit_rational(x, y, m, n, iters=80):
    q_prev = np.ones_like(x)
    for it in range(iters):
        d = np.hstack([np.vander(x, m + 1, increasing=True), -(y[:, None] * np.vander(x, n + 1, increasing=True)[:, 1:])])
        w = 1 / (y * q_prev)
        if it > 10:
            w = w * (np.abs(p / q - y) / y / (np.abs(p / q - y) / y).max() + 1e-3) ** 0.5
        sol, *_ = np.linalg.lstsq(d * w[:, None], y * w, rcond=None)
        pc, qc = sol[: m + 1], np.concatenate([[1], sol[m + 1 :]])
        p, q = np.polyval(pc[::-1], x), np.polyval(qc[::-1], x)
        q_prev = q
    return pc, qc, (np.abs(p / q - y) / y).max()


def horner32(c, x):
    acc = np.full_like(x, np.float32(c[-1]))
    for k in c[-2::-1]:
        acc = (acc * x + np.float32(k)).astype(np.float32)
    return acc


x = np.linspace(0, A_MAX, 6000)
pc, qc, err_c = fit_rational(x, np.array([float(c_exact(v)) for v in x]), 4, 5)
xv = x[np.abs(x - float(a0)) > 1e-6]
yv = np.array([float(v_exact(v)) for v in xv])
sc, err_v = reweighted(np.vander(xv, 6, increasing=True) / np.polyval(qc[::-1], xv)[:, None], yv)
r = np.cos(np.linspace(0, np.pi, 4000)) * (0.5 * np.log(2) + 0.005)
ec, err_e = reweighted(np.vander(r, 6, increasing=True) * r[:, None], np.exp(r) - 1)
ec = np.concatenate([[1], ec])
print("a0", float(a0))
print("P", [float(c) for c in pc])
print("Q", [float(c) for c in qc])
print("S", [float(c) for c in sc])
print("EXP", [float(c) for c in ec])
print("relative error: P/Q", err_c, "S/Q", err_v, "e^r (of e^r − 1)", err_e)

a32 = np.linspace(0, A_MAX, 20001).astype(np.float32)
q32 = horner32(qc, a32)
want_c = np.array([float(c_exact(float(v))) for v in a32])
want_v = np.array([float(v_exact(float(v))) if abs(float(v) - float(a0)) > 1e-6 else np.nan for v in a32])
print("float32 evaluation, units of 2^-24: P/Q", np.nanmax(np.abs(horner32(pc, a32) / q32 - want_c) / want_c) / U,
      "S/Q", np.nanmax(np.abs(horner32(sc, a32) / q32 - want_v) / want_v) / U)
r32 = r.astype(np.float32)
print("e^r", (np.abs(horner32(ec, r32) - np.exp(r32.astype(np.float64))) / np.exp(r32.astype(np.float64))).max() / U)
