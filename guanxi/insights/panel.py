"""The customer value panel of the customer 360: scores with reasons, and their history.

Besides the current insight (CLV, P(alive), expected purchases, RFM and ABC with the reasons
in words, the ladder stage and the recommended relationship level) the panel shows how the
customer moved: a sparkline of P(alive) and of the CLV over the dated snapshots each refresh
keeps, and the ladder stage on each snapshot date with the moves between them.

Two queries, whatever the number of snapshots: the current run, and the customer's newest
:data:`HISTORY_POINTS` snapshots through the ``(customer, snapshot_date)`` index.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from . import explain, selectors
from .choices import LadderStage
from .models import InsightSnapshot

#: Snapshots shown (the newest ones): about two years of monthly refreshes.
HISTORY_POINTS = 24
SPARK_WIDTH = 160
SPARK_HEIGHT = 32

#: The ladder from the bottom rung up; a lapsed customer has fallen off it.
_RUNGS = [
    LadderStage.PROSPECT,
    LadderStage.CUSTOMER,
    LadderStage.CLIENT,
    LadderStage.SUPPORTER,
    LadderStage.ADVOCATE,
]


@dataclass(frozen=True)
class Sparkline:
    """An inline SVG line over dated values (no script, prints and scales)."""

    points: str
    first: float
    last: float
    low: float
    high: float
    start: dt.date
    end: dt.date
    count: int
    width: int = SPARK_WIDTH
    height: int = SPARK_HEIGHT

    @property
    def last_x(self) -> float:
        return float(self.points.split()[-1].split(",")[0])

    @property
    def last_y(self) -> float:
        return float(self.points.split()[-1].split(",")[1])


def sparkline(
    values: list[tuple[dt.date, float | Decimal | None]],
    *,
    low: float | None = None,
    high: float | None = None,
) -> Sparkline | None:
    """A sparkline through the dated values that are known (None: fewer than two).

    ``low``/``high`` fix the vertical scale (0 and 1 for a probability); by default it spans
    the values, so a flat series draws a flat line in the middle.
    """
    known = [(day, float(v)) for day, v in values if v is not None]
    if len(known) < 2:
        return None
    numbers = [v for _day, v in known]
    bottom = min(numbers) if low is None else low
    top = max(numbers) if high is None else high
    span = top - bottom
    step = (SPARK_WIDTH - 4) / (len(known) - 1)
    points = []
    for i, (_day, value) in enumerate(known):
        share = 0.5 if span <= 0 else (value - bottom) / span
        y = 2 + (SPARK_HEIGHT - 4) * (1 - share)
        points.append(f"{2 + i * step:.1f},{y:.1f}")
    return Sparkline(
        points=" ".join(points),
        first=numbers[0],
        last=numbers[-1],
        low=min(numbers),
        high=max(numbers),
        start=known[0][0],
        end=known[-1][0],
        count=len(known),
    )


@dataclass(frozen=True)
class LadderStep:
    """The customer's ladder stage on one snapshot date, and how it moved since the last."""

    date: dt.date
    stage: str
    label: str
    #: "up", "down", "same" or "" (the first snapshot shown).
    move: str


def _rung(stage: str) -> int:
    return _RUNGS.index(stage) if stage in _RUNGS else -1  # type: ignore[arg-type]


def ladder_history(snapshots: list[dict[str, Any]]) -> list[LadderStep]:
    """Stage per snapshot date (oldest first) with the move from the previous snapshot."""
    steps: list[LadderStep] = []
    previous: str | None = None
    labels = dict(LadderStage.choices)
    for row in snapshots:
        stage = row["ladder_stage"]
        if previous is None:
            move = ""
        elif stage == previous:
            move = "same"
        else:
            move = "up" if _rung(stage) > _rung(previous) else "down"
        steps.append(LadderStep(row["snapshot_date"], stage, str(labels.get(stage, stage)), move))
        previous = stage
    return steps


def customer_snapshots(*, customer: Any, limit: int = HISTORY_POINTS) -> list[dict[str, Any]]:
    """The customer's newest ``limit`` snapshots, oldest first (one indexed read).

    The caller obtained ``customer`` through a customer selector (it is in the user's scope).
    """
    rows: Any = (
        InsightSnapshot.objects.filter(customer_id=customer.pk)
        .order_by("-snapshot_date")
        .values("snapshot_date", "ladder_stage", "p_alive", "clv", "rfm_segment", "abc_grade")[
            :limit
        ]
    )
    return list(reversed(list(rows)))


def customer_value(request: HttpRequest, customer: Any) -> dict[str, Any]:
    """The context of ``insights/customer_insight_panel.html`` for one customer."""
    insight = selectors.customer_insight(customer=customer)
    run = selectors.current_run()
    snapshots = customer_snapshots(customer=customer)
    steps = ladder_history(snapshots)
    context: dict[str, Any] = {
        "insight": insight,
        "run": run,
        "insights_url": reverse("insights") if selectors.may_view_runs(request.user) else None,
        "fit_message": explain.fit_failure_message(run) if run else "",
        "snapshot_count": len(snapshots),
        "p_alive_line": sparkline(
            [(s["snapshot_date"], s["p_alive"]) for s in snapshots], low=0.0, high=1.0
        ),
        "clv_line": sparkline([(s["snapshot_date"], s["clv"]) for s in snapshots]),
        "ladder_steps": list(reversed(steps)),
        "ladder_moves": sum(1 for s in steps if s.move in ("up", "down")),
        "category_need": customer.category_need,
    }
    if insight is not None:
        context["reasons"] = {
            "rfm": explain.rfm_reason(insight),
            "abc": explain.abc_reason(insight),
            "ladder": explain.ladder_reason(insight),
            "portfolio": explain.portfolio_reason(insight, run),
            "level": explain.level_reason(insight, run),
        }
    return context
