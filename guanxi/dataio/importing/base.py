"""What every importer shares: rows, batches, per-batch outcomes and the importer base."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from guanxi.customers.models import Customer

from .mapping import Mapping_

#: ``(row number as a spreadsheet shows it, cells, row held undecodable bytes)``
Row = tuple[int, list[str], bool]
#: A chunk of work: rows, or (orders) groups of rows.
Batch = list[Any]


@dataclass
class BatchOutcome:
    """Counts and errors of one batch; ``rejected`` counts rows, not messages."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[tuple[int, str, str, str]] = field(default_factory=list)
    rejected_rows: set[int] = field(default_factory=set)

    def count(self, status: str, rows: int = 1) -> None:
        """Add ``rows`` rows to ``status`` (created, updated or unchanged)."""
        setattr(self, status, getattr(self, status) + rows)

    def reject(self, row: int, column: str, value: str, message: str) -> None:
        """Record an error; the row counts as rejected once however many errors it has."""
        self.errors.append((row, column, value[:200], str(message)[:500]))
        if row not in self.rejected_rows:
            self.rejected_rows.add(row)
            self.rejected += 1


class Importer:
    """Turns batches of rows into writes through the services; one subclass per kind."""

    kind = ""
    default_chunk = 500

    def __init__(
        self,
        *,
        actor: Any,
        mapping: Mapping_,
        encoding: str,
        chunk_size: int | None = None,
    ) -> None:
        self.actor = actor
        self.mapping = mapping
        self.encoding = encoding
        self.chunk_size = chunk_size or self.default_chunk
        self.customer_model = Customer

    def header(self, index: int) -> str:
        """The header of column ``index`` (or its position when the header is short)."""
        headers = self.mapping.headers
        return headers[index] if index < len(headers) else f"#{index + 1}"

    def batches(self, rows: Iterable[Row]) -> Iterator[Batch]:
        """Consecutive rows, ``chunk_size`` at a time."""
        batch: Batch = []
        for row in rows:
            batch.append(row)
            if len(batch) >= self.chunk_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def rows_of(self, batch: Batch) -> list[Row]:
        """The rows in a batch, in file order."""
        return list(batch)

    def process(self, batch: Batch) -> BatchOutcome:
        """Validate and write one batch inside the caller's transaction."""
        raise NotImplementedError

    def session(self) -> AbstractContextManager[Any]:
        """Context around all of a run's transactions (a service's connection settings)."""
        return nullcontext()

    def finish(self, run: Any) -> None:
        """Work left for the end of the run (after the last batch), in its final transaction."""
