"""Activities around a customer: interactions on any channel, notes and tasks."""

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


class Note(TimestampedModel):
    """A free-text note about a customer, written by a user (meeting notes, a remark).

    Visible to whoever may see the customer's interactions, and always to its author.
    """

    permission_object_type = "note"
    scope_owner_fields = ("customer__owner", "author")
    scope_team_fields = ("customer__team",)

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="customer_notes",
    )
    body = models.TextField(
        _("note"), validators=[MaxLengthValidator(settings.GUANXI_MAX_TEXT_LENGTH)]
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notes",
    )

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="note_timeline")]

    def __str__(self) -> str:
        return self.headline

    @property
    def headline(self) -> str:
        """The note's first line, shortened (its title in lists and the timeline)."""
        first_line = self.body.strip().splitlines()[0] if self.body.strip() else ""
        return first_line[:60] + ("…" if len(first_line) > 60 else "")

    def changelog_customer_id(self) -> int | None:
        return self.customer_id


class Task(TimestampedModel):
    """Something a user has to do for a customer by a date (call back, send an offer).

    Visible to whoever may see the customer's interactions, and always to its assignee and
    to the user who created it.
    """

    permission_object_type = "task"
    scope_owner_fields = ("customer__owner", "assignee", "created_by")
    scope_team_fields = ("customer__team",)

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="tasks",
    )
    title = models.CharField(_("title"), max_length=200)
    notes = models.TextField(
        _("notes"), blank=True, validators=[MaxLengthValidator(settings.GUANXI_MAX_TEXT_LENGTH)]
    )
    due_date = models.DateField(_("due"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    done = models.BooleanField(_("done"), default=False)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["done", "due_date", "-id"]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="task_timeline"),
            # "My open tasks": a user's undone tasks by due date.
            models.Index(fields=["assignee", "done", "due_date"], name="task_assignee_open"),
        ]

    def __str__(self) -> str:
        return self.title

    def changelog_customer_id(self) -> int | None:
        return self.customer_id

    @property
    def is_overdue(self) -> bool:
        """Open and due before today."""
        return not self.done and self.due_date is not None and self.due_date < timezone.localdate()
