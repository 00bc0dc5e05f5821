from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DedupConfig(AppConfig):
    """Duplicates and merge; widens the customer history to the customers merged into it."""

    name = "guanxi.dedup"
    label = "dedup"
    verbose_name = _("Duplicates and merge")

    def ready(self) -> None:
        from guanxi.core.hooks import on_customer_history, on_personal_data_erased

        from .services import merge_records_forget, merged_customer_ids

        on_customer_history(merged_customer_ids)
        # Merge snapshots hold personal data: a privacy erase removes them too.
        on_personal_data_erased("merge_records", merge_records_forget)
