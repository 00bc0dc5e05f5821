"""Model fitting and scoring of the whole customer base, vectorized, through the analytics core.

No database here: the refresh passes the summary arrays in and writes the arrays that come
out. Every figure comes from :mod:`guanxi.analytics`:

* RFM scores and segments: :func:`guanxi.analytics.rfm.rfm_scores`;
* the Pareto (80/20) grade of revenue and the multi-criteria grade:
  :func:`guanxi.analytics.abc.pareto_grades`, :func:`guanxi.analytics.abc.weighted_score`;
* purchase model chosen by BIC among BG/NBD and Pareto/NBD
  (:func:`guanxi.analytics.btyd.compare_models`), checked on a holdout period
  (:func:`guanxi.analytics.btyd.holdout_check`), Gamma-Gamma spend, expected purchases,
  P(alive) and discounted CLV;
* the relationship rules (loyalty index, ladder stage, portfolio quadrant, Kotler level and
  tier) of :mod:`guanxi.analytics.rules`.

The rules decide one customer at a time. Their outcome depends on the inputs only through the
comparisons their docstrings document (purchases against ``regular_purchases``, P(alive)
against ``churn_p_alive`` ...), with thresholds this module passes explicitly; so customers
are grouped by the outcome of those comparisons and the rule is called once per group, on
a real customer of the group (:func:`_decide_by_class`). A test checks that every customer
gets what the rule says when called on that customer alone.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from guanxi.analytics import abc, rfm, rules
from guanxi.analytics.btyd import MODELS, GammaGammaModel, compare_models, holdout_check
from guanxi.analytics.btyd.base import compress_rows

from .choices import ChurnRisk, FitFailure, segment_code
from .conf import RefreshSettings
from .summary import DatabaseSummary

#: Candidate purchase models, compared by BIC.
CANDIDATES = ("bgnbd", "paretonbd")
#: Below these, no model is fitted and the reason is shown instead.
MIN_CUSTOMERS = 50
MIN_REPEAT_CUSTOMERS = 20
MIN_SPAN_WEEKS = 8.0
#: Thresholds passed to the rules (their documented defaults, made explicit here).
REGULAR_PURCHASES = 3
SUPPORTER_LOYALTY = 0.6
ADVOCATE_LOYALTY = 0.8
CHURN_AFTER_DAYS = 365.0
CHURN_P_ALIVE = 0.1
LOYALTY_THRESHOLD = 0.5
UPGRADE_RATIO = 3.0
#: Churn-risk bands: P(alive) below these is high / medium risk; for a customer without a
#: P(alive) (no model, or none for that customer), days since the last purchase at or above
#: these.
RISK_P_ALIVE = (0.3, 0.7)
RISK_DAYS = (365, 180)
#: P(alive) is stored and shown with this many decimals, and the rules decide on that value.
P_ALIVE_DECIMALS = 4
#: Credit ratings as a 0..1 criterion of the multi-criteria grade (overdue halves it).
CREDIT_SCORES = {"AAA": 1.0, "AA": 0.9, "A": 0.8, "BBB": 0.65, "BB": 0.5, "B": 0.35, "C": 0.2}


@dataclass
class Btyd:
    """The (x, t_x, T) statistics in weeks, for the whole period and for calibration."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    monetary: np.ndarray
    cal: np.ndarray  # customers already present at the calibration end
    x_cal: np.ndarray
    t_x_cal: np.ndarray
    T_cal: np.ndarray
    x_holdout: np.ndarray
    holdout_weeks: float
    span_weeks: float


