"""The scale-out path over Apache Spark (``local[2]``): the same summary and the same insight
values as the database path on the same orders, read from Parquet or from a Spark table."""

from __future__ import annotations

import pytest

from guanxi.insights.choices import RunStatus
from guanxi.insights.conf import refresh_settings
from guanxi.insights.external import ExternalSourceError
from guanxi.insights.external.spark_source import SparkSource, spark_session
from guanxi.insights.summary import fetch_summary
from guanxi.insights.tests.factories import insight_values
from guanxi.insights.tests.test_external import (
    AS_OF,
    assert_same_insights,
    assert_same_models,
    assert_same_summary,
    history,  # noqa: F401 (the fixture)
    refresh,
)


@pytest.fixture(scope="module")
def spark():
    """One small local Spark session for the module (a JVM takes seconds to start)."""
    session = spark_session(
        "local[2]",
        {
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.driver.memory": "512m",
        },
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_spark_gives_the_database_insights(history, spark):  # noqa: F811
    # given the database refresh of the history
    database_run = refresh()
    assert database_run.status == RunStatus.SUCCEEDED, database_run.error
    expected = insight_values()
    params = refresh_settings()

    # when Spark summarises the same orders read from Parquet
    source = SparkSource(master="local[2]", path=str(history), session=spark)
    summary = source(params, AS_OF)

    # then the summary is the database's, array for array
    assert_same_summary(summary, fetch_summary(period="D", as_of=AS_OF, holdout=params.holdout))
    assert source.report["unknown_customers"] == 0

    # and a refresh from a Spark table of those orders writes the same insight values
    spark.read.parquet(str(history)).createOrReplaceTempView("crm_orders")
    run = refresh(SparkSource(master="local[2]", table="crm_orders", session=spark))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.parameters["source"]["source"] == "spark:local[2] (table crm_orders)"
    assert_same_models(database_run, run)
    assert_same_insights(expected, insight_values())
    # a session handed in is left running for its owner
    assert not spark.sparkContext._jsc.sc().isStopped()


def test_spark_names_a_missing_table(db, spark):
    source = SparkSource(master="local[2]", table="no_such_orders", session=spark)
    with pytest.raises(ExternalSourceError, match="Spark cannot read table 'no_such_orders'"):
        source(refresh_settings(), AS_OF)
