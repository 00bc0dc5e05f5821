"""Web UI URLs of duplicates and merges (mounted at /duplicates/)."""

from django.urls import URLPattern, URLResolver, path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.DuplicateListView.as_view(), name="duplicate_list"),
    path("merge/<str:kind>/", views.MergeView.as_view(), name="duplicate_merge"),
    path("merges/", views.MergeListView.as_view(), name="merge_list"),
    path("merges/<int:pk>/", views.MergeDetailView.as_view(), name="merge_detail"),
    path("merges/<int:pk>/undo/", views.MergeUndoView.as_view(), name="merge_undo"),
]
