"""Request body parsers that honour Django's body size limit."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import parsers, status
from rest_framework.exceptions import APIException


class RequestTooLarge(APIException):
    """The request body exceeds ``DATA_UPLOAD_MAX_MEMORY_SIZE``: answered as a 413."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "request_too_large"


def too_large() -> RequestTooLarge:
    """The 413 error naming the limit in megabytes."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
    return RequestTooLarge(
        _("The request body is larger than the limit of %(size)s MB.")
        % {"size": f"{limit / (1024 * 1024):g}"}
    )


def _limited(stream: Any) -> Any:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None or stream is None:
        return stream
    # Read one byte past the limit: enough to know, without buffering a huge body.
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise too_large()
    return io.BytesIO(body)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing bodies larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE``.

    Django enforces the limit only when ``request.body`` or ``request.POST`` is read; DRF's
    parsers read the raw stream, so without this check any size would be parsed.
    """

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        return super().parse(_limited(stream), media_type, parser_context)


class FormParser(parsers.FormParser):
    """DRF's URL-encoded form parser with the same body size limit as :class:`JSONParser`."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        return super().parse(_limited(stream), media_type, parser_context)
