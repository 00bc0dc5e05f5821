"""API viewset of interactions: reads from selectors, writes through services."""

from __future__ import annotations

from typing import cast

from django.db.models import QuerySet
from rest_framework import mixins, serializers

from guanxi.activities import selectors, services
from guanxi.activities.api.serializers import InteractionSerializer
from guanxi.activities.filtersets import InteractionFilterSet
from guanxi.activities.models import Interaction
from guanxi.core.api.viewsets import ScopedViewSet


class InteractionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ScopedViewSet,
):
    """Interactions: calls, emails, meetings, visits ... with customers you can see."""

    permission_object_type = "interaction"
    queryset = Interaction.objects.none()
    serializer_class = InteractionSerializer
    filterset_class = InteractionFilterSet
    ordering_fields = ("id", "occurred_at", "created_at")
    search_fields = ("subject", "notes")

    def get_queryset(self) -> QuerySet[Interaction]:
        return selectors.interaction_list(user=self.request.user)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.interaction_create(
            actor=self.request.user, data=serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.interaction_update(
            actor=self.request.user,
            interaction=cast(Interaction, serializer.instance),
            data=serializer.validated_data,
        )

    def perform_destroy(self, instance: Interaction) -> None:
        services.interaction_delete(actor=self.request.user, interaction=instance)
