"""``guanxi purge_trash``: empty the trash of records older than the trash period.

Run it daily (cron or a systemd timer); it is safe to run at any time.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from guanxi.privacy.services import trash_purge


class Command(BaseCommand):
    help = "Remove customers and contacts that have been in the trash longer than the trash period."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = trash_purge()
        self.stdout.write(
            f"purged after {settings.GUANXI_TRASH_DAYS} days: {counts['contacts']} contacts, "
            f"{counts['customers_removed']} customers removed, "
            f"{counts['customers_anonymized']} customers with orders anonymised"
        )
