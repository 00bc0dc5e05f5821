"""Shared machinery of the probability models: compression, fitting, standard errors.

Every model is fitted by maximum likelihood on the logarithms of its parameters (so the
optimizer never leaves the positive orthant) with scipy's L-BFGS-B. Customers with
identical sufficient statistics are merged into one weighted row before fitting: the
likelihood of ``k`` identical customers is the likelihood of one raised to the power ``k``,
so the estimate is exactly the same and the work is proportional to the number of distinct
rows (Fader, Hardie & Lee 2005, who fit CDNOW from a table of counts, do the same).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from guanxi.analytics._validation import FloatArray, as_float_array, check_rfm

IntArray = NDArray[np.intp]


def compress_rows(
    *columns: FloatArray, weights: FloatArray | None = None, with_inverse: bool = True
) -> tuple[list[FloatArray], FloatArray, IntArray]:
    """Merge identical rows of ``columns`` into weighted unique rows.

    Returns the unique rows (one array per column), their summed weights and, for every input
    row, the index of its unique row (so ``unique[inverse]`` rebuilds the input). Each column
    is coded by its distinct values (a plain sort and a binary search, cheaper than an
    argsort); the codes are packed into one integer key, sorted once, and each row finds its
    unique key by binary search. ``with_inverse=False`` skips that search (a fit needs only the
    weighted unique rows) and returns an empty array in its place.
    """
    n = len(columns[0])
    w = np.ones(n) if weights is None else weights
    uniques: list[FloatArray] = []
    codes: list[IntArray] = []
    for column in columns:
        values, code = _code_column(column)
        uniques.append(values)
        codes.append(code)
    capacity = 1
    for values in uniques:
        capacity *= len(values)
    if capacity >= 2**62:
        # Too many distinct combinations to pack: fall back to a row-wise unique.
        stacked = np.stack(columns, axis=1)
        rows, inverse = np.unique(stacked, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        summed = np.bincount(inverse, weights=w, minlength=len(rows)).astype(np.float64)
        return [rows[:, j].copy() for j in range(rows.shape[1])], summed, inverse
    key = np.zeros(n, dtype=np.int64)
    for values, code in zip(uniques, codes, strict=True):
        key = key * len(values) + code
    if capacity <= max(8 * n, 1 << 20):
        # Few enough combinations for a dense count: linear time, no sort at all.
        counts = np.bincount(key, weights=w, minlength=capacity)
        present = np.bincount(key, minlength=capacity) > 0
        unique_keys = np.flatnonzero(present)
        remap = np.cumsum(present) - 1
        inverse = remap[key]
        summed = counts[unique_keys].astype(np.float64)
        return _decode(unique_keys, uniques), summed, inverse
    unit_weights = weights is None
    order = None if unit_weights else np.argsort(key)
    ordered = np.sort(key) if order is None else key[order]
    distinct = np.empty(n, dtype=bool)
    distinct[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=distinct[1:])
    unique_keys = ordered[distinct]
    starts = np.flatnonzero(distinct)
    if unit_weights:
        summed = np.diff(np.append(starts, n)).astype(np.float64)
    else:
        summed = np.add.reduceat(w[order], starts).astype(np.float64)
    row_codes = np.searchsorted(unique_keys, key) if with_inverse else np.empty(0, dtype=np.intp)
    return _decode(unique_keys, uniques), summed, row_codes


def _code_column(column: FloatArray) -> tuple[FloatArray, IntArray]:
    """Distinct values of a column and each row's code; whole numbers in a short range (counts,
    days) are coded by offset without sorting."""
    if len(column):
        low, high = float(column.min()), float(column.max())
        if high - low < 1 << 20 and np.array_equal(column, np.floor(column)):
            code = (column - low).astype(np.int64)
            present = np.bincount(code, minlength=int(high - low) + 1) > 0
            values = np.flatnonzero(present).astype(np.float64) + low
            return values, (np.cumsum(present) - 1)[code]
    values = np.unique(column)
    return values, _grid_codes(values, column)


def _grid_codes(values: FloatArray, column: FloatArray) -> IntArray:
    """Each row's index in ``values`` (sorted distinct values of ``column``).

    Summaries in weeks or months are fractions on a regular grid (days / 7): rounding to
    the grid and one table look-up is several times faster than a binary search per row.
    The result is verified exactly; off-grid values fall back to the binary search.
    """
    if 1 < len(values) <= 1 << 20:
        step = float(np.min(np.diff(values)))
        slots = np.rint((values - values[0]) / step)
        if slots[-1] < 1 << 22:
            table = np.full(int(slots[-1]) + 1, -1, dtype=np.int64)
            table[slots.astype(np.int64)] = np.arange(len(values))
            guess = np.rint((column - values[0]) / step).astype(np.int64)
            np.clip(guess, 0, len(table) - 1, out=guess)
            codes = table[guess]
            if codes.min() >= 0 and np.array_equal(values[codes], column):
                return codes
    return np.searchsorted(values, column)


def _decode(keys: IntArray, uniques: list[FloatArray]) -> list[FloatArray]:
    decoded: list[FloatArray] = []
    rest = keys
    for values in reversed(uniques):
        decoded.append(values[rest % len(values)])
        rest = rest // len(values)
    return decoded[::-1]


@dataclass(frozen=True)
class FitSummary:
    """What a fit reports besides the parameters: for tables, logs and model comparison."""

    model: str
    params: dict[str, float]
    log_likelihood: float
    n: float
    n_unique: int
    n_iter: int
    converged: bool
    standard_errors: dict[str, float] | None

    @property
    def bic(self) -> float:
        """Bayesian information criterion ``k ln n - 2 LL`` (Schwarz 1978)."""
        return len(self.params) * math.log(self.n) - 2.0 * self.log_likelihood

    @property
    def aic(self) -> float:
        """Akaike information criterion ``2 k - 2 LL``."""
        return 2.0 * len(self.params) - 2.0 * self.log_likelihood

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary with the model's published parameter names."""
        out: dict[str, Any] = {
            "model": self.model,
            "params": dict(self.params),
            "log_likelihood": self.log_likelihood,
            "n": self.n,
            "n_unique": self.n_unique,
            "bic": self.bic,
            "aic": self.aic,
            "converged": self.converged,
            "iterations": self.n_iter,
        }
        if self.standard_errors is not None:
            out["standard_errors"] = dict(self.standard_errors)
        return out


