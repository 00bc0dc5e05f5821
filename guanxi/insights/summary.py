"""The per-customer transaction summary, computed where the orders live.

One ``GROUP BY`` over the orders (net of reversals), written by hand for each engine so that
the database does the work and Python only receives one row per customer:

* the inner level groups the orders by (customer, purchase period): a purchase *period* is a
  local calendar day (or ISO week), so several orders on one day count once, as the
  buy-till-you-die models expect (Fader, Hardie & Lee 2005);
* the outer level groups those by customer: first and last period, number of periods,
  orders, spend, the spend of the first period (for the mean *repeat* spend of the
  Gamma-Gamma model) and the calibration/holdout split.

Days are computed with date arithmetic on numbers, never with Django's ``TruncDate`` (which
on SQLite calls into Python for every row): ``julianday()`` on SQLite, ``date_part('epoch')``
on PostgreSQL, shifted by the UTC offset of the local time zone on the as-of day (a
time zone with daylight saving time moves the day boundary by an hour around the switch).

The first period's spend comes out of the same pass by packing (period, spend in cents) into
one integer and taking its minimum: the smallest packed value belongs to the first period.

Rows are streamed into numpy arrays: ``fetchmany`` on SQLite, one binary ``COPY`` parsed by
numpy on PostgreSQL (:mod:`guanxi.insights.bulk`). A large base is split into parts of its
customer ids, computed side by side: on PostgreSQL on one connection per part in threads
(the server works while Python waits), on SQLite in forked processes (SQLite computes in the
calling process, and two threads there took as long as one).
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
import threading
import traceback
import zoneinfo
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connections
from django.db.models import Max, Min

from guanxi.customers.models import Customer
from guanxi.sales.models import Order

from . import bulk
from .conf import summary_workers

#: Bits of the packed (minute, cents) value that hold the cents (with a sign offset).
_CENT_BITS = 38
_CENT_OFFSET = 1 << 37
_FETCH = 50_000
#: Julian day number of 1970-01-01.
_UNIX_JDN = 2440588


@dataclass(frozen=True)
class DatabaseSummary:
    """One row per customer with orders, sorted by customer id; periods are integers.

    ``first``/``last``/``last_cal`` are period numbers (days or weeks since 1970),
    ``first_day``/``last_day`` local calendar days since 1970, ``periods`` the number of
    distinct purchase periods, ``periods_cal``/``periods_holdout`` those up to and after the
    calibration end, ``first_spend`` the spend of the first period.
    """

    customer: np.ndarray
    first: np.ndarray
    last: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    periods: np.ndarray
    orders: np.ndarray
    spend: np.ndarray
    first_spend: np.ndarray
    periods_cal: np.ndarray
    last_cal: np.ndarray
    periods_holdout: np.ndarray
    period: str
    end: int
    calibration_end: int

    def __len__(self) -> int:
        return len(self.customer)

    @property
    def days_per_period(self) -> float:
        """Length of a period in days."""
        return 7.0 if self.period == "W" else 1.0


def utc_offset_seconds(as_of: dt.date) -> int:
    """UTC offset of the local time zone (``TIME_ZONE``) at noon on ``as_of``."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    noon = dt.datetime.combine(as_of, dt.time(12), tzinfo=zone)
    offset = noon.utcoffset()
    return int(offset.total_seconds()) if offset else 0


