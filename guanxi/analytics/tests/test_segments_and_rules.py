"""RFM segments, ABC grading (with the seed's Lao Wang / Xiao Li example) and the rules."""

from __future__ import annotations

import numpy as np
import pytest

from guanxi.analytics.abc import (
    expected_value,
    pareto_grades,
    scale_to_unit,
    weighted_score,
)
from guanxi.analytics.rfm import SEGMENTS, quantile_scores, rfm_scores, segment_of
from guanxi.analytics.rules import kotler_level, ladder_stage, loyalty_index, portfolio_quadrant


def test_quantile_scores_share_scores_on_ties_and_ignore_order():
    values = np.array([5, 1, 1, 1, 3, 9, 9, 2, 7, 4])
    scores = quantile_scores(values, 5)
    assert scores.min() == 1 and scores.max() == 5
    assert len(set(scores[values == 1])) == 1 and len(set(scores[values == 9])) == 1
    shuffled = np.random.default_rng(0).permutation(len(values))
    np.testing.assert_array_equal(quantile_scores(values[shuffled], 5), scores[shuffled])
    assert quantile_scores([3, 1, 2], 3, higher_is_better=False).tolist() == [1, 3, 2]


def test_rfm_segments_follow_the_rule_table():
    # every (R, FM) cell of the 5 x 5 grid gets exactly one of the eleven named segments
    r, fm = np.meshgrid(np.arange(1, 6), np.arange(1, 6))
    names = segment_of(r.ravel(), fm.ravel())
    assert "" not in set(names)
    assert set(names) == set(SEGMENTS)
    assert segment_of([5], [5])[0] == "champions"
    assert segment_of([1], [5])[0] == "can't lose"
    assert segment_of([1], [1])[0] == "lost"
    assert segment_of([5], [1])[0] == "new"


def test_rfm_scores_rank_recent_frequent_big_spenders_as_champions():
    rng = np.random.default_rng(1)
    recency = rng.integers(0, 365, 1000).astype(float)
    frequency = rng.integers(1, 30, 1000).astype(float)
    monetary = rng.gamma(2, 50, 1000)
    recency[0], frequency[0], monetary[0] = 0, 100, 1e6
    recency[1], frequency[1], monetary[1] = 400, 1, 1
    result = rfm_scores(recency, frequency, monetary, weights=(2, 1, 1))
    assert result.segment[0] == "champions" and result.score[0] == 5
    assert result.segment[1] == "lost" and result.score[1] == 1
    with pytest.raises(ValueError, match="recency is negative"):
        rfm_scores([-1, 2], [1, 2], [1, 2])


def test_lao_wang_and_xiao_li():
    # given the seed's two sales reps
    lao_wang = expected_value(0.05, 1, 10_000, customers=1000)
    xiao_li = expected_value(0.5, 10, 100_000, customers=50)
    # then the arithmetic of the seed holds: 500k against 25M a year
    assert float(lao_wang) == pytest.approx(500_000)
    assert float(xiao_li) == pytest.approx(25_000_000)
    # and grading their customers together by expected value (80/20) puts Xiao Li's first
    per_customer = np.concatenate(
        [
            np.full(1000, float(expected_value(0.05, 1, 10_000))),
            np.full(50, float(expected_value(0.5, 10, 100_000))),
        ]
    )
    grades = pareto_grades(per_customer)
    assert set(grades[:1000]) == {"C"}
    assert (grades[1000:] == "A").sum() >= 40
    # the weighted multi-criteria score agrees, with loyalty unknown for Lao Wang's customers
    probability = np.concatenate([np.full(1000, 0.05), np.full(50, 0.5)])
    frequency = np.concatenate([np.full(1000, 1.0), np.full(50, 10.0)])
    volume = np.concatenate([np.full(1000, 10_000.0), np.full(50, 100_000.0)])
    loyalty = np.concatenate([np.full(1000, np.nan), np.full(50, 0.8)])
    score = weighted_score(
        {
            "purchase_probability": probability,
            "purchase_frequency": scale_to_unit(frequency, low=0, high=12),
            "purchase_volume": scale_to_unit(volume, low=0, high=100_000),
            "loyalty": loyalty,
        }
    )
    assert score.score[1000:].min() > score.score[:1000].max()
    assert set(score.grade[1000:]) == {"A"} and set(score.grade[:1000]) == {"C"}
    # missing loyalty is left out and reported as lower coverage, not counted as zero
    assert score.coverage[0] < score.coverage[1000]
    zero = weighted_score({"loyalty": loyalty, "purchase_probability": probability}, missing="zero")
    assert (
        zero.score[0]
        < weighted_score({"loyalty": loyalty, "purchase_probability": probability}).score[0]
    )
    with pytest.raises(ValueError, match="missing='raise'"):
        weighted_score({"loyalty": loyalty}, missing="raise")


