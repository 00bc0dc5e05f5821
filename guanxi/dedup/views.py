"""Duplicate and merge pages: likely duplicates, the field-by-field merge, merges and undo.

Records come from permission-scoped selectors (a record the user may not see is a 404);
merges and undo go through :mod:`guanxi.dedup.services`, whose ``ValidationError`` is shown
on the page and whose ``PermissionDenied`` answers 403 with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from guanxi.core.permissions import Action, has_permission
from guanxi.core.tables import display_value
from guanxi.core.views import DetailPanel, is_allowed, register_detail_panel
from guanxi.customers.models import Customer

from . import selectors, services
from .models import MergeKind, MergeRecord


def _kind(value: str | None) -> str:
    if value not in MergeKind.values:
        raise Http404(_("Unknown kind of record."))
    return str(value)


def _object_type(kind: str) -> str:
    return "contact" if kind == MergeKind.CONTACT else "customer"


# --- Likely duplicates ----------------------------------------------------------------------


class DuplicateListView(LoginRequiredMixin, View):
    """Groups of likely duplicates among the records the user may see, best score first."""

    paginate_by = 20

    def get(self, request: HttpRequest) -> HttpResponse:
        kind = _kind(request.GET.get("kind") or MergeKind.CUSTOMER)
        if not has_permission(request.user, _object_type(kind), Action.VIEW):
            raise PermissionDenied(_("You may not view these records."))
        groups = selectors.duplicate_groups(user=request.user, kind=kind)
        page = Paginator(groups, self.paginate_by).get_page(request.GET.get("page"))
        ids = [pk for group in page.object_list for pk in group.ids]
        records = selectors.scoped_records(user=request.user, kind=kind).in_bulk(ids)
        rows = [
            {
                "group": group,
                "percent": round(group.score * 100),
                "records": [records[pk] for pk in group.ids if pk in records],
                "merge_url": reverse("duplicate_merge", args=[kind])
                + "?ids="
                + ",".join(str(pk) for pk in group.ids),
            }
            for group in page.object_list
        ]
        may_merge = has_permission(request.user, _object_type(kind), Action.DELETE)
        context = {
            "kind": kind,
            "kinds": MergeKind.choices,
            "page": page,
            "rows": rows,
            "may_merge": may_merge,
            "group_count": len(groups),
        }
        return TemplateResponse(request, "dedup/duplicate_list.html", context)


# --- Merge ----------------------------------------------------------------------------------


@dataclass
class FieldRow:
    """One field that differs between the records: its label and each record's value."""

    name: str
    label: str
    values: list[tuple[int, Any]]
    default: int | str


def _field_rows(kind: str, records: list[Any]) -> list[FieldRow]:
    """The fields whose values differ, each with the record whose value wins by default."""
    model = type(records[0])
    rows: list[FieldRow] = []
    for name in services.mergeable_fields(kind):
        field: Any = model._meta.get_field(name)
        raw = [getattr(r, field.attname) for r in records]
        if len({repr(v) for v in raw}) < 2:
            continue
        default = next((r.pk for r, v in zip(records, raw, strict=True) if v not in ("", None)), 0)
        rows.append(
            FieldRow(
                name,
                str(field.verbose_name),
                [(r.pk, display_value(r, name)) for r in records],
                default or records[0].pk,
            )
        )
    if kind == MergeKind.CUSTOMER:
        keys = sorted({k for r in records for k in (r.custom_fields or {})})
        for key in keys:
            raw = [(r.custom_fields or {}).get(key) for r in records]
            if len({repr(v) for v in raw}) < 2:
                continue
            default = next(
                (r.pk for r, v in zip(records, raw, strict=True) if v not in ("", None)), 0
            )
            rows.append(
                FieldRow(
                    f"custom_fields.{key}",
                    key,
                    [
                        (r.pk, v if v not in (None, "") else "—")
                        for r, v in zip(records, raw, strict=True)
                    ],
                    default,
                )
            )
    if len({r.notes for r in records}) > 1:
        rows.append(
            FieldRow(
                "notes",
                _("notes"),
                [(r.pk, r.notes or "—") for r in records],
                "",  # "" = combine all notes
            )
        )
    return rows


