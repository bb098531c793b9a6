from django.urls import path

from . import views, widget_views

app_name = "channels_in"
urlpatterns = [
    path("inbound/<str:channel>/<str:key>/", views.inbound_webhook, name="webhook"),
    path("widget/<str:key>/messages", widget_views.messages, name="widget_messages"),
]
