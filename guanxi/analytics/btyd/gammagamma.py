"""The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005; Fader & Hardie 2013).

Each transaction of a customer is ``Gamma(p, nu)``; ``nu ~ Gamma(q, v)`` varies across
customers (``v`` is the scale usually written gamma). The mean ``m`` of a customer's ``x``
transactions has the density (Fader & Hardie 2013, eq. 3 with the Jacobian of the mean)

``f(m | p, q, v, x) = G(px+q) / (G(px) G(q)) * v**q m**(px-1) x**(px) / (v + m x)**(px+q)``

and the expected spend per transaction given the history is (eq. 5)
``E[M | p, q, v, m, x] = (q-1)/(px+q-1) * p v/(q-1) + px/(px+q-1) * m``: a weighted mean of
the population mean ``p v / (q - 1)`` and the customer's own mean.

Fitting uses the log-likelihood split into terms of the distinct frequencies (digamma and
log-gamma values) and one ``ln(v + m x)`` per customer, with an analytic gradient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln

from guanxi.analytics._validation import FloatArray, as_float_array, counted, same_length
from guanxi.analytics.btyd.base import IntArray, MaximumLikelihoodModel


@dataclass(frozen=True)
class _Data:
    w: FloatArray
    x: FloatArray
    m: FloatArray
    wx: FloatArray  # w * x
    ux: FloatArray
    ix: IntArray
    w_x: FloatArray
    total: float
    sum_w_log_m: float
    sum_wx_log_m: float
    sum_wx_log_x: float


def check_spend(
    frequency: ArrayLike, monetary_value: ArrayLike, weights: ArrayLike | None = None
) -> tuple[FloatArray, FloatArray, FloatArray, int]:
    """Keep repeat customers (x > 0) and require positive amounts for them."""
    x = as_float_array(frequency, "frequency")
    m = as_float_array(monetary_value, "monetary_value")
    w = np.ones_like(x) if weights is None else as_float_array(weights, "weights")
    same_length(frequency=x, monetary_value=m, weights=w)
    if (x < 0).any():
        raise ValueError(f"frequency is negative for {counted((x < 0).sum())}")
    repeat = x > 0
    bad = repeat & (m <= 0)
    if bad.any():
        raise ValueError(
            f"amounts must be positive for Gamma-Gamma: monetary_value is zero or negative for "
            f"{counted(bad.sum())} with repeat purchases (remove returns or refunds first)"
        )
    if not repeat.any():
        raise ValueError("Gamma-Gamma needs customers with repeat purchases (frequency > 0)")
    return x[repeat], m[repeat], w[repeat], int((~repeat).sum())


class GammaGammaModel(MaximumLikelihoodModel):
    """Gamma-Gamma spend model. Parameters ``p``, ``q`` and ``v`` (the scale, gamma).

    Customers with ``frequency == 0`` carry no spend information beyond the first purchase
    and are left out of the fit (``n_excluded_`` says how many), as in Fader & Hardie (2013),
    who fit the 946 CDNOW repeat customers.
    """

    param_names: ClassVar[tuple[str, ...]] = ("p", "q", "v")
    model_name: ClassVar[str] = "gammagamma"

    def __init__(
        self,
        *,
        compress: bool = False,
        standard_errors: bool = False,
        initial_params: dict[str, float] | None = None,
        max_iter: int = 2000,
    ) -> None:
        # Mean spends are continuous: identical rows are rare, so compression is off by
        # default (the likelihood already works per distinct frequency where it can).
        super().__init__(
            compress=compress,
            standard_errors=standard_errors,
            initial_params=initial_params,
            max_iter=max_iter,
        )

    def fit(
        self, frequency: ArrayLike, monetary_value: ArrayLike, weights: ArrayLike | None = None
    ) -> GammaGammaModel:
        """Fit on repeat frequency ``x`` and mean repeat spend ``m`` per customer."""
        x, m, w, excluded = check_spend(frequency, monetary_value, weights)
        self.n_excluded_ = excluded
        self._fit_columns([x, m], w)
        return self

    def log_likelihood(
        self, frequency: ArrayLike, monetary_value: ArrayLike, weights: ArrayLike | None = None
    ) -> float:
        """Total log-likelihood of the parameters on these (repeat) customers."""
        self._check_fitted()
        x, m, w, _ = check_spend(frequency, monetary_value, weights)
        return float(self._loglik(self._theta, self._prepare([x, m], w))[0])

    def _initial(self, columns: list[FloatArray], weights: FloatArray) -> dict[str, float]:
        _, m = columns
        return {"p": 1.0, "q": 2.0, "v": float(np.average(m, weights=weights))}

    def _prepare(self, columns: list[FloatArray], weights: FloatArray) -> _Data:
        x, m = columns
        ux, ix = np.unique(x, return_inverse=True)
        ix = ix.reshape(-1)
        w_x = np.bincount(ix, weights=weights, minlength=len(ux)).astype(np.float64)
        log_m = np.log(m)
        wx = weights * x
        return _Data(
            weights,
            x,
            m,
            wx,
            ux,
            ix,
            w_x,
            float(weights.sum()),
            float(weights @ log_m),
            float(wx @ log_m),
            float(wx @ np.log(x)),
        )

    def _loglik(self, log_params: FloatArray, data: _Data) -> tuple[float, FloatArray]:
        p, q, v = (float(t) for t in np.exp(log_params))
        pxq = p * data.ux + q
        px = p * data.ux
        vm = v + data.m * data.x
        log_vm = np.log(vm)
        sum_w_log_vm = float(data.w @ log_vm)
        sum_wx_log_vm = float(data.wx @ log_vm)
        total = data.total
        ll = (
            float(data.w_x @ (gammaln(pxq) - gammaln(px)))
            - total * gammaln(q)
            + total * q * np.log(v)
            + p * data.sum_wx_log_m
            - data.sum_w_log_m
            + p * data.sum_wx_log_x
            - p * sum_wx_log_vm
            - q * sum_w_log_vm
        )
        psi_pxq = digamma(pxq)
        d_p = (
            float((data.w_x * data.ux) @ (psi_pxq - digamma(px)))
            + data.sum_wx_log_m
            + data.sum_wx_log_x
            - sum_wx_log_vm
        )
        d_q = float(data.w_x @ psi_pxq) - total * digamma(q) + total * np.log(v) - sum_w_log_vm
        inv_vm = 1.0 / vm
        d_v = total * q / v - p * float(data.wx @ inv_vm) - q * float(data.w @ inv_vm)
        return float(ll), np.array([d_p * p, d_q * q, d_v * v])

    # -- predictions -----------------------------------------------------------------------
    def expected_average_spend(self) -> float:
        """Population mean spend per transaction ``p v / (q - 1)`` (requires q > 1)."""
        params = self._check_fitted()
        p, q, v = params["p"], params["q"], params["v"]
        if q <= 1:
            raise ValueError(
                f"the fitted spend distribution has no finite mean (q = {q:.3g} <= 1): "
                "spend is too heavy-tailed for Gamma-Gamma"
            )
        return p * v / (q - 1)

    def conditional_expected_average_spend(
        self, frequency: ArrayLike, monetary_value: ArrayLike
    ) -> FloatArray:
        """E[M | x, m] (Fader, Hardie & Lee 2005, "RFM and CLV", eq. 5; F&H 2013, eq. 5).

        Customers with ``frequency == 0`` get the population mean.
        """
        population = self.expected_average_spend()
        params = self._check_fitted()
        p, q = params["p"], params["q"]
        x = as_float_array(frequency, "frequency")
        m = as_float_array(monetary_value, "monetary_value")
        same_length(frequency=x, monetary_value=m)
        if (x < 0).any():
            raise ValueError(f"frequency is negative for {counted((x < 0).sum())}")
        if ((x > 0) & (m < 0)).any():
            raise ValueError("amounts must be positive for Gamma-Gamma")
        weight = (q - 1) / (p * x + q - 1)
        return np.asarray(weight * population + (1 - weight) * m, dtype=np.float64)
