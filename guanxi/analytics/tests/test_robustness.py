"""Extreme inputs stay finite, and bad inputs fail in domain terms."""

from __future__ import annotations

import numpy as np
import pytest

from guanxi.analytics.btyd import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
)
from guanxi.analytics.btyd.base import NotFittedError
from guanxi.analytics.summary import summarize_transactions

# frequency up to 10,000, T up to 10,000 periods, t_x == T, t_x << T, no repeat purchases
X = np.array([0, 0, 1, 10_000, 10_000, 10_000, 5, 200])
TX = np.array([0, 0, 10_000, 10_000, 1, 9_999.5, 0.01, 40])
T = np.array([0, 10_000, 10_000, 10_000, 10_000, 10_000, 10_000, 40])

PARAMETER_SETS = [
    {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    {"r": 1e-6, "alpha": 1e-6, "a": 1e-6, "b": 1e-6},
    {"r": 1e4, "alpha": 1e4, "a": 1e4, "b": 1e4},
    {"r": 2.0, "alpha": 0.01, "a": 1.0, "b": 50.0},
]


@pytest.mark.parametrize("params", PARAMETER_SETS)
@pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel])
def test_beta_geometric_predictions_stay_finite(cls, params):
    model = cls.from_params(**params)
    alive = model.probability_alive(X, TX, T)
    expected = model.conditional_expected_purchases(52, X, TX, T)
    assert np.isfinite(alive).all() and ((alive >= 0) & (alive <= 1)).all()
    assert np.isfinite(expected).all() and (expected >= 0).all()
    assert np.isfinite(model.expected_purchases([0.5, 52, 10_000])).all()
    assert np.isfinite(model.probability_of_purchases([0, 1, 10_000], 52)).all()
    ll = model.log_likelihood(X, TX, T)
    assert np.isfinite(ll)


@pytest.mark.parametrize(
    "params",
    [
        {"r": 0.553, "alpha": 10.58, "s": 0.606, "beta": 11.67},
        {"r": 1e-6, "alpha": 1e-6, "s": 1e-6, "beta": 1e-6},
        {"r": 1e4, "alpha": 1e4, "s": 1e4, "beta": 1e4},
        {"r": 2.0, "alpha": 0.01, "s": 1.0, "beta": 500.0},
        {"r": 2.0, "alpha": 500.0, "s": 3.0, "beta": 0.01},
    ],
)
def test_paretonbd_predictions_stay_finite(params):
    model = ParetoNBDModel.from_params(**params)
    alive = model.probability_alive(X, TX, T)
    expected = model.conditional_expected_purchases(52, X, TX, T)
    assert np.isfinite(alive).all() and ((alive >= 0) & (alive <= 1)).all()
    assert np.isfinite(expected).all() and (expected >= 0).all()
    assert np.isfinite(model.expected_purchases([0.5, 52, 10_000])).all()
    assert np.isfinite(model.log_likelihood(X, TX, T))


def test_recent_heavy_buyer_is_alive_and_lapsed_heavy_buyer_is_not():
    model = ParetoNBDModel.from_params(r=0.553, alpha=10.58, s=0.606, beta=11.67)
    alive = model.probability_alive([10_000, 10_000], [10_000, 1], [10_000, 10_000])
    assert alive[0] == pytest.approx(1.0)
    assert alive[1] < 1e-6
    bg = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    alive = bg.probability_alive([10_000, 10_000], [10_000, 1], [10_000, 10_000])
    assert alive[0] > 0.99 and alive[1] < 1e-6


def test_clv_and_customer_equity():
    model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    x, tx, t = np.array([0.0, 2, 10]), np.array([0.0, 30, 38]), np.array([38.0, 38, 38])
    spend = np.array([35.0, 30.0, 40.0])
    undiscounted = model.customer_lifetime_value(x, tx, t, expected_spend=spend, horizon=52)
    expected = model.conditional_expected_purchases(52, x, tx, t) * spend
    np.testing.assert_allclose(undiscounted, expected, rtol=1e-9)
    discounted = model.customer_lifetime_value(
        x, tx, t, expected_spend=spend, horizon=52, margin=0.3, discount_rate=0.01
    )
    assert (discounted < 0.3 * undiscounted).all() and (discounted > 0).all()
    equity = model.customer_equity(
        x, tx, t, expected_spend=spend, horizon=52, margin=0.3, discount_rate=0.01
    )
    assert equity == pytest.approx(discounted.sum())


