"""Merging duplicate customers or contacts, and undoing a merge.

A merge keeps one record (the *survivor*) and moves everything attached to the others onto
it: orders, interactions, contacts, the most recent consent per channel, tags (union);
field values are chosen field by field; notes are concatenated. The others go to the trash
under the merge's batch id. Every step is in one transaction, written to the change log
(action ``merge`` on the survivor, on each merged-away record and on each moved record),
and stored in a :class:`~guanxi.dedup.models.MergeRecord` from which :func:`merge_undo`
restores the exact previous state.

History stays immutable: the merged-away customers' change-log rows keep their own
``customer_id``; the customer history widens itself to the customers merged into it through
``guanxi.core.hooks.on_customer_history`` (registered in ``DedupConfig.ready``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core.changelog import Snapshot, diff, record_change, snapshot
from guanxi.core.context import current_request_id, current_source
from guanxi.core.hooks import orders_changed
from guanxi.core.models import ChangeAction, ChangeRecord
from guanxi.core.permissions import Action, ensure_allowed
from guanxi.customers.models import Contact, Customer, CustomerConsent, Tag
from guanxi.customers.services import CONTACT_EDITABLE, CUSTOMER_EDITABLE

from .models import DuplicateCandidate, MergeKind, MergeRecord
from .selectors import match_records, moving_relations

#: At most this many records merged into a survivor at once (a merge is a reviewed decision).
MAX_OTHERS = 10
#: Fields whose value counts as "not filled in" when choosing a default.
_EMPTY_VALUES: tuple[Any, ...] = (None, "", "unknown", "unassessed", {}, [])
#: Between the notes of merged records.
NOTES_SEPARATOR = "\n\n---\n"
_CHUNK = 500

Choice = models.Model | int | str


@dataclass(frozen=True)
class _Spec:
    """What differs between merging customers and merging contacts."""

    kind: str
    model: type[Customer] | type[Contact]
    fields: tuple[str, ...]
    extra_snapshot: Callable[[Any], Snapshot]


def _customer_extra(customer: Customer) -> Snapshot:
    """Tags and consent, in the same shape as the customer's ordinary history."""
    extra: Snapshot = {"tags": sorted(t.name for t in customer.tags.all())}
    for consent in CustomerConsent.objects.filter(customer=customer):
        extra[f"consent_{consent.channel}"] = consent.as_history_value()
    return extra


def _no_extra(obj: Any) -> Snapshot:
    return {}


_CUSTOMER = _Spec(
    MergeKind.CUSTOMER,
    Customer,
    tuple(f for f in CUSTOMER_EDITABLE if f not in ("custom_fields", "notes")),
    _customer_extra,
)
_CONTACT = _Spec(
    MergeKind.CONTACT,
    Contact,
    # Contacts merge within one organization (merge duplicate customers first): an
    # interaction's contact must belong to the interaction's customer.
    tuple(f for f in CONTACT_EDITABLE if f not in ("notes", "customer")),
    _no_extra,
)


def mergeable_fields(kind: str) -> tuple[str, ...]:
    """The fields a merge chooses one value for (plus ``notes`` and ``custom_fields.<key>``)."""
    return _spec(kind).fields


def _spec(kind: str) -> _Spec:
    return _CUSTOMER if kind == MergeKind.CUSTOMER else _CONTACT


def _pk_of(choice: Choice) -> int | None:
    if isinstance(choice, models.Model):
        return int(choice.pk)
    try:
        return int(choice)
    except (TypeError, ValueError):
        return None


def _is_empty(value: Any) -> bool:
    return any(value == empty and type(value) is type(empty) for empty in _EMPTY_VALUES)


def _attname(model: type[models.Model], name: str) -> str:
    field: Any = model._meta.get_field(name)
    return str(field.attname)


def _custom_value(key: str) -> Callable[[Any], Any]:
    def read(record: Any) -> Any:
        return (record.custom_fields or {}).get(key)

    return read


