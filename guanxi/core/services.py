"""Generic audited writes: the building blocks every app's services are made of.

Each function checks the actor's scope, validates, writes, checks the scope again and
records the change in one transaction. App services call these and add domain rules;
views, the API, the admin, importers and tasks call app services, never these directly.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core.changelog import Snapshot, record_change, snapshot
from guanxi.core.models import ChangeAction, SoftDeleteModel
from guanxi.core.permissions import Action, ensure_allowed, ensure_may_create

M = TypeVar("M", bound=models.Model)
S = TypeVar("S", bound=SoftDeleteModel)

ExtraSnapshot = Callable[[Any], Snapshot]


def _assign(obj: models.Model, data: Mapping[str, Any], *, editable: Iterable[str]) -> None:
    allowed = set(editable)
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationError(
            {name: _("This field does not exist or cannot be changed.") for name in unknown}
        )
    for name, value in data.items():
        try:
            field = obj._meta.get_field(name)
        except FieldDoesNotExist:  # pragma: no cover - filtered above
            continue
        if isinstance(field, models.ForeignKey):
            setattr(obj, field.attname if not isinstance(value, models.Model) else name, value)
        else:
            setattr(obj, name, value)


def audited_create(
    *,
    actor: Any,
    model: type[M],
    data: Mapping[str, Any],
    editable: Iterable[str],
    extra_snapshot: ExtraSnapshot | None = None,
    after_save: Callable[[M], None] | None = None,
) -> M:
    """Create a record from ``data`` (only ``editable`` fields), validated and logged."""
    ensure_may_create(actor, model)
    with transaction.atomic():
        obj = model()
        _assign(obj, data, editable=editable)
        obj.full_clean()
        obj.save()
        if after_save:
            after_save(obj)
        ensure_allowed(actor, obj, Action.ADD)
        after = snapshot(obj, extra=extra_snapshot(obj) if extra_snapshot else None)
        record_change(
            actor=actor,
            action=ChangeAction.CREATE,
            obj=obj,
            before=None,
            after={k: v for k, v in after.items() if v not in (None, "", [], {})},
        )
    return obj


def audited_update(
    *,
    actor: Any,
    obj: M,
    data: Mapping[str, Any],
    editable: Iterable[str],
    extra_snapshot: ExtraSnapshot | None = None,
    after_save: Callable[[M], None] | None = None,
) -> M:
    """Change ``editable`` fields of ``obj``; refused if it would leave the actor's scope."""
    with transaction.atomic():
        locked = type(obj)._base_manager.select_for_update().get(pk=obj.pk)
        ensure_allowed(actor, locked, Action.CHANGE)
        before = snapshot(locked, extra=extra_snapshot(locked) if extra_snapshot else None)
        _assign(locked, data, editable=editable)
        locked.full_clean()
        locked.save()
        if after_save:
            after_save(locked)
        ensure_allowed(actor, locked, Action.CHANGE)
        after = snapshot(locked, extra=extra_snapshot(locked) if extra_snapshot else None)
        record_change(
            actor=actor, action=ChangeAction.UPDATE, obj=locked, before=before, after=after
        )
    return locked


def audited_soft_delete(
    *,
    actor: Any,
    obj: S,
    cascade: Iterable[models.QuerySet[Any]] = (),
    batch: uuid.UUID | None = None,
    check: bool = True,
) -> uuid.UUID:
    """Move ``obj`` (and the alive records in ``cascade``) to the trash under one batch id."""
    with transaction.atomic():
        if check:
            ensure_allowed(actor, obj, Action.DELETE)
        batch = batch or uuid.uuid4()
        now = timezone.now()
        for related in cascade:
            for item in related.filter(deleted_at__isnull=True):
                audited_soft_delete(actor=actor, obj=item, batch=batch, check=False)
        type(obj)._base_manager.filter(pk=obj.pk).update(deleted_at=now, deletion_batch=batch)
        record_change(
            actor=actor,
            action=ChangeAction.DELETE,
            obj=obj,
            before=None,
            after=None,
            changes={
                "deleted_at": [obj.deleted_at and obj.deleted_at.isoformat(), now.isoformat()]
            },
        )
        obj.deleted_at, obj.deletion_batch = now, batch
    return batch


def audited_restore(
    *, actor: Any, obj: S, cascade: Iterable[models.QuerySet[Any]] = (), check: bool = True
) -> S:
    """Bring ``obj`` back from the trash, with every record deleted in the same batch."""
    with transaction.atomic():
        if check:
            ensure_allowed(actor, obj, Action.RESTORE)
        if obj.deleted_at is None:
            raise ValidationError(_("This record is not in the trash."))
        batch, deleted_at = obj.deletion_batch, obj.deleted_at
        type(obj)._base_manager.filter(pk=obj.pk).update(deleted_at=None, deletion_batch=None)
        obj.deleted_at, obj.deletion_batch = None, None
        record_change(
            actor=actor,
            action=ChangeAction.RESTORE,
            obj=obj,
            before=None,
            after=None,
            changes={"deleted_at": [deleted_at.isoformat(), None]},
        )
        if batch is not None:
            for related in cascade:
                for item in related.filter(deletion_batch=batch):
                    audited_restore(actor=actor, obj=item, check=False)
    return obj


def audited_delete(*, actor: Any, obj: models.Model) -> None:
    """Remove a record for good; its last full state stays in the change log."""
    with transaction.atomic():
        ensure_allowed(actor, obj, Action.DELETE)
        record_change(
            actor=actor, action=ChangeAction.DELETE, obj=obj, before=snapshot(obj), after=None
        )
        obj.delete()
