"""The scale-out path: the insight refresh over a transaction history kept outside the CRM.

The orders live in Parquet files (read by DuckDB, :mod:`.duckdb_source`) or in a Spark table
or Parquet path (PySpark, :mod:`.spark_source`). The per-customer summary is computed IN that
engine, by the same two-level ``GROUP BY`` as the database path
(:mod:`guanxi.insights.summary`): first by (customer, purchase period), then by customer.
Only one row per customer comes back, as an Arrow table; its customer keys (the CRM's
``Customer.external_id``) are mapped to customer ids, and the result is a
:class:`~guanxi.insights.summary.DatabaseSummary` with the same arrays and meaning as the
database's. The refresh then fits, scores and writes exactly as it does for the database
(:func:`guanxi.insights.refresh.execute_refresh` with ``summary_source``).

The history is one row per order (docs/insights-scale-out.md):

``customer``   the customer's external id in the CRM (text or integer)
``ordered_at`` when the order was placed (a Parquet timestamp; naive values are UTC)
``amount``     the order total (decimal or floating point)
``order_id``   optional: the order's id, with ``reverses``
``reverses``   optional: the id of the order this one reverses (a reversal), else null

With ``order_id`` and ``reverses``, reversed orders and their reversals are left out, as in
the CRM; without them every row is a purchase. Keys that match no customer are reported
(count and examples on the run and by the command), not scored.
"""

from __future__ import annotations

import datetime as dt
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from django.db import connections

from guanxi.customers.models import Customer

from ..conf import RefreshSettings
from ..summary import (
    DatabaseSummary,
    calibration_end_of,
    local_day,
    local_midnight,
    period_of_day,
    utc_offset_seconds,
)

#: How many unknown customer keys the report lists.
UNKNOWN_EXAMPLES = 10
#: Columns of the summary the engines return, in order.
SUMMARY_COLUMNS = ("k", "np", "p0", "p1", "d0", "d1", "n", "cents", "fs", "nph", "pc")


class ExternalSourceError(ValueError):
    """The external history cannot be read as described (missing file, column, engine)."""


@dataclass(frozen=True)
class Columns:
    """Names of the history's columns in the source (defaults: the documented names)."""

    customer: str = "customer"
    ordered_at: str = "ordered_at"
    amount: str = "amount"
    order_id: str = "order_id"
    reverses: str = "reverses"

    @classmethod
    def parse(cls, text: str | None) -> Columns:
        """``customer=cust_no,amount=total`` -> Columns (unnamed ones keep their default)."""
        if not text:
            return cls()
        names: dict[str, str] = {}
        for part in text.split(","):
            key, sep, value = part.partition("=")
            key, value = key.strip(), value.strip()
            if not sep or not value or key not in cls.__dataclass_fields__:
                raise ExternalSourceError(
                    f"Bad column mapping {part!r}: expected NAME=COLUMN with NAME one of "
                    f"{', '.join(cls.__dataclass_fields__)}."
                )
            names[key] = value
        return replace(cls(), **names)


@dataclass(frozen=True)
class Window:
    """The summary's time frame, computed like the database path's
    (:func:`guanxi.insights.summary.fetch_summary`)."""

    period: str
    offset: int  # UTC offset (s) of the local time zone at noon on the as-of day
    end_micros: int  # orders before local midnight after the as-of day count (µs since 1970)
    end: int  # period of the as-of day
    calibration_end: int


def window(*, period: str, as_of: dt.date, holdout: float, first_micros: int) -> Window:
    """The time frame for a history whose earliest row (any row) is at ``first_micros``."""
    offset = utc_offset_seconds(as_of)
    end_day = (as_of - dt.date(1970, 1, 1)).days
    first_moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=first_micros)
    first_day = min(local_day(first_moment, offset), end_day)
    end = period_of_day(end_day, period)
    calibration_end = calibration_end_of(end, period_of_day(first_day, period), holdout)
    end_micros = round(local_midnight(as_of + dt.timedelta(days=1)).timestamp() * 1_000_000)
    return Window(period, offset, end_micros, end, calibration_end)


