"""Generic views of the web UI, declared per model (NetBox style), and the shell pages.

Every view takes its records from a selector (a permission-scoped queryset), so a record the
user may not see answers 404. An action the user may see but not perform (edit, delete,
reverse ...) answers 403 with the reason. Writes go through the app's service; its
``ValidationError`` is shown on the form fields and its ``PermissionDenied`` as a message.

A model's views are short declarations::

    class CustomerListView(ObjectListView):
        selector = selectors.customer_list
        filterset_class = CustomerFilterSet
        table_class = CustomerTable

Apps above ``core`` plug into the shell through small registries (home cards, trash
sections, panels on another model's detail page), so ``core`` never imports them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import (
    FieldDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
    ValidationError,
)
from django.core.paginator import Page, Paginator
from django.db import connections, models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.cache import patch_vary_headers
from django.utils.functional import Promise, cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.csrf import requires_csrf_token

from guanxi.core.forms import add_service_errors
from guanxi.core.models import ChangeRecord, SavedView
from guanxi.core.permissions import Action, ensure_allowed, ensure_may_create, has_permission
from guanxi.core.search import global_search
from guanxi.core.selectors import (
    list_columns,
    record_history,
    saved_view_get,
    saved_view_list,
)
from guanxi.core.services import (
    list_columns_reset,
    list_columns_set,
    saved_view_delete,
    saved_view_save,
)
from guanxi.core.tables import Table

Selector = Callable[..., QuerySet[Any]]

#: Id of the element the HTMX list requests swap (filter form, sort links, pager).
TABLE_TARGET = "object-table"


# --- Registries: how apps above core add to the shell without core importing them -------


@dataclass(frozen=True)
class HomeCard:
    """A count on the home page: records of ``object_type`` the user may see."""

    object_type: str
    label: str | Promise
    url_name: str
    count: Callable[[Any], int]
    order: int = 100


@dataclass(frozen=True)
class TrashSection:
    """One kind of record on the trash page, with the view that restores it."""

    object_type: str
    label: str | Promise
    queryset: Callable[[Any], QuerySet[Any]]
    restore_url_name: str
    describe: Callable[[Any], str] = str
    order: int = 100


@dataclass(frozen=True)
class DetailPanel:
    """A block another app adds to a model's detail page (orders on the customer 360)."""

    name: str
    template_name: str
    context: Callable[[HttpRequest, Any], dict[str, Any] | None]
    order: int = 100


HOME_CARDS: list[HomeCard] = []
TRASH_SECTIONS: list[TrashSection] = []
DETAIL_PANELS: dict[str, list[DetailPanel]] = {}


def register_home_card(card: HomeCard) -> None:
    """Add a count to the home page (idempotent per object type)."""
    if all(c.object_type != card.object_type for c in HOME_CARDS):
        HOME_CARDS.append(card)
        HOME_CARDS.sort(key=lambda c: c.order)


def register_trash_section(section: TrashSection) -> None:
    """Add a kind of record to the trash page (idempotent per object type)."""
    if all(s.object_type != section.object_type for s in TRASH_SECTIONS):
        TRASH_SECTIONS.append(section)
        TRASH_SECTIONS.sort(key=lambda s: s.order)


def register_detail_panel(model_label: str, panel: DetailPanel) -> None:
    """Add a panel to the detail page of ``model_label`` (``"customers.customer"``)."""
    panels = DETAIL_PANELS.setdefault(model_label, [])
    if all(p.name != panel.name for p in panels):
        panels.append(panel)
        panels.sort(key=lambda p: p.order)


# --- Helpers ------------------------------------------------------------------------------


def is_allowed(user: Any, obj: models.Model, action: str) -> bool:
    """Whether ``user`` may perform ``action`` on this very record (for showing buttons)."""
    try:
        ensure_allowed(user, obj, action)
    except PermissionDenied:
        return False
    return True


