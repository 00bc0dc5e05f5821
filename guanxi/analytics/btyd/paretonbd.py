"""The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), with a stable likelihood.

While active, a customer buys as a Poisson process with rate ``lambda ~ Gamma(r, alpha)``;
the active lifetime is exponential with rate ``mu ~ Gamma(s, beta)``.

The likelihood (Fader & Hardie 2005, "A Note on Deriving the Pareto/NBD Model", eq. 22) is

``L = G(r+x) alpha**r beta**s / G(r) * [P(T) + s * I]``, with
``P(y) = (alpha+y)**-(r+x) (beta+y)**-s`` and
``I = integral_{t_x}^{T} (alpha+tau)**-(r+x) (beta+tau)**-(s+1) dtau``.

The published form writes ``I`` as a difference of two Gauss hypergeometric functions whose
arguments can reach ``2F1(r+s+x, r+x; ...)``: for thousands of purchases it overflows, and
the difference cancels. Here both tails are written as ``P(y) * G(y)`` with, by Euler's
transformation ``2F1(A, B; C; z) = (1-z)**(C-A-B) 2F1(C-A, C-B; C; z)``,

``G(y) = s/k 2F1(1, r+x; k+1; (alpha-beta)/(alpha+y))``                 if alpha >= beta
``G(y) = s/k (alpha+y)/(beta+y) 2F1(1, s+1; k+1; (beta-alpha)/(beta+y))`` otherwise,

``k = r+s+x``: the hypergeometric factors stay moderate, and
``L / P(T) = 1 - G(T) + P(t_x)/P(T) G(t_x)`` (always >= 1) is summed in log space.
``P(alive) = P(T) / (L / (G(r+x) alpha**r beta**s / G(r)))`` is then ``1 / bracket``.

References
----------
Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting Your Customers: Who Are
    They and What Will They Do Next? *Management Science* 33(1), 1-24.
Fader, P. S. & Hardie, B. G. S. (2005). A Note on Deriving the Pareto/NBD Model and Related
    Expressions. http://brucehardie.com/notes/009/
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). A Note on Implementing the Pareto/NBD
    Model in MATLAB. http://brucehardie.com/notes/008/ (CDNOW estimates).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln, hyp2f1

from guanxi.analytics._special import gauss_legendre, one_minus_power_over
from guanxi.analytics._validation import FloatArray, as_float_array, check_positive_scalar
from guanxi.analytics.btyd.base import IntArray, TransactionModel, compress_rows


@dataclass(frozen=True)
class _Data:
    w: FloatArray
    x: FloatArray
    # distinct (x, y) pairs for y = t_x and y = T, and each row's index into them
    px_tx: FloatArray
    py_tx: FloatArray
    i_tx: IntArray
    px_t: FloatArray
    py_t: FloatArray
    i_t: IntArray
    ux: FloatArray
    w_x: FloatArray


def _log_p(
    r: float, alpha: float, s: float, beta: float, x: FloatArray, y: FloatArray
) -> FloatArray:
    return np.asarray(-(r + x) * np.log(alpha + y) - s * np.log(beta + y), dtype=np.float64)


def _log_g(
    r: float, alpha: float, s: float, beta: float, x: FloatArray, y: FloatArray
) -> FloatArray:
    x, y = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    out = np.array(_log_g_raw(r, alpha, s, beta, x, y), dtype=np.float64)
    bad = ~np.isfinite(out)
    if bad.any():
        # scipy's 2F1 returns NaN near z = 1 when c - a - b is a whole number (s, or r + x - 1):
        # the function is continuous there, so average both sides of a 1e-4 relative step
        # (error O(1e-8)); rows that still fail (very large r + x) use quadrature.
        step = 1e-4
        up = _log_g_raw(r * (1 + step), alpha, s * (1 + step), beta, x[bad], y[bad])
        down = _log_g_raw(r * (1 - step), alpha, s * (1 - step), beta, x[bad], y[bad])
        out[bad] = (up + down) / 2
        still = ~np.isfinite(out)
        if still.any():
            out[still] = _log_g_quadrature(r, alpha, s, beta, x[still], y[still])
    return out


def _log_g_quadrature(
    r: float, alpha: float, s: float, beta: float, x: FloatArray, y: FloatArray
) -> FloatArray:
    """ln G(y) by quadrature, for the few rows where scipy's 2F1 fails (large r + x, z ~ 1).

    Substituting ``w = exp(-u)`` with ``u = ln((alpha+tau)/(alpha+y))`` turns the tail
    integral into ``G = s ((beta+y)/(alpha+y))**s int_0^1 w**(k-1) (1 + d w)**-(s+1) dw``,
    ``d = (beta-alpha)/(alpha+y)``, and ``w = exp(-v/k)`` into
    ``(1/k) int_0^inf exp(-v) (1 + d exp(-v/k))**-(s+1) dv``: 64-point Gauss-Laguerre
    quadrature, accurate where this fallback is needed (large k, smooth factor).
    """
    from scipy.special import roots_laguerre

    nodes, weights = roots_laguerre(64)
    out = np.empty(len(x))
    for i, (xi, yi) in enumerate(zip(x, y, strict=True)):
        k = r + s + xi
        d = (beta - alpha) / (alpha + yi)
        f = np.exp(-(s + 1.0) * np.log1p(d * np.exp(-nodes / k)))
        out[i] = (
            np.log(s) + s * np.log((beta + yi) / (alpha + yi)) - np.log(k) + np.log(weights @ f)
        )
    return out


def _log_g_raw(
    r: float, alpha: float, s: float, beta: float, x: FloatArray, y: FloatArray
) -> FloatArray:
    k = r + s + x
    if alpha >= beta:
        h = hyp2f1(1.0, r + x, k + 1.0, (alpha - beta) / (alpha + y))
        out = np.log(s / k) + np.log(h)
    else:
        h = hyp2f1(1.0, s + 1.0, k + 1.0, (beta - alpha) / (beta + y))
        out = np.log(s / k) + np.log(alpha + y) - np.log(beta + y) + np.log(h)
    return np.asarray(out, dtype=np.float64)


def _log_bracket(
    params: tuple[float, float, float, float],
    x: FloatArray,
    tx: FloatArray,
    t: FloatArray,
    log_g_tx: FloatArray | None = None,
    log_g_t: FloatArray | None = None,
) -> FloatArray:
    """ln(L / (K P(T))) = ln(1 - G(T) + P(t_x)/P(T) G(t_x)), summed in log space."""
    r, alpha, s, beta = params
    if log_g_tx is None:
        log_g_tx = _log_g(r, alpha, s, beta, x, tx)
    if log_g_t is None:
        log_g_t = _log_g(r, alpha, s, beta, x, t)
    u = _log_p(r, alpha, s, beta, x, tx) - _log_p(r, alpha, s, beta, x, t) + log_g_tx
    m = np.maximum(u, 0.0)
    inner = np.exp(-m) + np.exp(u - m) - np.exp(log_g_t - m)
    # The bracket is >= 1 mathematically; guard rounding when t_x == T.
    return np.asarray(m + np.log(np.maximum(inner, np.exp(-m))), dtype=np.float64)


class ParetoNBDModel(TransactionModel):
    """Pareto/NBD with parameters ``r, alpha`` (purchase rate) and ``s, beta`` (dropout rate).

    The gradient is taken by central differences (the derivatives of 2F1 in its parameters
    have no closed form); the likelihood is evaluated once per distinct (x, t_x) and (x, T)
    pair, so a fit on a compressed base costs little more than on its distinct rows.
    """

    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")
    model_name: ClassVar[str] = "paretonbd"

    def _initial(self, columns: list[FloatArray], weights: FloatArray) -> dict[str, float]:
        x, _, t = columns
        mean_x = max(float(np.average(x, weights=weights)), 1e-3)
        mean_t = max(float(np.average(t, weights=weights)), 1e-3)
        return {"r": 1.0, "alpha": mean_t / mean_x, "s": 1.0, "beta": mean_t}

    def _prepare(self, columns: list[FloatArray], weights: FloatArray) -> _Data:
        x, tx, t = columns
        (px_tx, py_tx), _, i_tx = compress_rows(x, tx)
        (px_t, py_t), _, i_t = compress_rows(x, t)
        ux, ix = np.unique(x, return_inverse=True)
        w_x = np.bincount(ix.reshape(-1), weights=weights, minlength=len(ux)).astype(np.float64)
        return _Data(weights, x, px_tx, py_tx, i_tx, px_t, py_t, i_t, ux, w_x)

    def _loglik(self, log_params: FloatArray, data: _Data) -> tuple[float, FloatArray | None]:
        r, alpha, s, beta = (float(v) for v in np.exp(log_params))
        params = (r, alpha, s, beta)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            g_tx = _log_g(r, alpha, s, beta, data.px_tx, data.py_tx)[data.i_tx]
            g_t = _log_g(r, alpha, s, beta, data.px_t, data.py_t)[data.i_t]
            log_p_t = _log_p(r, alpha, s, beta, data.px_t, data.py_t)[data.i_t]
            log_p_tx = _log_p(r, alpha, s, beta, data.px_tx, data.py_tx)[data.i_tx]
            u = log_p_tx - log_p_t + g_tx
            m = np.maximum(u, 0.0)
            inner = np.exp(-m) + np.exp(u - m) - np.exp(g_t - m)
            bracket = m + np.log(np.maximum(inner, np.exp(-m)))
        ll = (
            float(data.w_x @ gammaln(r + data.ux))
            + float(data.w.sum()) * (-gammaln(r) + r * np.log(alpha) + s * np.log(beta))
            + float(data.w @ (log_p_t + bracket))
        )
        del params
        if not np.isfinite(ll):
            ll = -1e300
        return ll, None

    def _p(self) -> tuple[float, float, float, float]:
        params = self._check_fitted()
        return params["r"], params["alpha"], params["s"], params["beta"]

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """P(alive | x, t_x, T) = P(T) / (L/K) = exp(-ln bracket) (Fader & Hardie 2005, eq. 18)."""

        def fn(x: FloatArray, tx: FloatArray, t: FloatArray) -> FloatArray:
            with np.errstate(over="ignore", invalid="ignore"):
                return np.asarray(np.exp(-_log_bracket(self._p(), x, tx, t)), dtype=np.float64)

        return self._predict_unique(fn, frequency, recency, T)

    def expected_purchases(self, t: ArrayLike) -> FloatArray:
        """E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))**(s-1)] (SMC 1987, eq. 17)."""
        r, alpha, s, beta = self._p()
        tt = as_float_array(t, "t")
        return np.asarray(
            r / alpha * beta * one_minus_power_over(s - 1.0, np.log(beta / (beta + tt))),
            dtype=np.float64,
        )

    def conditional_expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[Y(t)|x, t_x, T] (Fader & Hardie 2005 note, eq. 41).

        ``(r+x)(beta+T)/((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))**(s-1)] P(alive)``, with
        the ``s -> 1`` limit handled without cancellation.
        """
        horizon = check_positive_scalar(np.asarray(t).item(), "t", allow_zero=True)
        r, alpha, s, beta = self._p()

        def fn(x: FloatArray, tx: FloatArray, tt: FloatArray) -> FloatArray:
            with np.errstate(over="ignore", invalid="ignore"):
                alive = np.exp(-_log_bracket((r, alpha, s, beta), x, tx, tt))
            future = (
                (r + x)
                / (alpha + tt)
                * (beta + tt)
                * one_minus_power_over(s - 1.0, np.log((beta + tt) / (beta + tt + horizon)))
            )
            return np.asarray(future * alive, dtype=np.float64)

        return self._predict_unique(fn, frequency, recency, T)

    def probability_of_purchases(self, n: ArrayLike, t: float) -> FloatArray:
        """P(X(t) = n) for a new customer.

        Conditioning on the (Pareto, i.e. Lomax-distributed) lifetime ``tau``:
        ``P = (beta/(beta+t))**s NBD(n; t) + int_0^t s beta**s (beta+tau)**-(s+1) NBD(n; tau) dtau``
        where ``NBD(n; tau)`` is the negative binomial probability of n purchases in tau
        (Fader & Hardie 2006, "Deriving an Expression for P(X(t)=x) under the Pareto/NBD
        Model", eq. 1-3). The integral is taken by 200-point Gauss-Legendre quadrature on a
        square-root grid (smooth integrand; error far below 1e-10 in practice).
        """
        r, alpha, s, beta = self._p()
        nn = as_float_array(n, "n")
        if (nn < 0).any() or (nn != np.round(nn)).any():
            raise ValueError("the number of purchases must be a whole number >= 0")
        tt = check_positive_scalar(t, "t")

        def log_nbd(tau: FloatArray) -> FloatArray:
            tau = np.asarray(tau, dtype=np.float64)[:, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                value = (
                    gammaln(r + nn)
                    - gammaln(r)
                    - gammaln(nn + 1)
                    + r * np.log(alpha / (alpha + tau))
                    + np.where(nn > 0, nn * np.log(tau / (alpha + tau)), 0.0)
                )
            return np.asarray(value, dtype=np.float64)

        nodes, weights = gauss_legendre(200)
        # tau = t u**2 concentrates nodes near 0, where the NBD terms of small n change fastest.
        tau = tt * nodes**2
        jacobian = 2 * tt * nodes
        density = s * beta**s * (beta + tau) ** (-(s + 1))
        integral = ((weights * jacobian * density)[:, None] * np.exp(log_nbd(tau))).sum(axis=0)
        survive = (beta / (beta + tt)) ** s * np.exp(log_nbd(np.array([tt])))[0]
        return np.asarray(survive + integral, dtype=np.float64)
