"""The full refresh: parameter recovery, agreement with the analytics core, failure paths."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from django.db import connection

from guanxi.analytics import rfm, rules
from guanxi.analytics.btyd import MODELS
from guanxi.analytics.summary import summarize_transactions
from guanxi.insights import refresh, scoring
from guanxi.insights.choices import FitFailure, RunStatus, segment_code
from guanxi.insights.conf import refresh_settings
from guanxi.insights.explain import fit_failure_message
from guanxi.insights.models import CustomerInsight, RefreshRun
from guanxi.insights.services import insight_refresh_request, insight_refresh_run
from guanxi.insights.tests.factories import load_log, simulated

DAYS = 364.0
AS_OF = dt.date(2024, 1, 1) + dt.timedelta(days=int(DAYS) - 1)


def _refresh(**overrides):
    run = insight_refresh_request(actor=None, enqueue=False)
    return insight_refresh_run(run=run, params=refresh_settings(**overrides), as_of=AS_OF)


@pytest.fixture
def sim(db):
    log = simulated(2500, DAYS)
    ids = load_log(log)
    return log, np.asarray(ids)


def test_refresh_recovers_parameters_and_scores_like_the_core(sim):
    # given a BG/NBD + Gamma-Gamma log with known weekly parameters
    log, ids = sim

    # when the insights are refreshed
    run = _refresh()

    # then the BG/NBD fit recovers the parameters within tolerance
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.is_current
    bgnbd = next(f for f in run.model_comparison if f["model"] == "bgnbd")
    assert bgnbd["params"]["r"] == pytest.approx(0.25, rel=0.3)
    assert bgnbd["params"]["alpha"] == pytest.approx(4.0, rel=0.35)
    spend = next(f for f in run.model_comparison if f["model"] == "gammagamma")
    assert spend["params"]["p"] == pytest.approx(6.0, rel=0.35)
    assert run.holdout["by_frequency"] and run.holdout["customers"] > 0
    assert set(run.timings) == {"summary", "fit", "score", "write"}

    # and the database summary equals the analytics core's on the same log
    core = summarize_transactions(
        ids[log.customer], np.floor(log.time), log.amount, period="D", unit="W",
        observation_end=DAYS - 1,
    )  # fmt: skip
    rows = {
        i.customer_id: i
        for i in CustomerInsight.objects.filter(customer_id__in=core.customer.tolist())
    }
    assert len(rows) == len(core)
    freq = np.array([rows[c].frequency for c in core.customer.tolist()])
    np.testing.assert_array_equal(freq, core.frequency)
    orders = np.array([rows[c].order_count for c in core.customer.tolist()])
    np.testing.assert_array_equal(orders, core.n_purchases)
    recency = np.array([rows[c].recency_days for c in core.customer.tolist()])
    np.testing.assert_array_equal(recency, np.rint(core.days_since_last_purchase * 7))

    # and P(alive) is the chosen model's, called directly on the core summary
    model_class: Any = MODELS[run.chosen_model]
    model = model_class.from_params(**run.model_params["purchase"]["params"])
    expected = model.probability_alive(core.frequency, core.recency, core.T)
    stored = np.array([rows[c].p_alive for c in core.customer.tolist()])
    np.testing.assert_allclose(stored, expected, atol=1e-4)

    # and the RFM segments are the core's
    scored = rfm.rfm_scores(
        recency, orders, np.array([float(rows[c].total_spend) for c in core.customer.tolist()])
    )
    assert [rows[c].rfm_segment for c in core.customer.tolist()] == [
        segment_code(s) for s in scored.segment.tolist()
    ]

    # and every ladder stage is what the rule says for that customer alone
    for c in core.customer.tolist()[:400]:
        row = rows[c]
        decision = rules.ladder_stage(
            purchases=row.order_count,
            days_since_last_purchase=float(row.recency_days or 0),
            loyalty=row.loyalty_index,
            p_alive=row.p_alive,
        )
        assert row.ladder_stage == decision.value


def test_failed_write_leaves_previous_results_readable_and_complete(sim, monkeypatch):
    # given a successful refresh
    first = _refresh()
    before = list(CustomerInsight.objects.order_by("pk").values())

    # when the next one fails in its write stage
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(refresh, "_swap", broken)
    second = _refresh(margin=0.9)

    # then it is recorded as failed and the previous results are all still there
    assert second.status == RunStatus.FAILED
    assert "disk full" in second.error
    assert list(CustomerInsight.objects.order_by("pk").values()) == before
    first.refresh_from_db()
    assert first.is_current


def test_cancel_between_batches_keeps_previous_results(sim, monkeypatch):
    first = _refresh()
    before = list(CustomerInsight.objects.order_by("pk").values_list("pk", "clv"))
    run = insight_refresh_request(actor=None, enqueue=False)
    original = refresh._Tracker.progress

    def cancel_in_score(self, share, *, force=False):
        if self.stage == "score":
            RefreshRun.objects.filter(pk=self.run.pk).update(cancel_requested=True)
        return original(self, share, force=force)

    monkeypatch.setattr(refresh._Tracker, "progress", cancel_in_score)
    run = insight_refresh_run(run=run, params=refresh_settings(batch_size=500), as_of=AS_OF)

    assert run.status == RunStatus.CANCELLED
    assert list(CustomerInsight.objects.order_by("pk").values_list("pk", "clv")) == before
    first.refresh_from_db()
    assert first.is_current


def test_too_little_data_keeps_rule_based_scores_with_a_reason(world):
    # given the small world (a handful of customers with one order each)
    # when the insights are refreshed
    run = insight_refresh_run(run=insight_refresh_request(actor=None, enqueue=False))

    # then no model is fitted, and the reason is given in words
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.fit_failure == FitFailure.TOO_FEW_CUSTOMERS
    assert "Too little data" in fit_failure_message(run)
    # and the rule-based scores are there while the probabilistic fields are empty
    buyer = CustomerInsight.objects.filter(order_count__gt=0).first()
    assert buyer is not None
    assert buyer.rfm_segment and buyer.abc_grade
    # One order each: a first-time customer, or lapsed when that order is a year old.
    assert buyer.ladder_stage in ("customer", "churned")
    assert buyer.p_alive is None and buyer.clv is None and buyer.churn_risk
    assert (
        CustomerInsight.objects.count()
        == world.records_for("analyst")["own"].customer.__class__.objects.count()
    )


def test_a_second_refresh_replaces_the_first_atomically(sim):
    first = _refresh()
    second = _refresh(margin=0.6)
    first.refresh_from_db()
    assert second.is_current and not first.is_current
    assert not CustomerInsight.objects.exclude(refresh_run=second).exists()


def test_a_refresh_leaves_planner_statistics_for_the_insight_tables(sim):
    # when the insights are refreshed
    run = _refresh()

    # then the database has statistics of the swapped-in rows (lists and dashboards plan
    # with them) and the run says how long gathering them took
    assert "analyze_seconds" in run.timings["write"]
    table = CustomerInsight._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s", [table])
            rows = int(cursor.fetchone()[0].split()[0])
        else:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
            rows = int(cursor.fetchone()[0])
    # (SQLite samples a bounded number of rows per index: its count is an estimate)
    stored = CustomerInsight.objects.count()
    assert stored > 0
    assert stored / 2 <= rows <= stored * 2


def test_scoring_rules_match_the_rules_called_alone():
    # A synthetic base covering every ladder class, with and without P(alive).
    rng = np.random.default_rng(3)
    n = 600
    orders = rng.integers(1, 15, n)
    periods = np.minimum(orders, rng.integers(1, 15, n))
    last_day = 1000 - rng.integers(0, 500, n)
    from guanxi.insights.summary import DatabaseSummary

    summary = DatabaseSummary(
        customer=np.arange(n), first=last_day - 100, last=last_day, first_day=last_day - 100,
        last_day=last_day, periods=periods, orders=orders, spend=rng.gamma(2, 50, n),
        first_spend=np.zeros(n), periods_cal=periods, last_cal=last_day, periods_holdout=np.zeros(n, int),
        period="D", end=1000, calibration_end=1000,
    )  # fmt: skip
    p_alive = rng.random(n)
    predictions = scoring.Predictions(p_alive * 2, p_alive, np.full(n, 50.0), rng.gamma(2, 100, n))
    scores = scoring.score_rules(
        summary, predictions, refresh_settings(), end_day=1000, credit=np.full(n, np.nan)
    )
    for i in range(n):
        loyalty = rules.loyalty_index(repeat_purchases=int(orders[i]) - 1).value
        stage = rules.ladder_stage(
            purchases=int(orders[i]), days_since_last_purchase=float(1000 - last_day[i]),
            loyalty=loyalty, p_alive=float(p_alive[i]),
        ).value  # fmt: skip
        assert scores.ladder[i] == stage
        quadrant = rules.portfolio_quadrant(
            value=float(predictions.clv[i]), expected_loyalty=float(p_alive[i]),
            value_threshold=scores.portfolio_threshold,
        ).value  # fmt: skip
        assert scores.quadrant[i] == quadrant.replace(" ", "_")


def test_the_customer_base_gets_the_buyers_it_missed():
    # The base and the summary are read at different moments (on PostgreSQL side by side):
    # a customer created with an order in between is in the summary only.
    ids, credit = refresh._with_buyers(np.array([1, 3]), np.array([0.5, 0.2]), np.array([2, 3, 5]))
    assert ids.tolist() == [1, 2, 3, 5]
    np.testing.assert_array_equal(credit, [0.5, np.nan, 0.2, np.nan])