def safe_next(request: HttpRequest, default: str) -> str:
    """The ``next`` parameter when it points into this site, else ``default``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _model_label(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


class ObjectMixin(LoginRequiredMixin):
    """Finds the record of the URL through the view's selector (404 outside the user's scope).

    ``action`` is what the view does to it; a record the user may see but not act on
    raises ``PermissionDenied`` (403) with the service layer's message.
    """

    request: HttpRequest
    kwargs: dict[str, Any]
    model: ClassVar[type[models.Model]]
    selector: ClassVar[Selector]
    action: ClassVar[str] = Action.VIEW
    #: URL names of the model's pages; derived from the model name when left empty.
    url_prefix: ClassVar[str] = ""

    @classmethod
    def prefix(cls) -> str:
        return cls.url_prefix or str(cls.model._meta.model_name)

    def get_queryset(self) -> QuerySet[Any]:
        return type(self).selector(user=self.request.user)

    def get_object(self) -> Any:
        obj = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        if self.action != Action.VIEW:
            ensure_allowed(self.request.user, obj, self.action)
        return obj

    def base_context(self) -> dict[str, Any]:
        opts = self.model._meta
        return {
            "model_name": opts.verbose_name,
            "model_name_plural": opts.verbose_name_plural,
            "list_url": reverse(f"{self.prefix()}_list"),
            "object_type": getattr(self.model, "permission_object_type", opts.model_name),
        }


# --- List ---------------------------------------------------------------------------------


class CappedPaginator(Paginator):
    """A paginator that never counts a large result row by row.

    ``COUNT(*)`` over a million visible customers costs more than the page itself. On
    PostgreSQL the planner's estimate of the row count is read first (``EXPLAIN``, no rows
    read): when it says ``exact_below`` rows or more, the list shows "about N records" from
    the estimate. Otherwise (and on other databases) the rows are counted, at most ``cap``
    + 1 of them; above the cap the list says "more than 10,000". Either way the pager
    reaches at most ``cap`` rows deep (a filter finds the rest).
    """

    def __init__(
        self, object_list: Any, per_page: int, cap: int, exact_below: int | None = None
    ) -> None:
        super().__init__(object_list, per_page)
        self.cap = cap
        self.exact_below = exact_below
        self.estimated = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return super().count
        if self.exact_below is not None:
            estimate = planner_estimate(queryset)
            if estimate is not None and estimate >= self.exact_below:
                self.estimated = True
                return estimate
        # COUNT(*) over a LIMITed subquery: at most cap + 1 index entries are read.
        counted = queryset.order_by()[: self.cap + 1].count()
        return min(counted, self.cap + 1)

    @property
    def capped(self) -> bool:
        return not self.estimated and self.count > self.cap

    @property
    def num_pages(self) -> int:
        if self.count > self.cap:
            return max(1, self.cap // self.per_page)
        return super().num_pages


def planner_estimate(queryset: QuerySet[Any]) -> int | None:
    """PostgreSQL's estimate of the rows of ``queryset`` (None on other databases)."""
    if connections[queryset.db].vendor != "postgresql":
        return None
    if queryset.query.is_empty():  # e.g. a filter no visible record can match
        return 0
    text = queryset.order_by().values("pk").explain(format="json")
    try:
        plan = json.loads(text)
        return int(plan[0]["Plan"]["Plan Rows"])
    except (ValueError, LookupError, TypeError):
        # No plan (a query Django proved empty while compiling): count exactly instead.
        return None


def round_estimate(value: int) -> int:
    """An estimate to two significant digits (32,352 -> 32,000): it is not a count."""
    if value < 100:
        return value
    digits = len(str(value)) - 2
    return round(value, -digits)


@dataclass(frozen=True)
class BulkOutcome:
    """What a bulk action did: records changed, left as they were, and refused (with why)."""

    changed: int = 0
    unchanged: int = 0
    refused: tuple[str, ...] = ()


@dataclass(frozen=True)
class BulkAction:
    """An action on the selected rows of a list (or on every row matching the filter).

    ``action`` is the role action each record needs (``change``): the rows are narrowed to
    the records the user may do it to before ``perform`` runs, and ``perform`` writes each
    record through the app's service, which checks again and logs the change.
    ``form_class`` holds the action's input (the new owner, the tag); it is built with the
    requesting user as ``user=`` (to offer only what that user may choose).
    """

    name: str
    label: str | Promise
    action: str
    perform: Callable[[Any, QuerySet[Any], dict[str, Any]], BulkOutcome]
    form_class: Callable[..., forms.Form] | None = None


def list_key_of(view: type[ObjectListView]) -> str:
    """The name saved views and column choices of a list are kept under (its URL name, or
    the view's own ``list_key`` when several lists share one model's pages)."""
    return view.list_key or f"{view.prefix()}_list"


