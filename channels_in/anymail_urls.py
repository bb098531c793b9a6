"""Anymail's webhook URLs (`/anymail/<esp>/inbound/`, `/anymail/<esp>/tracking/`),
each view wrapped so a database failure answers 503 instead of 500."""

from anymail import urls as anymail_urls
from django.urls import URLPattern

from .email.anymail_hooks import unavailable_is_503

app_name = "anymail"
urlpatterns = []
for pattern in anymail_urls.urlpatterns:
    assert isinstance(pattern, URLPattern)
    wrapped = URLPattern(pattern.pattern, unavailable_is_503(pattern.callback), name=pattern.name)
    urlpatterns.append(wrapped)
