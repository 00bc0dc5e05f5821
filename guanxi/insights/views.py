"""The Insights page (refresh runs, model quality, "Refresh now") and the customer panel."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from guanxi.core.views import DetailPanel, register_detail_panel

from . import explain, selectors, services
from .choices import RunStatus


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


def _customer_insight(request: HttpRequest, customer: Any) -> dict[str, Any] | None:
    # The customer came from the customer selector of the detail view: in the user's scope.
    insight = selectors.customer_insight(customer=customer)
    run = selectors.current_run()
    context: dict[str, Any] = {
        "insight": insight,
        "run": run,
        "insights_url": reverse("insights") if selectors.may_view_runs(request.user) else None,
        "fit_message": explain.fit_failure_message(run) if run else "",
    }
    if insight is not None:
        context["reasons"] = {
            "rfm": explain.rfm_reason(insight),
            "abc": explain.abc_reason(insight),
            "ladder": explain.ladder_reason(insight),
            "portfolio": explain.portfolio_reason(insight, run),
            "level": explain.level_reason(insight, run),
        }
    return context


register_detail_panel(
    "customers.customer",
    DetailPanel("insight", "insights/customer_insight_panel.html", _customer_insight, order=15),
)
