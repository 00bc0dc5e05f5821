"""Admin for interactions; writes go through :mod:`guanxi.activities.services`."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from guanxi.core.admin import AuditedModelAdmin

from . import services
from .models import Interaction


@admin.register(Interaction)
class InteractionAdmin(AuditedModelAdmin):
    list_display = ("subject", "customer", "channel", "direction", "outcome", "user", "occurred_at")
    list_filter = ("channel", "direction", "outcome")
    search_fields = ("subject", "customer__name")
    raw_id_fields = ("customer", "contact")
    list_select_related = ("customer", "user")

    def service_create(self, *, actor: Any, data: dict[str, Any]) -> Interaction:
        return services.interaction_create(actor=actor, data=data)

    def service_update(self, *, actor: Any, obj: Interaction, data: dict[str, Any]) -> Interaction:
        return services.interaction_update(actor=actor, interaction=obj, data=data)

    def service_delete(self, *, actor: Any, obj: Interaction) -> None:
        services.interaction_delete(actor=actor, interaction=obj)
