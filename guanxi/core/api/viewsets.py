"""Base viewset of the API: declarations of scope and role actions, thin helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters, mixins, serializers, viewsets
from rest_framework.response import Response

from guanxi.core.api.filters import OrderingFilter


class ScopedViewSet(viewsets.GenericViewSet):
    """A viewset over permission-scoped querysets.

    Subclasses declare ``permission_object_type`` (the :data:`ROLE_POLICY` key read by
    :class:`~guanxi.core.api.permissions.RolePermission`), map their extra actions to role
    actions in ``action_permissions``, take their querysets from selectors and write through
    services. A record outside the queryset answers 404.
    """

    permission_object_type: str | None = None
    action_permissions: dict[str, str] = {}
    lookup_value_regex = "[0-9]+"
    filter_backends: tuple[type[Any], ...] = (
        DjangoFilterBackend,  # filter sets scope their record choices (ScopedFilterSet)
        OrderingFilter,  # an unknown ordering field is a 400
        filters.SearchFilter,
    )

    def paginated_response(
        self, queryset: QuerySet[Any], serializer_class: type[serializers.BaseSerializer]
    ) -> Response:
        """A page of ``queryset`` rendered by ``serializer_class`` (for list-like actions)."""
        page = self.paginate_queryset(queryset)
        context = self.get_serializer_context()
        if page is None:
            return Response(serializer_class(queryset, many=True, context=context).data)
        return self.get_paginated_response(serializer_class(page, many=True, context=context).data)


@dataclass(frozen=True)
class WriteServices:
    """The service functions a viewset writes through: ``create(actor=, data=)``,
    ``update(actor=, <record>=, data=)`` and ``delete(actor=, <record>=)``, where
    ``record`` is the keyword that names the instance (``note``, ``task`` ...)."""

    create: Callable[..., Any]
    update: Callable[..., Any]
    delete: Callable[..., Any]
    record: str


class ServiceCRUDViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ScopedViewSet,
):
    """List, read, create, change and delete, every write through :attr:`write_services`."""

    write_services: ClassVar[WriteServices]

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = self.write_services.create(
            actor=self.request.user, data=serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = self.write_services.update(
            actor=self.request.user,
            data=serializer.validated_data,
            **{self.write_services.record: serializer.instance},
        )

    def perform_destroy(self, instance: Any) -> None:
        self.write_services.delete(
            actor=self.request.user, **{self.write_services.record: instance}
        )
