"""Roles, record visibility and permission-scoped querysets.

Every read that reaches a user goes through :meth:`ScopedQuerySet.restrict`, and every write
checks the record is in the user's scope for that action both before and after the change
(an edit that would move a record out of the user's scope is refused).

A model takes part by subclassing a queryset from :class:`ScopedQuerySet` and declaring:

``permission_object_type``
    Key into :data:`ROLE_POLICY` (``"customer"``, ``"contact"`` ...).
``scope_owner_fields``
    Lookups to the user(s) who "own" the record; a record is *own* if any of them is the user.
``scope_team_fields``
    Lookups to the team(s) the record belongs to.

A model with no owner fields (the product catalogue) is visible to a role as a whole or not
at all.
"""

from __future__ import annotations

import operator
from enum import StrEnum
from functools import reduce
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class Role(models.TextChoices):
    """The roles a user can hold; each maps to a row of :data:`ROLE_POLICY`."""

    ADMINISTRATOR = "administrator", _("Administrator")
    SALES_MANAGER = "sales_manager", _("Sales manager")
    SALES_REP = "sales_rep", _("Sales rep")
    SERVICE_AGENT = "service_agent", _("Service agent")
    MARKETER = "marketer", _("Marketer")
    ANALYST = "analyst", _("Analyst")
    READ_ONLY = "read_only", _("Read-only")


class Scope(StrEnum):
    """How far an action reaches: nothing, the user's own records, the team's, or all."""

    NONE = "none"
    OWN = "own"
    TEAM = "team"
    ALL = "all"


class Action(StrEnum):
    VIEW = "view"
    ADD = "add"
    CHANGE = "change"
    DELETE = "delete"
    RESTORE = "restore"
    EXPORT = "export"
    REVERSE = "reverse"  # orders: corrected by a reversing order, never edited
    ERASE = "erase"  # privacy erase of personal data


#: The verb of each action as users read it ("You may not delete this customer.").
ACTION_VERBS = {
    Action.VIEW: _("view"),
    Action.ADD: _("add"),
    Action.CHANGE: _("change"),
    Action.DELETE: _("delete"),
    Action.RESTORE: _("restore"),
    Action.EXPORT: _("export"),
    Action.REVERSE: _("reverse"),
    Action.ERASE: _("erase"),
}

#: ``configuration`` covers the set-up records administrators keep (tags, custom fields, teams).
OBJECT_TYPES = (
    "customer", "contact", "product", "order", "interaction", "note", "task", "configuration",
)  # fmt: skip

_ALL_ACTIONS = {a: Scope.ALL for a in Action}


def _grant(scope: Scope, *actions: Action) -> dict[Action, Scope]:
    return {a: scope for a in actions}


_RECORD_WRITES = (Action.ADD, Action.CHANGE, Action.DELETE, Action.RESTORE)

