"""Web UI URLs of the catalogue and the orders."""

from django.urls import URLPattern, URLResolver, path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("products/", views.ProductListView.as_view(), name="product_list"),
    path("products/add/", views.ProductEditView.as_view(), name="product_add"),
    path("products/<int:pk>/", views.ProductDetailView.as_view(), name="product_detail"),
    path("products/<int:pk>/edit/", views.ProductEditView.as_view(), name="product_edit"),
    path("products/<int:pk>/history/", views.ProductHistoryView.as_view(), name="product_history"),
    path("orders/", views.OrderListView.as_view(), name="order_list"),
    path("orders/add/", views.OrderCreateView.as_view(), name="order_add"),
    path("orders/<int:pk>/", views.OrderDetailView.as_view(), name="order_detail"),
    path("orders/<int:pk>/reverse/", views.OrderReverseView.as_view(), name="order_reverse"),
    path("orders/<int:pk>/history/", views.OrderHistoryView.as_view(), name="order_history"),
]
