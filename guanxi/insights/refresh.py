"""The full refresh: summary in the database, fit, score, bulk write, atomic swap.

Stages (each timed, with the process's peak memory, on ``RefreshRun.timings``):

1. **summary**: one ``GROUP BY`` over the orders in the database
   (:func:`guanxi.insights.summary.fetch_summary`), streamed into numpy arrays, plus the ids
   and credit ratings of all customers (prospects have no orders);
2. **fit**: BG/NBD and Pareto/NBD compared by BIC on the summary (compressed to unique rows
   by the analytics core) and Gamma-Gamma for the spend, side by side in threads; the
   holdout check of the chosen model runs on in a thread during the next two stages;
3. **score**: predictions on the distinct (x, t_x, T) rows in batches, RFM, ABC and the rules
   (:mod:`guanxi.insights.scoring`);
4. **write**: on SQLite the rows go in batches into a temporary staging table
   (``executemany``); on PostgreSQL as numeric columns through binary ``COPY``
   (:mod:`guanxi.insights.bulk`), into the staging table for a small base or, for a large
   one, into a new table built beside ``CustomerInsight`` with its keys and indexes added
   after the load (the share of customer computed meanwhile on a second connection during
   the fit, the dated snapshot built as a table of its own on a second connection while the
   indexes are built). Then ONE short transaction swaps them in (upsert, rebuild, or
   rename), writes or attaches the dated snapshot and marks the run current
   (docs/adr/0009-insight-refresh.md).

Until that last transaction commits, readers see the previous results, complete; a failure,
a cancellation or a killed process at any earlier point leaves them untouched (the staging
tables are temporary: they disappear with the connection; the tables built beside are never
read, and are dropped by a failed run or the next one). Progress and a heartbeat are saved
on the run; cancellation is checked between batches.
"""

from __future__ import annotations

import datetime as dt
import logging
import resource
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, Protocol

import numpy as np
from django.db import connections, transaction
from django.utils import timezone

from guanxi.customers.models import Customer

from . import bulk, scoring
from .choices import RunStatus, Stage
from .conf import RefreshSettings, refresh_settings, snapshot_days
from .kpis import all_snapshot_dates
from .models import CustomerInsight, InsightSnapshot, RefreshRun
from .share import (
    clear_share_of_customer,
    share_values_sql,
    update_share_of_customer,
    year_bounds,
)
from .summary import IMPORT_THREAD, Beside, DatabaseSummary, fetch_summary, side_by_side

logger = logging.getLogger(__name__)

#: Progress (%) at the start of each stage.
_STAGE_START = {Stage.SUMMARY: 0, Stage.FIT: 35, Stage.SCORE: 45, Stage.WRITE: 70}
_STAGE_END = {Stage.SUMMARY: 35, Stage.FIT: 45, Stage.SCORE: 70, Stage.WRITE: 100}
#: Rows touched by an order this long before the summary started keep their order-based
#: fields at the swap (a transaction in flight when the summary began is not in it).
TOUCH_GUARD = dt.timedelta(minutes=5)
STAGE_TABLE = "guanxi_insight_stage"

#: Columns of the stage table, in the order the rows are built.
ORDER_COLUMNS = (
    "as_of", "first_purchase", "last_purchase", "order_count", "total_spend",
    "recency_days", "frequency", "ladder_stage",
)  # fmt: skip
MODEL_COLUMNS = (
    "refresh_run_id", "recency_score", "frequency_score", "monetary_score", "rfm_segment",
    "abc_grade", "abc_score", "abc_score_grade", "expected_purchases", "p_alive",
    "expected_spend", "clv", "clv_model", "churn_risk", "loyalty_index", "portfolio_quadrant",
    "relationship_level", "relationship_tier",
)  # fmt: skip
COLUMNS = ("customer_id", *ORDER_COLUMNS, *MODEL_COLUMNS)
#: What the per-order upkeep recomputes from a customer's orders
#: (:func:`guanxi.insights.services.insight_apply_orders`): a row it touched after the
#: summary was read keeps these at the swap, being newer. The loyalty index, P(alive) and
#: churn risk are model columns of the stage (the refresh scores them with the rest), but
#: the upkeep decided the kept ladder stage from them and the new orders: taking the
#: refresh's, computed without those orders, would show a customer who has just bought as
#: at risk until the next refresh.
TOUCHED_COLUMNS = (*ORDER_COLUMNS, "loyalty_index", "p_alive", "churn_risk")


class SummarySource(Protocol):
    """A summary computed outside the CRM database (:mod:`guanxi.insights.external`)."""

    def __call__(self, params: RefreshSettings, as_of: dt.date) -> DatabaseSummary | None:
        """The per-customer summary up to the end of ``as_of``, sorted by customer id."""

    def describe(self) -> dict[str, Any]:
        """What the run records about the source (JSON-ready)."""


class RefreshCancelled(Exception):
    """Raised between batches when someone asked to cancel the run."""


def _peak_mb() -> float:
    # ru_maxrss is in kilobytes on Linux: the process's peak so far.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


class _Tracker:
    """Saves stage, progress, heartbeat and timings on the run; checks for cancellation."""

    def __init__(self, run: RefreshRun, on_progress: Callable[[str, int], None] | None) -> None:
        self.run = run
        self.on_progress = on_progress
        self.stage = ""
        self._last_save = 0.0

    @contextmanager
    def stage_of(self, stage: Stage) -> Iterator[None]:
        self.stage = stage
        self.progress(0.0, force=True)
        started = time.perf_counter()
        yield
        self.run.timings.setdefault(stage, {}).update(
            seconds=round(time.perf_counter() - started, 3), peak_mb=_peak_mb()
        )
        RefreshRun.objects.filter(pk=self.run.pk).update(timings=self.run.timings)

    def progress(self, share: float, *, force: bool = False) -> None:
        """Record progress within the current stage (0..1) and check for cancellation."""
        low, high = _STAGE_START[Stage(self.stage)], _STAGE_END[Stage(self.stage)]
        percent = int(low + (high - low) * min(max(share, 0.0), 1.0))
        now = time.monotonic()
        if force or now - self._last_save > 0.5:
            self._last_save = now
            self.run.progress = percent
            self.run.stage = self.stage
            RefreshRun.objects.filter(pk=self.run.pk).update(
                progress=percent, stage=self.stage, heartbeat_at=timezone.now(),
                timings=self.run.timings,
            )  # fmt: skip
            if self.on_progress is not None:
                self.on_progress(self.stage, percent)
        if RefreshRun.objects.filter(pk=self.run.pk, cancel_requested=True).exists():
            raise RefreshCancelled


def _customer_base(using: str) -> tuple[np.ndarray, np.ndarray]:
    """Ids of all customers (sorted) and their 0..1 credit criterion (NaN when unknown)."""
    codes = " ".join(
        f"WHEN '{code}' THEN {i}" for i, code in enumerate([*scoring.CREDIT_SCORES, "D"])
    )
    table = Customer._meta.db_table
    sql = (
        f"SELECT id, CASE credit_rating {codes} ELSE -1 END, "  # noqa: S608
        f'CASE WHEN credit_overdue THEN 1 ELSE 0 END FROM "{table}" ORDER BY id'
    )
    connection = connections[using]
    if connection.vendor == "postgresql":
        rows = bulk.copy_out_int8(
            connection,
            f"SELECT id::bigint, (CASE credit_rating {codes} ELSE -1 END)::bigint, "  # noqa: S608
            f'(CASE WHEN credit_overdue THEN 1 ELSE 0 END)::bigint FROM "{table}" ORDER BY id',
            [],
            3,
        )
        credit = scoring.credit_criterion(rows[:, 1], rows[:, 2].astype(bool))
        return rows[:, 0].copy(), credit
    ids: list[np.ndarray] = []
    ratings: list[np.ndarray] = []
    overdue: list[np.ndarray] = []
    with connection.cursor() as cursor:
        cursor.execute(sql)
        while rows := cursor.fetchmany(100_000):
            a, b, c = zip(*rows, strict=True)
            ids.append(np.array(a, dtype=np.int64))
            ratings.append(np.array(b, dtype=np.int64))
            overdue.append(np.array(c, dtype=bool))
    if not ids:
        return np.empty(0, np.int64), np.empty(0)
    credit = scoring.credit_criterion(np.concatenate(ratings), np.concatenate(overdue))
    return np.concatenate(ids), credit


