from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    name = "guanxi.insights"
    label = "insights"
    verbose_name = _("Insights")

    def ready(self) -> None:
        from guanxi.core.hooks import on_orders_changed

        from .extensions import extend_customer_views
        from .services import orders_changed_bulk_callback, orders_changed_callback

        # Orders created or reversed (UI, API, import) update the customers' insight rows
        # inside the same transaction; an import run tells them all at once (bulk).
        on_orders_changed(orders_changed_callback, bulk=orders_changed_bulk_callback)
        # Insight filters, columns and the nested API field on the customer pages.
        extend_customer_views()
