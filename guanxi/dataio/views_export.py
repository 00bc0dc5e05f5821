"""Web UI of the export: download the list a user sees (with its filters) as CSV or XLSX.

The list pages link here (``ObjectListView`` shows an *Export* menu when the role has export
scope on the kind); the export itself, its scope and its audit are in
:mod:`guanxi.dataio.exporting`. The API uses :func:`export_response` too.
"""

from __future__ import annotations

import tempfile
from typing import Any, ClassVar

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.views import View

from . import exporting
from .exporting import Export, ExportFormat


def export_response(export: Export) -> HttpResponseBase:
    """The file of a prepared export as a download.

    CSV streams row by row as it is read from the database; XLSX is written to a temporary
    file first (a zip archive cannot be streamed before it is complete) and then sent from
    disk, so neither holds the rows in memory.
    """
    if export.format is ExportFormat.CSV:
        response: HttpResponseBase = StreamingHttpResponse(
            export.iter_csv(), content_type=export.content_type
        )
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    else:
        target = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
        try:
            export.write_xlsx(target)
        except BaseException:
            target.close()
            raise
        target.seek(0)
        response = FileResponse(
            target, as_attachment=True, filename=export.filename, content_type=export.content_type
        )
    response["Cache-Control"] = "no-store"  # customer data: never kept by a cache
    response["X-Content-Type-Options"] = "nosniff"
    return response


class ExportView(LoginRequiredMixin, View):
    """``GET /data/export/<kind>/?format=csv|xlsx&<list filters>``: the filtered list as a file.

    No export scope answers 403; a filter that is not valid sends the user back to the list
    with the reason.
    """

    def get(self, request: HttpRequest, kind: str) -> HttpResponseBase:
        try:
            export = exporting.start_export(
                actor=request.user,
                kind=kind,
                format=request.GET.get("format") or ExportFormat.CSV,
                params=request.GET,
                source="web",
                request=request,
            )
            return export_response(export)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return HttpResponseRedirect(_list_url(kind, request))


def _list_url(kind: str, request: HttpRequest) -> str:
    """The list page the export came from, with its filters (the home page if unknown)."""
    spec = exporting.KINDS.get(kind)
    try:
        url = reverse(f"{spec.object_type}_list") if spec else reverse("home")
    except NoReverseMatch:
        url = "/"
    params = request.GET.copy()
    params.pop("format", None)
    return f"{url}?{params.urlencode()}" if params else url


class ExportHistoryView(LoginRequiredMixin, View):
    """The exports made: everybody's for administrators, one's own for everybody else."""

    template_name: ClassVar[str] = "dataio/export_history.html"
    paginate_by: ClassVar[int] = 50

    def get(self, request: HttpRequest) -> TemplateResponse:
        records = exporting.export_record_list(user=request.user)
        page = Paginator(records, self.paginate_by).get_page(request.GET.get("page"))
        context: dict[str, Any] = {"page": page, "records": page.object_list}
        return TemplateResponse(request, self.template_name, context)