def _with_buyers(
    base_ids: np.ndarray, credit: np.ndarray, buyers: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The customer base with every customer of the summary in it (credit unknown for those
    it lacks): the two are read at different moments, and a customer created with an order
    or deleted in between is in one and not the other."""
    missing = np.setdiff1d(buyers, base_ids, assume_unique=True)
    if not len(missing):
        return base_ids, credit
    ids = np.concatenate([base_ids, missing])
    order = np.argsort(ids, kind="stable")
    return ids[order], np.concatenate([credit, np.full(len(missing), np.nan)])[order]


def _none_for_nan(values: np.ndarray, digits: int | None = None) -> list[Any]:
    """A column as Python values with NaN as None (NULL), optionally rounded."""
    array = np.round(values, digits) if digits is not None else values
    out = array.astype(object)
    out[np.isnan(values)] = None
    return list(out.tolist())


def _dates(days: np.ndarray) -> list[Any]:
    return list(days.astype("datetime64[D]").astype(str).tolist())


def build_rows(
    run: RefreshRun,
    summary: DatabaseSummary | None,
    base_ids: np.ndarray,
    predictions: scoring.Predictions | None,
    scores: scoring.RuleScores | None,
    fit: scoring.FitResult,
    *,
    as_of: dt.date,
    end_day: int,
) -> Iterator[list[tuple[Any, ...]]]:
    """Rows for the stage table (see :data:`COLUMNS`), in blocks: buyers, then prospects."""
    as_of_text = as_of.isoformat()
    block = 100_000
    if summary is not None and len(summary) and predictions is not None and scores is not None:
        n = len(summary)
        model_name = fit.name
        for start in range(0, n, block):
            part = slice(start, min(start + block, n))
            count = part.stop - part.start
            columns: list[list[Any]] = [
                summary.customer[part].tolist(),
                [as_of_text] * count,
                _dates(summary.first_day[part]),
                _dates(summary.last_day[part]),
                summary.orders[part].tolist(),
                np.round(summary.spend[part], 2).tolist(),
                (end_day - summary.last_day[part]).tolist(),
                (summary.periods[part] - 1).tolist(),
                scores.ladder[part].tolist(),
                [run.pk] * count,
                scores.recency_score[part].tolist(),
                scores.frequency_score[part].tolist(),
                scores.monetary_score[part].tolist(),
                scores.segment[part].tolist(),
                scores.abc_grade[part].tolist(),
                np.round(scores.abc_score[part], 4).tolist(),
                scores.abc_score_grade[part].tolist(),
                _none_for_nan(predictions.expected_purchases[part], 4),
                _none_for_nan(predictions.p_alive[part], scoring.P_ALIVE_DECIMALS),
                _none_for_nan(predictions.expected_spend[part], 2),
                _none_for_nan(predictions.clv[part], 2),
                [model_name] * count,
                scores.churn_risk[part].tolist(),
                np.round(scores.loyalty[part], 4).tolist(),
                scores.quadrant[part].tolist(),
                scores.level[part].tolist(),
                scores.tier[part].tolist(),
            ]
            yield list(zip(*columns, strict=True))
    buyers = summary.customer if summary is not None else np.empty(0, np.int64)
    prospects = np.setdiff1d(base_ids, buyers, assume_unique=True)
    for start in range(0, len(prospects), block):
        ids = prospects[start : start + block].tolist()
        prospect = (as_of_text, None, None, 0, 0.0, None, 0, "prospect", run.pk)
        empty = (None, None, None, "", "", None, "", None, None, None, None, "", "", None, "",
                 "", "")  # fmt: skip
        yield [(pk, *prospect, *empty) for pk in ids]


def _create_stage(connection: Any) -> None:
    table = CustomerInsight._meta.db_table
    columns = ", ".join(COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite" and not connection.in_atomic_block:
            # In memory: through the temporary file, staging 1M rows took 5x as long. (SQLite
            # refuses the change inside a transaction; the stage then stays on file.)
            cursor.execute("PRAGMA temp_store = MEMORY")
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {STAGE_TABLE} AS "  # noqa: S608
            f'SELECT {columns}, touched_at FROM "{table}" WHERE 1 = 0'
        )


def _stage_rows(connection: Any, rows: list[tuple[Any, ...]]) -> None:
    columns = ", ".join(COLUMNS)
    if connection.vendor == "postgresql":
        raw = connection.connection
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY {STAGE_TABLE} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(COLUMNS))
    connection.connection.executemany(
        f"INSERT INTO {STAGE_TABLE} ({columns}) VALUES ({marks})",  # noqa: S608
        rows,
    )


#: Binary stage of the PostgreSQL write (numbers only; see :func:`_pg_stage_columns`).
RAW_TABLE = "guanxi_insight_raw"
#: The table the large-base write fills beside ``CustomerInsight`` and renames into place.
NEXT_TABLE = "guanxi_insight_next"
#: NULL sentinels of the binary stage (never a real value of those columns).
_NULL_INT = -(2**31)
_NULL_CENTS = -(2**63)
#: Stage columns of the binary write, in order: (name, type of :data:`bulk.PG_TYPES`).
_RAW_COLUMNS = (
    ("customer_id", "int8"), ("buyer", "int2"), ("first_day", "int4"), ("last_day", "int4"),
    ("order_count", "int4"), ("spend_cents", "int8"), ("recency_days", "int4"),
    ("frequency", "int4"), ("ladder_stage", "int2"), ("recency_score", "int2"),
    ("frequency_score", "int2"), ("monetary_score", "int2"), ("rfm_segment", "int2"),
    ("abc_grade", "int2"), ("abc_score", "float8"), ("abc_score_grade", "int2"),
    ("expected_purchases", "float8"), ("p_alive", "float8"), ("expected_spend", "int8"),
    ("clv", "int8"), ("churn_risk", "int2"), ("loyalty_index", "float8"),
    ("portfolio_quadrant", "int2"), ("relationship_level", "int2"),
    ("relationship_tier", "int2"),
)  # fmt: skip
#: Text columns sent as codes, and the value of a prospect (no orders).
_CODED = {
    "ladder_stage": "prospect", "rfm_segment": "", "abc_grade": "", "abc_score_grade": "",
    "churn_risk": "", "portfolio_quadrant": "", "relationship_level": "", "relationship_tier": "",
}  # fmt: skip


def _codes(values: np.ndarray, extra: str) -> tuple[np.ndarray, list[str]]:
    """Small-integer codes of a text column (few distinct values) and the code table."""
    items = values.tolist()
    table = sorted({*items, extra})
    index = {value: i for i, value in enumerate(table)}
    codes = np.fromiter(map(index.__getitem__, items), dtype=np.int16, count=len(items))
    return codes, table


def _cents(values: np.ndarray, digits: int = 2) -> np.ndarray:
    """A money column rounded as :func:`_none_for_nan` rounds it, in cents (NaN: NULL)."""
    rounded = np.round(values, digits)
    if np.isinf(rounded).any():
        raise ValueError("an insight amount is infinite")
    finite = np.isfinite(rounded)
    out = np.full(len(values), _NULL_CENTS, dtype=np.int64)
    out[finite] = np.rint(rounded[finite] * 100).astype(np.int64)
    return out


def _pg_stage_columns(
    summary: DatabaseSummary | None,
    base_ids: np.ndarray,
    predictions: scoring.Predictions | None,
    scores: scoring.RuleScores | None,
    *,
    end_day: int,
) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    """The rows of :func:`build_rows` as numeric columns, sorted by customer id.

    Same values: text as codes into a table per column, money in cents, dates as day
    numbers, NULL as a sentinel (NaN for the floats that are NULL when not a number).
    """
    scored = summary is not None and predictions is not None and scores is not None
    n = len(summary) if scored and summary is not None else 0
    buyers = summary.customer if summary is not None else np.empty(0, np.int64)
    prospects = np.setdiff1d(base_ids, buyers, assume_unique=True)
    m = len(prospects)

    def both(buyer: Any, prospect: Any, dtype: Any) -> np.ndarray:
        out = np.empty(n + m, dtype=dtype)
        out[:n] = buyer
        out[n:] = prospect
        return out

    nan = np.nan
    tables: dict[str, list[str]] = {}
    values: dict[str, np.ndarray] = {}
    if n and summary is not None and predictions is not None and scores is not None:
        values = {  # the buyers' values (as build_rows writes them), then the prospects'
            "customer_id": both(summary.customer, prospects, np.int64),
            "first_day": both(summary.first_day, _NULL_INT, np.int32),
            "last_day": both(summary.last_day, _NULL_INT, np.int32),
            "order_count": both(summary.orders, 0, np.int32),
            "spend_cents": both(_cents(summary.spend), 0, np.int64),
            "recency_days": both(end_day - summary.last_day, _NULL_INT, np.int32),
            "frequency": both(summary.periods - 1, 0, np.int32),
            "recency_score": both(scores.recency_score, -1, np.int16),
            "frequency_score": both(scores.frequency_score, -1, np.int16),
            "monetary_score": both(scores.monetary_score, -1, np.int16),
            "abc_score": both(np.round(scores.abc_score, 4), nan, np.float64),
            "expected_purchases": both(np.round(predictions.expected_purchases, 4), nan, float),
            "p_alive": both(np.round(predictions.p_alive, 4), nan, np.float64),
            "expected_spend": both(_cents(predictions.expected_spend), _NULL_CENTS, np.int64),
            "clv": both(_cents(predictions.clv), _NULL_CENTS, np.int64),
            "loyalty_index": both(np.round(scores.loyalty, 4), nan, np.float64),
        }
        coded = {
            "ladder_stage": scores.ladder, "rfm_segment": scores.segment,
            "abc_grade": scores.abc_grade, "abc_score_grade": scores.abc_score_grade,
            "churn_risk": scores.churn_risk, "portfolio_quadrant": scores.quadrant,
            "relationship_level": scores.level, "relationship_tier": scores.tier,
        }  # fmt: skip
        for name, column in coded.items():
            codes, tables[name] = _codes(column, _CODED[name])
            values[name] = both(codes, tables[name].index(_CODED[name]), np.int16)
        values["buyer"] = both(1, 0, np.int16)
    else:
        n = 0
        values = {name: np.zeros(m, dtype=bulk.PG_TYPES[kind]) for name, kind in _RAW_COLUMNS}
        values["customer_id"] = prospects.astype(np.int64)
        for name in ("first_day", "last_day", "recency_days"):
            values[name][:] = _NULL_INT
        for name in ("expected_spend", "clv"):
            values[name][:] = _NULL_CENTS
        for name in ("abc_score", "expected_purchases", "p_alive", "loyalty_index"):
            values[name][:] = nan
        for name, prospect in _CODED.items():
            tables[name] = [prospect]
    order = np.argsort(values["customer_id"], kind="stable")
    if not np.array_equal(order, np.arange(len(order))):
        values = {name: column[order] for name, column in values.items()}
    return values, tables


def _pg_select_sql(tables: dict[str, list[str]]) -> tuple[str, list[Any]]:
    """``SELECT`` list turning the binary stage back into the columns of :data:`COLUMNS`,
    and its parameters (the names "as_of", "run" and "model" stand for the as-of date, the
    run id and the CLV model name; a code table is passed as an array)."""
    mark = "%s"  # Django turns %s into the driver's placeholder
    day = f"DATE '1970-01-01' + NULLIF(r.{{0}}, {_NULL_INT})"
    money = f"NULLIF(r.{{0}}, {_NULL_CENTS})::numeric / 100"
    buyer_only = "CASE WHEN r.buyer = 1 THEN r.{0} END"
    expressions = {
        "customer_id": ("r.customer_id", None),
        "as_of": (f"{mark}::date", "as_of"),
        "first_purchase": (day.format("first_day"), None),
        "last_purchase": (day.format("last_day"), None),
        "order_count": ("r.order_count", None),
        "total_spend": ("r.spend_cents::numeric / 100", None),
        "recency_days": (f"NULLIF(r.recency_days, {_NULL_INT})", None),
        "frequency": ("r.frequency", None),
        "refresh_run_id": (mark, "run"),
        "recency_score": (buyer_only.format("recency_score"), None),
        "frequency_score": (buyer_only.format("frequency_score"), None),
        "monetary_score": (buyer_only.format("monetary_score"), None),
        # NaN stays NaN for a customer with orders, as the row-by-row write had it.
        "abc_score": (buyer_only.format("abc_score"), None),
        "expected_purchases": ("NULLIF(r.expected_purchases, 'NaN')", None),
        "p_alive": ("NULLIF(r.p_alive, 'NaN')", None),
        "expected_spend": (money.format("expected_spend"), None),
        "clv": (money.format("clv"), None),
        "clv_model": (f"CASE WHEN r.buyer = 1 THEN {mark} ELSE '' END", "model"),
        "loyalty_index": (buyer_only.format("loyalty_index"), None),
    }
    parts: list[str] = []
    params: list[Any] = []
    for column in COLUMNS:
        if column in _CODED:
            parts.append(f"({mark}::text[])[r.{column} + 1]")
            params.append(tables[column])
            continue
        expression, param = expressions[column]
        parts.append(expression)
        if param is not None:
            params.append(param)
    return ", ".join(parts), params


def _pg_write(
    connection: Any,
    run: RefreshRun,
    values: dict[str, np.ndarray],
    tables: dict[str, list[str]],
    *,
    target: str,
    model_name: str,
    between_blocks: Callable[[int], None],
    share_table: str | None = None,
) -> None:
    """Binary ``COPY`` of the columns into a temporary stage, then one ``INSERT ... SELECT``
    into ``target`` (the stage of the upsert, or the table built beside the live one), with
    the share of customer from ``share_table`` when given."""
    customers = Customer._meta.db_table
    # Into the table built beside, in two halves on two connections (the other one must see
    # the stage, so it is a plain unlogged table then).
    halves = target == NEXT_TABLE and len(values["customer_id"]) > 1
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
        cursor.execute(bulk.create_table_sql(RAW_TABLE, _RAW_COLUMNS, temporary=not halves))
    bulk.copy_in(connection, RAW_TABLE, _RAW_COLUMNS, values, between_blocks=between_blocks)
    select, names = _pg_select_sql(tables)
    given = {"as_of": run.as_of, "run": run.pk, "model": model_name}
    params = [given[p] if isinstance(p, str) else p for p in names]
    columns, source, only = ", ".join(COLUMNS), f"{RAW_TABLE} r", " WHERE TRUE"
    if share_table is not None:
        columns += ", share_of_customer"
        select += ", s.share"
        source += f" LEFT JOIN {share_table} s ON s.customer_id = r.customer_id"
    if target == NEXT_TABLE:  # the rows are final: customers deleted meanwhile stay out
        only = f' WHERE r.customer_id IN (SELECT id FROM "{customers}")'  # noqa: S608
    insert = f"INSERT INTO {target} ({columns}) SELECT {select} FROM {source}{only}"  # noqa: S608

    def rows(connection: Any, part: str = "", bound: list[int] | None = None) -> None:
        with connection.cursor() as cursor:
            cursor.execute(insert + part, [*params, *(bound or [])])

    if halves:
        middle = int(values["customer_id"][len(values["customer_id"]) // 2])
        side_by_side(
            connection,
            partial(rows, connection, " AND r.customer_id < %s", [middle]),
            partial(rows, part=" AND r.customer_id >= %s", bound=[middle]),
        )
    else:
        rows(connection)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {RAW_TABLE}")


def _pg_table_objects(cursor: Any, table: str) -> dict[str, Any]:
    """Primary key, secondary indexes and foreign keys of a PostgreSQL table, to recreate
    them on the table built beside it."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'p'",
        [table],
    )
    primary = cursor.fetchone()
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'u' ORDER BY conname",
        [table],
    )
    return {
        "primary": primary,
        "unique": cursor.fetchall(),
        "indexes": _secondary_indexes(cursor, "postgresql", table),
        "foreign_keys": _foreign_keys(cursor, table),
    }


