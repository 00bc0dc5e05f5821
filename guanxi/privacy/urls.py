"""Web UI URLs of the privacy actions."""

from django.urls import URLPattern, URLResolver, path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("customers/<int:pk>/erase/", views.CustomerEraseView.as_view(), name="customer_erase"),
]
