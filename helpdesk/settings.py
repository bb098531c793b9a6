"""Settings for the helpdesk, read from the environment.

The defaults make `make run` work on a fresh machine with no external service
(SQLite, in-process channel layer, embedded Celery broker). DATABASE_URL and
REDIS_URL switch to the production topology (PostgreSQL, Redis).
"""

import os
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# The default key is only for the embedded demo; production sets SECRET_KEY.
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-change-me-in-production-0123456789")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The base URL providers call us on (Twilio signs the URL as configured).
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
# Behind a reverse proxy that sets X-Forwarded-Host and X-Forwarded-Proto (and
# strips them from what clients send), True lets signed webhooks also be checked
# against the URL the proxy forwarded. Leave False unless the proxy does both.
TRUST_FORWARDED_HEADERS = env.bool("TRUST_FORWARDED_HEADERS", default=False)
if TRUST_FORWARDED_HEADERS:
    USE_X_FORWARDED_HOST = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "channels",
    "django_htmx",
    "template_partials",
    "anymail",
    "tickets",
    "channels_in",
    "knowledge",
    "feedback",
    "agents",
    "api",
    "helpdesk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "agents.middleware.AgentPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"
ASGI_APPLICATION = "helpdesk.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    }
]

# --- Database: SQLite (WAL) by default, PostgreSQL with DATABASE_URL ---------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    (BASE_DIR / "var").mkdir(exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run beside the writer; IMMEDIATE takes the write lock
        # at BEGIN so two writers queue instead of failing with "database is locked".
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file, not shared-cache memory: tests then lock the way production does.
    # One per process, so parallel test runs never share it.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")}
else:
    # 0: one connection per request. Under ASGI each request's sync code runs
    # in a thread of its own, so a persistent connection is never reused, only
    # left open until PostgreSQL refuses new ones (measured: bench/RESULTS.md,
    # Email). Put PgBouncer in front to pool; Celery workers may set it higher.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, Celery broker and cache ---------------------------
REDIS_URL = env("REDIS_URL", default="")
EMBEDDED = not REDIS_URL

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # The pub/sub layer relays 3-5x faster than the classic one under load
            # (shared/perf-notes.md).
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
    CELERY_BROKER_URL = REDIS_URL
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # In-process broker: the worker and beat run inside the server process
    # (helpdesk/embedded.py). Anything durable lives in the database and is
    # re-derived by sweepers, so a restart loses nothing.
    CELERY_BROKER_URL = "memory://"

CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Above the longest task, so Redis redelivers only tasks whose worker died.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE = {
    "sweep-inbound": {"task": "channels_in.tasks.sweep_inbound", "schedule": 60.0},
    "sweep-outbound": {"task": "channels_in.tasks.sweep_outbound", "schedule": 60.0},
    # Fans out one poll task per IMAP inbox that is due (each with its own backoff).
    "poll-mailboxes": {"task": "channels_in.tasks.poll_mailboxes", "schedule": 30.0},
    # Warnings, breaches and escalations whose time has come (tickets/sla.py).
    "sla-sweep": {"task": "tickets.tasks.sla_sweep", "schedule": 60.0},
}

# --- Auth ----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "agents:inbox"
LOGOUT_REDIRECT_URL = "login"

# --- i18n ------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("pl", _("Polish")), ("cs", _("Czech"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="Europe/Warsaw")
USE_I18N = True
USE_TZ = True

