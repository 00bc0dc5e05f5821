"""API routes of the customer database, registered on the router in ``guanxi.api_urls``."""

from guanxi.customers.api.views import ChangeRecordViewSet, ContactViewSet, CustomerViewSet

#: ``(prefix, viewset, basename)`` for :meth:`rest_framework.routers.BaseRouter.register`.
routes = [
    ("customers", CustomerViewSet, "customer"),
    ("contacts", ContactViewSet, "contact"),
    ("change-log", ChangeRecordViewSet, "changerecord"),
]
