"""API routes of the signed-in user and of tokens, included by ``guanxi.api_urls``."""

from django.urls import path

from guanxi.accounts.api.views import MeView, TokenObtainView

urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    path("auth/token/", TokenObtainView.as_view(), name="token-obtain"),
]
