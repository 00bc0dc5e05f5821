"""Reads of the catalogue and the orders, scoped to what the user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from guanxi.core.models import ChangeRecord
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


def product_history(*, user: Any, product: Product) -> QuerySet[ChangeRecord]:
    """Every change to one product, newest first (the product must be visible to the user)."""
    product_list(user=user).get(pk=product.pk)
    return ChangeRecord.objects.for_object(product).select_related("content_type", "actor")


def order_history(*, user: Any, order: Order) -> QuerySet[ChangeRecord]:
    """The change-log entries of one order (creation, reversal), newest first."""
    order_list(user=user).get(pk=order.pk)
    return ChangeRecord.objects.for_object(order).select_related("content_type", "actor")
