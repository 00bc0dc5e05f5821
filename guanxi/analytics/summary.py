"""Per-customer summaries of a transaction log: RFM inputs and the BTYD statistics.

From three arrays (customer key, timestamp, amount) this computes, per customer, the first
and last purchase, the number of purchases and of distinct purchase periods, the BTYD
statistics (Fader, Hardie & Lee 2005): frequency ``x`` (repeat purchase periods), recency
``t_x`` (age at the last purchase), age ``T`` at the cut-off and the mean repeat spend, at a
chosen period (day, week, month), with an optional calibration/holdout split.

Vectorized: one integer sort of ``customer * periods + period`` finds the distinct
(customer, period) pairs; everything else is segment arithmetic on that sorted array and
``bincount`` reductions. There is no per-customer Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from guanxi.analytics._validation import FloatArray, counted

PERIODS = ("D", "W", "M")
# Length of each period in days, to express durations in another unit ("M" is the mean
# Gregorian month).
_DAYS = {"D": 1.0, "W": 7.0, "M": 365.2425 / 12}


@dataclass(frozen=True)
class TransactionSummary:
    """One row per customer; arrays share the order of ``customer``.

    Durations (``recency``, ``T``, ``duration_holdout``) are in ``unit``; ``frequency`` counts
    distinct purchase periods after the first; ``monetary_value`` is the mean spend of those
    repeat periods (0 without repeat purchases), as the Gamma-Gamma model expects.
    """

    customer: np.ndarray
    first_purchase: np.ndarray
    last_purchase: np.ndarray
    n_purchases: FloatArray
    n_periods: FloatArray
    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    monetary_value: FloatArray
    total_spend: FloatArray
    period: str
    unit: str
    frequency_holdout: FloatArray | None = None
    spend_holdout: FloatArray | None = None
    duration_holdout: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.customer)

    @property
    def days_since_last_purchase(self) -> FloatArray:
        """Recency in the RFM sense (time since the last purchase), in ``unit``."""
        return np.asarray(self.T - self.recency, dtype=np.float64)


def _occasions(time: np.ndarray, period: str) -> tuple[NDArray[np.int64], bool]:
    """Integer period index of each timestamp, and whether the input was a date type."""
    if np.issubdtype(time.dtype, np.datetime64):
        if period == "M":
            return time.astype("datetime64[M]").astype(np.int64), True
        days = time.astype("datetime64[D]").astype(np.int64)
        if period == "W":
            # ISO weeks start on Monday; 1970-01-01 was a Thursday.
            return np.floor_divide(days + 3, 7), True
        return days, True
    if not np.issubdtype(time.dtype, np.number):
        raise ValueError("timestamps must be dates (datetime64) or numbers of days")
    if period == "M":
        raise ValueError("monthly periods need dates, not numbers of days")
    days = np.floor(time.astype(np.float64))
    if period == "W":
        return np.floor_divide(days, 7).astype(np.int64), False
    return days.astype(np.int64), False


def _cutoff(value: Any, time: np.ndarray, period: str, default: int) -> int:
    if value is None:
        return default
    array = np.asarray([value])
    if np.issubdtype(time.dtype, np.datetime64):
        array = array.astype(time.dtype)
    return int(_occasions(array, period)[0][0])


def _customer_codes(customer: np.ndarray) -> tuple[np.ndarray, NDArray[np.int64]]:
    """Dense codes 0..K-1; integer keys in a compact range skip the sort of np.unique."""
    if np.issubdtype(customer.dtype, np.integer) and len(customer):
        low, high = int(customer.min()), int(customer.max())
        if high - low < 4 * len(customer) + 1024:
            shifted = (customer - low).astype(np.int64)
            present = np.bincount(shifted, minlength=high - low + 1) > 0
            remap = np.cumsum(present) - 1
            return np.flatnonzero(present) + low, remap[shifted]
    keys, codes = np.unique(customer, return_inverse=True)
    return keys, codes.reshape(-1).astype(np.int64)


def summarize_transactions(
    customer: ArrayLike,
    time: ArrayLike,
    amount: ArrayLike | None = None,
    *,
    period: str = "D",
    unit: str | None = None,
    observation_end: Any = None,
    calibration_end: Any = None,
) -> TransactionSummary:
    """Summarize a transaction log per customer.

    Parameters
    ----------
    customer : array_like
        Customer key of each transaction (integers or strings).
    time : array_like
        Timestamp of each transaction: ``datetime64`` values, or numbers of days.
    amount : array_like, optional
        Amount of each transaction (for the monetary statistics).
    period : {"D", "W", "M"}
        Granularity of purchase occasions: several purchases in one period count once.
    unit : {"D", "W", "M"}, optional
        Unit of the durations ``recency`` and ``T`` (default: ``period``). Fader, Hardie & Lee's
        CDNOW data count purchases per day and measure time in weeks: ``period="D", unit="W"``.
    observation_end : date or number, optional
        Last period observed (inclusive); later transactions are ignored. Default: the last
        transaction.
    calibration_end : date or number, optional
        End of the calibration period (inclusive). When given, the statistics describe the
        calibration period, customers first seen after it are left out, and the holdout
        columns give the purchase periods and spend in (calibration_end, observation_end].
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, got {period!r}")
    unit = unit or period
    if unit not in PERIODS:
        raise ValueError(f"unit must be one of {', '.join(PERIODS)}, got {unit!r}")
    cust = np.asarray(customer)
    t = np.asarray(time)
    if cust.ndim != 1 or t.shape != cust.shape:
        raise ValueError("customer and time need one value per transaction")
    if len(cust) == 0:
        raise ValueError("there are no transactions to summarize")
    if np.issubdtype(t.dtype, np.datetime64):
        if np.isnat(t).any():
            raise ValueError(f"the date is missing for {counted(np.isnat(t).sum(), 'transaction')}")
    elif np.issubdtype(t.dtype, np.number) and not np.isfinite(t).all():
        raise ValueError(
            f"the time is missing for {counted((~np.isfinite(t)).sum(), 'transaction')}"
        )
    amt = np.zeros(len(cust)) if amount is None else np.asarray(amount, dtype=np.float64)
    if amt.shape != cust.shape:
        raise ValueError("amount needs one value per transaction")
    if not np.isfinite(amt).all():
        raise ValueError(
            f"the amount is missing for {counted((~np.isfinite(amt)).sum(), 'transaction')}"
        )

    occ, dated = _occasions(t, period)
    end = _cutoff(observation_end, t, period, int(occ.max()))
    cal = _cutoff(calibration_end, t, period, end) if calibration_end is not None else end
    if cal > end:
        raise ValueError("calibration_end is after observation_end")
    keep = occ <= end
    if not keep.all():
        cust, occ, amt = cust[keep], occ[keep], amt[keep]
        if len(cust) == 0:
            raise ValueError("no transaction falls before observation_end")

    keys, code = _customer_codes(cust)
    n_customers = len(keys)
    low = int(occ.min())
    span = end - low + 1
    if n_customers * span >= 2**62:
        raise ValueError("too many customers x periods to summarize in one pass")
    pair = np.sort(code * span + (occ - low))
    distinct = np.empty(len(pair), dtype=bool)
    distinct[0] = True
    np.not_equal(pair[1:], pair[:-1], out=distinct[1:])
    upair = pair[distinct]
    uc = upair // span
    up = upair % span + low

    seg_start = np.empty(len(uc), dtype=bool)
    seg_start[0] = True
    np.not_equal(uc[1:], uc[:-1], out=seg_start[1:])
    starts = np.flatnonzero(seg_start)
    first = np.empty(n_customers, dtype=np.int64)
    first[uc[starts]] = up[starts]

    in_cal = up <= cal
    ucal, upcal = uc[in_cal], up[in_cal]
    last = np.full(n_customers, np.iinfo(np.int64).min)
    # Sorted by customer then period: the last calibration pair of each customer wins.
    last[ucal] = upcal
    n_periods = np.bincount(ucal, minlength=n_customers).astype(np.float64)

    tx_cal = occ <= cal
    n_purchases = np.bincount(code[tx_cal], minlength=n_customers).astype(np.float64)
    total = np.bincount(code[tx_cal], weights=amt[tx_cal], minlength=n_customers).astype(np.float64)
    first_period = tx_cal & (occ == first[code])
    first_spend = np.bincount(code[first_period], weights=amt[first_period], minlength=n_customers)

    scale = _DAYS[period] / _DAYS[unit]
    frequency = n_periods - 1.0
    recency = (last - first).astype(np.float64) * scale
    age = (cal - first).astype(np.float64) * scale
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, (total - first_spend) / np.maximum(frequency, 1), 0.0)

    present = first <= cal
    holdout_freq = holdout_spend = None
    duration = None
    if calibration_end is not None:
        hold_pairs = ~in_cal
        holdout_freq = np.bincount(uc[hold_pairs], minlength=n_customers).astype(np.float64)
        hold_tx = ~tx_cal
        holdout_spend = np.bincount(
            code[hold_tx], weights=amt[hold_tx], minlength=n_customers
        ).astype(np.float64)
        holdout_freq, holdout_spend = holdout_freq[present], holdout_spend[present]
        duration = float(end - cal) * scale

    def dates(index: NDArray[np.int64]) -> np.ndarray:
        if not dated:
            return index.astype(np.float64)
        if period == "M":
            return index.astype("datetime64[M]")
        days = index * 7 - 3 if period == "W" else index
        return days.astype("datetime64[D]")

    return TransactionSummary(
        customer=keys[present],
        first_purchase=dates(first[present]),
        last_purchase=dates(last[present]),
        n_purchases=n_purchases[present],
        n_periods=n_periods[present],
        frequency=frequency[present],
        recency=recency[present],
        T=age[present],
        monetary_value=monetary[present],
        total_spend=total[present],
        period=period,
        unit=unit,
        frequency_holdout=holdout_freq,
        spend_holdout=holdout_spend,
        duration_holdout=duration,
    )
