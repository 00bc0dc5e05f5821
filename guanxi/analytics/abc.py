"""ABC customer grading (客户分级管理): the 80/20 Pareto grade and a multi-criteria score.

Pareto grading sorts customers by value and cuts the cumulative value share: by default the
customers who bring the first 80% of the value are A, the next 15% B and the rest C. A
customer is graded by the cumulative share *before* it, so the customer who crosses a cut-off
still belongs to the higher grade (the smallest set of customers reaching the share).

The multi-criteria score (DOMAIN.md section 2) combines purchase probability, purchase
frequency, purchase volume, credit status, influence, growth prospects and loyalty, each
normalized to 0..1, with weights. The seed's example explains why volume-like criteria
must be combined and not merely counted: sales rep Lao Wang has 1,000 customers who buy
with 5% probability once a year for 10,000 (expected 500,000 a year); Xiao Li has 50
customers who buy with 50% probability ten times a year for 100,000 (25,000,000). See
:func:`expected_value`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from guanxi.analytics._validation import FloatArray

CRITERIA: tuple[str, ...] = (
    "purchase_probability",
    "purchase_frequency",
    "purchase_volume",
    "credit_status",
    "influence",
    "growth_prospects",
    "loyalty",
)

#: Default weights: the three value drivers first, relationship quality after.
DEFAULT_WEIGHTS: dict[str, float] = {
    "purchase_probability": 0.2,
    "purchase_frequency": 0.2,
    "purchase_volume": 0.2,
    "credit_status": 0.1,
    "influence": 0.1,
    "growth_prospects": 0.1,
    "loyalty": 0.1,
}


def expected_value(
    probability: ArrayLike, frequency: ArrayLike, volume: ArrayLike, customers: ArrayLike = 1
) -> FloatArray:
    """Expected value per year: ``customers x probability x purchases a year x volume``.

    Lao Wang: ``expected_value(0.05, 1, 10_000, customers=1000) == 500_000``;
    Xiao Li: ``expected_value(0.5, 10, 100_000, customers=50) == 25_000_000``.
    """
    p = np.asarray(probability, dtype=np.float64)
    if ((p < 0) | (p > 1)).any():
        raise ValueError("purchase probability must be between 0 and 1")
    values = [np.asarray(v, dtype=np.float64) for v in (frequency, volume, customers)]
    if any((v < 0).any() for v in values):
        raise ValueError("purchase frequency, volume and customer counts must not be negative")
    return np.asarray(values[2] * p * values[0] * values[1], dtype=np.float64)


def pareto_grades(
    value: ArrayLike, *, cutoffs: tuple[float, ...] = (0.8, 0.95), labels: str = "ABC"
) -> NDArray[np.str_]:
    """Grade customers by their cumulative share of the total value.

    Parameters
    ----------
    value : array_like
        Value per customer (revenue, margin or CLV); negative values count as zero.
    cutoffs : tuple of float
        Increasing cumulative shares that close each grade but the last.
    labels : str
        One letter per grade (``len(cutoffs) + 1``).
    """
    v = np.clip(np.asarray(value, dtype=np.float64), 0.0, None)
    if v.ndim != 1 or not np.isfinite(v).all():
        raise ValueError("value must be a finite number per customer")
    cuts = np.asarray(cutoffs, dtype=np.float64)
    if len(labels) != len(cuts) + 1:
        raise ValueError("labels need one grade more than cutoffs")
    if (np.diff(cuts) <= 0).any() or (cuts <= 0).any() or (cuts >= 1).any():
        raise ValueError("cutoffs must increase strictly between 0 and 1")
    total = v.sum()
    grades = np.full(len(v), labels[-1], dtype="<U1")
    if total <= 0:
        return grades
    # Larger value first. Equal values share the grade of the first of them, so identical
    # customers never land in different grades and the input order does not matter.
    order = np.argsort(-v, kind="stable")
    ranked = v[order]
    before = (np.cumsum(ranked) - ranked) / total
    starts = np.ones(len(ranked), dtype=bool)
    starts[1:] = ranked[1:] != ranked[:-1]
    before = before[np.maximum.accumulate(np.where(starts, np.arange(len(ranked)), 0))]
    level = np.searchsorted(cuts, before, side="right")
    grades[order] = np.asarray(list(labels))[level]
    return grades


@dataclass(frozen=True)
class WeightedScore:
    """Score 0..1 per customer, the weight share that was actually available, and grades."""

    score: FloatArray
    coverage: FloatArray
    grade: NDArray[np.str_]
    used: tuple[str, ...]


def weighted_score(
    criteria: Mapping[str, ArrayLike],
    *,
    weights: Mapping[str, float] | None = None,
    missing: str = "renormalize",
    grade_cutoffs: tuple[float, float] = (0.7, 0.4),
) -> WeightedScore:
    """Multi-criteria grade from criteria already scaled to 0..1 (NaN where unknown).

    Parameters
    ----------
    criteria : mapping
        Criterion name (from :data:`CRITERIA`) to values in [0, 1] per customer; use
        :func:`scale_to_unit` for raw figures. A criterion absent from the mapping is missing
        for everyone; NaN marks it missing for one customer.
    weights : mapping, optional
        Criterion weights (default :data:`DEFAULT_WEIGHTS`).
    missing : {"renormalize", "zero", "raise"}
        What a missing criterion does: drop it and share its weight among the criteria that
        are known for that customer (default); count it as 0 (the worst); or raise.
    grade_cutoffs : (float, float)
        Score at or above which a customer is A, and B.
    """
    if missing not in ("renormalize", "zero", "raise"):
        raise ValueError("missing must be 'renormalize', 'zero' or 'raise'")
    unknown = set(criteria) - set(CRITERIA)
    if unknown:
        raise ValueError(f"unknown criteria: {', '.join(sorted(unknown))}")
    w = dict(DEFAULT_WEIGHTS if weights is None else weights)
    if any(value < 0 for value in w.values()):
        raise ValueError("criterion weights must not be negative")
    used = tuple(name for name in CRITERIA if name in criteria and w.get(name, 0) > 0)
    if not used:
        raise ValueError("no weighted criterion is available to grade customers")
    columns = [np.asarray(criteria[name], dtype=np.float64) for name in used]
    lengths = {len(c) for c in columns}
    if len(lengths) != 1:
        raise ValueError("every criterion needs one value per customer")
    matrix = np.stack(columns, axis=1)
    known = np.isfinite(matrix)
    if ((matrix[known] < 0) | (matrix[known] > 1)).any():
        raise ValueError("criteria must be scaled to 0..1 (see scale_to_unit)")
    weight_row = np.array([w[name] for name in used])
    full = sum(w.get(name, 0.0) for name in CRITERIA)
    if missing == "raise" and (not known.all() or len(used) < sum(1 for v in w.values() if v > 0)):
        raise ValueError("some criteria are missing and missing='raise'")
    filled = np.where(known, matrix, 0.0)
    if missing == "zero":
        score = filled @ weight_row / full
    else:
        available = known @ weight_row
        score = np.where(
            available > 0, (filled @ weight_row) / np.where(available > 0, available, 1), 0.0
        )
    coverage = (known @ weight_row) / full
    a_cut, b_cut = grade_cutoffs
    grade = np.where(score >= a_cut, "A", np.where(score >= b_cut, "B", "C"))
    return WeightedScore(np.asarray(score), np.asarray(coverage), grade.astype("<U1"), used)


def scale_to_unit(
    values: ArrayLike, *, low: float | None = None, high: float | None = None
) -> FloatArray:
    """Min-max scale to 0..1 (NaN kept); give ``low``/``high`` to fix the range across runs."""
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    # An explicit bound wins even when it is 0; otherwise the data's range (or 0..1).
    data_low, data_high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    lo = data_low if low is None else float(low)
    hi = data_high if high is None else float(high)
    if hi <= lo:
        return np.where(np.isfinite(v), 1.0, np.nan)
    return np.asarray(np.clip((v - lo) / (hi - lo), 0.0, 1.0), dtype=np.float64)