def _pg_build_next(connection: Any, step: Callable[[float], None]) -> None:
    """Keys, indexes and statistics of the table built beside ``CustomerInsight``, outside
    any transaction: nothing waits for them (``step(share)`` runs between indexes)."""
    table = CustomerInsight._meta.db_table
    with connection.cursor() as cursor:
        objects = _pg_table_objects(cursor, table)
        statements = []
        if objects["primary"] is not None:
            key = objects["primary"][1]
            statements.append(f'ALTER TABLE {NEXT_TABLE} ADD CONSTRAINT "{NEXT_TABLE}_pkey" {key}')
        for i, (_name, definition) in enumerate(objects["indexes"]):
            statements.append(_index_on(definition, f"{NEXT_TABLE}_{i}"))
        statements.append(f"ANALYZE {NEXT_TABLE}")
        for done, statement in enumerate(statements):
            cursor.execute(statement)
            step((done + 1) / len(statements))


def _index_on(definition: str, name: str, table: str = NEXT_TABLE) -> str:
    """The ``CREATE INDEX`` of ``definition`` (``pg_indexes.indexdef``) on ``table``."""
    unique = "UNIQUE " if definition.startswith("CREATE UNIQUE") else ""
    _head, using, rest = definition.partition(" USING ")
    if not using:
        raise ValueError(f"cannot rebuild the index {definition!r}")
    return f'CREATE {unique}INDEX "{name}" ON "{table}" USING {rest}'


