from django.urls import path

from . import agent_views, views, widget_script, widget_views

app_name = "channels_in"
urlpatterns = [
    path("inbound/<str:channel>/<str:key>/", views.inbound_webhook, name="webhook"),
    path("widget/<str:key>.js", widget_script.script, name="widget_script"),
    path("widget/<str:key>/messages", widget_views.messages, name="widget_messages"),
    path("widget/<str:key>/files", widget_views.files, name="widget_files"),
    path("widget/<str:key>/articles", widget_views.articles, name="widget_articles"),
    path(
        "widget/<str:key>/articles/<int:article_id>",
        widget_views.article,
        name="widget_article",
    ),
    path("widget/<str:key>/files/<str:token>", widget_views.attachment, name="widget_file"),
    path("agent/inboxes/", agent_views.inboxes, name="inboxes"),
    path(
        "agent/inboxes/<int:inbox_id>/preview/",
        agent_views.widget_preview,
        name="widget_preview",
    ),
    path(
        "agent/inboxes/<int:inbox_id>/raw/<int:raw_id>.eml",
        agent_views.raw_mail,
        name="raw_mail",
    ),
]
