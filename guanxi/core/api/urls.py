"""API routes of the shell (saved views, global search), included by ``guanxi.api_urls``."""

from django.urls import URLPattern, path

from guanxi.core.api.saved_views import SavedViewDetailView, SavedViewListView, SearchView

urlpatterns: list[URLPattern] = [
    path("saved-views/", SavedViewListView.as_view(), name="savedview-list"),
    path("saved-views/<int:pk>/", SavedViewDetailView.as_view(), name="savedview-detail"),
    path("search/", SearchView.as_view(), name="search"),
]
