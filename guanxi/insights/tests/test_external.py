"""The scale-out path over Parquet (DuckDB): the same summary and the same insight values as
the database path on the same orders; unknown customers reported; bad sources named."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from guanxi.insights.choices import RunStatus
from guanxi.insights.conf import refresh_settings
from guanxi.insights.external import Columns, ExternalSourceError, parse_source
from guanxi.insights.external.duckdb_source import DuckDBSource
from guanxi.insights.models import RefreshRun
from guanxi.insights.services import insight_refresh_request, insight_refresh_run
from guanxi.insights.summary import DatabaseSummary, fetch_summary
from guanxi.insights.tests.factories import (
    START,
    export_orders_parquet,
    insight_values,
    load_external_log,
    simulated,
)

DAYS = 300.0
AS_OF = START + dt.timedelta(days=int(DAYS) - 1)


def refresh(source=None, **overrides) -> RefreshRun:
    """One full refresh, on the database or on ``source``."""
    run = insight_refresh_request(actor=None, enqueue=False)
    return insight_refresh_run(
        run=run, params=refresh_settings(**overrides), as_of=AS_OF, summary_source=source
    )


def assert_same_summary(external: DatabaseSummary | None, database: DatabaseSummary | None):
    """Every array equal (the first period's spend to the cent's rounding)."""
    assert external is not None and database is not None
    for name in ("customer", "first", "last", "first_day", "last_day", "periods", "orders",
                 "periods_cal", "last_cal", "periods_holdout"):  # fmt: skip
        np.testing.assert_array_equal(getattr(external, name), getattr(database, name), name)
    np.testing.assert_allclose(external.spend, database.spend, rtol=0, atol=1e-9)
    repeat = database.periods > 1  # the first period's spend only counts for repeat buyers
    np.testing.assert_allclose(
        external.first_spend[repeat], database.first_spend[repeat], rtol=0, atol=1e-9
    )
    assert (external.period, external.end, external.calibration_end) == (
        database.period, database.end, database.calibration_end,
    )  # fmt: skip


def assert_same_insights(expected: dict, actual: dict) -> None:
    """Every insight field of every customer: text and integers equal, numbers to 1e-6
    relative (decimals to the cent)."""
    assert actual.keys() == expected.keys()
    for key, row in expected.items():
        other = actual[key]
        for name, value in row.items():
            got = other[name]
            if isinstance(value, float) and isinstance(got, float):
                assert math.isclose(got, value, rel_tol=1e-6, abs_tol=1e-9), (key, name)
            elif isinstance(value, Decimal) and isinstance(got, Decimal):
                assert abs(got - value) <= Decimal("0.01"), (key, name, value, got)
            else:
                assert got == value, (key, name, value, got)


def assert_same_models(expected: RefreshRun, actual: RefreshRun) -> None:
    """The same model chosen with the same parameters, and the same holdout check."""
    assert actual.chosen_model == expected.chosen_model
    assert (actual.customers, actual.orders) == (expected.customers, expected.orders)
    for part in ("purchase", "spend"):
        mine, theirs = actual.model_params[part], expected.model_params[part]
        assert mine["model"] == theirs["model"]
        for name, value in theirs["params"].items():
            assert mine["params"][name] == pytest.approx(value, rel=1e-6), (part, name)
    assert actual.holdout["customers"] == expected.holdout["customers"]


@pytest.fixture
def history(db, tmp_path):
    """A simulated history in the CRM and the same orders exported to Parquet."""
    load_external_log(simulated(400, DAYS, seed=5), as_of=AS_OF)
    folder = tmp_path / "orders"
    export_orders_parquet(folder)
    return folder


@pytest.mark.parametrize("period", ["D", "W"])
def test_duckdb_over_parquet_gives_the_database_insights(history, period):
    # given the database refresh of the history
    database_run = refresh(period=period)
    assert database_run.status == RunStatus.SUCCEEDED, database_run.error
    assert database_run.chosen_model
    expected = insight_values()
    params = refresh_settings(period=period)

    # when DuckDB summarises the same orders read from Parquet
    source = DuckDBSource(path=str(history))
    summary = source(params, AS_OF)

    # then the summary is the database's, array for array
    database = fetch_summary(period=period, as_of=AS_OF, holdout=params.holdout)
    assert_same_summary(summary, database)
    assert source.report["unknown_customers"] == 0

    # and a refresh from it writes the same insight values for every customer
    run = refresh(DuckDBSource(path=str(history)), period=period)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.parameters["source"]["source"] == f"parquet:{history}"
    assert_same_models(database_run, run)
    assert_same_insights(expected, insight_values())


def test_duckdb_summary_keeps_the_local_day_in_a_daylight_saving_zone(history, settings):
    # given a time zone with daylight saving time (the orders stay where they are in UTC)
    settings.TIME_ZONE = "Europe/Berlin"
    params = refresh_settings(period="D")
    summer = dt.date(2024, 7, 15)

    # when both paths summarise up to a summer day
    external = DuckDBSource(path=str(history))(params, summer)

    # then they agree on every local day
    assert_same_summary(external, fetch_summary(period="D", as_of=summer, holdout=params.holdout))


def test_unknown_customer_keys_are_reported_not_scored(history, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    # given two more orders of customers the CRM does not know
    extra = pa.table(
        {
            "customer": ["nobody-1", "nobody-2"],
            "ordered_at": pa.array(
                [dt.datetime(2024, 3, 1, 8, tzinfo=dt.UTC)] * 2, pa.timestamp("us", tz="UTC")
            ),
            "amount": pa.array([Decimal("10.00"), Decimal("20.00")], pa.decimal128(14, 2)),
            "order_id": ["x-1", "x-2"],
            "reverses": pa.array([None, None], pa.string()),
        }
    )
    pq.write_table(extra, history / "unknown.parquet")

    # when the refresh reads them through the command
    out = StringIO()
    call_command("analytics_refresh", "--as-of", AS_OF.isoformat(),
                 "--source", f"parquet:{history}", stdout=out)  # fmt: skip

    # then they are counted and named, and nobody else is affected
    text = out.getvalue()
    assert "2 customer keys" in text and "nobody-1" in text and "nobody-2" in text
    run = RefreshRun.objects.get(is_current=True)
    assert run.parameters["source"]["unknown_customers"] == 2
    assert run.parameters["source"]["unknown_orders"] == 2
    assert run.parameters["source"]["unknown_examples"] == ["nobody-1", "nobody-2"]
    assert "nobody-1" not in insight_values()


def test_mapped_column_names_and_a_history_without_reversals(db, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from guanxi.customers.models import Customer

    Customer.objects.create(name="A", external_id="42")
    # given a history with its own column names, integer keys and float amounts
    moments = [dt.datetime(2024, 1, d, 3, tzinfo=dt.UTC) for d in (1, 1, 5)]
    pq.write_table(
        pa.table({"cust": [42, 42, 42], "ts": pa.array(moments, pa.timestamp("us", tz="UTC")),
                  "total": [10.0, 5.5, 4.25]}),
        tmp_path / "h.parquet",
    )  # fmt: skip
    columns = Columns.parse("customer=cust, ordered_at=ts,amount=total")

    # when it is summarised
    summary = DuckDBSource(path=str(tmp_path / "h.parquet"), columns=columns)(
        refresh_settings(period="D"), dt.date(2024, 1, 31)
    )

    # then every row is a purchase: two periods, three orders
    assert summary is not None
    assert summary.orders.tolist() == [3] and summary.periods.tolist() == [2]
    assert summary.spend.tolist() == [19.75] and summary.first_spend.tolist() == [15.5]


def test_bad_sources_are_named(db, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    with pytest.raises(ExternalSourceError, match="parquet:PATH or spark:MASTER_URL"):
        parse_source("orders.parquet")
    with pytest.raises(ExternalSourceError, match="Unknown source kind 'csv'"):
        parse_source("csv:orders.csv")
    with pytest.raises(ExternalSourceError, match="exactly one of --spark-table"):
        parse_source("spark:local[2]")
    with pytest.raises(ExternalSourceError, match="Bad column mapping 'client=c'"):
        Columns.parse("client=c")
    with pytest.raises(ExternalSourceError, match="Cannot read Parquet"):
        DuckDBSource(path=str(tmp_path / "missing.parquet")).span()
    pq.write_table(pa.table({"customer": ["a"], "amount": [1.0]}), tmp_path / "x.parquet")
    with pytest.raises(ExternalSourceError, match="no column 'ordered_at'"):
        DuckDBSource(path=str(tmp_path / "x.parquet")).span()
    # The command says the same in words, and a failed source keeps the previous results.
    with pytest.raises(CommandError, match="no column 'ordered_at'"):
        call_command("analytics_refresh", "--source", f"parquet:{tmp_path / 'x.parquet'}")
    with pytest.raises(CommandError, match="--enqueue"):
        call_command("analytics_refresh", "--enqueue", "--source", "parquet:x.parquet")


def test_spark_source_from_the_command_line_options(db):
    from guanxi.insights.external.spark_source import SparkSource

    # A cluster URL, a catalog table and settings for the session (no session starts here).
    source = parse_source(
        "spark:spark://spark-master:7077",
        spark_table="sales.orders",
        spark_conf=["spark.executor.memory=4g", "spark.executor.cores = 4"],
    )
    assert isinstance(source, SparkSource)
    assert source.master == "spark://spark-master:7077" and source.table == "sales.orders"
    assert source.conf == {"spark.executor.memory": "4g", "spark.executor.cores": "4"}
    assert source.label() == "spark:spark://spark-master:7077 (table sales.orders)"
    with pytest.raises(ExternalSourceError, match="Bad Spark setting 'memory'"):
        parse_source("spark:local[2]", spark_path="/data", spark_conf=["memory"])
    with pytest.raises(ExternalSourceError, match="go with a spark: source"):
        parse_source("parquet:/data", spark_table="sales.orders")
    with pytest.raises(CommandError, match="go with an external --source"):
        call_command("analytics_refresh", "--spark-table", "sales.orders")
