"""Running the real server for tests: a free port, `manage.py` commands, waiting until it answers.

Used by the browser tests (tests/e2e/) and the widget's protocol tests, which
start `manage.py serve` as a subprocess on a SQLite file of its own.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env: dict, *args: str) -> str:
    """Run `manage.py <args>` with the server's environment; its stdout."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


def wait_until_up(base: str, process: subprocess.Popen, log: Path) -> None:
    """Until /healthz answers 200; fail with the server's log if it exits or never does."""
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited early:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(f"the server did not come up:\n{log.read_text(errors='replace')[-4000:]}")


def server_env(tmp: Path, **extra: str) -> dict:
    """The environment of a test server: its own SQLite file and the embedded topology,
    whatever the suite itself runs on."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp / "media"),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    for name in ("REDIS_URL", "CELERY_TASK_ALWAYS_EAGER", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    return env


@contextmanager
def serving(env: dict, port: int, log: Path) -> Iterator[subprocess.Popen]:
    """`manage.py serve` on the port until the block ends; the whole process group is stopped."""
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: we stop all of it
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}", process, log)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


# --- A server a test stops and starts itself (a crash and a restart on the same port) ---------


def start_serving(env: dict, port: int, log: Path) -> subprocess.Popen:
    """`manage.py serve` on the port, answering /healthz, in a process group of its own.

    Unlike `serving`, the caller stops it, with `kill_serving` (a crash) and may then start
    it again on the same port and database. `log` is appended to across restarts.
    """
    with log.open("a") as out:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}", process, log)
    except BaseException:
        kill_serving(process)
        raise
    return process


def kill_serving(process: subprocess.Popen) -> None:
    """SIGKILL the server's whole process group: nothing graceful, like a crash or an OOM kill.

    Returns once the process is gone (its port free again)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=10)


# --- The suite's own topology: PostgreSQL + Redis when DATABASE_URL and REDIS_URL say so ------

# The Redis database of test servers in the production topology: not the suite's, so the
# suite's rate-limit counters and queued tasks never meet a test server's.
SERVER_REDIS_DB = 15


def production_topology() -> bool:
    """The suite runs on PostgreSQL and Redis (CI's first pass), not in embedded mode."""
    url = os.environ.get("DATABASE_URL", "")
    return url.startswith(("postgres://", "postgresql://")) and bool(os.environ.get("REDIS_URL"))


def _postgres(url: str, statement: str) -> None:
    """One statement outside a transaction (CREATE/DROP DATABASE) on the URL's server,
    through its maintenance database (the URL's own need not exist, as for pytest-django)."""
    import environ
    import psycopg2

    config = environ.Env.db_url_config(url)
    connection = psycopg2.connect(
        dbname="postgres",
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
    )
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def _path_of(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path


def _with_path(url: str, path: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


@contextmanager
def production_env(tmp: Path, **extra: str) -> Iterator[dict]:
    """The environment of a test server in the production topology: a new PostgreSQL
    database of its own on the suite's server (dropped afterwards) and the Redis database
    SERVER_REDIS_DB on the suite's Redis (emptied first). Needs production_topology()."""
    import redis

    suite_db, suite_redis = os.environ["DATABASE_URL"], os.environ["REDIS_URL"]
    redis_db = SERVER_REDIS_DB if _path_of(suite_redis) != f"/{SERVER_REDIS_DB}" else 14
    redis_url = _with_path(suite_redis, f"/{redis_db}")
    name = f"helpdesk_e2e_{os.getpid()}_{time.monotonic_ns() % 10**9}"
    _postgres(suite_db, f'CREATE DATABASE "{name}"')
    try:
        redis.Redis.from_url(redis_url).flushdb()
        yield {
            **server_env(tmp),
            "DATABASE_URL": _with_path(suite_db, f"/{name}"),
            "REDIS_URL": redis_url,
            **extra,
        }
    finally:
        _postgres(suite_db, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def celery_worker(env: dict, log: Path) -> Iterator[subprocess.Popen]:
    """A Celery worker on the environment's broker (production topology) until the block
    ends, ready when it is yielded; its process group is stopped afterwards."""
    with log.open("a") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "helpdesk", "worker", "--pool", "threads",
             "--concurrency", "2", "--without-heartbeat", "--without-mingle",
             "--without-gossip", "--loglevel", "info"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 45
        while " ready." not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Celery worker did not start:\n{log.read_text()[-4000:]}")
            time.sleep(0.2)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # a warm shutdown
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                kill_serving(process)