def _pg_create_next(connection: Any) -> None:
    """An empty copy of the ``CustomerInsight`` table (columns, defaults, checks)."""
    table = CustomerInsight._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {NEXT_TABLE}")
        cursor.execute(
            f'CREATE TABLE {NEXT_TABLE} (LIKE "{table}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)'
        )


def _pg_swap_next(
    cursor: Any, guard: dt.datetime, snapshot_date: dt.date | None, snapshot_part: str | None
) -> bool:
    """Rename the table built beside ``CustomerInsight`` into its place (inside the caller's
    transaction); returns True when it also wrote the snapshot of ``snapshot_date`` (by
    attaching ``snapshot_part`` when one was built, else by copying the rows).

    Readers keep reading the old table until the rename (a lock of milliseconds, at the end);
    writers (the orders' upkeep) wait from the moment the rows they changed meanwhile are
    carried over, so none of their changes is lost.
    """
    table = CustomerInsight._meta.db_table
    customers = Customer._meta.db_table
    target = f'"{table}"'
    mark = "%s"  # Django turns %s into the driver's placeholder
    # Deferred checks still pending in this transaction would forbid DROP and ALTER TABLE.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    objects = _pg_table_objects(cursor, table)
    wrote_snapshot = False
    if snapshot_date is not None and snapshot_part is not None:
        _pg_attach_snapshot_part(cursor, snapshot_date, snapshot_part)
        wrote_snapshot = True
    elif snapshot_date is not None:
        _pg_snapshot(cursor, snapshot_date, source=NEXT_TABLE)
        wrote_snapshot = True
    # From here on, no order changes the live rows until the commit.
    cursor.execute(f"LOCK TABLE {target} IN EXCLUSIVE MODE")
    # (The share of customer too: the upkeep recomputed it with the orders.)
    newer = ", ".join(f"{c} = i.{c}" for c in [*TOUCHED_COLUMNS, "share_of_customer", "touched_at"])
    cursor.execute(
        f"UPDATE {NEXT_TABLE} SET {newer} FROM {target} i "  # noqa: S608
        f"WHERE i.customer_id = {NEXT_TABLE}.customer_id AND i.touched_at >= {mark}",
        [guard],
    )
    columns = ", ".join([*COLUMNS, "touched_at"])
    # Rows of customers the summary did not see: an order created them after it started.
    cursor.execute(
        f"INSERT INTO {NEXT_TABLE} ({columns}) SELECT {columns} FROM {target} i "  # noqa: S608
        f"WHERE i.touched_at >= {mark} AND NOT EXISTS "
        f"(SELECT 1 FROM {NEXT_TABLE} n WHERE n.customer_id = i.customer_id)",
        [guard],
    )
    cursor.execute(
        f"DELETE FROM {NEXT_TABLE} n WHERE NOT EXISTS "  # noqa: S608
        f'(SELECT 1 FROM "{customers}" c WHERE c.id = n.customer_id)'
    )
    if wrote_snapshot and snapshot_date is not None:
        _pg_snapshot(cursor, snapshot_date, source=NEXT_TABLE, touched_since=guard)
    cursor.execute(f"DROP TABLE {target}")
    cursor.execute(f"ALTER TABLE {NEXT_TABLE} RENAME TO {target}")
    if objects["primary"] is not None:
        cursor.execute(
            f'ALTER TABLE {target} RENAME CONSTRAINT "{NEXT_TABLE}_pkey" '
            f'TO "{objects["primary"][0]}"'
        )
    for i, (name, _definition) in enumerate(objects["indexes"]):
        cursor.execute(f'ALTER INDEX "{NEXT_TABLE}_{i}" RENAME TO "{name}"')
    for name, definition in objects["foreign_keys"]:
        # The rows were joined to their customers and run above: no need to re-check them.
        cursor.execute(f'ALTER TABLE {target} ADD CONSTRAINT "{name}" {definition} NOT VALID')
    return wrote_snapshot


#: From this many staged rows on, the swap empties the table and inserts into it without its
#: secondary indexes (rebuilt at the end), which is several times faster than an upsert that
#: updates every index row by row; below it, the upsert.
REBUILD_MIN_ROWS = 20_000


