"""Privacy erase and trash purge: the only writes that remove history.

They live above the domain apps because a person's data is spread over all of them
(customer, contacts, consent, interactions, change log).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.activities.models import Interaction
from guanxi.core.changelog import record_change
from guanxi.core.context import current_request_id
from guanxi.core.hooks import personal_data_erased
from guanxi.core.models import ChangeAction, ChangeRecord, ErasureRecord
from guanxi.core.permissions import Action, ensure_allowed
from guanxi.customers.models import Contact, Customer, CustomerConsent

#: Customer fields blanked by a privacy erase (all that can identify or describe a person).
PERSONAL_FIELDS = (
    "email", "phone", "address", "notes", "money_note", "authority_note", "need_note",
    "occupation", "age_band", "gender", "income_band", "education", "external_id",
)  # fmt: skip


def _anonymize_customer(customer: Customer) -> dict[str, int]:
    """Remove a customer's personal data everywhere, history included; keep the order facts."""
    counts: dict[str, int] = {}
    values: dict[str, Any] = {
        name: None if getattr(Customer._meta.get_field(name), "null", False) else ""
        for name in PERSONAL_FIELDS
    }
    values["name"] = _("Erased customer %(id)s") % {"id": customer.pk}
    values["custom_fields"] = {}
    values["erased_at"] = timezone.now()
    Customer.all_objects.filter(pk=customer.pk).update(**values)
    for name, value in values.items():
        setattr(customer, name, value)
    customer.tags.clear()
    counts["consents"] = CustomerConsent.objects.filter(customer=customer).delete()[0]
    contact_ids = list(Contact.all_objects.filter(customer=customer).values_list("pk", flat=True))
    counts["interactions"] = Interaction.objects.filter(customer=customer).update(
        subject=_("(erased)"), notes=""
    )
    Interaction.objects.filter(contact_id__in=contact_ids).update(contact=None)
    counts["contacts"] = Contact.all_objects.filter(pk__in=contact_ids).delete()[0]
    # Before/after values are personal data too. QuerySet.delete() bypasses
    # ChangeRecord.delete(), which refuses every other path.
    counts["history"] = ChangeRecord.objects.filter(customer_id=customer.pk).delete()[0]
    # Copies kept by apps above this one (dedup's merge snapshots) go too.
    counts.update(personal_data_erased(customer))
    return counts


def _erasure_receipt(
    *, actor: Any, subject_type: str, subject_id: Any, reason: str, counts: dict[str, int]
) -> ErasureRecord:
    return ErasureRecord.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=actor.get_username() if actor is not None else "",
        request_id=current_request_id(),
        subject_type=subject_type,
        subject_id=str(subject_id),
        reason=reason[:500],
        erased_counts=counts,
    )


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the data is erased (e.g. the request id).")})
    return reason


def customer_erase(*, actor: Any, customer: Customer, reason: str) -> ErasureRecord:
    """Privacy erase: remove the customer's personal data everywhere, history included.

    Orders stay (anonymous financial facts). An :class:`ErasureRecord` and one change-log
    entry without personal data prove who erased what, when and why.
    """
    reason = _require_reason(reason)
    with transaction.atomic():
        ensure_allowed(actor, customer, Action.ERASE)
        counts = _anonymize_customer(customer)
        record_change(
            actor=actor,
            action=ChangeAction.ERASE,
            obj=customer,
            before=None,
            after=None,
            changes={"personal_data": ["present", "erased"]},
        )
        return _erasure_receipt(
            actor=actor,
            subject_type="customer",
            subject_id=customer.pk,
            reason=reason,
            counts=counts,
        )


def contact_erase(*, actor: Any, contact: Contact, reason: str) -> ErasureRecord:
    """Privacy erase of one contact person: the contact and its history are removed."""
    reason = _require_reason(reason)
    with transaction.atomic():
        ensure_allowed(actor, contact, Action.ERASE)
        contact_id = contact.pk
        Interaction.objects.filter(contact=contact).update(contact=None)
        history = ChangeRecord.objects.for_object(contact).delete()[0]
        record_change(
            actor=actor,
            action=ChangeAction.ERASE,
            obj=contact,
            before=None,
            after=None,
            changes={"personal_data": ["present", "erased"]},
            object_repr=_("Erased contact %(id)s") % {"id": contact_id},
        )
        Contact.all_objects.filter(pk=contact_id).delete()
        return _erasure_receipt(
            actor=actor,
            subject_type="contact",
            subject_id=contact_id,
            reason=reason,
            counts={"contacts": 1, "history": history},
        )


def trash_purge(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Empty the trash of records deleted more than ``GUANXI_TRASH_DAYS`` ago.

    Contacts are removed. A customer without orders is removed with its interactions and
    history; one with orders keeps an anonymous row so that the order facts stay whole.
    """
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.GUANXI_TRASH_DAYS)
    counts = {"contacts": 0, "customers_removed": 0, "customers_anonymized": 0}
    with transaction.atomic():
        old_contacts = Contact.all_objects.filter(deleted_at__lt=cutoff)
        Interaction.objects.filter(contact__in=old_contacts).update(contact=None)
        for contact in old_contacts:
            ChangeRecord.objects.for_object(contact).delete()
        counts["contacts"] = old_contacts.delete()[0]
        expired = Customer.all_objects.filter(deleted_at__lt=cutoff, erased_at__isnull=True)
        for customer in expired:
            if customer.orders.exists():
                _anonymize_customer(customer)
                counts["customers_anonymized"] += 1
            else:
                Interaction.objects.filter(customer=customer).delete()
                ChangeRecord.objects.filter(customer_id=customer.pk).delete()
                CustomerConsent.objects.filter(customer=customer).delete()
                customer.tags.clear()
                Customer.all_objects.filter(pk=customer.pk).delete()
                counts["customers_removed"] += 1
    return counts