# --- Static and media ----------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
# Serve static files straight from the app folders: no collectstatic needed to run.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Product rules -------------------------------------------------------------
# A customer message on a solved ticket reopens it within this window,
# after it a new ticket starts (linked to the old one).
REOPEN_WINDOW_DAYS = env.int("REOPEN_WINDOW_DAYS", default=7)
# Largest inbound webhook body we store (413 beyond it).
INBOUND_MAX_BYTES = env.int("INBOUND_MAX_BYTES", default=25 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = INBOUND_MAX_BYTES
# Messages one sender (a phone number, a Messenger user) may send an inbox a minute:
# past it the webhook answers 429 and stores nothing (a runaway bot, a loop).
INBOUND_PER_SENDER_PER_MINUTE = env.int("INBOUND_PER_SENDER_PER_MINUTE", default=30)
# Raw inbound records still unprocessed after this many seconds are swept.
INBOUND_SWEEP_AFTER_SECONDS = env.int("INBOUND_SWEEP_AFTER_SECONDS", default=60)
# An outbound send stuck in "sending" this long is marked "unknown" for an agent to check.
OUTBOUND_STUCK_AFTER_SECONDS = env.int("OUTBOUND_STUCK_AFTER_SECONDS", default=600)
# Acknowledgements of new tickets (tickets/acknowledge.py), on where an inbox's
# config["acknowledgement"]["enabled"] is true: at most one per customer this often;
# none once the ticket's first message is this old (a task that waited too long).
ACK_THROTTLE_HOURS = env.int("ACK_THROTTLE_HOURS", default=6)
ACK_LATE_AFTER_MINUTES = env.int("ACK_LATE_AFTER_MINUTES", default=30)
# The expected reply time: the median first response of the inbox's latest
# ACK_HISTORY_TICKETS answered tickets of ACK_HISTORY_DAYS (at least ACK_MIN_HISTORY of
# them, else the inbox's reply_within_hours), cached this long; stretched when the team
# has more than ACK_QUEUE_PER_AGENT unanswered tickets per agent.
ACK_HISTORY_DAYS = env.int("ACK_HISTORY_DAYS", default=30)
ACK_HISTORY_TICKETS = env.int("ACK_HISTORY_TICKETS", default=200)
ACK_MIN_HISTORY = env.int("ACK_MIN_HISTORY", default=5)
ACK_STATS_CACHE_SECONDS = env.int("ACK_STATS_CACHE_SECONDS", default=300)
ACK_QUEUE_PER_AGENT = env.int("ACK_QUEUE_PER_AGENT", default=5)
# Surveys when a ticket is solved (feedback/policy.py has the rules).
SURVEY_ENABLED = env.bool("SURVEY_ENABLED", default=True)
# csat (1-5), ces (1-7) or nps (0-10); an inbox may choose its own (config "survey_kind").
SURVEY_KIND = env("SURVEY_KIND", default="csat")
# No customer gets more than one survey in this many days.
SURVEY_PERIOD_DAYS = env.int("SURVEY_PERIOD_DAYS", default=7)
# NPS instead of the usual kind for a customer not asked it for this long (0: never).
SURVEY_NPS_EVERY_DAYS = env.int("SURVEY_NPS_EVERY_DAYS", default=90)
# Links and texted answers are taken this long (texted ones at most REOPEN_WINDOW_DAYS).
SURVEY_EXPIRY_DAYS = env.int("SURVEY_EXPIRY_DAYS", default=7)
# Solved tickets with any of these tags get no survey.
SURVEY_SKIP_TAGS = env.list("SURVEY_SKIP_TAGS", default=["spam"])
# A survey goes this long after the ticket is solved (a reopen meanwhile cancels it).
SURVEY_DELAY_MINUTES = env.int("SURVEY_DELAY_MINUTES", default=30)
CELERY_BEAT_SCHEDULE["send-due-surveys"] = {
    "task": "feedback.tasks.send_due_surveys",
    "schedule": 60.0,
}

# --- Email -------------------------------------------------------------------
# Outbound mail goes through Django's email backend: SMTP from EMAIL_URL
# (smtp://user:pass@host:587/?tls=True), an Anymail email service when
# ANYMAIL_ESP names one (mailgun, postmark, sendgrid, amazon_ses, ...; its
# credentials in ANYMAIL_* variables), else files under var/mail, so `make run`
# needs no mail server and every "sent" reply can be read there.
ANYMAIL_ESP = env("ANYMAIL_ESP", default="")
if ANYMAIL_ESP:
    EMAIL_BACKEND = f"anymail.backends.{ANYMAIL_ESP}.EmailBackend"
elif env("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
    if EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend":  # noqa: F821
        # The same, keeping the recipients the server refused.
        EMAIL_BACKEND = "channels_in.email.smtp.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = BASE_DIR / "var" / "mail"
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
ANYMAIL = {
    # Basic auth every Anymail webhook checks ("user:password" in the webhook URL).
    "WEBHOOK_SECRET": env("ANYMAIL_WEBHOOK_SECRET", default="") or None,
    # Each service's own webhook signature, where it has one.
    "MAILGUN_WEBHOOK_SIGNING_KEY": env("MAILGUN_WEBHOOK_SIGNING_KEY", default="") or None,
    "MAILGUN_API_KEY": env("MAILGUN_API_KEY", default="") or None,
    "POSTMARK_SERVER_TOKEN": env("POSTMARK_SERVER_TOKEN", default="") or None,
    "SENDGRID_API_KEY": env("SENDGRID_API_KEY", default="") or None,
    "POSTMARK_WEBHOOK_SECRET": None,
}
ANYMAIL = {key: value for key, value in ANYMAIL.items() if value}
# Attachments above this are not stored; the message says so to the agent.
EMAIL_MAX_ATTACHMENT_BYTES = env.int("EMAIL_MAX_ATTACHMENT_BYTES", default=15 * 1024 * 1024)
# Automatic mail (acknowledgements, surveys) to one address, per window: a
# misbehaving peer's auto-responder cannot drag us into a loop past these.
AUTOMATIC_MAIL_WINDOW_HOURS = env.int("AUTOMATIC_MAIL_WINDOW_HOURS", default=24)
AUTOMATIC_MAIL_MAX_PER_TICKET = env.int("AUTOMATIC_MAIL_MAX_PER_TICKET", default=3)
AUTOMATIC_MAIL_MAX_PER_ADDRESS = env.int("AUTOMATIC_MAIL_MAX_PER_ADDRESS", default=10)
# An address that hard-bounced gets no automatic mail for this long.
BOUNCED_ADDRESS_SUPPRESS_DAYS = env.int("BOUNCED_ADDRESS_SUPPRESS_DAYS", default=30)
# IMAP polling: a failing mailbox waits longer after each failure, up to this.
IMAP_POLL_SECONDS = env.int("IMAP_POLL_SECONDS", default=60)
IMAP_MAX_BACKOFF_SECONDS = env.int("IMAP_MAX_BACKOFF_SECONDS", default=3600)
IMAP_TIMEOUT_SECONDS = env.int("IMAP_TIMEOUT_SECONDS", default=30)
# Mail read per poll of one mailbox; a larger backlog is read over the next polls.
IMAP_POLL_LIMIT = env.int("IMAP_POLL_LIMIT", default=200)

# --- SMS (Twilio) and Messenger (Meta) ---------------------------------------
# Provider API base URLs: settings, so tests and staging point them at a local server.
TWILIO_API_BASE_URL = env("TWILIO_API_BASE_URL", default="https://api.twilio.com").rstrip("/")
META_GRAPH_API_BASE_URL = env(
    "META_GRAPH_API_BASE_URL", default="https://graph.facebook.com"
).rstrip("/")
META_GRAPH_API_VERSION = env("META_GRAPH_API_VERSION", default="v21.0")
# Hosts Messenger attachment URLs may point at (suffix match); anything else is not fetched.
MESSENGER_MEDIA_HOSTS = env.list("MESSENGER_MEDIA_HOSTS", default=["fbcdn.net", "fbsbx.com"])
# Seconds one provider API call may take before it counts as a temporary failure.
PROVIDER_TIMEOUT_SECONDS = env.float("PROVIDER_TIMEOUT_SECONDS", default=15.0)
# Largest picture or file fetched from an MMS or a Messenger attachment.
INBOUND_MEDIA_MAX_BYTES = env.int("INBOUND_MEDIA_MAX_BYTES", default=10 * 1024 * 1024)
# Phone numbers written without a country code are read as numbers of this region.
PHONE_DEFAULT_REGION = env("PHONE_DEFAULT_REGION", default="PL")

# --- API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "api.pagination.DefaultCursorPagination",
    "PAGE_SIZE": 25,
    "EXCEPTION_HANDLER": "api.errors.json_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Helpdesk API",
    "DESCRIPTION": "Customers, their cross-channel timeline, tickets, replies and notes.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # One schema name per choice set, whichever field uses it.
    "ENUM_NAME_OVERRIDES": {
        "ChannelEnum": "tickets.models.Channel",
        "IdentityKindEnum": "tickets.models.IdentityKind",
        "EventKindEnum": "tickets.models.EventKind",
        "LanguageEnum": "tickets.models.Language",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # httpx logs every request URL at INFO; Meta's Graph API takes the token in it.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # One line per task received and finished is noise in the embedded server.
        "celery.worker.strategy": {"level": "WARNING" if EMBEDDED else "INFO"},
        "celery.app.trace": {"level": "WARNING" if EMBEDDED else "INFO"},
        "celery.beat": {"level": "WARNING" if EMBEDDED else "INFO"},
    },
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-less meta tag
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