def btyd_statistics(summary: DatabaseSummary) -> Btyd:
    """Frequency, recency and age (weeks) of every customer, and the calibration split."""
    scale = summary.days_per_period / 7.0
    x = (summary.periods - 1).astype(np.float64)
    t_x = (summary.last - summary.first) * scale
    T = (summary.end - summary.first) * scale
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(x > 0, (summary.spend - summary.first_spend) / np.maximum(x, 1), 0.0)
    cal = summary.first <= summary.calibration_end
    x_cal = (summary.periods_cal[cal] - 1).astype(np.float64)
    t_x_cal = (summary.last_cal[cal] - summary.first[cal]) * scale
    T_cal = (summary.calibration_end - summary.first[cal]) * scale
    span = (summary.end - int(summary.first.min())) * scale if len(summary) else 0.0
    return Btyd(
        x=x,
        t_x=np.asarray(t_x, dtype=np.float64),
        T=np.asarray(T, dtype=np.float64),
        monetary=np.asarray(monetary, dtype=np.float64),
        cal=cal,
        x_cal=x_cal,
        t_x_cal=np.asarray(t_x_cal, dtype=np.float64),
        T_cal=np.asarray(T_cal, dtype=np.float64),
        x_holdout=summary.periods_holdout[cal].astype(np.float64),
        holdout_weeks=float((summary.end - summary.calibration_end) * scale),
        span_weeks=float(span),
    )


@dataclass
class FitResult:
    """The chosen purchase model and spend model, or why there is none."""

    model: Any = None
    spend_model: GammaGammaModel | None = None
    comparison: list[dict[str, Any]] = field(default_factory=list)
    holdout: dict[str, Any] = field(default_factory=dict)
    failure: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    #: The holdout check still running (``fit_models(background_holdout=True)``).
    holdout_future: Future[dict[str, Any]] | None = None

    def wait_holdout(self) -> dict[str, Any]:
        """The holdout check, once the background refit (if any) has finished."""
        if self.holdout_future is not None:
            self.holdout = self.holdout_future.result()
            self.holdout_future = None
        return self.holdout

    @property
    def name(self) -> str:
        """Name of the CLV model (purchase model + spend model)."""
        if self.model is None:
            return ""
        spend = "gammagamma" if self.spend_model is not None else "mean spend"
        return f"{self.model.model_name} + {spend}"

    def params(self) -> dict[str, Any]:
        """Fitted parameters of both models (JSON-ready), to score single customers later."""
        out: dict[str, Any] = {}
        if self.model is not None:
            out["purchase"] = {"model": self.model.model_name, "params": self.model.params_}
        if self.spend_model is not None:
            out["spend"] = {"model": "gammagamma", "params": self.spend_model.params_}
        return out


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def fit_models(stats: Btyd, *, background_holdout: bool = False) -> FitResult:
    """Fit the candidate purchase models, keep the best converged one by BIC, check it on
    the holdout period, and fit Gamma-Gamma on the repeat customers.

    The candidate models and Gamma-Gamma are fitted side by side in threads (numpy and
    scipy release the GIL in their array loops; each fit is the same computation as alone).
    With ``background_holdout`` the holdout refit runs on in a thread after this returns:
    :meth:`FitResult.wait_holdout` gives its result (the refresh scores and writes
    meanwhile).
    """
    result = FitResult()
    n = len(stats.x)
    repeat = int((stats.x > 0).sum())
    if n < MIN_CUSTOMERS:
        result.failure, result.detail = FitFailure.TOO_FEW_CUSTOMERS, {"customers": n}
        return result
    if repeat < MIN_REPEAT_CUSTOMERS:
        result.failure, result.detail = FitFailure.TOO_FEW_REPEAT, {"repeat": repeat}
        return result
    if stats.span_weeks < MIN_SPAN_WEEKS:
        result.failure = FitFailure.TOO_SHORT
        result.detail = {"weeks": round(stats.span_weeks, 1)}
        return result
    with ThreadPoolExecutor(max_workers=len(CANDIDATES) + 1) as pool:
        spend = pool.submit(_fit_gamma_gamma, stats)
        candidates = [
            pool.submit(compare_models, stats.x, stats.t_x, stats.T, models=(name,))
            for name in CANDIDATES
        ]
        try:
            # compare_models on all candidates at once: best (lowest BIC) first.
            fits = sorted([f for c in candidates for f in c.result()], key=lambda f: f.bic)
        except (ValueError, ArithmeticError, FloatingPointError) as exc:
            result.failure, result.detail = FitFailure.ERROR, {"error": str(exc)}
            return result
        spend_fit = spend.result()
    result.comparison = [
        {
            "model": fit.model,
            "log_likelihood": _finite(fit.log_likelihood),
            "bic": _finite(fit.bic),
            "converged": fit.converged,
            "params": fit.params,
            "n_unique": fit.n_unique,
        }
        for fit in fits
    ]
    usable = [fit for fit in fits if fit.converged and math.isfinite(fit.log_likelihood)]
    if not usable:
        result.failure = FitFailure.NOT_CONVERGED
        result.detail = {"models": [fit.model for fit in fits]}
        return result
    best = usable[0]
    model_class: Any = MODELS[best.model]
    result.model = model_class.from_params(**best.params)
    if background_holdout:
        holdout: Future[dict[str, Any]] = Future()

        def run_holdout() -> None:
            try:
                holdout.set_result(_holdout(best.model, stats))
            except BaseException as exc:  # handed to wait_holdout()
                holdout.set_exception(exc)

        threading.Thread(target=run_holdout, name="insight-holdout", daemon=True).start()
        result.holdout_future = holdout
    else:
        result.holdout = _holdout(best.model, stats)
    result.spend_model = _apply_spend(spend_fit, result)
    return result


