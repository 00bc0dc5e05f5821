"""Writes of the insights app: refresh runs (request, run, cancel) and the incremental upkeep.

Insight rows are derived data: they are never edited by people, and a refresh writes a
million of them at once, so they are not in the change log; the :class:`RefreshRun` is the
record of who refreshed what, when, and how the models fared.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.analytics import rules
from guanxi.analytics.btyd import MODELS
from guanxi.core.permissions import Role, role_of
from guanxi.customers.models import Customer

from . import scoring
from .choices import RunStatus, RunTrigger
from .conf import RefreshSettings, refresh_settings
from .models import CustomerInsight, RefreshRun
from .refresh import SummarySource, execute_refresh
from .share import update_share_of_customer
from .summary import fetch_summary

#: Roles that may start or cancel a refresh (administrators and analysts).
REFRESH_ROLES = frozenset({Role.ADMINISTRATOR, Role.ANALYST})
#: A running refresh that has shown no progress for this long was interrupted (killed).
STALE_AFTER = dt.timedelta(minutes=15)
_ID_BATCH = 500


def may_refresh(user: Any) -> bool:
    """Whether ``user`` may start or cancel a refresh."""
    return role_of(user) in REFRESH_ROLES


def _ensure_may_refresh(actor: Any) -> None:
    # ``actor=None`` is the system: the command line and the nightly schedule.
    if actor is not None and not may_refresh(actor):
        raise PermissionDenied(_("Only administrators and analysts may refresh the insights."))


def _mark_interrupted() -> None:
    """Runs whose process stopped reporting (killed, machine restarted) are failed."""
    limit = timezone.now() - STALE_AFTER
    RefreshRun.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=limit).update(
        status=RunStatus.FAILED,
        finished_at=timezone.now(),
        error="Interrupted: the process running the refresh stopped reporting progress.",
    )


def insight_refresh_request(
    *, actor: Any, trigger: str = RunTrigger.MANUAL, enqueue: bool = True
) -> RefreshRun:
    """Queue a full refresh (a background task runs it); refused while one is under way.

    ``enqueue=False`` only creates the queued run (the command line runs it in-process).
    """
    _ensure_may_refresh(actor)
    _mark_interrupted()
    with transaction.atomic():
        active = RefreshRun.objects.select_for_update().filter(
            status__in=(RunStatus.QUEUED, RunStatus.RUNNING)
        )
        busy = active.first()
        if busy is not None:
            raise ValidationError(
                _("A refresh is already under way (run #%(pk)s).") % {"pk": busy.pk}
            )
        run = RefreshRun.objects.create(
            trigger=trigger, requested_by=actor if getattr(actor, "pk", None) else None
        )
        if enqueue:
            from .tasks import refresh_insights

            # Enqueued with the run: the task never starts for a run that rolled back.
            transaction.on_commit(lambda: refresh_insights.enqueue(run.pk))
    return run


def insight_refresh_cancel(*, actor: Any, run: RefreshRun) -> RefreshRun:
    """Ask a queued or running refresh to stop (it stops at the next batch)."""
    _ensure_may_refresh(actor)
    with transaction.atomic():
        run = RefreshRun.objects.select_for_update().get(pk=run.pk)
        if not run.is_active:
            raise ValidationError(_("This refresh has already finished."))
        if run.status == RunStatus.QUEUED:
            run.status = RunStatus.CANCELLED
            run.finished_at = timezone.now()
        run.cancel_requested = True
        run.save(update_fields=["status", "finished_at", "cancel_requested"])
    return run


def insight_refresh_run(
    *,
    run: RefreshRun,
    params: RefreshSettings | None = None,
    as_of: dt.date | None = None,
    on_progress: Callable[[str, int], None] | None = None,
    summary_source: SummarySource | None = None,
) -> RefreshRun:
    """Run a queued refresh now, in this process (the task and the command call this).

    ``summary_source`` reads the orders from outside the CRM (:mod:`.external`)."""
    with transaction.atomic():
        run = RefreshRun.objects.select_for_update().get(pk=run.pk)
        if run.status != RunStatus.QUEUED:
            return run  # cancelled before it started, or already run
        run.status = RunStatus.RUNNING
        run.started_at = run.heartbeat_at = timezone.now()
        run.save(update_fields=["status", "started_at", "heartbeat_at"])
    return execute_refresh(
        run, params=params, as_of=as_of, on_progress=on_progress, summary_source=summary_source
    )


def _current_model() -> tuple[Any, RefreshRun | None]:
    run = RefreshRun.objects.filter(is_current=True).first()
    if run is None:
        return None, None
    purchase = (run.model_params or {}).get("purchase")
    if not purchase:
        return None, run
    model_class: Any = MODELS[purchase["model"]]
    return model_class.from_params(**purchase["params"]), run


def insight_apply_orders(*, customer_ids: Iterable[int], as_of: dt.date | None = None) -> int:
    """Bring the order-based insight fields of these customers up to date at once.

    Recomputes from their orders (net of reversals) the first and last purchase, orders,
    total spend, days since the last purchase, repeat purchase periods, P(alive) under the
    current run's model, the ladder stage, the churn risk and the loyalty index (decided as
    the refresh decides them: :func:`_decide_upkeep`); scores and grades wait for the next
    refresh.
    Called inside the transaction that created or reversed orders (and by importers after a
    batch). Returns the number of customers updated.
    """
    ids = sorted({int(pk) for pk in customer_ids})
    if not ids:
        return 0
    params = refresh_settings()
    as_of = as_of or timezone.localdate()
    end_day = (as_of - dt.date(1970, 1, 1)).days
    model, _run = _current_model()
    now = timezone.now()
    rows: list[CustomerInsight] = []
    for start in range(0, len(ids), _ID_BATCH):
        batch = ids[start : start + _ID_BATCH]
        summary = fetch_summary(
            period=params.period, as_of=as_of, holdout=params.holdout, customer_ids=batch
        )
        seen: set[int] = set()
        if summary is not None and len(summary):
            decided = _decide_upkeep(summary, model, end_day=end_day)
            for i, pk in enumerate(summary.customer.tolist()):
                seen.add(pk)
                rows.append(
                    _upkeep_row(
                        pk,
                        as_of=as_of,
                        first_day=int(summary.first_day[i]),
                        last_day=int(summary.last_day[i]),
                        orders=int(summary.orders[i]),
                        spend=float(summary.spend[i]),
                        frequency=int(summary.periods[i]) - 1,
                        recency=int(decided.recency[i]),
                        p_alive=float(decided.p_alive[i]),
                        stage=str(decided.stage[i]),
                        risk=str(decided.risk[i]),
                        loyalty=float(decided.loyalty[i]),
                        now=now,
                    )
                )
        for pk in batch:
            if pk not in seen:  # every order reversed: back to a prospect
                rows.append(
                    CustomerInsight(
                        customer_id=pk,
                        as_of=as_of,
                        order_count=0,
                        total_spend=0,
                        frequency=0,
                        recency_days=None,
                        first_purchase=None,
                        last_purchase=None,
                        ladder_stage=rules.ladder_stage(purchases=0).value,
                        touched_at=now,
                    )
                )
    CustomerInsight.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["customer"],
        update_fields=[
            "as_of", "first_purchase", "last_purchase", "order_count", "total_spend",
            "recency_days", "frequency", "ladder_stage", "p_alive", "churn_risk",
            "loyalty_index", "touched_at",
        ],
    )  # fmt: skip
    update_share_of_customer(as_of=as_of, customer_ids=ids)
    return len(rows)


@dataclass
class _Upkeep:
    """What the upkeep decides for the customers of a summary (in its order)."""

    recency: np.ndarray  # days since the last purchase
    p_alive: np.ndarray  # as stored (rounded), NaN without one
    stage: np.ndarray
    risk: np.ndarray
    loyalty: np.ndarray  # as stored (rounded)


def _decide_upkeep(summary: Any, model: Any, *, end_day: int) -> _Upkeep:
    """Recency, P(alive) under ``model`` (NaN without one), ladder stage, churn risk and
    loyalty index of every customer of ``summary``, vectorised.

    The rules are the refresh's own functions (:func:`scoring.loyalty_indexes`,
    :func:`scoring.ladder_stages`, :func:`scoring.churn_risks`), so the upkeep and the
    refresh decide alike; P(alive) is kept as stored (:func:`scoring.stored_p_alive`)."""
    stats = scoring.btyd_statistics(summary)
    raw = (
        model.probability_alive(stats.x, stats.t_x, stats.T)
        if model is not None
        else np.full(len(summary), np.nan)
    )
    p_alive = scoring.stored_p_alive(raw)
    orders = summary.orders.astype(np.int64)
    recency = end_day - summary.last_day.astype(np.int64)
    loyalty = scoring.loyalty_indexes(orders)
    return _Upkeep(
        recency=recency,
        p_alive=p_alive,
        stage=scoring.ladder_stages(orders, recency, loyalty, p_alive),
        risk=scoring.churn_risks(p_alive, recency),
        loyalty=np.round(loyalty, 4),
    )


def _upkeep_row(
    pk: int,
    *,
    as_of: dt.date,
    first_day: int,
    last_day: int,
    orders: int,
    spend: float,
    frequency: int,
    recency: int,
    p_alive: float,
    stage: str,
    risk: str,
    loyalty: float,
    now: dt.datetime,
) -> CustomerInsight:
    epoch = dt.date(1970, 1, 1)
    return CustomerInsight(
        customer_id=pk,
        as_of=as_of,
        first_purchase=epoch + dt.timedelta(days=first_day),
        last_purchase=epoch + dt.timedelta(days=last_day),
        order_count=orders,
        total_spend=round(spend, 2),
        recency_days=recency,
        frequency=frequency,
        ladder_stage=stage,
        p_alive=None if math.isnan(p_alive) else p_alive,
        churn_risk=risk,
        loyalty_index=loyalty,
        touched_at=now,
    )


def orders_changed_callback(customer_ids: frozenset[int]) -> None:
    """The hook the sales services call (``guanxi.core.hooks.orders_changed``)."""
    insight_apply_orders(customer_ids=customer_ids)


#: Customers per summary query and per upsert of :func:`insight_apply_orders_bulk`.
_BULK_IDS = 10_000


def insight_apply_orders_bulk(*, customer_ids: Iterable[int], as_of: dt.date | None = None) -> int:
    """:func:`insight_apply_orders` for many customers at once (the end of an import run).

    The same fields with the same values, set-based: the summary is read for blocks of
    10,000 customers, P(alive) comes from the current model over whole arrays, each rule
    (loyalty, ladder stage) is decided once per distinct combination of its inputs, and the
    rows are written with one upsert statement per block instead of one model object per
    customer. Returns the number of customers updated.
    """
    ids = sorted({int(pk) for pk in customer_ids})
    if len(ids) <= _ID_BATCH:
        return insight_apply_orders(customer_ids=ids, as_of=as_of)
    params = refresh_settings()
    as_of = as_of or timezone.localdate()
    end_day = (as_of - dt.date(1970, 1, 1)).days
    model, _run = _current_model()
    written = 0
    for start in range(0, len(ids), _BULK_IDS):
        block = ids[start : start + _BULK_IDS]
        summary = fetch_summary(
            period=params.period, as_of=as_of, holdout=params.holdout, customer_ids=block
        )
        written += _upsert_upkeep(block, summary, model, as_of=as_of, end_day=end_day)
        shared = _share_candidates(block)
        if shared:
            update_share_of_customer(as_of=as_of, customer_ids=shared)
    return written


def _share_candidates(block: list[int]) -> list[int]:
    """The customers of ``block`` whose stored share :func:`update_share_of_customer` may
    change: those with a category need (their share is recomputed) and those still holding
    a share (it is nulled). Usually none: most customers have no need recorded, so a large
    import skips the share queries (and their 10,000-id ``IN`` lists) altogether."""
    insight_t, customer_t = CustomerInsight._meta.db_table, Customer._meta.db_table
    params: list[Any] = list(block)
    only = f"IN ({', '.join(['%s'] * len(block))})"
    if connection.vendor == "postgresql":
        only, params = "= ANY(%s)", [block]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT i.customer_id FROM {insight_t} i JOIN {customer_t} c "  # noqa: S608
            f"ON c.id = i.customer_id WHERE i.customer_id {only} "
            "AND (c.category_need > 0 OR i.share_of_customer IS NOT NULL)",
            params,
        )
        return [row[0] for row in cursor.fetchall()]


def _upsert_upkeep(
    block: list[int], summary: Any, model: Any, *, as_of: dt.date, end_day: int
) -> int:
    ops = connection.ops
    epoch = dt.date(1970, 1, 1)
    now = ops.adapt_datetimefield_value(timezone.now())
    day = ops.adapt_datefield_value
    as_of_value = day(as_of)
    # Columns written by the upkeep; a new row takes every other column's default.
    written = ("customer_id", "as_of", "first_purchase", "last_purchase", "order_count",
               "total_spend", "recency_days", "frequency", "ladder_stage", "p_alive",
               "churn_risk", "loyalty_index", "touched_at")  # fmt: skip
    fields = [f for f in CustomerInsight._meta.concrete_fields if f.column not in written]
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in fields)
    prospect = rules.ladder_stage(purchases=0).value
    default_risk = CustomerInsight._meta.get_field("churn_risk").get_default()
    rows: list[tuple[Any, ...]] = []
    seen: set[int] = set()
    if summary is not None and len(summary):
        decided = _decide_upkeep(summary, model, end_day=end_day)
        alive = [None if math.isnan(p) else p for p in decided.p_alive.tolist()]
        for pk, first, last, count, spend, periods, days, stage, p, r, loyal in zip(
            summary.customer.tolist(), summary.first_day.tolist(), summary.last_day.tolist(),
            summary.orders.astype(np.int64).tolist(), summary.spend.tolist(),
            summary.periods.tolist(), decided.recency.tolist(), decided.stage.tolist(), alive,
            decided.risk.tolist(), decided.loyalty.tolist(), strict=True,
        ):  # fmt: skip
            seen.add(pk)
            rows.append(
                (pk, as_of_value, day(epoch + dt.timedelta(days=first)),
                 day(epoch + dt.timedelta(days=last)), count, round(spend, 2), days,
                 periods - 1, stage, p, r, loyal, now, *defaults)
            )  # fmt: skip
    for pk in block:
        if pk not in seen:  # every order reversed: back to a prospect
            rows.append(
                (pk, as_of_value, None, None, 0, 0, None, 0, prospect, None, default_risk, None,
                 now, *defaults)
            )  # fmt: skip
    table = CustomerInsight._meta.db_table
    columns = ", ".join([*written, *(f.column for f in fields)])
    update = ", ".join(f"{c} = excluded.{c}" for c in written[1:])
    with connection.cursor() as django_cursor:
        cursor: Any = django_cursor.cursor  # the driver's own cursor: no per-row wrapping
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS _insight_upkeep (LIKE {table})")
            cursor.execute("TRUNCATE _insight_upkeep")
            with cursor.copy(f"COPY _insight_upkeep ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _insight_upkeep "  # noqa: S608
                f"ON CONFLICT (customer_id) DO UPDATE SET {update}"
            )
        else:
            marks = ", ".join("?" * (len(written) + len(fields)))
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({marks}) "  # noqa: S608
                f"ON CONFLICT (customer_id) DO UPDATE SET {update}",
                rows,
            )
    return len(rows)


def orders_changed_bulk_callback(customer_ids: frozenset[int]) -> None:
    """The set-based form of :func:`orders_changed_callback` (``orders_changed(bulk=True)``)."""
    insight_apply_orders_bulk(customer_ids=customer_ids)
