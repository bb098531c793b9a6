from django.urls import path, re_path

from feedback import api as surveys

from . import views
from .errors import unknown_endpoint

app_name = "api"
urlpatterns = [
    path("customers/", views.customers, name="customers"),
    path("customers/<int:pk>/", views.customer_detail, name="customer"),
    path("customers/<int:pk>/timeline/", views.customer_timeline, name="customer-timeline"),
    path("customers/<int:pk>/merge/", views.customer_merge, name="customer-merge"),
    path("customers/<int:pk>/identities/", views.customer_identities, name="customer-identities"),
    path("tickets/", views.tickets, name="tickets"),
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:pk>/replies/", views.ticket_replies, name="ticket-replies"),
    path("tickets/<int:pk>/notes/", views.ticket_notes, name="ticket-notes"),
    path("tickets/<int:pk>/merge/", views.ticket_merge, name="ticket-merge"),
    path("tickets/<int:pk>/split/", views.ticket_split, name="ticket-split"),
    path("tickets/<int:pk>/messages/", views.ticket_messages, name="ticket-messages"),
    path("inboxes/", views.inboxes, name="inboxes"),
    path("surveys/", surveys.surveys, name="surveys"),
    path("inboxes/<int:pk>/", views.inbox_detail, name="inbox"),
    # Anything else under /api/v1/ answers a JSON 404, not an HTML page.
    re_path(r"^(?P<path>.*)$", unknown_endpoint),
]
