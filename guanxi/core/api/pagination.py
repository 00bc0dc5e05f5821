"""Pagination of API lists."""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination


class Pagination(LimitOffsetPagination):
    """``?limit=&offset=`` pages of 50 by default and at most 1,000 items.

    The cap keeps one request from rendering a whole customer base; bulk reads are what
    the export (with its own permission) is for.
    """

    max_limit = 1000
