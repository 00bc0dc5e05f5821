"""Reads of users for the other apps."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from guanxi.core.permissions import Scope, scope_for

from .models import User


def assignable_users(
    user: Any, object_type: str, action: str, current: Any = None
) -> QuerySet[User]:
    """Active users ``user`` may make responsible for an ``object_type`` record (its owner,
    a task's assignee) without the record leaving ``user``'s own scope: anyone with ``all``
    scope, the team with ``team`` scope, otherwise only ``user``. ``current`` (the record's
    present holder) stays a valid choice."""
    scope = scope_for(user, object_type, action)
    users = User.objects.filter(is_active=True)
    if scope is Scope.ALL:
        # (Not Q() | Q(pk=current): an empty Q joined by OR is dropped, leaving current alone.)
        return users.order_by("username")
    if scope is Scope.TEAM and getattr(user, "team_id", None):
        allowed = Q(team_id=user.team_id) | Q(pk=user.pk)
    else:
        allowed = Q(pk=getattr(user, "pk", None))
    if current is not None:
        allowed |= Q(pk=current.pk)
    return users.filter(allowed).order_by("username")
