"""The export engine: one path from a permission-scoped, filtered list to a CSV or XLSX file.

The web UI, the API and the ``guanxi export`` command all call :func:`start_export`; none of
them reads records any other way. What a file holds is decided here:

* **Rows** come only from the app's selector called with ``action=Action.EXPORT``, filtered
  by the same FilterSet as the list page (``guanxi/<app>/filtersets.py``). A role without
  export scope on the kind is refused (``PermissionDenied``); a sales rep gets exactly the
  records in his export scope (his own), never a row outside it.
* **Columns** are the import's contract (see :data:`KINDS`): stable machine names equal to
  the model field names, foreign keys as the related record's natural key
  (``customer_external_id``, ``contact_external_id``, ``product_sku``, ``reverses_external_id``,
  ``owner`` and ``user`` as user names, ``team`` as the team name), choices as their stored
  values, tags as a ``;``-separated list, custom fields as ``cf_<key>`` columns, orders one
  row per order line with the order's columns repeated. Re-importing a file gives back the
  same records.
* **Values**: decimals exact (``format(d, "f")`` in CSV, numeric cells in XLSX), datetimes
  ISO 8601 with their UTC offset in the current time zone, booleans ``true``/``false``, text
  passed through :func:`guanxi.dataio.formulas.neutralise` (numbers never are, so a
  reversal's ``-120.00`` stays a number). CSV is UTF-8 with a byte order mark so that Excel
  opens Chinese text correctly.
* **Memory**: records are read with ``.iterator(chunk_size=...)`` and written row by row
  (CSV as a stream of byte chunks, XLSX with openpyxl's write-only workbook into a temporary
  file), so a million rows never sit in memory.

Every export is recorded as an :class:`~guanxi.dataio.models.ExportRecord` (who, when, kind,
format, filters, and the row count once the file is complete).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import IO, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.activities.filtersets import InteractionFilterSet
from guanxi.activities.selectors import interaction_list
from guanxi.core.permissions import ACTION_VERBS, Action, has_permission
from guanxi.customers.filtersets import ContactFilterSet, CustomerFilterSet
from guanxi.customers.models import CustomFieldDefinition
from guanxi.customers.selectors import contact_list, customer_list
from guanxi.sales.filtersets import OrderFilterSet, ProductFilterSet
from guanxi.sales.models import OrderLine
from guanxi.sales.selectors import order_list, product_list

from .formulas import neutralise, xlsx_escape

#: Records fetched per database round trip (and per prefetch batch).
CHUNK_SIZE = 2000

#: Rows an XLSX worksheet can hold below its header (Excel's limit is 1,048,576 rows).
XLSX_MAX_ROWS = 1_048_575

#: Query parameters that steer a list page or an API call rather than filter it.
NON_FILTER_PARAMS = frozenset({"format", "sort", "page", "limit", "offset", "ordering"})

TAG_SEPARATOR = ";"
CUSTOM_FIELD_PREFIX = "cf_"


class ExportFormat(StrEnum):
    """The file formats of an export."""

    CSV = "csv"
    XLSX = "xlsx"


CONTENT_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class ColumnType(StrEnum):
    """How a column's values are written (and so how an import reads them back)."""

    TEXT = "text"  # neutralised against formulas
    NUMBER = "number"  # Decimal or int: numeric, never neutralised
    BOOLEAN = "boolean"
    DATETIME = "datetime"  # ISO 8601 with offset
    DATE = "date"  # ISO 8601


@dataclass(frozen=True)
class Column:
    """One column of an export: its header, how to read a value, and its type."""

    name: str
    get: Callable[[Any], Any]
    type: ColumnType = ColumnType.TEXT


def _attr(path: str) -> Callable[[Any], Any]:
    """A getter following ``a.b.c``; ``None`` as soon as a link is missing."""
    parts = path.split(".")

    def get(obj: Any) -> Any:
        for part in parts:
            if obj is None:
                return None
            obj = getattr(obj, part)
        return obj

    return get


