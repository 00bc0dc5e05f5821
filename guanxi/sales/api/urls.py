"""API routes of the catalogue and the orders, registered in ``guanxi.api_urls``."""

from guanxi.sales.api.views import OrderViewSet, ProductViewSet

#: ``(prefix, viewset, basename)`` for :meth:`rest_framework.routers.BaseRouter.register`.
routes = [
    ("products", ProductViewSet, "product"),
    ("orders", OrderViewSet, "order"),
]
