"""The customer value panel of the 360: sparklines and ladder history from the snapshots."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from guanxi.insights.models import CustomerInsight, InsightSnapshot
from guanxi.insights.panel import ladder_history, sparkline

pytestmark = pytest.mark.django_db

HISTORY = [
    (dt.date(2026, 1, 31), "prospect", None, None),
    (dt.date(2026, 2, 28), "customer", 0.9, Decimal("120.00")),
    (dt.date(2026, 3, 31), "client", 0.6, Decimal("150.00")),
    (dt.date(2026, 4, 30), "churned", 0.2, Decimal("40.00")),
]


def _snapshots(customer) -> None:
    InsightSnapshot.objects.bulk_create(
        InsightSnapshot(
            snapshot_date=day, customer=customer, ladder_stage=stage, p_alive=p, clv=clv
        )
        for day, stage, p, clv in HISTORY
    )


def test_the_panel_shows_the_snapshot_values(client, world):
    user = world.users["sales_rep"]
    customer = world.records_for("sales_rep")["own"].customer
    _snapshots(customer)
    # Another customer's snapshots stay out of this one's history.
    other = world.records["other"].customer
    InsightSnapshot.objects.create(
        snapshot_date=dt.date(2026, 4, 30), customer=other, ladder_stage="advocate", p_alive=1.0
    )
    CustomerInsight.objects.create(
        customer=customer, as_of=dt.date(2026, 4, 30), ladder_stage="churned", p_alive=0.2,
        clv=Decimal("40.00"), order_count=3, total_spend=Decimal("300.00"),
    )  # fmt: skip
    client.force_login(user)
    response = client.get(reverse("customer_detail", args=[customer.pk]))
    panel = next(p for p in response.context["panels"] if p["name"] == "insight")
    steps = panel["ladder_steps"]  # newest first
    assert [(s.date, s.stage, s.move) for s in steps] == [
        (dt.date(2026, 4, 30), "churned", "down"),
        (dt.date(2026, 3, 31), "client", "up"),
        (dt.date(2026, 2, 28), "customer", "up"),
        (dt.date(2026, 1, 31), "prospect", ""),
    ]
    assert panel["ladder_moves"] == 3
    line = panel["p_alive_line"]
    assert (line.count, line.first, line.last) == (3, 0.9, 0.2)  # the unscored month is skipped
    assert (line.start, line.end) == (dt.date(2026, 2, 28), dt.date(2026, 4, 30))
    assert len(line.points.split()) == 3
    assert panel["clv_line"].high == 150.0
    html = response.content.decode()
    assert f'points="{line.points}"' in html
    assert "90% → 20%" in html
    assert "Lapsed" in html and "Repeat customer" in html
    assert "3 moves over the last 4 refreshes." in html


def test_without_snapshots_the_panel_says_so(client, world):
    customer = world.records_for("sales_rep")["own"].customer
    client.force_login(world.users["sales_rep"])
    html = client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
    assert "No snapshots yet" in html


def test_sparkline_geometry():
    days = [dt.date(2026, 1, d) for d in (1, 2, 3)]
    line = sparkline(list(zip(days, [0.0, 0.5, 1.0], strict=True)), low=0.0, high=1.0)
    assert line is not None
    xs = [float(p.split(",")[0]) for p in line.points.split()]
    ys = [float(p.split(",")[1]) for p in line.points.split()]
    assert xs == sorted(xs) and xs[0] == 2.0 and xs[-1] == line.width - 2
    assert ys[0] == line.height - 2 and ys[-1] == 2.0  # higher values draw higher
    assert sparkline([(days[0], 0.3)]) is None
    flat = sparkline([(days[0], 5), (days[1], 5)])
    assert flat is not None and {p.split(",")[1] for p in flat.points.split()} == {"16.0"}


def test_ladder_history_moves():
    rows = [
        {"snapshot_date": dt.date(2026, 1, 1), "ladder_stage": "client"},
        {"snapshot_date": dt.date(2026, 2, 1), "ladder_stage": "client"},
        {"snapshot_date": dt.date(2026, 3, 1), "ladder_stage": "advocate"},
    ]
    assert [s.move for s in ladder_history(rows)] == ["", "same", "up"]
