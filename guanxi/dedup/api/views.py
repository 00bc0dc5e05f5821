"""API of duplicates and merges: thin, over the dedup selectors and services."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from guanxi.core.api.viewsets import ScopedViewSet
from guanxi.dedup import selectors, services
from guanxi.dedup.api.serializers import (
    DuplicateGroupSerializer,
    MergeCreateSerializer,
    MergeRecordSerializer,
)
from guanxi.dedup.models import MergeKind, MergeRecord


class DuplicateViewSet(ScopedViewSet):
    """``GET /api/duplicates/customers/`` and ``/contacts/``: likely duplicate groups.

    Computed over the records the user may see, so both sides of each group are visible.
    """

    permission_object_type = "customer"
    action_permissions = {"customers": "view", "contacts": "view"}
    serializer_class = DuplicateGroupSerializer
    filter_backends = ()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Contact duplicates need the contact view permission (RolePermission reads this).
        if self.action == "contacts":
            self.permission_object_type = "contact"
        super().initial(request, *args, **kwargs)

    def _groups(self, kind: str) -> Response:
        groups = selectors.duplicate_groups(user=self.request.user, kind=kind)
        page: list[Any] | None = self.paginate_queryset(groups)  # type: ignore[arg-type]
        shown = page if page is not None else groups
        ids = [pk for group in shown for pk in group.ids]
        records = selectors.scoped_records(user=self.request.user, kind=kind).in_bulk(ids)
        data = DuplicateGroupSerializer(shown, many=True, context={"records": records}).data
        if page is None:
            return Response(data)
        return self.get_paginated_response(data)

    @extend_schema(responses=DuplicateGroupSerializer(many=True))
    @action(detail=False, methods=["get"])
    def customers(self, request: Request) -> Response:
        """Groups of likely duplicate customers, best score first."""
        return self._groups(MergeKind.CUSTOMER)

    @extend_schema(responses=DuplicateGroupSerializer(many=True))
    @action(detail=False, methods=["get"])
    def contacts(self, request: Request) -> Response:
        """Groups of likely duplicate contacts, best score first."""
        return self._groups(MergeKind.CONTACT)


class MergeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Merges: list, retrieve, ``POST`` to merge, ``POST {id}/undo/`` to undo.

    Every record named must be visible to the user (else 404); the service then requires
    ``change`` on the survivor and ``delete`` on the others (else 403), all or nothing.
    """

    permission_object_type = "customer"
    action_permissions = {"create": "change", "undo": "change"}
    queryset = MergeRecord.objects.none()
    serializer_class = MergeRecordSerializer
    filter_backends = ()

    def get_queryset(self) -> QuerySet[MergeRecord]:
        return selectors.merge_list(user=self.request.user)

    @extend_schema(request=MergeCreateSerializer, responses={201: MergeRecordSerializer})
    def create(self, request: Request) -> Response:
        """Merge ``others`` into ``survivor``, choosing values field by field."""
        data = MergeCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values: dict[str, Any] = data.validated_data
        kind = values["kind"]
        ids = [values["survivor"], *values["others"]]
        found = selectors.scoped_records(user=request.user, kind=kind).in_bulk(ids)
        if len(found) != len(set(ids)):
            raise NotFound()
        merge = services.customer_merge if kind == MergeKind.CUSTOMER else services.contact_merge
        record = merge(
            actor=request.user,
            survivor=found[values["survivor"]],
            others=[found[pk] for pk in values["others"]],
            field_choices=values["field_choices"],
        )
        return Response(MergeRecordSerializer(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=MergeRecordSerializer)
    @action(detail=True, methods=["post"])
    def undo(self, request: Request, pk: Any = None) -> Response:
        """Undo the merge; refused (400, saying why) when a later change makes it unsafe."""
        merge = services.merge_undo(actor=request.user, merge=self.get_object())
        return Response(MergeRecordSerializer(merge).data)
