"""Writes to interactions, each with a change-log entry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

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

from .models import Interaction

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
