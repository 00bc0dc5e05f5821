"""PostgreSQL binary ``COPY`` straight from and into numpy arrays (the refresh's bulk I/O).

A row of a binary ``COPY`` is a 16-bit field count followed, for every field, by its 32-bit
length and its bytes, all big-endian. When every field has a fixed width and is never NULL,
every row has the same layout, and a whole block of rows *is* a numpy structured array:
reading 850k summary rows or writing 1M insight rows costs one ``frombuffer`` or one
``tobytes`` instead of a Python object per value (about 10x less time than ``fetchmany`` or
``copy.write_row``). NULLs are written as sentinel values that the SQL reading the staged
rows turns back into NULL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: Signature, flags and header-extension length of a binary COPY stream.
_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_TRAILER = b"\xff\xff"
#: Rows per ``copy.write`` (and between two calls of the progress callback).
WRITE_BLOCK = 100_000

#: numpy type of each PostgreSQL column type this module reads or writes.
PG_TYPES = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "float8": ">f8"}
SQL_TYPES = {"int2": "smallint", "int4": "integer", "int8": "bigint", "float8": "double precision"}


def _row_dtype(types: Sequence[str]) -> np.dtype:
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i, kind in enumerate(types):
        fields += [(f"len{i}", ">i4"), (f"v{i}", PG_TYPES[kind])]
    return np.dtype(fields)


def _raw_connection(connection: Any) -> Any:
    connection.ensure_connection()
    return connection.connection


def copy_out_int8(connection: Any, sql: str, params: Sequence[Any], columns: int) -> np.ndarray:
    """Run ``sql`` (every column a non-NULL ``bigint``) through a binary ``COPY ... TO
    STDOUT`` and return its rows as a ``(rows, columns)`` int64 array."""
    chunks: list[bytes] = []
    raw = _raw_connection(connection)
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT BINARY)", params or None) as copy,
    ):
        for chunk in copy:
            chunks.append(bytes(chunk))
    data = b"".join(chunks)
    if not data.startswith(_HEADER[:11]):
        raise ValueError("not a binary COPY stream")
    start = 19 + int.from_bytes(data[15:19], "big")
    if data[-2:] != _TRAILER:
        raise ValueError("binary COPY stream without its trailer")
    dtype = _row_dtype(["int8"] * columns)
    body = len(data) - start - 2
    if body % dtype.itemsize:
        raise ValueError("a summary column is NULL or not a bigint")
    rows = np.frombuffer(data, dtype=dtype, count=body // dtype.itemsize, offset=start)
    if len(rows) and (
        (rows["count"] != columns).any()
        or any((rows[f"len{i}"] != 8).any() for i in range(columns))
    ):
        raise ValueError("a summary column is NULL or not a bigint")
    out = np.empty((len(rows), columns), dtype=np.int64)
    for i in range(columns):
        out[:, i] = rows[f"v{i}"]
    return out


def copy_in(
    connection: Any,
    table: str,
    columns: Sequence[tuple[str, str]],
    values: dict[str, np.ndarray],
    *,
    between_blocks: Callable[[int], None] | None = None,
) -> int:
    """Write equally long arrays into ``table`` with binary ``COPY ... FROM STDIN``.

    ``columns`` lists (name, type) with types of :data:`PG_TYPES`; ``values`` maps every name
    to its array (no NULLs: use sentinels). ``between_blocks(rows_written)`` runs after each
    block of :data:`WRITE_BLOCK` rows (progress, cancellation), each block its own ``COPY``.
    Returns the rows written.
    """
    names = [name for name, _kind in columns]
    dtype = _row_dtype([kind for _name, kind in columns])
    n = len(values[names[0]]) if names else 0
    rows = np.empty(n, dtype=dtype)
    rows["count"] = len(columns)
    for i, (name, kind) in enumerate(columns):
        rows[f"len{i}"] = np.dtype(PG_TYPES[kind]).itemsize
        rows[f"v{i}"] = values[name]
    raw = _raw_connection(connection)
    quoted = ", ".join(f'"{name}"' for name in names)
    # One COPY per block: the connection is busy during a COPY, and the callback queries.
    for start in range(0, n, WRITE_BLOCK):
        with (
            raw.cursor() as cursor,
            cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN (FORMAT BINARY)') as copy,
        ):
            copy.write(_HEADER + rows[start : start + WRITE_BLOCK].tobytes() + _TRAILER)
        if between_blocks is not None:
            between_blocks(min(start + WRITE_BLOCK, n))
    return n


def create_table_sql(
    table: str, columns: Sequence[tuple[str, str]], *, temporary: bool = True
) -> str:
    """``CREATE TEMPORARY TABLE`` for the columns of :func:`copy_in` (``UNLOGGED`` instead
    when other connections must read it too)."""
    body = ", ".join(f'"{name}" {SQL_TYPES[kind]} NOT NULL' for name, kind in columns)
    kind = "TEMPORARY" if temporary else "UNLOGGED"
    return f'CREATE {kind} TABLE "{table}" ({body})'
