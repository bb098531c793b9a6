from django.urls import path

from . import chats, sla_views, views

app_name = "agents"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("sla/", sla_views.sla_policies, name="sla_policies"),
    path("sla/new/", sla_views.sla_policy_edit, name="sla_policy_new"),
    path("sla/<int:pk>/", sla_views.sla_policy_edit, name="sla_policy_edit"),
    path("sla/<int:pk>/delete/", sla_views.sla_policy_delete, name="sla_policy_delete"),
    path("language/", views.set_language, name="set_language"),
    path("availability/", views.availability, name="availability"),
    path("chats/", chats.chats, name="chats"),
    path("chats/list/", chats.chat_list, name="chat_list"),
    path("chats/<int:pk>/take/", chats.chat_take, name="chat_take"),
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:pk>/row/", views.ticket_row, name="ticket_row"),
    path("tickets/<int:pk>/header/", views.ticket_header, name="ticket_header"),
    path("tickets/<int:pk>/timeline/", views.ticket_timeline, name="ticket_timeline"),
    path("tickets/<int:pk>/reply/", views.ticket_reply, name="ticket_reply"),
    path("tickets/<int:pk>/note/", views.ticket_note, name="ticket_note"),
    path("tickets/<int:pk>/identities/", views.ticket_link_identity, name="ticket_link_identity"),
    path("tickets/<int:pk>/update/", views.ticket_update, name="ticket_update"),
    path("tickets/<int:pk>/merge/", views.ticket_merge, name="ticket_merge"),
    path("tickets/<int:pk>/transfer/", views.ticket_transfer, name="ticket_transfer"),
    path("tickets/<int:pk>/split/", views.ticket_split, name="ticket_split"),
    path(
        "tickets/<int:pk>/confirm-claim/",
        views.ticket_confirm_claim,
        name="ticket_confirm_claim",
    ),
    path(
        "tickets/<int:pk>/messages/<int:message_id>/delivery/",
        views.message_delivery,
        name="message_delivery",
    ),
    path(
        "tickets/<int:pk>/messages/<int:message_id>/retry/",
        views.message_retry,
        name="message_retry",
    ),
    path(
        "tickets/<int:pk>/messages/<int:message_id>/original/",
        views.message_original,
        name="message_original",
    ),
    path(
        "tickets/<int:pk>/messages/<int:message_id>/raw.eml",
        views.message_raw,
        name="message_raw",
    ),
    path(
        "tickets/<int:pk>/attachments/<int:attachment_id>/",
        views.attachment,
        name="attachment",
    ),
]
