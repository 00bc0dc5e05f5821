"""Writes of the import's own records (saved mappings); data writes go through the apps."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ..models import ImportKind, ImportMapping
from .mapping import CUSTOM_PREFIX, SYNONYMS


def import_mapping_save(
    *, actor: Any, kind: str, name: str, columns: dict[str, str], shared: bool = False
) -> ImportMapping:
    """Save (or replace) a named column mapping; ``shared`` ones are for administrators."""
    from guanxi.core.permissions import Role, role_of

    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the mapping a name.")})
    if kind not in ImportKind.values:
        raise ValidationError({"kind": _("Unknown kind.")})
    fields = set(SYNONYMS[kind])
    wrong = sorted(
        f for f in columns.values() if f and f not in fields and not f.startswith(CUSTOM_PREFIX)
    )
    if wrong:
        raise ValidationError({"columns": _("Unknown fields: %s") % ", ".join(wrong)})
    if shared and role_of(actor) != Role.ADMINISTRATOR:
        raise ValidationError({"shared": _("Only administrators save shared mappings.")})
    owner = None if shared else actor
    mapping, _created = ImportMapping.objects.update_or_create(
        kind=kind, name=name[:100], user=owner, defaults={"columns": columns}
    )
    return mapping
