"""Who is acting and under which request id, for the change log.

The web middleware and the CLI set these once per request or command; services read them
so that a change recorded from the UI, the API, the admin or a background task carries the
same request id across every record it touches.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("guanxi_request_id", default=None)
_source: ContextVar[str] = ContextVar("guanxi_change_source", default="system")


def new_request_id() -> str:
    """A fresh, opaque request id (hex UUID4)."""
    return uuid.uuid4().hex


def current_request_id() -> str:
    """The request id of the work in progress; one is made up for work outside a request."""
    value = _request_id.get()
    if value is None:
        value = new_request_id()
        _request_id.set(value)
    return value


def current_source() -> str:
    """Where the change came from: ``web``, ``api``, ``admin``, ``cli``, ``task`` or ``system``."""
    return _source.get()


@contextmanager
def change_context(*, request_id: str | None = None, source: str = "system") -> Iterator[str]:
    """Run a block of work under one request id and source (used by middleware, CLI, tasks)."""
    rid = request_id or new_request_id()
    token_rid = _request_id.set(rid)
    token_src = _source.set(source)
    try:
        yield rid
    finally:
        _request_id.reset(token_rid)
        _source.reset(token_src)