def summary_sql(
    relation: str,
    columns: Columns,
    frame: Window,
    *,
    micros: str,
    quote: str,
    reversals: bool,
) -> str:
    """The summary over ``relation`` in SQL that DuckDB and Spark SQL both run.

    ``micros`` is the engine's expression for a timestamp ``{}`` in microseconds since 1970
    (``epoch_us({})`` in DuckDB, ``unix_micros(...)`` in Spark), ``quote`` its identifier
    quote.
    Output: one row per customer key with :data:`SUMMARY_COLUMNS`: periods, first and last
    period and local day, orders, spend in cents, first period's spend, holdout periods and
    last calibration period (-1 when none), exactly as the database path computes them.
    """

    def q(name: str) -> str:
        return f"{quote}{name.replace(quote, quote * 2)}{quote}"

    where = ""
    if reversals:
        # A reversed order did not happen; a reversal is the row that names what it reverses.
        where = (
            f"WHERE o.{q(columns.reverses)} IS NULL AND NOT EXISTS (SELECT 1 FROM {relation} r "  # noqa: S608
            f"WHERE r.{q(columns.reverses)} = o.{q(columns.order_id)})"
        )
    # Amounts are summed as integer cents: exact, and faster than decimals in both engines.
    # Microseconds as doubles are exact (< 2**53) and the day boundary is never closer than
    # 1 µs, so floor() of the quotient is the exact local day, as on PostgreSQL.
    day = f"CAST(floor(CAST(us + {frame.offset * 1_000_000} AS DOUBLE) / 86400000000) AS BIGINT)"
    per = "CAST(floor(CAST(d + 3 AS DOUBLE) / 7) AS BIGINT)" if frame.period == "W" else "d"
    cal = int(frame.calibration_end)
    return (
        f"WITH src AS (SELECT CAST(o.{q(columns.customer)} AS STRING) AS k, "  # noqa: S608
        f"{micros.format('o.' + q(columns.ordered_at))} AS us, "
        f"CAST(round(o.{q(columns.amount)} * 100) AS BIGINT) AS a FROM {relation} o {where}), "
        f"days AS (SELECT k, {day} AS d, a FROM src WHERE us < {int(frame.end_micros)}), "
        f"per AS (SELECT k, p, MIN(d) AS d0, MAX(d) AS d1, COUNT(*) AS n, SUM(a) AS s "
        f"FROM (SELECT k, d, {per} AS p, a FROM days) x GROUP BY k, p) "
        f"SELECT k, COUNT(*) AS np, MIN(p) AS p0, MAX(p) AS p1, MIN(d0) AS d0, MAX(d1) AS d1, "
        f"SUM(n) AS n, SUM(s) AS cents, CAST(min_by(s, p) AS DOUBLE) / 100 AS fs, "
        f"SUM(CASE WHEN p > {cal} THEN 1 ELSE 0 END) AS nph, "
        f"COALESCE(MAX(CASE WHEN p <= {cal} THEN p END), -1) AS pc FROM per GROUP BY k"
    )


def span_sql(relation: str, columns: Columns, *, micros: str, quote: str) -> str:
    """Earliest time (µs) and number of rows of the whole history (reversed rows included,
    like :func:`guanxi.insights.summary.time_span`)."""
    name = f"{quote}{columns.ordered_at.replace(quote, quote * 2)}{quote}"
    return f"SELECT MIN({micros.format(name)}), COUNT(*) FROM {relation}"  # noqa: S608


def customer_keys(using: str = "default") -> tuple[Any, np.ndarray]:
    """External ids of the CRM's customers (an Arrow string array) and their ids."""
    import pyarrow as pa

    table = Customer._meta.db_table
    keys: list[str] = []
    ids: list[int] = []
    with connections[using].cursor() as cursor:
        cursor.execute(
            f'SELECT external_id, id FROM "{table}" WHERE external_id IS NOT NULL'  # noqa: S608
        )
        while rows := cursor.fetchmany(100_000):
            block_keys, block_ids = zip(*rows, strict=True)
            keys.extend(block_keys)
            ids.extend(block_ids)
    return pa.array(keys, type=pa.string()), np.asarray(ids, dtype=np.int64)


