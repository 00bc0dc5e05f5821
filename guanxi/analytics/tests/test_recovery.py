"""Parameter recovery and predictive checks on data simulated from known parameters."""

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
from guanxi.analytics.btyd.simulate import (
    simulate_bgbb,
    simulate_bgnbd,
    simulate_gammagamma,
    simulate_paretonbd,
    simulate_transactions,
)
from guanxi.analytics.summary import summarize_transactions

N = 40_000


def _ages(seed: int) -> np.ndarray:
    # Customers acquired over a year, observed in weeks (realistic staggered cohorts).
    return np.random.default_rng(seed).integers(1, 53, N).astype(float)


def _close(fitted: dict[str, float], truth: dict[str, float], rel: float) -> None:
    for name, value in truth.items():
        assert fitted[name] == pytest.approx(value, rel=rel), name


@pytest.mark.parametrize("modified", [False, True])
def test_bgnbd_and_mbgnbd_recover_their_parameters(modified):
    truth = {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5}
    sim = simulate_bgnbd(**truth, size=N, T=_ages(1), holdout=26, seed=2, modified=modified)
    model = (ModifiedBetaGeoModel if modified else BetaGeoModel)(standard_errors=True)
    model.fit(sim.frequency, sim.recency, sim.T)
    _close(model.params_, truth, rel=0.15)
    assert model.standard_errors_ is not None
    for name, value in truth.items():
        # the truth lies within 4 standard errors
        assert abs(model.params_[name] - value) < 4 * model.standard_errors_[name]
    # conditional expectations match what the simulated customers did next (in aggregate)
    predicted = model.conditional_expected_purchases(26, sim.frequency, sim.recency, sim.T)
    assert predicted.sum() == pytest.approx(sim.frequency_holdout.sum(), rel=0.05)
    alive = model.probability_alive(sim.frequency, sim.recency, sim.T)
    assert alive.mean() == pytest.approx(sim.alive_at_T.mean(), abs=0.03)


def test_paretonbd_recovers_its_parameters():
    truth = {"r": 0.6, "alpha": 8.0, "s": 0.8, "beta": 10.0}
    sim = simulate_paretonbd(**truth, size=N, T=_ages(3), holdout=26, seed=4)
    model = ParetoNBDModel().fit(sim.frequency, sim.recency, sim.T)
    _close(model.params_, truth, rel=0.2)
    predicted = model.conditional_expected_purchases(26, sim.frequency, sim.recency, sim.T)
    assert predicted.sum() == pytest.approx(sim.frequency_holdout.sum(), rel=0.05)
    alive = model.probability_alive(sim.frequency, sim.recency, sim.T)
    assert alive.mean() == pytest.approx(sim.alive_at_T.mean(), abs=0.03)


def test_bgbb_recovers_its_parameters():
    truth = {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8}
    sim = simulate_bgbb(**truth, size=N, n=6, holdout=5, seed=5)
    model = BetaGeoBetaBinomModel().fit(sim.frequency, sim.recency, sim.T)
    _close(model.params_, truth, rel=0.15)
    predicted = model.conditional_expected_purchases(5, sim.frequency, sim.recency, sim.T)
    assert predicted.sum() == pytest.approx(sim.frequency_holdout.sum(), rel=0.05)


def test_gammagamma_recovers_its_parameters():
    truth = {"p": 6.0, "q": 3.8, "v": 15.0}
    frequency = np.random.default_rng(6).integers(1, 8, N).astype(float)
    spend = simulate_gammagamma(**truth, frequency=frequency, seed=7)
    model = GammaGammaModel().fit(frequency, spend)
    _close(model.params_, truth, rel=0.15)
    assert model.expected_average_spend() == pytest.approx(6.0 * 15.0 / 2.8, rel=0.05)


def test_expectations_and_purchase_distribution_match_monte_carlo():
    # given a cohort that all started at time 0 and is observed for 40 weeks
    truth = {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5}
    sim = simulate_bgnbd(0.5, 5.0, 0.8, 2.5, size=200_000, T=40.0, seed=8)
    model = BetaGeoModel.from_params(**truth)
    # then E[X(t)] and P(X(t)=n) agree with the simulated counts
    assert model.expected_purchases(40.0)[0] == pytest.approx(sim.frequency.mean(), rel=0.02)
    n = np.arange(0, 6)
    observed = np.array([(sim.frequency == k).mean() for k in n])
    np.testing.assert_allclose(model.probability_of_purchases(n, 40.0), observed, atol=0.005)
    assert model.probability_of_purchases(np.arange(0, 400), 40.0).sum() == pytest.approx(1.0)

    pnbd = {"r": 0.6, "alpha": 8.0, "s": 0.8, "beta": 10.0}
    sim_p = simulate_paretonbd(**pnbd, size=200_000, T=40.0, seed=9)
    pareto = ParetoNBDModel.from_params(**pnbd)
    assert pareto.expected_purchases(40.0)[0] == pytest.approx(sim_p.frequency.mean(), rel=0.02)
    observed = np.array([(sim_p.frequency == k).mean() for k in n])
    np.testing.assert_allclose(pareto.probability_of_purchases(n, 40.0), observed, atol=0.005)

    mbg = ModifiedBetaGeoModel.from_params(**truth)
    sim_m = simulate_bgnbd(0.5, 5.0, 0.8, 2.5, size=200_000, T=40.0, seed=10, modified=True)
    assert mbg.expected_purchases(40.0)[0] == pytest.approx(sim_m.frequency.mean(), rel=0.02)
    observed = np.array([(sim_m.frequency == k).mean() for k in n])
    np.testing.assert_allclose(mbg.probability_of_purchases(n, 40.0), observed, atol=0.005)


def test_simulated_transaction_log_summarizes_and_refits():
    # given a transaction log simulated from BG/NBD + Gamma-Gamma (rates per week)
    log = simulate_transactions(30_000, 365.0, seed=11)
    # when summarized by day, in weeks
    s = summarize_transactions(log.customer, log.time, log.amount, period="D", unit="W")
    # then the first purchase of everyone is there and the models fit sensible parameters
    assert len(s) == 30_000
    assert (s.recency <= s.T).all()
    model = BetaGeoModel().fit(s.frequency, s.recency, s.T)
    assert model.params_["r"] == pytest.approx(0.25, rel=0.25)
    spend = GammaGammaModel().fit(s.frequency, s.monetary_value)
    assert spend.params_["p"] == pytest.approx(6.0, rel=0.25)
