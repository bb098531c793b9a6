"""Settings of the minimal project the email bench runs django-helpdesk in (its own virtualenv).

Only what its install and configuration docs ask for, on its own PostgreSQL database
(DJHD_DATABASE_URL). Teams mode is off (it would need pinax-teams); mail it sends in reply
(the new-ticket acknowledgements) goes to Django's dummy backend, so no SMTP round trip is
timed. django-helpdesk's own package name is `helpdesk`, like our project's: never put the
repository root on this project's sys.path.
"""

import os
from pathlib import Path
from urllib.parse import urlparse

HERE = Path(__file__).resolve().parent
WORK = Path(os.environ.get("DJHD_WORK_DIR", HERE / "var"))

_db = urlparse(
    os.environ.get("DJHD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/helpdesk_bench_djhd")
)

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "helpdesk",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "djhd_urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _db.path.lstrip("/"),
        "USER": _db.username or "postgres",
        "PASSWORD": _db.password or "",
        "HOST": _db.hostname or "127.0.0.1",
        "PORT": str(_db.port or 5432),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
SITE_ID = 1
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
STATIC_URL = "/static/"
MEDIA_URL = "/media/"
MEDIA_ROOT = str(WORK / "media")
LOGIN_URL = "helpdesk:login"
DEFAULT_FROM_EMAIL = "support@shop.example"
SERVER_EMAIL = "support@shop.example"
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"

HELPDESK_TEAMS_MODE_ENABLED = False
HELPDESK_DEFAULT_SETTINGS = {"use_email_as_submitter": True}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