class ObjectListView(ObjectMixin, View):
    """Filter, sort and page a scoped queryset; choose columns, save views, act in bulk.

    A GET answers the page, or only the table for an HTMX request (filter form, sort links,
    pager). A POST changes the user's list settings or runs a bulk action and answers the
    updated table (HTMX) or redirects back to the list.
    """

    #: Where this list's saved views and columns are kept (:func:`list_key_of`); set it on a
    #: second list of the same model, so that each keeps its own.
    list_key: ClassVar[str] = ""

    filterset_class: ClassVar[Any] = None
    table_class: ClassVar[type[Table]]
    template_name: ClassVar[str] = "generic/object_list.html"
    partial_template_name: ClassVar[str] = "includes/table.html"
    paginate_by: ClassVar[int] = 25
    #: Rows counted at most; above it the list says "more than" (see CappedPaginator).
    count_cap: ClassVar[int] = 10_000
    #: From this planner estimate on (PostgreSQL), the list shows "about N" uncounted.
    estimate_from: ClassVar[int | None] = 1_000
    #: Most records one bulk action may change (each goes through the service and the log).
    bulk_limit: ClassVar[int] = 500
    #: Filters shown in the filter bar (all filters still apply when given in the URL).
    filter_fields: ClassVar[tuple[str, ...]] = ()
    #: Name of the export of this list (``/data/export/<kind>/``); default: plural object type.
    export_kind: ClassVar[str] = ""
    #: Bulk actions besides the export of the selection (which every exportable list has).
    bulk_actions: ClassVar[tuple[BulkAction, ...]] = ()

    # Reading --------------------------------------------------------------------------

    def get_filterset(self, queryset: QuerySet[Any]) -> Any:
        if self.filterset_class is None:
            return None
        return self.filterset_class(self.request.GET, queryset=queryset, request=self.request)

    def filtered(self, queryset: QuerySet[Any]) -> tuple[QuerySet[Any], Any]:
        """``queryset`` narrowed by the filters of the URL (none when they are not valid)."""
        filterset = self.get_filterset(queryset)
        if filterset is not None:
            queryset = filterset.qs if filterset.is_valid() else queryset.none()
        return queryset, filterset

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.render_list()

    def render_list(self, *, bulk_form: Any = None, status: int = 200) -> HttpResponse:
        request = self.request
        queryset, filterset = self.filtered(self.get_queryset())
        sort = request.GET.get("sort", "")
        queryset = self.table_class.order_queryset(queryset, sort)
        paginator = CappedPaginator(queryset, self.paginate_by, self.count_cap, self.estimate_from)
        page = paginator.get_page(request.GET.get("page"))
        key = list_key_of(type(self))
        saved_views = list(saved_view_list(user=request.user, list_key=key))
        applied = self.applied_view(saved_views)
        chosen = (applied.columns if applied and applied.columns else None) or list_columns(
            user=request.user, list_key=key
        )
        table = self.table_class(page.object_list, sort=sort, columns=chosen)
        actions = self.available_bulk_actions()
        context = {
            **self.base_context(),
            "filterset": filterset,
            "filter_form_fields": self.visible_filters(filterset),
            "carried_filters": self.carried_filters(filterset),
            "table": table,
            "page": page,
            "table_target": TABLE_TARGET,
            "add_url": self.add_url(),
            "export_url": self.export_url(),
            "list_path": request.path,
            "list_query": self.view_query(),
            "saved_views": saved_views,
            "applied_view": applied,
            "bulk_actions": [
                {
                    "name": a.name,
                    "label": a.label,
                    "form": (
                        bulk_form
                        if bulk_form is not None and bulk_form.prefix == a.name
                        else (
                            a.form_class(prefix=a.name, user=self.request.user)
                            if a.form_class
                            else None
                        )
                    ),
                }
                for a in actions
            ],
            "bulk_limit": self.bulk_limit,
            "estimated_count": round_estimate(paginator.count) if paginator.estimated else None,
            "is_partial": self.is_partial(),
            **self.extra_context(),
        }
        template = self.partial_template_name if self.is_partial() else self.template_name
        response = TemplateResponse(request, template, context, status=status)
        # The same URL answers a full page or a fragment; caches must keep them apart.
        patch_vary_headers(response, ["HX-Request"])
        return response

    def is_partial(self) -> bool:
        htmx = getattr(self.request, "htmx", None)
        return htmx is not None and bool(htmx) and not htmx.boosted

    def applied_view(self, saved_views: list[SavedView]) -> SavedView | None:
        """The saved view named by ``?view=`` when the user may apply it."""
        wanted = self.request.GET.get("view", "")
        return next((v for v in saved_views if str(v.pk) == wanted), None)

    def view_query(self) -> str:
        """The filters and sort of the current URL, as a saved view keeps them."""
        params = self.request.GET.copy()
        for name in ("page", "view"):
            params.pop(name, None)
        return params.urlencode()

    def visible_filters(self, filterset: Any) -> list[forms.BoundField]:
        if filterset is None:
            return []
        form = filterset.form
        if "q" in form.fields:
            # A search box: the filter form refreshes the table as the user types in it.
            form.fields["q"].widget.input_type = "search"
        names = self.filter_fields or tuple(n for n in form.fields if n != "id")
        return [form[name] for name in names if name in form.fields]

    def carried_filters(self, filterset: Any) -> list[tuple[forms.BoundField, str]]:
        """Filters in the URL that the filter bar does not show (a dashboard's drill-down),
        each with the query string without it: kept as hidden inputs and shown as removable
        chips, so that changing a visible filter narrows the drill-down instead of dropping it.
        """
        if filterset is None:
            return []
        form = filterset.form
        shown = {field.name for field in self.visible_filters(filterset)}
        carried = []
        for name in form.fields:
            if name in shown or name == "id" or self.request.GET.get(name, "") == "":
                continue
            rest = self.request.GET.copy()
            rest.pop(name, None)
            rest.pop("page", None)
            carried.append((form[name], f"?{rest.urlencode()}"))
        return carried

    def add_url(self) -> str | None:
        object_type = getattr(self.model, "permission_object_type", "")
        if object_type and has_permission(self.request.user, object_type, Action.ADD):
            try:
                return reverse(f"{self.prefix()}_add")
            except NoReverseMatch:  # a model without an add page
                return None
        return None

    def export_url(self) -> str | None:
        """Where the filtered list downloads as a file; None without export scope.

        Resolved by URL name so that core does not import the app that exports.
        """
        object_type = getattr(self.model, "permission_object_type", "")
        if not object_type or not has_permission(self.request.user, object_type, Action.EXPORT):
            return None
        try:
            return reverse("data_export", kwargs={"kind": self.export_kind or f"{object_type}s"})
        except NoReverseMatch:  # a list without an export
            return None

    def extra_context(self) -> dict[str, Any]:
        return {}

    # Writing: list settings and bulk actions -------------------------------------------

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        handlers: dict[str, Callable[[], HttpResponseBase | None]] = {
            "columns": self.post_columns,
            "save_view": self.post_save_view,
            "delete_view": self.post_delete_view,
            "bulk": self.post_bulk,
        }
        handler = handlers.get(request.POST.get("_action", ""))
        if handler is None:
            messages.error(request, _("Unknown list action."))
            return self.after_post()
        try:
            response = handler()
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, str(message))
            response = None
        except PermissionDenied as error:
            messages.error(request, str(error) or _("You may not do this."))
            response = None
        return response or self.after_post()

    def after_post(self) -> HttpResponseBase:
        """The updated table for HTMX (messages inside it), else back to the list."""
        if self.is_partial():
            return self.render_list()
        return HttpResponseRedirect(self.request.get_full_path())

    def post_columns(self) -> None:
        key = list_key_of(type(self))
        if self.request.POST.get("reset"):
            list_columns_reset(actor=self.request.user, list_key=key)
            return
        list_columns_set(
            actor=self.request.user,
            list_key=key,
            columns=self.request.POST.getlist("columns"),
            allowed=self.table_class.column_names(),
        )

    def post_save_view(self) -> None:
        key = list_key_of(type(self))
        data = self.request.POST
        columns = self.table_class.visible_names(
            data.getlist("columns") or list_columns(user=self.request.user, list_key=key)
        )
        view = saved_view_save(
            actor=self.request.user,
            list_key=key,
            name=data.get("name", ""),
            query=self.view_query(),
            columns=columns,
            shared=data.get("shared") in ("on", "true", "1"),
            allowed_columns=self.table_class.column_names(),
        )
        messages.success(self.request, _("Saved the view %(name)s.") % {"name": view.name})

    def post_delete_view(self) -> None:
        key = list_key_of(type(self))
        view = saved_view_get(
            user=self.request.user, pk=self.request.POST.get("view"), list_key=key
        )
        if view is None:
            raise ValidationError(_("This saved view does not exist."))
        saved_view_delete(actor=self.request.user, view=view)
        messages.success(self.request, _("Deleted the view %(name)s.") % {"name": view.name})

    def available_bulk_actions(self) -> list[BulkAction]:
        actions = [
            a for a in self.bulk_actions if has_permission(self.request.user, self.model, a.action)
        ]
        if self.export_url():
            actions.append(
                BulkAction("export", gettext_lazy("Export"), Action.EXPORT, _export_placeholder)
            )
        return actions

    def bulk_queryset(self, action: BulkAction) -> tuple[QuerySet[Any], int]:
        """The rows the action applies to, within the user's scope for the action.

        Returns the records the user may act on and how many of the selected rows they
        may see but not act on. "All matching" means every row of the current filter.
        """
        data = self.request.POST
        queryset, _filterset = self.filtered(self.get_queryset())
        if data.get("all_matching") != "1":
            ids = [int(i) for i in data.getlist("selected") if str(i).isdigit()]
            if not ids:
                raise ValidationError(_("Select at least one row."))
            queryset = queryset.filter(pk__in=ids)
        scoped: Any = queryset  # the selectors' querysets are ScopedQuerySets
        allowed = scoped.restrict(self.request.user, action.action)
        return allowed, queryset.count() - allowed.count()

    def post_bulk(self) -> HttpResponseBase | None:
        request = self.request
        name = request.POST.get("bulk", "")
        action = next((a for a in self.available_bulk_actions() if a.name == name), None)
        if action is None:
            raise ValidationError(_("Choose a bulk action."))
        if action.name == "export":
            return self.bulk_export()
        form = None
        cleaned: dict[str, Any] = {}
        if action.form_class is not None:
            form = action.form_class(request.POST, prefix=action.name, user=request.user)
            if not form.is_valid():
                for errors in form.errors.values():
                    for message in errors:
                        messages.error(request, str(message))
                return self.render_list(bulk_form=form) if self.is_partial() else None
            cleaned = form.cleaned_data
        queryset, out_of_scope = self.bulk_queryset(action)
        total = queryset.count()
        if total > self.bulk_limit:
            raise ValidationError(
                _(
                    "%(count)s records match; a bulk action changes at most %(limit)s. "
                    "Narrow the filter and try again."
                )
                % {"count": total, "limit": self.bulk_limit}
            )
        outcome = action.perform(request.user, queryset, cleaned)
        messages.success(
            request,
            _("%(label)s: %(changed)s changed, %(unchanged)s already so.")
            % {"label": action.label, "changed": outcome.changed, "unchanged": outcome.unchanged},
        )
        refused = len(outcome.refused) + out_of_scope
        if refused:
            messages.warning(
                request,
                _("%(count)s records were left unchanged: you may not change them.")
                % {"count": refused},
            )
        return None

    def bulk_export(self) -> HttpResponseBase:
        """Download the selected rows (or all matching) with the list's export."""
        export_url = self.export_url()
        if export_url is None:
            raise PermissionDenied(_("You may not export these records."))
        params = self.request.GET.copy()
        for name in ("page", "view", "sort"):
            params.pop(name, None)
        if self.request.POST.get("all_matching") != "1":
            ids = [i for i in self.request.POST.getlist("selected") if str(i).isdigit()]
            if not ids:
                raise ValidationError(_("Select at least one row."))
            params.setlist("id", [",".join(ids)])
        fmt = self.request.POST.get("export_format", "csv")
        params["format"] = fmt if fmt in ("csv", "xlsx") else "csv"
        url = f"{export_url}?{params.urlencode()}"
        if self.is_partial():
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return HttpResponseRedirect(url)


