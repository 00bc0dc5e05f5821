"""Buy-till-you-die models: BG/NBD, Pareto/NBD, MBG/NBD, BG/BB and Gamma-Gamma spend.

Also model comparison (log-likelihood, BIC) and a holdout check of the conditional
expectations against what customers actually bought afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from guanxi.analytics._validation import as_float_array
from guanxi.analytics.btyd.base import FitSummary, NotFittedError, TransactionModel, compress_rows
from guanxi.analytics.btyd.bgbb import BetaGeoBetaBinomModel
from guanxi.analytics.btyd.bgnbd import BetaGeoModel
from guanxi.analytics.btyd.gammagamma import GammaGammaModel
from guanxi.analytics.btyd.mbgnbd import ModifiedBetaGeoModel
from guanxi.analytics.btyd.paretonbd import ParetoNBDModel

MODELS: dict[str, type] = {
    "bgnbd": BetaGeoModel,
    "paretonbd": ParetoNBDModel,
    "mbgnbd": ModifiedBetaGeoModel,
    "bgbb": BetaGeoBetaBinomModel,
    "gammagamma": GammaGammaModel,
}

__all__ = [
    "MODELS",
    "BetaGeoBetaBinomModel",
    "BetaGeoModel",
    "FitSummary",
    "GammaGammaModel",
    "HoldoutCheck",
    "ModifiedBetaGeoModel",
    "NotFittedError",
    "ParetoNBDModel",
    "compare_models",
    "compress_rows",
    "holdout_check",
]


def compare_models(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    models: tuple[str, ...] = ("bgnbd", "paretonbd", "mbgnbd"),
    weights: ArrayLike | None = None,
) -> list[FitSummary]:
    """Fit each purchase model on the same customers; best (lowest BIC) first."""
    fits = []
    for name in models:
        model = MODELS[name]()
        if not isinstance(model, TransactionModel):
            raise ValueError(f"{name} is not a purchase-count model")
        fits.append(model.fit(frequency, recency, T, weights).summary())
    return sorted(fits, key=lambda fit: fit.bic)


@dataclass(frozen=True)
class HoldoutCheck:
    """Predicted vs actual holdout purchases, overall and by calibration frequency."""

    predicted_total: float
    actual_total: float
    mean_absolute_error: float
    root_mean_squared_error: float
    by_frequency: list[tuple[str, int, float, float]]  # (bucket, customers, predicted, actual)


def holdout_check(
    model: TransactionModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    frequency_holdout: ArrayLike,
    duration_holdout: float,
    *,
    max_bucket: int = 7,
) -> HoldoutCheck:
    """Compare ``E[Y(duration) | x, t_x, T]`` with the purchases actually made in the holdout
    period (Fader, Hardie & Lee 2005, Figure 4: conditional expectations by calibration
    frequency, the last bucket ``max_bucket+``)."""
    x = as_float_array(frequency, "frequency")
    actual = as_float_array(frequency_holdout, "frequency_holdout")
    predicted = model.conditional_expected_purchases(duration_holdout, x, recency, T)
    error = predicted - actual
    bucket = np.minimum(x, max_bucket).astype(int)
    rows = []
    for b in range(max_bucket + 1):
        mask = bucket == b
        if mask.any():
            label = f"{b}+" if b == max_bucket else str(b)
            rows.append(
                (label, int(mask.sum()), float(predicted[mask].mean()), float(actual[mask].mean()))
            )
    return HoldoutCheck(
        float(predicted.sum()),
        float(actual.sum()),
        float(np.abs(error).mean()),
        float(np.sqrt((error**2).mean())),
        rows,
    )
