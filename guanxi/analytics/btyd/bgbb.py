"""The BG/BB model for discrete-time transaction opportunities (Fader, Hardie & Shang 2010).

At each of ``n`` opportunities (yearly donation drives, weekly events) an active customer
transacts with probability ``p ~ Beta(alpha, beta)``; before each opportunity an active
customer drops out with probability ``theta ~ Beta(gamma, delta)``. The summary of a
customer is ``x`` transactions, the last at opportunity ``t_x``, out of ``n``.

Likelihood (FHS 2010, eq. 5):
``L = B(alpha+x, beta+n-x)/B(alpha, beta) * B(gamma, delta+n)/B(gamma, delta)
     + sum_{i=0}^{n-t_x-1} B(alpha+x, beta+t_x-x+i)/B(alpha, beta)
                           * B(gamma+1, delta+t_x+i)/B(gamma, delta)``

References
----------
Fader, P. S., Hardie, B. G. S. & Shang, J. (2010). Customer-Base Analysis in a Discrete-Time
    Noncontractual Setting. *Marketing Science* 29(6), 1086-1108.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, gammaln, logsumexp

from guanxi.analytics._special import log_binomial
from guanxi.analytics._validation import FloatArray, as_float_array, check_rfm, counted
from guanxi.analytics.btyd.base import TransactionModel


@dataclass(frozen=True)
class _Data:
    x: FloatArray
    tx: FloatArray
    n: FloatArray
    w: FloatArray


def check_bgbb(
    frequency: ArrayLike, recency: ArrayLike, n_periods: ArrayLike, weights: ArrayLike | None = None
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(x, t_x, n) must be whole numbers with x <= t_x <= n, and t_x = 0 only when x = 0."""
    x, tx, n, w = check_rfm(frequency, recency, n_periods, weights)
    problems = []
    if (tx != np.round(tx)).any() or (n != np.round(n)).any():
        problems.append("recency and the number of opportunities must be whole numbers for BG/BB")
    if (x > tx).any():
        problems.append(f"frequency is larger than recency for {counted((x > tx).sum())}")
    if ((x > 0) & (tx == 0)).any():
        problems.append("recency must be the opportunity of the last transaction (>= 1) when x > 0")
    if problems:
        raise ValueError("; ".join(problems))
    return x, tx, n, w


