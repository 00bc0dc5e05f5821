"""Reads of the customer database, always scoped to what the user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from guanxi.core.hooks import customer_history_ids
from guanxi.core.models import ChangeRecord
from guanxi.core.permissions import Action, Role, Scope, role_of, scope_for

from .models import Contact, Customer

#: One-to-one relations other apps add to every customer read (the insights app adds
#: ``insight``), loaded in the same query, so this app imports none above it.
LIST_RELATED: list[str] = []


def customer_list(*, user: Any, action: str = Action.VIEW) -> QuerySet[Customer]:
    """Customers the user may see (or act on), outside the trash."""
    return Customer.objects.restrict(user, action).select_related("owner", "team", *LIST_RELATED)


def customer_get(*, user: Any, pk: Any, action: str = Action.VIEW) -> Customer:
    """One customer in scope; raises ``Customer.DoesNotExist`` (a 404) otherwise."""
    return customer_list(user=user, action=action).get(pk=pk)


def customer_trash(*, user: Any) -> QuerySet[Customer]:
    """Customers in the trash that the user may restore (erased ones are gone for good)."""
    return Customer.all_objects.restrict(user, Action.RESTORE).filter(
        deleted_at__isnull=False, erased_at__isnull=True
    )


def contact_list(*, user: Any, action: str = Action.VIEW) -> QuerySet[Contact]:
    """Contacts the user may see, of organizations outside the trash."""
    return (
        Contact.objects.restrict(user, action)
        .filter(customer__deleted_at__isnull=True)
        .select_related("customer")
    )


def contact_trash(*, user: Any) -> QuerySet[Contact]:
    """Contacts in the trash that the user may restore."""
    return Contact.all_objects.restrict(user, Action.RESTORE).filter(deleted_at__isnull=False)


def customer_search(*, user: Any, text: str) -> QuerySet[Customer]:
    """Customers matching a name, email, phone or external id, within the user's scope."""
    text = text.strip()
    if not text:
        return customer_list(user=user).none()
    return customer_list(user=user).filter(
        Q(name__icontains=text)
        | Q(email__iexact=text)
        | Q(phone__contains=text)
        | Q(external_id=text)
    )


def customer_history(*, user: Any, customer: Customer) -> QuerySet[ChangeRecord]:
    """Every change to the customer and the records attached to it, newest first.

    The caller must already hold a customer obtained through :func:`customer_get`.
    """
    customer_get(user=user, pk=customer.pk)
    ids = customer_history_ids(customer)
    return ChangeRecord.objects.filter(customer_id__in=ids).select_related("content_type", "actor")


def change_record_list(*, user: Any) -> QuerySet[ChangeRecord]:
    """Change-log entries the user may read: those of customers the user can see.

    Customers in the trash count (their owner may still read what happened to them).
    Entries that belong to no customer (the product catalogue) are for administrators only.
    """
    records = ChangeRecord.objects.select_related("content_type", "actor")
    role = role_of(user)
    if role == Role.ADMINISTRATOR:
        return records
    scope = scope_for(user, Customer.permission_object_type, Action.VIEW)
    if scope is Scope.NONE:
        return records.none()
    if scope is Scope.ALL:
        return records.filter(customer_id__isnull=False)
    return records.filter(
        customer_id__in=Customer.all_objects.restrict(user, Action.VIEW).values("pk")
    )
