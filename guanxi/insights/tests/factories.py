"""Test data for the insights: customers and orders from a simulated transaction log."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from pathlib import Path

import numpy as np
from django.conf import settings

from guanxi.analytics.btyd.simulate import SimulatedTransactions, simulate_transactions
from guanxi.customers.models import Customer
from guanxi.sales.models import Order

#: Local midnight of the first simulated day.
START = dt.date(2024, 1, 1)


def local_start() -> dt.datetime:
    """The first simulated day at local midnight (aware)."""
    return dt.datetime.combine(START, dt.time(0), tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def load_log(log: SimulatedTransactions, *, owner=None, prefix: str = "sim") -> list[int]:
    """Customers and one order per simulated transaction (bulk: test data, not a user's
    change); returns the customer ids in the log's customer order."""
    customers = Customer.objects.bulk_create(
        Customer(name=f"{prefix} {i}", owner=owner, team=getattr(owner, "team", None))
        for i in range(int(log.customer.max()) + 1)
    )
    ids = [c.pk for c in customers]
    start = local_start()
    orders = [
        Order(
            external_id=f"{prefix}-{n}",
            customer_id=ids[int(c)],
            ordered_at=start + dt.timedelta(days=float(t)),
            total_amount=Decimal(str(round(float(a), 2))),
        )
        for n, (c, t, a) in enumerate(zip(log.customer, log.time, log.amount, strict=True))
    ]
    Order.objects.bulk_create(orders, batch_size=2000)
    return ids


def simulated(customers: int, days: float, seed: int = 7) -> SimulatedTransactions:
    """A BG/NBD + Gamma-Gamma log (weekly rates r=0.25, alpha=4, a=0.8, b=2.5), amounts
    rounded to cents as stored."""
    log = simulate_transactions(customers, days, seed=seed)
    return SimulatedTransactions(log.customer, log.time, np.round(log.amount, 2))


def load_external_log(
    log: SimulatedTransactions, *, as_of: dt.date, prospects: int = 5, prefix: str = "ext"
) -> list[int]:
    """Customers with external ids (``{prefix}-c{i}``) and the log's orders, plus the cases
    an external summary must treat like the database: second orders on a purchase day,
    reversed orders with their reversals, orders a moment before and at local midnight,
    orders after ``as_of`` (not counted) and prospects without orders. Returns the ids of
    the log's customers in its order."""
    count = int(log.customer.max()) + 1
    customers = Customer.objects.bulk_create(
        Customer(name=f"{prefix} {i}", external_id=f"{prefix}-c{i}")
        for i in range(count + prospects)
    )
    ids = [c.pk for c in customers]
    start = local_start()
    rng = np.random.default_rng(11)
    orders: list[Order] = []

    def add(customer: int, at: dt.datetime, amount: float, **extra: object) -> Order:
        order = Order(
            external_id=f"{prefix}-o{len(orders)}",
            customer_id=ids[customer],
            ordered_at=at,
            total_amount=Decimal(str(round(amount, 2))),
            **extra,
        )
        orders.append(order)
        return order

    for c, t, a in zip(log.customer, log.time, log.amount, strict=True):
        at = start + dt.timedelta(days=float(t))
        add(int(c), at, float(a))
        if rng.random() < 0.08:  # a second order on the same day, a little later
            later = min(at + dt.timedelta(minutes=7), at.replace(hour=23, minute=59, second=59))
            add(int(c), later, float(rng.gamma(2.0, 20.0)))
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    for i in range(0, count, 37):
        midnight = dt.datetime.combine(START + dt.timedelta(days=30 + i % 200), dt.time(0), zone)
        # The last millisecond of a day (SQLite's julianday() keeps milliseconds only).
        add(i, midnight - dt.timedelta(milliseconds=1), 12.34)
        add(i, midnight, 56.78)  # first moment of the next
    for i in range(3, count, 41):
        add(i, end - dt.timedelta(seconds=1), 9.99)  # the last second observed
        add(i, end, 99.0)  # after the as-of day: left out
    Order.objects.bulk_create(orders, batch_size=2000)
    # Reverse some orders: the reversal names the order and negates its amount.
    reversals = [
        Order(
            external_id=f"{order.external_id}-r",
            customer_id=order.customer_id,
            ordered_at=order.ordered_at + dt.timedelta(days=2),
            total_amount=-order.total_amount,
            kind="reversal",
            reverses=order,
        )
        for order in orders[5::23]
    ]
    Order.objects.bulk_create(reversals, batch_size=2000)
    return ids[:count]


def export_orders_parquet(folder: Path, *, files: int = 2) -> list[Path]:
    """Every order of the CRM as a Parquet history (docs/insights-scale-out.md): customer
    external id, time (UTC), amount, order id and the id of the order it reverses; split
    over ``files`` files in ``folder``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = list(
        Order.objects.order_by("pk").values_list(
            "customer__external_id", "ordered_at", "total_amount", "external_id",
            "reverses__external_id",
        )
    )  # fmt: skip
    customer, at, amount, order_id, reverses = (list(c) for c in zip(*rows, strict=True))
    table = pa.table(
        {
            "customer": pa.array(customer, pa.string()),
            "ordered_at": pa.array(at, pa.timestamp("us", tz="UTC")),
            "amount": pa.array(amount, pa.decimal128(14, 2)),
            "order_id": pa.array(order_id, pa.string()),
            "reverses": pa.array(reverses, pa.string()),
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(rows) // files)
    paths = []
    for n in range(files):
        path = folder / f"orders-{n}.parquet"
        pq.write_table(table.slice(n * size, size), path)
        paths.append(path)
    return paths


#: Insight fields that are not results (ids, links, bookkeeping).
_NOT_RESULTS = {"id", "customer", "refresh_run", "touched_at"}


def insight_values() -> dict[str | None, dict[str, object]]:
    """Every customer's insight results, by the customer's external id."""
    from guanxi.insights.models import CustomerInsight

    fields = [
        f.attname for f in CustomerInsight._meta.concrete_fields if f.name not in _NOT_RESULTS
    ]
    return {
        row.pop("customer__external_id"): row
        for row in CustomerInsight.objects.values("customer__external_id", *fields)
    }
