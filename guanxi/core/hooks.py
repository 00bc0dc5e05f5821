"""Explicit hooks between layers: a lower app announces an event, a higher app reacts.

Django signals would do the same implicitly; these are plain registries so that the call
sites are greppable and the order of callbacks is the order of registration (Saleor's
advice: prefer explicit calls over signals). ``core`` knows neither side.

``orders_changed`` is called by the sales services inside the transaction that creates or
reverses orders (one call per batch), so a callback that updates derived per-customer
figures (the insights app) commits or rolls back together with the orders.

``customer_fields_changed`` is called by the customer services, inside the write's
transaction, with the customers written and the names of the fields that an app may derive
figures from (the insights app recomputes the share of customer when ``category_need``
changes).

``customer_history_ids`` widens a customer's history to the customers merged into it (the
dedup app), and ``personal_data_erased`` lets apps that keep copies of a customer's personal
data (dedup's merge snapshots) remove them during a privacy erase.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

OrdersChanged = Callable[[frozenset[int]], None]

_ORDERS_CHANGED: list[OrdersChanged] = []
_ORDERS_CHANGED_BULK: dict[OrdersChanged, OrdersChanged] = {}


def on_orders_changed(
    callback: OrdersChanged, *, bulk: OrdersChanged | None = None
) -> OrdersChanged:
    """Register ``callback(customer_ids)`` for orders created or reversed (idempotent).

    ``bulk`` is the same upkeep done set-based, for many customers at once (an import run);
    :func:`orders_changed` calls it instead of ``callback`` when told ``bulk=True``.
    """
    if callback not in _ORDERS_CHANGED:
        _ORDERS_CHANGED.append(callback)
    if bulk is not None:
        _ORDERS_CHANGED_BULK[callback] = bulk
    return callback


def orders_changed(customer_ids: Iterable[int], *, bulk: bool = False) -> None:
    """Tell the registered callbacks that orders of these customers were created or reversed.

    Call it inside the transaction of the change: a callback's failure rolls the change back.
    ``bulk`` (many customers, e.g. once per import run) prefers each callback's bulk form.
    """
    ids = frozenset(int(pk) for pk in customer_ids)
    if not ids:
        return
    for callback in list(_ORDERS_CHANGED):
        (_ORDERS_CHANGED_BULK.get(callback, callback) if bulk else callback)(ids)


def orders_changed_callbacks() -> tuple[OrdersChanged, ...]:
    """The registered callbacks (for tests and benchmarks that measure their cost)."""
    return tuple(_ORDERS_CHANGED)


CustomerFieldsChanged = Callable[[frozenset[int], frozenset[str]], None]

_CUSTOMER_FIELDS_CHANGED: list[CustomerFieldsChanged] = []


def on_customer_fields_changed(callback: CustomerFieldsChanged) -> CustomerFieldsChanged:
    """Register ``callback(customer_ids, field_names)`` for customer writes (idempotent)."""
    if callback not in _CUSTOMER_FIELDS_CHANGED:
        _CUSTOMER_FIELDS_CHANGED.append(callback)
    return callback


def customer_fields_changed(customer_ids: Iterable[int], fields: Iterable[str]) -> None:
    """Tell the registered callbacks that these fields of these customers were written."""
    ids = frozenset(int(pk) for pk in customer_ids)
    names = frozenset(fields)
    if not ids or not names:
        return
    for callback in list(_CUSTOMER_FIELDS_CHANGED):
        callback(ids, names)


HistorySource = Callable[[Any], Iterable[int]]
ErasureCallback = Callable[[Any], int]

_HISTORY_SOURCES: list[HistorySource] = []
_PERSONAL_DATA_ERASED: dict[str, ErasureCallback] = {}


def on_customer_history(source: HistorySource) -> HistorySource:
    """Register ``source(customer) -> ids`` of other customers whose history is this one's."""
    if source not in _HISTORY_SOURCES:
        _HISTORY_SOURCES.append(source)
    return source


def customer_history_ids(customer: Any) -> set[int]:
    """The customer's id and those every registered source adds (e.g. merged-in customers)."""
    ids = {int(customer.pk)}
    for source in list(_HISTORY_SOURCES):
        ids.update(int(pk) for pk in source(customer))
    return ids


def on_personal_data_erased(name: str, callback: ErasureCallback) -> ErasureCallback:
    """Register ``callback(customer) -> removed count`` under ``name`` for privacy erases."""
    _PERSONAL_DATA_ERASED[name] = callback
    return callback


def personal_data_erased(customer: Any) -> dict[str, int]:
    """Run every erase callback for ``customer``; ``{name: records removed}`` for the receipt.

    Call it inside the erase's transaction, so the copies go or stay with the erase.
    """
    return {name: callback(customer) for name, callback in list(_PERSONAL_DATA_ERASED.items())}
