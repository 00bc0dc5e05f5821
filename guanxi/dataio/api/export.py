"""API of the export: ``GET /api/exports/<kind>/?format=csv|xlsx&<filters>`` as a file.

The same engine, scope, filters and audit as the web export
(:mod:`guanxi.dataio.exporting`); the list filters are those of the kind's API list
(``/api/customers/?province=...``). Errors (no export scope: 403; a bad filter or format:
400) answer JSON like the rest of the API.
"""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.viewsets import GenericViewSet

from guanxi.core.permissions import Action
from guanxi.dataio import exporting
from guanxi.dataio.exporting import CONTENT_TYPES, ExportFormat
from guanxi.dataio.views_export import export_response


class ExportViewSet(GenericViewSet):
    """Download a permission-scoped, filtered list as CSV (streamed) or XLSX.

    One subclass per kind (below), so that :class:`~guanxi.core.api.permissions.RolePermission`
    checks the role's *export* scope on that kind: none answers 403 before anything is read.
    """

    kind: ClassVar[str] = ""
    permission_object_type: str | None = None
    action_permissions: ClassVar[dict[str, str]] = {"list": Action.EXPORT}
    # ``format`` names the file format here, not a DRF renderer; errors are always JSON.
    renderer_classes = [JSONRenderer]
    pagination_class = None
    filter_backends = ()

    def perform_content_negotiation(
        self, request: Request, force: bool = False
    ) -> tuple[BaseRenderer, str]:
        renderer = JSONRenderer()
        return renderer, renderer.media_type

    def list(self, request: Request) -> Any:
        """The file; filters are the list's query parameters."""
        export = exporting.start_export(
            actor=request.user,
            kind=self.kind,
            format=request.query_params.get("format") or ExportFormat.CSV,
            params=request.query_params,
            source="api",
            request=request,
        )
        return export_response(export)


def _own_list() -> Any:
    # A function object of its own per kind: extend_schema annotates the function itself.
    def list(self: ExportViewSet, request: Request) -> Any:
        return ExportViewSet.list(self, request)

    list.__doc__ = ExportViewSet.list.__doc__
    return list


def _viewset(kind: str) -> type[ExportViewSet]:
    spec = exporting.KINDS[kind]
    schema = extend_schema(
        operation_id=f"exports_{kind}",
        summary=f"Export {kind} as CSV or XLSX",
        description=(
            f"The {kind} the user may export (403 without export scope), filtered by the same "
            f"query parameters as /api/{kind}/. Columns are the import's column names; text "
            "that a spreadsheet would run as a formula is prefixed with a single quote."
        ),
        parameters=[
            OpenApiParameter(
                "format",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                enum=[f.value for f in ExportFormat],
                default=ExportFormat.CSV.value,
            ),
        ],
        responses={
            (200, CONTENT_TYPES[ExportFormat.CSV]): OpenApiResponse(OpenApiTypes.BINARY),
            (200, CONTENT_TYPES[ExportFormat.XLSX]): OpenApiResponse(OpenApiTypes.BINARY),
        },
    )
    name = f"{kind.capitalize()}ExportViewSet"
    attrs = {
        "kind": kind,
        "permission_object_type": spec.object_type,
        "__doc__": f"Download the {kind} the user may export as CSV or XLSX.",
        "__module__": __name__,
        "list": schema(_own_list()),
    }
    return type(name, (ExportViewSet,), attrs)


#: ``(prefix, viewset, basename)`` for the router in :mod:`guanxi.api_urls`.
export_routes: list[tuple[str, Any, str]] = [
    (f"exports/{kind}", _viewset(kind), f"export-{kind}") for kind in exporting.KINDS
]
