"""Bench-only settings overlay: helpdesk.settings with psycopg 3's connection pool (a diagnosis).

The webhook bench runs the server once more per channel with DJANGO_SETTINGS_MODULE=
settings_pooled (PYTHONPATH=bench/webhooks plus var/bench-webhooks/pool-libs, where
bench/webhooks/run.sh installs psycopg[binary,pool]), to measure what Django's documented
ASGI set-up would give: "When using ASGI, persistent connections should be disabled.
Instead, use your database backend's built-in connection pooling". Each server process
keeps 4 to 8 open connections (8 requests in flight at most). The product never imports
this module.
"""

from helpdesk.settings import *  # noqa: F403
from helpdesk.settings import DATABASES

DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 4, "max_size": 8}
