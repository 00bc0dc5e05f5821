"""Data of the Insights dashboards: every figure an SQL aggregation over the customers in view.

Each function takes ``customers``, the customers the user may see narrowed by the
dashboard's filters (team, owner, province, RFM segment): the very queryset the customer
list shows for the same filters. Every figure is a ``GROUP BY`` in the database (one row per
grade, score cell, stage, bin ...), never a loop over customers, and every bucket carries
the customer-list filters that select exactly the customers it counts (``drill``): the
list at ``/customers/?<dashboard filters>&<drill>`` shows them.

Current figures (Pareto/ABC, RFM grid, ladder counts, CLV distribution, portfolio) read
the customers' insight rows (a customer not scored yet counts as such); figures over time
(KPIs, ladder flows, cohort retention) read the dated snapshots (:mod:`.kpis`).
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Avg,
    Case,
    Count,
    IntegerField,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from . import kpis
from .choices import LADDER_RANK, ABCGrade, LadderStage, PortfolioQuadrant, RFMSegment
from .models import CustomerInsight, InsightSnapshot

#: Ladder stages from the first rung up, lapsed last (the funnel's order).
LADDER_ORDER = (
    LadderStage.PROSPECT,
    LadderStage.CUSTOMER,
    LadderStage.CLIENT,
    LadderStage.SUPPORTER,
    LadderStage.ADVOCATE,
    LadderStage.CHURNED,
)

#: Points of the Pareto curve (customers ranked by spend, cut into this many equal tiles).
PARETO_TILES = 20

#: Snapshot-side marker of a customer absent from a snapshot (the ladder flows).
ABSENT = "absent"


def _n(value: Any, decimals: int = 0) -> str:
    """A number in the user's locale, grouped (for the sentences that describe a chart)."""
    return number_format(round(float(value), decimals), decimal_pos=decimals, force_grouping=True)


def _pct(part: float, whole: float) -> str:
    return _n(100 * part / whole, 1) if whole else "0"


def _float(value: Any) -> float:
    return float(value) if value is not None else 0.0


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


# --- Period -------------------------------------------------------------------------------


