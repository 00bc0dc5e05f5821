"""Forms of the interaction pages. They check input types; the services validate."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from guanxi.core.forms import ServiceModelForm, limit_choices
from guanxi.customers import selectors as customer_selectors

from .models import Interaction


class InteractionForm(ServiceModelForm):
    """Log or correct an interaction with a customer the user may see."""

    class Meta:
        model = Interaction
        fields = (
            "customer", "contact", "channel", "direction", "occurred_at", "subject", "outcome",
            "notes",
        )  # fmt: skip
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 6, "maxlength": settings.GUANXI_MAX_TEXT_LENGTH})
        }

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        limit_choices(
            self,
            "customer",
            customer_selectors.customer_list(user=user).select_related(None).only("pk", "name"),
        )
        contacts = customer_selectors.contact_list(user=user)
        customer_id = self.data.get("customer") if self.is_bound else None
        customer_id = (
            customer_id
            or self.initial.get("customer")
            or getattr(self.instance, "customer_id", None)
        )
        if customer_id and str(customer_id).isdigit():
            # Only the chosen customer's people; the service checks the pairing again.
            contacts = contacts.filter(customer_id=customer_id)
        limit_choices(self, "contact", contacts)
