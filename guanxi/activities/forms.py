"""Forms of the activity pages. They check input types; the services validate.

Each form can be bound to one customer (``customer=``): the quick actions of the customer
360 then leave the customer field out and show only the fields of ``quick_fields``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.conf import settings

from guanxi.accounts.selectors import assignable_users
from guanxi.core.forms import ServiceModelForm, limit_choices
from guanxi.core.permissions import Action
from guanxi.customers import selectors as customer_selectors

from .models import Interaction, Note, Task

_TEXT_WIDGET = forms.Textarea(attrs={"rows": 4, "maxlength": settings.GUANXI_MAX_TEXT_LENGTH})


class CustomerActivityForm(ServiceModelForm):
    """A form about one customer: the customer is chosen, or fixed by the page."""

    #: The fields a quick action on the customer 360 shows (all when empty).
    quick_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, user: Any = None, customer: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.customer = customer
        if customer is not None:
            for name in list(self.fields):
                if name == "customer" or (self.quick_fields and name not in self.quick_fields):
                    del self.fields[name]
        else:
            limit_choices(
                self,
                "customer",
                customer_selectors.customer_list(user=user).select_related(None).only("pk", "name"),
            )

    def chosen_customer_id(self) -> Any:
        """The customer the form is about (fixed, posted, initial or the instance's)."""
        if self.customer is not None:
            return self.customer.pk
        posted = self.data.get("customer") if self.is_bound else None
        return posted or self.initial.get("customer") or getattr(self.instance, "customer_id", None)

    def service_data(self) -> dict[str, Any]:
        data = super().service_data()
        if self.customer is not None:
            data["customer"] = self.customer
        return data


class InteractionForm(CustomerActivityForm):
    """Log or correct an interaction with a customer the user may see."""

    quick_fields = ("channel", "direction", "contact", "subject", "outcome", "notes")

    class Meta:
        model = Interaction
        fields = (
            "customer", "contact", "channel", "direction", "occurred_at", "subject", "outcome",
            "notes",
        )  # fmt: skip
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 6, "maxlength": settings.GUANXI_MAX_TEXT_LENGTH})
        }

    def __init__(self, *args: Any, user: Any = None, customer: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, user=user, customer=customer, **kwargs)
        contacts = customer_selectors.contact_list(user=user)
        customer_id = self.chosen_customer_id()
        if customer_id and str(customer_id).isdigit():
            # Only the chosen customer's people; the service checks the pairing again.
            contacts = contacts.filter(customer_id=customer_id)
        limit_choices(self, "contact", contacts.select_related(None).only("pk", "name"))


class NoteForm(CustomerActivityForm):
    """Write or correct a note about a customer."""

    class Meta:
        model = Note
        fields = ("customer", "body")
        widgets = {"body": _TEXT_WIDGET}

    def __init__(self, *args: Any, user: Any = None, customer: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, user=user, customer=customer, **kwargs)
        if self.instance.pk and "customer" in self.fields:
            # A note stays with its customer: only the text can be corrected.
            del self.fields["customer"]


class TaskForm(CustomerActivityForm):
    """Add or change a task for a customer."""

    quick_fields = ("title", "due_date", "assignee", "notes")

    class Meta:
        model = Task
        fields = ("customer", "title", "due_date", "assignee", "notes", "done")
        widgets = {"notes": _TEXT_WIDGET}

    def __init__(self, *args: Any, user: Any = None, customer: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, user=user, customer=customer, **kwargs)
        instance = self.instance if self.instance.pk else None
        if instance is None:
            self.fields.pop("done", None)
            self.initial.setdefault("assignee", getattr(user, "pk", None))
        elif "customer" in self.fields:
            del self.fields["customer"]
        if "assignee" in self.fields:
            current = instance.assignee if instance else None
            limit_choices(self, "assignee", assignable_users(user, "task", Action.ADD, current))