def _pick(
    name: str,
    records: dict[int, Any],
    order: Sequence[int],
    field_choices: Mapping[str, Choice],
    read: Callable[[Any], Any],
    chosen: dict[str, int],
) -> Any:
    """The value of one field: the chosen record's, else the first non-empty in ``order``."""
    if name in field_choices and field_choices[name] not in (None, ""):
        pk = _pk_of(field_choices[name])
        if pk not in records:
            raise ValidationError({name: _("Choose the value of one of the records being merged.")})
        chosen[name] = pk
        return read(records[pk])
    for pk in order:
        value = read(records[pk])
        if not _is_empty(value):
            return value
    return read(records[order[0]])


def _choose_values(
    spec: _Spec,
    survivor: Any,
    others: Sequence[Any],
    field_choices: Mapping[str, Choice],
) -> tuple[dict[str, Any], dict[str, int]]:
    """The survivor's new field values (by attname) and the explicit choices that were used."""
    records = {survivor.pk: survivor, **{o.pk: o for o in others}}
    order = [survivor.pk, *(o.pk for o in others)]
    unknown = sorted(
        k
        for k in field_choices
        if k not in spec.fields
        and k != "notes"
        and not (spec.kind == MergeKind.CUSTOMER and k.split(".")[0] == "custom_fields")
    )
    if unknown:
        raise ValidationError(
            {k: _("This field does not exist or cannot be merged.") for k in unknown}
        )
    chosen: dict[str, int] = {}
    values: dict[str, Any] = {}
    for name in spec.fields:
        attname = _attname(spec.model, name)
        values[attname] = _pick(name, records, order, field_choices, attrgetter(attname), chosen)
    if "notes" in field_choices and field_choices["notes"] not in (None, ""):
        values["notes"] = _pick("notes", records, order, field_choices, lambda r: r.notes, chosen)
    else:
        parts = [survivor.notes.strip()] if survivor.notes.strip() else []
        for other in others:
            if other.notes.strip() and other.notes.strip() not in parts:
                parts.append(f"{other} (#{other.pk}):\n{other.notes.strip()}")
        values["notes"] = NOTES_SEPARATOR.join(parts)
    if spec.kind == MergeKind.CUSTOMER:
        if "custom_fields" in field_choices and field_choices["custom_fields"] not in (None, ""):
            values["custom_fields"] = dict(
                _pick(
                    "custom_fields",
                    records,
                    order,
                    field_choices,
                    lambda r: r.custom_fields or {},
                    chosen,
                )
            )
        else:
            keys = sorted({k for r in records.values() for k in (r.custom_fields or {})})
            values["custom_fields"] = {}
            for key in keys:
                value = _pick(
                    f"custom_fields.{key}",
                    records,
                    order,
                    field_choices,
                    _custom_value(key),
                    chosen,
                )
                if value not in (None, ""):
                    values["custom_fields"][key] = value
    return values, chosen


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _log_moves(
    *,
    actor: Any,
    model: type[models.Model],
    field: str,
    ids: Sequence[int],
    before: int,
    after: int,
) -> None:
    """One change-log entry per moved record (bulk: a customer may have thousands of orders)."""
    if not ids:
        return
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
    request_id, source = current_request_id(), current_source()
    actor_pk = actor if getattr(actor, "pk", None) else None
    name = str(actor.get_username())[:150] if actor is not None else ""
    manager: Any = model._base_manager
    for chunk in _chunks(ids):
        rows = []
        for obj in manager.filter(pk__in=chunk):
            customer_id = getattr(obj, "changelog_customer_id", lambda: None)()
            rows.append(
                ChangeRecord(
                    actor=actor_pk,
                    actor_name=name,
                    request_id=request_id,
                    source=source,
                    action=ChangeAction.MERGE,
                    content_type=content_type,
                    object_id=str(obj.pk),
                    object_repr=str(obj)[:200],
                    customer_id=customer_id,
                    changes={field: [before, after]},
                )
            )
        ChangeRecord.objects.bulk_create(rows)


def _move(
    *, actor: Any, rel: models.ManyToOneRel, ids: Sequence[int], source: int, target: int
) -> None:
    model: Any = rel.related_model
    field = rel.field
    for chunk in _chunks(ids):
        model._base_manager.filter(pk__in=chunk, **{field.attname: source}).update(
            **{field.attname: target}
        )
    _log_moves(actor=actor, model=model, field=field.name, ids=ids, before=source, after=target)


