"""Web UI URLs of the insights (mounted at /insights/)."""

from django.urls import URLPattern, URLResolver, path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.InsightsView.as_view(), name="insights"),
    path("dashboards/", views.DashboardView.as_view(), name="insight_dashboards"),
    path("dashboards/<slug:name>/", views.DashboardView.as_view(), name="insight_dashboard"),
    path("runs/", views.RunTableView.as_view(), name="insight_runs"),
    path("refresh/", views.RefreshNowView.as_view(), name="insight_refresh"),
    path("runs/<int:pk>/cancel/", views.CancelRunView.as_view(), name="insight_cancel"),
]
