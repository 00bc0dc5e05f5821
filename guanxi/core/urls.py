"""Web UI URLs of the shell: the start page and the trash."""

from django.urls import URLPattern, URLResolver, path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.HomeView.as_view(), name="home"),
    path("trash/", views.TrashView.as_view(), name="trash"),
]
