"""What the insights app adds to the customer pages and the customer API.

``customers`` sits below ``insights`` and must not import it, so this app extends the
customer list (filters, sortable columns), its filter set in the UI and the API, and the
customer serializer (a read-only nested ``insight``) when Django is ready
(:meth:`guanxi.insights.apps.InsightsConfig.ready`). The reads stay the customer selectors:
insight fields are reachable only through a customer the user may see.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .choices import ABCGrade, ChurnRisk, LadderStage, RFMSegment
from .models import CustomerInsight

#: Fields of the nested ``insight`` object of the customer API.
API_FIELDS = (
    "as_of", "first_purchase", "last_purchase", "order_count", "total_spend", "recency_days",
    "frequency", "recency_score", "frequency_score", "monetary_score", "rfm_segment",
    "abc_grade", "abc_score", "abc_score_grade", "expected_purchases", "p_alive",
    "expected_spend", "clv", "clv_model", "churn_risk", "loyalty_index", "ladder_stage",
    "portfolio_quadrant", "relationship_level", "relationship_tier", "refresh_run",
)  # fmt: skip

#: Customer-list filters (UI and API) on the insight fields.
FILTER_NAMES = ("rfm_segment", "abc_grade", "ladder_stage", "churn_risk", "clv_min", "clv_max")

#: API ordering fields (``?ordering=-insight__clv``).
ORDERING_FIELDS = (
    "insight__clv", "insight__p_alive", "insight__total_spend", "insight__last_purchase",
    "insight__recency_days",
)  # fmt: skip


class CustomerInsightSerializer(serializers.ModelSerializer):
    """The insight fields of one customer, read only (null until the first refresh)."""

    class Meta:
        model = CustomerInsight
        fields = API_FIELDS
        read_only_fields = API_FIELDS


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
