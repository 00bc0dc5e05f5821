"""Writes to the customer database. Every function is atomic and leaves a change-log entry.

Views, the API, the admin, importers and tasks call these; nothing else saves a customer
or contact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core.changelog import record_change
from guanxi.core.hooks import customer_fields_changed
from guanxi.core.models import ChangeAction
from guanxi.core.permissions import Action, ensure_allowed
from guanxi.core.services import (
    BulkResult,
    BulkRow,
    audited_bulk_write,
    audited_create,
    audited_restore,
    audited_soft_delete,
    audited_update,
)

from .choices import ConsentChannel, ConsentMethod
from .models import Contact, Customer, CustomerConsent, Tag

CUSTOMER_EDITABLE = (
    "external_id", "kind", "name", "market", "buyer_motive", "email", "phone", "country",
    "province", "city", "address", "industry", "language", "age_band", "gender",
    "income_band", "education", "occupation", "org_size", "ownership", "financial_strength",
    "money", "money_note", "authority", "authority_note", "need", "need_note",
    "credit_rating", "credit_limit", "credit_overdue", "category_need", "source",
    "custom_fields", "notes", "owner", "team",
)  # fmt: skip
#: Customer fields that higher apps derive figures from (core.hooks.customer_fields_changed).
WATCHED_FIELDS = frozenset({"category_need"})


def _announce(customer_ids: Iterable[int], written: Iterable[str]) -> None:
    """Tell the hooks which watched fields of these customers were written."""
    fields = WATCHED_FIELDS.intersection(written)
    if fields:
        customer_fields_changed(customer_ids, fields)


CONTACT_EDITABLE = (
    "customer", "external_id", "name", "title", "email", "phone", "buying_role", "stance",
    "is_primary", "notes",
)  # fmt: skip


def _customer_extra(customer: Customer) -> dict[str, Any]:
    """Values outside the customer row that its history must show: tags and consent."""
    extra: dict[str, Any] = {"tags": sorted(t.name for t in customer.tags.all())}
    # A query, not customer.consents.all(): a caller's prefetch cache would hide the change.
    for consent in CustomerConsent.objects.filter(customer=customer):
        extra[f"consent_{consent.channel}"] = consent.as_history_value()
    return extra


def _clean_tag_names(names: Iterable[str]) -> list[str]:
    cleaned = sorted({n.strip() for n in names if n and n.strip()})
    limit = Tag._meta.get_field("name").max_length or 50
    too_long = [n for n in cleaned if len(n) > limit]
    if too_long:
        raise ValidationError({"tags": _("Tag names are at most 50 characters.")})
    return cleaned


def _set_tags(customer: Customer, names: Iterable[str] | None) -> None:
    if names is None:
        return
    tags = [Tag.objects.get_or_create(name=n)[0] for n in _clean_tag_names(names)]
    customer.tags.set(tags)


def customer_create(
    *, actor: Any, data: Mapping[str, Any], tags: Iterable[str] | None = None
) -> Customer:
    """Create a customer. Owner and team default to the actor and the actor's team."""
    values = dict(data)
    if "owner" not in values:
        values["owner"] = actor if getattr(actor, "pk", None) else None
    if "team" not in values:
        values["team"] = getattr(actor, "team", None)
    with transaction.atomic():
        customer = audited_create(
            actor=actor,
            model=Customer,
            data=values,
            editable=CUSTOMER_EDITABLE,
            extra_snapshot=_customer_extra,
            after_save=lambda c: _set_tags(c, tags),
        )
        _announce([customer.pk], [k for k, v in values.items() if v is not None])
    return customer


def customer_update(
    *,
    actor: Any,
    customer: Customer,
    data: Mapping[str, Any],
    tags: Iterable[str] | None = None,
) -> Customer:
    """Change a customer's fields (and, when given, its tags) with field-level history."""
    if customer.erased_at is not None:
        raise ValidationError(_("This customer was erased on request and cannot be edited."))
    before = {name: getattr(customer, name) for name in WATCHED_FIELDS}
    with transaction.atomic():
        customer = audited_update(
            actor=actor,
            obj=customer,
            data=data,
            editable=CUSTOMER_EDITABLE,
            extra_snapshot=_customer_extra,
            after_save=lambda c: _set_tags(c, tags),
        )
        _announce([customer.pk], [n for n in before if getattr(customer, n) != before[n]])
    return customer


def customer_assign_owner(*, actor: Any, customer: Customer, owner: Any) -> Customer | None:
    """Hand ``customer`` to ``owner`` (the one rule of the 360 action and the bulk action):
    the customer follows the owner into the owner's team, when the owner has one, so that the
    owner's team-scoped colleagues see it. Returns the changed customer, or None when it
    already had that owner and team."""
    values: dict[str, Any] = {"owner": owner}
    if owner.team_id is not None:
        values["team"] = owner.team
    team_id = owner.team_id if owner.team_id is not None else customer.team_id
    if customer.owner_id == owner.pk and customer.team_id == team_id:
        return None
    return customer_update(actor=actor, customer=customer, data=values)


def customer_set_consent(
    *,
    actor: Any,
    customer: Customer,
    channel: str,
    granted: bool,
    method: str,
    note: str = "",
    recorded_at: dt.datetime | None = None,
) -> CustomerConsent:
    """Record that the customer granted or refused contact on a channel, and how."""
    if channel not in ConsentChannel.values:
        raise ValidationError({"channel": _("Unknown channel %(c)s.") % {"c": channel}})
    if method not in ConsentMethod.values:
        raise ValidationError({"method": _("Unknown consent method %(m)s.") % {"m": method}})
    with transaction.atomic():
        ensure_allowed(actor, customer, Action.CHANGE)
        before = _customer_extra(customer)
        consent, _created = CustomerConsent.objects.update_or_create(
            customer=customer,
            channel=channel,
            defaults={
                "granted": bool(granted),
                "method": method,
                "note": note,
                "recorded_at": recorded_at or timezone.now(),
            },
        )
        consent.full_clean()
        record_change(
            actor=actor,
            action=ChangeAction.UPDATE,
            obj=customer,
            before=before,
            after=_customer_extra(customer),
        )
    return consent


