"""Global search: one box that finds customers, contacts and orders the user may see.

Apps register a :class:`SearchProvider` per kind of record (``core`` imports none of them).
A provider runs a few *indexed* lookups on its app's permission-scoped selector, never a
``LIKE '%text%'`` scan: on a base of a million customers every lookup is an index range
scan with a small ``LIMIT``:

* an exact external id (unique index) and an order number prefix;
* an email prefix (the ``varchar_pattern_ops`` index Django creates for indexed text fields
  on PostgreSQL);
* a name prefix in a few spellings of the typed text (as typed, Capitalised, Title Case,
  UPPER, lower), each a range scan of the name index, since an index on ``name`` is
  case-sensitive;
* a phone number compared digits only (spaces and punctuation ignored) through an index on
  the same expression (:func:`phone_digits`).

The query count is constant: at most one query per kind.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Func, Q, Value
from django.db.models.functions import Replace
from django.utils.functional import Promise

from guanxi.core.permissions import Action, has_permission

#: Shortest text searched by name (one letter would match a twentieth of the base).
MIN_NAME_LENGTH = 2
#: Characters a phone number may contain besides digits; ignored when comparing.
PHONE_PUNCTUATION = (" ", "-", "(", ")", ".", "+")
_PHONE_RE = re.compile(r"^\+?[0-9 ()\-.]{5,32}$")


def phone_digits(field: str) -> Func:
    """The digits of a phone field (an expression the database can index)."""
    expression: Any = F(field)
    for char in PHONE_PUNCTUATION:
        expression = Replace(expression, Value(char), Value(""))
    return expression


def normalise_phone(text: str) -> str:
    """What :func:`phone_digits` makes of ``text`` in the database."""
    for char in PHONE_PUNCTUATION:
        text = text.replace(char, "")
    return text


def looks_like_phone(text: str) -> bool:
    return bool(_PHONE_RE.match(text)) and sum(c.isdigit() for c in text) >= 5


def looks_like_email(text: str) -> bool:
    return "@" in text


def name_spellings(text: str) -> list[str]:
    """Spellings of a typed name prefix to look up in a case-sensitive index."""
    variants = [text, text[:1].upper() + text[1:], text.title(), text.upper(), text.lower()]
    return list(dict.fromkeys(v for v in variants if v))


def name_prefix_q(field: str, text: str) -> Q:
    """``field`` starts with ``text`` in any of its usual spellings (index range scans)."""
    condition = Q()
    for variant in name_spellings(text):
        condition |= Q(**{f"{field}__startswith": variant})
    return condition


@dataclass(frozen=True)
class SearchHit:
    """One found record: what it is called, a line that helps tell it apart, its page."""

    title: str
    detail: str
    url: str


@dataclass(frozen=True)
class SearchProvider:
    """How one kind of record is searched. ``search(user, text, limit)`` returns hits."""

    kind: str
    label: str | Promise
    object_type: str
    search: Callable[[Any, str, int], list[SearchHit]]
    list_url_name: str = ""
    order: int = 100


@dataclass
class SearchGroup:
    """The hits of one kind, as shown on the results page and in the drop-down."""

    kind: str
    label: str | Promise
    hits: list[SearchHit]
    more: bool
    list_url_name: str = ""


SEARCH_PROVIDERS: list[SearchProvider] = []


def register_search_provider(provider: SearchProvider) -> None:
    """Add a kind of record to the global search (idempotent per kind)."""
    if all(p.kind != provider.kind for p in SEARCH_PROVIDERS):
        SEARCH_PROVIDERS.append(provider)
        SEARCH_PROVIDERS.sort(key=lambda p: p.order)


def clean_query(text: str) -> str:
    return " ".join((text or "").split())[:100]


def global_search(*, user: Any, text: str, limit: int = 10) -> list[SearchGroup]:
    """The records matching ``text`` that ``user`` may see, grouped by kind.

    Each provider searches its app's scoped selector, so a record outside the user's scope
    is never found; a kind the role may not view is not searched at all.
    """
    text = clean_query(text)
    if not text:
        return []
    groups = []
    for provider in SEARCH_PROVIDERS:
        if not has_permission(user, provider.object_type, Action.VIEW):
            continue
        hits = provider.search(user, text, limit + 1)
        more = len(hits) > limit
        groups.append(
            SearchGroup(provider.kind, provider.label, hits[:limit], more, provider.list_url_name)
        )
    return groups
