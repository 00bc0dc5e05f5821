"""``guanxi worker``: run background tasks; ``--schedule`` also queues the nightly refresh.

The tasks are stored in the database (django-tasks' database backend) and executed by
``db_worker``; this command runs it and, with ``--schedule``, a small scheduler thread that
queues an insight refresh every night at ``GUANXI_INSIGHTS_NIGHTLY_AT`` (local time).
Run one worker with ``--schedule`` (several workers without it may run beside it).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.insights.conf import nightly_at
from guanxi.insights.summary import SCHEDULER_THREAD, fork_excluded

logger = logging.getLogger(__name__)


def next_nightly(now: dt.datetime) -> dt.datetime:
    """The next local time of the nightly refresh after ``now`` (aware)."""
    hour, minute = nightly_at()
    local = timezone.localtime(now)
    target = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= local:
        target += dt.timedelta(days=1)
    return target


def enqueue_nightly() -> int | None:
    """Queue the nightly refresh unless one is already under way; the run id or None."""
    from guanxi.insights.choices import RunTrigger
    from guanxi.insights.services import insight_refresh_request

    try:
        return insight_refresh_request(actor=None, trigger=RunTrigger.SCHEDULE).pk
    except ValidationError as exc:
        logger.warning("nightly refresh skipped: %s", " ".join(exc.messages))
        return None


def _schedule_loop(stop: threading.Event) -> None:
    while not stop.is_set():
        due = next_nightly(timezone.now())
        while not stop.is_set() and timezone.now() < due:
            stop.wait(min(60.0, max((due - timezone.now()).total_seconds(), 0.1)))
        if stop.is_set():
            break
        with fork_excluded():  # a refresh's summary must not fork while we are in SQLite
            close_old_connections()
            run = enqueue_nightly()
            close_old_connections()
        logger.info("nightly insight refresh queued: run %s", run)


class Command(BaseCommand):
    help = _("Run background tasks (insight refreshes); --schedule also queues the nightly one.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--schedule",
            action="store_true",
            help=_("Also queue the nightly insight refresh (run one such worker)."),
        )
        parser.add_argument(
            "--batch", action="store_true", help=_("Run the queued tasks, then exit.")
        )
        parser.add_argument("--interval", type=float, default=1.0, help=_("Polling seconds."))

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        if options["schedule"]:
            due = next_nightly(timezone.now())
            self.stdout.write(_("Nightly insight refresh scheduled for %(at)s.") % {"at": due})
            threading.Thread(
                target=_schedule_loop, args=(stop,), name=SCHEDULER_THREAD, daemon=True
            ).start()
        try:
            worker_options: dict[str, Any] = {"interval": options["interval"], "reload": False}
            if options["batch"]:
                worker_options["batch"] = True
            call_command("db_worker", **worker_options)
        finally:
            stop.set()
