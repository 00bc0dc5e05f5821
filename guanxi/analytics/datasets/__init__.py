"""Small public data sets shipped for tests and examples (see README.md beside this file).

Loaders return plain numpy arrays (the analytics core does not depend on pandas).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from guanxi.analytics._validation import FloatArray

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class CDNOWSummary:
    """The CDNOW cohort: 2,357 customers, 39-week calibration (weeks, daily occasions)."""

    customer: FloatArray
    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    monetary_value: FloatArray


def load_cdnow_summary() -> CDNOWSummary:
    """Fader & Hardie's CDNOW calibration summary (x, t_x, T, mean repeat spend zbar)."""
    data = np.loadtxt(HERE / "cdnow_summary.csv", delimiter=",", skiprows=1)
    return CDNOWSummary(data[:, 0], data[:, 1], data[:, 2], data[:, 3], data[:, 4])


@dataclass(frozen=True)
class CDNOWTransactions:
    """The CDNOW 1/10 sample transaction log (1997-01-01 .. 1998-06-30)."""

    customer: np.ndarray
    date: np.ndarray
    cds: np.ndarray
    amount: FloatArray


def load_cdnow_transactions() -> CDNOWTransactions:
    """The 6,919 purchases of the 2,357 CDNOW sample customers."""
    raw = np.loadtxt(HERE / "cdnow_sample_transactions.txt.gz", dtype=str)
    digits = raw[:, 2]
    dates = np.array([f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in digits], dtype="datetime64[D]")
    return CDNOWTransactions(
        raw[:, 1].astype(np.int64), dates, raw[:, 3].astype(np.int64), raw[:, 4].astype(np.float64)
    )


@dataclass(frozen=True)
class Donations:
    """Fader, Hardie & Shang's (2010) donation data: 11,104 donors, 6 yearly opportunities."""

    frequency: FloatArray
    recency: FloatArray
    periods: FloatArray
    weights: FloatArray


def load_donations() -> Donations:
    """Counts of donors by (x, t_x, n) for the BG/BB model."""
    data = np.loadtxt(HERE / "donations.csv", delimiter=",", skiprows=1)
    return Donations(data[:, 0], data[:, 1], data[:, 2], data[:, 3])
