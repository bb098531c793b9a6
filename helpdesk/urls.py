from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import health

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="agents:inbox", permanent=False)),
    path("healthz", health.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("agent/", include("agents.urls")),
    path("api/v1/", include("api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    # Email services' inbound and tracking webhooks, authenticated by Anymail.
    path("anymail/", include("channels_in.anymail_urls")),
    # Customers' survey pages, reached by signed links (no sign-in).
    path("survey/", include("feedback.urls")),
    path("", include("channels_in.urls")),
]
