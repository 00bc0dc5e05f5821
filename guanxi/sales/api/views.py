"""API viewsets of the catalogue and the orders.

Reads come from :mod:`guanxi.sales.selectors`, writes from :mod:`guanxi.sales.services`.
Orders are facts: no update or delete route exists (405); a mistake is reversed.
"""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from guanxi.core.api.viewsets import ScopedViewSet
from guanxi.sales import selectors, services
from guanxi.sales.api.serializers import (
    OrderReverseSerializer,
    OrderSerializer,
    ProductSerializer,
)
from guanxi.sales.filtersets import OrderFilterSet, ProductFilterSet
from guanxi.sales.models import Order, Product


class ProductViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedViewSet,
):
    """The product catalogue: list, read, add and change (no delete: set is_active)."""

    permission_object_type = "product"
    queryset = Product.objects.none()
    serializer_class = ProductSerializer
    filterset_class = ProductFilterSet
    ordering_fields = ("id", "sku", "name", "category", "list_price", "updated_at")
    search_fields = ("sku", "name", "category")

    def get_queryset(self) -> QuerySet[Product]:
        return selectors.product_list(user=self.request.user)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.product_create(
            actor=self.request.user, data=serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.product_update(
            actor=self.request.user,
            product=cast(Product, serializer.instance),
            data=serializer.validated_data,
        )


class OrderViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ScopedViewSet
):
    """Orders: list, read, record (with lines) and reverse; never edited or deleted."""

    permission_object_type = "order"
    action_permissions = {"reverse": "reverse"}
    queryset = Order.objects.none()
    serializer_class = OrderSerializer
    filterset_class = OrderFilterSet
    ordering_fields = ("id", "ordered_at", "total_amount", "external_id")
    search_fields = ("external_id", "customer__name")

    def get_queryset(self) -> QuerySet[Order]:
        return (
            selectors.order_list(user=self.request.user)
            .select_related("reversed_by")
            .prefetch_related("lines")
        )

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        lines = [
            {key: value for key, value in line.items() if key != "amount" or value is not None}
            for line in data.pop("lines")
        ]
        serializer.instance = services.order_create(actor=self.request.user, data=data, lines=lines)

    @extend_schema(request=OrderReverseSerializer, responses={201: OrderSerializer})
    @action(detail=True, methods=["post"], serializer_class=OrderReverseSerializer)
    def reverse(self, request: Request, pk: Any = None) -> Response:
        """Correct an order by recording its reversal (negated lines); the original stays."""
        order = self.get_object()
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        reversal = services.order_reverse(
            actor=request.user, order=order, reason=data.validated_data["reason"]
        )
        return Response(
            OrderSerializer(reversal, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )
