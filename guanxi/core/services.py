"""Generic audited writes: the building blocks every app's services are made of.

Each function checks the actor's scope, validates, writes, checks the scope again and
records the change in one transaction. App services call these and add domain rules;
views, the API, the admin, importers and tasks call app services, never these directly.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    FieldDoesNotExist,
    PermissionDenied,
    ValidationError,
)
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core.changelog import Snapshot, diff, record_change, snapshot
from guanxi.core.context import current_request_id, current_source
from guanxi.core.models import (
    ChangeAction,
    ChangeRecord,
    ListPreference,
    SavedView,
    SoftDeleteModel,
)
from guanxi.core.permissions import (
    Action,
    allows,
    ensure_allowed,
    ensure_may_create,
    has_permission,
)

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


# --- Bulk writes (imports) ----------------------------------------------------------------


@dataclass
class BulkRow:
    """One record of a bulk write: ``pk`` None creates it, else updates that record.

    ``data`` holds only the fields to set: an import leaves blank cells out, so a blank
    cell never erases a stored value.
    """

    data: dict[str, Any]
    pk: Any = None


@dataclass
class BulkResult:
    """What a bulk write did with one row: created, updated, unchanged or rejected.

    ``errors`` maps a field name (``""`` for the row as a whole) to its messages.
    """

    status: str
    obj: Any = None
    errors: dict[str, list[str]] = field(default_factory=dict)


def _error_dict(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {("" if k == NON_FIELD_ERRORS else k): v for k, v in exc.message_dict.items()}
    return {"": list(exc.messages)}


def audited_bulk_write(
    *,
    actor: Any,
    model: type[M],
    rows: Sequence[BulkRow],
    editable: Iterable[str],
    check: Callable[[M, bool], None] | None = None,
) -> list[BulkResult]:
    """Create and update many records in one transaction, each checked and logged.

    Row by row: the actor's scope before (updates) and after the change, field validation
    (every field of a new record, the given fields of an updated one), the model's
    ``clean()`` and the caller's ``check(obj, created)``; a failing row is rejected with its
    reasons and never stops the others. The rows are then written with ``bulk_create`` /
    ``bulk_update`` and their field-level change-log entries with one ``bulk_create``, all in
    the caller's transaction. A row that breaks a unique constraint is rejected on its own.
    """
    editable = tuple(editable)
    results: list[BulkResult] = []
    may_add = has_permission(actor, model, Action.ADD)
    fk_names = [f.name for f in model._meta.concrete_fields if f.is_relation]
    with transaction.atomic():
        pks = [row.pk for row in rows if row.pk is not None]
        existing: dict[Any, M] = model._base_manager.select_for_update().in_bulk(pks)
        prepared: list[tuple[BulkResult, Snapshot | None, Snapshot]] = []
        for row in rows:
            created = row.pk is None
            obj = model() if created else existing.get(row.pk)
            result = BulkResult(status="created" if created else "updated", obj=obj)
            results.append(result)
            try:
                if obj is None:
                    raise ValidationError(_("The record no longer exists."))
                if created and not may_add:
                    raise PermissionDenied(
                        _("You may not add a %(type)s.") % {"type": model._meta.verbose_name}
                    )
                if getattr(obj, "deleted_at", None) is not None:
                    raise ValidationError(
                        _("It matches %(type)s #%(pk)s in the trash.")
                        % {"type": model._meta.verbose_name, "pk": obj.pk}
                    )
                if not created and not allows(actor, obj, Action.CHANGE):
                    raise PermissionDenied(
                        _("You may not change %(type)s #%(pk)s.")
                        % {"type": model._meta.verbose_name, "pk": obj.pk}
                    )
                before = None if created else snapshot(obj)
                _assign(obj, row.data, editable=editable)
                if created:
                    obj.clean_fields(exclude=fk_names)
                else:
                    _clean_given(obj, row.data)
                obj.clean()
                if check:
                    check(obj, created)
                if not allows(actor, obj, Action.ADD if created else Action.CHANGE):
                    raise PermissionDenied(
                        _("This %(type)s would be outside what you may change.")
                        % {"type": model._meta.verbose_name}
                    )
                after = snapshot(obj)
            except ValidationError as exc:
                result.status, result.errors = "rejected", _error_dict(exc)
                continue
            except PermissionDenied as exc:
                result.status, result.errors = "rejected", {"": [str(exc)]}
                continue
            if not created and before == after:
                result.status = "unchanged"
                continue
            prepared.append((result, before, after))
        _bulk_save(model, prepared)
        _bulk_log(actor, model, prepared)
    return results


def _clean_given(obj: models.Model, data: Mapping[str, Any]) -> None:
    """Validate only the fields being set (the others were valid when stored)."""
    errors: dict[str, list[str]] = {}
    for name in data:
        field_ = obj._meta.get_field(name)
        if not isinstance(field_, models.Field) or field_.is_relation:
            continue
        try:
            setattr(obj, field_.attname, field_.clean(getattr(obj, field_.attname), obj))
        except ValidationError as exc:
            errors[name] = list(exc.messages)
    if errors:
        raise ValidationError(errors)


def _bulk_save(
    model: type[M], prepared: list[tuple[BulkResult, Snapshot | None, Snapshot]]
) -> None:
    creates = [r for r, before, _after in prepared if before is None]
    updates = [(r, before, after) for r, before, after in prepared if before is not None]
    if creates:
        try:
            with transaction.atomic():
                model._base_manager.bulk_create([r.obj for r in creates])
        except IntegrityError:
            for result in creates:  # find the offending rows; keep the others
                result.obj.pk = None
                try:
                    with transaction.atomic():
                        result.obj.save(force_insert=True)
                except IntegrityError:
                    result.status = "rejected"
                    result.errors = {"": [_("A record with this key already exists.")]}
    if updates:
        fields = sorted(
            {name for _r, before, after in updates for name in diff(before, after)}
            & {f.name for f in model._meta.concrete_fields}
        )
        if fields:
            model._base_manager.bulk_update([r.obj for r, _b, _a in updates], fields, 500)
    prepared[:] = [item for item in prepared if item[0].status != "rejected"]


def _bulk_log(
    actor: Any, model: type[M], prepared: list[tuple[BulkResult, Snapshot | None, Snapshot]]
) -> None:
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
    actor_id = actor.pk if getattr(actor, "pk", None) else None
    name = str(actor.get_username())[:150] if actor is not None else ""
    request_id, source = current_request_id(), current_source()
    entries = []
    for result, before, after in prepared:
        obj = result.obj
        if before is None:
            after = {k: v for k, v in after.items() if v not in (None, "", [], {})}
        entries.append(
            ChangeRecord(
                actor_id=actor_id,
                actor_name=name,
                request_id=request_id,
                source=source,
                action=ChangeAction.CREATE if before is None else ChangeAction.UPDATE,
                content_type=content_type,
                object_id=str(obj.pk),
                object_repr=str(obj)[:200],
                customer_id=getattr(obj, "changelog_customer_id", lambda: None)(),
                changes=diff(before, after),
            )
        )
    ChangeRecord.objects.bulk_create(entries, batch_size=500)


# --- Saved views and list preferences (a user's own settings, not audited records) --------


def _clean_columns(columns: Iterable[str], allowed: Sequence[str] | None) -> list[str]:
    """The chosen columns in table order; unknown names are refused by name."""
    chosen = [str(c) for c in columns]
    if allowed is None:
        return list(dict.fromkeys(chosen))
    unknown = sorted(set(chosen) - set(allowed))
    if unknown:
        raise ValidationError(
            {"columns": _("Unknown columns: %(names)s.") % {"names": ", ".join(unknown)}}
        )
    if not chosen:
        raise ValidationError({"columns": _("Choose at least one column.")})
    return [c for c in allowed if c in chosen]


def _require_user(actor: Any) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise PermissionDenied(_("Sign in to keep list settings."))


def list_columns_set(
    *, actor: Any, list_key: str, columns: Iterable[str], allowed: Sequence[str] | None = None
) -> ListPreference:
    """Remember the columns ``actor`` shows in the list ``list_key`` (in table order)."""
    _require_user(actor)
    cleaned = _clean_columns(columns, allowed)
    pref, _created = ListPreference.objects.update_or_create(
        user=actor, list_key=list_key, defaults={"columns": cleaned}
    )
    return pref


def list_columns_reset(*, actor: Any, list_key: str) -> None:
    """Forget the actor's column choice: the list shows its default columns again."""
    _require_user(actor)
    ListPreference.objects.filter(user=actor, list_key=list_key).delete()


