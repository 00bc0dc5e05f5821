"""Top-level URLs: the web UI, the REST API with its OpenAPI schema, and the admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("guanxi.api_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("guanxi.accounts.urls")),
    path("customers/", include("guanxi.customers.urls")),
    path("sales/", include("guanxi.sales.urls")),
    path("activities/", include("guanxi.activities.urls")),
    path("insights/", include("guanxi.insights.urls")),
    path("data/", include("guanxi.dataio.urls")),
    path("duplicates/", include("guanxi.dedup.urls")),
    path("privacy/", include("guanxi.privacy.urls")),
    path("", include("guanxi.core.urls")),
]

# A form over the upload limit gets a page that says what to shorten (413), not a bare 400.
handler400 = "guanxi.core.views.bad_request"
