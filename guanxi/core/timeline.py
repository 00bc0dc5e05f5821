"""The customer timeline and the quick actions of the customer 360.

The timeline is one list, newest first, of everything that happened to a customer: orders,
interactions, notes, tasks, field changes from the change log, and (later) tickets and
campaigns. Apps above ``core`` contribute through :class:`TimelineSource` registrations, so
the customer pages show their entries without importing them (the same pattern as
``register_detail_panel``).

Pages are read with a keyset cursor, never an offset: each source answers one indexed query
for its ``limit + 1`` newest entries after the cursor (``customer_id = ? AND time < ? ORDER
BY time DESC LIMIT ?``), the entries are merged in Python, and the page ends at ``limit``.
A page therefore costs one query per source, however long the customer's history is.

The timeline order is: time descending, then source kind ascending, then primary key
descending, so that entries sharing a timestamp (an imported batch) page without gaps or
repeats. :meth:`Cursor.after` turns a cursor into the filter one source needs.

A :class:`QuickAction` is a small form on the customer 360 (log an interaction, add a note,
add a task, change the owner) posted with HTMX; :class:`QuickActionView` runs its service
and answers the refreshed timeline. The change-log source is built in: ``core`` owns the
change log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from guanxi.core.forms import add_service_errors
from guanxi.core.hooks import customer_history_ids
from guanxi.core.models import ChangeAction, ChangeRecord
from guanxi.core.views import history_entries

#: Entries per timeline page ("load more" brings the next ones).
PAGE_SIZE = 15
#: Id of the element that holds the timeline (HTMX targets it after a quick action).
TIMELINE_ID = "customer-timeline"
TIMELINE_TEMPLATE = "includes/timeline.html"
QUICK_FORM_TEMPLATE = "includes/quick_action_form.html"
#: Longest value of a changed field shown in the timeline (the history tab shows all).
_VALUE_CHARS = 80


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened to the customer, ready to render."""

    time: dt.datetime
    kind: str
    pk: int
    label: str | Promise
    title: str
    url: str | None = None
    summary: str = ""
    actor: str = ""
    lines: tuple[str, ...] = ()
    badge: str = "bg-secondary-lt"
    #: Small state shown beside the title (a task's "done", an order's "reversal").
    state: str | Promise = ""

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.time, self.kind, self.pk)


@dataclass(frozen=True)
class Cursor:
    """The position after which the next page starts (the last entry shown)."""

    time: dt.datetime
    kind: str
    pk: int

    def token(self) -> str:
        """The cursor as a URL parameter value."""
        return f"{self.time.isoformat()}|{self.kind}|{self.pk}"

    @classmethod
    def parse(cls, token: str) -> Cursor:
        """Read a token made by :meth:`token`; a malformed one raises ``ValueError``."""
        parts = token.split("|")
        if len(parts) != 3:
            raise ValueError("a timeline cursor has three parts")
        time = parse_datetime(parts[0])
        if time is None or time.tzinfo is None:
            raise ValueError("the cursor's time is not an ISO date and time with a zone")
        return cls(time, parts[1], int(parts[2]))

    def after(self, kind: str, time_field: str, pk_field: str = "pk") -> Q:
        """The rows of source ``kind`` that come after this cursor in the timeline order."""
        older = Q(**{f"{time_field}__lt": self.time})
        if kind < self.kind:
            return older
        if kind > self.kind:
            return Q(**{f"{time_field}__lte": self.time})
        return older | Q(**{time_field: self.time, f"{pk_field}__lt": self.pk})


def page_of(
    queryset: QuerySet[Any],
    *,
    kind: str,
    after: Cursor | None,
    limit: int,
    time_field: str,
) -> list[Any]:
    """The ``limit`` newest rows of ``queryset`` after the cursor, in timeline order.

    ``queryset`` should be filtered by customer on an indexed ``(customer, time)`` column
    pair so that this is one index range scan.
    """
    if after is not None:
        queryset = queryset.filter(after.after(kind, time_field))
    return list(queryset.order_by(f"-{time_field}", "-pk")[:limit])


#: ``fetch(user, customer, after, limit)``: the source's ``limit`` newest entries after the
#: cursor that ``user`` may see, newest first. The caller has checked the customer is in the
#: user's scope; a source checks its own kind's scope (its selector does).
TimelineFetch = Callable[[Any, Any, Cursor | None, int], Sequence[TimelineEntry]]


@dataclass(frozen=True)
class TimelineSource:
    """A kind of entry on the customer timeline and how to read one page of it."""

    kind: str
    label: str | Promise
    fetch: TimelineFetch
    #: Model labels (``"sales.order"``) whose creation this source shows itself, so the
    #: change-log source leaves their "created" entries out.
    covers: tuple[str, ...] = ()
    order: int = 100


TIMELINE_SOURCES: list[TimelineSource] = []


def register_timeline_source(source: TimelineSource) -> None:
    """Add a kind of entry to the customer timeline (idempotent per kind)."""
    if all(s.kind != source.kind for s in TIMELINE_SOURCES):
        TIMELINE_SOURCES.append(source)
        TIMELINE_SOURCES.sort(key=lambda s: s.order)


