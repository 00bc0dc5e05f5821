"""Share of customer (客户占有率): what the customer bought here over what it needs.

A customer's *annual category need* (``Customer.category_need``, an estimate a rep or an
import records: what the customer spends in a year on the kind of products sold here, with
every supplier) turns the last 12 months' orders into a share: 0.25 means a quarter of the
customer's business in the category comes here, the room that cross-selling and up-selling
can win (DOMAIN.md, section 3). Customers without a need have no share (null), not zero.

The share is stored on the customer's insight row so that lists filter and sort on it and
exports carry it. It is recomputed by the full refresh (inside its swap transaction, or on
PostgreSQL for a large base while the models are fitted, joined into the new table), by the
incremental upkeep when orders arrive, and when a customer's need changes
(``core.hooks.customer_fields_changed``). A share above 1 means the need was underestimated;
it is kept as computed so that the estimate can be corrected.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import connections
from django.utils import timezone

from guanxi.customers.models import Customer
from guanxi.sales.models import Order

from .models import CustomerInsight
from .summary import local_midnight, reversed_order_ids_sql

#: Days of orders a share counts: the 12 months up to and including the as-of day.
WINDOW_DAYS = 365


def year_bounds(as_of: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The window's start (inclusive) and end (exclusive) as aware local midnights."""
    first = as_of - dt.timedelta(days=WINDOW_DAYS - 1)
    return local_midnight(first), local_midnight(as_of + dt.timedelta(days=1))


def update_share_of_customer(
    *, as_of: dt.date, customer_ids: Iterable[int] | None = None, using: str = "default"
) -> int:
    """Recompute the stored share of customer (all insight rows, or those of
    ``customer_ids``) as of ``as_of``; returns the number of rows given a share.

    Set-based: one :func:`share_sql` ``UPDATE`` for the rows of customers with a need, one
    that nulls the share of the others.
    """
    table = CustomerInsight._meta.db_table
    rows = CustomerInsight.objects.using(using)
    with_need = Customer.all_objects.using(using).filter(category_need__gt=0)
    if customer_ids is None:
        needing: list[int] | None = None
        without_need = rows.exclude(customer_id__in=with_need.values("pk"))
    else:
        # A few customers (an order, an edit): decide by their ids, never by a scan of the
        # customers for the ones with a need (the need column has no index).
        ids = sorted({int(pk) for pk in customer_ids})
        needing = sorted(with_need.filter(pk__in=ids).values_list("pk", flat=True))
        without_need = rows.filter(customer_id__in=sorted(set(ids) - set(needing)))
    given = 0
    if needing is None or needing:
        with connections[using].cursor() as cursor:
            cursor.execute(share_sql(table, needing), [*year_bounds(as_of), *(needing or [])])
            given = cursor.rowcount
    without_need.exclude(share_of_customer=None).update(share_of_customer=None)
    return given


def share_sql(table: str, customer_ids: list[int] | None = None) -> str:
    """``UPDATE`` of the share in ``table`` (``CustomerInsight`` or a table shaped like it)
    for the customers with a need, or for the given customers (who must have one);
    parameters: the window's start and end, then the ids. Rows of other customers keep
    their share."""
    customers = Customer._meta.db_table
    if customer_ids is None:
        only = f'SELECT id FROM "{customers}" WHERE category_need > 0'  # noqa: S608
    else:
        only = ", ".join(["%s"] * len(customer_ids))
    return (
        f'UPDATE "{table}" SET share_of_customer = (SELECT {_share_of("c")} '  # noqa: S608
        f'FROM "{customers}" c WHERE c.id = "{table}".customer_id) WHERE customer_id IN ({only})'
    )


def share_values_sql() -> str:
    """``customer_id, share`` of every customer with a need (parameters: the window's start
    and end): what a refresh joins into the insight table it builds beside the live one."""
    customers = Customer._meta.db_table
    return (
        f'SELECT c.id AS customer_id, {_share_of("c")} AS share FROM "{customers}" c '  # noqa: S608
        "WHERE c.category_need > 0"
    )


def _share_of(customer: str) -> str:
    """The share of the customer row aliased ``customer`` (parameters: the window's start
    and end): its orders in the window, without reversed orders and their reversals, over
    its need."""
    orders = Order._meta.db_table
    # Both sides as floating point: SQLite divides two whole numbers as integers.
    return (
        f'CAST(COALESCE((SELECT SUM(o.total_amount) FROM "{orders}" o '  # noqa: S608
        f"WHERE o.customer_id = {customer}.id AND o.ordered_at >= %s AND o.ordered_at < %s "
        f"AND o.id NOT IN ({reversed_order_ids_sql()})), 0) AS DOUBLE PRECISION) / "
        f"CAST({customer}.category_need AS DOUBLE PRECISION)"
    )


def clear_share_of_customer(*, using: str = "default") -> None:
    """Null every share (a refresh over orders kept outside the CRM cannot compute them)."""
    CustomerInsight.objects.using(using).exclude(share_of_customer=None).update(
        share_of_customer=None
    )


def customer_fields_changed_callback(customer_ids: frozenset[int], fields: frozenset[str]) -> None:
    """``core.hooks`` callback: a changed need changes the share at once."""
    if "category_need" in fields:
        update_share_of_customer(as_of=timezone.localdate(), customer_ids=customer_ids)