def _consent_row(consent: CustomerConsent) -> dict[str, Any]:
    return {
        "id": consent.pk,
        "customer": consent.customer_id,
        "channel": consent.channel,
        "granted": consent.granted,
        "recorded_at": consent.recorded_at.isoformat(),
        "method": consent.method,
        "note": consent.note,
    }


def _merge_consents(survivor: Customer, others: Sequence[Customer]) -> dict[str, Any]:
    """Keep the most recent consent per channel on the survivor; return what undo needs.

    A newer consent of a merged-away customer moves to the survivor and the survivor's older
    row on that channel is deleted (kept in the merge record); older rows of the others
    stay with them in the trash.
    """
    rows = list(CustomerConsent.objects.filter(customer__in=[survivor, *others]))
    current = {c.channel: c for c in rows if c.customer_id == survivor.pk}
    winners = dict(current)
    for consent in rows:
        best = winners.get(consent.channel)
        if best is None or consent.recorded_at > best.recorded_at:
            winners[consent.channel] = consent
    moved, deleted = [], []
    for channel, winner in sorted(winners.items()):
        if winner.customer_id == survivor.pk:
            continue
        replaced = current.get(channel)
        if replaced is not None:
            deleted.append(_consent_row(replaced))
            replaced.delete()
        moved.append({"id": winner.pk, "customer": winner.customer_id})
        CustomerConsent.objects.filter(pk=winner.pk).update(customer=survivor)
    return {"moved": moved, "deleted": deleted}


def _survivor_consents(customer_id: int) -> list[dict[str, Any]]:
    rows = CustomerConsent.objects.filter(customer_id=customer_id).order_by("channel")
    return [_consent_row(c) for c in rows]


def _unique_fields(spec: _Spec) -> list[str]:
    return [
        f.attname
        for f in spec.model._meta.concrete_fields
        if f.unique and not f.primary_key and f.name in spec.fields
    ]


def _label(obj: Any) -> str:
    return f"{obj} (#{obj.pk})"