#: Role -> object type -> action -> scope. Salesforce-style defaults: reps own their
#: accounts, managers see their team, service and marketing read across the base, analysts
#: read and export everything, read-only users read their team. Actions not listed: NONE.
ROLE_POLICY: dict[str, dict[str, dict[Action, Scope]]] = {
    Role.ADMINISTRATOR: {t: dict(_ALL_ACTIONS) for t in OBJECT_TYPES},
    Role.SALES_MANAGER: {
        "customer": _grant(Scope.TEAM, Action.VIEW, Action.EXPORT, *_RECORD_WRITES),
        "contact": _grant(Scope.TEAM, Action.VIEW, Action.EXPORT, *_RECORD_WRITES),
        "product": _grant(Scope.ALL, Action.VIEW, Action.EXPORT, Action.ADD, Action.CHANGE),
        "order": _grant(Scope.TEAM, Action.VIEW, Action.EXPORT, Action.ADD, Action.REVERSE),
        "interaction": _grant(
            Scope.TEAM, Action.VIEW, Action.EXPORT, Action.ADD, Action.CHANGE, Action.DELETE
        ),
        "note": _grant(
            Scope.TEAM, Action.VIEW, Action.EXPORT, Action.ADD, Action.CHANGE, Action.DELETE
        ),
        "task": _grant(
            Scope.TEAM, Action.VIEW, Action.EXPORT, Action.ADD, Action.CHANGE, Action.DELETE
        ),
    },
    Role.SALES_REP: {
        "customer": _grant(Scope.OWN, Action.VIEW, Action.EXPORT, *_RECORD_WRITES),
        "contact": _grant(Scope.OWN, Action.VIEW, Action.EXPORT, *_RECORD_WRITES),
        "product": _grant(Scope.ALL, Action.VIEW),
        "order": _grant(Scope.OWN, Action.VIEW, Action.ADD),
        "interaction": _grant(Scope.OWN, Action.VIEW, Action.ADD, Action.CHANGE),
        "note": _grant(Scope.OWN, Action.VIEW, Action.ADD, Action.CHANGE),
        "task": _grant(Scope.OWN, Action.VIEW, Action.ADD, Action.CHANGE),
    },
    Role.SERVICE_AGENT: {
        "customer": _grant(Scope.ALL, Action.VIEW),
        "contact": _grant(Scope.ALL, Action.VIEW, Action.ADD, Action.CHANGE),
        "product": _grant(Scope.ALL, Action.VIEW),
        "order": _grant(Scope.ALL, Action.VIEW),
        "interaction": {Action.VIEW: Scope.ALL, Action.ADD: Scope.ALL, Action.CHANGE: Scope.OWN},
        "note": {Action.VIEW: Scope.ALL, Action.ADD: Scope.ALL, Action.CHANGE: Scope.OWN},
        "task": {Action.VIEW: Scope.ALL, Action.ADD: Scope.ALL, Action.CHANGE: Scope.OWN},
    },
    Role.MARKETER: {
        "customer": _grant(Scope.ALL, Action.VIEW, Action.EXPORT),
        "contact": _grant(Scope.ALL, Action.VIEW, Action.EXPORT),
        "product": _grant(Scope.ALL, Action.VIEW),
        "order": _grant(Scope.ALL, Action.VIEW),
        "interaction": _grant(Scope.ALL, Action.VIEW, Action.ADD),
        "note": _grant(Scope.ALL, Action.VIEW, Action.ADD),
        "task": _grant(Scope.ALL, Action.VIEW, Action.ADD),
    },
    Role.ANALYST: {t: _grant(Scope.ALL, Action.VIEW, Action.EXPORT) for t in OBJECT_TYPES},
    Role.READ_ONLY: {
        "customer": _grant(Scope.TEAM, Action.VIEW),
        "contact": _grant(Scope.TEAM, Action.VIEW),
        "product": _grant(Scope.ALL, Action.VIEW),
        "order": _grant(Scope.TEAM, Action.VIEW),
        "interaction": _grant(Scope.TEAM, Action.VIEW),
        "note": _grant(Scope.TEAM, Action.VIEW),
        "task": _grant(Scope.TEAM, Action.VIEW),
    },
}


