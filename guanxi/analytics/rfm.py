"""RFM scoring (recency, frequency, monetary) and named customer segments.

Scores run from 1 (worst) to ``bins`` (best) by quantile of the customer base; recency is
the time since the last purchase, so a *smaller* recency earns a *higher* score.

Ties are handled deterministically: every customer gets the score of the first (lowest)
rank among the customers with the same value, ``score = 1 + floor(bins * rank_min / n)``,
so equal values always share a score and the result does not depend on the input order.

Segments (five-point scores) follow the widely used R x FM grid, where FM is the mean of the
frequency and monetary scores rounded half up. Rules are read top to bottom, the first match
wins (:data:`SEGMENT_RULES`):

============================  =========  ==========
segment                       R          FM
============================  =========  ==========
champions                     5          4-5
loyal                         3-4        4-5
potential loyalists           4-5        2-3
new                           5          1
promising                     4          1
need attention                3          3
about to sleep                3          1-2
can't lose                    1-2        5
at risk                       1-2        3-4
hibernating                   2          1-2
lost                          1          1-2
============================  =========  ==========
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from guanxi.analytics._validation import FloatArray, as_float_array, counted, same_length

#: (segment, (R low, R high), (FM low, FM high)) for five-point scores; first match wins.
SEGMENT_RULES: tuple[tuple[str, tuple[int, int], tuple[int, int]], ...] = (
    ("champions", (5, 5), (4, 5)),
    ("loyal", (3, 4), (4, 5)),
    ("potential loyalists", (4, 5), (2, 3)),
    ("new", (5, 5), (1, 1)),
    ("promising", (4, 4), (1, 1)),
    ("need attention", (3, 3), (3, 3)),
    ("about to sleep", (3, 3), (1, 2)),
    ("can't lose", (1, 2), (5, 5)),
    ("at risk", (1, 2), (3, 4)),
    ("hibernating", (2, 2), (1, 2)),
    ("lost", (1, 1), (1, 2)),
)

SEGMENTS: tuple[str, ...] = tuple(rule[0] for rule in SEGMENT_RULES)


def quantile_scores(
    values: ArrayLike, bins: int = 5, *, higher_is_better: bool = True
) -> NDArray[np.int64]:
    """Scores 1..bins by quantile, ties sharing the score of their lowest rank."""
    v = as_float_array(values, "values")
    if bins < 2:
        raise ValueError("bins must be at least 2")
    key = v if higher_is_better else -v
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    # First rank of each value's tie group.
    first_of_group = np.searchsorted(sorted_key, sorted_key, side="left")
    rank_min = np.empty(len(v), dtype=np.int64)
    rank_min[order] = first_of_group
    return np.asarray(1 + (bins * rank_min) // len(v), dtype=np.int64)


@dataclass(frozen=True)
class RFMScores:
    """Per-customer R, F, M scores, weighted total and segment name."""

    recency_score: NDArray[np.int64]
    frequency_score: NDArray[np.int64]
    monetary_score: NDArray[np.int64]
    score: FloatArray
    segment: NDArray[np.str_]


def segment_of(r_score: ArrayLike, fm_score: ArrayLike) -> NDArray[np.str_]:
    """Segment names from five-point R and FM scores by :data:`SEGMENT_RULES`."""
    r = np.asarray(r_score)
    fm = np.asarray(fm_score)
    out = np.full(r.shape, "", dtype=object)
    for name, (r_lo, r_hi), (f_lo, f_hi) in SEGMENT_RULES:
        match = (out == "") & (r >= r_lo) & (r <= r_hi) & (fm >= f_lo) & (fm <= f_hi)
        out[match] = name
    return np.asarray(out.astype(str))


def rfm_scores(
    recency: ArrayLike,
    frequency: ArrayLike,
    monetary: ArrayLike,
    *,
    bins: int = 5,
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> RFMScores:
    """Score customers by recency (time since last purchase), frequency and monetary value.

    Parameters
    ----------
    recency : array_like
        Time since the last purchase (smaller is better).
    frequency, monetary : array_like
        Number of purchases and spend (larger is better).
    bins : int
        Number of score levels (5 for the named segments; other values give scores only,
        segments then use scores rescaled to 1..5).
    weights : (float, float, float)
        Weights of R, F and M in ``score = (wR R + wF F + wM M) / (wR + wF + wM)``.
    """
    rec = as_float_array(recency, "recency")
    freq = as_float_array(frequency, "frequency")
    mon = as_float_array(monetary, "monetary")
    same_length(recency=rec, frequency=freq, monetary=mon)
    if (rec < 0).any():
        raise ValueError(f"recency is negative for {counted((rec < 0).sum())}")
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (3,) or (w < 0).any() or w.sum() <= 0:
        raise ValueError("weights must be three non-negative numbers, not all zero")
    r = quantile_scores(rec, bins, higher_is_better=False)
    f = quantile_scores(freq, bins)
    m = quantile_scores(mon, bins)
    score = (w[0] * r + w[1] * f + w[2] * m) / w.sum()
    if bins == 5:
        r5, f5, m5 = r, f, m
    else:
        # Linear map of 1..bins onto 1..5, so the best score of any scale reaches 5.
        r5, f5, m5 = (
            1 + np.floor((s - 1) * 4 / (bins - 1) + 0.5).astype(np.int64) for s in (r, f, m)
        )
    fm = np.floor((f5 + m5) / 2 + 0.5).astype(np.int64)
    return RFMScores(r, f, m, np.asarray(score, dtype=np.float64), segment_of(r5, fm))
