"""Field-level before/after snapshots and the single function that writes the change log."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from guanxi.core.context import current_request_id, current_source
from guanxi.core.models import ChangeAction, ChangeRecord

#: Fields never worth a history line (bookkeeping that changes on every save).
_ALWAYS_EXCLUDED = frozenset({"updated_at", "deletion_batch"})

Snapshot = dict[str, Any]


def to_json_value(value: Any) -> Any:
    """A JSON-safe, lossless representation of a field value (Decimal as string)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    return value


def snapshot(obj: models.Model, *, extra: Snapshot | None = None) -> Snapshot:
    """Every concrete, audited field of ``obj`` as JSON values (foreign keys as ids).

    ``extra`` adds values that live outside the row (tags, consent) so they are diffed too.
    """
    excluded = _ALWAYS_EXCLUDED | set(getattr(obj, "changelog_exclude", ()))
    data: Snapshot = {}
    for field in obj._meta.concrete_fields:
        if field.name in excluded or field.primary_key:
            continue
        data[field.name] = to_json_value(getattr(obj, field.attname))
    if extra:
        data.update({k: to_json_value(v) for k, v in extra.items()})
    return data


def diff(before: Snapshot | None, after: Snapshot | None) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for every field whose value differs."""
    before = before or {}
    after = after or {}
    changes: dict[str, list[Any]] = {}
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old != new:
            changes[name] = [old, new]
    return changes


def _actor_name(actor: Any) -> str:
    if actor is None:
        return ""
    return str(actor.get_username())[:150]


def record_change(
    *,
    actor: Any,
    action: ChangeAction,
    obj: models.Model,
    before: Snapshot | None,
    after: Snapshot | None,
    changes: dict[str, list[Any]] | None = None,
    object_repr: str | None = None,
) -> ChangeRecord | None:
    """Write one change-log entry for ``obj``; nothing when an update changed nothing.

    Must be called inside the transaction that made the change, so the entry and the change
    commit or roll back together.
    """
    changes = diff(before, after) if changes is None else changes
    if action == ChangeAction.UPDATE and not changes:
        return None
    customer_id = getattr(obj, "changelog_customer_id", lambda: None)()
    return ChangeRecord.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=_actor_name(actor),
        request_id=current_request_id(),
        source=current_source(),
        action=action,
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=False),
        object_id=str(obj.pk),
        object_repr=(str(obj) if object_repr is None else object_repr)[:200],
        customer_id=customer_id,
        changes=changes,
    )