def role_of(user: AbstractBaseUser | AnonymousUser | None) -> str | None:
    """The user's effective role; superusers are administrators, anonymous users have none."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if getattr(user, "is_superuser", False):
        return Role.ADMINISTRATOR
    return getattr(user, "role", None)


def scope_for(user: Any, object_type: str, action: str) -> Scope:
    """The scope the user has for ``action`` on ``object_type`` (NONE if not granted)."""
    role = role_of(user)
    if role is None:
        return Scope.NONE
    return ROLE_POLICY.get(role, {}).get(object_type, {}).get(Action(action), Scope.NONE)


def has_permission(user: Any, model: type[models.Model] | str, action: str) -> bool:
    """Whether the user may perform ``action`` on at least some records of ``model``."""
    object_type = model if isinstance(model, str) else getattr(model, "permission_object_type", "")
    return scope_for(user, object_type, action) is not Scope.NONE


_Q = TypeVar("_Q", bound="ScopedQuerySet")


class ScopedQuerySet(models.QuerySet):
    """A queryset that can narrow itself to what a user may see or touch."""

    def restrict(self: _Q, user: Any, action: str = Action.VIEW) -> _Q:
        """Only the records ``user`` may perform ``action`` on (the one read path to users)."""
        model = self.model
        scope = scope_for(user, model.permission_object_type, action)
        owner_fields: tuple[str, ...] = getattr(model, "scope_owner_fields", ())
        team_fields: tuple[str, ...] = getattr(model, "scope_team_fields", ())
        if scope is Scope.NONE:
            return self.none()
        if scope is Scope.ALL or not owner_fields:
            return self
        condition = reduce(operator.or_, (Q(**{f: user.pk}) for f in owner_fields))
        team_id = getattr(user, "team_id", None)
        if scope is Scope.TEAM and team_id is not None and team_fields:
            condition |= reduce(operator.or_, (Q(**{f: team_id}) for f in team_fields))
        return self.filter(condition)


def ensure_allowed(user: Any, obj: models.Model, action: str) -> None:
    """Refuse unless ``obj`` (as currently saved) is within the user's scope for ``action``.

    Called by services before a write, and again after it so that an edit which would move
    the record out of the user's scope (a rep handing an account to a colleague, a manager
    moving it to another team) rolls back.
    """
    model = type(obj)
    manager: Any = getattr(model, "all_objects", model._default_manager)
    if not manager.restrict(user, action).filter(pk=obj.pk).exists():
        raise PermissionDenied(
            _("You may not %(action)s this %(type)s.")
            % {"action": ACTION_VERBS[Action(action)], "type": model._meta.verbose_name}
        )


def ensure_may_create(user: Any, model: type[models.Model]) -> None:
    """Refuse a create outright when the role has no ``add`` scope for the model."""
    if not has_permission(user, model, Action.ADD):
        raise PermissionDenied(
            _("You may not add a %(type)s.") % {"type": model._meta.verbose_name}
        )


def policy_markdown() -> str:
    """The role policy as Markdown tables (one per object type), as printed in the docs."""
    lines: list[str] = []
    for object_type in OBJECT_TYPES:
        lines += [f"### {object_type}", ""]
        lines.append("| role | " + " | ".join(a.value for a in Action) + " |")
        lines.append("|---|" + "---|" * len(Action))
        for role in Role:
            grants = ROLE_POLICY[role].get(object_type, {})
            cells = [grants.get(a, Scope.NONE) for a in Action]
            text = " | ".join("—" if c is Scope.NONE else c.value for c in cells)
            lines.append(f"| {role.label} | {text} |")
        lines.append("")
    return "\n".join(lines)


def _follow(obj: Any, lookup: str) -> Any:
    """The id at the end of ``lookup`` (``customer__owner``) on an in-memory record."""
    *path, last = lookup.split("__")
    for name in path:
        obj = getattr(obj, name, None)
        if obj is None:
            return None
    return getattr(obj, obj._meta.get_field(last).attname)


def allows(user: Any, obj: models.Model, action: str) -> bool:
    """In-memory twin of :meth:`ScopedQuerySet.restrict` for one record as it stands now.

    Bulk writes (imports) check thousands of records, new or changed in memory, without a
    query each; the related records named by the scope lookups must be loaded on ``obj``.
    """
    model = type(obj)
    scope = scope_for(user, getattr(model, "permission_object_type", ""), action)
    owner_fields: tuple[str, ...] = getattr(model, "scope_owner_fields", ())
    team_fields: tuple[str, ...] = getattr(model, "scope_team_fields", ())
    if scope is Scope.NONE:
        return False
    if scope is Scope.ALL or not owner_fields:
        return True
    if any(_follow(obj, f) == user.pk for f in owner_fields):
        return True
    team_id = getattr(user, "team_id", None)
    if scope is Scope.TEAM and team_id is not None:
        return any(_follow(obj, f) == team_id for f in team_fields)
    return False
