"""Serializers of the catalogue and the orders: input validation and representation only.

Writes go through :mod:`guanxi.sales.services`, called by the viewsets.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from guanxi.core.api.fields import DateTimeField, ScopedPrimaryKeyRelatedField
from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_list
from guanxi.sales.models import Order, OrderLine, Product
from guanxi.sales.selectors import product_list

_TIMESTAMPS = ("created_at", "updated_at")


class ProductSerializer(serializers.ModelSerializer):
    """A product of the catalogue; deactivate it with ``is_active: false`` (no delete)."""

    url = serializers.HyperlinkedIdentityField(view_name="api:product-detail")
    display = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = Product
        fields = (
            "id", "url", "display", "sku", "name", "category", "list_price", "unit_cost",
            "currency", "is_active", *_TIMESTAMPS,
        )  # fmt: skip
        read_only_fields = _TIMESTAMPS


class OrderLineSerializer(serializers.ModelSerializer):
    """One line of an order; ``amount`` defaults to quantity x unit price."""

    product = ScopedPrimaryKeyRelatedField(
        selector=product_list, model=Product, required=False, allow_null=True
    )
    amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        required=False,
        allow_null=True,
        help_text=_("Defaults to quantity x unit price."),
    )

    class Meta:
        model = OrderLine
        fields = ("line_number", "product", "description", "quantity", "unit_price", "amount")
        read_only_fields = ("line_number",)


class OrderSerializer(serializers.ModelSerializer):
    """An order with its lines: created once, corrected only by a reversal."""

    url = serializers.HyperlinkedIdentityField(view_name="api:order-detail")
    display = serializers.CharField(source="__str__", read_only=True)
    customer = ScopedPrimaryKeyRelatedField(selector=customer_list, model=Customer)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    ordered_at = DateTimeField(required=False, help_text=_("When it was ordered (default: now)."))
    lines = OrderLineSerializer(many=True)
    reversed_by = serializers.SerializerMethodField(
        help_text=_("The reversal that corrects this order, if any.")
    )

    class Meta:
        model = Order
        fields = (
            "id", "url", "display", "external_id", "customer", "customer_name", "ordered_at",
            "channel", "currency", "kind", "total_amount", "reverses", "reversed_by", "lines",
            "created_at", "created_by",
        )  # fmt: skip
        read_only_fields = ("kind", "total_amount", "reverses", "created_at", "created_by")

    def get_reversed_by(self, order: Order) -> int | None:
        reversal = getattr(order, "reversed_by", None)
        return reversal.pk if reversal is not None else None

    def validate_lines(self, lines: list[dict[str, object]]) -> list[dict[str, object]]:
        if not lines:
            raise serializers.ValidationError(_("An order needs at least one line."))
        return lines


class OrderReverseSerializer(serializers.Serializer):
    """Input of ``POST /api/orders/{id}/reverse/``."""

    reason = serializers.CharField(max_length=500, help_text=_("Why the order is reversed."))
