# Fits the float32 SIMD gelu's approximations (kernels/gelu.ts) on [0, A_MAX], with a₀ the root of
# Φ(−a) = a φ(a) and K = 1/√(2π):
#   W(a) = K/C(a), C(a) = ½ erfcx(a/√2) = e^(a²/2) Φ(−a), so that Φ(−a) = K e^(−a²/2)/W(a); W(a) ≈ a + H(a)/Q(a);
#   V(a) = (Φ(−a) − a φ(a)) e^(a²/2)/(a₀ − a) ≈ S(a)/D(a), D the denominator of a fit C(a) ≈ P(a)/D(a);
#   e^r ≈ 1 + Σ cⱼ rʲ, j = 1 … 6, for |r| ≤ ½ ln 2 + 0.005.
# H of degree 4 and Q of degree 5 (Q(0) = 1) minimising the largest error relative to W (an error in H/Q
# reaches Φ scaled by (H/Q)/W ≤ 1, and by about 1/a² for large a); S of degree 5 minimising V's relative
# error. Linearised least squares, reweighted. Needs numpy and mpmath: /usr/bin/python3 scripts/fit-gelu-float32.py prints the coefficients and each fit's error.
import numpy as np
import mpmath as mp

mp.mp.dps = 40
A_MAX = 15.0
K = 1 / mp.sqrt(2 * mp.pi)


def c_exact(a):
    a = mp.mpf(a)
    return mp.erfc(a / mp.sqrt(2)) * mp.exp(a * a / 2) / 2


a0 = mp.findroot(lambda a: c_exact(a) - a * K, 0.75)


def w_exact(a):
    return K / c_exact(a)


def fit_rational(x, y, scale, m, n, iters=100):
    """P/Q, P of degree m, Q of degree n with Q(0) = 1, minimising max |P/Q − y|/scale."""
    q_prev = np.ones_like(x)
    for it in range(iters):
        d = np.hstack([np.vander(x, m + 1, increasing=True), -(y[:, None] * np.vander(x, n + 1, increasing=True)[:, 1:])])
        w = 1 / (scale * q_prev)
        if it > 10:
            r = np.abs(p / q - y) / scale
            w = w * (r / r.max() + 1e-3) ** 0.5
        sol, *_ = np.linalg.lstsq(d * w[:, None], y * w, rcond=None)
        pc, qc = sol[: m + 1], np.concatenate([[1], sol[m + 1 :]])
        p, q = np.polyval(pc[::-1], x), np.polyval(qc[::-1], x)
        q_prev = q
    return pc, qc, (np.abs(p / q - y) / scale).max()


def fit_linear(design, y, scale, iters=60):
    """Coefficients c minimising max |design @ c − y|/scale."""
    w = 1 / scale
    for _ in range(iters):
        c, *_ = np.linalg.lstsq(design * w[:, None], y * w, rcond=None)
        r = np.abs(design @ c - y) / scale
        w = w * (r / r.max() + 1e-3) ** 0.5
    return c, r.max()


x = np.linspace(0, A_MAX, 4000)
h = np.array([float(w_exact(v)) for v in x]) - x
hc, qc, err_h = fit_rational(x, h, x + h, 4, 5)
xj = x[np.abs(x - float(a0)) > 1e-5]
r = np.cos(np.linspace(0, np.pi, 4000)) * (0.5 * np.log(2) + 0.005)
ec, err_e = fit_linear(np.vander(r, 6, increasing=True) * r[:, None], np.exp(r) - 1, np.exp(r))
def v_exact(a):
    a = mp.mpf(a)
    return (c_exact(a) - a * K) / (a0 - a)


# the derivative's own denominator: that of C(a) ≈ P(a)/D(a) (P of degree 4, D of degree 5), then
# V(a) = (C(a) − K a)/(a₀ − a) = (Φ(−a) − a φ(a)) e^(a²/2)/(a₀ − a) ≈ S(a)/D(a), S of degree 5
c = np.array([float(c_exact(t)) for t in x])
_, dc, _ = fit_rational(x, c, c, 4, 5)
v = np.array([float(v_exact(t)) for t in xj])
sc, err_s = fit_linear(np.vander(xj, 6, increasing=True) / np.polyval(dc[::-1], xj)[:, None], v, v)
print("D", [float(t) for t in dc])
print("S", [float(t) for t in sc], "relative error", err_s, "positive", bool((sc > 0).all()))
print("a0", float(a0))
print("H", [float(c) for c in hc])
print("Q", [float(c) for c in qc])
print("EXP", [1.0] + [float(c) for c in ec])
print("errors: H/Q relative to W", err_h, "e^r relative", err_e)
print("all positive:", bool((hc > 0).all() and (qc > 0).all()))
