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
  same records. Customer files end with the computed insight fields as ``insight_<field>``
  columns (RFM, ABC, CLV, P(alive), ladder stage ...), which an import ignores.
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
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.activities.filtersets import InteractionFilterSet
from guanxi.activities.selectors import interaction_list
from guanxi.core.permissions import ACTION_VERBS, Action, has_permission
from guanxi.customers.filtersets import ContactFilterSet, CustomerFilterSet
from guanxi.customers.models import Customer, CustomFieldDefinition
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
    """One column of an export: its header, the value it shows, and its type.

    ``source`` is an ORM path read with ``values()`` (``owner__username``) or a function of
    the row (a dict of those paths plus what :attr:`ExportKind.enrich` added).
    """

    name: str
    source: str | Callable[[dict[str, Any]], Any]
    type: ColumnType = ColumnType.TEXT

    @property
    def path(self) -> str | None:
        return self.source if isinstance(self.source, str) else None

    def getter(self) -> Callable[[dict[str, Any]], Any]:
        source = self.source
        if isinstance(source, str):
            return lambda row: row.get(source)
        return source


def _fields(names: str, type: ColumnType = ColumnType.TEXT) -> list[Column]:
    return [Column(n, n, type) for n in names.split()]


Batch = list[dict[str, Any]]


@dataclass(frozen=True)
class ExportKind:
    """A kind of record that can be exported: where its rows come from and its columns.

    Rows are read as plain values (``values()``), not model instances: a million rows of
    forty columns is several times faster that way. ``enrich`` adds per-chunk data that a
    join cannot give one-to-one (tags, order lines) with one query per chunk.
    """

    name: str
    object_type: str
    label: Any
    selector: Callable[..., QuerySet[Any]]
    filterset_class: Any
    base_columns: Sequence[Column]
    #: ORM paths read besides the columns' own (the key, custom fields ...).
    extra_values: tuple[str, ...] = ("pk",)
    #: Adds data to a chunk of rows (tags, order lines) with one query per chunk.
    enrich: Callable[[Batch], None] | None = None
    #: Turns one record into file rows (orders: one per line).
    explode: Callable[[dict[str, Any]], Iterator[dict[str, Any]]] | None = None
    #: Columns that depend on configuration (custom fields), computed per export.
    extra_columns: Callable[[], list[Column]] = lambda: []

    def columns(self) -> list[Column]:
        """Every column of this kind's files, in file order."""
        return [*self.base_columns, *self.extra_columns()]


# --- Customers ----------------------------------------------------------------------------


def _attach_tags(batch: Batch) -> None:
    """``row["tags"]``: the customer's tag names, sorted, ``;``-separated."""
    through = Customer.tags.through
    names: dict[int, list[str]] = {}
    pairs = (
        through.objects.filter(customer_id__in=[row["pk"] for row in batch])
        .values_list("customer_id", "tag__name")
        .order_by("customer_id", "tag__name")
    )
    for customer_id, name in pairs:
        names.setdefault(customer_id, []).append(name)
    for row in batch:
        # Sorted so that two exports of the same data are byte-identical.
        row["tags"] = TAG_SEPARATOR.join(names.get(row["pk"], ()))


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

        def get(row: dict[str, Any], key: str = key, kind: ColumnType = kind) -> Any:
            value = (row.get("custom_fields") or {}).get(key)
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
    Column("credit_limit", "credit_limit", ColumnType.NUMBER),
    Column("credit_overdue", "credit_overdue", ColumnType.BOOLEAN),
    Column("category_need", "category_need", ColumnType.NUMBER),
    *_fields("source notes"),
    Column("tags", lambda row: row["tags"]),
    Column("owner", "owner__username"),
    Column("team", "team__name"),
]

#: Prefix of the computed insight columns: an import does not read them back.
INSIGHT_PREFIX = "insight_"

