"""What the insights app adds to the customer pages and the customer API.

``customers`` sits below ``insights`` and must not import it, so this app extends the
customer list (filters, sortable columns), its filter set in the UI and the API, and the
customer serializer (a read-only nested ``insight``) when Django is ready
(:meth:`guanxi.insights.apps.InsightsConfig.ready`). The reads stay the customer selectors:
insight fields are reachable only through a customer the user may see.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import django_filters
from django import forms
from django.db.models import Field, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from . import kpis
from .choices import ABCGrade, ChurnRisk, LadderStage, PortfolioQuadrant, RFMSegment
from .models import CustomerInsight, InsightSnapshot

#: Fields of the nested ``insight`` object of the customer API.
API_FIELDS = (
    "as_of", "first_purchase", "last_purchase", "order_count", "total_spend", "recency_days",
    "frequency", "recency_score", "frequency_score", "monetary_score", "rfm_segment",
    "abc_grade", "abc_score", "abc_score_grade", "expected_purchases", "p_alive",
    "expected_spend", "clv", "clv_model", "churn_risk", "loyalty_index", "ladder_stage",
    "portfolio_quadrant", "relationship_level", "relationship_tier", "share_of_customer",
    "refresh_run",
)  # fmt: skip

#: Customer-list filters (UI and API) on the insight fields shown in the filter bar.
FILTER_NAMES = (
    "rfm_segment", "abc_grade", "ladder_stage", "churn_risk", "clv_min", "clv_max", "share_max",
)  # fmt: skip

#: API ordering fields (``?ordering=-insight__clv``).
ORDERING_FIELDS = (
    "insight__clv", "insight__p_alive", "insight__total_spend", "insight__last_purchase",
    "insight__recency_days", "insight__share_of_customer",
)  # fmt: skip


def _blank_choice(name: str) -> serializers.ChoiceField:
    """A read-only choice of :class:`CustomerInsight` that is blank until it is computed.

    ``read_only_fields`` would drop ``allow_blank``, and the schema would then promise one
    of the choices where the API answers ``""``.
    """
    field = cast(Field, CustomerInsight._meta.get_field(name))
    return serializers.ChoiceField(
        choices=field.choices or (), allow_blank=True, read_only=True, label=field.verbose_name
    )


class CustomerInsightSerializer(serializers.ModelSerializer):
    """The insight fields of one customer, read only (null until the first refresh)."""

    rfm_segment = _blank_choice("rfm_segment")
    abc_grade = _blank_choice("abc_grade")
    abc_score_grade = _blank_choice("abc_score_grade")
    churn_risk = _blank_choice("churn_risk")
    portfolio_quadrant = _blank_choice("portfolio_quadrant")
    relationship_level = _blank_choice("relationship_level")
    relationship_tier = _blank_choice("relationship_tier")

    class Meta:
        model = CustomerInsight
        fields = API_FIELDS
        read_only_fields = API_FIELDS


_SCORES = [(score, str(score)) for score in range(1, 6)]


def _day(text: str, what: Any) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise forms.ValidationError(
            _("%(what)s: %(value)s is not a date (YYYY-MM-DD).") % {"what": what, "value": text}
        ) from None


class KPIField(forms.CharField):
    """``<kpi>:<start>:<end>``: the customers a KPI of a period counts (a KPI card's list)."""

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        if not value:
            return None
        parts = value.split(":")
        if len(parts) != 3 or parts[0] not in kpis.KPI_NAMES:
            raise forms.ValidationError(
                _("Expected <KPI>:<start>:<end> with a KPI among %(names)s.")
                % {"names": ", ".join(kpis.KPI_NAMES)}
            )
        start, end = _day(parts[1], _("start")), _day(parts[2], _("end"))
        if end < start:
            raise forms.ValidationError(_("The end must not be before the start."))
        return parts[0], start, end


class SnapshotStageField(forms.CharField):
    """``<snapshot date>:<ladder stage>`` (or ``:absent``, no snapshot row that day)."""

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        if not value:
            return None
        day, _sep, stage = value.partition(":")
        stages = [*LadderStage.values, "absent"]
        if stage not in stages:
            raise forms.ValidationError(
                _("Expected <date>:<stage> with a stage among %(names)s.")
                % {"names": ", ".join(stages)}
            )
        return _day(day, _("snapshot date")), stage


class CohortField(forms.CharField):
    """``<snapshot date>:<YYYY-MM>[:retained|:lapsed]``: a cohort (month of first purchase)
    as the snapshot of that date had it, all of it or its retained or lapsed customers."""

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        if not value:
            return None
        parts = value.split(":")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("retained", "lapsed")):
            raise forms.ValidationError(_("Expected <date>:<YYYY-MM>[:retained or :lapsed]."))
        day = _day(parts[0], _("snapshot date"))
        try:
            dt.date.fromisoformat(f"{parts[1]}-01")
        except ValueError:
            raise forms.ValidationError(
                _("%(value)s is not a month (YYYY-MM).") % {"value": parts[1]}
            ) from None
        retained = {"retained": True, "lapsed": False}.get(parts[2]) if len(parts) == 3 else None
        return day, parts[1], retained


