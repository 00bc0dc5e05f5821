"""Reads of duplicates and merges, always scoped to what the user may see.

Duplicate candidates are computed on demand from the user's own scope, so both sides of
every candidate are records the user may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Q, QuerySet

from guanxi.core.permissions import Action
from guanxi.customers.models import Contact, Customer, CustomerConsent
from guanxi.customers.selectors import contact_list, customer_list

from . import matching
from .models import DuplicateCandidate, MergeKind, MergeRecord


def match_records(*, kind: str, queryset: QuerySet[Any]) -> list[matching.MatchRecord]:
    """The customers or contacts of ``queryset`` as matching input (one narrow read)."""
    if kind == MergeKind.CONTACT:
        contacts = queryset.values_list(
            "pk", "name", "email", "phone", "customer_id", "customer__name", "customer__country"
        )
        return [
            matching.MatchRecord(
                id=pk,
                name=name,
                email=email,
                phone=phone,
                country=country,
                org_id=org_id,
                org_name=org_name,
            )
            for pk, name, email, phone, org_id, org_name, country in contacts.iterator(5000)
        ]
    customers = queryset.values_list(
        "pk", "name", "email", "phone", "city", "province", "country", "kind"
    )
    return [
        matching.MatchRecord(
            id=pk,
            name=name,
            email=email,
            phone=phone,
            city=city,
            province=province,
            country=country,
            kind=record_kind,
        )
        for pk, name, email, phone, city, province, country, record_kind in customers.iterator(5000)
    ]


def customer_match_records(*, user: Any) -> list[matching.MatchRecord]:
    """The customers the user may see, as matching input."""
    return match_records(kind=MergeKind.CUSTOMER, queryset=customer_list(user=user))


def contact_match_records(*, user: Any) -> list[matching.MatchRecord]:
    """The contacts the user may see, with their organization, as matching input."""
    return match_records(kind=MergeKind.CONTACT, queryset=contact_list(user=user))


#: Scopes up to this size are matched on demand (about 2 s); larger ones read the pairs
#: precomputed by ``guanxi find_duplicates`` when there are any.
ON_DEMAND_LIMIT = 20_000


def duplicate_groups(
    *, user: Any, kind: str, threshold: float = matching.DEFAULT_THRESHOLD
) -> list[matching.Group]:
    """Likely duplicate groups of customers or contacts among those the user may see.

    Computed on demand for scopes up to :data:`ON_DEMAND_LIMIT` records; above it, taken
    from the precomputed pairs whose two records are both in the user's scope (records
    merged or deleted since the last run drop out; new ones appear after the next run).
    """
    scope = scoped_records(user=user, kind=kind)
    precomputed = DuplicateCandidate.objects.filter(kind=kind, score__gte=threshold)
    if scope.count() > ON_DEMAND_LIMIT and precomputed.exists():
        ids = scope.values("pk")
        rows = precomputed.filter(a_id__in=ids, b_id__in=ids).values_list(
            "a_id", "b_id", "score", "reasons"
        )
        return matching.group_pairs(
            matching.Pair(a, b, score, tuple(matching.Reason(*r) for r in reasons))
            for a, b, score, reasons in rows.iterator(chunk_size=5000)
        )
    if kind == MergeKind.CONTACT:
        return matching.find_groups(
            contact_match_records(user=user), contacts=True, threshold=threshold
        )
    return matching.find_groups(customer_match_records(user=user), threshold=threshold)


def scoped_records(*, user: Any, kind: str, action: str = Action.VIEW) -> QuerySet[Any]:
    """The customers or contacts the user may act on (the read path of merge pages)."""
    if kind == MergeKind.CONTACT:
        return contact_list(user=user, action=action)
    return customer_list(user=user, action=action)


def merge_list(*, user: Any) -> QuerySet[MergeRecord]:
    """Merges whose surviving record the user may see (in the trash or not)."""
    customers: Any = Customer.all_objects.restrict(user, Action.VIEW).values("pk")
    contacts: Any = Contact.all_objects.restrict(user, Action.VIEW).values("pk")
    return MergeRecord.objects.filter(
        Q(kind=MergeKind.CUSTOMER, survivor_customer__in=customers)
        | Q(kind=MergeKind.CONTACT, survivor_contact__in=contacts)
    ).select_related("survivor_customer", "survivor_contact", "actor", "undone_by")


def merge_get(*, user: Any, pk: Any) -> MergeRecord:
    """One merge in scope; raises ``MergeRecord.DoesNotExist`` (a 404) otherwise."""
    return merge_list(user=user).get(pk=pk)


def merges_of_customer(*, user: Any, customer: Customer) -> QuerySet[MergeRecord]:
    """Merges into this customer (or into one of its contacts), newest first."""
    return merge_list(user=user).filter(
        Q(survivor_customer=customer) | Q(survivor_contact__customer=customer)
    )


@dataclass(frozen=True)
class MergePreview:
    """What a merge would move onto the survivor, per kind of record."""

    counts: dict[str, int]


def moving_relations(model: type[models.Model]) -> list[Any]:
    """Every foreign key pointing at ``model`` whose records move with a merge.

    Found from the model's metadata, so a relation added by another app later moves too.
    Consent is merged by channel, not moved wholesale; merge records stay where they are.
    """
    return [
        rel
        for rel in model._meta.related_objects
        if rel.one_to_many
        and rel.related_model is not CustomerConsent
        and rel.related_model is not MergeRecord
    ]


def merge_preview(*, kind: str, others: list[Any]) -> MergePreview:
    """Counts of the records that a merge of ``others`` would move (shown before confirming)."""
    model: Any = Contact if kind == MergeKind.CONTACT else Customer
    counts: dict[str, int] = {}
    for rel in moving_relations(model):
        related: Any = rel.related_model
        key = rel.get_accessor_name() or rel.name
        counts[key] = related._base_manager.filter(
            **{f"{rel.field.attname}__in": [o.pk for o in others]}
        ).count()
    if kind == MergeKind.CUSTOMER:
        counts["consents"] = CustomerConsent.objects.filter(customer__in=others).count()
        counts["tags"] = Customer.tags.through.objects.filter(customer__in=others).count()
    return MergePreview(counts=counts)
