"""API errors: Django's domain exceptions become clear 4xx answers naming the field."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from guanxi.core.api.parsers import too_large
from guanxi.core.models import ImmutableRecordError


class Conflict(exceptions.APIException):
    """A write collided with an existing record (a unique value already taken)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def _validation_detail(exc: DjangoValidationError) -> dict[str, Any]:
    if not hasattr(exc, "error_dict"):
        return {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}
    detail = dict(exc.message_dict)
    if NON_FIELD_ERRORS in detail:
        detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop(NON_FIELD_ERRORS)
    return detail


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, after translating Django and guanxi exceptions into API exceptions."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=_validation_detail(exc))
    elif isinstance(exc, ImmutableRecordError):
        exc = exceptions.ValidationError(detail={api_settings.NON_FIELD_ERRORS_KEY: [str(exc)]})
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(detail=str(exc) or None)
    elif isinstance(exc, RequestDataTooBig):
        # Raised by Django for form bodies over DATA_UPLOAD_MAX_MEMORY_SIZE.
        exc = too_large()
    elif isinstance(exc, IntegrityError):
        # The services validate uniqueness first; this is the race (or a trashed twin).
        exc = Conflict(_("This change conflicts with an existing record."))
    return drf_exception_handler(exc, context)