@dataclass
class ExternalSummary(ABC):
    """A summary source for :func:`~guanxi.insights.refresh.execute_refresh`: the engine
    computes the summary, this maps its customer keys to customer ids.

    Subclasses implement :meth:`span` and :meth:`summary_table`; after a call,
    :attr:`report` says what was read and which keys matched no customer.
    """

    columns: Columns = field(default_factory=Columns)
    using: str = "default"
    report: dict[str, Any] = field(default_factory=dict)

    @abstractmethod
    def label(self) -> str:
        """Where the history comes from, for the run's parameters."""

    @abstractmethod
    def span(self) -> tuple[int | None, int]:
        """Earliest order time (µs since 1970, None when empty) and number of rows."""

    @abstractmethod
    def summary_table(self, frame: Window) -> Any:
        """The summary (:data:`SUMMARY_COLUMNS`) as a ``pyarrow.Table``."""

    def close(self) -> None:  # noqa: B027 - a no-op unless the source started an engine
        """Release the engine (a Spark session this source started)."""

    def describe(self) -> dict[str, Any]:
        """What the run records about its source."""
        return {"source": self.label(), **self.report}

    def __call__(self, params: RefreshSettings, as_of: dt.date) -> DatabaseSummary | None:
        """The summary of the history up to the end of ``as_of``, by customer id."""
        started = time.perf_counter()
        try:
            first, rows = self.span()
            self.report = {"rows": rows, "unknown_customers": 0, "unknown_examples": []}
            if first is None:
                return None
            frame = window(
                period=params.period, as_of=as_of, holdout=params.holdout, first_micros=first
            )
            table = self.summary_table(frame)
        finally:
            self.close()
        engine = time.perf_counter()
        summary = self._by_customer_id(table, frame)
        self.report["engine_seconds"] = round(engine - started, 3)
        self.report["match_seconds"] = round(time.perf_counter() - engine, 3)
        return summary

    def _by_customer_id(self, table: Any, frame: Window) -> DatabaseSummary | None:
        import pyarrow.compute as pc

        keys, ids = customer_keys(self.using)
        # One contiguous chunk per column: numpy then reads the Arrow buffers at C speed
        # (an engine returns thousands of small batches).
        table = table.combine_chunks()
        found = pc.index_in(table.column("k"), value_set=keys)
        known = pc.is_valid(found)
        unknown = table.filter(pc.invert(known))
        if unknown.num_rows:
            examples = pc.unique(unknown.column("k")).slice(0, UNKNOWN_EXAMPLES).to_pylist()
            self.report["unknown_customers"] = unknown.num_rows
            self.report["unknown_orders"] = int(pc.sum(unknown.column("n")).as_py())
            self.report["unknown_examples"] = sorted(str(k) for k in examples)
        table = table.filter(known).combine_chunks()
        if not table.num_rows:
            return None
        position = found.filter(known).to_numpy()
        customer = ids[position]
        order = np.argsort(customer, kind="stable")

        def column(name: str, dtype: Any) -> np.ndarray:
            return np.asarray(table.column(name).to_numpy(), dtype=dtype)[order]

        col = {name: column(name, np.int64) for name in SUMMARY_COLUMNS[1:] if name != "fs"}
        first_spend = column("fs", np.float64)
        return DatabaseSummary(
            customer=customer[order],
            first=col["p0"],
            last=col["p1"],
            first_day=col["d0"],
            last_day=col["d1"],
            periods=col["np"],
            orders=col["n"],
            spend=col["cents"] / 100.0,
            first_spend=np.round(first_spend, 2),
            periods_cal=col["np"] - col["nph"],
            last_cal=col["pc"],
            periods_holdout=col["nph"],
            period=frame.period,
            end=frame.end,
            calibration_end=frame.calibration_end,
        )


def parse_source(
    text: str,
    *,
    columns: Columns | None = None,
    spark_table: str | None = None,
    spark_path: str | None = None,
    spark_conf: list[str] | None = None,
) -> ExternalSummary:
    """``parquet:PATH`` or ``spark:MASTER_URL`` (with a table or a path) -> a source."""
    kind, sep, target = text.partition(":")
    columns = columns or Columns()
    if not sep or not target:
        raise ExternalSourceError(f"Unknown source {text!r}: use parquet:PATH or spark:MASTER_URL.")
    if kind == "parquet":
        from .duckdb_source import DuckDBSource

        if spark_table or spark_path:
            raise ExternalSourceError("--spark-table and --spark-path go with a spark: source.")
        return DuckDBSource(path=target, columns=columns)
    if kind == "spark":
        from .spark_source import SparkSource

        if bool(spark_table) == bool(spark_path):
            raise ExternalSourceError(
                "A spark: source needs exactly one of --spark-table or --spark-path."
            )
        conf: dict[str, str] = {}
        for item in spark_conf or []:
            key, eq, value = item.partition("=")
            if not eq or not key.strip():
                raise ExternalSourceError(f"Bad Spark setting {item!r}: expected KEY=VALUE.")
            conf[key.strip()] = value.strip()
        return SparkSource(
            master=target, table=spark_table, path=spark_path, conf=conf, columns=columns
        )
    raise ExternalSourceError(f"Unknown source kind {kind!r}: use parquet: or spark:.")