def _export_placeholder(user: Any, queryset: QuerySet[Any], data: dict[str, Any]) -> BulkOutcome:
    """The export is a download (``ObjectListView.bulk_export``), not a write."""
    return BulkOutcome()


# --- Detail -------------------------------------------------------------------------------


class ObjectDetailView(ObjectMixin, View):
    """One record with its attributes, the actions the user may take, and app panels."""

    template_name: ClassVar[str] = "generic/object_detail.html"
    #: Field paths shown in the generic attribute list.
    detail_fields: ClassVar[tuple[str, ...]] = ()
    #: Actions offered as buttons when the user may take them on this record.
    object_actions: ClassVar[tuple[str, ...]] = (Action.CHANGE, Action.DELETE)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        obj = self.get_object()
        context = {
            **self.base_context(),
            "object": obj,
            "detail_fields": self.detail_fields,
            "object_can": {a: is_allowed(request.user, obj, a) for a in self.object_actions},
            "panels": self.panels(obj),
            **self.extra_context(obj),
        }
        return TemplateResponse(request, self.template_name, context)

    def panels(self, obj: Any) -> list[dict[str, Any]]:
        rendered = []
        for panel in DETAIL_PANELS.get(_model_label(self.model), []):
            context = panel.context(self.request, obj)
            if context is not None:
                rendered.append({"name": panel.name, "template": panel.template_name, **context})
        return rendered

    def extra_context(self, obj: Any) -> dict[str, Any]:
        return {}


