"""Web UI URLs of the shell: the start page, the global search and the trash."""

from django.urls import URLPattern, URLResolver, path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.HomeView.as_view(), name="home"),
    path("search/", views.SearchView.as_view(), name="search"),
    path("trash/", views.TrashView.as_view(), name="trash"),
]
urlpatterns.append(path("views/", views.SavedViewListView.as_view(), name="saved_view_list"))
