"""Stored results of the customer-value analytics: one row per customer, and the runs.

A refresh (:mod:`guanxi.insights.refresh`) computes every field of
:class:`CustomerInsight` for the whole customer base and swaps the new rows in atomically
(docs/adr/0009-insight-refresh.md); between refreshes the order-based fields are kept
current by the incremental upkeep (:func:`guanxi.insights.services.insight_apply_orders`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import (
    ABCGrade,
    ChurnRisk,
    FitFailure,
    LadderStage,
    PortfolioQuadrant,
    RelationshipLevel,
    RelationshipTier,
    RFMSegment,
    RunStatus,
    RunTrigger,
    Stage,
)


class RefreshRun(models.Model):
    """One refresh of the insights: who started it, how far it got, how the models fared.

    Exactly one succeeded run is *current*: the one whose results the insight rows hold.
    ``timings`` maps each stage (summary, fit, score, write) to seconds and peak memory;
    ``model_comparison`` lists the candidate models' log-likelihood and BIC; ``holdout``
    the calibration/holdout check by frequency group. When no model could be fitted,
    ``fit_failure`` says why and the probabilistic fields of the customers stay empty.
    """

    status = models.CharField(
        _("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    trigger = models.CharField(
        _("started by"), max_length=10, choices=RunTrigger.choices, default=RunTrigger.MANUAL
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("queued at"), default=timezone.now, editable=False)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    is_current = models.BooleanField(_("current"), default=False)
    cancel_requested = models.BooleanField(_("cancel requested"), default=False)
    stage = models.CharField(_("stage"), max_length=10, choices=Stage.choices, blank=True)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    # Last sign of life of the process running the refresh: a run whose process was killed
    # stops updating it and is recognised as interrupted.
    heartbeat_at = models.DateTimeField(_("last progress"), null=True, blank=True)
    as_of = models.DateField(_("as of"), null=True, blank=True)
    customers = models.PositiveIntegerField(_("customers scored"), default=0)
    orders = models.PositiveBigIntegerField(_("orders summarized"), default=0)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    timings = models.JSONField(_("timings"), default=dict, blank=True)
    model_comparison = models.JSONField(_("model comparison"), default=list, blank=True)
    chosen_model = models.CharField(_("model"), max_length=20, blank=True)
    model_params = models.JSONField(_("model parameters"), default=dict, blank=True)
    holdout = models.JSONField(_("holdout check"), default=dict, blank=True)
    fit_failure = models.CharField(
        _("fit failure"), max_length=20, choices=FitFailure.choices, blank=True
    )
    fit_detail = models.JSONField(_("fit failure detail"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("refresh run")
        verbose_name_plural = _("refresh runs")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"], condition=Q(is_current=True), name="one_current_refresh_run"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_status_display()}"

    @property
    def is_active(self) -> bool:
        """Queued or running: not finished yet."""
        return self.status in (RunStatus.QUEUED, RunStatus.RUNNING)

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish, once finished."""
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class CustomerInsight(models.Model):
    """The scores, segments and predictions of one customer (客户价值).

    Raw RFM values (``recency_days`` as of ``as_of``, ``order_count``, ``total_spend``) and
    the purchase dates are kept current by every order; the scores, grades, predictions and
    rule-based decisions are those of ``refresh_run``. Probabilistic fields (expected
    purchases, P(alive), expected spend, CLV) are empty when no model could be fitted.
    """

    customer = models.OneToOneField(
        "customers.Customer",
        verbose_name=_("customer"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="insight",
    )
    # Not indexed: no read filters by it, and an index would slow every refresh write.
    refresh_run = models.ForeignKey(
        RefreshRun,
        verbose_name=_("refresh run"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,
        related_name="+",
    )
    as_of = models.DateField(_("as of"))
    # Transactions (net of reversals).
    first_purchase = models.DateField(_("first purchase"), null=True, blank=True)
    last_purchase = models.DateField(_("last purchase"), null=True, blank=True, db_index=True)
    order_count = models.PositiveIntegerField(_("orders"), default=0)
    total_spend = models.DecimalField(
        _("total spend"), max_digits=16, decimal_places=2, default=0, db_index=True
    )
    recency_days = models.IntegerField(_("days since last purchase"), null=True, blank=True)
    frequency = models.PositiveIntegerField(_("repeat purchase periods"), default=0)
    # RFM (1 = worst .. 5 = best).
    recency_score = models.PositiveSmallIntegerField(_("R score"), null=True, blank=True)
    frequency_score = models.PositiveSmallIntegerField(_("F score"), null=True, blank=True)
    monetary_score = models.PositiveSmallIntegerField(_("M score"), null=True, blank=True)
    rfm_segment = models.CharField(
        _("RFM segment"), max_length=20, choices=RFMSegment.choices, blank=True
    )
    # ABC grading.
    abc_grade = models.CharField(_("ABC grade"), max_length=1, choices=ABCGrade.choices, blank=True)
    abc_score = models.FloatField(_("multi-criteria score"), null=True, blank=True)
    abc_score_grade = models.CharField(
        _("multi-criteria grade"), max_length=1, choices=ABCGrade.choices, blank=True
    )
    # Probabilistic model (BG/NBD or Pareto/NBD, Gamma-Gamma).
    expected_purchases = models.FloatField(_("expected purchases"), null=True, blank=True)
    p_alive = models.FloatField(_("P(alive)"), null=True, blank=True, db_index=True)
    expected_spend = models.DecimalField(
        _("expected average spend"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    clv = models.DecimalField(
        _("predicted CLV"), max_digits=16, decimal_places=2, null=True, blank=True, db_index=True
    )
    clv_model = models.CharField(_("CLV model"), max_length=40, blank=True)
    # Rule-based decisions.
    churn_risk = models.CharField(
        _("churn risk"), max_length=6, choices=ChurnRisk.choices, blank=True
    )
    loyalty_index = models.FloatField(_("loyalty index"), null=True, blank=True)
    # The last 12 months' orders over the customer's annual category need (null without one).
    share_of_customer = models.FloatField(_("share of customer"), null=True, blank=True)
    ladder_stage = models.CharField(
        _("ladder stage"),
        max_length=10,
        choices=LadderStage.choices,
        default=LadderStage.PROSPECT,
    )
    portfolio_quadrant = models.CharField(
        _("portfolio quadrant"), max_length=12, choices=PortfolioQuadrant.choices, blank=True
    )
    relationship_level = models.CharField(
        _("recommended relationship level"),
        max_length=12,
        choices=RelationshipLevel.choices,
        blank=True,
    )
    relationship_tier = models.CharField(
        _("relationship tier"), max_length=10, choices=RelationshipTier.choices, blank=True
    )
    # When the order-based fields were last brought up to date by the incremental upkeep.
    touched_at = models.DateTimeField(_("updated by an order"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer insight")
        verbose_name_plural = _("customer insights")
        # Plain indexes for the list filters on codes. Not ``db_index=True``: on PostgreSQL
        # that adds a second ``varchar_pattern_ops`` index per field for LIKE, which no
        # filter uses and every refresh would build (about 0.5 s each at 1M customers).
        indexes = [
            models.Index(fields=["rfm_segment"], name="insight_rfm_segment"),
            models.Index(fields=["abc_grade"], name="insight_abc_grade"),
            models.Index(fields=["churn_risk"], name="insight_churn_risk"),
            models.Index(fields=["ladder_stage"], name="insight_ladder_stage"),
            # The rows orders touched since a refresh began, which its swap carries over:
            # few, so the swap reads them here instead of scanning every row.
            models.Index(
                fields=["touched_at"],
                name="insight_touched",
                condition=models.Q(touched_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"insight of customer {self.customer_id}"


class InsightSnapshot(models.Model):
    """A compact dated copy of one customer's insight, written by each refresh that succeeds.

    One row per customer per refresh date (``snapshot_date`` is the run's ``as_of``; a second
    refresh on the same date replaces that date's rows). It is written in the refresh's swap
    transaction, so a snapshot exists exactly for the runs that became current. The KPIs of
    :mod:`guanxi.insights.kpis` compare snapshots over time; ``owner_id``, ``team_id`` and
    ``region`` are copied from the customer on that date so that KPIs group by them as they
    were then.
    """

    snapshot_date = models.DateField(_("snapshot date"))
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        db_index=False,  # the (customer, date) index serves lookups by customer
        related_name="+",
    )
    ladder_stage = models.CharField(_("ladder stage"), max_length=10, choices=LadderStage.choices)
    rfm_segment = models.CharField(
        _("RFM segment"), max_length=20, choices=RFMSegment.choices, blank=True
    )
    abc_grade = models.CharField(_("ABC grade"), max_length=1, choices=ABCGrade.choices, blank=True)
    clv = models.DecimalField(
        _("predicted CLV"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    p_alive = models.FloatField(_("P(alive)"), null=True, blank=True)
    first_purchase = models.DateField(_("first purchase"), null=True, blank=True)
    order_count = models.PositiveIntegerField(_("orders"), default=0)
    total_spend = models.DecimalField(_("total spend"), max_digits=16, decimal_places=2, default=0)
    # Plain ids, not foreign keys: a snapshot records who owned the customer then, and must
    # not change (or block a deletion) when users or teams go.
    owner_id = models.IntegerField(_("owner"), null=True, blank=True)
    team_id = models.IntegerField(_("team"), null=True, blank=True)
    region = models.CharField(_("province"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("insight snapshot")
        verbose_name_plural = _("insight snapshots")
        constraints = [
            models.UniqueConstraint(
                fields=["snapshot_date", "customer"], name="insight_snapshot_date_customer"
            )
        ]
        # One customer's snapshots by date (the customer 360's sparkline and ladder history).
        indexes = [
            models.Index(fields=["customer", "-snapshot_date"], name="insight_snapshot_customer")
        ]

    def __str__(self) -> str:
        return f"snapshot of customer {self.customer_id} on {self.snapshot_date}"