def local_midnight(day: dt.date) -> dt.datetime:
    """The aware local midnight (``TIME_ZONE``) at which ``day`` begins; the one place where
    an as-of date becomes a moment (the summary counts orders before the midnight after it,
    the share of customer a year of days up to it)."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def calibration_end_of(end: int, first_period: int, holdout: float) -> int:
    """The last period of the calibration part: ``holdout`` of the span from the first
    period to ``end`` is held out at its end."""
    return end - round((end - first_period) * holdout)


def period_of_day(day: int, period: str) -> int:
    """Period number of a day number (ISO weeks start on Monday; 1970-01-01 was a Thursday)."""
    return (day + 3) // 7 if period == "W" else day


def _tables() -> dict[str, str]:
    return {"orders": Order._meta.db_table, "customers": Customer._meta.db_table}


def _source_sql(vendor: str, offset: int, period: str, base_minute: int) -> tuple[str, str]:
    """Per order: customer ``c``, local day ``d``, period ``p``, amount ``a`` and ``pk``, the
    minute of the order (counted from ``base_minute``, at or before the first order) packed
    with its amount in cents: the smallest ``pk`` of a customer is the first order."""
    cents = "CAST(ROUND(a * 100) AS INTEGER)" if vendor == "sqlite" else "ROUND(a * 100)::bigint"
    if vendor == "sqlite":
        shift = 0.5 + offset / 86400.0
        day = f"(CAST(jd + {shift!r} AS INTEGER) - {_UNIX_JDN})"
        minute = f"(CAST((jd - {_UNIX_JDN - 0.5}) * 1440 AS INTEGER) - {int(base_minute)})"
        time = "julianday(o.ordered_at)"
    else:
        day = f"CAST(floor((jd + {offset}) / 86400.0) AS integer)"
        minute = f"(CAST(floor(jd / 60.0) AS bigint) - {int(base_minute)})"
        time = "date_part('epoch', o.ordered_at)"
    per = f"(({day}) + 3) / 7" if period == "W" else day
    packed = f"{minute} * {1 << _CENT_BITS} + {cents} + {_CENT_OFFSET}"
    return time, f"c, {day} AS d, {per} AS p, a, {packed} AS pk"


def reversed_order_ids_sql() -> str:
    """The ids of reversed orders and of their reversals: neither counts as a purchase (a
    reversed order did not happen; a reversal is the order that names the one it reverses)."""
    table = _tables()["orders"]
    return (
        f'SELECT r.reverses_id FROM "{table}" r WHERE r.reverses_id IS NOT NULL '  # noqa: S608
        f'UNION ALL SELECT r.id FROM "{table}" r WHERE r.reverses_id IS NOT NULL'
    )


def summary_sql(
    vendor: str,
    *,
    period: str,
    offset: int,
    end_utc: dt.datetime,
    calibration_end: int,
    base_minute: int = 0,
    customer_ids: list[int] | None = None,
    base_period: int | None = None,
    customer_range: tuple[int, int] | None = None,
    customer_table: str | None = None,
) -> tuple[str, list[Any]]:
    """The summary query and its parameters for ``vendor`` ("sqlite" or "postgresql").

    On SQLite, given ``base_period`` (at or before every order's period), the distinct
    periods and the distinct holdout periods come out of ONE distinct aggregate
    (:func:`_packed_periods`), decoded by :func:`unpack_periods`.

    One pass over the orders in (customer, time) order (the covering index on
    ``(customer, ordered_at, total_amount)``; the order id comes with it on SQLite).
    ``customer_ids`` limits it to those customers (the incremental upkeep),
    ``customer_range`` to the customer ids ``lo <= id < hi`` (a part of a parallel summary),
    ``customer_table`` to the ids in column ``c`` of that (temporary) table.
    """
    table = _tables()["orders"]
    mark = "%s"  # Django turns %s into the driver's placeholder
    end_value: Any = end_utc
    if vendor == "sqlite":
        # Django keeps aware datetimes on SQLite as naive UTC text.
        end_value = end_utc.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")
    only = ""
    params: list[Any] = [end_value]
    if customer_ids is not None:
        only = f"AND o.customer_id IN ({', '.join([mark] * len(customer_ids))}) "
        params += list(customer_ids)
    elif customer_table is not None:
        only = f'AND o.customer_id IN (SELECT c FROM "{customer_table}") '  # noqa: S608
    elif customer_range is not None:
        only = f"AND o.customer_id >= {mark} AND o.customer_id < {mark} "
        params += [int(customer_range[0]), int(customer_range[1])]
    time, columns = _source_sql(vendor, offset, period, base_minute)
    # Reversed orders and their reversals are left out (a reversed order did not happen);
    # a reversal is the order that names the one it reverses.
    reversed_ids = reversed_order_ids_sql()
    # LIMIT keeps SQLite from flattening the subquery (which would parse each time twice).
    limit = " LIMIT -1" if vendor == "sqlite" else ""
    # "+" keeps SQLite from reading the orders through the ordered_at index: the covering
    # (customer, ordered_at, total_amount) index streams them in customer order instead.
    plus = "+" if vendor == "sqlite" else ""
    orders = (
        f"SELECT o.customer_id AS c, {time} AS jd, o.total_amount AS a "  # noqa: S608
        f'FROM "{table}" o WHERE {plus}o.ordered_at < {mark} {only}'
        f"AND o.id NOT IN ({reversed_ids}){limit}"
    )
    cal = int(calibration_end)
    # Every column an integer (spend in cents, -1 for "no calibration period"): the rows
    # convert to one numpy array at C speed.
    cents = (
        "CAST(ROUND(SUM(a) * 100) AS INTEGER)"
        if vendor == "sqlite"
        else ("CAST(ROUND(SUM(a) * 100) AS bigint)")
    )
    # On PostgreSQL every column a bigint: the rows arrive as a binary COPY of fixed layout.
    big = "" if vendor == "sqlite" else "::bigint"
    periods = "COUNT(DISTINCT p)"
    holdout_periods = f"COUNT(DISTINCT CASE WHEN p > {cal} THEN p END)"
    if vendor == "sqlite" and base_period is not None:
        # Each distinct aggregate keeps a B-tree per customer: one instead of two.
        periods, holdout_periods = _packed_periods(base_period, cal), "0"
    sql = (
        f"SELECT c, {periods}, MIN(p){big}, MAX(p){big}, MIN(d){big}, MAX(d){big}, "  # noqa: S608
        f"COUNT(*), {cents}, MIN(pk), {holdout_periods}, "
        f"COALESCE(MAX(CASE WHEN p <= {cal} THEN p END), -1){big} "
        f"FROM (SELECT {columns} FROM ({orders}) x) y GROUP BY c ORDER BY c"
    )
    return sql, params


#: Longest span (in periods) for which :func:`_packed_periods` cannot overflow.
_PACK_SPAN = 40_000


def _packed_periods(base_period: int, calibration_end: int) -> str:
    """``SUM(DISTINCT ...)`` of ``(p - base) * 2^32 + 2^16 * [p in holdout] + 1``.

    Distinct packed values are distinct periods, so the low 16 bits of the sum count the
    periods and the next 16 the holdout periods (fewer than 2^16 each within
    :data:`_PACK_SPAN`); the high bits, the sum of the periods' offsets, stay below 2^31
    (40,000 periods of offset below 40,000 at most) and never reach the sign bit.
    """
    return (
        f"SUM(DISTINCT (p - {int(base_period)}) * 4294967296 + 1 "
        f"+ CASE WHEN p > {int(calibration_end)} THEN 65536 ELSE 0 END)"
    )


def unpack_periods(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct periods and distinct holdout periods out of :func:`_packed_periods`."""
    return packed & 0xFFFF, (packed >> 16) & 0xFFFF


def first_period_sql(
    vendor: str,
    *,
    period: str,
    offset: int,
    end_utc: dt.datetime,
    base_minute: int,
    customer_ids: list[int],
) -> tuple[str, list[Any]]:
    """Spend per (customer, period) of a few customers, to find their first period's spend."""
    body, params = _per_order_rows(
        vendor, period=period, offset=offset, end_utc=end_utc, base_minute=base_minute,
        customer_ids=customer_ids,
    )  # fmt: skip
    spend = "SUM(a)" if vendor == "sqlite" else "CAST(SUM(a) AS double precision)"
    return f"SELECT c, p, {spend} FROM (SELECT {body} GROUP BY c, p", params  # noqa: S608


def _per_order_rows(vendor: str, **restriction: Any) -> tuple[str, list[Any]]:
    """``<columns> FROM (<orders>) x) y``: the per-order rows (``c``, ``p``, ``a`` ...) of
    :func:`summary_sql` for the customers ``restriction`` names, to aggregate otherwise."""
    sql, params = summary_sql(vendor, calibration_end=0, **restriction)
    _head, _, rest = sql.partition(" FROM (SELECT ")
    return rest.rsplit(" GROUP BY c ORDER BY c", 1)[0], params


#: Temporary table of (customer ``c``, first period ``p0``) for :func:`first_period_table_sql`.
FIRST_PERIOD_TABLE = "_insight_first_period"


def first_period_table_sql(
    vendor: str, *, period: str, offset: int, end_utc: dt.datetime, base_minute: int
) -> tuple[str, list[Any]]:
    """Spend of the first period of every customer in :data:`FIRST_PERIOD_TABLE`, one row
    per customer in customer order (the many-customers form of :func:`first_period_sql`)."""
    body, params = _per_order_rows(
        vendor, period=period, offset=offset, end_utc=end_utc, base_minute=base_minute,
        customer_table=FIRST_PERIOD_TABLE,
    )  # fmt: skip
    spend = "SUM(y.a)" if vendor == "sqlite" else "CAST(SUM(y.a) AS double precision)"
    return (
        f"SELECT y.c, {spend} FROM (SELECT {body} "  # noqa: S608
        f'JOIN "{FIRST_PERIOD_TABLE}" t ON t.c = y.c AND t.p0 = y.p GROUP BY y.c ORDER BY y.c',
        params,
    )


def plain_group_by_sql(vendor: str) -> str:
    """The hand-written baseline the benchmark compares the summary with."""
    table = _tables()["orders"]
    return (
        "SELECT customer_id, COUNT(*), SUM(total_amount), MIN(ordered_at), MAX(ordered_at) "  # noqa: S608
        f'FROM "{table}" GROUP BY customer_id'
    )


def time_span(using: str = "default") -> tuple[dt.datetime, dt.datetime] | None:
    """First and last order time (uses the index on ``ordered_at``), or None without orders."""
    # Two queries: SQLite answers a lone MIN or MAX from the index, not both at once.
    orders = Order.objects.using(using)
    first = orders.aggregate(first=Min("ordered_at"))["first"]
    if first is None:
        return None
    return first, orders.aggregate(last=Max("ordered_at"))["last"]


def local_day(moment: dt.datetime, offset: int) -> int:
    """Local calendar day number (days since 1970-01-01) of an aware datetime."""
    return int((moment.timestamp() + offset) // 86400)


def fetch_summary(
    *,
    period: str,
    as_of: dt.date,
    holdout: float,
    using: str = "default",
    customer_ids: list[int] | None = None,
) -> DatabaseSummary | None:
    """Run the summary query and stream its rows into numpy arrays (None without orders).

    ``as_of`` is the last day observed (orders up to its end count); the calibration period
    ends ``holdout`` of the way back from ``as_of`` to the first order.
    """
    offset = utc_offset_seconds(as_of)
    end_day = (as_of - dt.date(1970, 1, 1)).days
    if customer_ids is None:
        span = time_span(using)
        if span is None:
            return None
        first_moment = span[0]
    else:
        # A few customers (the incremental upkeep): no calibration split is needed, and the
        # packed minutes only have to start before any plausible order (50 years back).
        first_moment = dt.datetime.combine(
            as_of - dt.timedelta(days=18262), dt.time(0), tzinfo=dt.UTC
        )
    first_day = min(local_day(first_moment, offset), end_day)
    end = period_of_day(end_day, period)
    first_period = period_of_day(first_day, period)
    calibration_end = calibration_end_of(end, first_period, holdout)
    end_utc = local_midnight(as_of + dt.timedelta(days=1))
    base_minute = int(first_moment.timestamp() // 60) - 1
    connection = connections[using]
    # Many customers (the upkeep after an import): their ids in a temporary table joined to
    # the orders, not an IN list of thousands of parameters for the server to parse.
    id_table = (
        _ids_table(connection, customer_ids)
        if customer_ids is not None and len(customer_ids) > IDS_IN_LIST_MAX
        else None
    )
    query = partial(
        summary_sql,
        connection.vendor,
        period=period,
        offset=offset,
        end_utc=end_utc,
        calibration_end=calibration_end,
        base_minute=base_minute,
        customer_ids=customer_ids if id_table is None else None,
        customer_table=id_table,
        base_period=first_period - 1 if end - first_period < _PACK_SPAN - 1 else None,
    )
    first_query = partial(
        _first_period_spend, period=period, offset=offset, end_utc=end_utc, base_minute=base_minute
    )

    def part(customer_range: tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray]:
        sql, params = query(customer_range=customer_range)
        return _summary_rows(connections[using], sql, params, first_query, whole=not customer_ids)

    ranges = _customer_ranges(using) if customer_ids is None else []
    if id_table is not None:
        # (After an error the temporary table goes with the connection, or the next call.)
        data, first_spend = part(None)
        with connection.cursor() as cursor:
            cursor.execute(f'DROP TABLE "{id_table}"')
    elif len(ranges) > 1:
        # A large base: one connection per part of the customer ids; parts come back in
        # customer order.
        if connection.vendor in PROCESS_VENDORS:
            parts = _in_processes(part, ranges)
        else:  # each part on a connection of its own, in a thread
            beside = [Beside(connection, partial(_part_on, part, r)) for r in ranges]
            try:
                parts = [work.result() for work in beside]
            finally:  # every thread is waited for, whatever happened
                for work in beside:
                    work.close()
        data = np.concatenate([rows for rows, _first in parts])
        first_spend = np.concatenate([first for _rows, first in parts])
    else:
        data, first_spend = part(None)
    if not len(data):
        return None
    col = {name: data[:, i] for i, name in enumerate(_NAMES)}
    return DatabaseSummary(
        customer=col["c"],
        first=col["p0"],
        last=col["p1"],
        first_day=col["d0"],
        last_day=col["d1"],
        periods=col["np"],
        orders=col["n"],
        spend=col["s"] / 100.0,
        first_spend=first_spend,
        periods_cal=col["np"] - col["nph"],
        last_cal=col["pc"],
        periods_holdout=col["nph"],
        period=period,
        end=end,
        calibration_end=calibration_end,
    )


#: More customer ids than this go into a temporary table rather than an ``IN`` list.
IDS_IN_LIST_MAX = 500
#: Temporary table of the customer ids (column ``c``) a summary is limited to.
IDS_TABLE = "_insight_summary_ids"


def _ids_table(connection: Any, customer_ids: list[int]) -> str:
    """Fill :data:`IDS_TABLE` with ``customer_ids`` (a temporary table of this connection)."""
    with connection.cursor() as cursor:
        _temporary_table(
            cursor,
            IDS_TABLE,
            "c bigint PRIMARY KEY",
            [(int(pk),) for pk in sorted(set(customer_ids))],
        )
    return IDS_TABLE


def _temporary_table(cursor: Any, name: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    """(Re)create the temporary table ``name`` with ``columns`` (SQL) and insert ``rows``."""
    cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
    cursor.execute(f'CREATE TEMPORARY TABLE "{name}" ({columns})')
    if rows:
        marks = ", ".join(["%s"] * len(rows[0]))
        cursor.executemany(f'INSERT INTO "{name}" VALUES ({marks})', rows)  # noqa: S608


#: The summary query's columns, in order.
_NAMES = ("c", "np", "p0", "p1", "d0", "d1", "n", "s", "pk", "nph", "pc")
#: A base with customer ids spanning fewer than this runs its summary on one connection.
PARALLEL_MIN_CUSTOMERS = 200_000
#: Engines whose summary is split over connections.
PARALLEL_VENDORS = ("postgresql", "sqlite")
#: Of those, the engines whose parts run in forked processes rather than threads: measured
#: on 1M customers, two threads on two SQLite connections took as long as one query (SQLite
#: works inside the calling process, and its threads' work did not overlap).
PROCESS_VENDORS = ("sqlite",)


def _customer_ranges(using: str) -> list[tuple[int, int]]:
    """Equal parts of the ordering customers' id span, one per summary worker (one part for
    a small base)."""
    workers = summary_workers()
    connection = connections[using]
    if connection.vendor not in PARALLEL_VENDORS:
        return []
    if connection.vendor in PROCESS_VENDORS and (
        connection.in_atomic_block or not hasattr(os, "fork") or not fork_is_safe()
    ):
        # A forked process reads committed rows only; without a safe fork, one query.
        return []
    orders = Order.objects.using(using)
    # Two queries: SQLite answers a lone MIN or MAX from the index, not both at once.
    low = orders.aggregate(low=Min("customer_id"))["low"]
    high = orders.aggregate(high=Max("customer_id"))["high"]
    if low is None or high is None or workers < 2 or high - low < PARALLEL_MIN_CUSTOMERS:
        return []
    bounds = np.linspace(low, high + 1, workers + 1).round().astype(np.int64).tolist()
    return list(pairwise(bounds))


class Beside:
    """``work(connection)`` started now in a thread, on a database connection of its own
    (closed when done), and waited for with :meth:`result`. Inside a transaction it runs at
    :meth:`result` on the caller's connection instead: another connection would not see what
    the transaction wrote."""

    def __init__(self, connection: Any, work: Callable[[Any], Any]) -> None:
        self._connection = connection
        self._work = work
        self._pool: ThreadPoolExecutor | None = None
        self._future: Future[Any] | None = None
        if not connection.in_atomic_block:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="insight-beside")
            self._future = self._pool.submit(self._run)

    def _run(self) -> Any:
        alias = self._connection.alias
        try:
            return self._work(connections[alias])
        finally:
            connections[alias].close()

    def result(self) -> Any:
        """What the work returned (waiting for it), or raise what it raised."""
        if self._future is None:
            return self._work(self._connection)
        try:
            return self._future.result()
        finally:
            self.close()

    def close(self) -> None:
        """Wait for the work, if it was started, whatever its outcome (on a failed run)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)


def side_by_side(
    connection: Any, here: Callable[[], Any], beside: Callable[[Any], Any]
) -> tuple[Any, Any]:
    """``here()`` on ``connection`` while ``beside`` runs on a connection of its own
    (:class:`Beside`); their results."""
    other = Beside(connection, beside)
    try:
        mine = here()
    except BaseException:
        other.close()  # waits for it; this error is the one to report
        raise
    return mine, other.result()


#: The name of the refresh's thread that imports the optimizers while the summary runs
#: (:func:`guanxi.insights.refresh.execute_refresh`); it never enters SQLite.
IMPORT_THREAD = "insight-imports"
#: The name of ``guanxi worker --schedule``'s scheduler thread, which uses the database only
#: inside :func:`fork_excluded`.
SCHEDULER_THREAD = "insight-scheduler"
#: Threads that may be alive when the summary forks.
FORK_SAFE_THREADS = frozenset({IMPORT_THREAD, SCHEDULER_THREAD})
_FORK_LOCK = threading.Lock()


def fork_is_safe() -> bool:
    """Whether no other thread can hold a lock that a forked child would need: only the
    caller and :data:`FORK_SAFE_THREADS` are alive. A child inherits every lock in the state
    it had at the fork, held by threads that do not exist in the child: a web server's
    request threads inside SQLite at that moment would leave the child waiting forever for
    SQLite's own mutexes. Otherwise the summary runs as one query."""
    current = threading.current_thread()
    return all(t is current or t.name in FORK_SAFE_THREADS for t in threading.enumerate())


@contextmanager
def fork_excluded() -> Iterator[None]:
    """Hold while a thread of :data:`FORK_SAFE_THREADS` uses the database: no summary forks
    meanwhile (and none of its children copies a lock that thread holds)."""
    with _FORK_LOCK:
        yield


#: Connections inherited by a forked summary process: the parent's, never used or closed
#: there (closing would end SQLite's hold on the parent's files; see :func:`_in_processes`).
_INHERITED: list[Any] = []


def _in_processes(work: Callable[[Any], Any], arguments: list[Any]) -> list[Any]:
    """``work(argument)`` for every argument, the first in this process and each other one in
    a forked child process (own database connection, result sent back pickled through a
    pipe); results in the order of ``arguments``. A child that fails raises here."""
    for thread in threading.enumerate():
        if thread.name == IMPORT_THREAD and thread is not threading.current_thread():
            # An import under way holds its modules' locks: a child would inherit them.
            thread.join()
    children = [_fork(work, argument) for argument in arguments[1:]]
    errors: list[BaseException] = []
    try:
        first = work(arguments[0])
    except BaseException as error:
        errors.append(error)
    results = []
    for collect in children:  # every child is waited for, whatever happened
        try:
            results.append(collect())
        except BaseException as error:
            errors.append(error)
    if errors:
        raise errors[0]
    return [first, *results]


def _fork(work: Callable[[Any], Any], argument: Any) -> Callable[[], Any]:
    """Start ``work(argument)`` in a forked child; returns the function that waits for it
    and returns its result (or raises with the child's traceback)."""
    read, write = os.pipe()
    _FORK_LOCK.acquire()  # never while a scheduler is inside the database
    try:
        pid = os.fork()
    finally:
        _FORK_LOCK.release()  # in the parent and in the child
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        code = 1
        try:
            os.close(read)
            for connection in connections.all(initialized_only=True):
                if connection.connection is not None:
                    _INHERITED.append(connection.connection)
                    connection.connection = None  # the next query opens the child's own
            payload = pickle.dumps((True, work(argument)), pickle.HIGHEST_PROTOCOL)
            code = 0
        except BaseException:
            payload = pickle.dumps((False, traceback.format_exc()))
        try:
            with os.fdopen(write, "wb") as out:
                out.write(payload)
        finally:
            os._exit(code)  # no clean-up of the parent's state copied into the child
    os.close(write)

    def collect() -> Any:
        with os.fdopen(read, "rb") as source:
            payload = source.read()
        _pid, status = os.waitpid(pid, 0)
        if not payload:
            raise RuntimeError(f"a summary process ended without its result (status {status})")
        succeeded, value = pickle.loads(payload)  # noqa: S301 - our own child's bytes
        if not succeeded:
            raise RuntimeError(f"a summary process failed:\n{value}")
        return value

    return collect


def _part_on(part: Callable[[Any], Any], customer_range: Any, _connection: Any) -> Any:
    """``part(customer_range)`` as the work of a :class:`Beside` (which reads the thread's
    own connection through ``connections``)."""
    return part(customer_range)


def _summary_rows(
    connection: Any,
    sql: str,
    params: list[Any],
    first_query: Callable[..., np.ndarray],
    *,
    whole: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """The summary rows as an integer array (periods unpacked, spend in cents) and the spend
    of each customer's first purchase period."""
    if connection.vendor == "postgresql" and whole:
        data = _fetch_postgresql(connection, sql, params, len(_NAMES))
    else:
        blocks: list[np.ndarray] = []
        with connection.cursor() as cur:
            cur.execute(sql, params)
            while rows := cur.fetchmany(_FETCH):
                blocks.append(np.array(rows, dtype=np.int64))
        data = np.concatenate(blocks) if blocks else np.empty((0, len(_NAMES)), np.int64)
    col = {name: data[:, i] for i, name in enumerate(_NAMES)}
    if "SUM(DISTINCT" in sql:
        data[:, 1], data[:, 9] = unpack_periods(col["np"])
    # The first order's amount is the first period's spend when no period has two orders.
    first_spend = ((col["pk"] & ((1 << _CENT_BITS) - 1)) - _CENT_OFFSET) / 100.0
    several = np.flatnonzero((col["n"] > col["np"]) & (col["np"] > 1))
    if len(several):
        first_spend[several] = first_query(connection, col["c"][several], col["p0"][several])
    return data, first_spend


def _fetch_postgresql(connection: Any, sql: str, params: list[Any], columns: int) -> np.ndarray:
    """The summary rows through one binary ``COPY`` (every column a ``bigint``), parsed by
    numpy, with JIT compilation off for the query: on this one-pass aggregate it costs
    seconds and saves nothing."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        jit = cursor.fetchone()[0]
        cursor.execute("SET jit = off")
    try:
        return bulk.copy_out_int8(connection, sql, params, columns)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('jit', %s, false)", [jit])


def _first_period_spend(
    connection: Any,
    customers: np.ndarray,
    first_periods: np.ndarray,
    *,
    period: str,
    offset: int,
    end_utc: dt.datetime,
    base_minute: int,
) -> np.ndarray:
    """Spend of the first purchase period of customers who ordered twice in some period
    (``customers`` ascending, ``first_periods`` their first periods)."""
    if len(customers) > _FIRST_PERIOD_BATCH:
        # Many customers (a refresh): one query joined to a temporary table of them.
        with connection.cursor() as cur:
            _temporary_table(
                cur,
                FIRST_PERIOD_TABLE,
                "c bigint PRIMARY KEY, p0 bigint NOT NULL",
                list(zip(customers.tolist(), first_periods.tolist(), strict=True)),
            )
            sql, params = first_period_table_sql(
                connection.vendor,
                period=period,
                offset=offset,
                end_utc=end_utc,
                base_minute=base_minute,
            )
            cur.execute(sql, params)
            rows = cur.fetchall()
            cur.execute(f'DROP TABLE "{FIRST_PERIOD_TABLE}"')
        found = np.array([row[0] for row in rows], dtype=np.int64)
        if not np.array_equal(found, customers):
            raise RuntimeError("the first-period spend query missed customers")
        return np.array([float(row[1]) for row in rows])
    out = np.empty(len(customers))
    for start in range(0, len(customers), _FIRST_PERIOD_BATCH):
        ids = customers[start : start + _FIRST_PERIOD_BATCH].tolist()
        sql, params = first_period_sql(
            connection.vendor,
            period=period,
            offset=offset,
            end_utc=end_utc,
            base_minute=base_minute,
            customer_ids=ids,
        )
        with connection.cursor() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall()
        first: dict[int, tuple[int, float]] = {}
        for customer, per, spend in rows:
            if customer not in first or per < first[customer][0]:
                first[customer] = (per, float(spend))
        out[start : start + len(ids)] = [first[pk][1] for pk in ids]
    return out


#: Customers per query of the first-period spend below which an ``IN`` list is used.
_FIRST_PERIOD_BATCH = 500
