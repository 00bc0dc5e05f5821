"""Declarative tables for the list pages: columns, whitelisted sorting and cell formatting.

A table is a class listing :class:`Column` objects; the generic list view sorts the queryset
through :meth:`Table.order_queryset` (only columns that declare ``order_by`` can be sorted,
so a URL cannot sort by an arbitrary field) and renders ``includes/table.html``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from django.db import models
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

EMPTY = "—"


def resolve(obj: Any, accessor: str) -> Any:
    """Follow a dotted path (``customer.owner``) and return the value, or None on a gap."""
    value = obj
    for part in accessor.split("."):
        if value is None:
            return None
        value = getattr(value, part, None)
    return value


def display_value(obj: Any, accessor: str) -> Any:
    """The human form of a field: choice labels, local dates, yes/no, an em dash for empty."""
    *path, name = accessor.split(".")
    owner = resolve(obj, ".".join(path)) if path else obj
    if owner is None:
        return EMPTY
    getter = getattr(owner, f"get_{name}_display", None)
    if callable(getter):
        value = getter()
        return value if value not in (None, "") else EMPTY
    return format_value(getattr(owner, name, None))


def format_value(value: Any) -> Any:
    """Format one plain value for display (used by tables and the detail attribute lists)."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, dt.datetime):
        return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, dt.date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, Decimal):
        return formats.number_format(value, use_l10n=True, force_grouping=True)
    if isinstance(value, models.Manager):
        return ", ".join(str(v) for v in value.all()) or EMPTY
    return value


@dataclass(frozen=True)
class Column:
    """One column: what it shows, how it sorts, and where its cell links to.

    ``order_by`` is the whitelisted ordering (a field path or tuple of them); None means the
    column cannot be sorted. ``link`` names a URL taking one argument, read from ``link_pk``.
    """

    name: str
    label: str | Promise
    accessor: str = ""
    order_by: str | tuple[str, ...] | None = None
    link: str | None = None
    link_pk: str = "pk"
    numeric: bool = False

    def value(self, obj: Any) -> Any:
        return display_value(obj, self.accessor or self.name)

    def url(self, obj: Any) -> str | None:
        if not self.link:
            return None
        pk = resolve(obj, self.link_pk)
        return reverse(self.link, args=[pk]) if pk is not None else None


@dataclass(frozen=True)
class Cell:
    value: Any
    url: str | None
    numeric: bool


@dataclass(frozen=True)
class Header:
    name: str
    label: str | Promise
    sortable: bool
    direction: str  # "asc", "desc" or "" when the table is not sorted by this column
    next_sort: str
    numeric: bool

    @property
    def aria_sort(self) -> str:
        return {"asc": "ascending", "desc": "descending"}.get(self.direction, "none")


@dataclass(frozen=True)
class Row:
    """One table row: the record's primary key (for row selection) and its cells."""

    pk: Any
    cells: list[Cell]

    def __iter__(self) -> Iterator[Cell]:
        return iter(self.cells)


@dataclass(frozen=True)
class ColumnChoice:
    """A column the user may show or hide, and whether it is shown now."""

    name: str
    label: str | Promise
    shown: bool


class Table:
    """Base of every list table (``CustomerTable``, ``OrderTable`` ...).

    ``columns`` are all the columns a user may choose from; ``default_columns`` names those
    shown until the user chooses (empty: all). The first column (the record's link) is
    always shown, so every row stays reachable.
    """

    columns: ClassVar[Sequence[Column]] = ()
    #: Columns shown when the user has not chosen (names; empty means every column).
    default_columns: ClassVar[Sequence[str]] = ()
    #: The ordering used when the request does not ask for one (a ``sort`` value).
    default_sort: ClassVar[str] = ""

    def __init__(
        self, rows: Iterable[Any], *, sort: str = "", columns: Sequence[str] | None = None
    ) -> None:
        self.data = rows
        self.sort = sort if self.is_valid_sort(sort) else self.default_sort
        self.shown = self.visible_names(columns)

    @classmethod
    def column_names(cls) -> list[str]:
        return [c.name for c in cls.columns]

    @classmethod
    def visible_names(cls, chosen: Sequence[str] | None) -> list[str]:
        """The columns to show: the chosen ones that exist (else the defaults), in table order.

        A stored choice may name a column that no longer exists (an app was removed); it is
        skipped rather than failing the page.
        """
        names = cls.column_names()
        wanted = set(chosen or ()) & set(names) or set(cls.default_columns or names) & set(names)
        if names:
            wanted.add(names[0])
        return [n for n in names if n in wanted]

    @property
    def visible_columns(self) -> list[Column]:
        return [c for c in self.columns if c.name in self.shown]

    def column_choices(self) -> list[ColumnChoice]:
        return [ColumnChoice(c.name, c.label, c.name in self.shown) for c in self.columns]

    @classmethod
    def is_valid_sort(cls, sort: str) -> bool:
        name = sort.removeprefix("-")
        return any(c.name == name and c.order_by for c in cls.columns)

    @classmethod
    def order_queryset(cls, queryset: QuerySet[Any], sort: str) -> QuerySet[Any]:
        """Apply a whitelisted ``sort`` (``name`` or ``-name``); anything else keeps the default."""
        if not cls.is_valid_sort(sort):
            sort = cls.default_sort
        if not sort:
            return queryset
        descending = sort.startswith("-")
        column = next(c for c in cls.columns if c.name == sort.removeprefix("-"))
        fields = (column.order_by,) if isinstance(column.order_by, str) else column.order_by
        ordering = [f"-{f}" if descending else f for f in fields or ()]
        # The primary key last keeps paging stable when many rows share a value.
        return queryset.order_by(*ordering, "-pk" if descending else "pk")

    def headers(self) -> list[Header]:
        current = self.sort.removeprefix("-")
        direction = "desc" if self.sort.startswith("-") else "asc"
        result = []
        for column in self.visible_columns:
            active = bool(column.order_by) and column.name == current
            next_sort = f"-{column.name}" if active and direction == "asc" else column.name
            result.append(
                Header(
                    name=column.name,
                    label=column.label,
                    sortable=bool(column.order_by),
                    direction=direction if active else "",
                    next_sort=next_sort,
                    numeric=column.numeric,
                )
            )
        return result

    def rows(self) -> list[Row]:
        columns = self.visible_columns
        return [
            Row(obj.pk, [Cell(c.value(obj), c.url(obj), c.numeric) for c in columns])
            for obj in self.data
        ]
