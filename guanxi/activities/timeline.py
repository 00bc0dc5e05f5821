"""What the activities app adds to the customer 360: timeline entries and quick actions.

Registered in :meth:`guanxi.activities.apps.ActivitiesConfig.ready`, so the customer pages
show interactions, notes and tasks without importing this app.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from guanxi.core.permissions import Action, has_permission
from guanxi.core.timeline import (
    Cursor,
    QuickAction,
    TimelineEntry,
    TimelineSource,
    page_of,
    register_quick_action,
    register_timeline_source,
)

from . import selectors
from .forms import InteractionForm, NoteForm, TaskForm

#: Characters of a note or an interaction's notes shown in the timeline.
SUMMARY_CHARS = 300


def _user_name(user: Any) -> str:
    return str(user) if user is not None else ""


def interaction_entries(user: Any, customer: Any, after: Cursor | None, limit: int) -> list[Any]:
    """Interactions with the customer that ``user`` may see, newest first."""
    if not has_permission(user, "interaction", Action.VIEW):
        return []
    rows = page_of(
        selectors.interaction_list(user=user)
        .filter(customer=customer)
        .select_related(None)
        .select_related("contact", "user"),
        kind="interaction",
        after=after,
        limit=limit,
        time_field="occurred_at",
    )
    entries = []
    for row in rows:
        facts = [row.get_channel_display(), row.get_direction_display()]
        if row.contact is not None:
            facts.append(row.contact.name)
        if row.outcome:
            facts.append(row.get_outcome_display())
        summary = " · ".join(str(f) for f in facts)
        if row.notes:
            summary += "\n" + Truncator(row.notes).chars(SUMMARY_CHARS)
        entries.append(
            TimelineEntry(
                time=row.occurred_at,
                kind="interaction",
                pk=row.pk,
                label=_("Interaction"),
                title=row.subject,
                url=reverse("interaction_detail", args=[row.pk]),
                summary=summary,
                actor=_user_name(row.user),
                badge="bg-azure-lt",
            )
        )
    return entries


def note_entries(user: Any, customer: Any, after: Cursor | None, limit: int) -> list[Any]:
    """Notes about the customer that ``user`` may see, newest first."""
    if not has_permission(user, "note", Action.VIEW):
        return []
    rows = page_of(
        selectors.note_list(user=user)
        .filter(customer=customer)
        .select_related(None)
        .select_related("author"),
        kind="note",
        after=after,
        limit=limit,
        time_field="created_at",
    )
    return [
        TimelineEntry(
            time=row.created_at,
            kind="note",
            pk=row.pk,
            label=_("Note"),
            title=str(row),
            url=reverse("note_detail", args=[row.pk]),
            summary=Truncator(row.body).chars(SUMMARY_CHARS),
            actor=_user_name(row.author),
            badge="bg-yellow-lt",
        )
        for row in rows
    ]


def task_entries(user: Any, customer: Any, after: Cursor | None, limit: int) -> list[Any]:
    """Tasks for the customer that ``user`` may see, newest first (by creation)."""
    if not has_permission(user, "task", Action.VIEW):
        return []
    rows = page_of(
        selectors.task_list(user=user)
        .filter(customer=customer)
        .select_related(None)
        .select_related("assignee"),
        kind="task",
        after=after,
        limit=limit,
        time_field="created_at",
    )
    entries = []
    for row in rows:
        facts = []
        if row.due_date:
            facts.append(str(_("due %(date)s") % {"date": row.due_date.isoformat()}))
        if row.assignee is not None:
            facts.append(str(_("for %(user)s") % {"user": row.assignee}))
        if row.done:
            state = _("done")
        elif row.is_overdue:
            state = _("overdue")
        else:
            state = _("open")
        entries.append(
            TimelineEntry(
                time=row.created_at,
                kind="task",
                pk=row.pk,
                label=_("Task"),
                title=row.title,
                url=reverse("task_detail", args=[row.pk]),
                summary=" · ".join(facts),
                badge="bg-green-lt",
                state=state,
            )
        )
    return entries


def _quick_form(object_type: str, form_class: type[Any]) -> Any:
    def make(user: Any, customer: Any) -> Any:
        if not has_permission(user, object_type, Action.ADD):
            return None
        return form_class(user=user, customer=customer)

    return make


def register() -> None:
    """Add interactions, notes and tasks to the customer timeline and quick actions."""
    register_timeline_source(
        TimelineSource(
            "interaction",
            _("Interactions"),
            interaction_entries,
            covers=("activities.interaction",),
            order=20,
        )
    )
    register_timeline_source(
        TimelineSource("note", _("Notes"), note_entries, covers=("activities.note",), order=30)
    )
    register_timeline_source(
        TimelineSource("task", _("Tasks"), task_entries, covers=("activities.task",), order=40)
    )
    register_quick_action(
        QuickAction(
            "interaction",
            _("Log an interaction"),
            "customer_quick_interaction",
            _quick_form("interaction", InteractionForm),
            order=10,
            full_url_name="interaction_add",
        )
    )
    register_quick_action(
        QuickAction(
            "note",
            _("Add a note"),
            "customer_quick_note",
            _quick_form("note", NoteForm),
            order=20,
            full_url_name="note_add",
        )
    )
    register_quick_action(
        QuickAction(
            "task",
            _("Add a task"),
            "customer_quick_task",
            _quick_form("task", TaskForm),
            order=30,
            full_url_name="task_add",
        )
    )
