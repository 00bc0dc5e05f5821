"""The Insights pages: dashboards, refresh runs (model quality, "Refresh now"), the customer
panel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from guanxi.accounts.models import Team, User
from guanxi.core.permissions import Action
from guanxi.core.views import DetailPanel, register_detail_panel

from . import dashboard_cache, dashboards, explain, kpis, panel, selectors, services
from .choices import RFMSegment, RunStatus


def _runs_context(request: HttpRequest) -> dict[str, Any]:
    runs = list(selectors.refresh_run_list(user=request.user)[:20])
    return {
        "runs": runs,
        "active": any(run.is_active for run in runs),
        "may_refresh": services.may_refresh(request.user),
    }


class InsightsView(LoginRequiredMixin, View):
    """Refresh runs with their progress, the current model's comparison and holdout check."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not selectors.may_view_runs(request.user):
            raise Http404
        current = selectors.current_run()
        context = {
            **_runs_context(request),
            "current": current,
            "fit_message": explain.fit_failure_message(current) if current else "",
        }
        return TemplateResponse(request, "insights/insights.html", context)


class RunTableView(LoginRequiredMixin, View):
    """The runs table alone (polled by HTMX while a run is under way)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not selectors.may_view_runs(request.user):
            raise Http404
        return TemplateResponse(request, "insights/run_table.html", _runs_context(request))


class RefreshNowView(LoginRequiredMixin, View):
    """POST: queue a full refresh (administrators and analysts)."""

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            run = services.insight_refresh_request(actor=request.user)
        except PermissionDenied as error:
            raise PermissionDenied(str(error)) from error
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(
                request,
                _("Refresh run #%(pk)s is queued; `guanxi worker` runs it.") % {"pk": run.pk},
            )
        return HttpResponseRedirect(reverse("insights"))


class CancelRunView(LoginRequiredMixin, View):
    """POST: ask a queued or running refresh to stop."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = get_object_or_404(selectors.refresh_run_list(user=request.user), pk=pk)
        try:
            services.insight_refresh_cancel(actor=request.user, run=run)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            if run.status == RunStatus.RUNNING:
                messages.success(request, _("The refresh stops after the current batch."))
            else:
                messages.success(request, _("The refresh was cancelled."))
        return HttpResponseRedirect(reverse("insights"))


# --- Dashboards ---------------------------------------------------------------------------


