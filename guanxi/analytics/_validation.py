"""Input checks that speak the analyst's language.

Every public entry point of :mod:`guanxi.analytics` turns its inputs into float arrays here
and rejects impossible data with a :class:`ValueError` that names the customers' problem in
domain terms ("recency is larger than T for 3 customers"), never with a NaN result later.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def counted(count: int | np.integer, noun: str = "customer") -> str:
    """``"1 customer"``, ``"3 customers"``: counts in error messages read as English."""
    number = int(count)
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def as_float_array(values: ArrayLike, name: str) -> FloatArray:
    """Return ``values`` as a 1-d float64 array or raise a ValueError naming ``name``."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numbers") from exc
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a one-dimensional list of values, one per customer")
    bad = ~np.isfinite(array)
    if bad.any():
        raise ValueError(f"{name} is missing or not a finite number for {counted(bad.sum())}")
    return array


def same_length(**arrays: FloatArray) -> int:
    """Check that every array has one value per customer and return that count."""
    lengths = {name: len(a) for name, a in arrays.items()}
    distinct = set(lengths.values())
    if len(distinct) > 1:
        detail = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise ValueError(f"every column needs one value per customer ({detail})")
    count = distinct.pop() if distinct else 0
    if count == 0:
        raise ValueError("there are no customers to analyse")
    return count


def check_rfm(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    integer_frequency: bool = True,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Validate the buy-till-you-die summary (x, t_x, T) and optional customer weights.

    Rules: frequency is a whole number >= 0; 0 <= recency <= T (a customer first seen on the
    cut-off day has T = 0 and carries no information, which the likelihoods handle); a
    customer without repeat purchases has recency 0; weights are >= 0 and not all zero.
    """
    x = as_float_array(frequency, "frequency")
    tx = as_float_array(recency, "recency")
    t = as_float_array(T, "T")
    w = np.ones_like(x) if weights is None else as_float_array(weights, "weights")
    same_length(frequency=x, recency=tx, T=t, weights=w)
    problems: list[str] = []
    if (x < 0).any():
        problems.append(f"frequency is negative for {counted((x < 0).sum())}")
    if integer_frequency and (x != np.round(x)).any():
        problems.append(f"frequency is not a whole number for {counted((x != np.round(x)).sum())}")
    if (tx < 0).any():
        problems.append(f"recency is negative for {counted((tx < 0).sum())}")
    if (t < 0).any():
        problems.append(f"T (the customer's age) is negative for {counted((t < 0).sum())}")
    # Tolerate rounding in files that print recency and T with two decimals.
    too_recent = tx > t * (1 + 1e-9) + 1e-12
    if too_recent.any():
        problems.append(f"recency is larger than T for {counted(too_recent.sum())}")
    ghost = (x == 0) & (tx > 0)
    if ghost.any():
        problems.append(
            f"recency is positive but frequency is 0 for {counted(ghost.sum())} "
            "(recency is the age at the last repeat purchase)"
        )
    if (w < 0).any():
        problems.append(f"weights are negative for {counted((w < 0).sum())}")
    elif w.sum() <= 0:
        problems.append("the weights add up to zero")
    if problems:
        raise ValueError("; ".join(problems))
    return x, np.minimum(tx, t), t, w


def check_positive_scalar(value: Any, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float, rejecting negative (or zero) and non-finite values."""
    number = float(value)
    if not np.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        kind = "zero or positive" if allow_zero else "positive"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return number
