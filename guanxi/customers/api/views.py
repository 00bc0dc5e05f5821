"""API viewsets of the customer database and the change log.

Reads come from :mod:`guanxi.customers.selectors` (a record outside the user's scope is a
404), writes from :mod:`guanxi.customers.services` (which check the scope and log the
change); these classes only route, validate and render.
"""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from guanxi.core.api.filtersets import ChangeRecordFilterSet
from guanxi.core.api.serializers import ChangeRecordSerializer
from guanxi.core.api.viewsets import ScopedViewSet, ServiceCRUDViewSet, WriteServices
from guanxi.core.models import ChangeRecord
from guanxi.customers import selectors, services
from guanxi.customers.api.filtersets import CustomerFilterSet
from guanxi.customers.api.serializers import (
    ContactSerializer,
    CustomerConsentChangeSerializer,
    CustomerConsentSerializer,
    CustomerSerializer,
)
from guanxi.customers.filtersets import ContactFilterSet
from guanxi.customers.models import Contact, Customer


class CustomerViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ScopedViewSet,
):
    """Customers: CRUD (DELETE moves to the trash), consent, history, trash and restore."""

    permission_object_type = "customer"
    action_permissions = {
        "restore": "restore",
        "trash": "restore",
        "history": "view",
        "consent": "change",
    }
    queryset = Customer.objects.none()  # schema hint; get_queryset() is the read path
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilterSet
    ordering_fields = ("id", "name", "created_at", "updated_at", "province", "city")
    search_fields = ("name", "email", "phone", "external_id")

    def get_queryset(self) -> QuerySet[Customer]:
        user = self.request.user
        if self.action in ("trash", "restore"):
            queryset = selectors.customer_trash(user=user)
        else:
            queryset = selectors.customer_list(user=user)
        return queryset.prefetch_related("tags", "consents")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        tags = data.pop("tags", None)
        serializer.instance = services.customer_create(
            actor=self.request.user, data=data, tags=tags
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        tags = data.pop("tags", None)
        serializer.instance = services.customer_update(
            actor=self.request.user,
            customer=cast(Customer, serializer.instance),
            data=data,
            tags=tags,
        )

    def perform_destroy(self, instance: Customer) -> None:
        services.customer_delete(actor=self.request.user, customer=instance)

    @extend_schema(request=CustomerConsentChangeSerializer, responses=CustomerConsentSerializer)
    @action(detail=True, methods=["post"], serializer_class=CustomerConsentChangeSerializer)
    def consent(self, request: Request, pk: Any = None) -> Response:
        """Record that the customer granted or refused contact on a channel, and how."""
        customer = self.get_object()
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        consent = services.customer_set_consent(
            actor=request.user, customer=customer, **data.validated_data
        )
        return Response(CustomerConsentSerializer(consent).data)

    @extend_schema(responses=ChangeRecordSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], serializer_class=ChangeRecordSerializer)
    def history(self, request: Request, pk: Any = None) -> Response:
        """The change log of the customer and of its contacts, orders and interactions."""
        customer = self.get_object()
        records = selectors.customer_history(user=request.user, customer=customer)
        return self.paginated_response(records, ChangeRecordSerializer)

    @extend_schema(responses=CustomerSerializer(many=True))
    @action(detail=False, methods=["get"])
    def trash(self, request: Request) -> Response:
        """Customers in the trash that you may restore."""
        return self.paginated_response(
            self.filter_queryset(self.get_queryset()), CustomerSerializer
        )

    @extend_schema(request=None, responses=CustomerSerializer)
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: Any = None) -> Response:
        """Bring a customer back from the trash, with the contacts deleted along with it."""
        customer = services.customer_restore(actor=request.user, customer=self.get_object())
        return Response(self.get_serializer(customer).data)


class ContactViewSet(ServiceCRUDViewSet):
    """Contacts: CRUD (DELETE moves to the trash), trash and restore."""

    permission_object_type = "contact"
    action_permissions = {"restore": "restore", "trash": "restore"}
    queryset = Contact.objects.none()
    serializer_class = ContactSerializer
    filterset_class = ContactFilterSet
    ordering_fields = ("id", "name", "created_at", "updated_at")
    search_fields = ("name", "email", "phone", "title")
    write_services = WriteServices(
        create=services.contact_create,
        update=services.contact_update,
        delete=services.contact_delete,
        record="contact",
    )

    def get_queryset(self) -> QuerySet[Contact]:
        user = self.request.user
        if self.action in ("trash", "restore"):
            return selectors.contact_trash(user=user).select_related("customer")
        return selectors.contact_list(user=user)

    @extend_schema(responses=ContactSerializer(many=True))
    @action(detail=False, methods=["get"])
    def trash(self, request: Request) -> Response:
        """Contacts in the trash that you may restore."""
        return self.paginated_response(self.filter_queryset(self.get_queryset()), ContactSerializer)

    @extend_schema(request=None, responses=ContactSerializer)
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: Any = None) -> Response:
        """Bring a contact back from the trash."""
        contact = services.contact_restore(actor=request.user, contact=self.get_object())
        return Response(self.get_serializer(contact).data, status=status.HTTP_200_OK)


class ChangeRecordViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The change log, read only: entries of the customers you can see (all for admins)."""

    permission_object_type = "customer"
    queryset = ChangeRecord.objects.none()
    serializer_class = ChangeRecordSerializer
    filterset_class = ChangeRecordFilterSet
    ordering_fields = ("time", "id")

    def get_queryset(self) -> QuerySet[ChangeRecord]:
        return selectors.change_record_list(user=self.request.user)