#: The insight fields (issue 5) that follow a customer's own columns, read through the same
#: scoped query (one LEFT JOIN). Empty cells for a customer that no refresh has scored yet.
INSIGHT_COLUMNS: list[Column] = [
    *(
        Column(INSIGHT_PREFIX + name, "insight__" + name, kind)
        for names, kind in (
            ("as_of first_purchase last_purchase", ColumnType.DATE),
            ("order_count total_spend recency_days frequency", ColumnType.NUMBER),
            ("recency_score frequency_score monetary_score", ColumnType.NUMBER),
            ("rfm_segment abc_grade", ColumnType.TEXT),
            ("abc_score", ColumnType.NUMBER),
            ("abc_score_grade", ColumnType.TEXT),
            ("expected_purchases p_alive expected_spend clv", ColumnType.NUMBER),
            ("clv_model churn_risk", ColumnType.TEXT),
            ("loyalty_index share_of_customer", ColumnType.NUMBER),
            (
                "ladder_stage portfolio_quadrant relationship_level relationship_tier",
                ColumnType.TEXT,
            ),
        )
        for name in names.split()
    )
]

# --- Contacts, products -------------------------------------------------------------------

CONTACT_COLUMNS: list[Column] = [
    Column("external_id", "external_id"),
    Column("customer_external_id", "customer__external_id"),
    *_fields("name title email phone buying_role stance"),
    Column("is_primary", "is_primary", ColumnType.BOOLEAN),
    Column("notes", "notes"),
]

PRODUCT_COLUMNS: list[Column] = [
    *_fields("sku name category"),
    *_fields("list_price unit_cost", ColumnType.NUMBER),
    Column("currency", "currency"),
    Column("is_active", "is_active", ColumnType.BOOLEAN),
]

# --- Orders: one row per line -------------------------------------------------------------

_LINE_VALUES = ("line_number", "product__sku", "description", "quantity", "unit_price", "amount")

ORDER_COLUMNS: list[Column] = [
    Column("external_id", "external_id"),
    Column("customer_external_id", "customer__external_id"),
    Column("ordered_at", "ordered_at", ColumnType.DATETIME),
    *_fields("channel currency"),
    Column("total_amount", "total_amount", ColumnType.NUMBER),
    Column("kind", "kind"),
    Column("reverses_external_id", "reverses__external_id"),
    Column("line_number", lambda row: row.get("line_number"), ColumnType.NUMBER),
    Column("product_sku", lambda row: row.get("product__sku")),
    Column("description", lambda row: row.get("description")),
    Column("quantity", lambda row: row.get("quantity"), ColumnType.NUMBER),
    Column("unit_price", lambda row: row.get("unit_price"), ColumnType.NUMBER),
    Column("amount", lambda row: row.get("amount"), ColumnType.NUMBER),
]


def _attach_lines(batch: Batch) -> None:
    """``row["lines"]``: the order's lines in line order, as value dicts."""
    lines: dict[int, list[dict[str, Any]]] = {}
    for line in (
        OrderLine.objects.filter(order_id__in=[row["pk"] for row in batch])
        .order_by("order_id", "line_number")
        .values("order_id", *_LINE_VALUES)
    ):
        lines.setdefault(line["order_id"], []).append(line)
    for row in batch:
        row["lines"] = lines.get(row["pk"], [])