def saved_view_save(
    *,
    actor: Any,
    list_key: str,
    name: str,
    query: str,
    columns: Iterable[str] = (),
    shared: bool = False,
    allowed_columns: Sequence[str] | None = None,
) -> SavedView:
    """Save the actor's list view under ``name`` (replacing their view of that name).

    ``query`` is the list's query string without the page; ``columns`` the columns shown
    (empty: the user's columns at the time the view is applied).
    """
    _require_user(actor)
    name = (name or "").strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = _("Give the view a name.")
    elif len(name) > SavedView._meta.get_field("name").max_length:  # type: ignore[operator]
        errors["name"] = _("A view name is at most 100 characters.")
    if len(query) > SavedView._meta.get_field("query").max_length:  # type: ignore[operator]
        errors["query"] = _("These filters are too long to be saved.")
    if not list_key:
        errors["list_key"] = _("This list cannot be saved as a view.")
    if errors:
        raise ValidationError(errors)
    cleaned = _clean_columns(columns, allowed_columns) if list(columns) else []
    view, _created = SavedView.objects.update_or_create(
        user=actor,
        list_key=list_key,
        name=name,
        defaults={"query": query, "columns": cleaned, "shared": bool(shared)},
    )
    return view


def saved_view_delete(*, actor: Any, view: SavedView) -> None:
    """Delete a saved view; only the user who saved it (or an administrator) may."""
    _require_user(actor)
    if view.user_id != actor.pk and not has_permission(actor, "configuration", Action.DELETE):
        raise PermissionDenied(_("Only the user who saved this view may delete it."))
    view.delete()
