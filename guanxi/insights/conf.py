"""Settings of the insight refresh, with their defaults.

Each can be set in the Django settings (``GUANXI_INSIGHTS_<NAME>``) or, for the stock
settings module, in the environment variable of the same name.

================================  =======  ====================================================
setting                           default  meaning
================================  =======  ====================================================
``GUANXI_INSIGHTS_PERIOD``        ``D``    purchase occasion: ``D`` distinct days, ``W`` weeks
``GUANXI_INSIGHTS_MARGIN``        0.3      share of spend that is margin (CLV)
``GUANXI_INSIGHTS_DISCOUNT_RATE`` 0.10     yearly discount rate of future margin (CLV)
``GUANXI_INSIGHTS_HORIZON``       52       CLV horizon, in weeks
``GUANXI_INSIGHTS_NEXT_PERIOD``   13       weeks of "expected purchases in the next period"
``GUANXI_INSIGHTS_HOLDOUT``       0.25     share of the time span held out to check the model
``GUANXI_INSIGHTS_BATCH_SIZE``    100000   customers scored and written per batch
``GUANXI_INSIGHTS_NIGHTLY_AT``    02:00    local time of the nightly refresh (worker --schedule)
``GUANXI_INSIGHTS_COST_TO_KEEP``  0        yearly cost of a relationship (0: not used)
``GUANXI_INSIGHTS_SUMMARY_WORKERS`` 2      parts the summary of a large base (200,000
                                           customers or more) is split over: connections in
                                           threads on PostgreSQL, forked processes on SQLite
``GUANXI_INSIGHTS_SNAPSHOT_DAYS`` 92       days for which every dated snapshot is kept; older
                                           ones are thinned to the last of each month
                                           (0: keep every snapshot)
================================  =======  ====================================================

Model time is measured in weeks (as in Fader, Hardie & Lee's CDNOW analyses); the yearly
discount rate is turned into a weekly one.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "PERIOD": "D",
    "MARGIN": 0.3,
    "DISCOUNT_RATE": 0.10,
    "HORIZON": 52.0,
    "NEXT_PERIOD": 13.0,
    "HOLDOUT": 0.25,
    "BATCH_SIZE": 100_000,
    "NIGHTLY_AT": "02:00",
    "COST_TO_KEEP": 0.0,
    "SUMMARY_WORKERS": 2,
    "SNAPSHOT_DAYS": 92,
}


def _value(name: str) -> Any:
    key = f"GUANXI_INSIGHTS_{name}"
    default = DEFAULTS[name]
    value = getattr(settings, key, None)
    if value is None:
        value = os.environ.get(key)
    if value is None:
        return default
    return type(default)(value)


def snapshot_days() -> int:
    """Days of history for which a refresh keeps every dated snapshot (0: all, forever)."""
    return max(0, int(_value("SNAPSHOT_DAYS")))


def summary_workers() -> int:
    """How many connections the summary of a large base runs on (at least 1)."""
    return max(1, int(_value("SUMMARY_WORKERS")))


@dataclass(frozen=True)
class RefreshSettings:
    """The parameters of one refresh (stored on the run, so a result says how it was made)."""

    period: str
    margin: float
    discount_rate: float
    horizon: float
    next_period: float
    holdout: float
    batch_size: int
    cost_to_keep: float

    @property
    def weekly_discount_rate(self) -> float:
        """The yearly rate as a rate per week: ``(1 + d) ** (1 / 52) - 1``."""
        return float((1.0 + self.discount_rate) ** (1.0 / 52.0) - 1.0)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready parameters."""
        return asdict(self)


def refresh_settings(**overrides: Any) -> RefreshSettings:
    """The configured parameters, with ``overrides`` (e.g. from the command line) applied."""
    values: dict[str, Any] = {
        "period": str(_value("PERIOD")).upper(),
        "margin": float(_value("MARGIN")),
        "discount_rate": float(_value("DISCOUNT_RATE")),
        "horizon": float(_value("HORIZON")),
        "next_period": float(_value("NEXT_PERIOD")),
        "holdout": float(_value("HOLDOUT")),
        "batch_size": int(_value("BATCH_SIZE")),
        "cost_to_keep": float(_value("COST_TO_KEEP")),
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    if values["period"] not in ("D", "W"):
        raise ValueError("GUANXI_INSIGHTS_PERIOD must be D (days) or W (weeks)")
    if not 0 < values["holdout"] < 1:
        raise ValueError("GUANXI_INSIGHTS_HOLDOUT must be between 0 and 1")
    if values["batch_size"] < 1:
        raise ValueError("GUANXI_INSIGHTS_BATCH_SIZE must be positive")
    return RefreshSettings(**values)


def nightly_at() -> tuple[int, int]:
    """(hour, minute) of the nightly refresh."""
    hour, _, minute = str(_value("NIGHTLY_AT")).partition(":")
    return int(hour), int(minute or 0)
