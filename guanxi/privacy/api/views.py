"""API view of the privacy erase (lives here: privacy sits above the domain apps)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from guanxi.core.api.viewsets import ScopedViewSet
from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_list
from guanxi.privacy.api.serializers import CustomerEraseSerializer, ErasureRecordSerializer
from guanxi.privacy.services import customer_erase


class CustomerEraseViewSet(ScopedViewSet):
    """``POST /api/customers/{id}/erase/``: remove a customer's personal data everywhere."""

    permission_object_type = "customer"
    action_permissions = {"erase": "erase"}
    queryset = Customer.objects.none()
    serializer_class = CustomerEraseSerializer
    filter_backends = ()

    def get_queryset(self) -> QuerySet[Customer]:
        return customer_list(user=self.request.user)

    @extend_schema(request=CustomerEraseSerializer, responses={200: ErasureRecordSerializer})
    @action(detail=True, methods=["post"])
    def erase(self, request: Request, pk: Any = None) -> Response:
        """Privacy erase: orders stay as anonymous facts; a receipt proves the erasure."""
        customer = self.get_object()
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        receipt = customer_erase(
            actor=request.user, customer=customer, reason=data.validated_data["reason"]
        )
        return Response(ErasureRecordSerializer(receipt).data, status=status.HTTP_200_OK)