class MergeView(LoginRequiredMixin, View):
    """Choose the survivor and the winning value of each differing field, confirm, merge.

    ``?ids=1,2,3`` names the records; the first POST shows what will move (counts), the
    second (with ``confirm``) merges.
    """

    def records(self, request: HttpRequest, kind: str) -> list[Any]:
        source = request.POST if request.method == "POST" else request.GET
        raw = source.get("ids", "")
        try:
            ids = list(dict.fromkeys(int(x) for x in raw.split(",") if x.strip()))
        except ValueError as error:
            raise Http404(_("Unknown record.")) from error
        if len(ids) < 2:
            raise Http404(_("Choose at least two records to merge."))
        found = selectors.scoped_records(user=request.user, kind=kind).in_bulk(ids)
        if len(found) != len(ids):
            raise Http404(_("Unknown record."))
        return [found[pk] for pk in ids]

    def context(self, kind: str, records: list[Any], **extra: Any) -> dict[str, Any]:
        return {
            "kind": kind,
            "records": records,
            "ids": ",".join(str(r.pk) for r in records),
            "rows": _field_rows(kind, records),
            "model_name_plural": type(records[0])._meta.verbose_name_plural,
            **extra,
        }

    def get(self, request: HttpRequest, kind: str) -> HttpResponse:
        kind = _kind(kind)
        records = self.records(request, kind)
        context = self.context(kind, records, survivor=records[0].pk, choices={})
        return TemplateResponse(request, "dedup/merge_form.html", context)

    def post(self, request: HttpRequest, kind: str) -> HttpResponseBase:
        kind = _kind(kind)
        records = self.records(request, kind)
        by_pk = {r.pk: r for r in records}
        try:
            survivor = by_pk[int(request.POST.get("survivor", ""))]
        except (KeyError, ValueError):
            survivor = records[0]
        others = [r for r in records if r.pk != survivor.pk]
        choices: dict[str, Any] = {}
        for row in _field_rows(kind, records):
            value = request.POST.get(f"field_{row.name}", "")
            if value:
                choices[row.name] = value
        if not request.POST.get("confirm"):
            preview = selectors.merge_preview(kind=kind, others=others)
            context = self.context(
                kind,
                records,
                survivor=survivor.pk,
                survivor_record=survivor,
                others=others,
                choices=choices,
                counts=preview.counts,
            )
            return TemplateResponse(request, "dedup/merge_confirm.html", context)
        merge = services.customer_merge if kind == MergeKind.CUSTOMER else services.contact_merge
        try:
            record = merge(
                actor=request.user, survivor=survivor, others=others, field_choices=choices
            )
        except (ValidationError, PermissionDenied) as error:
            status = 403 if isinstance(error, PermissionDenied) else 400
            errors = (
                [str(error)]
                if isinstance(error, PermissionDenied)
                else [
                    f"{name}: {'; '.join(texts)}" if name != "__all__" else "; ".join(texts)
                    for name, texts in _error_items(error)
                ]
            )
            context = self.context(
                kind, records, survivor=survivor.pk, choices=choices, errors=errors
            )
            return TemplateResponse(request, "dedup/merge_form.html", context, status=status)
        messages.success(
            request,
            _("Merged %(n)s records into %(survivor)s.") % {"n": len(others), "survivor": survivor},
        )
        return HttpResponseRedirect(reverse("merge_detail", args=[record.pk]))


def _error_items(error: ValidationError) -> list[tuple[str, list[str]]]:
    if hasattr(error, "error_dict"):
        return list(error.message_dict.items())
    return [("__all__", error.messages)]


# --- Merge records and undo -----------------------------------------------------------------


class MergeListView(LoginRequiredMixin, View):
    """Merges into records the user may see, newest first."""

    paginate_by = 25

    def get(self, request: HttpRequest) -> HttpResponse:
        merges = selectors.merge_list(user=request.user)
        page = Paginator(merges, self.paginate_by).get_page(request.GET.get("page"))
        return TemplateResponse(request, "dedup/merge_list.html", {"page": page})


def _survivor_url(merge: MergeRecord) -> str | None:
    if merge.kind == MergeKind.CUSTOMER and merge.survivor_customer_id:
        return reverse("customer_detail", args=[merge.survivor_customer_id])
    if merge.survivor_contact_id:
        return reverse("contact_detail", args=[merge.survivor_contact_id])
    return None


class MergeDetailView(LoginRequiredMixin, View):
    """One merge: what it changed and moved, and the undo button (with why not, if unsafe)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        merge = get_object_or_404(selectors.merge_list(user=request.user), pk=pk)
        survivor = merge.survivor
        may_undo = survivor is not None and is_allowed(request.user, survivor, Action.CHANGE)
        state = merge.state or {}
        before, after = state.get("survivor_before", {}), state.get("survivor_after", {})
        model: Any = type(survivor) if survivor is not None else Customer
        changes = [
            (_label_of(model, k), before.get(k), after.get(k))
            for k in sorted(before.keys() | after.keys())
            if before.get(k) != after.get(k)
        ]
        context = {
            "merge": merge,
            "survivor_url": _survivor_url(merge),
            "others": list(zip(merge.other_ids, merge.other_names, strict=False)),
            "changes": changes,
            "counts": sorted((merge.counts or {}).items()),
            "may_undo": may_undo and not merge.is_undone,
            "problems": services.undo_problems(merge) if not merge.is_undone else [],
        }
        return TemplateResponse(request, "dedup/merge_detail.html", context)


def _label_of(model: type[models.Model], name: str) -> str:
    try:
        return str(getattr(model._meta.get_field(name), "verbose_name", name))
    except FieldDoesNotExist:  # tags and consent are not model fields
        return name.replace("_", " ")


class MergeUndoView(LoginRequiredMixin, View):
    """POST only: undo a merge; a refusal says why, on the merge page."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        merge = get_object_or_404(selectors.merge_list(user=request.user), pk=pk)
        try:
            services.merge_undo(actor=request.user, merge=merge)
        except ValidationError as error:
            for text in error.messages:
                messages.error(request, text)
        else:
            messages.success(request, _("The merge was undone."))
        return HttpResponseRedirect(reverse("merge_detail", args=[merge.pk]))


# --- A panel on the customer 360 ------------------------------------------------------------


def _customer_merges(request: HttpRequest, customer: Customer) -> dict[str, Any] | None:
    merges = list(selectors.merges_of_customer(user=request.user, customer=customer)[:10])
    if not merges:
        return None
    return {"merges": merges}


register_detail_panel(
    "customers.customer",
    DetailPanel("merges", "dedup/customer_merges_panel.html", _customer_merges, order=90),
)
