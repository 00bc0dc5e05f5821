"""guanxi.analytics: the pure customer-value library (numpy + scipy, no Django, no I/O).

Modules
-------
summary
    Per-customer summaries of a transaction log (RFM inputs, BTYD statistics, holdout).
rfm
    RFM quantile scores and named segments.
abc
    ABC (80/20) grading and the multi-criteria weighted score.
btyd
    BG/NBD, Pareto/NBD, MBG/NBD, BG/BB and Gamma-Gamma models, CLV and customer equity,
    model comparison, exact simulators (:mod:`guanxi.analytics.btyd.simulate`).
rules
    Loyalty index, ladder stage, portfolio quadrant, Kotler level and relationship tier.

The package imports nothing heavy: names are resolved on first use so that the command line
(``guanxi analytics``) starts fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "summarize_transactions": "guanxi.analytics.summary",
    "TransactionSummary": "guanxi.analytics.summary",
    "rfm_scores": "guanxi.analytics.rfm",
    "pareto_grades": "guanxi.analytics.abc",
    "weighted_score": "guanxi.analytics.abc",
    "expected_value": "guanxi.analytics.abc",
    "BetaGeoModel": "guanxi.analytics.btyd",
    "ParetoNBDModel": "guanxi.analytics.btyd",
    "ModifiedBetaGeoModel": "guanxi.analytics.btyd",
    "BetaGeoBetaBinomModel": "guanxi.analytics.btyd",
    "GammaGammaModel": "guanxi.analytics.btyd",
    "compare_models": "guanxi.analytics.btyd",
    "holdout_check": "guanxi.analytics.btyd",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'guanxi.analytics' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
