"""Relationship rules: loyalty index, ladder stage, portfolio quadrant, Kotler level and tier.

Each rule returns a :class:`Decision`: the value, a stable ``code`` and the ``facts`` it used
(so the UI can translate the explanation), and an English ``reason`` in words. Every
threshold is a keyword parameter whose default is documented in the function.

References: Kotler & Keller, *Marketing Management* (the five relationship levels and the
customers x margin matrix); Berry (1995) and Kotler & Armstrong (the three tiers of
relationship marketing); Reinartz & Kumar (2002), "The Mismanagement of Customer Loyalty",
*Harvard Business Review* (true friends, butterflies, barnacles, strangers); Christopher,
Payne & Ballantyne (1991) (the relationship ladder); DOMAIN.md sections 2, 4 and 5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Decision:
    """Outcome of a rule: ``value``, machine ``code``, English ``reason`` and the facts used."""

    value: Any
    code: str
    reason: str
    facts: dict[str, Any] = field(default_factory=dict)


def _fraction(value: float | None, name: str) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number) or number < 0 or number > 1:
        raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
    return number


def loyalty_index(
    *,
    repeat_purchases: float | None = None,
    share_of_requirement: float | None = None,
    price_sensitivity: float | None = None,
    complaint_tolerance: float | None = None,
    survey_score: float | None = None,
    repeat_saturation: float = 10.0,
    weights: dict[str, float] | None = None,
) -> Decision:
    """Loyalty index 0..1 from whichever loyalty measures exist (DOMAIN.md section 4).

    Parameters
    ----------
    repeat_purchases : float, optional
        Number of repeat purchases; scored ``min(n / repeat_saturation, 1)``.
    share_of_requirement : float, optional
        Share (0..1) of the customer's total need bought from us (share of wallet).
    price_sensitivity : float, optional
        0 (indifferent to price) .. 1 (leaves for any discount); scored ``1 - value``.
    complaint_tolerance : float, optional
        0..1, tolerance of quality incidents (e.g. stayed after a complaint).
    survey_score : float, optional
        0..1 attitudinal loyalty from surveys (e.g. NPS answer / 10).
    repeat_saturation : float
        Repeat purchases that count as full behavioural loyalty (default 10).
    weights : dict, optional
        Weight per measure name (default: all equal). Missing measures are left out and the
        remaining weights renormalized; with no measure at all the index is undefined (None).
    """
    if repeat_saturation <= 0:
        raise ValueError("repeat_saturation must be positive")
    parts: dict[str, float] = {}
    if repeat_purchases is not None:
        if not math.isfinite(float(repeat_purchases)) or repeat_purchases < 0:
            raise ValueError(
                f"repeat purchases must be a number of zero or more, got {repeat_purchases!r}"
            )
        parts["repeat_purchases"] = min(float(repeat_purchases) / repeat_saturation, 1.0)
    for name, raw in (
        ("share_of_requirement", share_of_requirement),
        ("price_sensitivity", price_sensitivity),
        ("complaint_tolerance", complaint_tolerance),
        ("survey_score", survey_score),
    ):
        value = _fraction(raw, name.replace("_", " "))
        if value is not None:
            parts[name] = 1.0 - value if name == "price_sensitivity" else value
    if not parts:
        return Decision(None, "loyalty.no_data", "No loyalty measure is known for this customer.")
    w = {name: (weights or {}).get(name, 1.0) for name in parts}
    total = sum(w.values())
    if total <= 0:
        raise ValueError("the weights of the available loyalty measures add up to zero")
    index = sum(parts[name] * w[name] for name in parts) / total
    used = ", ".join(f"{name.replace('_', ' ')} {parts[name]:.2f}" for name in parts)
    return Decision(
        round(index, 4),
        "loyalty.index",
        f"Loyalty index {index:.2f} from {len(parts)} measure(s): {used}.",
        {"components": parts, "weights": w},
    )


LADDER = ("prospect", "customer", "client", "supporter", "advocate")


def ladder_stage(
    *,
    purchases: int,
    days_since_last_purchase: float | None = None,
    loyalty: float | None = None,
    referrals: int = 0,
    p_alive: float | None = None,
    regular_purchases: int = 3,
    supporter_loyalty: float = 0.6,
    advocate_loyalty: float = 0.8,
    advocate_referrals: int = 1,
    churn_after_days: float = 365.0,
    churn_p_alive: float = 0.1,
) -> Decision:
    """Stage on the customer ladder (客户升级): prospect -> customer -> client -> supporter
    -> advocate, or ``churned``.

    Rules, in order (defaults in brackets):

    - ``churned``: has bought, and either no purchase for ``churn_after_days`` [365] or
      P(alive) below ``churn_p_alive`` [0.1];
    - ``prospect``: no purchase yet;
    - ``customer``: fewer than ``regular_purchases`` [3] purchases;
    - ``advocate``: regular, loyalty >= ``advocate_loyalty`` [0.8] and at least
      ``advocate_referrals`` [1] referrals;
    - ``supporter``: regular and loyalty >= ``supporter_loyalty`` [0.6];
    - ``client``: regular buyer otherwise.
    """
    if purchases < 0:
        raise ValueError("purchases must not be negative")
    facts = {
        "purchases": purchases,
        "days_since_last_purchase": days_since_last_purchase,
        "loyalty": loyalty,
        "referrals": referrals,
        "p_alive": p_alive,
    }
    if purchases > 0:
        if days_since_last_purchase is not None and days_since_last_purchase >= churn_after_days:
            return Decision(
                "churned",
                "ladder.churned.inactive",
                f"No purchase for {days_since_last_purchase:.0f} days "
                f"(churn after {churn_after_days:.0f}).",
                facts,
            )
        if p_alive is not None and p_alive < churn_p_alive:
            return Decision(
                "churned",
                "ladder.churned.p_alive",
                f"Probability of still being active is {p_alive:.0%}, below {churn_p_alive:.0%}.",
                facts,
            )
    if purchases == 0:
        return Decision("prospect", "ladder.prospect", "Has not bought yet.", facts)
    if purchases < regular_purchases:
        return Decision(
            "customer",
            "ladder.customer",
            f"{purchases} purchase(s), fewer than the {regular_purchases} of a regular client.",
            facts,
        )
    if loyalty is not None and loyalty >= advocate_loyalty and referrals >= advocate_referrals:
        return Decision(
            "advocate",
            "ladder.advocate",
            f"Regular buyer with loyalty {loyalty:.2f} (>= {advocate_loyalty}) who referred "
            f"{referrals} customer(s).",
            facts,
        )
    if loyalty is not None and loyalty >= supporter_loyalty:
        return Decision(
            "supporter",
            "ladder.supporter",
            f"Regular buyer with loyalty {loyalty:.2f} (>= {supporter_loyalty}).",
            facts,
        )
    return Decision(
        "client",
        "ladder.client",
        f"Regular buyer ({purchases} purchases) without evidence of stronger loyalty.",
        facts,
    )


QUADRANTS = {
    (True, True): ("true friends", "Keep them close: consistent communication and rewards."),
    (True, False): ("butterflies", "Enjoy them while they last: harvest, don't over-invest."),
    (False, True): ("barnacles", "Measure share of wallet: up-sell and cross-sell, or cut cost."),
    (False, False): ("strangers", "Do not invest: make money on every transaction."),
}


def portfolio_quadrant(
    *, value: float, expected_loyalty: float, value_threshold: float, loyalty_threshold: float = 0.5
) -> Decision:
    """Customer portfolio by profitability x expected loyalty (Reinartz & Kumar 2002).

    ``value >= value_threshold`` is high profit (e.g. the base's median CLV, which the caller
    passes); ``expected_loyalty >= loyalty_threshold`` [0.5] (e.g. P(alive) or the loyalty
    index) is a long-term customer.
    """
    high_value = value >= value_threshold
    long_term = expected_loyalty >= loyalty_threshold
    name, strategy = QUADRANTS[(high_value, long_term)]
    return Decision(
        name,
        f"portfolio.{name.replace(' ', '_')}",
        f"{'High' if high_value else 'Low'} value ({value:,.2f} vs {value_threshold:,.2f}) and "
        f"{'long' if long_term else 'short'}-term loyalty ({expected_loyalty:.2f} vs "
        f"{loyalty_threshold:.2f}). {strategy}",
        {"value": value, "expected_loyalty": expected_loyalty, "strategy": strategy},
    )


LEVELS = ("basic", "reactive", "accountable", "proactive", "partnership")
# Kotler's matrix: rows = margin (high, medium, low), columns = customers (many, medium, few).
_KOTLER = {
    ("high", "many"): "accountable",
    ("high", "medium"): "proactive",
    ("high", "few"): "partnership",
    ("medium", "many"): "reactive",
    ("medium", "medium"): "accountable",
    ("medium", "few"): "proactive",
    ("low", "many"): "basic",
    ("low", "medium"): "reactive",
    ("low", "few"): "accountable",
}
TIERS = {
    "basic": ("financial", 1),
    "reactive": ("financial", 1),
    "accountable": ("social", 2),
    "proactive": ("social", 2),
    "partnership": ("structural", 3),
}


def kotler_level(
    *,
    customer_count: int,
    unit_margin: float,
    clv: float | None = None,
    cost_to_keep: float | None = None,
    many_customers: int = 1000,
    few_customers: int = 50,
    high_margin: float = 0.4,
    low_margin: float = 0.1,
    upgrade_ratio: float = 3.0,
) -> Decision:
    """Kotler relationship level and the relationship-marketing tier it calls for.

    The level comes from Kotler's customers x margin matrix: many customers with low margin
    -> basic; few customers with high margin -> partnership; in between accountable,
    reactive or proactive. Thresholds: ``customer_count >= many_customers`` [1000] is many,
    ``<= few_customers`` [50] is few; ``unit_margin >= high_margin`` [0.4] is high,
    ``<= low_margin`` [0.1] is low (margin as a share of price).

    When ``clv`` and ``cost_to_keep`` (the yearly cost of the relationship) are given, the
    level moves one step down if the CLV does not cover the cost, and one step up if it covers
    it ``upgrade_ratio`` [3] times or more. The tier (三级关系营销) follows the level: basic and
    reactive need financial bonds (tier 1), accountable and proactive social bonds (tier 2),
    partnership structural bonds (tier 3).
    """
    if customer_count < 0:
        raise ValueError("customer count must not be negative")
    count = (
        "many"
        if customer_count >= many_customers
        else "few"
        if customer_count <= few_customers
        else "medium"
    )
    margin = (
        "high" if unit_margin >= high_margin else "low" if unit_margin <= low_margin else "medium"
    )
    level = _KOTLER[(margin, count)]
    reason = (
        f"{customer_count} customers ({count}) at a {unit_margin:.0%} unit margin ({margin}) "
        f"suggest {level}"
    )
    index = LEVELS.index(level)
    if clv is not None and cost_to_keep is not None:
        if cost_to_keep <= 0:
            raise ValueError("cost to keep the relationship must be positive")
        ratio = clv / cost_to_keep
        if ratio < 1 and index > 0:
            index -= 1
            reason += (
                f"; CLV {clv:,.0f} does not cover the cost {cost_to_keep:,.0f}, so one level lower"
            )
        elif ratio >= upgrade_ratio and index < len(LEVELS) - 1:
            index += 1
            reason += f"; CLV is {ratio:.1f}x the cost to keep, so one level higher"
    level = LEVELS[index]
    tier, tier_number = TIERS[level]
    return Decision(
        level,
        f"kotler.{level}",
        f"{reason}: {level} relationship, tier {tier_number} ({tier} bonds).",
        {"count_band": count, "margin_band": margin, "tier": tier, "tier_number": tier_number},
    )
