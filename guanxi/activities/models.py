"""Interactions: every logged contact with a customer, on any channel."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import TimestampedModel
from guanxi.core.permissions import ScopedQuerySet

from .choices import Direction, InteractionChannel, Outcome


class Interaction(TimestampedModel):
    """A phone call, email, meeting, visit, message or letter with a customer.

    Visible to whoever may see the customer, and always to the user who logged it.
    """

    permission_object_type = "interaction"
    scope_owner_fields = ("customer__owner", "user")
    scope_team_fields = ("customer__team",)

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="interactions",
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="interactions",
    )
    channel = models.CharField(_("channel"), max_length=8, choices=InteractionChannel.choices)
    direction = models.CharField(
        _("direction"), max_length=8, choices=Direction.choices, default=Direction.OUTBOUND
    )
    subject = models.CharField(_("subject"), max_length=200)
    notes = models.TextField(
        _("notes"), blank=True, validators=[MaxLengthValidator(settings.GUANXI_MAX_TEXT_LENGTH)]
    )
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=Outcome.choices, blank=True, default=Outcome.NONE
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="interactions",
    )
    occurred_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["customer", "-occurred_at"], name="interaction_timeline")]

    def __str__(self) -> str:
        return self.subject

    def changelog_customer_id(self) -> int | None:
        return self.customer_id
