"""Explicit hooks between layers: a lower app announces an event, a higher app reacts.

Django signals would do the same implicitly; these are plain registries so that the call
sites are greppable and the order of callbacks is the order of registration (Saleor's
advice: prefer explicit calls over signals). ``core`` knows neither side.

``orders_changed`` is called by the sales services inside the transaction that creates or
reverses orders (one call per batch), so a callback that updates derived per-customer
figures (the insights app) commits or rolls back together with the orders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

OrdersChanged = Callable[[frozenset[int]], None]

_ORDERS_CHANGED: list[OrdersChanged] = []


def on_orders_changed(callback: OrdersChanged) -> OrdersChanged:
    """Register ``callback(customer_ids)`` for orders created or reversed (idempotent)."""
    if callback not in _ORDERS_CHANGED:
        _ORDERS_CHANGED.append(callback)
    return callback


def orders_changed(customer_ids: Iterable[int]) -> None:
    """Tell the registered callbacks that orders of these customers were created or reversed.

    Call it inside the transaction of the change: a callback's failure rolls the change back.
    """
    ids = frozenset(int(pk) for pk in customer_ids)
    if not ids:
        return
    for callback in list(_ORDERS_CHANGED):
        callback(ids)


def orders_changed_callbacks() -> tuple[OrdersChanged, ...]:
    """The registered callbacks (for tests and benchmarks that measure their cost)."""
    return tuple(_ORDERS_CHANGED)