# --- Create and edit ----------------------------------------------------------------------


class ObjectEditView(ObjectMixin, View):
    """Create (no ``pk`` in the URL) or edit a record through a form and the app's service."""

    form_class: ClassVar[type[Any]]
    template_name: ClassVar[str] = "generic/object_edit.html"
    action = Action.CHANGE

    # Subclasses call their service here and return the saved record.
    def create(self, form: Any) -> Any:
        raise NotImplementedError

    def update(self, obj: Any, form: Any) -> Any:
        raise NotImplementedError

    def get_initial(self) -> dict[str, Any]:
        return {}

    def get_form(self, obj: Any, data: Any = None) -> Any:
        kwargs: dict[str, Any] = {"user": self.request.user, "data": data}
        if obj is not None:
            kwargs["instance"] = obj
        else:
            kwargs["initial"] = self.get_initial()
        return self.form_class(**kwargs)

    def get_editing(self) -> Any:
        if "pk" in self.kwargs:
            return self.get_object()
        ensure_may_create(self.request.user, self.model)
        return None

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        obj = self.get_editing()
        return self.render_form(self.get_form(obj), obj)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        obj = self.get_editing()
        try:
            data = request.POST
        except RequestDataTooBig:
            # Nothing of the body can be read; show the empty form with what to shorten.
            return self.render_form(
                self.get_form(obj), obj, status=413, page_errors=[too_large_message()]
            )
        form = self.get_form(obj, data=data)
        status = 200
        if form.is_valid():
            try:
                saved = self.create(form) if obj is None else self.update(obj, form)
            except ValidationError as error:
                add_service_errors(form, error)
            except PermissionDenied as error:
                form.add_error(None, str(error) or _("You may not make this change."))
                status = 403
            else:
                messages.success(request, self.success_message(saved, created=obj is None))
                return HttpResponseRedirect(self.get_success_url(saved))
        return self.render_form(form, obj, status=status)

    def success_message(self, obj: Any, *, created: bool) -> str:
        values = {"type": self.model._meta.verbose_name, "name": obj}
        if created:
            return _("Created %(type)s %(name)s.") % values
        return _("Saved %(type)s %(name)s.") % values

    def get_success_url(self, obj: Any) -> str:
        return reverse(f"{self.prefix()}_detail", args=[obj.pk])

    def render_form(
        self, form: Any, obj: Any, status: int = 200, page_errors: list[str] | None = None
    ) -> HttpResponse:
        if obj is None:
            cancel_url = safe_next(self.request, reverse(f"{self.prefix()}_list"))
        else:
            cancel_url = reverse(f"{self.prefix()}_detail", args=[obj.pk])
        context = {
            **self.base_context(),
            "object": obj,
            "form": form,
            "cancel_url": cancel_url,
            "page_errors": page_errors or [],
            **self.extra_context(form, obj),
        }
        return TemplateResponse(self.request, self.template_name, context, status=status)

    def extra_context(self, form: Any, obj: Any) -> dict[str, Any]:
        return {}


