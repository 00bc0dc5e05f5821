"""Web UI URLs of this app."""

from django.urls import URLPattern, URLResolver, path, re_path

from . import views_export, views_import
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

# Imports: upload, preview and mapping, dry run or run, the report of each run.
urlpatterns += [
    path("import/", views_import.ImportHomeView.as_view(), name="data_import"),
    path(
        "import/preview/<str:token>/",
        views_import.ImportPreviewView.as_view(),
        name="data_import_preview",
    ),
    path("import/runs/<int:pk>/", views_import.ImportRunView.as_view(), name="data_import_run"),
    path(
        "import/runs/<int:pk>/errors.csv",
        views_import.ImportErrorsCsvView.as_view(),
        name="data_import_errors",
    ),
]
