"""The models reproduce the estimates published on the CDNOW and donation data sets.

Sources of the expected values:

- BG/NBD on CDNOW (2,357 customers, 39-week calibration): r = 0.243, alpha = 4.414,
  a = 0.793, b = 2.426, LL = -9,582.4 (Fader, Hardie & Lee 2005, "Counting Your Customers
  the Easy Way", Marketing Science 24(2), section 4).
- Pareto/NBD on CDNOW: r = 0.553, alpha = 10.578, s = 0.606, beta = 11.669, LL = -9,595.0
  (same paper, and Fader, Hardie & Lee 2005, "A Note on Implementing the Pareto/NBD Model
  in MATLAB"; the BTYD R package vignette reports 0.553, 10.580, 0.606, 11.656 and
  LL = -9594.976).
- Gamma-Gamma on the 946 CDNOW repeat customers: p = 6.25, q = 3.74, gamma = 15.44
  (Fader, Hardie & Lee 2005, "RFM and CLV", JMR 42(4); Fader & Hardie 2013, "The
  Gamma-Gamma Model of Monetary Value"); LL = -4,055.92 as used by the CLVTools test suite
  for the same estimates (our file rounds zbar to cents, hence the 0.01 tolerance).
- BG/BB on the donation data (11,104 donors, 6 opportunities): alpha = 1.204,
  beta = 0.750, gamma = 0.657, delta = 2.783, LL = -33,225.6 (Fader, Hardie & Shang 2010,
  Marketing Science 29(6)).
"""

from __future__ import annotations

import numpy as np
import pytest

from guanxi.analytics.btyd import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    compare_models,
    holdout_check,
)
from guanxi.analytics.datasets import load_cdnow_summary, load_cdnow_transactions, load_donations
from guanxi.analytics.summary import summarize_transactions


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow_summary()


def test_bgnbd_reproduces_fader_hardie_lee_2005(cdnow):
    # when
    model = BetaGeoModel().fit(cdnow.frequency, cdnow.recency, cdnow.T)
    # then
    p = model.params_
    assert p["r"] == pytest.approx(0.243, abs=5e-4)
    assert p["alpha"] == pytest.approx(4.414, abs=5e-4)
    assert p["a"] == pytest.approx(0.793, abs=5e-4)
    assert p["b"] == pytest.approx(2.426, abs=5e-4)
    assert model.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    assert model.converged_


def test_paretonbd_reproduces_published_estimates(cdnow):
    model = ParetoNBDModel().fit(cdnow.frequency, cdnow.recency, cdnow.T)
    p = model.params_
    assert p["r"] == pytest.approx(0.553, abs=5e-4)
    assert p["alpha"] == pytest.approx(10.578, abs=5e-3)
    assert p["s"] == pytest.approx(0.606, abs=5e-4)
    assert p["beta"] == pytest.approx(11.669, abs=0.02)
    assert model.log_likelihood_ == pytest.approx(-9594.976, abs=0.01)


def test_gammagamma_reproduces_fader_hardie_2013(cdnow):
    model = GammaGammaModel().fit(cdnow.frequency, cdnow.monetary_value)
    p = model.params_
    assert model.n_ == 946
    assert p["p"] == pytest.approx(6.25, abs=5e-3)
    assert p["q"] == pytest.approx(3.74, abs=5e-3)
    assert p["v"] == pytest.approx(15.44, abs=0.01)
    assert model.log_likelihood_ == pytest.approx(-4055.92, abs=0.01)


def test_bgbb_reproduces_fader_hardie_shang_2010():
    data = load_donations()
    model = BetaGeoBetaBinomModel().fit(data.frequency, data.recency, data.periods, data.weights)
    p = model.params_
    assert model.n_ == 11104
    assert p["alpha"] == pytest.approx(1.204, abs=5e-4)
    assert p["beta"] == pytest.approx(0.750, abs=5e-4)
    assert p["gamma"] == pytest.approx(0.657, abs=5e-4)
    assert p["delta"] == pytest.approx(2.783, abs=5e-4)
    assert model.log_likelihood_ == pytest.approx(-33225.6, abs=0.05)


