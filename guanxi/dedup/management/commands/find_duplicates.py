"""``guanxi find_duplicates``: precompute likely-duplicate pairs for the duplicates page.

Needed only for large bases (a scope above ``ON_DEMAND_LIMIT`` records reads the stored
pairs); run it nightly or after an import.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from guanxi.dedup.models import MergeKind
from guanxi.dedup.services import duplicate_candidates_refresh


class Command(BaseCommand):
    """Recompute the likely-duplicate pairs of customers and/or contacts."""

    help = _(
        "Find likely duplicate customers and contacts over the whole base and store the "
        "pairs for the duplicates page."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--kind",
            choices=[*MergeKind.values, "all"],
            default="all",
            help=_("customer, contact or all (default)."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        kinds = MergeKind.values if options["kind"] == "all" else [options["kind"]]
        for kind in kinds:
            start = time.perf_counter()
            count = duplicate_candidates_refresh(kind=kind)
            self.stdout.write(
                _("%(kind)s: %(count)s likely duplicate pairs in %(seconds).1f s.")
                % {"kind": kind, "count": f"{count:,}", "seconds": time.perf_counter() - start}
            )
