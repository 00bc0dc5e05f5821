"""Writes to interactions, notes and tasks, each with a change-log entry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts.selectors import assignable_users
from guanxi.core.permissions import Action, ensure_allowed
from guanxi.core.services import (
    BulkResult,
    BulkRow,
    audited_bulk_write,
    audited_create,
    audited_delete,
    audited_update,
)
from guanxi.customers.models import Customer

from .models import Interaction, Note, Task

NOTE_EDITABLE = ("customer", "body", "author")
TASK_EDITABLE = (
    "customer", "title", "notes", "due_date", "assignee", "created_by", "done", "completed_at",
)  # fmt: skip
INTERACTION_EDITABLE = (
    "customer", "contact", "channel", "direction", "subject", "notes", "outcome", "user",
    "occurred_at",
)  # fmt: skip


def _check_contact(data: Mapping[str, Any], customer: Customer | None) -> None:
    contact = data.get("contact")
    if contact is not None and customer is not None and contact.customer_id != customer.pk:
        raise ValidationError({"contact": _("This contact belongs to another customer.")})


def interaction_create(*, actor: Any, data: Mapping[str, Any]) -> Interaction:
    """Log an interaction; ``user`` defaults to the actor. The customer must be visible."""
    values = dict(data)
    customer = values.get("customer")
    if isinstance(customer, Customer):
        ensure_allowed(actor, customer, Action.VIEW)
    _check_contact(values, customer)
    values.setdefault("user", actor if getattr(actor, "pk", None) else None)
    return audited_create(
        actor=actor, model=Interaction, data=values, editable=INTERACTION_EDITABLE
    )


def interaction_update(
    *, actor: Any, interaction: Interaction, data: Mapping[str, Any]
) -> Interaction:
    """Correct a logged interaction (subject, notes, outcome ...)."""
    _check_contact(data, data.get("customer", interaction.customer))
    return audited_update(actor=actor, obj=interaction, data=data, editable=INTERACTION_EDITABLE)


def interaction_delete(*, actor: Any, interaction: Interaction) -> None:
    """Remove a logged interaction; its full content stays in the change log."""
    audited_delete(actor=actor, obj=interaction)


def interaction_import_batch(*, actor: Any, rows: Sequence[BulkRow]) -> list[BulkResult]:
    """Log many imported interactions, each checked against the actor's scope and logged.

    ``customer`` (and ``contact``) in a row must be instances; ``user`` defaults to the
    actor.
    """
    prepared = []
    for row in rows:
        data = dict(row.data)
        if row.pk is None:
            data.setdefault("user", actor if getattr(actor, "pk", None) else None)
        prepared.append(BulkRow(data=data, pk=row.pk))

    def check(interaction: Interaction, created: bool) -> None:
        _check_contact({"contact": interaction.contact}, interaction.customer)
        if interaction.customer.deleted_at is not None:
            raise ValidationError(
                _("The customer %(name)s is in the trash.") % {"name": interaction.customer.name}
            )

    return audited_bulk_write(
        actor=actor, model=Interaction, rows=prepared, editable=INTERACTION_EDITABLE, check=check
    )


def _ensure_customer_visible(actor: Any, customer: Any) -> None:
    if isinstance(customer, Customer):
        ensure_allowed(actor, customer, Action.VIEW)
        if customer.deleted_at is not None:
            raise ValidationError(
                {"customer": _("The customer %(name)s is in the trash.") % {"name": customer.name}}
            )


def note_create(*, actor: Any, data: Mapping[str, Any]) -> Note:
    """Add a note about a customer the actor may see; ``author`` is the actor."""
    values = dict(data)
    _ensure_customer_visible(actor, values.get("customer"))
    values["author"] = actor if getattr(actor, "pk", None) else None
    return audited_create(actor=actor, model=Note, data=values, editable=NOTE_EDITABLE)


def note_update(*, actor: Any, note: Note, data: Mapping[str, Any]) -> Note:
    """Correct a note's text (the customer and author stay)."""
    unknown = set(data) - {"body"}
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    return audited_update(actor=actor, obj=note, data=data, editable=("body",))


def note_delete(*, actor: Any, note: Note) -> None:
    """Remove a note; its full text stays in the change log."""
    audited_delete(actor=actor, obj=note)


def _task_state(values: dict[str, Any], was_done: bool) -> None:
    """Stamp ``completed_at`` when a task is marked done, clear it when reopened."""
    if "done" not in values:
        return
    done = bool(values["done"])
    if done and not was_done:
        values["completed_at"] = timezone.now()
    elif not done:
        values["completed_at"] = None


def _check_assignee(actor: Any, values: Mapping[str, Any], current: Any = None) -> None:
    """The assignee must be a user the actor may give tasks to (the same list the form
    offers): a rep cannot hand a task, and with it the customer's name, to anyone."""
    assignee = values.get("assignee")
    if assignee is None or assignee == current or not getattr(actor, "pk", None):
        return
    if not assignable_users(actor, "task", Action.ADD).filter(pk=assignee.pk).exists():
        raise ValidationError({"assignee": _("You may not give tasks to this user.")})


def task_create(*, actor: Any, data: Mapping[str, Any]) -> Task:
    """Add a task for a customer the actor may see; assigned to the actor unless given."""
    values = dict(data)
    _ensure_customer_visible(actor, values.get("customer"))
    values.pop("completed_at", None)
    values.setdefault("assignee", actor if getattr(actor, "pk", None) else None)
    _check_assignee(actor, values)
    values["created_by"] = actor if getattr(actor, "pk", None) else None
    _task_state(values, was_done=False)
    return audited_create(actor=actor, model=Task, data=values, editable=TASK_EDITABLE)


def task_update(*, actor: Any, task: Task, data: Mapping[str, Any]) -> Task:
    """Change a task (title, due date, assignee, done); marking it done stamps the time."""
    values = dict(data)
    # Who created it and when it was completed are the service's to set.
    values.pop("created_by", None)
    values.pop("completed_at", None)
    if "customer" in values and values["customer"] != task.customer:
        raise ValidationError({"customer": _("A task cannot move to another customer.")})
    values.pop("customer", None)
    _check_assignee(actor, values, current=task.assignee)
    _task_state(values, was_done=task.done)
    return audited_update(actor=actor, obj=task, data=values, editable=TASK_EDITABLE)


def task_complete(*, actor: Any, task: Task, done: bool = True) -> Task:
    """Mark a task done (or open again)."""
    return task_update(actor=actor, task=task, data={"done": done})


def task_delete(*, actor: Any, task: Task) -> None:
    """Remove a task; its last state stays in the change log."""
    audited_delete(actor=actor, obj=task)
