"""API routes of interactions, registered in ``guanxi.api_urls``."""

from guanxi.activities.api.views import InteractionViewSet

#: ``(prefix, viewset, basename)`` for :meth:`rest_framework.routers.BaseRouter.register`.
routes = [("interactions", InteractionViewSet, "interaction")]
