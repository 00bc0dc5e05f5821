"""The history in Apache Spark, summarised by Spark SQL (``local[N]`` or a cluster).

The source is a table or view in the Spark catalog (``--spark-table``) or a Parquet path the
cluster can read (``--spark-path``). The summary runs on the executors; only one row per
customer comes back to this process, as Arrow (``DataFrame.toArrow``).

A source given a master URL starts its own session and stops it afterwards; tests hand one
shared session in (``session=``), which is left running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import ExternalSourceError, ExternalSummary, Window, span_sql, summary_sql
from .duckdb_source import required_columns

_VIEW = "guanxi_history"
#: Spark: a timestamp in microseconds since 1970 (a naive TIMESTAMP_NTZ is read in the
#: session time zone, UTC).
MICROS = "unix_micros(CAST({} AS TIMESTAMP))"

#: Settings of a session this source starts (``--spark-conf`` adds to or overrides them).
DEFAULT_CONF = {
    "spark.app.name": "guanxi-insights",
    # Naive timestamps are UTC, and Spark's day functions are not used: the local day
    # comes from the UTC offset in the SQL, as on the database path.
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


def spark_session(master: str, conf: dict[str, str] | None = None) -> Any:
    """A Spark session on ``master`` with :data:`DEFAULT_CONF` and ``conf``."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # the optional "scale" extra
        raise ExternalSourceError(
            "PySpark is not installed: pip install 'guanxi[scale]' (and Java 17+)."
        ) from exc
    builder = SparkSession.builder.master(master)
    for key, value in {**DEFAULT_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


@dataclass
class SparkSource(ExternalSummary):
    """``spark:MASTER_URL``: the summary computed by Spark over a table or a Parquet path."""

    master: str = "local[*]"
    table: str | None = None
    path: str | None = None
    conf: dict[str, str] = field(default_factory=dict)
    session: Any = None
    _own_session: bool = field(default=False, init=False, repr=False)
    _reversals: bool = field(default=False, init=False, repr=False)
    _ready: bool = field(default=False, init=False, repr=False)

    def label(self) -> str:
        """The source as given on the command line."""
        where = f"table {self.table}" if self.table else f"path {self.path}"
        return f"spark:{self.master} ({where})"

    def _spark(self) -> Any:
        if self.session is None:
            self.session = spark_session(self.master, self.conf)
            self._own_session = True
        spark = self.session
        if not self._ready:
            try:
                if self.table:
                    frame = spark.table(self.table)
                elif self.path:
                    frame = spark.read.parquet(self.path)
                else:
                    raise ExternalSourceError("A Spark source needs a table or a path.")
            except ExternalSourceError:
                raise
            except Exception as exc:  # AnalysisException: no such table or path
                where = f"table {self.table!r}" if self.table else f"path {self.path!r}"
                raise ExternalSourceError(f"Spark cannot read {where}: {exc}") from exc
            where = f"Spark {'table ' + repr(self.table) if self.table else repr(self.path)}"
            self._reversals = required_columns(list(frame.columns), self.columns, where)
            frame.createOrReplaceTempView(_VIEW)
            self._ready = True
        return spark

    def span(self) -> tuple[int | None, int]:
        """Earliest order time (µs) and rows, computed by Spark."""
        sql = span_sql(_VIEW, self.columns, micros=MICROS, quote="`")
        first, rows = self._spark().sql(sql).collect()[0]
        return (None if first is None else int(first)), int(rows)

    def summary_table(self, frame: Window) -> Any:
        """The summary as an Arrow table, computed by Spark."""
        sql = summary_sql(_VIEW, self.columns, frame, micros=MICROS, quote="`",
                          reversals=self._reversals)  # fmt: skip
        return self._spark().sql(sql).toArrow()

    def close(self) -> None:
        """Drop the view; stop the session if this source started it."""
        if self.session is None:
            return
        if self._ready:
            self.session.catalog.dropTempView(_VIEW)
            self._ready = False
        if self._own_session:
            self.session.stop()
            self.session = None
            self._own_session = False
