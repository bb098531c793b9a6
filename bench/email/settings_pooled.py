"""Bench-only settings overlay: helpdesk.settings with psycopg 3's connection pool.

The email bench runs the server once more with DJANGO_SETTINGS_MODULE=settings_pooled
(PYTHONPATH=bench/email plus var/bench-email/pool-libs, where run.sh installs
psycopg[binary,pool]), to measure what Django's documented ASGI setup would give:
"When using ASGI, persistent connections should be disabled. Instead, use your database
backend's built-in connection pooling". The product never imports this module.
"""

from helpdesk.settings import *  # noqa: F403
from helpdesk.settings import DATABASES

DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 2, "max_size": 4}
