"""Reads of interactions, scoped to what the user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from guanxi.core.models import ChangeRecord
from guanxi.core.permissions import Action

from .models import Interaction


def interaction_list(*, user: Any, action: str = Action.VIEW) -> QuerySet[Interaction]:
    """Interactions with customers outside the trash that the user may see."""
    return (
        Interaction.objects.restrict(user, action)
        .filter(customer__deleted_at__isnull=True)
        .select_related("customer", "contact", "user")
    )


def interaction_history(*, user: Any, interaction: Interaction) -> QuerySet[ChangeRecord]:
    """Every change to one interaction, newest first (it must be visible to the user)."""
    interaction_list(user=user).get(pk=interaction.pk)
    return ChangeRecord.objects.for_object(interaction).select_related("content_type", "actor")
