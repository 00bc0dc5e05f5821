"""Reads of import runs: a user sees their own runs; administrators see every run."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from guanxi.core.permissions import Role, has_permission, role_of

from ..models import ImportMapping, ImportRun
from . import OBJECT_TYPES


def import_run_list(*, user: Any) -> QuerySet[ImportRun]:
    """Runs the user may read (an import run names files and errors with customer data)."""
    runs = ImportRun.objects.select_related("user")
    if role_of(user) == Role.ADMINISTRATOR:
        return runs
    return runs.filter(user=user) if user.is_authenticated else runs.none()


def import_run_get(*, user: Any, pk: Any) -> ImportRun:
    """One run the user may read; ``ImportRun.DoesNotExist`` (a 404) otherwise."""
    return import_run_list(user=user).get(pk=pk)


def import_kinds(*, user: Any) -> list[str]:
    """The kinds of file the user's role may import (add or change that kind of record)."""
    return [
        kind
        for kind, object_type in OBJECT_TYPES.items()
        if has_permission(user, object_type, "add")
    ]


def import_mapping_list(*, user: Any, kind: str) -> QuerySet[ImportMapping]:
    """Saved mappings of a kind: the user's own and the shared ones."""
    return ImportMapping.objects.filter(Q(user=user) | Q(user__isnull=True), kind=kind)
