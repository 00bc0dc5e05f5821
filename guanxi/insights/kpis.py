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

Rates are ``None`` when their base is zero.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from .choices import LADDER_RANK, LadderStage
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
        return self.as_sql(compiler, connection, template="strftime('%%Y-%%m', %(expressions)s)")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="to_char(%(expressions)s, 'YYYY-MM')")


def _rank(field: str) -> Case:
    """The ladder rank of a stage column, as an SQL expression."""
    return Case(
        *(When(**{field: stage.value}, then=Value(rank)) for stage, rank in LADDER_RANK.items()),
        default=Value(None),
        output_field=IntegerField(),
    )


def scoped_snapshots(customers: QuerySet[Any]) -> QuerySet[InsightSnapshot]:
    """Snapshots of the customers of ``customers`` (the caller's permission scope)."""
    return InsightSnapshot.objects.filter(customer_id__in=customers.values("pk"))


def snapshot_dates(customers: QuerySet[Any], start: dt.date, end: dt.date) -> list[dt.date]:
    """The snapshot dates within ``[start, end]``, oldest first."""
    dates = (
        scoped_snapshots(customers)
        .filter(snapshot_date__gte=start, snapshot_date__lte=end)
        .values_list("snapshot_date", flat=True)
        .distinct()
        .order_by("snapshot_date")
    )
    return list(dates)


def opening_date(customers: QuerySet[Any], start: dt.date) -> dt.date | None:
    """The last snapshot date before ``start`` (None when there is none)."""
    return (
        scoped_snapshots(customers)
        .filter(snapshot_date__lt=start)
        .order_by("-snapshot_date")
        .values_list("snapshot_date", flat=True)
        .first()
    )


def _rate(count: int, base: int) -> float | None:
    return count / base if base else None


def _group_field(group_by: str | None) -> str | None:
    if group_by is None or group_by == "":
        return None
    if group_by not in GROUP_FIELDS:
        raise ValueError(f"unknown group_by {group_by!r}")
    return GROUP_FIELDS[group_by]


def period_kpis(
    customers: QuerySet[Any],
    start: dt.date,
    end: dt.date,
    *,
    group_by: str | None = None,
    margin: float | None = None,
) -> list[dict[str, Any]]:
    """The KPIs of ``[start, end]`` (see the module docstring), one dict per group.

    Without ``group_by`` the list has one entry (``group`` is None). Empty when no snapshot
    falls in the period.
    """
    field = _group_field(group_by)
    dates = snapshot_dates(customers, start, end)
    if not dates:
        return []
    closing = dates[-1]
    opening = opening_date(customers, start)
    margin_value = Decimal(str(refresh_settings().margin if margin is None else margin))
    snapshots = scoped_snapshots(customers)

    # Without an opening snapshot every customer is absent at the opening (matches nothing).
    at_opening = Q(snapshot_date=opening) if opening is not None else Q(snapshot_date__isnull=True)
    previous = snapshots.filter(at_opening, customer_id=OuterRef("customer_id"))
    rows = snapshots.filter(snapshot_date=closing).annotate(
        previous_stage=Subquery(previous.values("ladder_stage")[:1]),
        previous_spend=Subquery(previous.values("total_spend")[:1], output_field=_MONEY),
    )
    rows = rows.annotate(previous_rank=_rank("previous_stage"), rank=_rank("ladder_stage"))
    churned = LadderStage.CHURNED
    present = Q(previous_stage__isnull=False)
    aggregates = {
        "new": Count("pk", filter=Q(first_purchase__gte=start, first_purchase__lte=end)),
        "lost": Count(
            "pk",
            filter=Q(ladder_stage=churned)
            & (Q(previous_stage__isnull=True) | ~Q(previous_stage=churned)),
        ),
        "compared": Count("pk", filter=present),
        "upgraded": Count("pk", filter=present & Q(rank__gt=F("previous_rank"))),
        "downgraded": Count("pk", filter=present & Q(rank__lt=F("previous_rank"))),
        "active_at_end": Count(
            "pk", filter=Q(first_purchase__isnull=False) & ~Q(ladder_stage=churned)
        ),
        "spend_change": Coalesce(
            Sum(F("total_spend") - Coalesce("previous_spend", Value(Decimal(0)))),
            Value(Decimal(0)),
            output_field=_MONEY,
        ),
        "equity": Coalesce(Sum("clv"), Value(Decimal(0)), output_field=_MONEY),
    }
    if field:
        results = list(rows.values(field).annotate(**aggregates).order_by(field))
    else:
        results = [{**rows.aggregate(**aggregates)}]

    at_start = _customers_at_start(snapshots, opening, field)
    report = []
    for row in results:
        group = row.get(field) if field else None
        base = at_start.get(group, 0)
        active = row["active_at_end"]
        spend_change = Decimal(row["spend_change"]).quantize(Decimal("0.01"))
        profit = spend_change * margin_value
        report.append(
            {
                "group": group,
                "opening_date": opening,
                "closing_date": closing,
                "customers_at_start": base,
                "new": row["new"],
                "new_rate": _rate(row["new"], base),
                "lost": row["lost"],
                "lost_rate": _rate(row["lost"], base),
                "compared": row["compared"],
                "upgraded": row["upgraded"],
                "upgraded_rate": _rate(row["upgraded"], row["compared"]),
                "downgraded": row["downgraded"],
                "downgraded_rate": _rate(row["downgraded"], row["compared"]),
                "active_at_end": active,
                "spend_change": spend_change,
                "average_profitability": (
                    (profit / active).quantize(Decimal("0.01")) if active else None
                ),
                "equity": Decimal(row["equity"]).quantize(Decimal("0.01")),
            }
        )
    return report


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
    return [
        {
            "date": row["snapshot_date"],
            "group": row[field] if field else None,
            "equity": Decimal(row["equity"]).quantize(Decimal("0.01")),
        }
        for row in aggregated
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
    out = []
    for row in aggregated:
        date: dt.date = row["snapshot_date"]
        year, month = (int(part) for part in row["cohort"].split("-"))
        out.append(
            {
                "date": date,
                "cohort": row["cohort"],
                "months_since": (date.year - year) * 12 + date.month - month,
                "group": row[field] if field else None,
                "customers": row["customers"],
                "retained": row["retained"],
                "share": _rate(row["retained"], row["customers"]),
            }
        )
    return out


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