class DashboardFilterForm(forms.Form):
    """The dashboards' filters: the customer list's own parameters (team, owner, province,
    RFM segment), the period, the two snapshots of the ladder flows, the KPI grouping."""

    team = forms.ModelChoiceField(
        Team.objects.order_by("name"), required=False, label=gettext_lazy("Team")
    )
    owner = forms.ModelChoiceField(
        User.objects.filter(is_active=True).order_by("username"),
        required=False,
        label=gettext_lazy("Owner"),
    )
    province = forms.CharField(
        required=False,
        max_length=50,
        label=gettext_lazy("Province"),
        widget=forms.TextInput(attrs={"list": "dashboard-provinces", "autocomplete": "off"}),
    )
    rfm_segment = forms.ChoiceField(
        choices=[("", "---------"), *RFMSegment.choices],
        required=False,
        label=gettext_lazy("RFM segment"),
    )
    start = forms.DateField(
        required=False, label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, label=gettext_lazy("To"), widget=forms.DateInput(attrs={"type": "date"})
    )
    before = forms.TypedChoiceField(
        required=False, coerce=dt.date.fromisoformat, label=gettext_lazy("Snapshot before")
    )
    after = forms.TypedChoiceField(
        required=False, coerce=dt.date.fromisoformat, label=gettext_lazy("Snapshot after")
    )
    group_by = forms.ChoiceField(
        required=False,
        label=gettext_lazy("KPIs by"),
        choices=[
            ("", gettext_lazy("No grouping")),
            ("team", gettext_lazy("Team")),
            ("owner", gettext_lazy("Owner")),
            ("region", gettext_lazy("Province")),
            ("segment", gettext_lazy("RFM segment")),
        ],
    )

    def __init__(
        self, *args: Any, snapshot_dates: list[dt.date], user: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        # The teams the customer list's own filter offers this user (ScopedFilterSet).
        team: Any = self.fields["team"]
        team.queryset = Team.objects.restrict(user, Action.VIEW).order_by("name")
        choices = [(str(day), str(day)) for day in reversed(snapshot_dates)]
        for name in ("before", "after"):
            field: Any = self.fields[name]
            field.choices = [("", "---------"), *choices]

    def clean(self) -> dict[str, Any]:
        """The period and the two snapshots must be in order."""
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The end must not be before the start."))
        before, after = data.get("before"), data.get("after")
        if before and after and after <= before:
            self.add_error("after", _("Choose a snapshot later than the first one."))
        return data


@dataclass(frozen=True)
class Dashboard:
    """One dashboard page: its tab label, the filters it offers, the data it shows."""

    name: str
    label: str | Promise
    fields: tuple[str, ...]
    build: Callable[[Any, dict[str, Any]], dict[str, Any]]
    #: The period or snapshots shown when the URL gives none (from the snapshot dates).
    defaults: Callable[[list[dt.date]], dict[str, dt.date | None]] = lambda days: {}


_COMMON = ("team", "owner", "province", "rfm_segment")
#: The dashboards' inputs besides the customers counted (the _COMMON filters are in the
#: customers' SQL, which is part of the cache key).
_INPUTS = ("start", "end", "before", "after", "group_by")


def _default_period(days: list[dt.date]) -> dict[str, dt.date | None]:
    start, end = dashboards.default_period()
    return {"start": start, "end": end}


def _default_snapshots(days: list[dt.date]) -> dict[str, dt.date | None]:
    return {"before": days[-2] if len(days) > 1 else None, "after": days[-1] if days else None}


def _default_year(days: list[dt.date]) -> dict[str, dt.date | None]:
    end = days[-1] if days else dashboards.default_period()[1]
    return {"start": end - dt.timedelta(days=365), "end": end}


def _period(data: dict[str, Any]) -> tuple[dt.date, dt.date]:
    default_start, default_end = dashboards.default_period()
    end = data.get("end") or default_end
    start = data.get("start") or (default_start if end == default_end else end - dt.timedelta(29))
    return start, end


def _overview(customers: Any, data: dict[str, Any]) -> dict[str, Any]:
    start, end = _period(data)
    group_by = data.get("group_by") or ""
    groups = kpis.period_kpis(customers, start, end, group_by=group_by) if group_by else []
    group_labels = dict(DashboardFilterForm.base_fields["group_by"].choices)  # type: ignore[attr-defined]
    return {
        "group_label": group_labels.get(group_by, ""),
        "kpis": dashboards.kpi_cards(customers, start, end),
        "equity": dashboards.equity_chart(customers, start - dt.timedelta(days=365), end),
        "groups": groups,
        "group_by": group_by,
        "start": start,
        "end": end,
    }


def _value(customers: Any, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "pareto": dashboards.pareto_chart(customers),
        "clv": dashboards.clv_histogram(customers),
    }


def _rfm(customers: Any, data: dict[str, Any]) -> dict[str, Any]:
    return dashboards.rfm_figures(customers)


def _ladder(customers: Any, data: dict[str, Any]) -> dict[str, Any]:
    days = kpis.all_snapshot_dates()
    after = data.get("after") or (days[-1] if days else None)
    before = data.get("before") or next((d for d in reversed(days) if after and d < after), None)
    flows = dashboards.ladder_flows(customers, before, after) if before and after else None
    return {
        "funnel": dashboards.ladder_counts(customers),
        "flows": flows,
        "before": before,
        "after": after,
    }


def _cohorts(customers: Any, data: dict[str, Any]) -> dict[str, Any]:
    days = kpis.all_snapshot_dates()
    end = data.get("end") or (days[-1] if days else dashboards.default_period()[1])
    start = data.get("start") or end - dt.timedelta(days=365)
    return {"cohorts": dashboards.cohort_heatmap(customers, start, end), "start": start, "end": end}


def _portfolio(customers: Any, data: dict[str, Any]) -> dict[str, Any]:
    run = selectors.current_run()
    threshold = (run.model_params or {}).get("portfolio_value_threshold") if run else None
    return {"portfolio": dashboards.portfolio_chart(customers, threshold)}


DASHBOARDS: dict[str, Dashboard] = {
    d.name: d
    for d in (
        Dashboard(
            "overview",
            gettext_lazy("KPIs"),
            (*_COMMON, "start", "end", "group_by"),
            _overview,
            _default_period,
        ),
        Dashboard("value", gettext_lazy("Pareto and CLV"), _COMMON, _value),
        Dashboard("rfm", gettext_lazy("RFM"), _COMMON, _rfm),
        Dashboard(
            "ladder",
            gettext_lazy("Ladder"),
            (*_COMMON, "before", "after"),
            _ladder,
            _default_snapshots,
        ),
        Dashboard(
            "cohorts", gettext_lazy("Cohorts"), (*_COMMON, "start", "end"), _cohorts, _default_year
        ),
        Dashboard("portfolio", gettext_lazy("Portfolio"), _COMMON, _portfolio),
    )
}


def with_drill_urls(data: Any, base: dict[str, str], list_url: str) -> Any:
    """Every ``drill`` dict in ``data`` gains a sibling ``url``: the customer list filtered
    by the dashboard's filters (``base``) and the drill-down's own filters."""
    if isinstance(data, dict):
        out = {key: with_drill_urls(value, base, list_url) for key, value in data.items()}
        for key in [k for k in data if k == "drill" or k.endswith("_drill")]:
            drill = data[key]
            prefix = key[: -len("drill")]
            if drill:
                out[f"{prefix}url"] = f"{list_url}?{urlencode({**base, **drill})}"
        return out
    if isinstance(data, list | tuple):
        return [with_drill_urls(item, base, list_url) for item in data]
    return data


class DashboardView(LoginRequiredMixin, View):
    """One dashboard over the customers the user may see, filtered by team, owner,
    province and RFM segment; an HTMX request (a filter change) gets only its body."""

    def get(self, request: HttpRequest, name: str = "overview") -> HttpResponse:
        if not selectors.may_view_dashboards(request.user) or name not in DASHBOARDS:
            raise Http404
        dashboard = DASHBOARDS[name]
        days = kpis.all_snapshot_dates()
        params = request.GET.copy()
        if not any(params.get(key) for key in ("start", "end", "before", "after")):
            # Show the period (or snapshots) the figures are of, not empty inputs.
            for key, value in dashboard.defaults(days).items():
                if value is not None:
                    params[key] = str(value)
        form = DashboardFilterForm(params, snapshot_dates=days, user=request.user)
        valid = form.is_valid()
        data = form.cleaned_data if valid else {}
        base = {
            key: str(request.GET[key])
            for key in selectors.DASHBOARD_FILTERS
            if request.GET.get(key) and valid
        }
        try:
            customers = selectors.dashboard_customers(
                user=request.user, filters=base, request=request
            )
        except ValueError:
            customers = selectors.dashboard_customers(user=request.user, filters={})
            base = {}
        # The figures depend on the customers counted (scope and filters, in the key) and
        # on these inputs; they are cached until the data they read changes.
        inputs = {key: data.get(key) for key in _INPUTS}
        inputs["snapshot_dates"] = days
        built, computed_at = dashboard_cache.dashboard_data(
            name, customers, inputs, lambda: dashboard.build(customers, data)
        )
        content = with_drill_urls(built, base, reverse("customer_list"))
        context = {
            "dashboard": dashboard,
            "body_template": f"insights/dashboards/{name}.html",
            "query": urlencode(base),
            "provinces": dashboards.provinces(),
            "dashboards": DASHBOARDS.values(),
            "form": form,
            "fields": [form[field] for field in dashboard.fields],
            "data": content,
            "computed_at": computed_at,
            "run": selectors.current_run(),
            "filtered": bool(base),
            "list_url": f"{reverse('customer_list')}?{urlencode(base)}",
            "may_view_runs": selectors.may_view_runs(request.user),
            "nav_section": "insights",
        }
        htmx = getattr(request, "htmx", None)
        template = "insights/dashboards/page.html"
        if htmx and not htmx.boosted:
            template = "insights/dashboards/body.html"
        response = TemplateResponse(request, template, context)
        patch_vary_headers(response, ["HX-Request"])
        return response


def _customer_insight(request: HttpRequest, customer: Any) -> dict[str, Any] | None:
    # The customer came from the customer selector of the detail view: in the user's scope.
    return panel.customer_value(request, customer)


register_detail_panel(
    "customers.customer",
    DetailPanel("insight", "insights/customer_insight_panel.html", _customer_insight, order=15),
)
