"""Numerically careful special-function helpers shared by the models.

scipy is imported lazily by callers; this module imports it at import time, so only model
modules (never the package ``__init__`` or the command-line parser) import it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import betaln, gammaln

FloatArray = NDArray[np.float64]


def one_minus_power_over(k: FloatArray | float, log_base: FloatArray | float) -> FloatArray:
    """Return ``(1 - base**k) / k`` from ``log(base)`` without cancellation.

    The limit for ``k -> 0`` is ``-log(base)``; models whose expectations contain
    ``1/(a - 1)`` or ``1/(s - 1)`` use it so that parameters at the bound stay finite.
    """
    k_arr = np.asarray(k, dtype=np.float64)
    lb = np.asarray(log_base, dtype=np.float64)
    safe_k = np.where(k_arr == 0.0, 1.0, k_arr)
    value = -np.expm1(safe_k * lb) / safe_k
    return np.asarray(np.where(k_arr == 0.0, -lb, value), dtype=np.float64)


def log_binomial(n: FloatArray, k: FloatArray) -> FloatArray:
    """Logarithm of the binomial coefficient C(n, k) for real ``n >= k >= 0``."""
    return np.asarray(gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1), dtype=np.float64)


def log_beta(a: FloatArray | float, b: FloatArray | float) -> FloatArray:
    """Logarithm of the beta function, as an array."""
    return np.asarray(betaln(a, b), dtype=np.float64)


def gauss_legendre(order: int) -> tuple[FloatArray, FloatArray]:
    """Nodes and weights of Gauss-Legendre quadrature on [0, 1]."""
    nodes, weights = np.polynomial.legendre.leggauss(order)
    return (nodes + 1.0) / 2.0, weights / 2.0
