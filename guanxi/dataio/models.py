"""Records of data imports: each run with its accounting and errors, and saved mappings.

An :class:`ImportRun` is the audit record of a bulk import (who, when, which file by its
SHA-256, which mapping and options) and its resume point: every chunk of rows commits
together with ``last_row`` and the counts, so a killed import continues where it stopped
and the counts stay exact. Orders, being immutable facts, are audited by their run instead
of one change-log entry per row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportKind(models.TextChoices):
    """What a file holds (one kind per file)."""

    CUSTOMERS = "customers", _("Customers")
    CONTACTS = "contacts", _("Contacts")
    PRODUCTS = "products", _("Products")
    ORDERS = "orders", _("Orders (one row per order line)")
    INTERACTIONS = "interactions", _("Interactions")


class ImportStatus(models.TextChoices):
    """Where a run is: running (or interrupted, then resumable), finished, or failed."""

    RUNNING = "running", _("Running or interrupted")
    FINISHED = "finished", _("Finished")
    FAILED = "failed", _("Failed (nothing kept)")


class ImportRun(models.Model):
    """One import of one file: the run's audit record, its accounting and resume point.

    ``rows_read = created + updated + unchanged + rejected`` always holds for the rows up to
    ``last_row`` (the number of the last data row whose outcome is committed). A dry run
    validates and counts without writing and is never resumed.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ImportKind.choices)
    file_name = models.CharField(_("file"), max_length=255)
    file_sha256 = models.CharField(_("file SHA-256"), max_length=64, db_index=True)
    file_size = models.BigIntegerField(_("file size"), default=0)
    encoding = models.CharField(_("encoding"), max_length=32, blank=True)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    options = models.JSONField(_("options"), default=dict, blank=True)
    dry_run = models.BooleanField(_("dry run"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.RUNNING
    )
    message = models.TextField(_("message"), blank=True)
    rows_read = models.PositiveIntegerField(_("read"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    first_row = models.PositiveIntegerField(_("first row"), default=0)
    last_row = models.PositiveIntegerField(_("last committed row"), default=0)
    resumed = models.PositiveIntegerField(_("times resumed"), default=0)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("import run")
        verbose_name_plural = _("import runs")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name} ({self.started_at:%Y-%m-%d %H:%M})"

    @property
    def accounted(self) -> bool:
        """Whether the counts add up (they always should)."""
        total = self.created + self.updated + self.unchanged + self.rejected
        return self.rows_read == total


class ImportRowError(models.Model):
    """Why one row (or one cell) of an import was rejected."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="errors")
    row = models.PositiveIntegerField(_("row"))
    column = models.CharField(_("column"), max_length=100, blank=True)
    value = models.CharField(_("value"), max_length=200, blank=True)
    message = models.CharField(_("message"), max_length=500)

    class Meta:
        verbose_name = _("import error")
        verbose_name_plural = _("import errors")
        ordering = ["run", "row", "id"]
        indexes = [models.Index(fields=["run", "row"], name="import_error_row")]

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}"


class ImportMapping(models.Model):
    """A named column mapping (file header -> field) saved for one kind of import.

    ``user`` empty: shared with everybody; else private to that user (a user's mapping wins
    over a shared one of the same name).
    """

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=ImportKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    columns = models.JSONField(_("columns"), default=dict)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("import mapping")
        verbose_name_plural = _("import mappings")
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "name", "user"], name="unique_import_mapping_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class ExportRecord(models.Model):
    """The audit record of one export: who took which records out, when, and how many.

    Written when the export starts (kind, format, filters) and completed with the row count
    when the whole file has been produced; a record without ``finished_at`` is an export
    that was interrupted (a closed browser, a failed write).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    username = models.CharField(_("user name"), max_length=150, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=ImportKind.choices)
    format = models.CharField(_("format"), max_length=8)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    source = models.CharField(_("source"), max_length=16, default="web")
    row_count = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.format} by {self.username} ({self.started_at:%Y-%m-%d %H:%M})"
