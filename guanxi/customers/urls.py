"""Web UI URLs of customers and contacts."""

from django.urls import URLPattern, URLResolver, path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.CustomerListView.as_view(), name="customer_list"),
    path("add/", views.CustomerEditView.as_view(), name="customer_add"),
    path("<int:pk>/", views.CustomerDetailView.as_view(), name="customer_detail"),
    path("<int:pk>/edit/", views.CustomerEditView.as_view(), name="customer_edit"),
    path("<int:pk>/delete/", views.CustomerDeleteView.as_view(), name="customer_delete"),
    path("<int:pk>/history/", views.CustomerHistoryView.as_view(), name="customer_history"),
    path("<int:pk>/consent/", views.CustomerConsentView.as_view(), name="customer_consent"),
    path("<int:pk>/restore/", views.CustomerRestoreView.as_view(), name="customer_restore"),
    path("<int:pk>/timeline/", views.CustomerTimelineView.as_view(), name="customer_timeline"),
    path("<int:pk>/owner/", views.CustomerOwnerView.as_view(), name="customer_owner"),
    path("contacts/", views.ContactListView.as_view(), name="contact_list"),
    path("contacts/add/", views.ContactEditView.as_view(), name="contact_add"),
    path("contacts/<int:pk>/", views.ContactDetailView.as_view(), name="contact_detail"),
    path("contacts/<int:pk>/edit/", views.ContactEditView.as_view(), name="contact_edit"),
    path("contacts/<int:pk>/delete/", views.ContactDeleteView.as_view(), name="contact_delete"),
    path("contacts/<int:pk>/history/", views.ContactHistoryView.as_view(), name="contact_history"),
    path("contacts/<int:pk>/restore/", views.ContactRestoreView.as_view(), name="contact_restore"),
]