def _holdout(name: str, stats: Btyd) -> dict[str, Any]:
    """Refit on the calibration period and compare with the purchases made afterwards."""
    if not stats.cal.any() or stats.holdout_weeks <= 0:
        return {"error": "no holdout period"}
    try:
        model = MODELS[name]().fit(stats.x_cal, stats.t_x_cal, stats.T_cal)
        check = holdout_check(
            model, stats.x_cal, stats.t_x_cal, stats.T_cal, stats.x_holdout, stats.holdout_weeks
        )
    except (ValueError, ArithmeticError, FloatingPointError) as exc:
        return {"error": str(exc)}
    return {
        "weeks": round(stats.holdout_weeks, 2),
        "customers": int(stats.cal.sum()),
        "predicted_total": check.predicted_total,
        "actual_total": check.actual_total,
        "mean_absolute_error": check.mean_absolute_error,
        "root_mean_squared_error": check.root_mean_squared_error,
        "by_frequency": [
            {"group": label, "customers": count, "predicted": predicted, "actual": actual}
            for label, count, predicted, actual in check.by_frequency
        ],
        "params": model.params_,
    }


def _fit_gamma_gamma(stats: Btyd) -> tuple[GammaGammaModel | None, str]:
    """Gamma-Gamma on the repeat customers with a positive spend, or why there is none."""
    repeat = (stats.x > 0) & (stats.monetary > 0)
    if repeat.sum() < MIN_REPEAT_CUSTOMERS:
        return None, "too few repeat customers with a positive spend"
    try:
        model = GammaGammaModel().fit(stats.x[repeat], stats.monetary[repeat])
        model.expected_average_spend()  # raises when the spend has no finite mean
    except (ValueError, ArithmeticError, FloatingPointError) as exc:
        return None, str(exc)
    return model, ""


def _apply_spend(
    fitted: tuple[GammaGammaModel | None, str], result: FitResult
) -> GammaGammaModel | None:
    """Record the Gamma-Gamma fit (or why there is none) on ``result``."""
    model, reason = fitted
    if model is None:
        result.detail["spend"] = reason
        return None
    result.comparison.append(
        {
            "model": "gammagamma",
            "log_likelihood": _finite(model.log_likelihood_),
            "bic": None,
            "converged": model.converged_,
            "params": model.params_,
            "n_unique": model.n_unique_,
        }
    )
    return model


@dataclass
class Predictions:
    """Per-customer predictions of the fitted models (NaN where there is no model)."""

    expected_purchases: np.ndarray
    p_alive: np.ndarray
    expected_spend: np.ndarray
    clv: np.ndarray


