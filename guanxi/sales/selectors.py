"""Reads of the catalogue and the orders, scoped to what the user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from guanxi.core.permissions import Action

from .models import Order, Product


def product_list(*, user: Any, action: str = Action.VIEW) -> QuerySet[Product]:
    """Products the user may see (the catalogue is all-or-nothing per role)."""
    return Product.objects.restrict(user, action)


def order_list(*, user: Any, action: str = Action.VIEW) -> QuerySet[Order]:
    """Orders of customers the user may see, outside the trash."""
    return (
        Order.objects.restrict(user, action)
        .filter(customer__deleted_at__isnull=True)
        .select_related("customer", "reverses")
    )