def _fields(names: str, type: ColumnType = ColumnType.TEXT, prefix: str = "") -> list[Column]:
    return [Column(n, _attr(prefix + n), type) for n in names.split()]


@dataclass(frozen=True)
class ExportKind:
    """A kind of record that can be exported: where its rows come from and its columns."""

    name: str
    object_type: str
    label: Any
    selector: Callable[..., QuerySet[Any]]
    filterset_class: Any
    base_columns: Sequence[Column]
    #: Adds prefetches and the stable order for streaming.
    prepare: Callable[[QuerySet[Any]], QuerySet[Any]] = lambda qs: qs.order_by("pk")
    #: Turns one record into file rows (orders: one per line).
    explode: Callable[[Any], Iterator[Any]] | None = None
    #: Columns that depend on configuration (custom fields), computed per export.
    extra_columns: Callable[[], list[Column]] = lambda: []

    def columns(self) -> list[Column]:
        """Every column of this kind's files, in file order."""
        return [*self.base_columns, *self.extra_columns()]


# --- Customers ----------------------------------------------------------------------------


def _tag_list(customer: Any) -> str:
    # Sorted so that two exports of the same data are byte-identical.
    return TAG_SEPARATOR.join(sorted(t.name for t in customer.tags.all()))


def _custom_field_columns() -> list[Column]:
    """One ``cf_<key>`` column per custom field definition, typed like the definition."""
    types = {
        "integer": ColumnType.NUMBER,
        "decimal": ColumnType.NUMBER,
        "boolean": ColumnType.BOOLEAN,
        "date": ColumnType.DATE,
    }
    columns = []
    for definition in CustomFieldDefinition.objects.order_by("name"):
        key = definition.name
        kind = types.get(definition.field_type, ColumnType.TEXT)

        def get(customer: Any, key: str = key, kind: ColumnType = kind) -> Any:
            value = (customer.custom_fields or {}).get(key)
            if value is None or value == "":
                return None
            if kind is ColumnType.NUMBER:
                return Decimal(str(value))
            if kind is ColumnType.DATE:
                return dt.date.fromisoformat(str(value))
            return value

        columns.append(Column(CUSTOM_FIELD_PREFIX + key, get, kind))
    return columns


CUSTOMER_COLUMNS: list[Column] = [
    *_fields(
        "external_id kind name market buyer_motive email phone country province city address "
        "industry language age_band gender income_band education occupation org_size "
        "ownership financial_strength money money_note authority authority_note need "
        "need_note credit_rating"
    ),
    Column("credit_limit", _attr("credit_limit"), ColumnType.NUMBER),
    Column("credit_overdue", _attr("credit_overdue"), ColumnType.BOOLEAN),
    *_fields("source notes"),
    Column("tags", _tag_list),
    Column("owner", _attr("owner.username")),
    Column("team", _attr("team.name")),
]


def _prepare_customers(qs: QuerySet[Any]) -> QuerySet[Any]:
    return qs.select_related("owner", "team").prefetch_related("tags").order_by("pk")


# --- Contacts, products -------------------------------------------------------------------

CONTACT_COLUMNS: list[Column] = [
    Column("external_id", _attr("external_id")),
    Column("customer_external_id", _attr("customer.external_id")),
    *_fields("name title email phone buying_role stance"),
    Column("is_primary", _attr("is_primary"), ColumnType.BOOLEAN),
    Column("notes", _attr("notes")),
]

PRODUCT_COLUMNS: list[Column] = [
    *_fields("sku name category"),
    *_fields("list_price unit_cost", ColumnType.NUMBER),
    Column("currency", _attr("currency")),
    Column("is_active", _attr("is_active"), ColumnType.BOOLEAN),
]

# --- Orders: one row per line -------------------------------------------------------------


@dataclass(frozen=True)
class OrderRow:
    """One file row of an order: the order and one of its lines (``None`` if it has none)."""

    order: Any
    line: Any