class BetaGeoBetaBinomModel(TransactionModel):
    """BG/BB with parameters ``alpha, beta`` (transaction probability) and ``gamma, delta``
    (dropout probability). ``T`` arguments are the number of opportunities ``n``, and the
    horizons of the predictions are numbers of future opportunities.
    """

    param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta", "gamma", "delta")
    model_name: ClassVar[str] = "bgbb"

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> BetaGeoBetaBinomModel:
        """Fit on (x, t_x, n); ``T`` is the number of transaction opportunities n."""
        x, tx, n, w = check_bgbb(frequency, recency, T, weights)
        self._fit_columns([x, tx, n], w)
        return self

    def log_likelihood(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> float:
        """Total log-likelihood on these customers."""
        self._check_fitted()
        x, tx, n, w = check_bgbb(frequency, recency, T, weights)
        return float(self._loglik(self._theta, _Data(x, tx, n, w))[0])

    def _prepare(self, columns: list[FloatArray], weights: FloatArray) -> _Data:
        x, tx, n = columns
        return _Data(x, tx, n, weights)

    def _individual(
        self,
        params: tuple[float, float, float, float],
        x: FloatArray,
        tx: FloatArray,
        n: FloatArray,
    ) -> tuple[FloatArray, FloatArray]:
        """(ln L, ln of the 'alive through n' term) per customer."""
        al, be, ga, de = params
        base_ab = betaln(al, be)
        base_gd = betaln(ga, de)
        alive = betaln(al + x, be + n - x) - base_ab + betaln(ga, de + n) - base_gd
        gap = (n - tx).astype(np.int64)
        terms = [alive]
        for i in range(int(gap.max()) if len(gap) else 0):
            term = betaln(al + x, be + tx - x + i) - base_ab + betaln(ga + 1, de + tx + i) - base_gd
            terms.append(np.where(i < gap, term, -np.inf))
        return np.asarray(logsumexp(np.stack(terms), axis=0), dtype=np.float64), alive

    def _loglik(self, log_params: FloatArray, data: _Data) -> tuple[float, FloatArray | None]:
        params = tuple(float(v) for v in np.exp(log_params))
        ll, _ = self._individual(params, data.x, data.tx, data.n)  # type: ignore[arg-type]
        return float(data.w @ ll), None

    def _p(self) -> tuple[float, float, float, float]:
        params = self._check_fitted()
        gamma = params["gamma"]
        if gamma == 1.0:  # removable singularity of delta/(gamma-1)
            gamma = 1.0 + 1e-9
        return params["alpha"], params["beta"], gamma, params["delta"]

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """P(active at opportunity n+1 | x, t_x, n) (FHS 2010, eq. 11)."""
        al, be, ga, de = self._p()
        x, tx, n, _ = check_bgbb(frequency, recency, T)
        ll, _ = self._individual((al, be, ga, de), x, tx, n)
        alive_next = (
            betaln(al + x, be + n - x) - betaln(al, be) + betaln(ga, de + n + 1) - betaln(ga, de)
        )
        return np.asarray(np.exp(alive_next - ll), dtype=np.float64)

    def expected_purchases(self, t: ArrayLike) -> FloatArray:
        """E[X(n)]: expected transactions of a new customer in n opportunities (FHS eq. 7)."""
        al, be, ga, de = self._p()
        n = as_float_array(t, "n")
        d = gammaln(ga + de) + gammaln(1 + de + n) - gammaln(ga + de + n) - gammaln(1 + de)
        return np.asarray(al / (al + be) * de * -np.expm1(d) / (ga - 1), dtype=np.float64)

    def conditional_expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[X(n, n+n*) | x, t_x, n]: transactions in the next n* opportunities (FHS eq. 13)."""
        al, be, ga, de = self._p()
        future = float(np.asarray(t).item())
        if future < 0:
            raise ValueError("the number of future opportunities must be >= 0")
        x, tx, n, _ = check_bgbb(frequency, recency, T)
        ll, _ = self._individual((al, be, ga, de), x, tx, n)
        log_pre = (
            -ll
            + betaln(al + x + 1, be + n - x)
            - betaln(al, be)
            + np.log(de)
            + gammaln(ga + de)
            - gammaln(1 + de)
            + gammaln(1 + de + n)
            - gammaln(ga + de + n)
        )
        d = (
            gammaln(1 + de + n + future)
            - gammaln(ga + de + n + future)
            - gammaln(1 + de + n)
            + gammaln(ga + de + n)
        )
        return np.asarray(np.exp(log_pre) * -np.expm1(d) / (ga - 1), dtype=np.float64)

    def probability_of_purchases(self, n: ArrayLike, t: float) -> FloatArray:
        """P(X(t) = x) for x in ``n`` transactions within ``t`` opportunities (FHS eq. 8)."""
        al, be, ga, de = self._p()
        xs = as_float_array(n, "n")
        periods = float(t)
        if periods != round(periods) or periods < 0:
            raise ValueError("the number of opportunities must be a whole number >= 0")
        out = np.exp(
            log_binomial(np.full_like(xs, periods), np.minimum(xs, periods))
            + betaln(al + xs, be + periods - xs)
            - betaln(al, be)
            + betaln(ga, de + periods)
            - betaln(ga, de)
        )
        out = np.where(xs <= periods, out, 0.0)
        for i in range(int(periods)):
            term = np.exp(
                log_binomial(np.full_like(xs, i), np.minimum(xs, i))
                + betaln(al + xs, be + i - xs)
                - betaln(al, be)
                + betaln(ga + 1, de + i)
                - betaln(ga, de)
            )
            out = out + np.where(xs <= i, term, 0.0)
        return np.asarray(out, dtype=np.float64)
