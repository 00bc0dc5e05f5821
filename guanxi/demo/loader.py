"""Bulk loading of generated demo data, bypassing the ORM.

This is the one documented exception to "every write goes through a service": a demo load
(like a bulk import) writes millions of rows, so it inserts them directly and writes **no
change-log rows**; the records simply appear, as if migrated in from an older system. Every
later change made through the application is audited as usual.

* SQLite: ``executemany`` on the raw ``sqlite3`` connection, with a rollback journal,
  ``synchronous=OFF`` and a large page cache only for the duration of the load.
* PostgreSQL: ``COPY ... FROM STDIN`` through psycopg 3; then the id sequences are moved
  past the loaded ids and the tables analysed.

Both load the whole company in **one transaction**, generated and written chunk by chunk
(memory stays bounded by the chunk size). Secondary indexes (and on PostgreSQL the unique
and foreign-key constraints) are dropped at its start and rebuilt at its end, which is
several times faster than maintaining them row by row (see ``benchmarks/README.md``).
Because the schema changes are part of the same transaction, an interrupted load rolls
back completely: no half-loaded demo, no table left without its indexes.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np
from django.apps import apps
from django.core.management.color import no_style
from django.db import connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from guanxi.activities.models import Interaction
from guanxi.customers.models import Contact, Customer, CustomerConsent, Tag
from guanxi.demo.generator import DemoGenerator, DemoSpec, StaffMember, Table
from guanxi.sales.models import Order, OrderLine, Product

#: Generator table name -> model whose table receives the rows (load order matters).
TABLE_MODELS: dict[str, type[models.Model]] = {
    "product": Product,
    "tag": Tag,
    "customer": Customer,
    "contact": Contact,
    "customer_tags": Customer.tags.through,
    "customerconsent": CustomerConsent,
    "order": Order,
    "orderline": OrderLine,
    "interaction": Interaction,
}

#: Label for progress and summaries.
TABLE_LABELS = {
    "product": "products",
    "tag": "tags",
    "customer": "customers",
    "contact": "contacts",
    "customer_tags": "tag assignments",
    "customerconsent": "consents",
    "order": "orders",
    "orderline": "order lines",
    "interaction": "interactions",
}


@dataclass
class LoadStats:
    """Rows written and seconds spent per table, and the whole load's wall-clock time."""

    method: str
    rows: dict[str, int] = field(default_factory=dict)
    write_seconds: dict[str, float] = field(default_factory=dict)
    generate_seconds: float = 0.0
    finish_seconds: float = 0.0
    total_seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def add(self, table: str, rows: int, seconds: float) -> None:
        self.rows[table] = self.rows.get(table, 0) + rows
        self.write_seconds[table] = self.write_seconds.get(table, 0.0) + seconds

    def summary(self) -> str:
        """One line: counts per table and overall rows per second."""
        counts = ", ".join(f"{self.rows.get(t, 0):,} {TABLE_LABELS[t]}" for t in TABLE_MODELS)
        rate = self.total_rows / self.total_seconds if self.total_seconds else 0.0
        return (
            f"Loaded {counts} ({self.total_rows:,} rows) in {self.total_seconds:.1f} s, "
            f"{rate:,.0f} rows/s [{self.method}]"
        )


def demo_data_present(using: str = "default") -> bool:
    """Whether the database already holds CRM records (then a demo load would mix in)."""
    return any(m._base_manager.using(using).exists() for m in (Customer, Order, Product, Tag))


def _crm_tables() -> list[str]:
    """Every table of guanxi's own apps except users and teams (and Django's own)."""
    tables: list[str] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("guanxi.") or config.label == "accounts":
            continue
        for model in config.get_models(include_auto_created=True):
            if model._meta.managed and not model._meta.proxy:
                tables.append(model._meta.db_table)
    return tables


def wipe_crm_data(using: str = "default") -> None:
    """Delete every CRM record (customers, orders, change log ...); keep users and teams.

    Used by ``guanxi demo --reset``. Tables of apps that reference customers are emptied
    with them, so no foreign key is left dangling.
    """
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # TRUNCATE refuses tables with deferred checks pending in this transaction.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    sql = connection.ops.sql_flush(
        no_style(), _crm_tables(), reset_sequences=True, allow_cascade=True
    )
    connection.ops.execute_sql_flush(sql)


def _first_ids(using: str) -> dict[str, int]:
    first: dict[str, int] = {}
    for name, model in TABLE_MODELS.items():
        largest = model._base_manager.using(using).aggregate(m=models.Max("pk"))["m"]
        first[name] = (largest or 0) + 1
    return first