def predict(
    fit: FitResult,
    stats: Btyd,
    summary: DatabaseSummary,
    params: RefreshSettings,
    *,
    batch_size: int,
    between_batches: Callable[[float], None] | None = None,
) -> Predictions:
    """Expected purchases, P(alive), expected spend and CLV, in batches of customers.

    ``between_batches(done_share)`` runs after every batch (progress, cancellation).
    """
    n = len(stats.x)
    out = Predictions(*(np.full(n, np.nan) for _ in range(4)))
    if fit.model is None:
        return out
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_spend = np.where(summary.periods > 0, summary.spend / summary.periods, 0.0)
    # Monthly discounting steps over the horizon.
    steps = max(1, round(params.horizon / (52.0 / 12.0)))
    # The purchase predictions depend on (x, t_x, T) only: each distinct row is computed
    # once (a third fewer rows than customers on the demo set), in batches of rows.
    (ux, utx, uT), _, inverse = compress_rows(stats.x, stats.t_x, stats.T)
    unique = len(ux)
    expected, alive, value = (np.empty(unique) for _ in range(3))
    for start in range(0, unique, batch_size):
        part = slice(start, min(start + batch_size, unique))
        x, t_x, T = ux[part], utx[part], uT[part]
        expected[part] = fit.model.conditional_expected_purchases(params.next_period, x, t_x, T)
        alive[part] = fit.model.probability_alive(x, t_x, T)
        # CLV = margin x spend x discounted expected purchases: the last factor per row.
        value[part] = fit.model.customer_lifetime_value(
            x,
            t_x,
            T,
            expected_spend=np.ones(len(x)),
            horizon=params.horizon,
            margin=1.0,
            discount_rate=params.weekly_discount_rate,
            steps=steps,
        )
        if between_batches is not None:
            between_batches(part.stop / unique)
    out.expected_purchases = expected[inverse]
    out.p_alive = alive[inverse]
    if fit.spend_model is not None:
        spend = fit.spend_model.conditional_expected_average_spend(stats.x, stats.monetary)
    else:
        spend = mean_spend
    out.expected_spend = np.asarray(spend, dtype=np.float64)
    out.clv = np.asarray(params.margin * out.expected_spend * value[inverse], dtype=np.float64)
    return out


@dataclass
class RuleScores:
    """Rule-based results for the customers with orders (same order as the summary)."""

    recency_score: np.ndarray
    frequency_score: np.ndarray
    monetary_score: np.ndarray
    segment: np.ndarray
    abc_grade: np.ndarray
    abc_score: np.ndarray
    abc_score_grade: np.ndarray
    loyalty: np.ndarray
    ladder: np.ndarray
    churn_risk: np.ndarray
    quadrant: np.ndarray
    level: np.ndarray
    tier: np.ndarray
    portfolio_threshold: float
    grade_sizes: dict[str, int]


def _decide_by_class(
    key: np.ndarray, decide: Callable[[int], rules.Decision]
) -> tuple[np.ndarray, list[rules.Decision]]:
    """Call ``decide(index)`` once per distinct ``key`` (on its first customer) and spread
    the decision's value to every customer with that key."""
    _classes, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    decisions = [decide(int(i)) for i in first]
    values = np.array([str(d.value) for d in decisions], dtype=object)
    return values[inverse.reshape(-1)], decisions