ORDER_COLUMNS: list[Column] = [
    Column("external_id", _attr("order.external_id")),
    Column("customer_external_id", _attr("order.customer.external_id")),
    Column("ordered_at", _attr("order.ordered_at"), ColumnType.DATETIME),
    Column("channel", _attr("order.channel")),
    Column("currency", _attr("order.currency")),
    Column("total_amount", _attr("order.total_amount"), ColumnType.NUMBER),
    Column("kind", _attr("order.kind")),
    Column("reverses_external_id", _attr("order.reverses.external_id")),
    Column("line_number", _attr("line.line_number"), ColumnType.NUMBER),
    Column("product_sku", _attr("line.product.sku")),
    Column("description", _attr("line.description")),
    Column("quantity", _attr("line.quantity"), ColumnType.NUMBER),
    Column("unit_price", _attr("line.unit_price"), ColumnType.NUMBER),
    Column("amount", _attr("line.amount"), ColumnType.NUMBER),
]


def _prepare_orders(qs: QuerySet[Any]) -> QuerySet[Any]:
    lines = OrderLine.objects.select_related("product").order_by("line_number")
    return (
        qs.select_related("customer", "reverses")
        .prefetch_related(Prefetch("lines", queryset=lines))
        .order_by("pk")
    )


def _order_rows(order: Any) -> Iterator[OrderRow]:
    lines = list(order.lines.all())
    if not lines:  # an order without lines still gets its row
        yield OrderRow(order, None)
    for line in lines:
        yield OrderRow(order, line)


# --- Interactions -------------------------------------------------------------------------

INTERACTION_COLUMNS: list[Column] = [
    Column("customer_external_id", _attr("customer.external_id")),
    Column("contact_external_id", _attr("contact.external_id")),
    Column("occurred_at", _attr("occurred_at"), ColumnType.DATETIME),
    *_fields("channel direction subject outcome notes"),
    Column("user", _attr("user.username")),
]


def _prepare_interactions(qs: QuerySet[Any]) -> QuerySet[Any]:
    return qs.select_related("customer", "contact", "user").order_by("pk")


#: The kinds of record an export can be made of, by their name in URLs and on the CLI.
KINDS: dict[str, ExportKind] = {
    k.name: k
    for k in (
        ExportKind(
            "customers",
            "customer",
            gettext_lazy("customers"),
            customer_list,
            CustomerFilterSet,
            CUSTOMER_COLUMNS,
            prepare=_prepare_customers,
            extra_columns=_custom_field_columns,
        ),
        ExportKind(
            "contacts",
            "contact",
            gettext_lazy("contacts"),
            contact_list,
            ContactFilterSet,
            CONTACT_COLUMNS,
            prepare=lambda qs: qs.select_related("customer").order_by("pk"),
        ),
        ExportKind(
            "products",
            "product",
            gettext_lazy("products"),
            product_list,
            ProductFilterSet,
            PRODUCT_COLUMNS,
        ),
        ExportKind(
            "orders",
            "order",
            gettext_lazy("orders"),
            order_list,
            OrderFilterSet,
            ORDER_COLUMNS,
            prepare=_prepare_orders,
            explode=_order_rows,
        ),
        ExportKind(
            "interactions",
            "interaction",
            gettext_lazy("interactions"),
            interaction_list,
            InteractionFilterSet,
            INTERACTION_COLUMNS,
            prepare=_prepare_interactions,
        ),
    )
}


def get_kind(name: str) -> ExportKind:
    """The export kind called ``name``; ``ValidationError`` naming the known kinds otherwise."""
    try:
        return KINDS[name]
    except KeyError:
        raise ValidationError(
            _("Unknown export %(kind)s; choose one of: %(kinds)s.")
            % {"kind": name, "kinds": ", ".join(KINDS)}
        ) from None


def may_export(user: Any, kind: str) -> bool:
    """Whether the user has any export scope on the kind (for showing the export menu)."""
    return kind in KINDS and has_permission(user, KINDS[kind].object_type, Action.EXPORT)


# --- Cell values --------------------------------------------------------------------------


def _iso(value: dt.datetime) -> str:
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.isoformat()


