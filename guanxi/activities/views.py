"""Interaction pages: the log of every contact with a customer, on any channel."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy

from guanxi.core.permissions import Action, has_permission
from guanxi.core.views import (
    DetailPanel,
    HomeCard,
    ObjectDeleteView,
    ObjectDetailView,
    ObjectEditView,
    ObjectHistoryView,
    ObjectListView,
    register_detail_panel,
    register_home_card,
)

from . import selectors, services
from .filtersets import InteractionFilterSet
from .forms import InteractionForm
from .models import Interaction
from .tables import InteractionTable


class InteractionListView(ObjectListView):
    model = Interaction
    selector = selectors.interaction_list
    filterset_class = InteractionFilterSet
    table_class = InteractionTable
    filter_fields = ("q", "channel", "direction", "outcome", "occurred_after", "occurred_before")


class InteractionDetailView(ObjectDetailView):
    model = Interaction
    selector = selectors.interaction_list
    detail_fields = (
        "customer", "contact", "channel", "direction", "occurred_at", "outcome", "user",
        "notes", "created_at", "updated_at",
    )  # fmt: skip

    def extra_context(self, obj: Interaction) -> dict[str, Any]:
        return {"history_url": reverse("interaction_history", args=[obj.pk])}


class InteractionEditView(ObjectEditView):
    model = Interaction
    selector = selectors.interaction_list
    form_class = InteractionForm

    def get_initial(self) -> dict[str, Any]:
        return {
            "customer": self.request.GET.get("customer"),
            "contact": self.request.GET.get("contact"),
        }

    def create(self, form: InteractionForm) -> Interaction:
        return services.interaction_create(actor=self.request.user, data=form.service_data())

    def update(self, obj: Interaction, form: InteractionForm) -> Interaction:
        return services.interaction_update(
            actor=self.request.user, interaction=obj, data=form.service_data()
        )


class InteractionDeleteView(ObjectDeleteView):
    model = Interaction
    selector = selectors.interaction_list
    soft_delete = False

    def perform(self, obj: Interaction, form: Any) -> None:
        services.interaction_delete(actor=self.request.user, interaction=obj)


class InteractionHistoryView(ObjectHistoryView):
    model = Interaction
    selector = selectors.interaction_list


# --- What this app adds to the shell ------------------------------------------------------


def _customer_interactions(request: HttpRequest, customer: Any) -> dict[str, Any] | None:
    user = request.user
    if not has_permission(user, "interaction", Action.VIEW):
        return None
    interactions = selectors.interaction_list(user=user).filter(customer=customer)
    return {
        "interactions": interactions[:10],
        "interaction_count": interactions.count(),
        "may_add_interaction": has_permission(user, "interaction", Action.ADD),
    }


register_detail_panel(
    "customers.customer",
    DetailPanel(
        "interactions",
        "activities/customer_interactions_panel.html",
        _customer_interactions,
        order=30,
    ),
)
register_home_card(
    HomeCard(
        "interaction",
        gettext_lazy("Interactions"),
        "interaction_list",
        lambda user: selectors.interaction_list(user=user).count(),
        order=50,
    )
)