def too_large_message() -> str:
    """What the user is told when a form is bigger than the upload limit."""
    from django.conf import settings

    return _(
        "The form is too large to be saved (more than %(mb)s MB). Shorten long texts such "
        "as notes (at most %(chars)s characters each) and try again."
    ) % {
        "mb": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024),
        "chars": settings.GUANXI_MAX_TEXT_LENGTH,
    }


# --- Actions on one record (delete, reverse, erase, restore ...) -------------------------


class ReasonForm(forms.Form):
    """A required reason, kept in the change log (reversals, privacy erasures)."""

    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


class ConfirmForm(forms.Form):
    """No fields: posting the form is the confirmation."""

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


class ObjectActionView(ObjectMixin, View):
    """A confirmation page (with an optional form) that runs one service on one record."""

    form_class: ClassVar[type[Any]] = ConfirmForm
    template_name: ClassVar[str] = "generic/object_confirm.html"
    title: ClassVar[str | Promise] = ""
    message: ClassVar[str | Promise] = ""
    button_label: ClassVar[str | Promise] = gettext_lazy("Confirm")
    button_class: ClassVar[str] = "btn-primary"

    def perform(self, obj: Any, form: Any) -> Any:
        raise NotImplementedError

    def success_message(self, obj: Any, result: Any) -> str:
        return _("Done.")

    def get_success_url(self, obj: Any, result: Any) -> str:
        return reverse(f"{self.prefix()}_detail", args=[obj.pk])

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        obj = self.get_object()
        return self.render_page(obj, self.form_class(user=request.user))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        obj = self.get_object()
        form = self.form_class(request.POST, user=request.user)
        status = 200
        if form.is_valid():
            try:
                result = self.perform(obj, form)
            except ValidationError as error:
                add_service_errors(form, error)
            except PermissionDenied as error:
                form.add_error(None, str(error))
                status = 403
            else:
                messages.success(request, self.success_message(obj, result))
                return HttpResponseRedirect(self.get_success_url(obj, result))
        return self.render_page(obj, form, status=status)

    def render_page(self, obj: Any, form: Any, status: int = 200) -> HttpResponse:
        context = {
            **self.base_context(),
            "object": obj,
            "form": form,
            "title": self.title,
            "message": self.message,
            "button_label": self.button_label,
            "button_class": self.button_class,
            "cancel_url": reverse(f"{self.prefix()}_detail", args=[obj.pk]),
            **self.extra_context(obj),
        }
        return TemplateResponse(self.request, self.template_name, context, status=status)

    def extra_context(self, obj: Any) -> dict[str, Any]:
        return {}