def swap_sql(vendor: str) -> str:
    """The upsert that moves the staged rows into ``CustomerInsight`` in one statement.

    Model results always replace the old ones; the order-based fields of a row that an order
    updated after the summary was read (``touched_at >= guard``) are kept, being newer.
    """
    table = CustomerInsight._meta.db_table
    customers = Customer._meta.db_table
    mark = "%s"  # Django turns %s into the driver's placeholder
    target = f'"{table}"'
    updates = [f"{c} = excluded.{c}" for c in MODEL_COLUMNS if c not in TOUCHED_COLUMNS]
    updates += [
        f"{c} = CASE WHEN {target}.touched_at >= {mark} THEN {target}.{c} ELSE excluded.{c} END"
        for c in TOUCHED_COLUMNS
    ]
    columns = ", ".join(COLUMNS)
    return (
        f"INSERT INTO {target} ({columns}, touched_at) "  # noqa: S608
        f"SELECT {', '.join('s.' + c for c in COLUMNS)}, NULL FROM {STAGE_TABLE} s "
        f'WHERE s.customer_id IN (SELECT id FROM "{customers}") '
        f"ON CONFLICT (customer_id) DO UPDATE SET {', '.join(updates)}"
    )


def _secondary_indexes(cursor: Any, vendor: str, table: str) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the table's indexes other than its primary key."""
    if vendor == "sqlite":
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL",
            [table],
        )
        return [(name, sql) for name, sql in cursor.fetchall()]
    cursor.execute(
        # Ordered: the table built beside numbers its indexes in this order, and the swap
        # renames them back by that number.
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass) ORDER BY indexname",
        [table, table],
    )
    return [(name, sql) for name, sql in cursor.fetchall()]


def _foreign_keys(cursor: Any, table: str) -> list[tuple[str, str]]:
    """(name, definition) of the foreign keys of a PostgreSQL table."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'f'",
        [table],
    )
    return [(name, definition) for name, definition in cursor.fetchall()]


def _rebuild(cursor: Any, vendor: str, guard: dt.datetime) -> None:
    """Replace every row by the staged ones, keeping what orders changed meanwhile."""
    table = CustomerInsight._meta.db_table
    customers = Customer._meta.db_table
    target = f'"{table}"'
    mark = "%s"  # Django turns %s into the driver's placeholder
    columns = ", ".join([*COLUMNS, "touched_at"])
    # Rows an order brought up to date after the summary was read keep those figures.
    newer = ", ".join(f"{c} = i.{c}" for c in [*TOUCHED_COLUMNS, "touched_at"])
    cursor.execute(
        f"UPDATE {STAGE_TABLE} SET {newer} FROM {target} i "  # noqa: S608
        f"WHERE i.customer_id = {STAGE_TABLE}.customer_id AND i.touched_at >= {mark}",
        [guard],
    )
    # Rows of customers the summary did not see (their first order came in meanwhile).
    cursor.execute(
        f"INSERT INTO {STAGE_TABLE} ({columns}) SELECT {columns} FROM {target} i "  # noqa: S608
        f"WHERE NOT EXISTS (SELECT 1 FROM {STAGE_TABLE} s WHERE s.customer_id = i.customer_id)"
    )
    indexes = _secondary_indexes(cursor, vendor, table)
    foreign_keys: list[tuple[str, str]] = []
    if vendor == "postgresql":
        # Deferred checks still pending in this transaction would forbid ALTER TABLE.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        foreign_keys = _foreign_keys(cursor, table)
    for name, _sql in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    for name, _definition in foreign_keys:
        cursor.execute(f'ALTER TABLE {target} DROP CONSTRAINT "{name}"')
    cursor.execute(f"TRUNCATE {target}" if vendor == "postgresql" else f"DELETE FROM {target}")  # noqa: S608
    cursor.execute(
        f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {STAGE_TABLE} s "  # noqa: S608
        f'WHERE s.customer_id IN (SELECT id FROM "{customers}") ORDER BY s.customer_id'
    )
    for _name, sql in indexes:
        cursor.execute(sql)
    for name, definition in foreign_keys:
        # The rows were joined to their customers and run above: no need to re-check them.
        cursor.execute(f'ALTER TABLE {target} ADD CONSTRAINT "{name}" {definition} NOT VALID')


def _builds_beside(vendor: str, staged: int) -> bool:
    """Whether the write builds a new table beside ``CustomerInsight`` and renames it in
    (PostgreSQL, large bases); otherwise rows go through the stage table."""
    return vendor == "postgresql" and staged >= REBUILD_MIN_ROWS


def swap_rows(
    connection: Any,
    guard: dt.datetime,
    staged: int,
    *,
    snapshot_date: dt.date | None = None,
    snapshot_part: str | None = None,
) -> bool:
    """Move the staged rows into ``CustomerInsight`` (inside the caller's transaction).

    Returns True when it also wrote the snapshot of ``snapshot_date`` (the PostgreSQL
    rebuild attaches ``snapshot_part``, or copies the rows before it locks the live table);
    otherwise the caller writes it.
    """
    with connection.cursor() as cursor:
        if _builds_beside(connection.vendor, staged):
            return _pg_swap_next(cursor, guard, snapshot_date, snapshot_part)
        if staged >= REBUILD_MIN_ROWS:
            _rebuild(cursor, connection.vendor, guard)
        else:
            cursor.execute(swap_sql(connection.vendor), [guard] * len(TOUCHED_COLUMNS))
    return False


#: Columns copied from the swapped-in insight rows into the dated snapshot.
SNAPSHOT_COLUMNS = (
    "ladder_stage", "rfm_segment", "abc_grade", "clv", "p_alive", "first_purchase",
    "order_count", "total_spend",
)  # fmt: skip


def write_snapshot(connection: Any, snapshot_date: dt.date) -> None:
    """Copy every live customer's insight row into the snapshot of ``snapshot_date``.

    One ``INSERT ... SELECT`` inside the caller's (swap) transaction, so the snapshot commits
    with the results it copies or not at all; a date refreshed twice keeps the later copy.
    """
    with connection.cursor() as cursor:
        _snapshot_rows(cursor, snapshot_date, source=f'"{CustomerInsight._meta.db_table}"')


def _snapshot_rows(
    cursor: Any, snapshot_date: dt.date, *, source: str, touched_since: dt.datetime | None = None
) -> None:
    """Replace the snapshot rows of ``snapshot_date`` by those of ``source`` (all, or only the
    rows an order touched since ``touched_since``)."""
    table = InsightSnapshot._meta.db_table
    customers = Customer._meta.db_table
    own = ", ".join(SNAPSHOT_COLUMNS)
    only, params = "", []
    if touched_since is not None:
        only = " AND i.touched_at >= %s"
        params = [touched_since]
        cursor.execute(
            f'DELETE FROM "{table}" WHERE snapshot_date = %s AND customer_id IN '  # noqa: S608
            f"(SELECT customer_id FROM {source} i WHERE i.touched_at >= %s)",
            [snapshot_date, touched_since],
        )
    else:
        cursor.execute(f'DELETE FROM "{table}" WHERE snapshot_date = %s', [snapshot_date])  # noqa: S608
    cursor.execute(
        f'INSERT INTO "{table}" (snapshot_date, customer_id, {own}, owner_id, team_id, '  # noqa: S608
        f"region) SELECT %s, i.customer_id, {', '.join('i.' + c for c in SNAPSHOT_COLUMNS)}, "
        f"c.owner_id, c.team_id, c.province FROM {source} i "
        f'JOIN "{customers}" c ON c.id = i.customer_id WHERE c.deleted_at IS NULL{only}',
        [snapshot_date, *params],
    )


def _pg_snapshot(
    cursor: Any, snapshot_date: dt.date, *, source: str, touched_since: dt.datetime | None = None
) -> None:
    """:func:`_snapshot_rows` on PostgreSQL for a whole base: without the per-row check of
    the foreign key to the customer (the rows are joined to their customers), which is re-added
    ``NOT VALID`` and would otherwise cost as much as the insert itself."""
    table = InsightSnapshot._meta.db_table
    foreign_keys = [] if touched_since is not None else _foreign_keys(cursor, table)
    for name, _definition in foreign_keys:
        cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    _snapshot_rows(cursor, snapshot_date, source=source, touched_since=touched_since)
    for name, definition in foreign_keys:
        cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition} NOT VALID')


#: Prefix of the tables that each hold one large refresh's snapshot on PostgreSQL (then
#: ``d<YYYYMMDD>_r<run>``): built beside while the new insight table gets its indexes, and
#: attached to the snapshot table as an inheritance child in the swap (ADR 9).
SNAPSHOT_PART_PREFIX = f"{InsightSnapshot._meta.db_table}_d"


def snapshot_part_name(run: RefreshRun) -> str:
    """The name of the table that holds ``run``'s snapshot while it is built."""
    assert run.as_of is not None
    return f"{SNAPSHOT_PART_PREFIX}{run.as_of:%Y%m%d}_r{run.pk}"


def _pg_snapshot_parts(cursor: Any, *, attached: bool) -> list[str]:
    """Names of the snapshot part tables attached to the snapshot table, or of those left
    unattached (by a failed or killed run)."""
    table = InsightSnapshot._meta.db_table
    pattern = SNAPSHOT_PART_PREFIX.replace("_", r"\_") + "%"
    cursor.execute(
        "SELECT c.relname FROM pg_class c WHERE c.relkind = 'r' AND c.relname LIKE %s "  # noqa: S608
        f"AND {'' if attached else 'NOT '}EXISTS (SELECT 1 FROM pg_inherits i "
        "WHERE i.inhrelid = c.oid AND i.inhparent = %s::regclass) ORDER BY c.relname",
        [pattern, table],
    )
    return [name for (name,) in cursor.fetchall()]


def _pg_build_snapshot_part(connection: Any, snapshot_date: dt.date, name: str) -> None:
    """Copy the rows of the table built beside into the new table ``name`` with the snapshot
    table's columns, checks, keys and indexes and a check that pins its date, outside any
    transaction (run on a second connection while the insight indexes are built).

    Writing a million snapshot rows into the live snapshot table inside the swap cost more
    than a third of a 1M-customer refresh (its index upkeep and WAL); here they are written
    beside, and the swap only attaches the finished table (:func:`_pg_attach_snapshot_part`).
    Ids come from the snapshot table's own sequence, so they stay unique across the parts.
    """
    table = InsightSnapshot._meta.db_table
    customers = Customer._meta.db_table
    own = ", ".join(SNAPSHOT_COLUMNS)
    with connection.cursor() as cursor:
        for loose in _pg_snapshot_parts(cursor, attached=False):
            cursor.execute(f'DROP TABLE "{loose}"')
        objects = _pg_table_objects(cursor, table)
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [f'"{table}"'])
        sequence = cursor.fetchone()[0]
        cursor.execute(f'CREATE TABLE "{name}" (LIKE "{table}" INCLUDING CONSTRAINTS)')
        cursor.execute(
            f'INSERT INTO "{name}" (id, snapshot_date, customer_id, {own}, owner_id, '  # noqa: S608
            f"team_id, region) SELECT nextval(%s), %s, i.customer_id, "
            f"{', '.join('i.' + c for c in SNAPSHOT_COLUMNS)}, c.owner_id, c.team_id, "
            f'c.province FROM {NEXT_TABLE} i JOIN "{customers}" c ON c.id = i.customer_id '
            "WHERE c.deleted_at IS NULL ORDER BY i.customer_id",
            [sequence, snapshot_date],
        )
        # A literal date (a date object's ISO text): DDL takes no parameters.
        day = f"DATE '{snapshot_date.isoformat()}'"
        # No primary key: ids come from the sequence, and nothing looks a snapshot up by id.
        statements = [
            f'ALTER TABLE "{name}" ADD CONSTRAINT "{name}_day" CHECK (snapshot_date = {day})'
        ]
        for i, (_constraint, definition) in enumerate(objects["unique"]):
            statements.append(f'ALTER TABLE "{name}" ADD CONSTRAINT "{name}_u{i}" {definition}')
        for i, (_index, definition) in enumerate(objects["indexes"]):
            statements.append(_index_on(definition, f"{name}_{i}", name))
        statements.append(f'ANALYZE "{name}"')
        for statement in statements:
            cursor.execute(statement)


