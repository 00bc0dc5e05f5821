"""Reads of the insights app.

Per-customer insight fields reach users only through the customer they belong to (the
customer selectors scope them): there is no list of insights apart from customers. The
refresh runs (model quality, timings) describe the whole base, not one customer: they are
shown to the roles that read the whole base or manage others.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django.db.models import QuerySet

from guanxi.core.permissions import Action, Role, has_permission, role_of
from guanxi.customers.filtersets import CustomerFilterSet
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


#: The customer-list filters the dashboards take (and pass on to every drill-down link).
DASHBOARD_FILTERS = ("team", "owner", "province", "rfm_segment")


def may_view_dashboards(user: Any) -> bool:
    """Whether ``user`` sees the dashboards: anyone who may see customers (each sees the
    figures of the customers in their own scope)."""
    return has_permission(user, "customer", Action.VIEW)


def dashboard_customers(
    *, user: Any, filters: dict[str, Any], request: Any = None
) -> QuerySet[Any]:
    """The customers a dashboard counts: those ``user`` may see, narrowed by ``filters``
    (:data:`DASHBOARD_FILTERS`, the customer list's own parameters) through the customer
    list's filter set, so a drill-down link to the list shows exactly these customers.

    Raises ``ValueError`` naming the filters that are not valid.
    """
    data = {
        name: filters[name] for name in DASHBOARD_FILTERS if filters.get(name) not in (None, "")
    }
    # The filter set limits its choices (teams, owners) by the requesting user's scope.
    request = request if request is not None else SimpleNamespace(user=user)
    filterset = CustomerFilterSet(data, queryset=customer_list(user=user), request=request)
    if not filterset.is_valid():
        raise ValueError(", ".join(sorted(filterset.errors)))
    return filterset.qs.order_by()