class NotFittedError(ValueError):
    """Raised when predictions are asked of a model that was never fitted."""


class MaximumLikelihoodModel:
    """Base of the estimators: scikit-learn style (``__init__`` stores settings only).

    Subclasses define ``param_names``, ``model_name``, ``_prepare`` (turn validated columns into
    whatever the likelihood needs) and ``_loglik`` (total log-likelihood and, where the model
    has one, its analytic gradient with respect to the log-parameters).

    Parameters
    ----------
    compress : bool
        Merge customers with identical statistics before fitting (same estimate, less work).
    standard_errors : bool
        Also compute asymptotic standard errors from the observed information matrix
        (numerical Hessian of the log-likelihood in log-parameters, delta method back).
    initial_params : dict, optional
        Starting values; defaults are data-driven.
    max_iter : int
        Iteration limit of the optimizer.
    """

    param_names: ClassVar[tuple[str, ...]] = ()
    model_name: ClassVar[str] = ""
    _log_bounds: ClassVar[tuple[float, float]] = (-18.0, 18.0)

    def __init__(
        self,
        *,
        compress: bool = True,
        standard_errors: bool = False,
        initial_params: dict[str, float] | None = None,
        max_iter: int = 2000,
    ) -> None:
        self.compress = compress
        self.standard_errors = standard_errors
        self.initial_params = initial_params
        self.max_iter = max_iter

    # -- to be provided by subclasses ------------------------------------------------------
    def _prepare(self, columns: list[FloatArray], weights: FloatArray) -> Any:
        raise NotImplementedError

    def _loglik(self, log_params: FloatArray, data: Any) -> tuple[float, FloatArray | None]:
        raise NotImplementedError

    def _initial(self, columns: list[FloatArray], weights: FloatArray) -> dict[str, float]:
        return dict.fromkeys(self.param_names, 1.0)

    # -- fitting ---------------------------------------------------------------------------
    def _fit_columns(self, columns: list[FloatArray], weights: FloatArray) -> None:
        from scipy.optimize import minimize

        if self.compress:
            # Unit weights (one row per customer) let the compression count without a sort.
            unit = bool(np.all(weights == 1.0))
            columns, weights, _ = compress_rows(
                *columns, weights=None if unit else weights, with_inverse=False
            )
            keep = weights > 0
            columns, weights = [c[keep] for c in columns], weights[keep]
        data = self._prepare(columns, weights)
        total = float(weights.sum())
        start = dict(self._initial(columns, weights))
        if self.initial_params:
            start.update(self.initial_params)
        theta0 = np.log(np.array([start[name] for name in self.param_names], dtype=np.float64))

        def objective(theta: FloatArray) -> tuple[float, FloatArray]:
            value, grad = self._loglik_with_gradient(theta, data)
            # Per-customer scale keeps the optimizer's tolerances meaningful for any base size.
            return -value / total, -grad / total

        lo, hi = self._log_bounds
        result = minimize(
            objective,
            theta0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(lo, hi)] * len(theta0),
            options={"maxiter": self.max_iter, "ftol": 1e-13, "gtol": 1e-9, "maxcor": 20},
        )
        theta = np.asarray(result.x, dtype=np.float64)
        self._theta = theta
        self.params_ = dict(zip(self.param_names, np.exp(theta).tolist(), strict=True))
        self.log_likelihood_ = float(self._loglik(theta, data)[0])
        self.n_ = total
        self.n_unique_ = len(weights)
        self.n_iter_ = int(result.nit)
        # L-BFGS-B may stop on a failed line search at the optimum; a vanishing gradient is
        # the convergence test that matters.
        gradient = np.asarray(result.jac, dtype=np.float64)
        self.converged_ = bool(result.success) or bool(np.abs(gradient).max() < 1e-5)
        self.standard_errors_: dict[str, float] | None = None
        if self.standard_errors:
            self.standard_errors_ = self._standard_errors(theta, data)

    def _loglik_with_gradient(self, theta: FloatArray, data: Any) -> tuple[float, FloatArray]:
        value, grad = self._loglik(theta, data)
        if grad is None:
            grad = self._numerical_gradient(theta, data)
        return value, grad

    def _numerical_gradient(self, theta: FloatArray, data: Any) -> FloatArray:
        # Central differences in log-parameters: relative steps, error O(h^2) ~ 1e-10.
        h = 1e-5
        grad = np.empty_like(theta)
        for i in range(len(theta)):
            step = np.zeros_like(theta)
            step[i] = h
            grad[i] = (
                self._loglik(theta + step, data)[0] - self._loglik(theta - step, data)[0]
            ) / (2 * h)
        return grad

    def _standard_errors(self, theta: FloatArray, data: Any) -> dict[str, float]:
        k = len(theta)
        h = 1e-4
        hessian = np.empty((k, k))
        for i in range(k):
            step = np.zeros(k)
            step[i] = h
            g_plus = self._loglik_with_gradient(theta + step, data)[1]
            g_minus = self._loglik_with_gradient(theta - step, data)[1]
            hessian[i] = (g_plus - g_minus) / (2 * h)
        hessian = (hessian + hessian.T) / 2
        try:
            covariance = np.linalg.inv(-hessian)
        except np.linalg.LinAlgError:
            return dict.fromkeys(self.param_names, float("nan"))
        variance = np.clip(np.diag(covariance), 0.0, None)
        # Delta method: d(theta)/d(log theta) = theta.
        se = np.exp(theta) * np.sqrt(variance)
        return dict(zip(self.param_names, se.tolist(), strict=True))

    # -- results ---------------------------------------------------------------------------
    def _check_fitted(self) -> dict[str, float]:
        params = getattr(self, "params_", None)
        if params is None:
            raise NotFittedError(f"the {self.model_name} model has not been fitted yet: call fit()")
        return params

    @classmethod
    def from_params(cls, **params: float) -> Any:
        """A model with known parameters (e.g. stored from an earlier fit), ready to predict."""
        model = cls()
        missing = [name for name in cls.param_names if name not in params]
        if missing:
            raise ValueError(f"{cls.model_name} needs the parameters {', '.join(missing)}")
        values = {name: float(params[name]) for name in cls.param_names}
        for name, value in values.items():
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"parameter {name} must be positive, got {value!r}")
        model.params_ = values
        model._theta = np.log(np.array([values[n] for n in cls.param_names]))
        return model

    def summary(self) -> FitSummary:
        """Parameters, log-likelihood, n and information criteria of the fit."""
        params = self._check_fitted()
        return FitSummary(
            model=self.model_name,
            params=dict(params),
            log_likelihood=self.log_likelihood_,
            n=self.n_,
            n_unique=self.n_unique_,
            n_iter=self.n_iter_,
            converged=self.converged_,
            standard_errors=self.standard_errors_,
        )


