"""API views of the signed-in user and of API tokens."""

from __future__ import annotations

from typing import Any

from rest_framework import generics
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from guanxi.accounts.api.serializers import MeSerializer


class MeView(generics.GenericAPIView):
    """The signed-in user: who you are, your role, team, language and permissions."""

    permission_object_type = None  # any signed-in user may read their own profile
    permission_classes = (IsAuthenticated,)
    serializer_class = MeSerializer

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(request.user).data)


class TokenObtainView(ObtainAuthToken):
    """Exchange a username and password for the user's API token.

    Send it as ``Authorization: Token <key>`` on later requests.
    """
