"""The record of each merge: what it changed, so that it can be shown, audited and undone."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MergeKind(models.TextChoices):
    CUSTOMER = "customer", _("Customers")
    CONTACT = "contact", _("Contacts")


class MergeRecord(models.Model):
    """Two or more customers (or contacts) merged into one, with everything undo needs.

    ``state`` holds the survivor's full snapshot before and after the merge (fields, tags,
    consent), the fields changed on the merged-away records (an external id handed to the
    survivor), the consent rows before, and the ids of every related record moved, per
    relation and per merged-away record. The merged-away records sit in the trash under
    ``deletion_batch``. The survivor's foreign key cascades: when the survivor itself is
    purged from the trash, nothing is left to undo.
    """

    kind = models.CharField(_("kind"), max_length=10, choices=MergeKind.choices)
    time = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("merged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_name = models.CharField(_("merged by"), max_length=150, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    survivor_customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("surviving customer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    survivor_contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("surviving contact"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    other_ids = models.JSONField(_("merged records"), default=list)
    #: Display names of the merged-away records at merge time (they may be erased later).
    other_names = models.JSONField(default=list)
    field_choices = models.JSONField(_("field choices"), default=dict, blank=True)
    counts = models.JSONField(_("moved records"), default=dict, blank=True)
    state = models.JSONField(default=dict)
    deletion_batch = models.UUIDField(editable=False)
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        ordering = ["-time", "-id"]

    def __str__(self) -> str:
        return _("Merge #%(id)s into %(survivor)s") % {
            "id": self.pk,
            "survivor": self.survivor_label,
        }

    @property
    def survivor(self) -> models.Model | None:
        """The customer or contact that the others were merged into."""
        if self.kind == MergeKind.CUSTOMER:
            return self.survivor_customer
        return self.survivor_contact

    @property
    def survivor_label(self) -> str:
        survivor = self.survivor
        return str(survivor) if survivor is not None else "?"

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None


class DuplicateCandidate(models.Model):
    """A precomputed likely-duplicate pair (``guanxi find_duplicates``), for large bases.

    Matching a whole base takes seconds per hundred thousand records, too slow for a page;
    the command stores every pair over the threshold and the duplicates page keeps only the
    pairs whose two records the user may see. ``reasons`` holds ``[code, value, percent]``
    triples (see :class:`guanxi.dedup.matching.Reason`).
    """

    kind = models.CharField(_("kind"), max_length=10, choices=MergeKind.choices)
    a_id = models.BigIntegerField()
    b_id = models.BigIntegerField()
    score = models.FloatField(_("score"))
    reasons = models.JSONField(_("reasons"), default=list)
    computed_at = models.DateTimeField(_("computed"), default=timezone.now)

    class Meta:
        verbose_name = _("duplicate candidate")
        verbose_name_plural = _("duplicate candidates")
        ordering = ["-score", "a_id", "b_id"]
        indexes = [models.Index(fields=["kind", "-score"])]
        constraints = [
            models.UniqueConstraint(fields=["kind", "a_id", "b_id"], name="one_candidate_per_pair")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.a_id}~{self.b_id} ({self.score:.2f})"