def _pg_attach_snapshot_part(cursor: Any, snapshot_date: dt.date, name: str) -> None:
    """Make the part ``name`` the snapshot of ``snapshot_date`` (inside the swap): earlier
    rows of that date go (a whole earlier part is dropped), rows of customers deleted since
    the part was built too, and the part becomes a child of the snapshot table, which every
    query of the snapshot table then reads with it."""
    table = InsightSnapshot._meta.db_table
    customers = Customer._meta.db_table
    stamp = f"{snapshot_date:%Y%m%d}_r"
    for old in _pg_snapshot_parts(cursor, attached=True):
        if old.startswith(SNAPSHOT_PART_PREFIX + stamp):
            cursor.execute(f'DROP TABLE "{old}"')
    cursor.execute(f'DELETE FROM "{table}" WHERE snapshot_date = %s', [snapshot_date])  # noqa: S608
    # The foreign keys only now (on the part being built they would have refused the
    # deletion of a customer meanwhile), and before the orphans are removed: adding one
    # locks the customers against changes until the commit, so no customer can be deleted
    # or moved to the trash between that removal and the attach.
    for i, (_key, definition) in enumerate(_foreign_keys(cursor, table)):
        cursor.execute(f'ALTER TABLE "{name}" ADD CONSTRAINT "{name}_fk{i}" {definition} NOT VALID')
    cursor.execute(
        f'DELETE FROM "{name}" s WHERE NOT EXISTS (SELECT 1 FROM "{customers}" c '  # noqa: S608
        "WHERE c.id = s.customer_id AND c.deleted_at IS NULL)"
    )
    cursor.execute(f'ALTER TABLE "{name}" INHERIT "{table}"')


def _pg_drop_unattached_part(connection: Any, run: RefreshRun) -> None:
    """Drop ``run``'s snapshot part unless the swap attached it."""
    if run.as_of is None or run.pk is None:
        return
    name = snapshot_part_name(run)
    with connection.cursor() as cursor:
        if name in _pg_snapshot_parts(cursor, attached=False):
            cursor.execute(f'DROP TABLE "{name}"')


def snapshot_dates_to_prune(dates: list[dt.date], as_of: dt.date, keep_days: int) -> list[dt.date]:
    """The snapshot dates a refresh of ``as_of`` removes: those more than ``keep_days`` days
    before it, except the last one of each calendar month (``keep_days`` 0 keeps all).

    Every snapshot of the recent past stays for day-by-day comparisons; older history keeps
    one snapshot per month, which is what the KPIs of a past month compare (the last
    snapshot before the period and the last one in it). On PostgreSQL this also bounds the
    number of snapshot parts that a query of the whole snapshot table opens and locks.
    """
    if keep_days <= 0:
        return []
    cutoff = as_of - dt.timedelta(days=keep_days)
    month_ends: dict[tuple[int, int], dt.date] = {}
    for day in dates:
        key = (day.year, day.month)
        month_ends[key] = max(day, month_ends.get(key, day))
    return [d for d in sorted(dates) if d < cutoff and month_ends[(d.year, d.month)] != d]