def _opt(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def stored_p_alive(p_alive: np.ndarray) -> np.ndarray:
    """P(alive) as the insight stores and shows it: rounded to :data:`P_ALIVE_DECIMALS`
    decimals. NaN (no probability for that customer) stays NaN."""
    return np.round(np.asarray(p_alive, dtype=np.float64), P_ALIVE_DECIMALS)


def loyalty_indexes(orders: np.ndarray) -> np.ndarray:
    """Loyalty index (0..1) of every customer from its number of orders.

    The behavioural measure only: ``orders - 1`` repeat purchases (none below two orders)
    scored by :func:`guanxi.analytics.rules.loyalty_index` with its defaults, which is called
    once per distinct count. Returns float64 values in the order of ``orders``.
    """
    repeat = np.maximum(np.asarray(orders, dtype=np.int64) - 1, 0)
    counts, inverse = np.unique(repeat, return_inverse=True)
    values = np.array(
        [rules.loyalty_index(repeat_purchases=count).value for count in counts.tolist()],
        dtype=np.float64,
    )
    return values[inverse.reshape(-1)]


def ladder_stages(
    orders: np.ndarray, recency_days: np.ndarray, loyalty: np.ndarray, p_alive: np.ndarray
) -> np.ndarray:
    """Stage on the loyalty ladder (a :class:`~guanxi.insights.choices.LadderStage` code) of
    every customer, as :func:`guanxi.analytics.rules.ladder_stage` decides it with this
    module's thresholds (:data:`REGULAR_PURCHASES`, :data:`SUPPORTER_LOYALTY`,
    :data:`ADVOCATE_LOYALTY`, :data:`CHURN_AFTER_DAYS`, :data:`CHURN_P_ALIVE`) and no referrals.

    ``orders``, ``recency_days`` (days since the last purchase), ``loyalty`` (see
    :func:`loyalty_indexes`) and ``p_alive`` are arrays of one value per customer. The rule
    sees P(alive) as stored (:func:`stored_p_alive`, rounded to :data:`P_ALIVE_DECIMALS`
    decimals), so the stored stage is what the rule says on the stored figures; a NaN P(alive)
    is no probability for that customer (only recency can make it churned). The rule's
    outcome depends on its inputs only through the comparisons its docstring documents, so it
    is called once per class of customers (:func:`_decide_by_class`). Returns an object array
    of ``str``.
    """
    purchases = np.asarray(orders, dtype=np.int64)
    recency = np.asarray(recency_days, dtype=np.float64)
    loyal = np.asarray(loyalty, dtype=np.float64)
    alive = stored_p_alive(p_alive)
    key = (
        np.minimum(purchases, REGULAR_PURCHASES) * 32
        + (recency >= CHURN_AFTER_DAYS) * 16
        + (np.nan_to_num(alive, nan=1.0) < CHURN_P_ALIVE) * 8
        + (loyal >= SUPPORTER_LOYALTY) * 4
        + (loyal >= ADVOCATE_LOYALTY) * 2
    )
    stages, _ = _decide_by_class(
        key,
        lambda i: rules.ladder_stage(
            purchases=int(purchases[i]),
            days_since_last_purchase=float(recency[i]),
            loyalty=float(loyal[i]),
            referrals=0,
            p_alive=_opt(alive[i]),
            regular_purchases=REGULAR_PURCHASES,
            supporter_loyalty=SUPPORTER_LOYALTY,
            advocate_loyalty=ADVOCATE_LOYALTY,
            churn_after_days=CHURN_AFTER_DAYS,
            churn_p_alive=CHURN_P_ALIVE,
        ),
    )
    return stages


def churn_risks(p_alive: np.ndarray, recency_days: np.ndarray) -> np.ndarray:
    """Churn-risk band (a :class:`~guanxi.insights.choices.ChurnRisk` code) of every customer.

    Decided per customer: from P(alive) where the customer has one (below
    ``RISK_P_ALIVE[0]`` high, below ``RISK_P_ALIVE[1]`` medium, else low), compared as stored
    (:func:`stored_p_alive`, rounded to :data:`P_ALIVE_DECIMALS` decimals); where P(alive) is
    NaN (no model, or no probability for this customer) from ``recency_days``, the days since
    the last purchase (at or above ``RISK_DAYS[0]`` high, ``RISK_DAYS[1]`` medium, else low).
    Returns an object array of ``str``.
    """
    alive = stored_p_alive(p_alive)
    recency = np.asarray(recency_days, dtype=np.float64)
    high, medium, low = ChurnRisk.HIGH.value, ChurnRisk.MEDIUM.value, ChurnRisk.LOW.value
    by_alive = np.where(
        alive < RISK_P_ALIVE[0], high, np.where(alive < RISK_P_ALIVE[1], medium, low)
    )
    by_days = np.where(
        recency >= RISK_DAYS[0], high, np.where(recency >= RISK_DAYS[1], medium, low)
    )
    return np.where(np.isnan(alive), by_days, by_alive).astype(object)


def score_rules(
    summary: DatabaseSummary,
    predictions: Predictions,
    params: RefreshSettings,
    *,
    end_day: int,
    credit: np.ndarray,
) -> RuleScores:
    """RFM, ABC, loyalty, ladder, churn risk, portfolio and relationship level of every
    customer with orders. ``credit`` is the 0..1 credit criterion (NaN unknown).

    Loyalty, ladder stage and churn risk come from :func:`loyalty_indexes`,
    :func:`ladder_stages` and :func:`churn_risks`, which the per-order upkeep calls too."""
    n = len(summary)
    recency_days = (end_day - summary.last_day).astype(np.float64)
    orders = summary.orders.astype(np.float64)
    spend = np.clip(summary.spend, 0.0, None)
    scored = rfm.rfm_scores(recency_days, orders, spend)
    names = scored.segment.tolist()
    code_of = {name: segment_code(name) for name in set(names)}  # a handful of segments
    segment = np.array([code_of[name] for name in names], dtype=object)

    abc_grade = abc.pareto_grades(spend)

    loyalty = loyalty_indexes(summary.orders)

    p_alive = predictions.p_alive
    has_model = bool(np.isfinite(p_alive).any())
    criteria = {
        "purchase_frequency": (scored.frequency_score - 1) / 4.0,
        "purchase_volume": (scored.monetary_score - 1) / 4.0,
        "credit_status": credit,
        "loyalty": loyalty,
    }
    if has_model:
        criteria["purchase_probability"] = p_alive
    weighted = abc.weighted_score(criteria)

    ladder = ladder_stages(summary.orders, recency_days, loyalty, p_alive)
    risk = churn_risks(p_alive, recency_days)

    value = np.where(np.isfinite(predictions.clv), predictions.clv, spend)
    expected_loyalty = p_alive if has_model else loyalty
    threshold = float(np.median(value)) if n else 0.0
    quadrant_key = (value >= threshold) * 2 + (expected_loyalty >= LOYALTY_THRESHOLD)
    quadrant, _ = _decide_by_class(
        quadrant_key,
        lambda i: rules.portfolio_quadrant(
            value=float(value[i]),
            expected_loyalty=float(expected_loyalty[i]),
            value_threshold=threshold,
            loyalty_threshold=LOYALTY_THRESHOLD,
        ),
    )
    quadrant = np.array([q.replace(" ", "_") for q in quadrant.tolist()], dtype=object)

    grades, counts = np.unique(abc_grade, return_counts=True)
    grade_sizes = dict(zip(grades.tolist(), counts.tolist(), strict=True))
    cost = params.cost_to_keep if params.cost_to_keep > 0 else None
    grade_code = np.searchsorted(grades, abc_grade)
    level_key = grade_code * 4
    if cost is not None:
        clv = np.nan_to_num(predictions.clv, nan=0.0)
        level_key = level_key + (clv / cost < 1) * 2 + (clv / cost >= UPGRADE_RATIO)
    level, decisions = _decide_by_class(
        level_key,
        lambda i: rules.kotler_level(
            customer_count=grade_sizes[str(abc_grade[i])],
            unit_margin=params.margin,
            clv=_opt(predictions.clv[i]) if cost is not None else None,
            cost_to_keep=cost,
            upgrade_ratio=UPGRADE_RATIO,
        ),
    )
    tier_of = {str(d.value): d.facts["tier"] for d in decisions}
    tier = np.array([tier_of[v] for v in level.tolist()], dtype=object)

    return RuleScores(
        recency_score=scored.recency_score,
        frequency_score=scored.frequency_score,
        monetary_score=scored.monetary_score,
        segment=segment,
        abc_grade=abc_grade.astype(object),
        abc_score=weighted.score,
        abc_score_grade=weighted.grade.astype(object),
        loyalty=loyalty,
        ladder=ladder,
        churn_risk=risk,
        quadrant=quadrant,
        level=level,
        tier=tier,
        portfolio_threshold=threshold,
        grade_sizes=grade_sizes,
    )


def credit_criterion(rating_code: np.ndarray, overdue: np.ndarray) -> np.ndarray:
    """0..1 credit criterion from rating codes (index into :data:`CREDIT_SCORES`, -1 unknown)
    and the overdue flag (halves it)."""
    scores = np.array([*list(CREDIT_SCORES.values()), 0.0], dtype=np.float64)
    value = np.where(rating_code >= 0, scores[np.clip(rating_code, 0, len(scores) - 1)], np.nan)
    return np.where(overdue, value * 0.5, value)
