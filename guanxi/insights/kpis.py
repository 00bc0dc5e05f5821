"""Customer KPIs over time, computed from the dated insight snapshots (DOMAIN.md section 7).

Every function takes the customers the caller may see (a queryset from the customer
selectors) and aggregates the :class:`~guanxi.insights.models.InsightSnapshot` rows of those
customers in the database; only the aggregated rows (one per group, date or cohort) reach
Python.

A period ``[start, end]`` is compared through two snapshots:

- the **opening** snapshot: the last one dated before ``start`` (none: every customer is
  absent at the opening);
- the **closing** snapshot: the last one dated within ``[start, end]`` (none: no KPI).

Definitions (per group; a customer belongs to the group of its closing snapshot, and is
counted among the customers at start in the group of its opening one):

- *customers at start*: customers of the opening snapshot that had bought (a first purchase)
  and were not lapsed;
- *new customers*: customers of the closing snapshot whose first purchase falls in
  ``[start, end]``; rate = new / customers at start;
- *lost customers*: customers lapsed (ladder stage ``churned``) at the closing snapshot and
  not lapsed (or absent) at the opening; rate = lost / customers at start;
- *upgraded* / *downgraded*: customers present in both snapshots whose ladder rank
  (:data:`~guanxi.insights.choices.LADDER_RANK`, lapsed lowest) is higher / lower at the
  closing one; rates over the customers present in both (*compared*). A lost customer is
  also a downgrade;
- *average customer profitability*: the spend of the period (closing total spend minus
  opening total spend, summed over the closing snapshot's customers; zero opening spend when
  absent) times the margin (``GUANXI_INSIGHTS_MARGIN``), divided by the *active customers at
  end* (closing snapshot, bought at least once, not lapsed);
- *customer equity*: the sum of predicted CLV at the closing snapshot; its *trend* is that
  sum on every snapshot date in the period;
- *retention by cohort*: for every snapshot date in the period and every month of first
  purchase, the share of that cohort not lapsed on that date, with the months elapsed.

Rates are ``None`` when their base is zero. Snapshots older than
``GUANXI_INSIGHTS_SNAPSHOT_DAYS`` are thinned to the last of each month by the refresh
(:func:`guanxi.insights.refresh.snapshot_dates_to_prune`): periods of whole months keep
their opening and closing snapshots; shorter periods in that past compare month ends.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import CharField, Count, DecimalField, Func, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from .choices import LADDER_RANK, LadderStage, RFMSegment
from .conf import refresh_settings
from .models import InsightSnapshot

#: The ``group_by`` choices and the snapshot column each groups by.
GROUP_FIELDS = {
    "team": "team_id",
    "owner": "owner_id",
    "region": "region",
    "segment": "rfm_segment",
}

_MONEY: DecimalField = DecimalField(max_digits=18, decimal_places=2)


class MonthOf(Func):
    """``YYYY-MM`` of a date column, in plain SQL (Django's truncation calls into Python
    per row on SQLite)."""

    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Dates are ISO text on SQLite. (strftime's '%Y' broke the query log under DEBUG:
        # Django formats the logged SQL with %.)
        return self.as_sql(compiler, connection, template="substr(%(expressions)s, 1, 7)")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="to_char(%(expressions)s, 'YYYY-MM')")


def _stage_rank_sql(column: str) -> str:
    """The ladder rank of a stage column, as a plain SQL ``CASE`` (codes are identifiers)."""
    whens = " ".join(f"WHEN '{stage.value}' THEN {rank}" for stage, rank in LADDER_RANK.items())
    return f"CASE {column} {whens} END"


def _table() -> str:
    return connection.ops.quote_name(InsightSnapshot._meta.db_table)


def _date(value: dt.date | None) -> Any:
    return connection.ops.adapt_datefield_value(value)


def scope_sql(customers: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    """The SQL (and parameters) selecting the ids of ``customers``, for an ``IN (...)``."""
    sql, params = customers.order_by().values("pk").query.sql_with_params()
    return sql, tuple(params)


def scoped_snapshots(customers: QuerySet[Any]) -> QuerySet[InsightSnapshot]:
    """Snapshots of the customers of ``customers`` (the caller's permission scope)."""
    return InsightSnapshot.objects.filter(customer_id__in=customers.values("pk"))


def all_snapshot_dates() -> list[dt.date]:
    """Every snapshot date, oldest first.

    Each refresh snapshots every live customer, so the dates are the same for every scope.
    Read by a loose index scan (a recursive step from one date to the next on the
    ``(snapshot_date, customer)`` index): a few index probes per date instead of a scan of
    every snapshot row, which matters at millions of rows per date.
    """
    table = _table()
    sql = (
        "WITH RECURSIVE d(day) AS ("  # noqa: S608 - table name from the model
        f"SELECT MIN(snapshot_date) FROM {table} "
        f"UNION ALL SELECT (SELECT MIN(snapshot_date) FROM {table} WHERE snapshot_date > d.day) "
        "FROM d WHERE d.day IS NOT NULL) SELECT day FROM d WHERE day IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    return [_as_date(row[0]) for row in rows]


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _rate(count: int, base: int) -> float | None:
    return count / base if base else None


def _group_field(group_by: str | None) -> str | None:
    if group_by is None or group_by == "":
        return None
    if group_by not in GROUP_FIELDS:
        raise ValueError(f"unknown group_by {group_by!r}")
    return GROUP_FIELDS[group_by]


#: The customer counts of a period, as SQL conditions on the closing snapshot row ``c``
#: joined to the same customer's opening row ``p`` (all ``p`` columns NULL when absent).
#: ``new`` also takes the period's start and end as parameters. The drill-down filter of
#: the customer list (:func:`period_customer_ids`) uses the very same conditions.
_CHURNED = f"'{LadderStage.CHURNED.value}'"
_PRESENT = "p.customer_id IS NOT NULL"
_RANK_NOW, _RANK_BEFORE = _stage_rank_sql("c.ladder_stage"), _stage_rank_sql("p.ladder_stage")
KPI_CONDITIONS: dict[str, str] = {
    "new": "c.first_purchase >= %s AND c.first_purchase <= %s",
    "lost": f"c.ladder_stage = {_CHURNED} "
    f"AND (p.ladder_stage IS NULL OR p.ladder_stage <> {_CHURNED})",
    "compared": _PRESENT,
    "upgraded": f"{_PRESENT} AND {_RANK_NOW} > {_RANK_BEFORE}",
    "downgraded": f"{_PRESENT} AND {_RANK_NOW} < {_RANK_BEFORE}",
    "active_at_end": f"c.first_purchase IS NOT NULL AND c.ladder_stage <> {_CHURNED}",
    "closing": "1 = 1",
}  # fmt: skip

#: The counts a drill-down may ask for (every one of :data:`KPI_CONDITIONS`).
KPI_NAMES = tuple(KPI_CONDITIONS)


def _condition(name: str, start: dt.date, end: dt.date) -> tuple[str, tuple[Any, ...]]:
    if name not in KPI_CONDITIONS:
        raise ValueError(f"unknown KPI {name!r}")
    params = (_date(start), _date(end)) if name == "new" else ()
    return KPI_CONDITIONS[name], params


def _period_join(
    customers: QuerySet[Any], opening: dt.date | None, closing: dt.date
) -> tuple[str, tuple[Any, ...]]:
    """``FROM`` and ``WHERE`` of the closing snapshot rows of ``customers`` (alias ``c``),
    left-joined to their opening rows (alias ``p``): one hash join, not a lookup per row."""
    table = _table()
    scope, scope_params = scope_sql(customers)
    # Without an opening snapshot every customer is absent at the opening (joins nothing).
    on_opening = "p.snapshot_date = %s" if opening is not None else "1 = 0"
    opening_params = (_date(opening),) if opening is not None else ()
    sql = (
        f"FROM {table} c LEFT JOIN {table} p ON p.customer_id = c.customer_id "
        f"AND {on_opening} WHERE c.snapshot_date = %s AND c.customer_id IN ({scope})"
    )
    return sql, (*opening_params, _date(closing), *scope_params)


def period_dates(start: dt.date, end: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """The (opening, closing) snapshot dates of ``[start, end]``; closing None: no KPI."""
    days = all_snapshot_dates()
    inside = [day for day in days if start <= day <= end]
    before = [day for day in days if day < start]
    return (before[-1] if before else None), (inside[-1] if inside else None)


def period_customer_ids(
    customers: QuerySet[Any], name: str, start: dt.date, end: dt.date
) -> tuple[str, tuple[Any, ...]]:
    """SQL selecting the ids of the customers a KPI of ``[start, end]`` counts (``new``,
    ``lost``, ``upgraded`` ...), among ``customers``: the drill-down behind a KPI card.

    Raises ``ValueError`` for an unknown KPI name. No snapshot in the period: selects none.
    """
    condition, condition_params = _condition(name, start, end)
    opening, closing = period_dates(start, end)
    if closing is None:
        return "SELECT NULL WHERE 1 = 0", ()
    join, join_params = _period_join(customers, opening, closing)
    return f"SELECT c.customer_id {join} AND ({condition})", (*join_params, *condition_params)


def period_kpis(
    customers: QuerySet[Any],
    start: dt.date,
    end: dt.date,
    *,
    group_by: str | None = None,
    margin: float | None = None,
) -> list[dict[str, Any]]:
    """The KPIs of ``[start, end]`` (see the module docstring), one dict per group.

    Without ``group_by`` the list has one entry (``group`` and ``label`` are None); grouped,
    ``label`` names the group (team and owner names, the province, the segment's label).
    Empty when no snapshot falls in the period.
    """
    field = _group_field(group_by)
    opening, closing = period_dates(start, end)
    if closing is None:
        return []
    margin_value = Decimal(str(refresh_settings().margin if margin is None else margin))
    snapshots = scoped_snapshots(customers)

    join, join_params = _period_join(customers, opening, closing)
    columns: list[str] = []
    params: list[Any] = []
    for name in ("new", "lost", "compared", "upgraded", "downgraded", "active_at_end"):
        condition, condition_params = _condition(name, start, end)
        columns.append(f"COUNT(CASE WHEN {condition} THEN 1 END)")
        params.extend(condition_params)
    columns.append("COUNT(*)")
    columns.append("SUM(c.total_spend - COALESCE(p.total_spend, 0))")
    columns.append("SUM(c.clv)")
    group_sql = f"c.{field}" if field else "NULL"
    sql = f"SELECT {group_sql}, {', '.join(columns)} {join}"
    if field:
        sql += f" GROUP BY c.{field} ORDER BY c.{field}"
    with connection.cursor() as cursor:
        cursor.execute(sql, (*params, *join_params))
        rows = cursor.fetchall()

    at_start = _customers_at_start(snapshots, opening, field)
    labels = group_labels(group_by, [row[0] for row in rows]) if field else {}
    report = []
    for group, new, lost, compared, upgraded, downgraded, active, at_end, spend, equity in rows:
        base = at_start.get(group, 0)
        spend_change = _money(spend)
        profit = spend_change * margin_value
        report.append(
            {
                "group": group,
                "label": labels.get(group) if field else None,
                "opening_date": opening,
                "closing_date": closing,
                "customers_at_start": base,
                "new": new,
                "new_rate": _rate(new, base),
                "lost": lost,
                "lost_rate": _rate(lost, base),
                "compared": compared,
                "upgraded": upgraded,
                "upgraded_rate": _rate(upgraded, compared),
                "downgraded": downgraded,
                "downgraded_rate": _rate(downgraded, compared),
                "active_at_end": active,
                "customers_at_end": at_end,
                "spend_change": spend_change,
                "average_profitability": (
                    (profit / active).quantize(Decimal("0.01")) if active else None
                ),
                "equity": _money(equity),
            }
        )
    return report


def _money(value: Any) -> Decimal:
    """A summed amount as cents (SQLite sums decimals as floats; None is zero)."""
    if value is None:
        return Decimal("0.00")
    return Decimal(str(value)).quantize(Decimal("0.01"))


def group_labels(group_by: str | None, keys: list[Any]) -> dict[Any, str]:
    """What to call each group of a ``group_by`` in the user's language: team and owner
    names (the snapshot keeps their ids), the province, the segment's label."""
    from guanxi.accounts.models import Team, User

    present = [key for key in keys if key not in (None, "")]
    labels: dict[Any, str] = {}
    if group_by == "team":
        labels = {t.pk: t.name for t in Team.objects.filter(pk__in=present)}
        missing = _("No team")
    elif group_by == "owner":
        labels = {u.pk: str(u) for u in User.objects.filter(pk__in=present)}
        missing = _("No owner")
    elif group_by == "region":
        labels = {key: str(key) for key in present}
        missing = _("No province")
    elif group_by == "segment":
        names = dict(RFMSegment.choices)
        labels = {key: str(names.get(key, key)) for key in present}
        missing = _("No purchase yet")
    else:
        return {}
    for key in keys:
        if key not in labels:
            # A removed user or team keeps its id in old snapshots.
            labels[key] = missing if key in (None, "") else _("#%(id)s (removed)") % {"id": key}
    return labels


def _customers_at_start(
    snapshots: QuerySet[InsightSnapshot], opening: dt.date | None, field: str | None
) -> dict[Any, int]:
    """Customers that had bought and were not lapsed at the opening snapshot, per group.

    Grouped by the opening snapshot's own group (who owned the customer then, which region
    or segment it was in then): the base the period started from.
    """
    if opening is None:
        return {}
    rows = snapshots.filter(snapshot_date=opening, first_purchase__isnull=False).exclude(
        ladder_stage=LadderStage.CHURNED
    )
    if field is None:
        return {None: rows.count()}
    return {row[field]: row["n"] for row in rows.values(field).annotate(n=Count("pk"))}


def equity_trend(
    customers: QuerySet[Any], start: dt.date, end: dt.date, *, group_by: str | None = None
) -> list[dict[str, Any]]:
    """Customer equity (sum of predicted CLV) on every snapshot date in ``[start, end]``."""
    field = _group_field(group_by)
    rows = scoped_snapshots(customers).filter(snapshot_date__gte=start, snapshot_date__lte=end)
    keys = ["snapshot_date", *([field] if field else [])]
    aggregated = (
        rows.values(*keys)
        .annotate(equity=Coalesce(Sum("clv"), Value(Decimal(0)), output_field=_MONEY))
        .order_by(*keys)
    )
    rows_out = list(aggregated)
    labels = group_labels(group_by, [row[field] for row in rows_out]) if field else {}
    return [
        {
            "date": row["snapshot_date"],
            "group": row[field] if field else None,
            "label": labels.get(row[field]) if field else None,
            "equity": Decimal(row["equity"]).quantize(Decimal("0.01")),
        }
        for row in rows_out
    ]


def cohort_retention(
    customers: QuerySet[Any], start: dt.date, end: dt.date, *, group_by: str | None = None
) -> list[dict[str, Any]]:
    """Per snapshot date in ``[start, end]`` and month of first purchase: the share of the
    cohort not lapsed, with the months elapsed since the cohort's month."""
    field = _group_field(group_by)
    rows = (
        scoped_snapshots(customers)
        .filter(snapshot_date__gte=start, snapshot_date__lte=end, first_purchase__isnull=False)
        .annotate(cohort=MonthOf("first_purchase"))
    )
    keys = ["snapshot_date", "cohort", *([field] if field else [])]
    aggregated = (
        rows.values(*keys)
        .annotate(
            customers=Count("pk"),
            retained=Count("pk", filter=~Q(ladder_stage=LadderStage.CHURNED)),
        )
        .order_by(*keys)
    )
    rows_out = list(aggregated)
    labels = group_labels(group_by, [row[field] for row in rows_out]) if field else {}
    out = []
    for row in rows_out:
        date: dt.date = row["snapshot_date"]
        year, month = (int(part) for part in row["cohort"].split("-"))
        out.append(
            {
                "date": date,
                "cohort": row["cohort"],
                "months_since": (date.year - year) * 12 + date.month - month,
                "group": row[field] if field else None,
                "label": labels.get(row[field]) if field else None,
                "customers": row["customers"],
                "retained": row["retained"],
                "share": _rate(row["retained"], row["customers"]),
            }
        )
    return out


def cohort_customers(
    customers: QuerySet[Any], date: dt.date, month: str, *, retained: bool | None = None
) -> QuerySet[InsightSnapshot]:
    """The snapshot rows of ``date`` behind one cell of :func:`cohort_retention`: the
    customers whose first purchase fell in ``month`` (``YYYY-MM``), all of them or only the
    retained (not lapsed) or lapsed ones. Raises ``ValueError`` for a malformed month."""
    first = dt.date.fromisoformat(f"{month}-01")
    after = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    rows = scoped_snapshots(customers).filter(
        snapshot_date=date, first_purchase__gte=first, first_purchase__lt=after
    )
    if retained is True:
        rows = rows.exclude(ladder_stage=LadderStage.CHURNED)
    elif retained is False:
        rows = rows.filter(ladder_stage=LadderStage.CHURNED)
    return rows


def kpi_report(
    customers: QuerySet[Any],
    start: dt.date,
    end: dt.date,
    *,
    group_by: str | None = None,
    margin: float | None = None,
) -> dict[str, Any]:
    """Every KPI of ``[start, end]``: the period figures, the equity trend, the cohorts."""
    return {
        "start": start,
        "end": end,
        "group_by": group_by or None,
        "groups": period_kpis(customers, start, end, group_by=group_by, margin=margin),
        "equity_trend": equity_trend(customers, start, end, group_by=group_by),
        "cohorts": cohort_retention(customers, start, end, group_by=group_by),
    }
