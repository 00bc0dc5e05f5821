"""Reads of the insights app.

Per-customer insight fields reach users only through the customer they belong to (the
customer selectors scope them): there is no list of insights apart from customers. The
refresh runs (model quality, timings) describe the whole base, not one customer: they are
shown to the roles that read the whole base or manage others.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from guanxi.core.permissions import Role, role_of
from guanxi.customers.selectors import customer_list

from . import kpis
from .models import CustomerInsight, RefreshRun

#: Roles that see the Insights page (refresh runs, model comparison, holdout check).
RUN_VIEW_ROLES = frozenset({Role.ADMINISTRATOR, Role.ANALYST, Role.SALES_MANAGER, Role.MARKETER})


def may_view_runs(user: Any) -> bool:
    """Whether ``user`` sees the refresh runs."""
    return role_of(user) in RUN_VIEW_ROLES


def refresh_run_list(*, user: Any) -> QuerySet[RefreshRun]:
    """Refresh runs, newest first, for the roles that may see them (none otherwise)."""
    runs = RefreshRun.objects.select_related("requested_by")
    return runs if may_view_runs(user) else runs.none()


def current_run() -> RefreshRun | None:
    """The run whose results the insight rows hold (None before the first refresh)."""
    return RefreshRun.objects.filter(is_current=True).first()


def customer_insight(*, customer: Any) -> CustomerInsight | None:
    """The insight row of a customer the caller already obtained through a customer selector."""
    try:
        insight: CustomerInsight = customer.insight
    except CustomerInsight.DoesNotExist:
        return None
    return insight


def insight_kpis(*, user: Any, start: Any, end: Any, group_by: str | None = None) -> dict[str, Any]:
    """The KPIs of ``[start, end]`` over the customers ``user`` may see
    (:func:`guanxi.insights.kpis.kpi_report`)."""
    return kpis.kpi_report(customer_list(user=user), start, end, group_by=group_by)
