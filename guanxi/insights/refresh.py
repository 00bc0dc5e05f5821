"""The full refresh: summary in the database, fit, score, bulk write, atomic swap.

Stages (each timed, with the process's peak memory, on ``RefreshRun.timings``):

1. **summary**: one ``GROUP BY`` over the orders in the database
   (:func:`guanxi.insights.summary.fetch_summary`), streamed into numpy arrays, plus the ids
   and credit ratings of all customers (prospects have no orders);
2. **fit**: BG/NBD and Pareto/NBD compared by BIC on the summary (compressed to unique rows
   by the analytics core), a holdout check of the chosen model, Gamma-Gamma for the spend;
3. **score**: predictions in batches of customers, RFM, ABC and the rules
   (:mod:`guanxi.insights.scoring`);
4. **write**: the rows go in batches into a temporary staging table (``executemany`` on
   SQLite, ``COPY`` on PostgreSQL), then ONE short transaction upserts them into
   ``CustomerInsight`` and marks the run current (docs/adr/0009-insight-refresh.md).

Until that last transaction commits, readers see the previous results, complete; a failure,
a cancellation or a killed process at any earlier point leaves them untouched (the staging
table is temporary: it disappears with the connection). Progress and a heartbeat are saved
on the run; cancellation is checked between batches.
"""

from __future__ import annotations

import datetime as dt
import logging
import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from django.db import connections, transaction
from django.utils import timezone

from guanxi.customers.models import Customer

from . import scoring
from .choices import RunStatus, Stage
from .conf import RefreshSettings, refresh_settings
from .models import CustomerInsight, InsightSnapshot, RefreshRun
from .summary import DatabaseSummary, fetch_summary

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
    ids: list[np.ndarray] = []
    ratings: list[np.ndarray] = []
    overdue: list[np.ndarray] = []
    with connections[using].cursor() as cursor:
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
                _none_for_nan(predictions.p_alive[part], 4),
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
    updates = [f"{c} = excluded.{c}" for c in MODEL_COLUMNS]
    updates += [
        f"{c} = CASE WHEN {target}.touched_at >= {mark} THEN {target}.{c} ELSE excluded.{c} END"
        for c in ORDER_COLUMNS
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
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
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
    newer = ", ".join(f"{c} = i.{c}" for c in [*ORDER_COLUMNS, "touched_at"])
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


def swap_rows(connection: Any, guard: dt.datetime, staged: int) -> None:
    """Move the staged rows into ``CustomerInsight`` (inside the caller's transaction)."""
    with connection.cursor() as cursor:
        if staged >= REBUILD_MIN_ROWS:
            _rebuild(cursor, connection.vendor, guard)
        else:
            cursor.execute(swap_sql(connection.vendor), [guard] * len(ORDER_COLUMNS))


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
    table = InsightSnapshot._meta.db_table
    insights = CustomerInsight._meta.db_table
    customers = Customer._meta.db_table
    own = ", ".join(SNAPSHOT_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{table}" WHERE snapshot_date = %s', [snapshot_date])  # noqa: S608
        cursor.execute(
            f'INSERT INTO "{table}" (snapshot_date, customer_id, {own}, owner_id, team_id, '  # noqa: S608
            f"region) SELECT %s, i.customer_id, {', '.join('i.' + c for c in SNAPSHOT_COLUMNS)}, "
            f'c.owner_id, c.team_id, c.province FROM "{insights}" i '
            f'JOIN "{customers}" c ON c.id = i.customer_id WHERE c.deleted_at IS NULL',
            [snapshot_date],
        )


def _swap(connection: Any, run: RefreshRun, guard: dt.datetime, staged: int) -> None:
    """The one short transaction: swap the staged rows in and make this run the current one."""
    with transaction.atomic(using=connection.alias):
        swap_rows(connection, guard, staged)
        if run.as_of is not None:
            write_snapshot(connection, run.as_of)
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


def _drop_stage(connection: Any) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")
    except Exception:  # the connection may be gone; the table went with it
        logger.debug("could not drop the stage table", exc_info=True)


def execute_refresh(
    run: RefreshRun,
    *,
    params: RefreshSettings | None = None,
    as_of: dt.date | None = None,
    on_progress: Callable[[str, int], None] | None = None,
    using: str = "default",
) -> RefreshRun:
    """Run every stage of ``run`` (already marked running) and record the outcome.

    Never raises for a failed refresh: the run says ``failed`` with the error, or
    ``cancelled``; the previous results stay current in both cases.
    """
    params = params or refresh_settings()
    as_of = as_of or timezone.localdate()
    run.parameters = {**params.as_dict(), "as_of": as_of.isoformat()}
    run.as_of = as_of
    tracker = _Tracker(run, on_progress)
    connection = connections[using]
    end_day = (as_of - dt.date(1970, 1, 1)).days
    try:
        summary_started = timezone.now()
        with tracker.stage_of(Stage.SUMMARY):
            summary = fetch_summary(
                period=params.period, as_of=as_of, holdout=params.holdout, using=using
            )
            base_ids, credit = _customer_base(using)
        run.customers = len(base_ids)
        run.orders = int(summary.orders.sum()) if summary is not None else 0

        with tracker.stage_of(Stage.FIT):
            if summary is None or not len(summary):
                fit = scoring.FitResult(failure="too_few_customers", detail={"customers": 0})
                stats = None
            else:
                stats = scoring.btyd_statistics(summary)
                fit = scoring.fit_models(stats)
            run.model_comparison = fit.comparison
            run.chosen_model = fit.model.model_name if fit.model is not None else ""
            run.model_params = {
                **fit.params(),
                "next_period_weeks": params.next_period,
                "period": params.period,
            }
            run.holdout = fit.holdout
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
            _create_stage(connection)
            total = max(len(base_ids), 1)
            written = 0
            for rows in build_rows(
                run, summary, base_ids, predictions, scores, fit, as_of=as_of, end_day=end_day
            ):
                _stage_rows(connection, rows)
                written += len(rows)
                tracker.progress(0.8 * written / total)
            tracker.progress(0.8, force=True)
            swap_started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(
                    f"CREATE INDEX {STAGE_TABLE}_customer ON {STAGE_TABLE} (customer_id)"
                )
            _swap(connection, run, summary_started - TOUCH_GUARD, written)
            run.timings.setdefault(Stage.WRITE, {})["swap_seconds"] = round(
                time.perf_counter() - swap_started, 3
            )
            _drop_stage(connection)
    except RefreshCancelled:
        _drop_stage(connection)
        _finish(run, RunStatus.CANCELLED, "")
    except Exception as exc:
        logger.exception("insight refresh %s failed", run.pk)
        _drop_stage(connection)
        _finish(run, RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
    run.refresh_from_db()
    return run


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
