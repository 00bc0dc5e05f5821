"""Base viewset of the API: declarations of scope and role actions, thin helpers."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters, serializers, viewsets
from rest_framework.response import Response


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
        filters.OrderingFilter,
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
