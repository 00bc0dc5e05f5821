from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    name = "guanxi.insights"
    label = "insights"
    verbose_name = _("Insights")

    def ready(self) -> None:
        from guanxi.core.hooks import on_customer_fields_changed, on_orders_changed

        from . import dashboard_cache
        from .extensions import extend_customer_views
        from .share import customer_fields_changed_callback

        # Orders created or reversed (UI, API, import) update the customers' insight rows
        # inside the same transaction; an import run tells them all at once (bulk).
        on_orders_changed(_orders_changed, bulk=_orders_changed_bulk)
        # ... and make the dashboards' cached figures stale once they commit.
        on_orders_changed(dashboard_cache.orders_changed_callback)
        # A changed annual category need changes the customer's share at once.
        on_customer_fields_changed(customer_fields_changed_callback)
        # Insight filters, columns and the nested API field on the customer pages.
        extend_customer_views()


# The upkeep imports the statistical models (numpy, scipy): loaded at the first order, not
# by every process start (a management command, a web worker that records no order).
def _orders_changed(customer_ids: frozenset[int]) -> None:
    from .services import orders_changed_callback

    orders_changed_callback(customer_ids)


def _orders_changed_bulk(customer_ids: frozenset[int]) -> None:
    from .services import orders_changed_bulk_callback

    orders_changed_bulk_callback(customer_ids)
