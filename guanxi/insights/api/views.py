"""API of the customer KPIs: read-only, over the customers the user may see."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from guanxi.core.api.viewsets import ScopedViewSet
from guanxi.insights import selectors
from guanxi.insights.kpis import GROUP_FIELDS


class KPIQuerySerializer(serializers.Serializer):
    """The query of ``GET /api/insights/kpis/``: the period and an optional grouping."""

    start = serializers.DateField(label=_("start"))
    end = serializers.DateField(label=_("end"))
    group_by = serializers.ChoiceField(
        label=_("group by"), choices=sorted(GROUP_FIELDS), required=False, allow_blank=True
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The period must not end before it starts."""
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": _("The end must not be before the start.")})
        return attrs


class KPIViewSet(ScopedViewSet):
    """``GET /api/insights/kpis/?start=&end=&group_by=``: the customer KPIs of a period.

    Computed from the insight snapshots of the customers the user may see (their customer
    view scope); see :mod:`guanxi.insights.kpis` for the definitions.
    """

    permission_object_type = "customer"
    filter_backends = ()
    pagination_class = None

    @extend_schema(
        parameters=[
            OpenApiParameter("start", str, required=True),
            OpenApiParameter("end", str, required=True),
            OpenApiParameter("group_by", str, enum=sorted(GROUP_FIELDS)),
        ],
        responses=dict,
    )
    def list(self, request: Request) -> Response:
        """New, lost, upgraded and downgraded customers, profitability, equity, cohorts."""
        query = KPIQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        report = selectors.insight_kpis(
            user=request.user,
            start=data["start"],
            end=data["end"],
            group_by=data.get("group_by") or None,
        )
        return Response(report)
