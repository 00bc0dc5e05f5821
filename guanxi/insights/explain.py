"""Reasons in words, in the user's language, for the stored insight codes.

The analytics rules return a stable ``code`` and the ``facts`` they used (their English
``reason`` is for analysts); here each code gets a translatable sentence filled with those
facts. The rules are called again for the one customer shown, with the stored values and the
run's parameters, so the explanation is exactly the decision that was stored.
"""

from __future__ import annotations

from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from guanxi.analytics import rules

from . import scoring
from .choices import FitFailure, RFMSegment
from .models import CustomerInsight, RefreshRun


def _pct(value: float) -> str:
    return f"{number_format(round(value * 100))}%"


def _money(value: Any) -> str:
    return number_format(round(float(value), 2), decimal_pos=2, force_grouping=True)


def segment_meaning(code: str) -> str:
    """What an RFM segment means, translated."""
    meanings = {
        RFMSegment.CHAMPIONS: _("bought recently, buy often and spend the most"),
        RFMSegment.LOYAL: _("buy often and spend a lot, not always recently"),
        RFMSegment.POTENTIAL_LOYALISTS: _("recent customers with average frequency and spend"),
        RFMSegment.NEW: _("bought very recently, but not often yet"),
        RFMSegment.PROMISING: _("recent buyers who have not spent much yet"),
        RFMSegment.NEED_ATTENTION: _("average recency, frequency and spend"),
        RFMSegment.ABOUT_TO_SLEEP: _("below average recency, frequency and spend"),
        RFMSegment.CANT_LOSE: _("used to buy often and spend the most, but not lately"),
        RFMSegment.AT_RISK: _("spent well and often, long ago"),
        RFMSegment.HIBERNATING: _("last bought long ago, seldom and for little"),
        RFMSegment.LOST: _("lowest recency, frequency and spend"),
    }
    return meanings.get(code, "")  # type: ignore[call-overload]


def rfm_reason(insight: CustomerInsight) -> str:
    """RFM scores with the figures behind them."""
    if not insight.rfm_segment:
        return _("No purchase yet: no RFM score.")
    return _(
        "R %(r)s, F %(f)s, M %(m)s (5 is best): last purchase %(days)s days ago, "
        "%(orders)s orders, %(spend)s spent; %(segment)s: %(meaning)s."
    ) % {
        "r": insight.recency_score,
        "f": insight.frequency_score,
        "m": insight.monetary_score,
        "days": insight.recency_days,
        "orders": insight.order_count,
        "spend": _money(insight.total_spend),
        "segment": insight.get_rfm_segment_display(),
        "meaning": segment_meaning(insight.rfm_segment),
    }


def abc_reason(insight: CustomerInsight) -> str:
    """What the Pareto grade and the multi-criteria score mean."""
    if not insight.abc_grade:
        return _("No purchase yet: no grade.")
    pareto = {
        # xgettext:no-python-format
        "A": _("among the customers who bring the first 80% of revenue"),
        # xgettext:no-python-format
        "B": _("among the customers who bring the next 15% of revenue"),
        # xgettext:no-python-format
        "C": _("among the customers who bring the last 5% of revenue"),
    }[insight.abc_grade]
    text = _("Grade %(grade)s: %(why)s.") % {"grade": insight.abc_grade, "why": pareto}
    if insight.abc_score is not None:
        text += " " + _(
            "Multi-criteria score %(score)s of 1 (purchase probability, frequency, volume, "
            "credit, loyalty): grade %(grade)s."
        ) % {
            "score": number_format(round(insight.abc_score, 2), decimal_pos=2),
            "grade": insight.abc_score_grade,
        }
    return text


def ladder_reason(insight: CustomerInsight) -> str:
    """Why the customer stands on this step of the ladder (the rule called again)."""
    loyalty = insight.loyalty_index
    if loyalty is None and insight.order_count:
        loyalty = rules.loyalty_index(repeat_purchases=max(insight.order_count - 1, 0)).value
    decision = rules.ladder_stage(
        purchases=insight.order_count,
        days_since_last_purchase=(
            float(insight.recency_days) if insight.recency_days is not None else None
        ),
        loyalty=loyalty,
        referrals=0,
        p_alive=insight.p_alive,
        regular_purchases=scoring.REGULAR_PURCHASES,
        supporter_loyalty=scoring.SUPPORTER_LOYALTY,
        advocate_loyalty=scoring.ADVOCATE_LOYALTY,
        churn_after_days=scoring.CHURN_AFTER_DAYS,
        churn_p_alive=scoring.CHURN_P_ALIVE,
    )
    facts = decision.facts
    messages = {
        "ladder.churned.inactive": _("No purchase for %(days)s days (lapsed after %(limit)s).")
        % {"days": insight.recency_days, "limit": int(scoring.CHURN_AFTER_DAYS)},
        "ladder.churned.p_alive": _(
            "The probability of still being active is %(p)s, below %(limit)s."
        )
        % {"p": _pct(facts.get("p_alive") or 0), "limit": _pct(scoring.CHURN_P_ALIVE)},
        "ladder.prospect": _("Has not bought yet."),
        "ladder.customer": _("%(n)s purchase(s), fewer than the %(regular)s of a repeat customer.")
        % {"n": insight.order_count, "regular": scoring.REGULAR_PURCHASES},
        "ladder.client": _("Repeat customer (%(n)s purchases) without signs of stronger loyalty.")
        % {"n": insight.order_count},
        "ladder.supporter": _("Repeat customer with a loyalty index of %(loyalty)s.")
        % {"loyalty": number_format(round(loyalty or 0, 2), decimal_pos=2)},
        "ladder.advocate": _("Loyal repeat customer who refers others."),
    }
    return str(messages.get(decision.code, decision.reason))


