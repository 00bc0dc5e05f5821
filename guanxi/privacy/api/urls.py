"""API routes of privacy, registered in ``guanxi.api_urls`` under the customers prefix."""

from guanxi.privacy.api.views import CustomerEraseViewSet

#: ``(prefix, viewset, basename)`` for :meth:`rest_framework.routers.BaseRouter.register`.
routes = [("customers", CustomerEraseViewSet, "customer-erase")]