def _order_rows(order: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if not order["lines"]:  # an order without lines still gets its row
        yield order
    for line in order["lines"]:
        yield {**order, **line}


# --- Interactions -------------------------------------------------------------------------

INTERACTION_COLUMNS: list[Column] = [
    Column("customer_external_id", "customer__external_id"),
    Column("contact_external_id", "contact__external_id"),
    Column("occurred_at", "occurred_at", ColumnType.DATETIME),
    *_fields("channel direction subject outcome notes"),
    Column("user", "user__username"),
]


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
            extra_values=("pk", "custom_fields"),
            enrich=_attach_tags,
            extra_columns=lambda: [*_custom_field_columns(), *INSIGHT_COLUMNS],
        ),
        ExportKind(
            "contacts",
            "contact",
            gettext_lazy("contacts"),
            contact_list,
            ContactFilterSet,
            CONTACT_COLUMNS,
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
            enrich=_attach_lines,
            explode=_order_rows,
        ),
        ExportKind(
            "interactions",
            "interaction",
            gettext_lazy("interactions"),
            interaction_list,
            InteractionFilterSet,
            INTERACTION_COLUMNS,
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


def _text(value: Any) -> str:
    return neutralise(value if isinstance(value, str) else str(value))


#: Column type -> how a present value is written to CSV.
_CSV_WRITERS: dict[ColumnType, Callable[[Any], str]] = {
    ColumnType.TEXT: _text,
    ColumnType.NUMBER: _decimal_text,
    ColumnType.BOOLEAN: lambda value: "true" if value else "false",
    ColumnType.DATETIME: _iso,
    ColumnType.DATE: lambda value: value.isoformat(),
}

#: Column type -> how a present value is written to an XLSX cell.
_XLSX_WRITERS: dict[ColumnType, Callable[[Any], Any]] = {
    ColumnType.TEXT: lambda value: xlsx_escape(_text(value)),
    ColumnType.NUMBER: lambda value: value,  # Decimal and int are numeric cells
    ColumnType.BOOLEAN: bool,
    # Text, not a date cell: Excel dates have no time zone and would lose the offset.
    ColumnType.DATETIME: _iso,
    ColumnType.DATE: lambda value: value.isoformat(),
}


def csv_cell(value: Any, type: ColumnType) -> str:
    """One value as CSV text (empty for no value); text is neutralised, numbers are not."""
    return "" if value is None else _CSV_WRITERS[type](value)


def xlsx_cell(value: Any, type: ColumnType) -> Any:
    """One value for an XLSX cell: numbers and booleans typed, everything else text."""
    return None if value is None else _XLSX_WRITERS[type](value)


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
    return queryset.order_by("pk")


def _query_dict(filters: Mapping[str, list[str]]) -> Any:
    from django.http import QueryDict

    data = QueryDict(mutable=True)
    for key, values in filters.items():
        data.setlist(key, values)
    return data


def _batches(rows: Iterator[dict[str, Any]], size: int) -> Iterator[Batch]:
    batch: Batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


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

    def records(self) -> Iterator[dict[str, Any]]:
        """The file rows in key order, read chunk by chunk as plain values."""
        spec = self.kind
        paths = [*spec.extra_values, *(c.path for c in self.columns if c.path)]
        rows = self.queryset.values(*dict.fromkeys(paths)).iterator(chunk_size=CHUNK_SIZE)
        for batch in _batches(rows, CHUNK_SIZE):
            if spec.enrich is not None:
                spec.enrich(batch)
            for row in batch:
                if spec.explode is None:
                    yield row
                else:
                    yield from spec.explode(row)

    def _cells(self, writers: Mapping[ColumnType, Callable[[Any], Any]], empty: Any) -> Any:
        """A function turning a row into its list of cells for one file format."""
        plan = [(c.getter(), writers[c.type]) for c in self.columns]

        def cells(row: dict[str, Any]) -> list[Any]:
            values = []
            for get, write in plan:
                value = get(row)
                values.append(empty if value is None else write(value))
            return values

        return cells

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
        cells = self._cells(_CSV_WRITERS, "")
        for row in self._counted(self.records()):
            writer.writerow(cells(row))
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
        cells = self._cells(_XLSX_WRITERS, None)
        for row in self._counted(self.records()):
            if self.rows_written > XLSX_MAX_ROWS:
                raise ValidationError(
                    _(
                        "An XLSX sheet holds at most %(max)s rows; narrow the filters or "
                        "export to CSV."
                    )
                    % {"max": f"{XLSX_MAX_ROWS:,}"}
                )
            sheet.append(cells(row))
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
