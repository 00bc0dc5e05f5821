"""Base models shared by every app, and the change log."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.permissions import ScopedQuerySet


class TimestampedModel(models.Model):
    """Adds ``created_at`` and ``updated_at``; every guanxi record has them."""

    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class SoftDeleteQuerySet(ScopedQuerySet):
    """A scoped queryset that knows about the trash."""

    def alive(self) -> SoftDeleteQuerySet:
        return self.filter(deleted_at__isnull=True)

    def in_trash(self) -> SoftDeleteQuerySet:
        return self.filter(deleted_at__isnull=False)


class AliveManager(models.Manager.from_queryset(SoftDeleteQuerySet)):  # type: ignore[misc]
    """Default manager: records in the trash are invisible to every ordinary read path."""

    def get_queryset(self) -> SoftDeleteQuerySet:
        return super().get_queryset().filter(deleted_at__isnull=True)


class SoftDeleteModel(models.Model):
    """A record that goes to the trash first and can be restored for ``GUANXI_TRASH_DAYS``.

    ``deletion_batch`` ties together the records deleted by one action, so that restoring
    a customer brings back exactly the contacts that went to the trash with it.
    """

    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True, db_index=True)
    deletion_batch = models.UUIDField(null=True, blank=True, editable=False)

    objects = AliveManager()
    all_objects = models.Manager.from_queryset(SoftDeleteQuerySet)()

    class Meta:
        abstract = True
        base_manager_name = "all_objects"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class ChangeAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Updated")
    DELETE = "delete", _("Deleted")
    RESTORE = "restore", _("Restored")
    MERGE = "merge", _("Merged")
    REVERSE = "reverse", _("Reversed")
    ERASE = "erase", _("Erased")
    PURGE = "purge", _("Purged")


class ChangeRecordQuerySet(models.QuerySet["ChangeRecord"]):
    def for_object(self, obj: models.Model) -> ChangeRecordQuerySet:
        return self.filter(
            content_type=ContentType.objects.get_for_model(obj, for_concrete_model=False),
            object_id=str(obj.pk),
        )


class ImmutableRecordError(Exception):
    """Raised when code tries to edit or delete a change-log entry."""


class ChangeRecord(models.Model):
    """One audited change to one record: who, when, under which request, field by field.

    ``changes`` maps a field name to ``[before, after]`` (JSON values). ``customer_id``
    denormalises the customer a change belongs to (the customer itself, or the customer of a
    contact, order or interaction) so that the customer's history and timeline are one
    indexed read. Rows are append-only: the product offers no way to edit or delete them;
    only the audited privacy erase removes a data subject's rows.
    """

    time = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, db_index=True)
    source = models.CharField(_("source"), max_length=16, default="system")
    action = models.CharField(_("action"), max_length=16, choices=ChangeAction.choices)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(_("record"), max_length=200)
    customer_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)

    objects = ChangeRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("change record")
        verbose_name_plural = _("change log")
        ordering = ["-time", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id", "-time"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ImmutableRecordError("change-log entries cannot be edited")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ImmutableRecordError("change-log entries cannot be deleted")


class ErasureRecord(models.Model):
    """Proof that a privacy erase happened, holding no personal data of the subject."""

    time = models.DateTimeField(_("time"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    request_id = models.CharField(max_length=64)
    subject_type = models.CharField(_("subject type"), max_length=50)
    subject_id = models.CharField(_("subject id"), max_length=64)
    reason = models.CharField(_("reason"), max_length=500)
    erased_counts = models.JSONField(_("erased"), default=dict)

    class Meta:
        verbose_name = _("privacy erasure")
        verbose_name_plural = _("privacy erasures")
        ordering = ["-time"]

    def __str__(self) -> str:
        return f"{self.subject_type} #{self.subject_id} erased {self.time:%Y-%m-%d}"


class SavedViewQuerySet(models.QuerySet["SavedView"]):
    def visible_to(self, user: Any) -> SavedViewQuerySet:
        """The user's own views and the views colleagues of the same team shared."""
        if user is None or not user.is_authenticated:
            return self.none()
        mine = models.Q(user=user)
        team_id = getattr(user, "team_id", None)
        if team_id is None:
            return self.filter(mine)
        return self.filter(mine | models.Q(shared=True, user__team_id=team_id))


class SavedView(TimestampedModel):
    """A named list view: filters and sort (a query string) and the columns shown.

    ``list_key`` names the list (its URL name, ``customer_list``). A view belongs to the user
    who saved it; ``shared`` shows it to the colleagues of the owner's team, who may apply it
    but not change it. Applying a view never widens what a user sees: the filters run on the
    user's own scoped list.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="saved_views",
    )
    list_key = models.CharField(_("list"), max_length=50)
    name = models.CharField(_("name"), max_length=100)
    query = models.CharField(_("filters and sort"), max_length=2000, blank=True)
    columns = models.JSONField(_("columns"), default=list, blank=True)
    shared = models.BooleanField(_("shared with my team"), default=False)

    objects = SavedViewQuerySet.as_manager()

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["list_key", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "list_key", "name"], name="saved_view_unique_name"
            )
        ]
        indexes = [models.Index(fields=["list_key", "shared"])]

    def __str__(self) -> str:
        return self.name


class ListPreference(models.Model):
    """The columns one user chose for one list (``list_key`` as in :class:`SavedView`)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="list_preferences",
    )
    list_key = models.CharField(_("list"), max_length=50)
    columns = models.JSONField(_("columns"), default=list, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("list preference")
        verbose_name_plural = _("list preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "list_key"], name="list_preference_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.list_key}"
