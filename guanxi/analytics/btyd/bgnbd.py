"""The BG/NBD model (Fader, Hardie & Lee 2005) and its shared beta-geometric machinery.

While active, a customer buys as a Poisson process with rate ``lambda ~ Gamma(r, alpha)``;
after every purchase they become inactive with probability ``p ~ Beta(a, b)``.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers" the Easy Way:
    An Alternative to the Pareto/NBD Model. *Marketing Science* 24(2), 275-284.
Fader, P. S. & Hardie, B. G. S. (2013). Overcoming the BG/NBD Model's #NUM! Error Problem.
    (Why the likelihood is evaluated here as a log-sum-exp.)
Batislam, E. P., Denizel, M. & Filiztekin, A. (2007). Empirical validation and comparison of
    models for customer base analysis. *International Journal of Research in Marketing*
    24(3), 201-209 (the modified BG/NBD, :mod:`.mbgnbd`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betainc, betaln, digamma, expit, gammaln, hyp2f1

from guanxi.analytics._validation import FloatArray, as_float_array, check_positive_scalar
from guanxi.analytics.btyd.base import IntArray, TransactionModel


@dataclass(frozen=True)
class _Data:
    w: FloatArray
    ix: IntArray  # code of each row's frequency in ux
    ux: FloatArray
    w_x: FloatArray  # total weight per distinct frequency
    it: IntArray
    ut: FloatArray
    itx: IntArray
    utx: FloatArray
    total: float


def _codes(values: FloatArray) -> tuple[FloatArray, IntArray]:
    unique, inverse = np.unique(values, return_inverse=True)
    return unique, inverse.reshape(-1)


class BetaGeoModel(TransactionModel):
    """BG/NBD: beta-geometric dropout after each purchase, NBD purchasing while active.

    Fitted parameters (``params_``): ``r``, ``alpha`` (gamma heterogeneity of the purchase
    rate, shape and rate), ``a``, ``b`` (beta heterogeneity of the dropout probability).

    The log-likelihood (FHL 2005, eq. 6) is written as
    ``ln L = ln G(r+x) - ln G(r) + r ln alpha - ln B(a, b) + logaddexp(A, C)`` with
    ``A = ln B(a, b+x) - (r+x) ln(alpha+T)`` and ``C = ln B(a+1, b+x-1) - (r+x) ln(alpha+t_x)``
    (``C`` only when ``x > 0``), which never overflows, and its gradient is analytic.
    """

    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    model_name: ClassVar[str] = "bgnbd"
    # The modified model (MBG/NBD) shifts the beta arguments by one and lets customers drop
    # out at time 0 as well.
    _shift: ClassVar[int] = 0

    def _initial(self, columns: list[FloatArray], weights: FloatArray) -> dict[str, float]:
        x, _, t = columns
        mean_x = max(float(np.average(x, weights=weights)), 1e-3)
        mean_t = max(float(np.average(t, weights=weights)), 1e-3)
        return {"r": 1.0, "alpha": mean_t / mean_x, "a": 1.0, "b": 1.0}

    def _prepare(self, columns: list[FloatArray], weights: FloatArray) -> _Data:
        x, tx, t = columns
        ux, ix = _codes(x)
        ut, it = _codes(t)
        utx, itx = _codes(tx)
        w_x = np.bincount(ix, weights=weights, minlength=len(ux)).astype(np.float64)
        return _Data(weights, ix, ux, w_x, it, ut, itx, utx, float(weights.sum()))

    def _beta_terms(
        self, a: float, b: float, ux: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
        """ln B of the 'alive' (A) and 'dropped out' (C) terms and their a, b derivatives."""
        s = self._shift
        has_c = ux > 0 if s == 0 else np.ones(len(ux), dtype=bool)
        bc = np.where(has_c, b + ux - 1 + s, b + 1.0)  # placeholder keeps digamma finite
        lb_a = betaln(a, b + ux + s)
        lb_c = np.where(has_c, betaln(a + 1, bc), -np.inf)
        psi_abx = digamma(a + b + ux + s)
        da_a = digamma(a) - psi_abx
        db_a = digamma(b + ux + s) - psi_abx
        da_c = np.where(has_c, digamma(a + 1) - psi_abx, 0.0)
        db_c = np.where(has_c, digamma(bc) - psi_abx, 0.0)
        return lb_a, lb_c, da_a, db_a, da_c, db_c

    def _loglik(self, log_params: FloatArray, data: _Data) -> tuple[float, FloatArray]:
        r, alpha, a, b = np.exp(log_params)
        lb_a, lb_c, da_a, db_a, da_c, db_c = self._beta_terms(a, b, data.ux)
        rx = r + data.ux
        ix, w, total = data.ix, data.w, data.total
        log_at = np.log(alpha + data.ut)[data.it]
        log_atx = np.log(alpha + data.utx)[data.itx]
        rx_row = rx[ix]
        # Row-level work dominates a fit: in-place arithmetic, and the log-sum-exp taken
        # from the share of the 'alive' term, share_a = expit(A - C), as A - ln(share_a):
        # one logistic and one log per row instead of logaddexp's exp and log1p plus an exp.
        big_a = lb_a[ix]
        big_a -= rx_row * log_at
        big_c = lb_c[ix]
        big_c -= rx_row * log_atx
        share_a = expit(big_a - big_c)
        with np.errstate(divide="ignore"):
            lse = big_a - np.log(share_a)
        vanished = share_a == 0.0  # A - C below about -745: the sum is C to the last bit
        if vanished.any():
            lse[vanished] = big_c[vanished]
        ll = (
            float(data.w_x @ gammaln(rx))
            + total * (-gammaln(r) + r * np.log(alpha) - betaln(a, b))
            + float(w @ lse)
        )
        w_share_a = w * share_a
        wa_x = np.bincount(ix, weights=w_share_a, minlength=len(data.ux))
        wc_x = data.w_x - wa_x
        # share_c = 1 - share_a: a*u + (1-a)*v = v + a*(u - v)
        log_at -= log_atx
        inv_at = 1.0 / (alpha + data.ut)[data.it]
        inv_atx = 1.0 / (alpha + data.utx)[data.itx]
        inv_at -= inv_atx
        d_r = (
            float(data.w_x @ digamma(rx))
            + total * (np.log(alpha) - digamma(r))
            - float(w @ log_atx)
            - float(w_share_a @ log_at)
        )
        w_rx = w * rx_row
        d_alpha = total * r / alpha - float(w_rx @ inv_atx) - float((w_rx * share_a) @ inv_at)
        psi_ab = digamma(a + b)
        d_a = -total * (digamma(a) - psi_ab) + float(wa_x @ da_a + wc_x @ da_c)
        d_b = -total * (digamma(b) - psi_ab) + float(wa_x @ db_a + wc_x @ db_c)
        grad = np.array([d_r, d_alpha, d_a, d_b]) * np.array([r, alpha, a, b])
        return ll, grad

    # -- predictions -----------------------------------------------------------------------
    def _p(self) -> tuple[float, float, float, float]:
        params = self._check_fitted()
        a = params["a"]
        # (a - 1) divides the expectations; exactly 1 is a removable singularity.
        if a == 1.0:
            a = 1.0 + 1e-9
        return params["r"], params["alpha"], a, params["b"]

    def _log_dropout_odds(self, x: FloatArray, tx: FloatArray, t: FloatArray) -> FloatArray:
        """ln of the odds 'dropped out after the last purchase' : 'still active' at T."""
        r, alpha, a, b = self._p()
        s = self._shift
        with np.errstate(divide="ignore"):
            odds = (
                np.log(a)
                - np.log(np.maximum(b + x - 1 + s, 1e-300))
                + (r + x) * (np.log(alpha + t) - np.log(alpha + tx))
            )
        if s == 0:
            odds = np.where(x > 0, odds, -np.inf)
        return np.asarray(odds, dtype=np.float64)

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """P(alive | x, t_x, T) (FHL 2005, eq. 11): ``1 / (1 + odds)``, computed as expit.

        A customer without repeat purchases is alive for sure under BG/NBD (dropout happens
        only right after a purchase).
        """

        def fn(x: FloatArray, tx: FloatArray, t: FloatArray) -> FloatArray:
            from scipy.special import expit

            return np.asarray(expit(-self._log_dropout_odds(x, tx, t)), dtype=np.float64)

        return self._predict_unique(fn, frequency, recency, T)

    def _future(self, c0: FloatArray, rx: FloatArray, z: FloatArray) -> FloatArray:
        """``c0/(a-1) * [1 - (1-z)**(a-1) 2F1(c0-r-x, a-1; c0; z)]`` with ``rx = r + x``.

        This is the bracket of FHL 2005 eq. (7) and (10) after Euler's transformation
        ``2F1(A, B; C; z) = (1-z)**(C-A-B) 2F1(C-A, C-B; C; z)``, which keeps the
        hypergeometric factor near 1 for large frequencies instead of overflowing.
        """
        _, _, a, _ = self._p()
        with np.errstate(divide="ignore", invalid="ignore"):
            h = hyp2f1(c0 - rx, a - 1.0, c0, z)
            log_term = (a - 1.0) * np.log1p(-z) + np.log(h)
        value = c0 * -np.expm1(log_term) / (a - 1.0)
        value = np.array(np.where(z > 0, value, 0.0), dtype=np.float64)
        bad = ~np.isfinite(value) | (value < 0)
        if bad.any():
            value[bad] = self._future_by_quadrature(c0[bad], rx[bad], z[bad])
        return value

    def _future_by_quadrature(self, c0: FloatArray, rx: FloatArray, z: FloatArray) -> FloatArray:
        """Fallback for parameters where the closed form loses all precision.

        The bracket is ``E[(1 - (1 + p t/(alpha+T))**-(r+x)) / p]`` under the posterior
        ``p ~ Beta(a, c0 + 1 - a)``; the integrand is bounded and smooth in p, so it is
        integrated over the beta quantiles (64-point Gauss-Legendre in the probability).
        """
        from scipy.special import betaincinv

        from guanxi.analytics._special import gauss_legendre

        _, _, a, _ = self._p()
        nodes, weights = gauss_legendre(64)
        out = np.empty(len(c0))
        for i, (c, k, zz) in enumerate(zip(c0, rx, z, strict=True)):
            p = betaincinv(a, c + 1.0 - a, nodes)
            ratio = zz / (1.0 - zz)  # t / (alpha + T)
            with np.errstate(divide="ignore", invalid="ignore"):
                g = np.where(p > 0, -np.expm1(-k * np.log1p(p * ratio)) / p, k * ratio)
            out[i] = float(weights @ g)
        return out

    def expected_purchases(self, t: ArrayLike) -> FloatArray:
        """E[X(t)]: expected repeat purchases of a new customer in (0, t] (FHL 2005, eq. 7)."""
        r, alpha, a, b = self._p()
        tt = as_float_array(t, "t")
        z = tt / (alpha + tt)
        if self._shift == 0:
            return self._future(np.full_like(tt, a + b - 1.0), np.full_like(tt, r), z)
        # MBG/NBD: the customer survives time 0 with probability b / (a + b).
        return b / (a + b) * self._future(np.full_like(tt, a + b), np.full_like(tt, r), z)

    def conditional_expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[Y(t) | x, t_x, T]: expected purchases in (T, T+t] (FHL 2005, eq. 10)."""
        horizon = check_positive_scalar(np.asarray(t).item(), "t", allow_zero=True)
        r, alpha, a, b = self._p()

        def fn(x: FloatArray, tx: FloatArray, tt: FloatArray) -> FloatArray:
            from scipy.special import expit

            z = horizon / (alpha + tt + horizon)
            c0 = a + b + x - 1.0 + self._shift
            alive = expit(-self._log_dropout_odds(x, tx, tt))
            return np.asarray(self._future(c0, r + x, z) * alive, dtype=np.float64)

        return self._predict_unique(fn, frequency, recency, T)

    def probability_of_purchases(self, n: ArrayLike, t: float) -> FloatArray:
        """P(X(t) = n) for a new customer (FHL 2005, eq. 8; MBG/NBD by the same argument).

        The finite sum of negative-binomial terms in eq. (8) is the NBD survival function
        ``P(NBD >= n) = I_{t/(alpha+t)}(n, r)`` (regularized incomplete beta).
        """
        r, alpha, a, b = self._p()
        nn = as_float_array(n, "n")
        if (nn < 0).any() or (nn != np.round(nn)).any():
            raise ValueError("the number of purchases must be a whole number >= 0")
        tt = check_positive_scalar(t, "t")
        s = self._shift
        p0 = alpha / (alpha + tt)
        log_nbd = (
            gammaln(r + nn)
            - gammaln(r)
            - gammaln(nn + 1)
            + r * np.log(p0)
            + nn * np.log(tt / (alpha + tt))
        )
        alive = np.exp(betaln(a, b + nn + s) - betaln(a, b) + log_nbd)
        with np.errstate(invalid="ignore"):
            tail = betainc(np.maximum(nn, 1.0), r, tt / (alpha + tt))
        if s == 0:
            dropped = np.where(
                nn > 0, np.exp(betaln(a + 1, b + nn - 1 + (nn == 0)) - betaln(a, b)) * tail, 0.0
            )
            return np.asarray(alive + dropped, dtype=np.float64)
        dropped = np.where(nn > 0, np.exp(betaln(a + 1, b + nn) - betaln(a, b)) * tail, 0.0)
        at_zero = np.where(nn == 0, a / (a + b), 0.0)
        return np.asarray(alive + dropped + at_zero, dtype=np.float64)
