"""Bulk actions of the customer list: assign an owner, add a tag (export is generic).

Each action changes one customer at a time through :mod:`guanxi.customers.services`, so every
change is checked against the actor's scope and written to the change log; the list view
has already narrowed the rows to those the user may change (``core.views.BulkAction``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy

from guanxi.accounts.models import User
from guanxi.core.permissions import Action
from guanxi.core.views import BulkAction, BulkOutcome

from . import services
from .forms import assignable_owners
from .models import Customer


class AssignOwnerForm(forms.Form):
    """The new owner of the selected customers, among the users the actor may make owner
    (they move to the owner's team: :func:`services.customer_assign_owner`)."""

    owner = forms.ModelChoiceField(queryset=User.objects.none(), label=gettext_lazy("New owner"))

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["owner"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = assignable_owners(user, Action.CHANGE)


class AddTagForm(forms.Form):
    """The tag to add to the selected customers (created when it does not exist yet)."""

    tag = forms.CharField(label=gettext_lazy("Tag"), max_length=50)

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


def _bulk_each(
    user: Any, queryset: QuerySet[Customer], change: Callable[[Customer], bool]
) -> BulkOutcome:
    """Run ``change`` (a service call) on each customer; count changes and refusals."""
    changed = unchanged = 0
    refused: list[str] = []
    for customer in queryset.order_by("pk").prefetch_related("tags"):
        try:
            if change(customer):
                changed += 1
            else:
                unchanged += 1
        except (PermissionDenied, ValidationError) as error:
            refused.append(f"{customer}: {error}")
    return BulkOutcome(changed, unchanged, tuple(refused))


def bulk_assign_owner(user: Any, queryset: QuerySet[Customer], data: dict[str, Any]) -> BulkOutcome:
    """Give the selected customers a new owner (and the owner's team), one service call each."""
    owner = data["owner"]

    def change(customer: Customer) -> bool:
        return (
            services.customer_assign_owner(actor=user, customer=customer, owner=owner) is not None
        )

    return _bulk_each(user, queryset, change)


def bulk_add_tag(user: Any, queryset: QuerySet[Customer], data: dict[str, Any]) -> BulkOutcome:
    """Add one tag to the selected customers, one service call (and history entry) each."""
    tag = data["tag"].strip()

    def change(customer: Customer) -> bool:
        names = [t.name for t in customer.tags.all()]
        if tag in names:
            return False
        services.customer_update(actor=user, customer=customer, data={}, tags=[*names, tag])
        return True

    return _bulk_each(user, queryset, change)


CUSTOMER_BULK_ACTIONS = (
    BulkAction(
        "assign_owner", gettext_lazy("Assign owner"), Action.CHANGE, bulk_assign_owner,
        AssignOwnerForm,
    ),
    BulkAction("add_tag", gettext_lazy("Add tag"), Action.CHANGE, bulk_add_tag, AddTagForm),
)  # fmt: skip