def _decimal_text(value: Any) -> str:
    # format "f" never uses an exponent (Decimal("1E+2") -> "100").
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def csv_cell(value: Any, type: ColumnType) -> str:
    """One value as CSV text (empty for no value); text is neutralised, numbers are not."""
    if value is None:
        return ""
    if type is ColumnType.NUMBER:
        return _decimal_text(value)
    if type is ColumnType.BOOLEAN:
        return "true" if value else "false"
    if type is ColumnType.DATETIME:
        return _iso(value)
    if type is ColumnType.DATE:
        return value.isoformat()
    return neutralise(str(value))


def xlsx_cell(value: Any, type: ColumnType) -> Any:
    """One value for an XLSX cell: numbers and booleans typed, everything else text."""
    if value is None:
        return None
    if type is ColumnType.NUMBER:
        return value  # Decimal and int are numeric cells
    if type is ColumnType.BOOLEAN:
        return bool(value)
    if type is ColumnType.DATETIME:
        # Text, not a date cell: Excel dates have no time zone and would lose the offset.
        return _iso(value)
    if type is ColumnType.DATE:
        return value.isoformat()
    return xlsx_escape(neutralise(str(value)))


# --- Running an export --------------------------------------------------------------------


class _Request:
    """The bit of a request a FilterSet needs (its user), for exports outside a request."""

    def __init__(self, user: Any) -> None:
        self.user = user


def filter_params(params: Mapping[str, Any]) -> dict[str, list[str]]:
    """The filter part of query parameters, as ``{name: [values]}`` (for the audit record)."""
    getlist = getattr(params, "getlist", None)
    result: dict[str, list[str]] = {}
    for key in params:
        if key in NON_FILTER_PARAMS:
            continue
        values = getlist(key) if getlist else params[key]
        if not isinstance(values, list | tuple):
            values = [values]
        values = [str(v) for v in values if str(v) != ""]
        if values:
            result[key] = values
    return result


def export_queryset(
    *, user: Any, kind: str, params: Mapping[str, Any] | None = None, request: Any = None
) -> QuerySet[Any]:
    """The records of ``kind`` the user may export, filtered like the list page.

    Raises ``PermissionDenied`` when the role has no export scope on the kind, and
    ``ValidationError`` (naming each filter) when a filter value is not valid.
    """
    spec = get_kind(kind)
    if not has_permission(user, spec.object_type, Action.EXPORT):
        raise PermissionDenied(
            _("You may not %(action)s %(kind)s.")
            % {"action": ACTION_VERBS[Action.EXPORT], "kind": spec.label}
        )
    queryset = spec.selector(user=user, action=Action.EXPORT)
    filters = filter_params(params or {})
    if filters:
        filterset = spec.filterset_class(
            _query_dict(filters), queryset=queryset, request=request or _Request(user)
        )
        if not filterset.is_valid():
            raise ValidationError(
                {name: list(errors) for name, errors in filterset.form.errors.items()}
            )
        # A filter across a many-to-many (tags) can repeat a record; select by key instead.
        queryset = queryset.filter(pk__in=filterset.qs.values("pk"))
    return spec.prepare(queryset)


def _query_dict(filters: Mapping[str, list[str]]) -> Any:
    from django.http import QueryDict

    data = QueryDict(mutable=True)
    for key, values in filters.items():
        data.setlist(key, values)
    return data


