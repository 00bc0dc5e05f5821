"""Filters shared by the catalogue and order lists in the UI and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from guanxi.core.filtersets import ScopedFilterSet

from .choices import OrderKind, SalesChannel
from .models import Order, Product


class ProductFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    category = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Product
        fields = ["is_active", "currency"]

    def search(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        value = value.strip()
        return (
            queryset.filter(Q(sku__icontains=value) | Q(name__icontains=value))
            if value
            else queryset
        )


class OrderFilterSet(ScopedFilterSet):
    q = django_filters.CharFilter(
        field_name="external_id", lookup_expr="icontains", label=_("Order id")
    )
    channel = django_filters.ChoiceFilter(choices=SalesChannel.choices)
    kind = django_filters.ChoiceFilter(choices=OrderKind.choices)
    ordered_after = django_filters.DateFilter(
        field_name="ordered_at", lookup_expr="date__gte", label=_("From")
    )
    ordered_before = django_filters.DateFilter(
        field_name="ordered_at", lookup_expr="date__lte", label=_("To")
    )

    class Meta:
        model = Order
        fields = ["customer", "currency", "external_id"]