def _prune_snapshots(cursor: Any, vendor: str, as_of: dt.date) -> list[dt.date]:
    """Remove the snapshots of :func:`snapshot_dates_to_prune` (inside the swap): a part of
    such a date is dropped whole, the other rows deleted. Returns the dates removed."""
    table = InsightSnapshot._meta.db_table
    prune = snapshot_dates_to_prune(all_snapshot_dates(), as_of, snapshot_days())
    if not prune:
        return []
    if vendor == "postgresql":
        stamps = {f"{SNAPSHOT_PART_PREFIX}{day:%Y%m%d}_r" for day in prune}
        for part in _pg_snapshot_parts(cursor, attached=True):
            if part[: len(SNAPSHOT_PART_PREFIX) + 10] in stamps:
                cursor.execute(f'DROP TABLE "{part}"')
    marks = ", ".join(["%s"] * len(prune))
    cursor.execute(f'DELETE FROM "{table}" WHERE snapshot_date IN ({marks})', prune)  # noqa: S608
    return prune


def _swap(
    connection: Any,
    run: RefreshRun,
    guard: dt.datetime,
    staged: int,
    snapshot_part: str | None = None,
) -> None:
    """The one short transaction: swap the staged rows in and make this run the current one."""
    with transaction.atomic(using=connection.alias):
        wrote_snapshot = swap_rows(
            connection, guard, staged, snapshot_date=run.as_of, snapshot_part=snapshot_part
        )
        if run.as_of is not None and not wrote_snapshot:
            write_snapshot(connection, run.as_of)
        if run.as_of is not None:
            with connection.cursor() as cursor:
                pruned = _prune_snapshots(cursor, connection.vendor, run.as_of)
            if pruned:
                run.timings.setdefault(Stage.WRITE, {})["snapshots_pruned"] = [
                    day.isoformat() for day in pruned
                ]
        if run.parameters.get("source"):  # orders kept outside the CRM: no share here
            clear_share_of_customer(using=connection.alias)
        elif not _builds_beside(connection.vendor, staged):  # else built with the new table
            update_share_of_customer(
                as_of=run.as_of or timezone.localdate(), using=connection.alias
            )
        RefreshRun.objects.using(connection.alias).filter(is_current=True).update(is_current=False)
        run.is_current = True
        run.status = RunStatus.SUCCEEDED
        run.progress = 100
        run.finished_at = timezone.now()
        run.save(
            update_fields=[
                "is_current", "status", "progress", "finished_at", "customers", "orders",
                "timings", "model_comparison", "chosen_model", "model_params", "holdout",
                "fit_failure", "fit_detail", "as_of", "parameters", "stage",
            ]
        )  # fmt: skip


def _analyze(connection: Any, run: RefreshRun, *, rebuilt_beside: bool) -> None:
    """Fresh planner statistics for the swapped-in insights and the new snapshot rows.

    Without them the filtered customer lists and the dashboards plan against the numbers of
    an empty or much smaller table (seconds instead of milliseconds on a large base). The
    table built beside on PostgreSQL was analysed before the swap. SQLite samples a bounded
    number of rows per index (``analysis_limit``) so the cost stays flat with the base.
    A failure here leaves the refresh succeeded: statistics are an optimisation.
    """
    # Built beside (PostgreSQL), the new insight table and the snapshot part were analysed
    # before the swap; the planner reads a part's own statistics for its date.
    tables = (
        [] if rebuilt_beside else [CustomerInsight._meta.db_table, InsightSnapshot._meta.db_table]
    )
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("PRAGMA analysis_limit = 1000")
            for table in tables:
                cursor.execute(f'ANALYZE "{table}"')
    except Exception:
        logger.warning("could not analyse the insight tables", exc_info=True)
        return
    seconds = round(time.perf_counter() - started, 3)
    run.timings.setdefault(Stage.WRITE, {})["analyze_seconds"] = seconds
    RefreshRun.objects.filter(pk=run.pk).update(timings=run.timings)


def _drop_stage(connection: Any, run: RefreshRun) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")
            if connection.vendor == "postgresql":
                for table in (RAW_TABLE, NEXT_TABLE, SHARE_TABLE):
                    cursor.execute(f"DROP TABLE IF EXISTS {table}")
        if connection.vendor == "postgresql":
            _pg_drop_unattached_part(connection, run)
    except Exception:  # the connection may be gone; the table went with it
        logger.debug("could not drop the stage table", exc_info=True)


def _write_rows(
    connection: Any,
    run: RefreshRun,
    summary: DatabaseSummary | None,
    base_ids: np.ndarray,
    predictions: scoring.Predictions | None,
    scores: scoring.RuleScores | None,
    fit: scoring.FitResult,
    tracker: _Tracker,
    *,
    as_of: dt.date,
    end_day: int,
) -> int:
    """Stage the rows of :func:`build_rows` in batches (SQLite); returns how many."""
    _create_stage(connection)
    total = max(len(base_ids), 1)
    written = 0
    for rows in build_rows(
        run, summary, base_ids, predictions, scores, fit, as_of=as_of, end_day=end_day
    ):
        _stage_rows(connection, rows)
        written += len(rows)
        tracker.progress(0.8 * written / total)
    return written


def _write_postgresql(
    connection: Any,
    run: RefreshRun,
    summary: DatabaseSummary | None,
    base_ids: np.ndarray,
    predictions: scoring.Predictions | None,
    scores: scoring.RuleScores | None,
    fit: scoring.FitResult,
    tracker: _Tracker,
    *,
    end_day: int,
    share: Beside | None = None,
) -> int:
    """The same rows as numeric columns through one binary ``COPY``; a large base goes into
    a new table built beside the live one (with the share of customer that ``share`` has
    computed meanwhile; keys and indexes added after the load, while the snapshot is built
    beside them), a small one into the stage of the upsert. Returns the number of rows."""
    values, tables = _pg_stage_columns(summary, base_ids, predictions, scores, end_day=end_day)
    written = len(values["customer_id"])
    total = max(written, 1)
    beside = _builds_beside(connection.vendor, written)
    timings = run.timings.setdefault(Stage.WRITE, {})
    share_table = None
    if beside and not run.parameters.get("source"):  # (see _swap for the other paths)
        started = time.perf_counter()
        if share is None:
            _pg_build_share_table(connection, as_of=run.as_of or timezone.localdate())
        else:
            share.result()
        timings["share_wait_seconds"] = round(time.perf_counter() - started, 3)
        share_table = SHARE_TABLE
    if beside:
        _pg_create_next(connection)
    else:
        _create_stage(connection)
    started = time.perf_counter()
    _pg_write(
        connection,
        run,
        values,
        tables,
        target=NEXT_TABLE if beside else STAGE_TABLE,
        model_name=fit.name,
        between_blocks=lambda done: tracker.progress(0.4 * done / total),
        share_table=share_table,
    )
    timings["copy_seconds"] = round(time.perf_counter() - started, 3)
    tracker.progress(0.5, force=True)
    if beside:
        started = time.perf_counter()
        build_indexes = partial(
            _pg_build_next, connection, lambda share: tracker.progress(0.5 + 0.3 * share)
        )
        if run.as_of is None:
            build_indexes()
        else:
            # The snapshot rows on a second connection, beside the index builds of this one.
            _, timings["snapshot_part_seconds"] = side_by_side(
                connection, build_indexes, partial(_build_part, run=run)
            )
        timings["index_seconds"] = round(time.perf_counter() - started, 3)
    return written


#: Scratch table of the share of customer of every customer with a need (PostgreSQL, large
#: bases): computed on a second connection while the models are fitted, then joined into the
#: insight table built beside the live one.
SHARE_TABLE = "guanxi_insight_share"