# --------------------------------------------------------------------------- writers
class _Writer:
    method = ""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        connection.ensure_connection()
        self.raw: Any = connection.connection

    def values(self, table: Table, name: str, column: Any) -> list[Any]:
        """One column as Python values the driver accepts."""
        if not isinstance(column, np.ndarray):
            return list(column)
        if column.dtype.kind == "M":
            return self.datetimes(column)
        if name in table.money:
            if column.dtype.kind == "f":
                cents = column / 100.0
                return [None if v != v else v for v in cents.tolist()]
            # Exact: every cent count below 2**53 / 100 prints back as itself.
            return (column / 100.0).tolist()
        return column.tolist()

    def datetimes(self, column: np.ndarray) -> list[str]:
        raise NotImplementedError

    def rows(self, table: Table) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
        names = list(table.columns)
        columns = [self.values(table, n, table.columns[n]) for n in names]
        return names, zip(*columns, strict=True)

    def write(self, db_table: str, table: Table) -> None:
        raise NotImplementedError

    def begin(self) -> None:
        """Tune the database for a bulk load (outside any transaction)."""

    def prepare(self, loaded: list[type[models.Model]]) -> None:
        """Inside the load's transaction, before the first row."""

    def complete(self, loaded: list[type[models.Model]]) -> None:
        """Inside the load's transaction, after the last row."""

    def finish(self, loaded: list[type[models.Model]]) -> None:
        """After the load (committed or not): restore settings, refresh statistics."""


class _SQLiteWriter(_Writer):
    method = "sqlite executemany"
    _saved: dict[str, Any]

    def datetimes(self, column: np.ndarray) -> list[str]:
        # Django stores aware datetimes on SQLite as naive UTC text "YYYY-MM-DD HH:MM:SS".
        text = np.datetime_as_string(column, unit="s")
        if len(text):
            text.view(np.uint32).reshape(len(text), -1)[:, 10] = ord(" ")
        return text.tolist()

    def write(self, db_table: str, table: Table) -> None:
        names, rows = self.rows(table)
        columns = ", ".join(f'"{n}"' for n in names)
        placeholders = ", ".join("?" * len(names))
        sql = f'INSERT INTO "{db_table}" ({columns}) VALUES ({placeholders})'  # noqa: S608
        self.raw.executemany(sql, rows)

    _indexes: list[tuple[str, str]]

    def begin(self) -> None:
        self._saved = {}
        if self.connection.in_atomic_block:
            return  # pragmas cannot change inside a transaction (e.g. under a test)
        # A rollback journal only records the (few) pages that existed before; WAL would
        # write every new page twice. synchronous=OFF: a crash mid-load rolls back anyway.
        tuning = (("journal_mode", "TRUNCATE"), ("synchronous", "OFF"), ("cache_size", "-262144"))
        for pragma, value in tuning:
            before = self.raw.execute(f"PRAGMA {pragma}").fetchone()[0]
            try:
                self.raw.execute(f"PRAGMA {pragma}={value}")
            except sqlite3.OperationalError:
                continue  # another process holds the database open in WAL mode: keep it
            self._saved[pragma] = before

    def prepare(self, loaded: list[type[models.Model]]) -> None:
        # Inserting into a dozen random-order indexes per row is most of the cost;
        # CREATE INDEX over the loaded table sorts once. Inline UNIQUE constraints
        # (sqlite_autoindex_*, sql IS NULL) cannot be dropped and stay.
        tables = [m._meta.db_table for m in loaded]
        marks = ", ".join("?" * len(tables))
        self._indexes = self.raw.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' "  # noqa: S608
            f"AND sql IS NOT NULL AND tbl_name IN ({marks}) ORDER BY name",
            tables,
        ).fetchall()
        for name, _sql in self._indexes:
            self.raw.execute(f'DROP INDEX "{name}"')

    def complete(self, loaded: list[type[models.Model]]) -> None:
        for _name, sql in self._indexes:
            self.raw.execute(sql)

    def finish(self, loaded: list[type[models.Model]]) -> None:
        for pragma, value in reversed(self._saved.items()):
            self.raw.execute(f"PRAGMA {pragma}={value}")
        if loaded and not self.connection.in_atomic_block:
            self.raw.execute("PRAGMA optimize")