def test_pareto_grades_cutoffs_and_errors():
    grades = pareto_grades([50, 30, 10, 5, 5], cutoffs=(0.5, 0.9))
    assert grades.tolist() == ["A", "B", "B", "C", "C"]
    with pytest.raises(ValueError, match="cutoffs must increase"):
        pareto_grades([1, 2], cutoffs=(0.9, 0.5))


def test_loyalty_index_uses_only_the_measures_that_exist():
    nothing = loyalty_index()
    assert nothing.value is None and nothing.code == "loyalty.no_data"
    some = loyalty_index(repeat_purchases=5, price_sensitivity=0.2)
    assert some.value == pytest.approx((0.5 + 0.8) / 2)
    assert "2 measure(s)" in some.reason and "price sensitivity 0.80" in some.reason
    with pytest.raises(ValueError, match="share of requirement must be between 0 and 1"):
        loyalty_index(share_of_requirement=1.5)


def test_ladder_stages():
    assert ladder_stage(purchases=0).value == "prospect"
    assert ladder_stage(purchases=1).value == "customer"
    assert ladder_stage(purchases=5).value == "client"
    assert ladder_stage(purchases=5, loyalty=0.7).value == "supporter"
    advocate = ladder_stage(purchases=5, loyalty=0.9, referrals=2)
    assert advocate.value == "advocate" and "referred 2" in advocate.reason
    churned = ladder_stage(purchases=5, days_since_last_purchase=400)
    assert churned.value == "churned" and "400 days" in churned.reason
    assert ladder_stage(purchases=5, p_alive=0.05).code == "ladder.churned.p_alive"
    assert ladder_stage(purchases=2, regular_purchases=2).value == "client"


def test_portfolio_quadrants():
    cases = {
        (100, 0.9): "true friends",
        (100, 0.1): "butterflies",
        (1, 0.9): "barnacles",
        (1, 0.1): "strangers",
    }
    for (value, loyalty), name in cases.items():
        decision = portfolio_quadrant(value=value, expected_loyalty=loyalty, value_threshold=50)
        assert decision.value == name
        assert decision.reason


def test_kotler_levels_and_tiers():
    assert kotler_level(customer_count=100_000, unit_margin=0.05).value == "basic"
    partnership = kotler_level(customer_count=10, unit_margin=0.6)
    assert partnership.value == "partnership" and partnership.facts["tier"] == "structural"
    middle = kotler_level(customer_count=300, unit_margin=0.2)
    assert middle.value == "accountable" and middle.facts["tier_number"] == 2
    down = kotler_level(customer_count=300, unit_margin=0.2, clv=500, cost_to_keep=1000)
    assert down.value == "reactive" and "does not cover" in down.reason
    up = kotler_level(customer_count=300, unit_margin=0.2, clv=5000, cost_to_keep=1000)
    assert up.value == "proactive"
    assert kotler_level(customer_count=300, unit_margin=0.2, many_customers=200).value == "reactive"


def test_rfm_on_a_three_point_scale_still_reaches_every_segment_extreme():
    # given the best and the worst customer of a base scored on three levels
    recency = [1.0, 2.0, 3.0, 50.0, 60.0, 70.0]
    frequency = [9.0, 8.0, 7.0, 1.0, 1.0, 1.0]
    monetary = [900.0, 800.0, 700.0, 10.0, 10.0, 10.0]
    # when
    scores = rfm_scores(recency, frequency, monetary, bins=3)
    # then the top of the three-point scale maps to 5 and makes a champion
    assert scores.recency_score.max() == 3
    assert scores.segment[0] == "champions" and scores.segment[-1] == "lost"


def test_identical_customers_share_a_pareto_grade_whatever_the_order():
    # Xiao Li's 50 identical customers (and one big one) are never split across grades
    values = np.array([100.0] * 50 + [5000.0])
    grades = pareto_grades(values)
    assert len(set(grades[:50])) == 1
    shuffled = np.random.default_rng(3).permutation(len(values))
    assert (pareto_grades(values[shuffled]) == grades[shuffled]).all()


def test_scale_to_unit_honours_a_zero_upper_bound():
    assert scale_to_unit([-5.0, -2.0, 0.0], low=-10.0, high=0.0).tolist() == [0.5, 0.8, 1.0]


def test_loyalty_index_refuses_a_missing_repeat_count():
    with pytest.raises(ValueError, match="repeat purchases must be a number"):
        loyalty_index(repeat_purchases=float("nan"))
