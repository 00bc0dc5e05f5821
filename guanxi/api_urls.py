"""REST API URLs under /api/: one router for every app's viewsets, plus the user views.

``router`` is public so that tests can enumerate every route (the permission matrix).
"""

from django.urls import URLPattern, URLResolver, include, path

from guanxi.activities.api.urls import routes as activity_routes
from guanxi.core.api.routers import Router
from guanxi.customers.api.urls import routes as customer_routes
from guanxi.dataio.api.urls import routes as dataio_routes
from guanxi.dedup.api.urls import routes as dedup_routes
from guanxi.insights.api.urls import routes as insight_routes
from guanxi.privacy.api.urls import routes as privacy_routes
from guanxi.sales.api.urls import routes as sales_routes

app_name = "api"

router = Router()
for prefix, viewset, basename in (
    *customer_routes,
    *sales_routes,
    *activity_routes,
    *privacy_routes,
    *dedup_routes,
    *dataio_routes,
    *insight_routes,
):
    router.register(prefix, viewset, basename=basename)

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("guanxi.accounts.api.urls")),
    path("", include("guanxi.core.api.urls")),
    path("", include(router.urls)),
]
