"""Account pages: log in and out, password change, profile (language)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views import View

from guanxi.core.forms import add_service_errors

from .forms import ProfileForm
from .services import user_set_language


class ProfileView(LoginRequiredMixin, View):
    """The user's own settings; saving the language also switches the session to it."""

    template_name = "accounts/profile.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        form = ProfileForm(initial={"language": request.user.language})  # type: ignore[union-attr]
        return TemplateResponse(request, self.template_name, {"form": form})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ProfileForm(request.POST)
        if form.is_valid():
            language = form.cleaned_data["language"]
            user: Any = request.user
            try:
                user_set_language(actor=user, user=user, language=language)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                if language:
                    translation.activate(language)
                messages.success(request, _("Your settings were saved."))
                response = HttpResponseRedirect(reverse("profile"))
                # The language cookie wins over the account setting (see the middleware),
                # so it must follow the new setting or the change would not show.
                if language:
                    response.set_cookie(
                        settings.LANGUAGE_COOKIE_NAME,
                        language,
                        max_age=settings.LANGUAGE_COOKIE_AGE,
                        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
                        secure=settings.LANGUAGE_COOKIE_SECURE,
                        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                    )
                else:
                    response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
                return response
        return TemplateResponse(request, self.template_name, {"form": form})