class _PostgresWriter(_Writer):
    method = "postgresql copy"

    def datetimes(self, column: np.ndarray) -> list[str]:
        return np.datetime_as_string(column, unit="s", timezone="UTC").tolist()

    def write(self, db_table: str, table: Table) -> None:
        names, rows = self.rows(table)
        columns = ", ".join(f'"{n}"' for n in names)
        sql = f'COPY "{db_table}" ({columns}) FROM STDIN'
        with self.raw.cursor() as cursor, cursor.copy(sql) as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)

    _constraints: list[tuple[str, str, str, str]]
    _indexes: list[tuple[str, str]]

    def prepare(self, loaded: list[type[models.Model]]) -> None:
        # Maintaining secondary indexes row by row and checking millions of deferred
        # foreign-key triggers at commit cost several times the COPY itself; rebuilding an
        # index over the loaded table and validating a constraint in one join do not.
        # Primary keys stay: ids arrive in ascending order, so they only append.
        tables = [m._meta.db_table for m in loaded]
        with self.connection.cursor() as cursor:
            # Run checks still pending in this transaction (e.g. of the demo users just
            # created); PostgreSQL refuses to alter a table with pending trigger events.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            cursor.execute(
                "SELECT c.contype, t.relname, c.conname, pg_get_constraintdef(c.oid) "
                "FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
                "WHERE c.contype IN ('f', 'u') AND t.relname = ANY(%s) "
                "AND t.relnamespace = to_regnamespace(current_schema())::oid "
                "ORDER BY c.contype, t.relname, c.conname",
                [tables],
            )
            self._constraints = [tuple(row) for row in cursor.fetchall()]
            cursor.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i "
                "WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s) "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname "
                "AND c.contype IN ('p', 'u')) ORDER BY i.indexname",
                [tables],
            )
            self._indexes = [tuple(row) for row in cursor.fetchall()]
            for _kind, table, name, _definition in self._constraints:  # 'f' sorts first
                cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
            for name, _definition in self._indexes:
                cursor.execute(f'DROP INDEX "{name}"')

    def complete(self, loaded: list[type[models.Model]]) -> None:
        with self.connection.cursor() as cursor:
            for _name, definition in self._indexes:
                cursor.execute(definition)
            for _kind, table, name, definition in reversed(self._constraints):
                cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
            for statement in self.connection.ops.sequence_reset_sql(no_style(), loaded):
                cursor.execute(statement)

    def finish(self, loaded: list[type[models.Model]]) -> None:
        if self.connection.in_atomic_block:
            return
        with self.connection.cursor() as cursor:
            for model in loaded:
                cursor.execute(f'ANALYZE "{model._meta.db_table}"')


def _writer(connection: BaseDatabaseWrapper) -> _Writer:
    if connection.vendor == "postgresql":
        return _PostgresWriter(connection)
    if connection.vendor == "sqlite":
        return _SQLiteWriter(connection)
    raise NotImplementedError(f"demo loading does not support {connection.vendor}")


# ------------------------------------------------------------------------------ load
class Progress:
    """A one-line progress report on a terminal (stderr), refreshed per chunk."""

    def __init__(self, total_customers: int, stream: TextIO | None = None) -> None:
        self.total = total_customers
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.perf_counter()

    def __call__(self, stats: LoadStats) -> None:
        done = stats.rows.get("customer", 0)
        elapsed = time.perf_counter() - self.started
        rate = stats.total_rows / elapsed if elapsed else 0.0
        end = "\n" if done >= self.total else ""
        self.stream.write(
            f"\r  {done:,}/{self.total:,} customers ({100 * done / self.total:3.0f}%), "
            f"{stats.rows.get('orderline', 0):,} order lines, {rate:,.0f} rows/s{end}"
        )
        self.stream.flush()


def load_demo(
    spec: DemoSpec,
    *,
    staff: list[StaffMember],
    using: str = "default",
    chunk_size: int = 50_000,
    progress: Callable[[LoadStats], None] | None = None,
) -> LoadStats:
    """Generate and insert the demo company for ``spec``; returns what was written.

    All or nothing: on any failure (or Ctrl+C) the transaction rolls back, so the next run
    starts clean instead of finding half a demo.
    """
    connection = connections[using]
    started = time.perf_counter()
    writer = _writer(connection)
    stats = LoadStats(method=writer.method)
    generator = DemoGenerator(spec, staff=staff, first_ids=_first_ids(using))

    loaded = list(TABLE_MODELS.values())

    def write(batch: dict[str, Table]) -> None:
        # Part of the load's one transaction (see the module docstring).
        with transaction.atomic(using=using, savepoint=False):
            for name, model in TABLE_MODELS.items():
                table = batch.get(name)
                if table is None or not len(table):
                    continue
                t0 = time.perf_counter()
                writer.write(model._meta.db_table, table)
                stats.add(name, len(table), time.perf_counter() - t0)

    writer.begin()
    try:
        with transaction.atomic(using=using):
            writer.prepare(loaded)
            write({"product": generator.products(), "tag": generator.tags()})
            chunks = generator.chunks(chunk_size)
            while True:
                t0 = time.perf_counter()
                batch = next(chunks, None)
                stats.generate_seconds += time.perf_counter() - t0
                if batch is None:
                    break
                write(batch)
                if progress:
                    progress(stats)
            t0 = time.perf_counter()
            writer.complete(loaded)
        stats.finish_seconds = time.perf_counter() - t0
    except BaseException:
        writer.finish([])
        raise
    t0 = time.perf_counter()
    writer.finish(loaded)
    stats.finish_seconds += time.perf_counter() - t0
    stats.total_seconds = time.perf_counter() - started
    return stats
