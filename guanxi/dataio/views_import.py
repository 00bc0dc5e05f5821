"""Web UI of the import: upload, preview with the proposed mapping, dry run, run, report.

The file is kept under ``$GUANXI_HOME/imports/<token>/`` between the preview and the run
(the token is random and bound to the user's session). Files up to
``IMPORT_IN_REQUEST_BYTES`` run in the request; larger ones are refused with the CLI
command to use (it shows a progress bar and resumes if interrupted).
"""

from __future__ import annotations

import csv
import secrets
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from .formulas import neutralise
from .importing import ImportRefused, inspect_file, run_import
from .importing.mapping import SYNONYMS, describe
from .importing.selectors import import_kinds, import_mapping_list, import_run_get, import_run_list
from .importing.services import import_mapping_save
from .models import ImportKind, ImportRun

#: Largest upload imported within the web request (about 20,000 rows of a typical file).
IMPORT_IN_REQUEST_BYTES = 4 * 1024 * 1024
_SESSION_KEY = "guanxi_import_files"


def _upload_dir() -> Path:
    return Path(settings.GUANXI_HOME) / "imports"


def _file_for(request: HttpRequest, token: str) -> Path:
    """The uploaded file of ``token`` if this session uploaded it (else 404)."""
    files = request.session.get(_SESSION_KEY, {})
    if token not in files:
        raise Http404
    path = _upload_dir() / token / files[token]
    if not path.exists():
        raise Http404
    return path


class ImportHomeView(LoginRequiredMixin, View):
    """Upload form and the list of past runs."""

    def get(self, request: HttpRequest) -> HttpResponse:
        kinds = import_kinds(user=request.user)
        runs = import_run_list(user=request.user)[:50]
        choices = [(k, label) for k, label in ImportKind.choices if k in kinds]
        return TemplateResponse(
            request, "dataio/import_home.html", {"kinds": choices, "runs": runs}
        )

    def post(self, request: HttpRequest) -> HttpResponseBase:
        kind = request.POST.get("kind", "")
        upload = request.FILES.get("file")
        if kind not in import_kinds(user=request.user):
            raise PermissionDenied(_("Your role may not import this kind of record."))
        if upload is None:
            messages.error(request, _("Choose a CSV or XLSX file."))
            return HttpResponseRedirect(reverse("data_import"))
        token = secrets.token_urlsafe(16)
        name = Path(upload.name or "upload.csv").name[-100:]
        folder = _upload_dir() / token
        folder.mkdir(parents=True)
        with (folder / name).open("wb") as target:
            for chunk in upload.chunks():
                target.write(chunk)
        files = request.session.get(_SESSION_KEY, {})
        files[token] = name
        request.session[_SESSION_KEY] = files
        return HttpResponseRedirect(reverse("data_import_preview", args=[token]) + f"?kind={kind}")


def _overrides(request: HttpRequest, headers: list[str]) -> dict[str, str]:
    result = {}
    for index, header in enumerate(headers):
        value = request.POST.get(f"map-{index}")
        if value is not None:
            result[header] = value
    return result


class ImportPreviewView(LoginRequiredMixin, View):
    """First rows, detected encoding, proposed mapping (editable); dry run or run."""

    def context(
        self, request: HttpRequest, token: str, overrides: dict[str, str] | None = None
    ) -> dict[str, Any]:
        path = _file_for(request, token)
        kind = request.GET.get("kind") or request.POST.get("kind", "")
        if kind not in import_kinds(user=request.user):
            raise PermissionDenied(_("Your role may not import this kind of record."))
        encoding = request.POST.get("encoding") or request.GET.get("encoding") or None
        mapping_name = request.POST.get("mapping") or request.GET.get("mapping") or None
        table, mapping, rows = inspect_file(
            path, kind, user=request.user, encoding=encoding, mapping_name=mapping_name,
            overrides=overrides,
        )  # fmt: skip
        columns = [
            {"index": i, "header": h, "field": mapping.by_header.get(h, "")}
            for i, h in enumerate(table.headers)
        ]
        return {
            "token": token,
            "kind": kind,
            "file_name": path.name,
            "file_size": path.stat().st_size,
            "table": table,
            "columns": columns,
            "fields": list(SYNONYMS[kind]),
            "rows": [cells for _n, cells, _bad in rows],
            "notes": describe(mapping),
            "mapping_names": import_mapping_list(user=request.user, kind=kind),
            "encoding": encoding or "",
            "mapping_name": mapping_name or "",
            "too_big": path.stat().st_size > IMPORT_IN_REQUEST_BYTES,
        }

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            context = self.context(request, token)
        except ImportRefused as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(reverse("data_import"))
        return TemplateResponse(request, "dataio/import_preview.html", context)

    def post(self, request: HttpRequest, token: str) -> HttpResponseBase:
        path = _file_for(request, token)
        try:
            headers = self.context(request, token)["table"].headers
            overrides = _overrides(request, headers)
            context = self.context(request, token, overrides)
        except ImportRefused as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(reverse("data_import"))
        action = request.POST.get("action", "preview")
        if action == "save":
            try:
                import_mapping_save(
                    actor=request.user, kind=context["kind"],
                    name=request.POST.get("save_name", ""), columns=overrides,
                    shared=bool(request.POST.get("shared")),
                )  # fmt: skip
                messages.success(request, _("The mapping is saved."))
            except ValidationError as exc:
                for message in exc.messages:
                    messages.error(request, message)
            return TemplateResponse(request, "dataio/import_preview.html", context)
        if action not in {"dry_run", "run"}:
            return TemplateResponse(request, "dataio/import_preview.html", context)
        if context["too_big"]:
            messages.error(
                request,
                _("This file is too large to import in the browser; run: %(cmd)s")
                % {"cmd": f"guanxi import {context['kind']} {path.name}"},
            )
            return TemplateResponse(request, "dataio/import_preview.html", context)
        try:
            run = run_import(
                path, context["kind"], actor=request.user,
                encoding=context["encoding"] or None, overrides=overrides,
                dry_run=action == "dry_run",
                all_or_nothing=bool(request.POST.get("all_or_nothing")),
                file_name=path.name,
            )  # fmt: skip
        except ImportRefused as exc:
            messages.error(request, str(exc))
            return TemplateResponse(request, "dataio/import_preview.html", context)
        if action == "run":
            shutil.rmtree(path.parent, ignore_errors=True)
        return HttpResponseRedirect(reverse("data_import_run", args=[run.pk]))


class ImportRunView(LoginRequiredMixin, View):
    """The report of one run: counts, errors with row and column."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            run = import_run_get(user=request.user, pk=pk)
        except ImportRun.DoesNotExist as exc:
            raise Http404 from exc
        return TemplateResponse(
            request,
            "dataio/import_run.html",
            {"run": run, "errors": run.errors.all()[:500], "error_count": run.errors.count()},
        )


class ImportErrorsCsvView(LoginRequiredMixin, View):
    """Every stored error of a run as a CSV (row, column, value, message)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            run = import_run_get(user=request.user, pk=pk)
        except ImportRun.DoesNotExist as exc:
            raise Http404 from exc
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{run.pk}-errors.csv"'
        response.write("\ufeff")  # Excel opens UTF-8 with a BOM correctly
        writer = csv.writer(response)
        writer.writerow([_("row"), _("column"), _("value"), _("message")])
        for error in run.errors.all().iterator():
            writer.writerow(
                [error.row, error.column, neutralise(error.value), neutralise(error.message)]
            )
        return response
