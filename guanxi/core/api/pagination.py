"""Pagination of API lists."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

from guanxi.core.validators import MAX_ID


class Pagination(LimitOffsetPagination):
    """``?limit=&offset=`` pages of 50 by default and at most 1,000 items.

    The cap keeps one request from rendering a whole customer base; bulk reads are what
    the export (with its own permission) is for. A limit above the cap, or a limit or
    offset that is not a whole number in range, is a 400 naming the parameter: DRF would
    silently answer another page than the one asked for.
    """

    max_limit = 1000

    def get_limit(self, request: Request) -> int | None:
        text = request.query_params.get(self.limit_query_param)
        if text is None or text == "":
            return self.default_limit
        limit = _whole_number(text)
        if limit is None or limit < 1 or (self.max_limit and limit > self.max_limit):
            raise ValidationError(
                {
                    self.limit_query_param: [
                        _("Give a whole number from 1 to %(max)s.") % {"max": self.max_limit}
                    ]
                }
            )
        return limit

    def get_offset(self, request: Request) -> int:
        text = request.query_params.get(self.offset_query_param)
        if text is None or text == "":
            return 0
        offset = _whole_number(text)
        if offset is None or offset > MAX_ID:  # a 64-bit OFFSET at most
            raise ValidationError(
                {self.offset_query_param: [_("Give a whole number of 0 or more.")]}
            )
        return offset


def _whole_number(text: Any) -> int | None:
    text = str(text).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 20:
        return None
    return int(text)
