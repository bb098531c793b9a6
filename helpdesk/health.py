from django.conf import settings
from django.db import connection
from django.http import JsonResponse

from .celery import app


def healthz(request):
    status = {"database": "ok", "channel_layer": "ok", "queue": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # report, never 500
        status["database"] = f"error: {type(exc).__name__}"
    if settings.EMBEDDED:
        status["channel_layer"] = "in-memory"
        status["queue"] = "embedded"
    else:
        try:
            import redis

            redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1).ping()
        except Exception as exc:
            status["channel_layer"] = status["queue"] = f"error: {type(exc).__name__}"
        else:
            try:
                with app.connection_for_write() as conn:
                    conn.ensure_connection(max_retries=1)
            except Exception as exc:
                status["queue"] = f"error: {type(exc).__name__}"
    healthy = all(v in ("ok", "in-memory", "embedded") for v in status.values())
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", **status}, status=200 if healthy else 503
    )
