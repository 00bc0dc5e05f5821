"""Test data for the insights: customers and orders from a simulated transaction log."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

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
