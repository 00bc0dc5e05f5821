"""Reads of interactions, scoped to what the user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from guanxi.core.permissions import Action

from .models import Interaction


def interaction_list(*, user: Any, action: str = Action.VIEW) -> QuerySet[Interaction]:
    """Interactions with customers outside the trash that the user may see."""
    return (
        Interaction.objects.restrict(user, action)
        .filter(customer__deleted_at__isnull=True)
        .select_related("customer", "contact", "user")
    )
