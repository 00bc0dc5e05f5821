"""The history in Parquet files, summarised by DuckDB (in this process, over every core).

DuckDB reads only the columns the summary needs, in parallel, straight from the files (one
file, a glob such as ``orders/*.parquet``, or a folder of them), and returns one row per
customer as an Arrow table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from . import Columns, ExternalSourceError, ExternalSummary, Window, span_sql, summary_sql

_RELATION = "history"
#: DuckDB: a timestamp (naive ones are UTC) in microseconds since 1970.
MICROS = "epoch_us({})"


def parquet_glob(path: str) -> str:
    """The files of ``path``: a folder means every Parquet file under it."""
    if os.path.isdir(path):
        return os.path.join(path, "**", "*.parquet")
    return path


def required_columns(names: list[str], columns: Columns, where: str) -> bool:
    """Check that the history has its columns; whether it has the reversal columns."""
    present = set(names)
    missing = [
        c for c in (columns.customer, columns.ordered_at, columns.amount) if c not in present
    ]
    if missing:
        raise ExternalSourceError(
            f"{where} has no column {', '.join(repr(c) for c in missing)} "
            f"(it has {', '.join(sorted(present))}); map the names with --columns."
        )
    pair = [columns.order_id in present, columns.reverses in present]
    if any(pair) and not all(pair):
        raise ExternalSourceError(
            f"{where} has only one of {columns.order_id!r} and {columns.reverses!r}: "
            "reversals need both."
        )
    return all(pair)


@dataclass
class DuckDBSource(ExternalSummary):
    """``parquet:PATH``: the summary computed by DuckDB over Parquet files."""

    path: str = ""
    threads: int | None = None
    _connection: Any = field(default=None, init=False, repr=False)
    _reversals: bool = field(default=False, init=False, repr=False)

    def label(self) -> str:
        """The source as given on the command line."""
        return f"parquet:{self.path}"

    def _connect(self) -> Any:
        if self._connection is not None:
            return self._connection
        import duckdb

        connection = duckdb.connect(":memory:")
        if self.threads:
            connection.sql(f"SET threads = {int(self.threads)}")
        files = parquet_glob(self.path).replace("'", "''")
        try:
            connection.sql(
                f"CREATE VIEW {_RELATION} AS SELECT * FROM read_parquet('{files}')"  # noqa: S608
            )
            names = [row[0] for row in connection.sql(f"DESCRIBE {_RELATION}").fetchall()]
        except duckdb.Error as exc:
            connection.close()
            raise ExternalSourceError(f"Cannot read Parquet {self.path!r}: {exc}") from exc
        self._reversals = required_columns(names, self.columns, f"Parquet {self.path!r}")
        self._connection = connection
        return connection

    def span(self) -> tuple[int | None, int]:
        """Earliest order time (µs) and rows, from the files."""
        sql = span_sql(_RELATION, self.columns, micros=MICROS, quote='"')
        first, rows = self._connect().sql(sql).fetchall()[0]
        return (None if first is None else int(first)), int(rows)

    def summary_table(self, frame: Window) -> Any:
        """The summary as an Arrow table, computed by DuckDB."""
        sql = summary_sql(
            _RELATION, self.columns, frame, micros=MICROS, quote='"',
            reversals=self._reversals,
        )  # fmt: skip
        return self._connect().sql(sql).to_arrow_table()

    def close(self) -> None:
        """Close the in-memory DuckDB database."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
