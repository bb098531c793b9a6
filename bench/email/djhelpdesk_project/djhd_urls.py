"""URLs of the bench's django-helpdesk project: its app at /helpdesk/ (its ticket links need it)."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("helpdesk/", include("helpdesk.urls", namespace="helpdesk")),
]