def customer_delete(*, actor: Any, customer: Customer) -> None:
    """Move a customer and its contacts to the trash (restorable for the trash period)."""
    audited_soft_delete(
        actor=actor, obj=customer, cascade=[Contact.all_objects.filter(customer=customer)]
    )


def customer_restore(*, actor: Any, customer: Customer) -> Customer:
    """Bring a customer back from the trash with the contacts deleted along with it."""
    if customer.erased_at is not None:
        raise ValidationError(_("An erased customer cannot be restored."))
    return audited_restore(
        actor=actor, obj=customer, cascade=[Contact.all_objects.filter(customer=customer)]
    )


def contact_create(*, actor: Any, data: Mapping[str, Any]) -> Contact:
    """Add a person to an organization customer; the actor must be allowed to see it."""
    customer = data.get("customer")
    if isinstance(customer, Customer):
        ensure_allowed(actor, customer, Action.VIEW)
    return audited_create(actor=actor, model=Contact, data=data, editable=CONTACT_EDITABLE)


def contact_update(*, actor: Any, contact: Contact, data: Mapping[str, Any]) -> Contact:
    """Change a contact's fields with field-level history."""
    return audited_update(actor=actor, obj=contact, data=data, editable=CONTACT_EDITABLE)


def contact_delete(*, actor: Any, contact: Contact) -> None:
    """Move one contact to the trash."""
    audited_soft_delete(actor=actor, obj=contact)


def contact_restore(*, actor: Any, contact: Contact) -> Contact:
    """Bring a contact back from the trash (its organization must not be in the trash)."""
    if contact.customer.deleted_at is not None:
        raise ValidationError(
            _("Restore the organization %(name)s first.") % {"name": contact.customer.name}
        )
    return audited_restore(actor=actor, obj=contact)


def _check_customer_import(customer: Customer, created: bool) -> None:
    if customer.erased_at is not None:
        raise ValidationError(_("This customer was erased on request and cannot be edited."))


def customer_import_batch(*, actor: Any, rows: Sequence[BulkRow]) -> list[BulkResult]:
    """Create or update many customers (an import batch), each checked and logged.

    A new customer is owned by the actor (and the actor's team) unless the row names an
    owner; a sales rep may only create and change customers inside their own scope, row by
    row. ``custom_fields`` in a row are merged into the stored ones, never replacing them.
    ``tags`` in a row (a list of names) replace the customer's tags; a change of tags gets
    its own change-log entry (``{"tags": [before, after]}``) and makes an otherwise
    unchanged row ``updated``.
    """
    prepared: list[BulkRow] = []
    positions: list[int] = []
    tags: dict[int, list[str]] = {}
    results: list[BulkResult | None] = [None] * len(rows)
    stored = dict(
        Customer.all_objects.filter(pk__in=[r.pk for r in rows if r.pk is not None]).values_list(
            "pk", "custom_fields"
        )
    )
    for position, row in enumerate(rows):
        data = dict(row.data)
        if "tags" in data:
            try:
                tags[position] = _clean_tag_names(data.pop("tags") or [])
            except ValidationError as exc:
                results[position] = BulkResult(status="rejected", errors={"tags": exc.messages})
                continue
        if row.pk is None:
            data.setdefault("owner", actor if getattr(actor, "pk", None) else None)
            data.setdefault("team", getattr(actor, "team", None))
        elif "custom_fields" in data:
            data["custom_fields"] = {**(stored.get(row.pk) or {}), **data["custom_fields"]}
        prepared.append(BulkRow(data=data, pk=row.pk))
        positions.append(position)
    with transaction.atomic():
        written = audited_bulk_write(
            actor=actor,
            model=Customer,
            rows=prepared,
            editable=CUSTOMER_EDITABLE,
            check=_check_customer_import,
        )
        watched = [
            result.obj.pk
            for row, result in zip(prepared, written, strict=True)
            if result.status in ("created", "updated") and WATCHED_FIELDS.intersection(row.data)
        ]
        _announce(watched, WATCHED_FIELDS)
        for position, result in zip(positions, written, strict=True):
            results[position] = result
            names = tags.get(position)
            if names is None or result.status == "rejected":
                continue
            customer = result.obj
            before = sorted(t.name for t in customer.tags.all())
            if before == names:
                continue
            _set_tags(customer, names)
            record_change(
                actor=actor,
                action=ChangeAction.UPDATE,
                obj=customer,
                before=None,
                after=None,
                changes={"tags": [before, names]},
            )
            if result.status == "unchanged":
                result.status = "updated"
    return [result for result in results if result is not None]


def contact_import_batch(*, actor: Any, rows: Sequence[BulkRow]) -> list[BulkResult]:
    """Create or update many contacts (an import batch), each checked and logged.

    ``customer`` in a row must be a :class:`Customer` instance; the contact must fall in
    the actor's scope (through its organization) before and after the change.
    """

    def check(contact: Contact, created: bool) -> None:
        customer = contact.customer
        if customer.deleted_at is not None:
            raise ValidationError(
                _("The organization %(name)s is in the trash.") % {"name": customer.name}
            )

    return audited_bulk_write(
        actor=actor, model=Contact, rows=rows, editable=CONTACT_EDITABLE, check=check
    )
