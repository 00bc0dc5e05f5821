"""API of the export: ``GET /api/exports/<kind>/?format=csv|xlsx&<filters>`` as a file.

The same engine, scope, filters and audit as the web export
(:mod:`guanxi.dataio.exporting`); the list filters are those of the kind's API list
(``/api/customers/?province=...``). Errors (no export scope: 403; a bad filter or format:
400) answer JSON like the rest of the API.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request

from guanxi.dataio import exporting
from guanxi.dataio.exporting import CONTENT_TYPES, ExportFormat
from guanxi.dataio.views_export import export_response

#: Regular expression of the ``kind`` path segment (only the exportable kinds route here).
KIND_PATTERN = "|".join(exporting.KINDS)


class ExportViewSet(viewsets.ViewSet):
    """Download a permission-scoped, filtered list as CSV (streamed) or XLSX."""

    # ``format`` names the file format here, not a DRF renderer; errors are always JSON.
    renderer_classes = [JSONRenderer]
    pagination_class = None

    def perform_content_negotiation(
        self, request: Request, force: bool = False
    ) -> tuple[BaseRenderer, str]:
        renderer = JSONRenderer()
        return renderer, renderer.media_type

    @extend_schema(
        operation_id="exports_retrieve",
        summary="Export a list as CSV or XLSX",
        description=(
            "Rows are those of the kind's list that the user may export (403 without export "
            "scope), filtered by the same query parameters as the list. Columns are the "
            "import's column names; text that a spreadsheet would run as a formula is "
            "prefixed with a single quote."
        ),
        parameters=[
            OpenApiParameter(
                "kind", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(exporting.KINDS)
            ),
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
    def list(self, request: Request, kind: str) -> Any:
        """The file; filters are the list's query parameters."""
        export = exporting.start_export(
            actor=request.user,
            kind=kind,
            format=request.query_params.get("format") or ExportFormat.CSV,
            params=request.query_params,
            source="api",
            request=request,
        )
        return export_response(export)


#: ``(prefix, viewset, basename)`` for the router in :mod:`guanxi.api_urls`.
export_routes: list[tuple[str, Any, str]] = [
    (f"exports/(?P<kind>{KIND_PATTERN})", ExportViewSet, "export"),
]