class TransactionModel(MaximumLikelihoodModel):
    """A purchase-count model of (frequency x, recency t_x, age T) summaries."""

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> TransactionModel:
        """Estimate the parameters by maximum likelihood.

        Parameters
        ----------
        frequency : array_like
            Number of repeat purchases ``x`` (purchase periods after the first).
        recency : array_like
            Age of the customer at the last repeat purchase ``t_x`` (0 when ``x == 0``).
        T : array_like
            Age of the customer at the end of the calibration period.
        weights : array_like, optional
            How many customers each row stands for.
        """
        x, tx, t, w = check_rfm(frequency, recency, T, weights)
        self._fit_columns([x, tx, t], w)
        return self

    def log_likelihood(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> float:
        """Total log-likelihood of the fitted (or given) parameters on these customers."""
        self._check_fitted()
        x, tx, t, w = check_rfm(frequency, recency, T, weights)
        data = self._prepare([x, tx, t], w)
        return float(self._loglik(self._theta, data)[0])

    # Predictions implemented by the subclasses:
    def expected_purchases(self, t: ArrayLike) -> FloatArray:
        """Expected repeat purchases of a new customer in (0, t]."""
        raise NotImplementedError

    def conditional_expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Expected purchases in (T, T + t] given the customer's history."""
        raise NotImplementedError

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Probability that the customer is still active at T."""
        raise NotImplementedError

    def probability_of_purchases(self, n: ArrayLike, t: float) -> FloatArray:
        """P(X(t) = n): probability that a new customer makes n repeat purchases in (0, t]."""
        raise NotImplementedError

    # -- value ----------------------------------------------------------------------------
    def customer_lifetime_value(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        *,
        expected_spend: ArrayLike,
        horizon: float,
        margin: float = 1.0,
        discount_rate: float = 0.0,
        steps: int | None = None,
    ) -> FloatArray:
        """Discounted margin expected from each customer over ``horizon`` periods.

        ``CLV = margin * spend * sum_k (E[Y(t_k)] - E[Y(t_{k-1})]) / (1 + d) ** t_k``: the
        expected purchases of every step of the horizon (conditional on the history) are
        discounted at the end of the step, as in the "discounted expected transactions" of
        Fader, Hardie & Lee (2005, "RFM and CLV", eq. 2) evaluated on a finite horizon.

        Parameters
        ----------
        expected_spend : array_like
            Expected spend per purchase (e.g. Gamma-Gamma ``conditional_expected_average_spend``).
        horizon : float
            Length of the future window, in the model's time unit.
        margin : float
            Share of the spend that is margin (0..1, or any multiplier).
        discount_rate : float
            Discount rate per time unit (e.g. 0.01 per month).
        steps : int, optional
            Number of discounting steps; by default one per whole time unit (at most 520).
        """
        from guanxi.analytics._validation import check_positive_scalar

        h = check_positive_scalar(horizon, "horizon")
        check_positive_scalar(discount_rate, "discount_rate", allow_zero=True)
        x, tx, t, _ = check_rfm(frequency, recency, T)
        spend = as_float_array(expected_spend, "expected_spend")
        if spend.shape[0] == 1 and x.shape[0] > 1:
            spend = np.full_like(x, spend[0])
        k = int(steps) if steps else min(max(math.ceil(h), 1), 520)
        # Predictions depend on (x, t_x, T) only: evaluate each distinct row once.
        (ux, utx, ut), _, inverse = compress_rows(x, tx, t)
        grid = h * np.arange(1, k + 1) / k
        value = np.zeros(len(ux))
        previous = np.zeros(len(ux))
        for step_end in grid:
            current = self.conditional_expected_purchases(step_end, ux, utx, ut)
            value += (current - previous) / (1.0 + discount_rate) ** step_end
            previous = current
        return np.asarray(margin * spend * value[inverse], dtype=np.float64)

    def customer_equity(self, *args: Any, **kwargs: Any) -> float:
        """Customer equity: the sum of the customers' lifetime values over the base.

        Takes the same arguments as :meth:`customer_lifetime_value`.
        """
        return float(np.sum(self.customer_lifetime_value(*args, **kwargs)))

    def _predict_unique(
        self,
        fn: Callable[[FloatArray, FloatArray, FloatArray], FloatArray],
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
    ) -> FloatArray:
        x, tx, t, _ = check_rfm(frequency, recency, T)
        if len(x) < 5000:
            return fn(x, tx, t)
        (ux, utx, ut), _, inverse = compress_rows(x, tx, t)
        return fn(ux, utx, ut)[inverse]