def default_period(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The period the KPIs open on: from the day after the snapshot before the latest one to
    the latest snapshot (the last refresh interval); the last 30 days without snapshots."""
    days = kpis.all_snapshot_dates()
    if not days:
        end = today or timezone.localdate()
        return end - dt.timedelta(days=29), end
    end = days[-1]
    if len(days) > 1:
        return days[-2] + dt.timedelta(days=1), end
    return end - dt.timedelta(days=29), end


def previous_period(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The period of the same length just before ``[start, end]``."""
    length = (end - start).days + 1
    return start - dt.timedelta(days=length), start - dt.timedelta(days=1)


# --- KPI cards ----------------------------------------------------------------------------

#: The KPI cards: (key in the period KPIs, rate key or None, drill-down KPI name, key of
#: the count of the customers behind the card).
KPI_CARDS = (
    ("new", "new_rate", "new", "new"),
    ("lost", "lost_rate", "lost", "lost"),
    ("upgraded", "upgraded_rate", "upgraded", "upgraded"),
    ("downgraded", "downgraded_rate", "downgraded", "downgraded"),
    ("average_profitability", None, "active_at_end", "active_at_end"),
    ("equity", None, "closing", "customers_at_end"),
)


def kpi_card_labels() -> dict[str, str]:
    """The title of each KPI card, translated."""
    return {
        "new": _("New customers"),
        "lost": _("Lost customers"),
        "upgraded": _("Upgraded customers"),
        "downgraded": _("Downgraded customers"),
        "average_profitability": _("Average customer profitability"),
        "equity": _("Customer equity"),
    }


def kpi_cards(
    customers: QuerySet[Any], start: dt.date, end: dt.date, *, margin: float | None = None
) -> dict[str, Any]:
    """The KPI cards of ``[start, end]`` with the change against the previous period."""
    previous_start, previous_end = previous_period(start, end)
    now = next(iter(kpis.period_kpis(customers, start, end, margin=margin)), None)
    before = next(
        iter(kpis.period_kpis(customers, previous_start, previous_end, margin=margin)), None
    )
    labels = kpi_card_labels()
    cards = []
    for key, rate_key, drill_kpi, count_key in KPI_CARDS:
        value = now[key] if now else None
        old = before[key] if before else None
        change = None
        if value is not None and old is not None:
            change = _float(value) - _float(old)
        # Fewer lost or downgraded customers is the good direction.
        lower_is_better = key in ("lost", "downgraded")
        if not change:
            trend = "flat"
        elif (change > 0) != lower_is_better:
            trend = "good"
        else:
            trend = "bad"
        cards.append(
            {
                "key": key,
                "label": labels[key],
                "value": value,
                "rate": now[rate_key] if now and rate_key else None,
                "previous": old,
                "change": change,
                "change_pct": (
                    100 * change / abs(_float(old)) if change is not None and old else None
                ),
                "rate_pct": 100 * now[rate_key]
                if now and rate_key and now[rate_key] is not None
                else None,
                "trend": trend,
                "customers": now[count_key] if now else None,
                "money": key in ("average_profitability", "equity"),
                "drill": {"kpi": f"{drill_kpi}:{start}:{end}"} if now and drill_kpi else None,
            }
        )
    return {
        "start": start,
        "end": end,
        "previous_start": previous_start,
        "previous_end": previous_end,
        "current": now,
        "previous": before,
        "cards": cards,
    }


def equity_chart(customers: QuerySet[Any], start: dt.date, end: dt.date) -> dict[str, Any]:
    """Customer equity on every snapshot date of ``[start, end]`` (a line)."""
    trend = kpis.equity_trend(customers, start, end)
    if trend:
        summary = _(
            "Customer equity (the sum of predicted CLV) went from %(first)s on %(start)s to "
            "%(last)s on %(end)s."
        ) % {
            "first": _n(trend[0]["equity"], 2),
            "start": trend[0]["date"],
            "last": _n(trend[-1]["equity"], 2),
            "end": trend[-1]["date"],
        }
    else:
        summary = _("No snapshot in this period.")
    return {
        "type": "line",
        "summary": summary,
        "x_label": _("Snapshot date"),
        "y_label": _("Customer equity"),
        "series_label": _("Customer equity"),
        "points": [
            {
                "x": str(row["date"]),
                "y": float(row["equity"]),
                "drill": {"kpi": f"closing:{row['date']}:{row['date']}"},
            }
            for row in trend
        ],
    }


# --- Pareto / ABC -------------------------------------------------------------------------


def _graded(customers: QuerySet[Any]) -> QuerySet[Any]:
    return customers.order_by().exclude(insight__abc_grade="").filter(insight__isnull=False)


def abc_grades(customers: QuerySet[Any]) -> dict[str, Any]:
    """Customers and revenue per ABC grade (customers without purchases have no grade)."""
    rows = (
        _graded(customers)
        .values("insight__abc_grade")
        .annotate(customers=Count("pk"), spend=Sum("insight__total_spend"))
        .order_by("insight__abc_grade")
    )
    by_grade = {row["insight__abc_grade"]: row for row in rows}
    total_customers = sum(row["customers"] for row in by_grade.values())
    total_spend = sum(_float(row["spend"]) for row in by_grade.values())
    grades = []
    for grade, label in ABCGrade.choices:
        row = by_grade.get(grade, {"customers": 0, "spend": 0})
        grades.append(
            {
                "grade": grade,
                "label": str(label),
                "customers": row["customers"],
                "spend": _float(row["spend"]),
                "customer_share": _share(row["customers"], total_customers),
                "spend_share": _share(_float(row["spend"]), total_spend),
                "drill": {"abc_grade": grade},
            }
        )
    return {"grades": grades, "customers": total_customers, "spend": total_spend}


def pareto_curve(customers: QuerySet[Any]) -> list[dict[str, Any]]:
    """Customers ranked by spend, cut into :data:`PARETO_TILES` equal tiles: each tile's
    revenue per ABC grade (a tile can straddle two grades), in one window query."""
    scope, scope_params = kpis.scope_sql(_graded(customers))
    table = connection.ops.quote_name(CustomerInsight._meta.db_table)
    # Spend is clipped at zero as the ABC grading clips it (a net refund is no revenue).
    spend = "CASE WHEN total_spend > 0 THEN total_spend ELSE 0 END"
    sql = (
        "SELECT tile, abc_grade, COUNT(*), SUM(spend) FROM ("  # noqa: S608 - names from models
        f"SELECT NTILE({PARETO_TILES}) OVER (ORDER BY total_spend DESC, customer_id) AS tile, "
        f"abc_grade, {spend} AS spend FROM {table} WHERE customer_id IN ({scope})"
        ") ranked GROUP BY tile, abc_grade ORDER BY tile, abc_grade"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, scope_params)
        return [
            {"tile": tile, "grade": grade, "customers": count, "spend": _float(total)}
            for tile, grade, count, total in cursor.fetchall()
        ]


def pareto_chart(customers: QuerySet[Any]) -> dict[str, Any]:
    """The Pareto chart: revenue share of every tile of customers (stacked by ABC grade,
    each part drilling down to its grade) and the cumulative revenue share."""
    grades = abc_grades(customers)
    rows = pareto_curve(customers)
    total = grades["spend"]
    customers_total = grades["customers"]
    tiles = sorted({row["tile"] for row in rows})
    ranked = 0
    cumulative = 0.0
    categories = []
    line = []
    for tile in tiles:
        parts = [row for row in rows if row["tile"] == tile]
        ranked += sum(part["customers"] for part in parts)
        cumulative += sum(part["spend"] for part in parts)
        categories.append(_("top %(share)s%%") % {"share": round(100 * ranked / customers_total)})
        line.append(round(100 * cumulative / total, 2) if total else 0.0)
    series = []
    for grade, label in ABCGrade.choices:
        values = []
        for tile in tiles:
            part = next((r for r in rows if r["tile"] == tile and r["grade"] == grade), None)
            values.append(
                {
                    "value": round(100 * part["spend"] / total, 2) if part and total else 0.0,
                    "part_customers": part["customers"] if part else 0,
                    "drill": {"abc_grade": grade} if part else None,
                }
            )
        series.append(
            {"key": grade, "label": _("Grade %(grade)s") % {"grade": label}, "data": values}
        )
    a = grades["grades"][0]
    summary = (
        _(
            "%(customers)s customers (%(customer_share)s%%) of grade A bring "
            "%(spend_share)s%% of the revenue of %(total)s customers with purchases."
        )
        % {
            "customers": _n(a["customers"]),
            "customer_share": _pct(a["customers"], customers_total),
            "spend_share": _pct(a["spend"], total),
            "total": _n(customers_total),
        }
        if customers_total
        else _("No customer with purchases yet.")
    )
    return {
        "type": "pareto",
        "summary": summary,
        "categories": categories,
        "series": series,
        "line": line,
        "line_label": _("Cumulative share of revenue"),
        "bar_axis": _("Share of revenue (%)"),
        "x_label": _("Customers ranked by revenue"),
        "marks": [80, 95],
        "grades": grades,
    }


# --- RFM ----------------------------------------------------------------------------------


def _add(a: Any, b: Any) -> Any:
    """A sum of two SQL sums (None: no value, as SQL's SUM of no value)."""
    return b if a is None else a if b is None else a + b


def rfm_figures(customers: QuerySet[Any]) -> dict[str, Any]:
    """The RFM grid and the segments. On PostgreSQL in one ``GROUP BY`` (R, F, segment)
    whose rows are added up per cell and per segment (its numeric sums are exact, so the
    figures are those of one query each); elsewhere one query each (SQLite sums money as
    floating point, which an other order of additions could change in the last digit)."""
    if connection.vendor != "postgresql":
        return {"grid": rfm_grid(customers), "segments": rfm_segments(customers)}
    rows = list(
        customers.order_by()
        .values("insight__recency_score", "insight__frequency_score", "insight__rfm_segment")
        .annotate(customers=Count("pk"), spend=Sum("insight__total_spend"), clv=Sum("insight__clv"))
    )
    cells: dict[tuple[Any, Any], dict[str, Any]] = {}
    segments: dict[str, dict[str, Any]] = {}
    for row in rows:
        key = (row["insight__recency_score"], row["insight__frequency_score"])
        cell = cells.setdefault(key, {"customers": 0, "spend": None, "clv": None})
        cell["customers"] += row["customers"]
        cell["spend"] = _add(cell["spend"], row["spend"])
        cell["clv"] = _add(cell["clv"], row["clv"])
        code = row["insight__rfm_segment"]
        if code:  # not "" (no purchase) nor None (no insight row)
            segment = segments.setdefault(code, {"customers": 0, "spend": None})
            segment["customers"] += row["customers"]
            segment["spend"] = _add(segment["spend"], row["spend"])
    grid_rows = [
        {"insight__recency_score": r, "insight__frequency_score": f, **cell}
        for (r, f), cell in cells.items()
    ]
    segment_rows = [{"insight__rfm_segment": code, **row} for code, row in segments.items()]
    return {
        "grid": rfm_grid(customers, rows=grid_rows),
        "segments": rfm_segments(customers, rows=segment_rows),
    }


def rfm_grid(
    customers: QuerySet[Any], *, rows: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Customers, revenue and equity per recency score x frequency score (5 x 5), and the
    customers without scores (no purchase, or not scored yet), in one ``GROUP BY``
    (``rows``: its rows, already computed by :func:`rfm_figures`)."""
    if rows is None:
        rows = list(
            customers.order_by()
            .values("insight__recency_score", "insight__frequency_score")
            .annotate(
                customers=Count("pk"), spend=Sum("insight__total_spend"), clv=Sum("insight__clv")
            )
        )
    cells: dict[tuple[int, int], dict[str, Any]] = {}
    unscored = 0
    for row in rows:
        r, f = row["insight__recency_score"], row["insight__frequency_score"]
        if r is None or f is None:
            unscored += row["customers"]
        else:
            cells[(r, f)] = row
    grid: list[dict[str, Any]] = []
    total = 0
    for r in range(5, 0, -1):
        line = []
        for f in range(1, 6):
            row = cells.get((r, f), {"customers": 0, "spend": 0, "clv": 0})
            total += row["customers"]
            line.append(
                {
                    "r": r,
                    "f": f,
                    "customers": row["customers"],
                    "spend": _float(row["spend"]),
                    "clv": _float(row["clv"]),
                    "drill": {"recency_score": r, "frequency_score": f},
                }
            )
        grid.append({"r": r, "cells": line})
    best = max((c for row in grid for c in row["cells"]), key=lambda c: c["customers"])
    summary = (
        _(
            "%(total)s customers with purchases; the largest cell is R %(r)s, F %(f)s with "
            "%(customers)s customers. Darker cells hold more customers."
        )
        % {"total": _n(total), "r": best["r"], "f": best["f"], "customers": _n(best["customers"])}
        if total
        else _("No customer with purchases yet.")
    )
    return {
        "type": "rfm_grid",
        "summary": summary,
        "rows": grid,
        "x_label": _("Frequency score (5 is most frequent)"),
        "y_label": _("Recency score (5 is most recent)"),
        "customers_label": _("Customers"),
        "spend_label": _("Revenue"),
        "clv_label": _("Predicted CLV"),
        "unscored": unscored,
        "total": total,
    }


def rfm_segments(
    customers: QuerySet[Any], *, rows: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Customers and revenue per named RFM segment (``rows``: already computed by
    :func:`rfm_figures`)."""
    if rows is None:
        rows = list(
            customers.order_by()
            .exclude(insight__rfm_segment="")
            .filter(insight__isnull=False)
            .values("insight__rfm_segment")
            .annotate(customers=Count("pk"), spend=Sum("insight__total_spend"))
        )
    by_code = {row["insight__rfm_segment"]: row for row in rows}
    segments = []
    for code, label in RFMSegment.choices:
        row = by_code.get(code)
        if row is None:
            continue
        segments.append(
            {
                "key": code,
                "label": str(label),
                "customers": row["customers"],
                "spend": _float(row["spend"]),
                "drill": {"rfm_segment": code},
            }
        )
    biggest = max(segments, key=lambda seg: seg["customers"], default=None)
    summary = (
        _("%(count)s segments; the largest is %(segment)s with %(customers)s customers.")
        % {
            "count": len(segments),
            "segment": biggest["label"],
            "customers": _n(biggest["customers"]),
        }
        if biggest
        else _("No customer with purchases yet.")
    )
    return {
        "type": "bars",
        "summary": summary,
        "bars": segments,
        "value_label": _("Customers"),
        "extra_label": _("Revenue"),
        "x_label": _("RFM segment"),
    }


# --- Ladder -------------------------------------------------------------------------------


def ladder_counts(customers: QuerySet[Any]) -> dict[str, Any]:
    """Customers on each step of the ladder now (insight rows), and those not scored yet."""
    rows = customers.order_by().values("insight__ladder_stage").annotate(customers=Count("pk"))
    by_stage = {row["insight__ladder_stage"]: row["customers"] for row in rows}
    labels = dict(LadderStage.choices)
    stages = [
        {
            "key": stage.value,
            "label": str(labels[stage]),
            "customers": by_stage.get(stage.value, 0),
            "drill": {"ladder_stage": stage.value},
        }
        for stage in LADDER_ORDER
    ]
    summary = _("Customers per ladder stage: %(counts)s.") % {
        "counts": ", ".join(f"{stage['label']} {_n(stage['customers'])}" for stage in stages)
    }
    return {
        "type": "ladder",
        "summary": summary,
        "stages": stages,
        "unscored": by_stage.get(None, 0),
        "unscored_drill": {"scored": "false"},
        "value_label": _("Customers"),
    }


def ladder_flows(customers: QuerySet[Any], before: dt.date, after: dt.date) -> dict[str, Any]:
    """Moves between ladder stages from the snapshot of ``before`` to that of ``after``:
    one row per (stage before or absent, stage after), counting the customers of the later
    snapshot, in one join of the two snapshots."""
    table = connection.ops.quote_name(InsightSnapshot._meta.db_table)
    scope, scope_params = kpis.scope_sql(customers)
    date = connection.ops.adapt_datefield_value
    sql = (
        "SELECT p.ladder_stage, c.ladder_stage, COUNT(*) "  # noqa: S608 - names from models
        f"FROM {table} c LEFT JOIN {table} p "
        "ON p.customer_id = c.customer_id AND p.snapshot_date = %s "
        f"WHERE c.snapshot_date = %s AND c.customer_id IN ({scope}) "
        "GROUP BY p.ladder_stage, c.ladder_stage"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, (date(before), date(after), *scope_params))
        rows = cursor.fetchall()
    labels = dict(LadderStage.choices)
    order = {stage.value: rank for rank, stage in enumerate(LADDER_ORDER)}
    order[ABSENT] = -1
    flows = sorted(
        (
            {
                "source": source or ABSENT,
                "target": target,
                "customers": count,
                "drill": {
                    "ladder_from": f"{before}:{source or ABSENT}",
                    "ladder_to": f"{after}:{target}",
                },
            }
            for source, target, count in rows
        ),
        key=lambda flow: (order.get(flow["source"], 99), order.get(flow["target"], 99)),
    )
    absent_label = _("No record yet")
    nodes = []
    for side, day in (("from", before), ("to", after)):
        keys = {flow["source" if side == "from" else "target"] for flow in flows}
        for key in sorted(keys, key=lambda k: order.get(k, 99)):
            label = absent_label if key == ABSENT else str(labels.get(key, key))
            nodes.append(
                {
                    "name": f"{side}:{key}",
                    "label": f"{label} ({day})",
                    "depth": 0 if side == "from" else 1,
                }
            )
    for flow in flows:
        flow["source_label"] = (
            absent_label
            if flow["source"] == ABSENT
            else str(labels.get(flow["source"], flow["source"]))
        )
        flow["target_label"] = str(labels.get(flow["target"], flow["target"]))

    def rank(code: str) -> int:
        return LADDER_RANK[LadderStage(code)]

    present = [f for f in flows if f["source"] != ABSENT]
    moved_up = sum(f["customers"] for f in present if rank(f["target"]) > rank(f["source"]))
    moved_down = sum(f["customers"] for f in present if rank(f["target"]) < rank(f["source"]))
    total = sum(f["customers"] for f in flows)
    summary = _(
        "Of %(total)s customers on %(after)s, %(up)s stand higher on the ladder than on "
        "%(before)s, %(down)s lower, %(new)s had no record then."
    ) % {
        "total": _n(total),
        "after": after,
        "before": before,
        "up": _n(moved_up),
        "down": _n(moved_down),
        "new": _n(sum(f["customers"] for f in flows if f["source"] == ABSENT)),
    }
    return {
        "type": "sankey",
        "summary": summary,
        "before": before,
        "after": after,
        "nodes": nodes,
        "flows": flows,
        "moved_up": moved_up,
        "total": total,
        "value_label": _("Customers"),
    }


# --- Cohorts ------------------------------------------------------------------------------


def cohort_heatmap(customers: QuerySet[Any], start: dt.date, end: dt.date) -> dict[str, Any]:
    """Share of each first-purchase month's cohort still active on every snapshot date of
    ``[start, end]`` (:func:`guanxi.insights.kpis.cohort_retention`)."""
    rows = kpis.cohort_retention(customers, start, end)
    dates = sorted({str(row["date"]) for row in rows})
    cohorts = sorted({row["cohort"] for row in rows}, reverse=True)
    cells = [
        {
            "date": str(row["date"]),
            "cohort": row["cohort"],
            "months_since": row["months_since"],
            "customers": row["customers"],
            "retained": row["retained"],
            "share": round(100 * row["share"], 1) if row["share"] is not None else None,
            "drill": {"cohort_on": f"{row['date']}:{row['cohort']}:retained"},
            "cohort_drill": {"cohort_on": f"{row['date']}:{row['cohort']}"},
        }
        for row in rows
    ]
    latest = [cell for cell in cells if cell["date"] == dates[-1]] if dates else []
    kept = sum(cell["retained"] for cell in latest)
    among = sum(cell["customers"] for cell in latest)
    summary = (
        _(
            "%(cohorts)s cohorts on %(dates)s snapshot dates; on %(last)s, %(share)s%% of "
            "%(customers)s customers with purchases were still active."
        )
        % {
            "cohorts": len(cohorts),
            "dates": len(dates),
            "last": dates[-1],
            "share": _pct(kept, among),
            "customers": _n(among),
        }
        if dates
        else _("No snapshot in this period.")
    )
    return {
        "type": "cohort_heatmap",
        "summary": summary,
        "dates": dates,
        "cohorts": cohorts,
        "cells": cells,
        "x_label": _("Snapshot date"),
        "y_label": _("Month of first purchase"),
        "share_label": _("Retained (%)"),
        "customers_label": _("Customers in the cohort"),
        "retained_label": _("Retained"),
    }


# --- CLV distribution ---------------------------------------------------------------------


def nice_edges(top: float) -> list[Decimal]:
    """Bin edges 0, 1, 2, 5, 10, 20, 50 ... up to the first edge above ``top`` (a 1-2-5
    scale: CLV is heavily skewed, so equal-width bins would put nearly everyone in one)."""
    edges = [Decimal(0)]
    if top <= 0:
        return [Decimal(0), Decimal(1)]
    exponent = max(0, math.floor(math.log10(top)) - 4)
    step = 0
    while edges[-1] <= Decimal(str(top)):
        mantissa = (1, 2, 5)[step % 3]
        edges.append(Decimal(mantissa) * Decimal(10) ** (exponent + step // 3))
        step += 1
    return edges


def _bin_case(field: str, edges: list[Decimal]) -> Case:
    """The index of the ``[edge, next edge)`` bin of ``field`` (-1 below the first edge)."""
    whens = [When(**{f"{field}__lt": edges[0]}, then=Value(-1))]
    whens += [
        When(**{f"{field}__lt": upper}, then=Value(index)) for index, upper in enumerate(edges[1:])
    ]
    return Case(*whens, default=Value(len(edges) - 1), output_field=IntegerField())


def clv_histogram(customers: QuerySet[Any]) -> dict[str, Any]:
    """Customers per predicted-CLV bin (1-2-5 edges), and those without a prediction."""
    base = customers.order_by()
    # Bounds and the customers without a prediction (no insight row included) in one pass.
    bounds = base.aggregate(
        low=Min("insight__clv"),
        high=Max("insight__clv"),
        missing=Count("pk", filter=Q(insight__clv__isnull=True)),
    )
    missing = bounds["missing"]
    if bounds["high"] is None:
        return {
            "type": "histogram",
            "summary": _("No predicted CLV yet (%(missing)s customers without one).")
            % {"missing": _n(missing)},
            "bins": [],
            "missing": missing,
            "missing_drill": {"clv_known": "false"},
            "x_label": _("Predicted CLV"),
            "value_label": _("Customers"),
        }
    edges = nice_edges(float(bounds["high"]))
    rows = (
        base.filter(insight__clv__isnull=False)
        .annotate(bin=_bin_case("insight__clv", edges))
        .values("bin")
        .annotate(customers=Count("pk"), clv=Sum("insight__clv"))
        .order_by("bin")
    )
    by_bin = {row["bin"]: row for row in rows}
    bins = []
    if -1 in by_bin:
        row = by_bin[-1]
        bins.append(
            {
                "label": _("below 0"),
                "low": None,
                "high": 0.0,
                "customers": row["customers"],
                "clv": _float(row["clv"]),
                "drill": {"clv_below": "0"},
            }
        )
    last = max((b for b in by_bin if b >= 0), default=-1)
    for index in range(0, last + 1):
        low, high = edges[index], edges[index + 1] if index + 1 < len(edges) else None
        row = by_bin.get(index, {"customers": 0, "clv": 0})
        drill: dict[str, str] = {"clv_min": _plain(low)}
        if high is not None:
            drill["clv_below"] = _plain(high)
        bins.append(
            {
                "label": f"{_plain(low)}-{_plain(high)}"
                if high is not None
                else f"≥ {_plain(low)}",
                "low": float(low),
                "high": float(high) if high is not None else None,
                "customers": row["customers"],
                "clv": _float(row["clv"]),
                "drill": drill,
            }
        )
    predicted = sum(b["customers"] for b in bins)
    peak = max(bins, key=lambda b: b["customers"])
    summary = _(
        "%(predicted)s customers have a predicted CLV, most of them (%(peak)s) between "
        "%(range)s; %(missing)s have none."
    ) % {
        "predicted": _n(predicted),
        "peak": _n(peak["customers"]),
        "range": peak["label"],
        "missing": _n(missing),
    }
    return {
        "type": "histogram",
        "summary": summary,
        "bins": bins,
        "missing": missing,
        "missing_drill": {"clv_known": "false"},
        "x_label": _("Predicted CLV"),
        "value_label": _("Customers"),
    }


def _plain(value: Decimal | None) -> str:
    return "" if value is None else format(value.normalize(), "f")


# --- Portfolio ----------------------------------------------------------------------------

#: Bins of expected loyalty (P(alive), else the loyalty index): tenths of 0..1.
LOYALTY_BINS = 10


def portfolio_chart(customers: QuerySet[Any], value_threshold: float | None) -> dict[str, Any]:
    """Value x expected loyalty, binned: one point per (quadrant, value bin, loyalty bin)
    at the bin's mean value and loyalty, sized by its customers. Value is the predicted CLV
    (the spend when no model was fitted) and expected loyalty P(alive) (else the loyalty
    index), as the portfolio rule decided them; a few hundred points whatever the base."""
    base = (
        customers.order_by()
        .exclude(insight__portfolio_quadrant="")
        .filter(insight__isnull=False)
        .annotate(
            value=Coalesce("insight__clv", "insight__total_spend"),
            loyalty=Coalesce("insight__p_alive", "insight__loyalty_index", Value(0.0)),
        )
    )
    high = base.aggregate(high=Max("value"))["high"]
    edges = nice_edges(float(high) if high is not None else 0.0)
    loyalty_bin = Case(
        *(
            When(loyalty__lt=(index + 1) / LOYALTY_BINS, then=Value(index))
            for index in range(LOYALTY_BINS - 1)
        ),
        default=Value(LOYALTY_BINS - 1),
        output_field=IntegerField(),
    )
    rows = (
        base.annotate(value_bin=_bin_case("value", edges), loyalty_bin=loyalty_bin)
        .values("insight__portfolio_quadrant", "value_bin", "loyalty_bin")
        .annotate(customers=Count("pk"), mean_value=Avg("value"), mean_loyalty=Avg("loyalty"))
        .order_by("insight__portfolio_quadrant", "value_bin", "loyalty_bin")
    )
    labels = dict(PortfolioQuadrant.choices)
    quadrants: dict[str, dict[str, Any]] = {
        code: {
            "key": code,
            "label": str(label),
            "customers": 0,
            "points": [],
            "drill": {"portfolio_quadrant": code},
        }
        for code, label in PortfolioQuadrant.choices
    }
    for row in rows:
        quadrant = quadrants.get(row["insight__portfolio_quadrant"])
        if quadrant is None:
            continue
        quadrant["customers"] += row["customers"]
        quadrant["points"].append(
            [
                round(_float(row["mean_value"]), 2),
                round(_float(row["mean_loyalty"]), 4),
                row["customers"],
            ]
        )
    meanings = {
        PortfolioQuadrant.TRUE_FRIENDS: _("Keep them close: consistent communication and rewards."),
        PortfolioQuadrant.BUTTERFLIES: _("Enjoy them while they last: harvest, don't over-invest."),
        PortfolioQuadrant.BARNACLES: _(
            "Measure share of wallet: up-sell and cross-sell, or cut cost."
        ),
        PortfolioQuadrant.STRANGERS: _("Do not invest: make money on every transaction."),
    }
    for code, quadrant in quadrants.items():
        quadrant["meaning"] = meanings.get(code, "")  # type: ignore[call-overload]
    total = sum(q["customers"] for q in quadrants.values())
    summary = (
        _("%(total)s customers: %(counts)s.")
        % {
            "total": _n(total),
            "counts": ", ".join(f"{q['label']} {_n(q['customers'])}" for q in quadrants.values()),
        }
        if total
        else _("No customer with purchases yet.")
    )
    return {
        "type": "quadrant_scatter",
        "summary": summary,
        "total": total,
        "quadrants": list(quadrants.values()),
        "value_threshold": value_threshold,
        "loyalty_threshold": 0.5,
        "x_label": _("Value (predicted CLV, else revenue)"),
        "y_label": _("Expected loyalty (P(alive), else loyalty index)"),
        "size_label": _("Customers"),
        "labels": {code: str(label) for code, label in labels.items()},
    }


def provinces() -> list[str]:
    """The provinces customers are in, for the filter's suggestions: a loose index scan of
    the ``(province, city)`` index (one probe per province, not a scan of every customer)."""
    from guanxi.customers.models import Customer

    table = connection.ops.quote_name(Customer._meta.db_table)
    sql = (
        "WITH RECURSIVE p(name) AS ("  # noqa: S608 - table name from the model
        f"SELECT MIN(province) FROM {table} WHERE province > '' "
        f"UNION ALL SELECT (SELECT MIN(province) FROM {table} WHERE province > p.name) "
        "FROM p WHERE p.name IS NOT NULL) SELECT name FROM p WHERE name IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]