def test_bgbb_extremes_and_gamma_gamma_extremes():
    model = BetaGeoBetaBinomModel.from_params(alpha=1e-4, beta=1e4, gamma=1.0, delta=1e-4)
    x, tx, n = np.array([0.0, 50, 1]), np.array([0.0, 50, 1]), np.array([50.0, 50, 50])
    assert np.isfinite(model.probability_alive(x, tx, n)).all()
    assert np.isfinite(model.conditional_expected_purchases(10, x, tx, n)).all()
    gg = GammaGammaModel.from_params(p=6.25, q=3.74, v=15.44)
    spend = gg.conditional_expected_average_spend([0, 1, 10_000], [0, 1e9, 1e-9])
    assert np.isfinite(spend).all()


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "message"),
    [
        ([1, 2, 3, 1], [5, 50, 60, 1], [10, 40, 40, 2], "recency is larger than T for 2 customers"),
        ([-1, 1], [0, 1], [5, 5], "frequency is negative for 1 customer"),
        ([1.5, 1], [1, 1], [5, 5], "frequency is not a whole number"),
        ([0, 1], [3, 1], [5, 5], "recency is positive but frequency is 0"),
        ([1, 1], [1, 1], [5, -5], "T (the customer's age) is negative"),
        ([1, np.nan], [1, 1], [5, 5], "frequency is missing or not a finite number"),
        ([1, 1], [1, 1], [5], "one value per customer"),
    ],
)
def test_input_errors_are_in_domain_terms(frequency, recency, T, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        BetaGeoModel().fit(frequency, recency, T)


def test_gamma_gamma_rejects_non_positive_amounts():
    with pytest.raises(ValueError, match="amounts must be positive for Gamma-Gamma"):
        GammaGammaModel().fit([1, 2, 0], [10.0, -3.0, 0.0])
    with pytest.raises(ValueError, match="needs customers with repeat purchases"):
        GammaGammaModel().fit([0, 0], [0.0, 0.0])


def test_gamma_gamma_without_finite_mean_says_so():
    model = GammaGammaModel.from_params(p=2.0, q=0.9, v=10.0)
    with pytest.raises(ValueError, match="no finite mean"):
        model.expected_average_spend()


def test_unfitted_model_and_bad_parameters():
    with pytest.raises(NotFittedError, match="has not been fitted"):
        BetaGeoModel().probability_alive([1], [1], [2])
    with pytest.raises(ValueError, match="parameter alpha must be positive"):
        BetaGeoModel.from_params(r=1, alpha=-1, a=1, b=1)
    with pytest.raises(ValueError, match="frequency is larger than recency"):
        BetaGeoBetaBinomModel().fit([3], [2], [6])


def test_summary_errors_and_periods():
    with pytest.raises(ValueError, match="period must be one of"):
        summarize_transactions([1], [1.0], period="Y")
    with pytest.raises(ValueError, match=r"the date is missing for 1 transaction\b"):
        summarize_transactions([1, 2], np.array(["2024-01-01", "NaT"], dtype="datetime64[D]"))
    with pytest.raises(ValueError, match="monthly periods need dates"):
        summarize_transactions([1], [1.0], period="M")
    # string keys, months, several purchases in one month count once
    dates = np.array(
        ["2024-01-03", "2024-01-20", "2024-03-01", "2024-02-10", "2024-06-30"],
        dtype="datetime64[D]",
    )
    s = summarize_transactions(
        np.array(["ann", "ann", "ann", "bo", "bo"]), dates, [10.0, 5.0, 20.0, 7.0, 9.0], period="M"
    )
    assert list(s.customer) == ["ann", "bo"]
    assert list(s.frequency) == [1.0, 1.0]
    assert list(s.recency) == [2.0, 4.0]
    assert list(s.T) == [5.0, 4.0]
    assert list(s.n_purchases) == [3.0, 2.0]
    assert list(s.monetary_value) == [20.0, 9.0]
    assert list(s.total_spend) == [35.0, 16.0]
    assert list(s.days_since_last_purchase) == [3.0, 0.0]