@dataclass
class Export:
    """A prepared export: its rows (scoped and filtered), columns, and audit record.

    Write it with :meth:`iter_csv` (byte chunks, for streaming) or :meth:`write_xlsx`; the
    audit record gets its row count when the file is complete.
    """

    kind: ExportKind
    format: ExportFormat
    queryset: QuerySet[Any]
    columns: list[Column]
    record_id: int | None = None
    rows_written: int = 0
    on_row: Callable[[int], None] | None = field(default=None, repr=False)

    @property
    def filename(self) -> str:
        """``customers-20260115-093000.csv``: the kind and the local time of the export."""
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        return f"{self.kind.name}-{stamp}.{self.format.value}"

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    @property
    def header(self) -> list[str]:
        return [c.name for c in self.columns]

    def records(self) -> Iterator[Any]:
        """The file rows in order, read chunk by chunk from the database."""
        for obj in self.queryset.iterator(chunk_size=CHUNK_SIZE):
            if self.kind.explode is None:
                yield obj
            else:
                yield from self.kind.explode(obj)

    def _counted(self, rows: Iterator[Any]) -> Iterator[Any]:
        for row in rows:
            self.rows_written += 1
            if self.on_row is not None:
                self.on_row(self.rows_written)
            yield row

    def iter_csv(self) -> Iterator[bytes]:
        """The CSV file as byte chunks: BOM and header first, then about 64 KB at a time."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(self.header)
        yield "\ufeff".encode() + buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        columns = [(c.get, c.type) for c in self.columns]
        for row in self._counted(self.records()):
            writer.writerow([csv_cell(get(row), type) for get, type in columns])
            if buffer.tell() > 65536:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
        if buffer.tell():
            yield buffer.getvalue().encode("utf-8")
        self.finish()

    def write_xlsx(self, target: IO[bytes]) -> None:
        """Write the XLSX workbook (one sheet named after the kind) to a binary file."""
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(self.kind.name)
        sheet.append(self.header)
        columns = [(c.get, c.type) for c in self.columns]
        for row in self._counted(self.records()):
            if self.rows_written > XLSX_MAX_ROWS:
                raise ValidationError(
                    _(
                        "An XLSX sheet holds at most %(max)s rows; narrow the filters or "
                        "export to CSV."
                    )
                    % {"max": f"{XLSX_MAX_ROWS:,}"}
                )
            sheet.append([xlsx_cell(get(row), type) for get, type in columns])
        workbook.save(target)
        self.finish()

    def finish(self) -> None:
        """Record the row count of the finished file in the audit record."""
        if self.record_id is not None:
            _finish_record(self.record_id, self.rows_written)


def start_export(
    *,
    actor: Any,
    kind: str,
    format: str = ExportFormat.CSV,
    params: Mapping[str, Any] | None = None,
    source: str = "web",
    request: Any = None,
) -> Export:
    """Check the user may export ``kind``, build the scoped, filtered rows, and audit it.

    ``params`` are the list page's (or API call's) query parameters; parameters that steer
    the page (``sort``, ``page``, ``format`` ...) are ignored. Raises ``PermissionDenied``
    without export scope and ``ValidationError`` for an unknown kind, format or filter.
    """
    try:
        file_format = ExportFormat(format)
    except ValueError:
        raise ValidationError(
            {"format": _("Choose a format of: %(formats)s.") % {"formats": "csv, xlsx"}}
        ) from None
    spec = get_kind(kind)
    queryset = export_queryset(user=actor, kind=kind, params=params, request=request)
    export = Export(kind=spec, format=file_format, queryset=queryset, columns=spec.columns())
    export.record_id = _start_record(
        actor=actor,
        kind=spec.name,
        format=file_format,
        filters=filter_params(params or {}),
        source=source,
    )
    return export


# --- Audit --------------------------------------------------------------------------------


def _start_record(
    *, actor: Any, kind: str, format: str, filters: dict[str, list[str]], source: str
) -> int | None:
    """Create the audit record of an export (its row count follows when the file is done)."""
    from .models import ExportRecord

    record = ExportRecord.objects.create(
        user=actor if getattr(actor, "pk", None) else None,
        username=getattr(actor, "username", "") or "",
        kind=kind,
        format=format,
        filters=filters,
        source=source,
    )
    return record.pk


def _finish_record(record_id: int, rows: int) -> None:
    from .models import ExportRecord

    ExportRecord.objects.filter(pk=record_id).update(row_count=rows, finished_at=timezone.now())


def export_record_list(*, user: Any) -> QuerySet[Any]:
    """Exports the user may review: every export for administrators, else the user's own."""
    from guanxi.core.permissions import Role, role_of

    from .models import ExportRecord

    records = ExportRecord.objects.select_related("user")
    if role_of(user) == Role.ADMINISTRATOR:
        return records
    if not getattr(user, "is_authenticated", False):
        return records.none()
    return records.filter(user=user)
