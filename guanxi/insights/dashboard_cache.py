"""Cache of the dashboards' computed figures, keyed by what they are computed from.

A dashboard's figures are a function of: the dashboard, the set of customers it counts
(the user's permission scope narrowed by the filters), its other inputs (period, snapshots,
grouping), the language, and the data the charts read. The cache key holds each of them:

- the **scope** as the SQL (and parameters) that selects the customers counted
  (:func:`guanxi.insights.kpis.scope_sql`): it names the user (own scope), the team (team
  scope) and every filter, so two users share an entry only when they count the very same
  customers, and a rep never reads another scope's figures;
- the inputs, the snapshot dates, the active language, the margin setting and the local
  date (the default period of a base without snapshots ends today);
- the **data version** (:func:`data_version`), read from the database on every request
  (three index probes), so that it is right across processes even with a per-process cache:

  * the current refresh run: a refresh (or an external engine's import) swaps in new insight
    rows and snapshots, and makes its run current;
  * the highest order id: orders are facts (ADR 4), created or reversed but never edited,
    and every insight upkeep follows an order (``core.hooks.orders_changed``);
  * the newest change-log entry of a customer or team among the last
    :data:`CHANGELOG_WINDOW` entries (else the newest entry of all, which only
    invalidates more often): every service write of a customer is in the change log (ADR 3),
    creation, owner, team and province changes, deletion, restore, merge, erase and import;
  * a generation counter kept in the cache itself, bumped when a transaction that created
    or reversed orders commits (it closes, within one process or with a shared cache, the
    window where a later order id committed before an earlier one).

What the version cannot see (a write outside the services, such as raw SQL; a renamed user,
whose name labels a KPI group; an order whose id is lower than one committed before it, in
another process with a per-process cache) shows for at most
``GUANXI_INSIGHTS_DASHBOARD_CACHE_SECONDS`` (300 by default; 0 turns the cache off), and
every dashboard says when its figures were computed.

The cache is Django's cache named by ``GUANXI_INSIGHTS_DASHBOARD_CACHE`` (``"default"``):
the per-process memory cache of a default install, or a shared one (Redis, Memcached,
database) configured in ``CACHES`` for several server processes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.cache import BaseCache, caches
from django.db import connection, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from django.utils.translation import get_language

from guanxi.core.models import ChangeRecord

from .conf import refresh_settings
from .kpis import scope_sql
from .models import RefreshRun

#: Bump when the shape of the cached data changes (old entries are then never read).
FORMAT = 1

#: How many of the newest change-log entries are searched for a customer or team change.
CHANGELOG_WINDOW = 1000

_GENERATION_KEY = "guanxi:insights:dashboards:generation"
_KEY_PREFIX = "guanxi:insights:dashboard:"


def cache_seconds() -> int:
    """How long computed figures may be served (0: the cache is off)."""
    value: Any = getattr(settings, "GUANXI_INSIGHTS_DASHBOARD_CACHE_SECONDS", None)
    if value is None:
        value = os.environ.get("GUANXI_INSIGHTS_DASHBOARD_CACHE_SECONDS", "300")
    return max(0, int(value))


def dashboard_cache() -> BaseCache:
    """The Django cache the figures are kept in (``GUANXI_INSIGHTS_DASHBOARD_CACHE``)."""
    alias = getattr(settings, "GUANXI_INSIGHTS_DASHBOARD_CACHE", None) or os.environ.get(
        "GUANXI_INSIGHTS_DASHBOARD_CACHE", "default"
    )
    return caches[alias]


def _fresh_generation() -> int:
    # Microseconds since the epoch: a counter lost from the cache (evicted, restarted)
    # starts again above every value it had (one bump per committed transaction).
    return int(timezone.now().timestamp() * 1_000_000)


def _generation() -> int:
    cache = dashboard_cache()
    value = cache.get(_GENERATION_KEY)
    if value is None:
        cache.add(_GENERATION_KEY, _fresh_generation(), None)
        value = cache.get(_GENERATION_KEY, 0)
    return int(value)


def bump_generation() -> None:
    """Make every cached figure stale (now, in this cache)."""
    cache = dashboard_cache()
    try:
        cache.incr(_GENERATION_KEY)
    except ValueError:  # not there (evicted): a fresh value is above every earlier one
        cache.set(_GENERATION_KEY, _fresh_generation(), None)


def orders_changed_callback(customer_ids: frozenset[int]) -> None:
    """``core.hooks.orders_changed``: the figures go stale when the orders commit."""
    transaction.on_commit(bump_generation)


def _changelog_mark() -> int | None:
    """The id of the newest change-log entry of a customer or team among the newest
    :data:`CHANGELOG_WINDOW` entries, else the newest entry's (None: no entry at all).

    A new customer change gets a higher id than every earlier entry, so the mark moves
    past every earlier mark; a window of the newest entries keeps this an index probe
    whatever the size of the log."""
    types = ContentType.objects.get_for_models(*_changelog_models()).values()
    ids = ", ".join(str(int(t.pk)) for t in types)
    table = connection.ops.quote_name(ChangeRecord._meta.db_table)
    sql = (
        f"SELECT MAX(CASE WHEN content_type_id IN ({ids}) THEN id END), MAX(id) "  # noqa: S608
        f"FROM (SELECT id, content_type_id FROM {table} ORDER BY id DESC LIMIT %s) newest"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, (CHANGELOG_WINDOW,))
        row = cursor.fetchone()
    if row is None:
        return None
    mark = row[0] if row[0] is not None else row[1]
    return None if mark is None else int(mark)


def _changelog_models() -> tuple[type, ...]:
    from guanxi.accounts.models import Team
    from guanxi.customers.models import Customer

    return (Customer, Team)


def data_version() -> tuple[Any, ...]:
    """What changes whenever the data the dashboards read changes (see the module
    docstring): current run, highest order id, change-log mark, generation."""
    from guanxi.sales.models import Order

    run = RefreshRun.objects.filter(is_current=True).values_list("pk", "finished_at").first()
    last_order = Order.objects.aggregate(last=Max("pk"))["last"]
    return (run, last_order, _changelog_mark(), _generation())


def cache_key(
    name: str, customers: QuerySet[Any], inputs: dict[str, Any], version: tuple[Any, ...]
) -> str:
    """The key of one dashboard's figures: dashboard, scope SQL, inputs, language, margin,
    local date and data version, hashed."""
    scope, params = scope_sql(customers)
    parts = {
        "format": FORMAT,
        "dashboard": name,
        "scope": scope,
        "params": [repr(p) for p in params],
        "inputs": {key: repr(value) for key, value in sorted(inputs.items())},
        "language": get_language(),
        "margin": refresh_settings().margin,
        "today": str(timezone.localdate()),
        "version": repr(version),
        "database": connection.settings_dict.get("NAME"),
    }
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return f"{_KEY_PREFIX}{name}:{digest}"


def dashboard_data(
    name: str,
    customers: QuerySet[Any],
    inputs: dict[str, Any],
    build: Callable[[], dict[str, Any]],
) -> tuple[dict[str, Any], dt.datetime]:
    """One dashboard's figures and when they were computed: from the cache when an entry
    of the same key is there, else ``build()`` (then stored for
    :func:`cache_seconds`)."""
    seconds = cache_seconds()
    if seconds == 0:
        return build(), timezone.now()
    # The version is read before the figures: a change committed while they are computed
    # gives the next request another key.
    key = cache_key(name, customers, inputs, data_version())
    cache = dashboard_cache()
    entry = cache.get(key)
    if entry is not None:
        data, computed_at = entry
        return data, computed_at
    computed_at = timezone.now()
    data = build()
    cache.set(key, (data, computed_at), seconds)
    return data, computed_at
