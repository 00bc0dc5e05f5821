"""Web UI URLs of this app."""

from django.urls import URLPattern, URLResolver, path, re_path

from . import views_export
from .exporting import KINDS as EXPORT_KINDS

urlpatterns: list[URLPattern | URLResolver] = []

# Exports: only the known kinds match, so a list page of another model finds no export URL.
urlpatterns += [
    re_path(
        rf"^export/(?P<kind>{'|'.join(EXPORT_KINDS)})/$",
        views_export.ExportView.as_view(),
        name="data_export",
    ),
    path("exports/", views_export.ExportHistoryView.as_view(), name="data_export_history"),
]