def portfolio_reason(insight: CustomerInsight, run: RefreshRun | None) -> str:
    """Value x loyalty quadrant and the strategy it calls for."""
    if not insight.portfolio_quadrant or run is None:
        return ""
    threshold = float((run.model_params or {}).get("portfolio_value_threshold", 0.0))
    value = float(insight.clv if insight.clv is not None else insight.total_spend)
    loyalty = insight.p_alive if insight.p_alive is not None else (insight.loyalty_index or 0.0)
    decision = rules.portfolio_quadrant(
        value=value,
        expected_loyalty=loyalty,
        value_threshold=threshold,
        loyalty_threshold=scoring.LOYALTY_THRESHOLD,
    )
    strategy = {
        "portfolio.true_friends": _("Keep them close: consistent communication and rewards."),
        "portfolio.butterflies": _("Enjoy them while they last: harvest, don't over-invest."),
        "portfolio.barnacles": _("Measure share of wallet: up-sell and cross-sell, or cut cost."),
        "portfolio.strangers": _("Do not invest: make money on every transaction."),
    }.get(decision.code, "")
    return _(
        "Value %(value)s against a median of %(median)s, expected loyalty %(loyalty)s. %(strategy)s"
    ) % {
        "value": _money(value),
        "median": _money(threshold),
        "loyalty": _pct(loyalty),
        "strategy": strategy,
    }


def level_reason(insight: CustomerInsight, run: RefreshRun | None) -> str:
    """Why this relationship level and tier (Kotler's customers x margin matrix)."""
    if not insight.relationship_level or run is None:
        return ""
    params = run.parameters or {}
    sizes = (run.model_params or {}).get("grade_sizes", {})
    count = int(sizes.get(insight.abc_grade, 0))
    margin = float(params.get("margin", 0.0))
    cost = float(params.get("cost_to_keep", 0.0)) or None
    decision = rules.kotler_level(
        customer_count=count,
        unit_margin=margin,
        clv=float(insight.clv) if cost is not None and insight.clv is not None else None,
        cost_to_keep=cost,
        upgrade_ratio=scoring.UPGRADE_RATIO,
    )
    bands = {
        "many": _("many"),
        "medium": _("a medium number of"),
        "few": _("few"),
        "high": _("high"),
        "low": _("low"),
    }
    return _(
        "%(count)s customers in grade %(grade)s (%(band)s customers) at a %(margin)s margin "
        "(%(margin_band)s): a %(level)s relationship with %(tier)s."
    ) % {
        "count": number_format(count, force_grouping=True),
        "grade": insight.abc_grade,
        "band": bands.get(decision.facts["count_band"], decision.facts["count_band"]),
        "margin": _pct(margin),
        "margin_band": bands.get(decision.facts["margin_band"], decision.facts["margin_band"]),
        "level": insight.get_relationship_level_display().lower(),
        "tier": insight.get_relationship_tier_display().lower(),
    }


def fit_failure_message(run: RefreshRun) -> str:
    """Why no probabilistic model was used, in words (empty when one was)."""
    detail = run.fit_detail or {}
    messages = {
        FitFailure.TOO_FEW_CUSTOMERS: _(
            "Too little data to fit a purchase model: %(n)s customers with orders (at least "
            "%(min)s are needed). RFM, ABC and the ladder are computed; CLV and P(alive) are not."
        )
        % {"n": detail.get("customers", 0), "min": scoring.MIN_CUSTOMERS},
        FitFailure.TOO_FEW_REPEAT: _(
            "Too little data to fit a purchase model: %(n)s customers bought more than once "
            "(at least %(min)s are needed). RFM, ABC and the ladder are computed; CLV and "
            "P(alive) are not."
        )
        % {"n": detail.get("repeat", 0), "min": scoring.MIN_REPEAT_CUSTOMERS},
        FitFailure.TOO_SHORT: _(
            "The order history covers %(weeks)s weeks; at least %(min)s are needed to fit a "
            "purchase model. RFM, ABC and the ladder are computed; CLV and P(alive) are not."
        )
        % {"weeks": detail.get("weeks", 0), "min": int(scoring.MIN_SPAN_WEEKS)},
        FitFailure.NOT_CONVERGED: _(
            "No purchase model converged on this data (tried %(models)s). RFM, ABC and the "
            "ladder are computed; CLV and P(alive) are not."
        )
        % {"models": ", ".join(detail.get("models", []))},
        FitFailure.ERROR: _(
            "The purchase model could not be fitted (%(error)s). RFM, ABC and the ladder are "
            "computed; CLV and P(alive) are not."
        )
        % {"error": detail.get("error", "")},
    }
    return str(messages.get(run.fit_failure, ""))  # type: ignore[call-overload]