@dataclass(frozen=True)
class TimelinePage:
    """One page of the timeline and where the next one starts (None: no more)."""

    entries: list[TimelineEntry]
    next_cursor: Cursor | None
    kinds: list[tuple[str, str | Promise]] = field(default_factory=list)
    kind: str = ""


def timeline_kinds() -> list[tuple[str, str | Promise]]:
    """``(kind, label)`` of every registered source, for the timeline's filter."""
    return [(s.kind, s.label) for s in TIMELINE_SOURCES]


def customer_timeline(
    *,
    user: Any,
    customer: Any,
    after: Cursor | None = None,
    limit: int = PAGE_SIZE,
    kind: str = "",
) -> TimelinePage:
    """One page of the customer's timeline as ``user`` may see it, newest first.

    The caller must have obtained ``customer`` through the customer selector (in scope).
    ``kind`` narrows the timeline to one source. One query per source, whatever the
    length of the history.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    sources = [s for s in TIMELINE_SOURCES if not kind or s.kind == kind]
    entries: list[TimelineEntry] = []
    for source in sources:
        entries.extend(source.fetch(user, customer, after, limit + 1))
    # Timeline order: newest first; ties by kind, then newest record (sorts are stable).
    entries.sort(key=lambda e: (e.kind, -e.pk))
    entries.sort(key=lambda e: e.time, reverse=True)
    more = len(entries) > limit
    entries = entries[:limit]
    return TimelinePage(
        entries=entries,
        next_cursor=entries[-1].cursor if more and entries else None,
        kinds=timeline_kinds(),
        kind=kind,
    )


# --- The change log, built in -------------------------------------------------------------


def _short(value: Any) -> str:
    if value is None or value == "":
        return "—"
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 1] + "…"


def _covered_types() -> list[ContentType]:
    labels = {label for s in TIMELINE_SOURCES for label in s.covers}
    types = []
    for label in sorted(labels):
        app_label, model = label.split(".")
        # get_by_natural_key is cached by the ContentType manager: no query after the first.
        types.append(ContentType.objects.get_by_natural_key(app_label, model))
    return types


def _change_entries(user: Any, customer: Any, after: Cursor | None, limit: int) -> list[Any]:
    records = ChangeRecord.objects.filter(customer_id__in=customer_history_ids(customer))
    covered = _covered_types()
    if covered:
        # Orders, interactions, notes ... show their own creation; the log adds the rest.
        records = records.exclude(action=ChangeAction.CREATE, content_type__in=covered)
    rows: Any = page_of(
        records.select_related("content_type"),
        kind="change",
        after=after,
        limit=limit,
        time_field="time",
    )
    entries = []
    for history in history_entries(rows):
        record = history.record
        lines = tuple(
            f"{c.field}: {_short(c.before)} → {_short(c.after)}"
            for c in history.changes
            if record.action == ChangeAction.UPDATE
        )
        entries.append(
            TimelineEntry(
                time=record.time,
                kind="change",
                pk=record.pk,
                label=gettext_lazy("Change"),
                title=f"{record.get_action_display()} {history.type_name}: {record.object_repr}",
                actor=record.actor_name,
                lines=lines,
                badge="bg-purple-lt",
            )
        )
    return entries


register_timeline_source(
    TimelineSource("change", gettext_lazy("Changes"), _change_entries, order=90)
)


# --- Rendering and quick actions ----------------------------------------------------------


def timeline_context(request: HttpRequest, customer: Any, page: TimelinePage) -> dict[str, Any]:
    """The template context of the timeline block."""
    url = reverse("customer_timeline", args=[customer.pk])
    more_url = None
    if page.next_cursor is not None:
        query = {"after": page.next_cursor.token(), **({"kind": page.kind} if page.kind else {})}
        more_url = f"{url}?{urlencode(query)}"
    return {
        "object": customer,
        "timeline": page,
        "timeline_id": TIMELINE_ID,
        "timeline_url": url,
        "more_url": more_url,
    }


def render_timeline(request: HttpRequest, customer: Any, *, kind: str = "") -> str:
    """The first page of the timeline block as HTML (what a quick action answers)."""
    page = customer_timeline(user=request.user, customer=customer, kind=kind)
    return render_to_string(
        TIMELINE_TEMPLATE, timeline_context(request, customer, page), request=request
    )


@dataclass(frozen=True)
class QuickAction:
    """A one-form action on the customer 360 (log an interaction, add a note ...).

    ``form(user, customer)`` returns an unbound form, or None when the user may not take
    the action on this customer (the page then leaves it out). ``url_name`` takes the
    customer's pk and is a :class:`QuickActionView`; ``full_url_name`` (optional) is the
    page with every field, opened with ``?customer=<pk>``.
    """

    name: str
    label: str | Promise
    url_name: str
    form: Callable[[Any, Any], Any]
    order: int = 100
    full_url_name: str = ""


QUICK_ACTIONS: list[QuickAction] = []


def register_quick_action(action: QuickAction) -> None:
    """Add a quick action to the customer 360 (idempotent per name)."""
    if all(a.name != action.name for a in QUICK_ACTIONS):
        QUICK_ACTIONS.append(action)
        QUICK_ACTIONS.sort(key=lambda a: a.order)


def _offer(action: QuickAction, customer: Any, form: Any) -> dict[str, Any]:
    full_url = ""
    if action.full_url_name:
        full_url = f"{reverse(action.full_url_name)}?customer={customer.pk}"
    return {
        "name": action.name,
        "label": action.label,
        "form": form,
        "url": reverse(action.url_name, args=[customer.pk]),
        "full_url": full_url,
    }


def quick_actions_for(user: Any, customer: Any) -> list[dict[str, Any]]:
    """The quick actions ``user`` may take on ``customer``, each with its blank form."""
    offered = []
    for action in QUICK_ACTIONS:
        form = action.form(user, customer)
        if form is not None:
            offered.append(_offer(action, customer, form))
    return offered


class QuickActionView(LoginRequiredMixin, View):
    """GET: the action's form as a page (only the form for HTMX: a 360 tab being opened).
    POST: run the service, answer the new timeline.

    An HTMX POST that succeeds answers the refreshed timeline with a blank form swapped in
    out of band; one that fails answers the form with its errors, retargeted onto the form.
    Without HTMX the browser is redirected to the customer page (or shown the form again).
    The customer comes from :meth:`get_customer` (a scoped selector: 404 outside the
    user's scope); :meth:`get_form` returns None when the action is not allowed (403).
    """

    name: ClassVar[str]
    title: ClassVar[str | Promise] = ""

    def get_customer(self, pk: int) -> Any:
        raise NotImplementedError

    def get_form(self, customer: Any, data: Any = None) -> Any:
        """The bound or blank form; None when the user may not take this action here."""
        raise NotImplementedError

    def perform(self, customer: Any, form: Any) -> Any:
        raise NotImplementedError

    def success_message(self, customer: Any, result: Any) -> str:
        return _("Saved.")

    def _customer_and_form(self, pk: int, data: Any = None) -> tuple[Any, Any]:
        customer = self.get_customer(pk)
        form = self.get_form(customer, data)
        if form is None:
            raise PermissionDenied(_("You may not do this for this customer."))
        return customer, form

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer, form = self._customer_and_form(pk)
        if getattr(request, "htmx", None):  # a quick-action tab of the 360 page, opened
            return self.render_form(customer, form)
        return self.render_page(customer, form)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer, form = self._customer_and_form(pk, request.POST)
        status = 200
        if form.is_valid():
            try:
                result = self.perform(customer, form)
            except ValidationError as error:
                add_service_errors(form, error)
            except PermissionDenied as error:
                form.add_error(None, str(error) or _("You may not make this change."))
                status = 403
            else:
                return self.succeeded(customer, result)
        if getattr(request, "htmx", None):
            response = self.render_form(customer, form)
            response["HX-Retarget"] = f"#quick-{self.name}"
            response["HX-Reswap"] = "outerHTML"
            # htmx swaps 2xx answers only; the refusal still shows on the form.
            return response
        return self.render_page(customer, form, status=status)

    def succeeded(self, customer: Any, result: Any) -> HttpResponse:
        message = self.success_message(customer, result)
        if not getattr(self.request, "htmx", None):
            messages.success(self.request, message)
            return HttpResponseRedirect(reverse("customer_detail", args=[customer.pk]))
        try:
            customer = self.get_customer(customer.pk)
        except Http404:
            # The change took the customer out of the user's scope (a new owner).
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("customer_list")
            messages.success(self.request, message)
            return response
        blank = self.get_form(customer)
        html = render_timeline(self.request, customer)
        if blank is not None:
            html += self._form_html(customer, blank, oob=True, message=message)
        return HttpResponse(html + self.extra_oob(customer))

    def extra_oob(self, customer: Any) -> str:
        """More of the page to swap out of band after a success (e.g. the owner shown)."""
        return ""

    def _form_html(self, customer: Any, form: Any, *, oob: bool = False, message: str = "") -> str:
        registered = next((a for a in QUICK_ACTIONS if a.name == self.name), None)
        if registered is not None:
            action = _offer(registered, customer, form)
        else:
            action = {"name": self.name, "form": form, "url": self.request.path}
        action["label"] = self.title
        context = {
            "action": action,
            "object": customer,
            "oob": oob,
            "message": message,
            "timeline_id": TIMELINE_ID,
        }
        return render_to_string(QUICK_FORM_TEMPLATE, context, request=self.request)

    def render_form(self, customer: Any, form: Any) -> HttpResponse:
        return HttpResponse(self._form_html(customer, form))

    def render_page(self, customer: Any, form: Any, status: int = 200) -> HttpResponse:
        context = {
            "object": customer,
            "action": {"name": self.name, "form": form, "url": self.request.path},
            "title": self.title,
            "cancel_url": reverse("customer_detail", args=[customer.pk]),
        }
        return TemplateResponse(
            self.request, "includes/quick_action_page.html", context, status=status
        )