def _pg_build_share_table(connection: Any, *, as_of: dt.date) -> None:
    """(Re)create :data:`SHARE_TABLE` from :func:`~.share.share_values_sql` (unlogged: it
    is rebuilt by every refresh and dropped after it)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SHARE_TABLE}")
        cursor.execute(
            f"CREATE UNLOGGED TABLE {SHARE_TABLE} AS {share_values_sql()}",
            list(year_bounds(as_of)),
        )


def _build_part(connection: Any, *, run: RefreshRun) -> float:
    """:func:`_pg_build_snapshot_part` for ``run``; returns the seconds it took."""
    started = time.perf_counter()
    assert run.as_of is not None
    _pg_build_snapshot_part(connection, run.as_of, snapshot_part_name(run))
    return round(time.perf_counter() - started, 3)


def _import_fitting() -> None:
    import scipy.optimize
    import scipy.special  # noqa: F401


def execute_refresh(
    run: RefreshRun,
    *,
    params: RefreshSettings | None = None,
    as_of: dt.date | None = None,
    on_progress: Callable[[str, int], None] | None = None,
    using: str = "default",
    summary_source: SummarySource | None = None,
) -> RefreshRun:
    """Run every stage of ``run`` (already marked running) and record the outcome.

    Never raises for a failed refresh: the run says ``failed`` with the error, or
    ``cancelled``; the previous results stay current in both cases. ``summary_source``
    replaces the database's summary by one computed elsewhere (:mod:`.external`).
    """
    params = params or refresh_settings()
    as_of = as_of or timezone.localdate()
    run.parameters = {**params.as_dict(), "as_of": as_of.isoformat()}
    run.as_of = as_of
    tracker = _Tracker(run, on_progress)
    connection = connections[using]
    end_day = (as_of - dt.date(1970, 1, 1)).days
    fit: scoring.FitResult | None = None
    share: Beside | None = None
    # Import the optimizers while the database computes the summary (a second or more).
    threading.Thread(target=_import_fitting, name=IMPORT_THREAD, daemon=True).start()
    try:
        summary_started = timezone.now()
        with tracker.stage_of(Stage.SUMMARY):
            # On PostgreSQL the customer base is read on another connection meanwhile (not on
            # SQLite: its summary forks, which must not happen while a thread is in SQLite).
            base = (
                Beside(connection, lambda other: _customer_base(other.alias))
                if connection.vendor == "postgresql"
                else None
            )
            try:
                if summary_source is None:
                    summary = fetch_summary(
                        period=params.period, as_of=as_of, holdout=params.holdout, using=using
                    )
                else:
                    summary = summary_source(params, as_of)
                    run.parameters["source"] = summary_source.describe()
            except BaseException:
                if base is not None:
                    base.close()
                raise
            base_ids, credit = base.result() if base is not None else _customer_base(using)
            if summary is not None:
                base_ids, credit = _with_buyers(base_ids, credit, summary.customer)
        run.customers = len(base_ids)
        run.orders = int(summary.orders.sum()) if summary is not None else 0
        if summary_source is None and _builds_beside(connection.vendor, len(base_ids)):
            # The share of customer on a second connection while the models are fitted.
            share = Beside(connection, partial(_pg_build_share_table, as_of=as_of))

        with tracker.stage_of(Stage.FIT):
            if summary is None or not len(summary):
                fit = scoring.FitResult(failure="too_few_customers", detail={"customers": 0})
                stats = None
            else:
                stats = scoring.btyd_statistics(summary)
                fit = scoring.fit_models(stats, background_holdout=True)
            run.model_comparison = fit.comparison
            run.chosen_model = fit.model.model_name if fit.model is not None else ""
            run.model_params = {
                **fit.params(),
                "next_period_weeks": params.next_period,
                "period": params.period,
            }
            run.fit_failure = fit.failure
            run.fit_detail = fit.detail

        predictions = scores = None
        with tracker.stage_of(Stage.SCORE):
            if summary is not None and stats is not None and len(summary):
                predictions = scoring.predict(
                    fit,
                    stats,
                    summary,
                    params,
                    batch_size=params.batch_size,
                    between_batches=lambda share: tracker.progress(share * 0.7),
                )
                position = np.searchsorted(base_ids, summary.customer)
                scores = scoring.score_rules(
                    summary, predictions, params, end_day=end_day, credit=credit[position]
                )
                run.model_params["portfolio_value_threshold"] = scores.portfolio_threshold
                run.model_params["grade_sizes"] = scores.grade_sizes
                run.model_params["customer_count"] = len(summary)

        with tracker.stage_of(Stage.WRITE):
            if connection.vendor == "postgresql":
                written = _write_postgresql(
                    connection, run, summary, base_ids, predictions, scores, fit, tracker,
                    end_day=end_day, share=share,
                )  # fmt: skip
            else:
                staged = time.perf_counter()
                written = _write_rows(
                    connection, run, summary, base_ids, predictions, scores, fit, tracker,
                    as_of=as_of, end_day=end_day,
                )  # fmt: skip
                run.timings.setdefault(Stage.WRITE, {})["stage_seconds"] = round(
                    time.perf_counter() - staged, 3
                )
            tracker.progress(0.8, force=True)
            # The holdout refit ran in a thread while the rows were scored and written.
            waited = time.perf_counter()
            run.holdout = fit.wait_holdout()
            run.timings.setdefault(Stage.WRITE, {})["holdout_wait_seconds"] = round(
                time.perf_counter() - waited, 3
            )
            swap_started = time.perf_counter()
            if not _builds_beside(connection.vendor, written):
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"CREATE INDEX {STAGE_TABLE}_customer ON {STAGE_TABLE} (customer_id)"
                    )
            part = (
                snapshot_part_name(run)
                if _builds_beside(connection.vendor, written) and run.as_of is not None
                else None
            )
            _swap(connection, run, summary_started - TOUCH_GUARD, written, part)
            run.timings.setdefault(Stage.WRITE, {})["swap_seconds"] = round(
                time.perf_counter() - swap_started, 3
            )
            if share is not None:  # (waited for already when the new table was built)
                share.close()
            _drop_stage(connection, run)
            _analyze(connection, run, rebuilt_beside=_builds_beside(connection.vendor, written))
    except RefreshCancelled:
        if share is not None:
            share.close()
        _drop_stage(connection, run)
        _keep_holdout(run, fit)
        _finish(run, RunStatus.CANCELLED, "")
    except Exception as exc:
        logger.exception("insight refresh %s failed", run.pk)
        if share is not None:
            share.close()
        _drop_stage(connection, run)
        _keep_holdout(run, fit)
        _finish(run, RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
    run.refresh_from_db()
    return run


def _keep_holdout(run: RefreshRun, fit: scoring.FitResult | None) -> None:
    """A run that stopped after its fit still records the holdout check (waiting for it)."""
    if fit is not None:
        try:
            run.holdout = fit.wait_holdout()
        except Exception:  # the check's own failure must not hide the run's
            logger.debug("holdout check failed", exc_info=True)


def _finish(run: RefreshRun, status: str, error: str) -> None:
    """Record a run that did not succeed (outside any transaction of the refresh)."""
    RefreshRun.objects.filter(pk=run.pk).update(
        status=status,
        error=error[:5000],
        finished_at=timezone.now(),
        timings=run.timings,
        model_comparison=run.model_comparison,
        chosen_model=run.chosen_model,
        holdout=run.holdout,
        fit_failure=run.fit_failure,
        fit_detail=run.fit_detail,
        parameters=run.parameters,
    )