class ShareFilter(django_filters.NumberFilter):
    """The share of customer in percent (``?share_max=30``: 30% or less); customers without
    a known need have no share and never match."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(field_name="insight__share_of_customer", min_value=0, **kwargs)

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        if value in (None, ""):
            return qs
        return super().filter(qs, float(value) / 100)


class KPIFilter(django_filters.CharFilter):
    """The customers a KPI card counts (same SQL conditions as the KPI itself)."""

    field_class = KPIField

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        if not value:
            return qs
        name, start, end = value
        sql, params = kpis.period_customer_ids(qs, name, start, end)
        # The SQL is fixed text from kpis.KPI_CONDITIONS; every value is a parameter.
        return qs.filter(pk__in=RawSQL(sql, params))  # noqa: S611


class SnapshotStageFilter(django_filters.CharFilter):
    """Customers whose snapshot of a date had a ladder stage (or who had no snapshot)."""

    field_class = SnapshotStageField

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        if not value:
            return qs
        day, stage = value
        rows = InsightSnapshot.objects.filter(snapshot_date=day)
        if stage == "absent":
            return qs.exclude(pk__in=rows.values("customer_id"))
        return qs.filter(pk__in=rows.filter(ladder_stage=stage).values("customer_id"))


class CohortFilter(django_filters.CharFilter):
    """Customers of one cell of the cohort retention (same rows as the cohort KPI)."""

    field_class = CohortField

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        if not value:
            return qs
        day, month, retained = value
        rows = kpis.cohort_customers(qs, day, month, retained=retained)
        return qs.filter(pk__in=rows.values("customer_id"))


def insight_filters() -> dict[str, Any]:
    """Fresh filter objects for a customer filter set."""
    return {
        "rfm_segment": django_filters.ChoiceFilter(
            field_name="insight__rfm_segment", choices=RFMSegment.choices, label=_("RFM segment")
        ),
        "abc_grade": django_filters.ChoiceFilter(
            field_name="insight__abc_grade", choices=ABCGrade.choices, label=_("ABC grade")
        ),
        "ladder_stage": django_filters.ChoiceFilter(
            field_name="insight__ladder_stage", choices=LadderStage.choices, label=_("Ladder stage")
        ),
        "churn_risk": django_filters.ChoiceFilter(
            field_name="insight__churn_risk", choices=ChurnRisk.choices, label=_("Churn risk")
        ),
        "clv_min": django_filters.NumberFilter(
            field_name="insight__clv", lookup_expr="gte", label=_("CLV at least")
        ),
        "clv_max": django_filters.NumberFilter(
            field_name="insight__clv", lookup_expr="lte", label=_("CLV at most")
        ),
        # Cross-selling targets: customers who buy most of their need elsewhere.
        "share_max": ShareFilter(lookup_expr="lte", label=_("Share of customer at most (%)")),
        # Drill-down filters of the dashboards: they work in any list URL and the API, but
        # the filter bar does not offer them (it carries them as chips).
        "share_min": ShareFilter(lookup_expr="gte", label=_("Share of customer at least (%)")),
        "clv_below": django_filters.NumberFilter(
            field_name="insight__clv", lookup_expr="lt", label=_("CLV below")
        ),
        "clv_known": django_filters.BooleanFilter(
            field_name="insight__clv", lookup_expr="isnull", exclude=True, label=_("CLV predicted")
        ),
        "scored": django_filters.BooleanFilter(
            field_name="insight", lookup_expr="isnull", exclude=True, label=_("Scored")
        ),
        "recency_score": django_filters.TypedChoiceFilter(
            field_name="insight__recency_score", choices=_SCORES, coerce=int, label=_("R score")
        ),
        "frequency_score": django_filters.TypedChoiceFilter(
            field_name="insight__frequency_score", choices=_SCORES, coerce=int, label=_("F score")
        ),
        "portfolio_quadrant": django_filters.ChoiceFilter(
            field_name="insight__portfolio_quadrant",
            choices=PortfolioQuadrant.choices,
            label=_("Portfolio quadrant"),
        ),
        "kpi": KPIFilter(label=_("Counted by a KPI")),
        "ladder_from": SnapshotStageFilter(label=_("Ladder stage before")),
        "ladder_to": SnapshotStageFilter(label=_("Ladder stage after")),
        "cohort_on": CohortFilter(label=_("Cohort")),
    }


def extend_customer_views() -> None:
    """Add the insight filters, columns, ordering and API field to the customer classes."""
    from guanxi.core.tables import Column
    from guanxi.customers import filtersets, selectors, tables
    from guanxi.customers.api import filtersets as api_filtersets
    from guanxi.customers.api import serializers as api_serializers
    from guanxi.customers.api import views as api_views

    if "insight" not in selectors.LIST_RELATED:
        # Loaded with the customer in the same query (no query per row in lists).
        selectors.LIST_RELATED.append("insight")
    for filterset in (filtersets.CustomerFilterSet, api_filtersets.CustomerFilterSet):
        for name, item in insight_filters().items():
            filterset.base_filters.setdefault(name, item)

    table: Any = tables.CustomerTable
    names = {c.name for c in table.columns}
    extra = (
        Column("rfm_segment", _("RFM segment"), "insight.rfm_segment", "insight__rfm_segment"),
        Column("abc_grade", _("ABC"), "insight.abc_grade", "insight__abc_grade"),
        Column("clv", _("CLV"), "insight.clv", "insight__clv", numeric=True),
        Column("ladder_stage", _("Ladder stage"), "insight.ladder_stage", "insight__ladder_stage"),
    )
    table.columns = (*table.columns, *(c for c in extra if c.name not in names))

    from guanxi.customers import views as customer_views

    list_view: Any = customer_views.CustomerListView

    list_view.filter_fields = (
        *list_view.filter_fields,
        *(f for f in FILTER_NAMES if f not in list_view.filter_fields),
    )

    serializer: Any = api_serializers.CustomerSerializer
    if "insight" not in serializer._declared_fields:
        serializer._declared_fields["insight"] = CustomerInsightSerializer(
            read_only=True, allow_null=True
        )
        serializer.Meta.fields = (*serializer.Meta.fields, "insight")
    viewset: Any = api_views.CustomerViewSet
    viewset.ordering_fields = (
        *viewset.ordering_fields,
        *(f for f in ORDERING_FIELDS if f not in viewset.ordering_fields),
    )
