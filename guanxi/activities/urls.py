"""Web UI URLs of interactions."""

from django.urls import URLPattern, URLResolver, path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("interactions/", views.InteractionListView.as_view(), name="interaction_list"),
    path("interactions/add/", views.InteractionEditView.as_view(), name="interaction_add"),
    path(
        "interactions/<int:pk>/", views.InteractionDetailView.as_view(), name="interaction_detail"
    ),
    path(
        "interactions/<int:pk>/edit/",
        views.InteractionEditView.as_view(),
        name="interaction_edit",
    ),
    path(
        "interactions/<int:pk>/delete/",
        views.InteractionDeleteView.as_view(),
        name="interaction_delete",
    ),
    path(
        "interactions/<int:pk>/history/",
        views.InteractionHistoryView.as_view(),
        name="interaction_history",
    ),
]