class ObjectDeleteView(ObjectActionView):
    """Confirm, then move the record to the trash (or delete it) through the service."""

    action = Action.DELETE
    title = gettext_lazy("Delete")
    button_label = gettext_lazy("Delete")
    button_class = "btn-danger"
    template_name = "generic/object_delete.html"
    #: Whether the record goes to the trash (restorable) or is removed for good.
    soft_delete: ClassVar[bool] = True

    def success_message(self, obj: Any, result: Any) -> str:
        values = {"type": self.model._meta.verbose_name, "name": obj}
        if self.soft_delete:
            return _("Moved %(type)s %(name)s to the trash.") % values
        return _("Deleted %(type)s %(name)s.") % values

    def get_success_url(self, obj: Any, result: Any) -> str:
        return reverse(f"{self.prefix()}_list")

    def extra_context(self, obj: Any) -> dict[str, Any]:
        return {"soft_delete": self.soft_delete}


class ObjectRestoreView(LoginRequiredMixin, View):
    """POST only: bring a record back from the trash (404 unless the user may restore it)."""

    trash_selector: ClassVar[Selector]

    def restore(self, obj: Any) -> Any:
        raise NotImplementedError

    def post(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        obj = get_object_or_404(type(self).trash_selector(user=request.user), pk=pk)
        try:
            self.restore(obj)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(
                request,
                _("Restored %(type)s %(name)s.") % {"type": obj._meta.verbose_name, "name": obj},
            )
        return HttpResponseRedirect(safe_next(request, reverse("trash")))


# --- History ------------------------------------------------------------------------------


class ObjectHistoryView(ObjectMixin, View):
    """The change log of one record: who changed what, when, field by field."""

    template_name: ClassVar[str] = "generic/object_history.html"
    paginate_by: ClassVar[int] = 50

    def get_history(self, obj: Any) -> QuerySet[ChangeRecord]:
        """The record's own change log; a view may widen it (a customer's includes its records)."""
        return record_history(scoped=self.get_queryset(), obj=obj)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        obj = self.get_object()
        history = self.get_history(obj)
        page = Paginator(history, self.paginate_by).get_page(request.GET.get("page"))
        context = {
            **self.base_context(),
            "object": obj,
            "page": page,
            "entries": history_entries(page),
            "table_target": "history-table",
        }
        return TemplateResponse(request, self.template_name, context)


@dataclass(frozen=True)
class HistoryChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class HistoryEntry:
    record: ChangeRecord
    type_name: str
    changes: list[HistoryChange]


def history_entries(page: Page[Any] | QuerySet[ChangeRecord]) -> list[HistoryEntry]:
    """Change-log rows with field names translated to the model's labels."""
    entries = []
    for record in page:
        model = record.content_type.model_class()
        changes = []
        for name, values in sorted((record.changes or {}).items()):
            before, after = [*list(values), None, None][:2]
            changes.append(HistoryChange(_field_label(model, name), before, after))
        type_name = str(model._meta.verbose_name) if model else record.content_type.model
        entries.append(HistoryEntry(record, type_name, changes))
    return entries


def _field_label(model: type[models.Model] | None, name: str) -> str:
    if model is not None:
        try:
            return str(getattr(model._meta.get_field(name), "verbose_name", name))
        except FieldDoesNotExist:  # tags, consent and reasons are not model fields
            pass
    if name.startswith("consent_"):
        return _("consent (%(channel)s)") % {"channel": name.removeprefix("consent_")}
    labels = {"tags": _("tags"), "reason": _("reason"), "lines": _("lines")}
    return str(labels.get(name, name.replace("_", " ")))


# --- Shell pages --------------------------------------------------------------------------


class HomeView(LoginRequiredMixin, View):
    """The start page: how many records of each kind the user may see."""

    def get(self, request: HttpRequest) -> HttpResponse:
        cards = [
            {"label": card.label, "url": reverse(card.url_name), "count": card.count(request.user)}
            for card in HOME_CARDS
            if has_permission(request.user, card.object_type, Action.VIEW)
        ]
        return TemplateResponse(request, "core/home.html", {"cards": cards})


class TrashView(LoginRequiredMixin, View):
    """Deleted records the user may restore, newest deletion first."""

    limit: ClassVar[int] = 200

    def get(self, request: HttpRequest) -> HttpResponse:
        sections = []
        for section in TRASH_SECTIONS:
            if not has_permission(request.user, section.object_type, Action.RESTORE):
                continue
            rows = list(section.queryset(request.user).order_by("-deleted_at")[: self.limit])
            sections.append(
                {
                    "label": section.label,
                    "rows": [(obj, section.describe(obj)) for obj in rows],
                    "restore_url_name": section.restore_url_name,
                }
            )
        return TemplateResponse(request, "core/trash.html", {"sections": sections})


class SavedViewListView(LoginRequiredMixin, View):
    """The saved views the user may apply (their own and their team's shared), by list.

    Saved customer views are the customer segments of the Marketing menu. A view links to
    its list with its filters; lists the role may not open are left out.
    """

    def get(self, request: HttpRequest) -> HttpResponse:
        groups: dict[str, dict[str, Any]] = {}
        for view in saved_view_list(user=request.user):
            object_type = view.list_key.removesuffix("_list")
            if not has_permission(request.user, object_type, Action.VIEW):
                continue
            try:
                url = reverse(view.list_key)
            except NoReverseMatch:  # a list that no longer exists
                continue
            group = groups.setdefault(view.list_key, {"list_key": view.list_key, "views": []})
            query = f"{view.query}&view={view.pk}" if view.query else f"view={view.pk}"
            group["views"].append({"view": view, "url": f"{url}?{query}"})
        labels = _list_labels()
        context = {
            "groups": [
                {**g, "label": labels.get(g["list_key"], g["list_key"])} for g in groups.values()
            ]
        }
        return TemplateResponse(request, "core/saved_views.html", context)


def _list_labels() -> dict[str, str]:
    from django.apps import apps

    labels = {}
    for model in apps.get_models():
        object_type = getattr(model, "permission_object_type", None)
        if object_type and object_type != "configuration":
            labels[f"{object_type}_list"] = str(model._meta.verbose_name_plural).capitalize()
    return labels


class SearchView(LoginRequiredMixin, View):
    """``/search/?q=``: customers, contacts and orders the user may see, grouped by kind.

    An HTMX request (the navbar box, as the user types) gets the drop-down of the top hits;
    otherwise the results page with more hits per kind.
    """

    page_limit: ClassVar[int] = 20
    dropdown_limit: ClassVar[int] = 5

    def get(self, request: HttpRequest) -> HttpResponse:
        text = request.GET.get("q", "")
        partial = self.is_dropdown()
        limit = self.dropdown_limit if partial else self.page_limit
        groups = global_search(user=request.user, text=text, limit=limit)
        context = {
            "q": text.strip(),
            "groups": groups,
            "found": any(g.hits for g in groups),
        }
        template = "core/search_dropdown.html" if partial else "core/search.html"
        response = TemplateResponse(request, template, context)
        patch_vary_headers(response, ["HX-Request"])
        return response

    def is_dropdown(self) -> bool:
        htmx = getattr(self.request, "htmx", None)
        return htmx is not None and bool(htmx) and not htmx.boosted


@requires_csrf_token
def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 400 page; a body over the upload limit gets a 413 saying what to shorten."""
    if isinstance(exception, RequestDataTooBig):
        return render(request, "413.html", {"message": too_large_message()}, status=413)
    return render(request, "400.html", status=400)
