"""Settings load in both modes; production refuses to start without its secrets."""

import json
import os
import subprocess
import sys

import pytest

from tests.processes import REPO

PRODUCTION = {
    "PORTAL_ENV": "production",
    "SECRET_KEY": "x" * 64 + "-a-long-random-production-secret",
    "ALLOWED_HOSTS": "portal.example.org",
    "DATABASE_URL": "postgres://portal:pw@db.internal:5432/portal",
    "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
    "STORAGE_BACKEND": "s3",
    "S3_ENDPOINT_URL": "http://s3.internal:9000",
    "S3_UPLOADS_BUCKET": "uploads",
    "S3_PUBLIC_BUCKET": "downloads",
    "AWS_ACCESS_KEY_ID": "key",
    "AWS_SECRET_ACCESS_KEY": "secret",
    "EMAIL_URL": "smtp://mailer:p%40ss@smtp.internal:587?tls=1",
}

PROBE = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "db": settings.DATABASES["default"]["ENGINE"],
    "db_host": settings.DATABASES["default"].get("HOST"),
    "broker": settings.CELERY_BROKER_URL,
    "uploads": settings.STORAGES["uploads"]["BACKEND"],
    "uploads_bucket": settings.STORAGES["uploads"].get("OPTIONS", {}).get("bucket_name"),
    "public": settings.STORAGES["public"]["BACKEND"],
    "email": settings.EMAIL_BACKEND,
    "outbox_page": settings.OUTBOX_PAGE,
    "email_host": getattr(settings, "EMAIL_HOST", None),
    "email_password": getattr(settings, "EMAIL_HOST_PASSWORD", None),
    "email_tls": getattr(settings, "EMAIL_USE_TLS", None),
    "debug": settings.DEBUG,
    "hasher": settings.PASSWORD_HASHERS[0],
}))
"""


def load(env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            (
                "PORTAL_",
                "DATABASE_URL",
                "CELERY_",
                "STORAGE_",
                "S3_",
                "AWS_",
                "EMAIL_",
                "SECRET_KEY",
                "ALLOWED_HOSTS",
                "DJANGO_",
            )
        )
    }
    clean.update(
        {"DJANGO_SETTINGS_MODULE": "portal.settings", "PORTAL_DATA_DIR": str(tmp_path), **env}
    )
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_embedded_defaults_need_no_server(tmp_path):
    result = load({}, tmp_path)
    assert result.returncode == 0, result.stderr
    cfg = json.loads(result.stdout)
    assert cfg["db"] == "django.db.backends.sqlite3"
    assert cfg["broker"] == "filesystem://"
    assert cfg["uploads"] == cfg["public"] == "django.core.files.storage.FileSystemStorage"
    # Mail is kept in an outbox a newcomer opens in the browser (portal/outbox.py).
    assert cfg["email"] == "portal.outbox.OutboxBackend" and cfg["outbox_page"] is True
    assert cfg["debug"] is True


def test_production_values_come_from_the_environment(tmp_path):
    result = load(PRODUCTION, tmp_path)
    assert result.returncode == 0, result.stderr
    cfg = json.loads(result.stdout)
    assert cfg["db"] == "django.db.backends.postgresql"
    assert cfg["db_host"] == "db.internal"
    assert cfg["broker"] == "redis://redis.internal:6379/0"
    assert cfg["uploads"] == cfg["public"] == "storages.backends.s3.S3Storage"
    assert cfg["uploads_bucket"] == "uploads"
    assert cfg["email"] == "django.core.mail.backends.smtp.EmailBackend"
    assert cfg["outbox_page"] is False
    assert (cfg["email_host"], cfg["email_password"], cfg["email_tls"]) == (
        "smtp.internal",
        "p@ss",
        True,
    )
    assert cfg["debug"] is False
    assert cfg["hasher"].endswith("Argon2PasswordHasher")


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "AWS_SECRET_ACCESS_KEY"])
def test_production_refuses_to_start_without_a_secret(missing, tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = load(env, tmp_path)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert f"{missing} is not set" in last_line
    assert "PORTAL_ENV=production" in last_line


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        ("STORAGE_BACKEND", "ftp", "STORAGE_BACKEND must be local or s3"),
        ("EMAIL_URL", "pigeon://coop", "EMAIL_URL must start with"),
        ("UPLOAD_MAX_BYTES", "two gigs", "UPLOAD_MAX_BYTES must be a whole number"),
        ("PORTAL_ENV", "staging", "PORTAL_ENV must be development or production"),
    ],
)
def test_a_wrong_value_is_named_in_one_line(variable, value, complaint, tmp_path):
    result = load({variable: value}, tmp_path)
    assert result.returncode != 0
    assert complaint in result.stderr.strip().splitlines()[-1]


def test_production_never_keeps_mail_in_an_outbox(tmp_path):
    result = load({**PRODUCTION, "EMAIL_URL": "outbox://"}, tmp_path)
    assert result.returncode != 0
    assert "in production give smtp:// or smtps://" in result.stderr.strip().splitlines()[-1]
    # Without EMAIL_URL, production prints mail to its log rather than keep it on a page.
    env = {k: v for k, v in PRODUCTION.items() if k != "EMAIL_URL"}
    cfg = json.loads(load(env, tmp_path).stdout)
    assert cfg["email"] == "django.core.mail.backends.console.EmailBackend"
    assert cfg["outbox_page"] is False


def test_deploy_checks_pass_under_production_settings(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PORTAL_"))}
    env.update(PRODUCTION, DJANGO_SETTINGS_MODULE="portal.settings", PORTAL_DATA_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
