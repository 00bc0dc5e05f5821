from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DedupConfig(AppConfig):
    """Duplicates and merge; widens the customer history to the customers merged into it."""

    name = "guanxi.dedup"
    label = "dedup"
    verbose_name = _("Duplicates and merge")

    def ready(self) -> None:
        from guanxi.customers.selectors import HISTORY_SOURCES
        from guanxi.privacy.services import ERASE_HOOKS

        from .services import merge_records_forget, merged_customer_ids

        if merged_customer_ids not in HISTORY_SOURCES:
            HISTORY_SOURCES.append(merged_customer_ids)
        # Merge snapshots hold personal data: a privacy erase removes them too.
        ERASE_HOOKS["merge_records"] = merge_records_forget