def _merge(
    *,
    spec: _Spec,
    actor: Any,
    survivor: Any,
    others: Sequence[Any],
    field_choices: Mapping[str, Choice] | None,
) -> MergeRecord:
    field_choices = dict(field_choices or {})
    other_ids = [o.pk for o in others]
    if not other_ids:
        raise ValidationError({"others": _("Choose at least one record to merge.")})
    if len(other_ids) > MAX_OTHERS:
        raise ValidationError(
            {"others": _("Merge at most %(n)s records at once.") % {"n": MAX_OTHERS}}
        )
    if survivor.pk in other_ids or len(set(other_ids)) != len(other_ids):
        raise ValidationError({"others": _("Each record can be merged only once.")})
    model: Any = spec.model
    with transaction.atomic():
        locked = {
            o.pk: o
            for o in model._base_manager.select_for_update()
            .filter(pk__in=[survivor.pk, *other_ids])
            .order_by("pk")
        }
        if len(locked) != len(other_ids) + 1:
            raise ValidationError(_("One of the records no longer exists."))
        survivor = locked[survivor.pk]
        others = [locked[pk] for pk in other_ids]
        ensure_allowed(actor, survivor, Action.CHANGE)
        for other in others:
            ensure_allowed(actor, other, Action.DELETE)
        if spec.kind == MergeKind.CONTACT and any(
            o.customer_id != survivor.customer_id for o in others
        ):
            raise ValidationError(
                {
                    "others": _(
                        "Contacts of different organizations cannot be merged; "
                        "merge the organizations first."
                    )
                }
            )
        for obj in (survivor, *others):
            if obj.deleted_at is not None:
                raise ValidationError(
                    _("%(record)s is in the trash; restore it first.") % {"record": _label(obj)}
                )
            if getattr(obj, "erased_at", None) is not None:
                raise ValidationError(
                    _("%(record)s was erased and cannot be merged.") % {"record": _label(obj)}
                )

        before = snapshot(survivor, extra=spec.extra_snapshot(survivor))
        values, chosen = _choose_values(spec, survivor, others, field_choices)
        # A unique value (external id) handed to the survivor is taken from its old holder.
        others_before: dict[str, dict[str, Any]] = {}
        for attname in _unique_fields(spec):
            value = values.get(attname)
            for other in others:
                if value not in (None, "") and getattr(other, attname) == value:
                    others_before.setdefault(str(other.pk), {})[attname] = value
                    model._base_manager.filter(pk=other.pk).update(**{attname: None})
                    setattr(other, attname, None)
        tags_before: list[int] = []
        if spec.kind == MergeKind.CUSTOMER:
            tags_before = sorted(survivor.tags.values_list("pk", flat=True))
        for attname, value in values.items():
            setattr(survivor, attname, value)
        survivor.full_clean()
        survivor.save()

        # Related records: every foreign key to the model, per merged-away record.
        relations: dict[str, Any] = {}
        counts: dict[str, int] = {}
        for rel in moving_relations(model):
            related: Any = rel.related_model
            key = rel.get_accessor_name() or rel.name
            moved: dict[str, list[int]] = {}
            for other in others:
                ids = list(
                    related._base_manager.filter(**{rel.field.attname: other.pk})
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
                if ids:
                    moved[str(other.pk)] = ids
                    _move(actor=actor, rel=rel, ids=ids, source=other.pk, target=survivor.pk)
            relations[key] = {
                "model": related._meta.label_lower,
                "field": rel.field.name,
                "ids": moved,
            }
            counts[key] = sum(len(v) for v in moved.values())

        consents: dict[str, Any] = {"moved": [], "deleted": []}
        if spec.kind == MergeKind.CUSTOMER:
            consents = _merge_consents(survivor, others)
            counts["consents"] = len(consents["moved"])
            tag_ids = set(tags_before)
            for other in others:
                tag_ids.update(other.tags.values_list("pk", flat=True))
            survivor.tags.set(sorted(tag_ids))
            counts["tags"] = len(tag_ids) - len(tags_before)

        ensure_allowed(actor, survivor, Action.CHANGE)
        after = snapshot(survivor, extra=spec.extra_snapshot(survivor))
        batch = uuid.uuid4()
        now = timezone.now()
        merge = MergeRecord.objects.create(
            kind=spec.kind,
            time=now,
            actor=actor if getattr(actor, "pk", None) else None,
            actor_name=str(actor.get_username())[:150] if actor is not None else "",
            request_id=current_request_id(),
            survivor_customer=survivor if spec.kind == MergeKind.CUSTOMER else None,
            survivor_contact=survivor if spec.kind == MergeKind.CONTACT else None,
            other_ids=other_ids,
            other_names=[str(o) for o in others],
            field_choices=chosen,
            counts=counts,
            deletion_batch=batch,
            state={
                "survivor_before": before,
                "survivor_after": after,
                "tags_before": tags_before,
                "others_before": others_before,
                "relations": relations,
                "consents": consents,
                "consents_after": (
                    _survivor_consents(survivor.pk) if spec.kind == MergeKind.CUSTOMER else []
                ),
            },
        )
        for other in others:
            model._base_manager.filter(pk=other.pk).update(deleted_at=now, deletion_batch=batch)
            changes: dict[str, list[Any]] = {
                "merged_into": [None, _label(survivor)],
                "deleted_at": [None, now.isoformat()],
            }
            for attname, value in others_before.get(str(other.pk), {}).items():
                changes[attname] = [value, None]
            record_change(
                actor=actor, action=ChangeAction.MERGE, obj=other, before=None, after=None,
                changes=changes,
            )  # fmt: skip
        survivor_changes = diff(before, after)
        survivor_changes["merged_from"] = [None, ", ".join(_label(o) for o in others)]
        survivor_changes["merge"] = [None, merge.pk]
        record_change(
            actor=actor,
            action=ChangeAction.MERGE,
            obj=survivor,
            before=None,
            after=None,
            changes=survivor_changes,
        )
        _announce_moved_orders(spec, survivor, others)
    return merge


def _announce_moved_orders(spec: _Spec, survivor: Any, others: Sequence[Any]) -> None:
    """Orders moved between customers (a merge or its undo): the figures derived from a
    customer's orders (the insights' order counts, ladder stage, share of customer ...)
    follow inside the same transaction (``core.hooks.orders_changed``)."""
    if spec.kind == MergeKind.CUSTOMER:
        orders_changed([survivor.pk, *(other.pk for other in others)])


def customer_merge(
    *,
    actor: Any,
    survivor: Customer,
    others: Sequence[Customer],
    field_choices: Mapping[str, Choice] | None = None,
) -> MergeRecord:
    """Merge ``others`` into ``survivor``: one customer keeps everything, the rest go to trash.

    ``field_choices`` maps a field (``"email"``, ``"notes"``, ``"custom_fields.<key>"`` or
    ``"custom_fields"`` as a whole) to the customer (or its id) whose value wins; by default
    the survivor's non-empty value wins, else the first non-empty one of ``others``. Notes
    are concatenated unless a choice is given. Orders, interactions, contacts (also those in
    the trash) and any other related records move to the survivor; the most recent consent
    per channel is kept; tags are united. Requires ``change`` on the survivor and ``delete``
    on each other; refused (nothing changes) otherwise.
    """
    return _merge(
        spec=_CUSTOMER, actor=actor, survivor=survivor, others=others, field_choices=field_choices
    )


def contact_merge(
    *,
    actor: Any,
    survivor: Contact,
    others: Sequence[Contact],
    field_choices: Mapping[str, Choice] | None = None,
) -> MergeRecord:
    """Merge duplicate contacts into ``survivor``; their interactions move to it.

    Field choices and permissions as in :func:`customer_merge`. The contacts must belong to
    the same organization (duplicate organizations are merged first), because an
    interaction's contact must belong to the interaction's customer.
    """
    return _merge(
        spec=_CONTACT, actor=actor, survivor=survivor, others=others, field_choices=field_choices
    )


# --- Undo -----------------------------------------------------------------------------------


def _restore_value(model: type[models.Model], name: str, value: Any) -> tuple[str, Any]:
    """A snapshot value back to what the model field holds (attname, python value)."""
    field: Any = model._meta.get_field(name)
    if isinstance(field, models.ForeignKey):
        return field.attname, value
    if value is None:
        return field.attname, None
    if isinstance(field, models.DecimalField):
        return field.attname, Decimal(str(value))
    if isinstance(field, models.DateTimeField):
        return field.attname, dt.datetime.fromisoformat(value)
    if isinstance(field, models.JSONField):
        return field.attname, value
    return field.attname, field.to_python(value)


def _touched(state: dict[str, Any]) -> list[str]:
    before, after = state["survivor_before"], state["survivor_after"]
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def undo_problems(merge: MergeRecord) -> list[str]:
    """Why undoing ``merge`` would be unsafe now (empty when it can be undone).

    Refused when the merge was undone already; when the survivor is in the trash or was
    erased; when a value the merge set (field, tag, consent) was changed since (undo would
    silently overwrite that later change); when a merged-away record left the trash or is
    gone; when a moved record was deleted or moved elsewhere since; when an external id to
    give back is now used by another record. Later changes to fields the merge did not
    touch, and records added to the survivor since, are kept and do not block undo.
    """
    spec = _spec(merge.kind)
    model: Any = spec.model
    state = merge.state
    problems: list[str] = []
    if merge.is_undone:
        return [_("This merge was undone already.")]
    survivor = model._base_manager.filter(
        pk=merge.survivor_customer_id or merge.survivor_contact_id
    ).first()
    if survivor is None:
        return [_("The surviving record no longer exists.")]
    if survivor.deleted_at is not None:
        problems.append(
            _("%(record)s is in the trash; restore it first.") % {"record": _label(survivor)}
        )
    if getattr(survivor, "erased_at", None) is not None:
        problems.append(_("%(record)s was erased.") % {"record": _label(survivor)})
    now = snapshot(survivor, extra=spec.extra_snapshot(survivor))
    after = state["survivor_after"]
    changed = [k for k in _touched(state) if now.get(k) != after.get(k)]
    if changed:
        problems.append(
            _("%(record)s was changed after the merge (%(fields)s); undo would overwrite it.")
            % {"record": _label(survivor), "fields": ", ".join(changed)}
        )
    if spec.kind == MergeKind.CUSTOMER and _survivor_consents(survivor.pk) != state.get(
        "consents_after", []
    ):
        problems.append(_("Consent was recorded for %(record)s after the merge.") % {
            "record": _label(survivor)
        })  # fmt: skip
    others = {o.pk: o for o in model._base_manager.filter(pk__in=merge.other_ids)}
    for pk, name in zip(merge.other_ids, merge.other_names, strict=False):
        other = others.get(pk)
        if other is None:
            problems.append(
                _("%(record)s was purged from the trash.") % {"record": f"{name} (#{pk})"}
            )
        elif other.deleted_at is None or other.deletion_batch != merge.deletion_batch:
            problems.append(
                _("%(record)s was restored or deleted again after the merge.")
                % {"record": _label(other)}
            )
        elif getattr(other, "erased_at", None) is not None:
            problems.append(_("%(record)s was erased.") % {"record": _label(other)})
    for key, relation in state["relations"].items():
        related: Any = _related_model(relation["model"])
        ids = [pk for moved in relation["ids"].values() for pk in moved]
        found = 0
        for chunk in _chunks(ids):
            found += related._base_manager.filter(
                pk__in=chunk, **{f"{relation['field']}_id": survivor.pk}
            ).count()
        if found != len(ids):
            problems.append(
                _("%(n)s of the %(relation)s moved by the merge were deleted or moved since.")
                % {"n": len(ids) - found, "relation": key}
            )
    for other_pk, values in state.get("others_before", {}).items():
        for attname, value in values.items():
            taken = model._base_manager.filter(**{attname: value}).exclude(pk=survivor.pk)
            if taken.exists():
                problems.append(
                    _("%(value)s is now used by another record; it cannot go back to #%(id)s.")
                    % {"value": value, "id": other_pk}
                )
    return problems


def _related_model(label: str) -> type[models.Model]:
    from django.apps import apps

    return apps.get_model(label)


def merge_undo(*, actor: Any, merge: MergeRecord) -> MergeRecord:
    """Undo a merge: the exact state before it comes back, or nothing changes.

    The merged-away records leave the trash with their external ids, every moved record
    goes back to the record it came from, and the survivor's fields, tags and consent get
    their values from before the merge. Requires ``change`` on the survivor and ``restore``
    on the merged-away records. Refused, saying why, when a later change makes it unsafe
    (see :func:`undo_problems`). Logged on every record it touches.
    """
    spec = _spec(merge.kind)
    model: Any = spec.model
    with transaction.atomic():
        merge = MergeRecord.objects.select_for_update().get(pk=merge.pk)
        survivor = (
            model._base_manager.select_for_update()
            .filter(pk=merge.survivor_customer_id or merge.survivor_contact_id)
            .first()
        )
        if survivor is not None:
            ensure_allowed(actor, survivor, Action.CHANGE)
        others = list(
            model._base_manager.select_for_update().filter(pk__in=merge.other_ids).order_by("pk")
        )
        for other in others:
            ensure_allowed(actor, other, Action.RESTORE)
        problems = undo_problems(merge)
        if problems:
            raise ValidationError(problems)
        state = merge.state
        before = snapshot(survivor, extra=spec.extra_snapshot(survivor))

        # The survivor first: it gives back unique values the others get back below.
        restore_names = [
            k
            for k in _touched(state)
            if k not in ("tags", "qualification_status") and not k.startswith("consent_")
        ]
        for name in restore_names:
            attname, value = _restore_value(model, name, state["survivor_before"].get(name))
            setattr(survivor, attname, value)
        if "qualification_status" in _touched(state):
            survivor.qualification_status = state["survivor_before"]["qualification_status"]
        survivor.save()
        if spec.kind == MergeKind.CUSTOMER:
            survivor.tags.set(Tag.objects.filter(pk__in=state["tags_before"]))
            consents = state["consents"]
            for moved in consents["moved"]:
                CustomerConsent.objects.filter(pk=moved["id"]).update(customer_id=moved["customer"])
            for row in consents["deleted"]:
                CustomerConsent.objects.create(
                    id=row["id"],
                    customer_id=row["customer"],
                    channel=row["channel"],
                    granted=row["granted"],
                    recorded_at=dt.datetime.fromisoformat(row["recorded_at"]),
                    method=row["method"],
                    note=row["note"],
                )
        by_pk = {o.pk: o for o in others}
        for relation in state["relations"].values():
            related: Any = _related_model(relation["model"])
            rel = related._meta.get_field(relation["field"]).remote_field
            for other_pk, ids in relation["ids"].items():
                _move(
                    actor=actor,
                    rel=rel,
                    ids=ids,
                    source=survivor.pk,
                    target=int(other_pk),
                )
        for other in others:
            values: dict[str, Any] = {"deleted_at": None, "deletion_batch": None}
            values.update(state.get("others_before", {}).get(str(other.pk), {}))
            model._base_manager.filter(pk=other.pk).update(**values)
            changes: dict[str, list[Any]] = {
                "deleted_at": [other.deleted_at.isoformat() if other.deleted_at else None, None],
                "merge_undone": [None, merge.pk],
            }
            for attname, value in state.get("others_before", {}).get(str(other.pk), {}).items():
                changes[attname] = [None, value]
            record_change(
                actor=actor, action=ChangeAction.RESTORE, obj=by_pk[other.pk], before=None,
                after=None, changes=changes,
            )  # fmt: skip
        after = snapshot(survivor, extra=spec.extra_snapshot(survivor))
        survivor_changes = diff(before, after)
        survivor_changes["merge_undone"] = [None, merge.pk]
        record_change(
            actor=actor,
            action=ChangeAction.UPDATE,
            obj=survivor,
            before=None,
            after=None,
            changes=survivor_changes,
        )
        merge.undone_at = timezone.now()
        merge.undone_by = actor if getattr(actor, "pk", None) else None
        merge.save(update_fields=["undone_at", "undone_by"])
        _announce_moved_orders(spec, survivor, others)
    return merge


def merged_customer_ids(customer: Customer) -> set[int]:
    """Ids of the customers merged into ``customer``, transitively, whose merge stands.

    Registered as a customer history source: the survivor's history shows theirs too.
    """
    found: set[int] = set()
    frontier = {customer.pk}
    while frontier:
        rows = MergeRecord.objects.filter(
            kind=MergeKind.CUSTOMER, survivor_customer_id__in=frontier, undone_at__isnull=True
        ).values_list("other_ids", flat=True)
        new = {int(pk) for ids in rows for pk in ids} - found - {customer.pk}
        found |= new
        frontier = new
    return found


def merge_records_forget(customer: Customer) -> int:
    """Remove the merges that hold the customer's data (privacy erase); return how many.

    A merge record keeps before/after snapshots of every customer in it so that it can be
    undone; once one of them is erased the merge can no longer be undone anyway. Contact
    merges go with the contacts themselves (cascade).
    """
    customer_merges = MergeRecord.objects.filter(kind=MergeKind.CUSTOMER)
    involved = [
        record.pk
        for record in customer_merges.only("pk", "survivor_customer_id", "other_ids")
        if record.survivor_customer_id == customer.pk
        or customer.pk in {int(pk) for pk in record.other_ids}
    ]
    DuplicateCandidate.objects.filter(kind=MergeKind.CUSTOMER).filter(
        models.Q(a_id=customer.pk) | models.Q(b_id=customer.pk)
    ).delete()
    return MergeRecord.objects.filter(pk__in=involved).delete()[0]


# --- Precomputed candidates -----------------------------------------------------------------


def duplicate_candidates_refresh(*, kind: str) -> int:
    """Recompute every likely-duplicate pair of ``kind`` over the whole base; return the count.

    A system job (``guanxi find_duplicates``), not a user's read: the duplicates page keeps
    only the pairs whose two records its user may see. Replaces the previous results in one
    transaction, so the page never shows a half-written set.
    """
    from . import matching

    if kind == MergeKind.CONTACT:
        queryset: Any = Contact.objects.filter(customer__deleted_at__isnull=True)
    else:
        queryset = Customer.objects.all()
    records = match_records(kind=kind, queryset=queryset)
    pairs = matching.find_pairs(records, contacts=kind == MergeKind.CONTACT)
    now = timezone.now()
    with transaction.atomic():
        DuplicateCandidate.objects.filter(kind=kind).delete()
        DuplicateCandidate.objects.bulk_create(
            (
                DuplicateCandidate(
                    kind=kind,
                    a_id=pair.a,
                    b_id=pair.b,
                    score=pair.score,
                    reasons=[[r.code, r.value, r.percent] for r in pair.reasons],
                    computed_at=now,
                )
                for pair in pairs
            ),
            batch_size=2000,
        )
    return len(pairs)
