"""Test settings: the real services when they answer, the embedded defaults otherwise.

PostgreSQL is taken from DATABASE_URL or the default local port, Redis from
CELERY_BROKER_URL or the default local port. With REQUIRE_SERVICES=1 a
missing service fails the run instead of falling back. The choice is printed
in pytest's header (tests/conftest.py).
"""

import os
import tempfile
import uuid

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/0"
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") == "1"


def _postgres_answers(url: str) -> str | None:
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(url)
    try:
        with psycopg.connect(
            host=cfg["HOST"] or None,
            port=cfg["PORT"] or None,
            user=cfg["USER"] or None,
            password=cfg["PASSWORD"] or None,
            dbname=cfg["NAME"],
            connect_timeout=3,
        ):
            return None
    except Exception as exc:  # any failure means: not usable
        return str(exc).strip().splitlines()[0]


def _redis_answers(url: str) -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
        return None
    except Exception as exc:
        return str(exc)


def _choose() -> list[str]:
    used, missing = [], []
    db_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if db_url.startswith("postgres"):
        problem = _postgres_answers(db_url)
        if problem is None:
            os.environ["DATABASE_URL"] = db_url
            used.append(f"PostgreSQL ({db_url.rsplit('@', 1)[-1]})")
        else:
            missing.append(f"PostgreSQL at {db_url.rsplit('@', 1)[-1]}: {problem}")
            os.environ.pop("DATABASE_URL", None)
    if "DATABASE_URL" not in os.environ:
        used.append("SQLite (embedded default)")

    broker = os.environ.get("CELERY_BROKER_URL") or DEFAULT_BROKER_URL
    if broker.startswith("redis"):
        problem = _redis_answers(broker)
        if problem is None:
            os.environ["CELERY_BROKER_URL"] = broker
            used.append(f"Redis ({broker.rsplit('@', 1)[-1].split('//')[-1]})")
        else:
            missing.append(f"Redis at {broker}: {problem}")
            os.environ.pop("CELERY_BROKER_URL", None)
    if "CELERY_BROKER_URL" not in os.environ:
        used.append("Celery filesystem:// broker (embedded default)")

    if missing and REQUIRE_SERVICES:
        raise SystemExit("REQUIRE_SERVICES=1 but a service is unreachable: " + "; ".join(missing))
    return used


SERVICES_USED = _choose()
USING_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
USING_REDIS = os.environ.get("CELERY_BROKER_URL", "").startswith("redis")

# Each run gets its own data folder and its own queue, so that nothing a run
# leaves behind (or another run on the same Redis) leaks into the next.
os.environ["PORTAL_DATA_DIR"] = tempfile.mkdtemp(prefix="portal-test-")
os.environ["CELERY_TASK_DEFAULT_QUEUE"] = f"portal-test-{uuid.uuid4().hex[:12]}"
os.environ.setdefault("EMAIL_URL", "locmem://")

from portal.settings import *  # noqa: E402,F403
from portal.settings import DATA_DIR, DATABASES  # noqa: E402

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory, so that worker processes see the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}

# Fast hashing in tests; production's Argon2 is asserted in test_settings.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Uploads stream through temporary files here, so tests can see none is left behind.
FILE_UPLOAD_TEMP_DIR = str(DATA_DIR / "upload-tmp")
os.makedirs(FILE_UPLOAD_TEMP_DIR, exist_ok=True)