def test_analytic_gradient_matches_finite_differences(cdnow):
    model: BetaGeoModel | GammaGammaModel
    data: object
    for model in (BetaGeoModel(), GammaGammaModel()):
        if isinstance(model, GammaGammaModel):
            model.fit(cdnow.frequency, cdnow.monetary_value)
            repeat = cdnow.frequency > 0
            data = model._prepare(
                [cdnow.frequency[repeat], cdnow.monetary_value[repeat]], np.ones(repeat.sum())
            )
        else:
            model.fit(cdnow.frequency, cdnow.recency, cdnow.T)
            data = model._prepare([cdnow.frequency, cdnow.recency, cdnow.T], np.ones(len(cdnow.T)))
        theta = model._theta + 0.1  # away from the optimum, where the gradient is not ~0
        analytic = model._loglik(theta, data)[1]  # type: ignore[arg-type]
        numeric = model._numerical_gradient(theta, data)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-4)


def test_compression_gives_the_same_fit(cdnow):
    compressed = BetaGeoModel().fit(cdnow.frequency, cdnow.recency, cdnow.T)
    raw = BetaGeoModel(compress=False).fit(cdnow.frequency, cdnow.recency, cdnow.T)
    assert compressed.n_unique_ < raw.n_unique_ == 2357
    assert compressed.log_likelihood_ == pytest.approx(raw.log_likelihood_, abs=1e-6)
    for name in BetaGeoModel.param_names:
        assert compressed.params_[name] == pytest.approx(raw.params_[name], rel=1e-5)


def test_standard_errors_on_request(cdnow):
    model = ParetoNBDModel(standard_errors=True).fit(cdnow.frequency, cdnow.recency, cdnow.T)
    se = model.standard_errors_
    assert se is not None and set(se) == {"r", "alpha", "s", "beta"}
    assert all(0 < se[name] < model.params_[name] for name in ("r", "alpha", "s"))


def test_summary_of_the_cdnow_transactions_reproduces_the_published_summary(cdnow):
    # given the CDNOW 1/10 sample transaction log
    log = load_cdnow_transactions()
    # when summarized per day, in weeks, with the 39-week calibration period
    summary = summarize_transactions(
        log.customer,
        log.date,
        log.amount,
        period="D",
        unit="W",
        calibration_end=np.datetime64("1997-09-30"),
        observation_end=np.datetime64("1998-06-30"),
    )
    # then it is Fader & Hardie's summary file, to the cent and the hundredth of a week
    np.testing.assert_array_equal(summary.customer, cdnow.customer)
    np.testing.assert_array_equal(summary.frequency, cdnow.frequency)
    np.testing.assert_allclose(summary.recency, cdnow.recency, atol=0.0051)
    np.testing.assert_allclose(summary.T, cdnow.T, atol=0.0051)
    np.testing.assert_allclose(summary.monetary_value, cdnow.monetary_value, atol=0.0051)
    assert summary.duration_holdout == 39.0
    assert summary.frequency_holdout is not None and summary.frequency_holdout.sum() > 0


def test_model_comparison_and_holdout_check_on_cdnow():
    log = load_cdnow_transactions()
    s = summarize_transactions(
        log.customer,
        log.date,
        log.amount,
        period="D",
        unit="W",
        calibration_end=np.datetime64("1997-09-30"),
        observation_end=np.datetime64("1998-06-30"),
    )
    fits = compare_models(s.frequency, s.recency, s.T)
    assert [f.bic for f in fits] == sorted(f.bic for f in fits)
    assert {f.model for f in fits} == {"bgnbd", "paretonbd", "mbgnbd"}
    model = BetaGeoModel().fit(s.frequency, s.recency, s.T)
    assert s.frequency_holdout is not None and s.duration_holdout is not None
    check = holdout_check(
        model, s.frequency, s.recency, s.T, s.frequency_holdout, s.duration_holdout
    )
    # The sample's 2,357 customers made 1,882 repeat purchases (distinct days) in weeks
    # 40-78; the BG/NBD conditional forecast is about 1,650, within 15%.
    assert check.actual_total == 1882
    assert check.predicted_total == pytest.approx(check.actual_total, rel=0.15)
    assert [row[0] for row in check.by_frequency][-1] == "7+"
