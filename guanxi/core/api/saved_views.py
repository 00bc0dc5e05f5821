"""API of the shell: the user's saved list views and the global search.

``/api/saved-views/`` lists the views the user may apply (their own and their team's shared
ones) and saves new ones; ``/api/saved-views/<id>/`` reads or deletes one (only its owner
deletes). ``/api/search/?q=`` is the navbar search: records the user may see, by kind.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from guanxi.core.models import SavedView
from guanxi.core.search import global_search
from guanxi.core.selectors import saved_view_list
from guanxi.core.services import saved_view_delete, saved_view_save


def list_columns_of(list_key: str) -> list[str] | None:
    """The columns of the web list named ``list_key``; None when there is no such list."""
    try:
        view_class = resolve(reverse(list_key)).func.view_class  # type: ignore[attr-defined]
    except (NoReverseMatch, Resolver404, AttributeError):
        return None
    table = getattr(view_class, "table_class", None)
    return table.column_names() if table is not None else None


class SavedViewSerializer(serializers.ModelSerializer):
    """A saved list view: filters and sort (``query``), columns, shared with the team or not."""

    owner = serializers.CharField(source="user.username", read_only=True)
    mine = serializers.SerializerMethodField(help_text=_("Whether the requesting user saved it."))
    columns = serializers.ListField(child=serializers.CharField(), required=False)

    class Meta:
        model = SavedView
        fields = (
            "id", "list_key", "name", "query", "columns", "shared", "owner", "mine",
            "created_at", "updated_at",
        )  # fmt: skip
        read_only_fields = ("id", "owner", "mine", "created_at", "updated_at")

    def get_mine(self, obj: SavedView) -> bool:
        return bool(obj.user_id == self.context["request"].user.pk)


def _raise_drf(error: DjangoValidationError) -> None:
    detail: Any = error.message_dict if hasattr(error, "error_dict") else error.messages
    raise ValidationError(detail) from error


class SavedViewListView(generics.ListCreateAPIView):
    """Saved views the user may apply (``?list_key=customer_list`` narrows); POST saves one."""

    serializer_class = SavedViewSerializer

    def get_queryset(self) -> Any:
        key = self.request.query_params.get("list_key")
        return saved_view_list(user=self.request.user, list_key=key or None)

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        allowed = list_columns_of(data["list_key"])
        if allowed is None:
            raise ValidationError({"list_key": [_("There is no list of this name.")]})
        try:
            serializer.instance = saved_view_save(
                actor=self.request.user,
                list_key=data["list_key"],
                name=data["name"],
                query=data.get("query", ""),
                columns=data.get("columns", []),
                shared=data.get("shared", False),
                allowed_columns=allowed,
            )
        except DjangoValidationError as error:
            _raise_drf(error)


class SavedViewDetailView(generics.RetrieveDestroyAPIView):
    """One saved view the user may apply; DELETE by the user who saved it."""

    serializer_class = SavedViewSerializer

    def get_queryset(self) -> Any:
        return saved_view_list(user=self.request.user)

    def perform_destroy(self, instance: SavedView) -> None:
        try:
            saved_view_delete(actor=self.request.user, view=instance)
        except DjangoPermissionDenied as error:
            raise PermissionDenied(str(error)) from error


class SearchHitSerializer(serializers.Serializer):
    title = serializers.CharField()
    detail = serializers.CharField()
    url = serializers.CharField()


class SearchGroupSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    hits = SearchHitSerializer(many=True)
    more = serializers.BooleanField()


class SearchView(APIView):
    """Customers, contacts and orders the user may see matching ``q``, grouped by kind."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q", str, description="Name prefix, phone, email, external id or order number."
            ),
            OpenApiParameter("limit", int, description="Hits per kind (1-50, default 10)."),
        ],
        responses=SearchGroupSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        try:
            limit = int(request.query_params.get("limit") or 10)
        except ValueError:
            limit = 0
        if not 1 <= limit <= 50:
            raise ValidationError({"limit": [_("Give a whole number from 1 to 50.")]})
        groups = global_search(
            user=request.user, text=request.query_params.get("q", ""), limit=limit
        )
        return Response(SearchGroupSerializer(groups, many=True).data, status=status.HTTP_200_OK)
