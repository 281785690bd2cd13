"""Settings, read from the environment.

Every knob is one environment variable (README.md lists them all). With none
set, the portal runs on embedded defaults that need no server: SQLite, Celery
on kombu's filesystem transport, local file storage, mail kept in an outbox (/outbox/). Set
``PORTAL_ENV=production`` and the portal refuses to start without the secrets
it must not guess.

One file on purpose: every setting and its environment variable in one place,
in the order the README's configuration table lists them.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if not value:
        return default
    return value.lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = env(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def env_list(name: str) -> list[str]:
    return [item.strip() for item in env(name).split(",") if item.strip()]


PORTAL_ENV = env("PORTAL_ENV", "development")
if PORTAL_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"PORTAL_ENV must be development or production, not {PORTAL_ENV!r}")
PRODUCTION = PORTAL_ENV == "production"

# Runtime data of the embedded defaults (SQLite file, broker folders, local
# storage). Production keeps nothing here.
DATA_DIR = Path(env("PORTAL_DATA_DIR", str(BASE_DIR / "var"))).resolve()


def require(name: str) -> str:
    """A value production must be given; development gets a safe local one."""
    value = env(name)
    if PRODUCTION and not value:
        raise ImproperlyConfigured(
            f"{name} is not set: production (PORTAL_ENV=production) refuses to start without it."
        )
    return value


SECRET_KEY = require("SECRET_KEY") or "development-only-key-never-used-in-production-0123456789"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS") if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"]
if PRODUCTION and not ALLOWED_HOSTS:
    require("ALLOWED_HOSTS")  # raises with the variable's name
DEBUG = env_bool("DEBUG", default=not PRODUCTION) and not PRODUCTION

# The address people reach the portal at; used in mailed links.
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# The engine's source (packaging/), from which the portal builds the bundlecheck wheel it
# serves at /tools/, and where that wheel is kept once built (a cache: safe to delete).
BUNDLECHECK_SOURCE = Path(env("BUNDLECHECK_SOURCE", str(BASE_DIR / "packaging")))
TOOLS_DIR = Path(env("TOOLS_DIR", str(DATA_DIR / "tools")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "portal",
    "accounts",
    "releases",
    "publishing",
    "demo",
]

AUTHENTICATION_BACKENDS = [
    # First: refuses a log-in from a locked-out account name and address (django-axes).
    "accounts.throttling.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
    # `Authorization: Token <key>` on the API.
    "accounts.backends.ApiTokenBackend",
]

MIDDLEWARE = [
    "portal.middleware.ContentSecurityPolicyMiddleware",
    "portal.middleware.PortalErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a lock-out into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "releases.context_processors.team_nav",
                "portal.views.outbox_flag",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{DATA_DIR / 'portal.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Web, worker and beat share the file: a writer waits for the lock instead
    # of failing with "database is locked". A transaction takes the write lock
    # when it begins (IMMEDIATE), so the busy timeout applies to it (SQLite
    # cannot wait for a reader turning writer mid-transaction); WAL lets
    # readers go on while one writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Files ----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

STORAGE_BACKEND = env("STORAGE_BACKEND", "local")
# Tries of each S3 request (the first one included) before the error is
# raised; botocore waits between them with exponential backoff and jitter.
S3_MAX_ATTEMPTS = env_int("S3_MAX_ATTEMPTS", 3)
if STORAGE_BACKEND == "local":
    _uploads = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "uploads"), "base_url": None},
    }
    _public = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "public"), "base_url": "/downloads/"},
    }
elif STORAGE_BACKEND == "s3":
    _s3_common = {
        "endpoint_url": env("S3_ENDPOINT_URL") or None,
        "region_name": env("S3_REGION", "us-east-1"),
        "access_key": require("AWS_ACCESS_KEY_ID") or None,
        "secret_key": require("AWS_SECRET_ACCESS_KEY") or None,
        "file_overwrite": True,
        "signature_version": "s3v4",
        "addressing_style": "path",
    }
    from botocore.config import Config

    def _public_domain(value: str) -> dict:
        """S3_PUBLIC_DOMAIN: `cdn.example.org` (https), or a whole address
        `http://localhost:8000/downloads` (the front server proxying the bucket)."""
        if "://" not in value:
            return {"custom_domain": value or None}
        parts = urlparse(value)
        return {
            "custom_domain": parts.netloc + parts.path.rstrip("/"),
            "url_protocol": f"{parts.scheme}:",
        }

    # Given whole, the client config replaces django-storages' own: it repeats
    # the addressing style and signature, and adds retries with backoff.
    _s3_common["client_config"] = Config(
        s3={"addressing_style": "path"},
        signature_version="s3v4",
        connect_timeout=5,
        read_timeout=60,
        retries={"mode": "standard", "max_attempts": S3_MAX_ATTEMPTS},
    )
    _uploads = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **_s3_common,
            "bucket_name": env("S3_UPLOADS_BUCKET", "portal-uploads"),
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": env_int("S3_SIGNED_URL_SECONDS", 300),
        },
    }
    _public = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **_s3_common,
            "bucket_name": env("S3_PUBLIC_BUCKET", "portal-public"),
            "querystring_auth": False,
            **_public_domain(env("S3_PUBLIC_DOMAIN")),
        },
    }
else:
    raise ImproperlyConfigured(f"STORAGE_BACKEND must be local or s3, not {STORAGE_BACKEND!r}")

STORAGES = {
    # Private: uploaded submissions, pre-release tarballs, staged packages.
    "uploads": _uploads,
    # Public: the download page, the assembled source tarball, checksums.
    "public": _public,
    "default": _uploads,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Largest upload accepted, in bytes (default 2 GB).
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 2 * 1024**3)
# `nginx`: a front server (deploy/nginx/) sends the files the portal has
# authorised (X-Accel-Redirect, portal/sendfile.py); empty: views stream them.
FRONT_SERVER = env("FRONT_SERVER")
if FRONT_SERVER not in {"", "nginx"}:
    raise ImproperlyConfigured(f"FRONT_SERVER must be empty or nginx, not {FRONT_SERVER!r}")
# Uploads stream to a temporary file, never to memory past this.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024**2
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024**2

# Personal pre-release download links stop working after this many days.
PRERELEASE_LINK_DAYS = env_int("PRERELEASE_LINK_DAYS", 14)
# Sign-up confirmation links stop working after this many days.
SIGNUP_LINK_DAYS = env_int("SIGNUP_LINK_DAYS", 3)
# Uploads one person may make per hour before answers become 429.
UPLOADS_PER_HOUR = env_int("UPLOADS_PER_HOUR", 30)
# Failed, rejected, superseded and stale uploads lose their bytes (the record
# stays) this many days after they were made; the sweeper deletes them.
UPLOAD_RETENTION_DAYS = env_int("UPLOAD_RETENTION_DAYS", 14)
# Bytes one distro's stored uploads to a project may take.
DISTRO_QUOTA_BYTES = env_int("DISTRO_QUOTA_BYTES", 20 * 1024**3)
# Findings kept per submission (errors first); the rest are counted, not stored.
FINDINGS_PER_SUBMISSION = env_int("FINDINGS_PER_SUBMISSION", 1000)
# Findings shown per page of a report, in the browser and the API.
FINDINGS_PER_PAGE = env_int("FINDINGS_PER_PAGE", 100)
# Reads of a report, its live status and the API per person per minute.
REPORT_READS_PER_MINUTE = env_int("REPORT_READS_PER_MINUTE", 120)
# The proxies whose forwarded client address is believed (portal/clientaddress.py):
# comma-separated addresses or networks, e.g. the front server's fixed address
# in docker-compose.yml. Empty: the connection's peer is the client, and any
# forwarding header is ignored.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES: {_proxy!r} is not an IP address or network "
            "(e.g. 10.87.0.10 or 10.87.0.0/24)"
        ) from None

# Attempts per client address in an hour at the sign-up and password reset
# forms (and per mail address, for resets), and API tokens one person may
# create per hour, before answers become 429.
#
# Log-ins (django-axes, accounts/throttling.py) count wrong passwords only,
# for 15 minutes after the last one. Past LOGINS_PER_15_MINUTES of them for
# one account name from one client address, that name and address are
# answered 429 (other addresses are not affected); past
# LOGIN_FAILURES_PER_ADDRESS from one address, for any names, the address is.
# No new environment variable: the address's limit follows the first one.
LOGINS_PER_15_MINUTES = env_int("LOGINS_PER_15_MINUTES", 10)
LOGIN_FAILURES_PER_ADDRESS = 5 * LOGINS_PER_15_MINUTES
AXES_HANDLER = "accounts.throttling.LoginThrottleHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_FAILURE_LIMIT = "accounts.throttling.failure_limit"
AXES_COOLOFF_TIME = timedelta(minutes=15)
# Tries during a lock-out do not extend it: it ends 15 minutes after the last counted one.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A success does not wipe the address's count (one's own account would reset it).
AXES_RESET_ON_SUCCESS = False
AXES_USERNAME_CALLABLE = "accounts.throttling.login_username"
AXES_CLIENT_IP_CALLABLE = "portal.clientaddress.client_address"
AXES_WHITELIST_CALLABLE = "accounts.throttling.not_a_log_in"
AXES_LOCKOUT_CALLABLE = "accounts.throttling.lockout_response"
SIGNUPS_PER_HOUR = env_int("SIGNUPS_PER_HOUR", 5)
PASSWORD_RESETS_PER_HOUR = env_int("PASSWORD_RESETS_PER_HOUR", 5)
# Confirmation mails sent again on asking (after a log-in with the right password).
CONFIRM_MAILS_PER_HOUR = env_int("CONFIRM_MAILS_PER_HOUR", 3)
TOKENS_PER_HOUR = env_int("TOKENS_PER_HOUR", 10)
# New distro names one account (not staff) may propose in 24 hours; each
# stays unlisted until staff approve a claim on it.
NEW_DISTROS_PER_DAY = env_int("NEW_DISTROS_PER_DAY", 3)

# --- Release signing (portal/openpgp.py) ----------------------------------
# The armored secret key that signs published tarballs. Without one the portal
# publishes unsigned; `seed_demo` leaves a throwaway demo key that development
# uses when it is there.
_DEMO_RELEASE_KEY = DATA_DIR / "demo-release-key.asc"
RELEASE_KEY_FILE = env(
    "RELEASE_KEY_FILE",
    str(_DEMO_RELEASE_KEY) if not PRODUCTION and _DEMO_RELEASE_KEY.exists() else "",
)
RELEASE_KEY_PASSPHRASE = env("RELEASE_KEY_PASSPHRASE")
RELEASE_KEYS_EXTRA = env("RELEASE_KEYS_EXTRA")
# The Fernet key (32 url-safe base64 bytes: `python -c "from cryptography.fernet import
# Fernet; print(Fernet.generate_key().decode())"`) that encrypts each project's
# portal-held secret key at rest (releases/keys.py). Several, comma-separated, the
# newest first: the others still decrypt while keys are re-encrypted (rotation). In
# development it is derived from SECRET_KEY; in production, without it, projects
# cannot have a portal-held key (release managers sign offline).
SIGNING_KEYS_FERNET_KEY = env("SIGNING_KEYS_FERNET_KEY") or (
    ""
    if PRODUCTION
    else base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()
)

# --- Cache (rate limits) ------------------------------------------------------
CACHE_URL = env("CACHE_URL", "locmem://")
if CACHE_URL.startswith("redis"):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
elif CACHE_URL == "locmem://":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured(
        f"CACHE_URL must be locmem:// or redis://host:6379/1, not {CACHE_URL!r}"
    )

# --- Celery ---------------------------------------------------------------
_broker_dir = DATA_DIR / "broker"
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    # kombu's transport, writing each message whole before a worker can see it.
    CELERY_BROKER_TRANSPORT = "portal.filebroker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # The worker looks for new tasks this often (seconds); the default 1 s
        # would dominate upload-to-verdict on the embedded defaults.
        "polling_interval": 0.1,
    }
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", "portal")
# One queue per kind of work, so a burst of uploads never delays the public
# page or the mail (docs/operations.md): `<default>.verify`, `<default>.pages`
# (assembly and the page), `<default>.mail`, `<default>.outbound` (every request
# to another server: link checks, webhooks; a slow server never delays a
# verdict); the rest (sweeper, pings) stays on the default queue. A worker
# without -Q consumes them all.
CELERY_TASK_QUEUES_BY_KIND = {
    kind: f"{CELERY_TASK_DEFAULT_QUEUE}.{kind}"
    for kind in ("verify", "pages", "mail", "outbound")
}
# Each task's kind of work; a task not named here goes to the default queue
# (the sweeper and pings, `releases.recovery.tasks.*`).
CELERY_TASK_KINDS = {
    "releases.verification.tasks.submission_verify_task": "verify",
    "releases.verification.tasks.submission_reverify_task": "verify",
    "publishing.tasks.page_regenerate_task": "pages",
    "publishing.tasks.release_assemble_task": "pages",
    "releases.prereleases.tasks.release_deliver_prerelease_task": "mail",
    # GNU patch on a scratch copy of the pre-release: verification-like work.
    "releases.ledger.tasks.patch_ledger_compute_task": "verify",
    # git fetch of the tag and the tarball compared with its tree (bundlecheck source).
    "releases.sourceproof.tasks.source_proof_compute_task": "verify",
    "accounts.tasks.password_reset_mail_task": "mail",
    "publishing.tasks.package_links_check_task": "outbound",
    "publishing.tasks.package_link_check_task": "outbound",
    "publishing.tasks.webhook_deliver_task": "outbound",
    "releases.repositories.tasks.repositories_refresh_task": "outbound",
    "releases.repositories.tasks.repository_refresh_task": "outbound",
}
# The router reads the default queue when it routes, so a process that
# changes it (a test's own queue) routes to that queue's siblings.
CELERY_TASK_ROUTES = ("portal.celery.route_by_kind",)
CELERY_TASK_QUEUES = [
    Queue(name) for name in (CELERY_TASK_DEFAULT_QUEUE, *CELERY_TASK_QUEUES_BY_KIND.values())
]
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged once it has finished, and given back to the queue if
# its worker process dies, so that work is never lost with a worker.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One task at a time per worker process: a long verification never holds a
# second message back from an idle worker.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 15 * 60)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 20 * 60)
if CELERY_TASK_SOFT_TIME_LIMIT >= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "CELERY_TASK_SOFT_TIME_LIMIT must be below CELERY_TASK_TIME_LIMIT, "
        "so that a task is asked to stop before it is killed."
    )
# With Redis, a task not acknowledged within this many seconds is handed to
# another worker. It must exceed the longest hard time limit, or a task still
# running would run twice (see README, "Workers").
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 2 * 3600)
if CELERY_VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        f"CELERY_VISIBILITY_TIMEOUT ({CELERY_VISIBILITY_TIMEOUT}) must exceed "
        f"CELERY_TASK_TIME_LIMIT ({CELERY_TASK_TIME_LIMIT}), or a running task is run twice."
    )
if not CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
# Publishing to a broker that is down fails within about a second (the
# upload that queued it is not held up); the sweeper queues it again later.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.3,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = False

# The sweeper (releases.recovery.sweeper) queues again what a lost task or a dead
# worker left stuck. A `verifying` submission is only taken back once its
# worker is certainly dead: past the hard time limit, with a margin.
SWEEPER_INTERVAL_SECONDS = env_int("SWEEPER_INTERVAL_SECONDS", 60)
SWEEPER_RECEIVED_SECONDS = env_int("SWEEPER_RECEIVED_SECONDS", 5 * 60)
SWEEPER_VERIFYING_SECONDS = env_int("SWEEPER_VERIFYING_SECONDS", CELERY_TASK_TIME_LIMIT + 5 * 60)
# A verification that stalls this many times fails with a message instead.
SWEEPER_MAX_STALLS = env_int("SWEEPER_MAX_STALLS", 3)
if SWEEPER_VERIFYING_SECONDS <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "SWEEPER_VERIFYING_SECONDS must exceed CELERY_TASK_TIME_LIMIT: "
        "a verification still running must never be started a second time."
    )

CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "worker-ping": {"task": "releases.recovery.tasks.worker_ping_periodic_task", "schedule": 60.0},
    "recovery-sweep": {
        "task": "releases.recovery.tasks.recovery_sweep_task",
        "schedule": float(SWEEPER_INTERVAL_SECONDS),
    },
    "package-links-check": {
        "task": "publishing.tasks.package_links_check_task",
        "schedule": 6 * 3600.0,
    },
    "repositories-refresh": {
        "task": "releases.repositories.tasks.repositories_refresh_task",
        "schedule": 3600.0 * env_int("REPOSITORY_REFRESH_HOURS", 6),
    },
}
# Package link health checks: seconds to wait for an answer, and for a whole
# download when a sha256 must be compared.
PACKAGE_LINK_CHECK_TIMEOUT = env_int("PACKAGE_LINK_CHECK_TIMEOUT", 10)
PACKAGE_LINK_DOWNLOAD_SECONDS = env_int("PACKAGE_LINK_DOWNLOAD_SECONDS", 600)
# The outbound client (portal/outbound.py: link checks, webhooks) never reaches
# loopback, private, link-local, multicast or reserved addresses unless this is
# set (tests; a portal that lives on an internal network).
OUTBOUND_ALLOW_PRIVATE = env_bool("OUTBOUND_ALLOW_PRIVATE", False)
# Or only these networks (CIDRs, comma-separated), e.g. one internal mirror.
OUTBOUND_ALLOWED_NETWORKS = env_list("OUTBOUND_ALLOWED_NETWORKS")
# Source proofs (releases/sourceproof): a project's repository is an http(s) URL,
# fetched with git through the outbound rules (its address judged and pinned, no
# redirects). A path or file:// URL only on the embedded defaults and in tests:
# never in production, where it would read the server's own disk.
SOURCE_REPOSITORY_ALLOW_LOCAL = env_bool("SOURCE_REPOSITORY_ALLOW_LOCAL", not PRODUCTION) and not PRODUCTION
# Seconds the fetch of one tag may take, and the bytes it may write.
SOURCE_FETCH_SECONDS = env_int("SOURCE_FETCH_SECONDS", 120)
SOURCE_FETCH_MAX_BYTES = env_int("SOURCE_FETCH_MAX_BYTES", 2 << 30)
# file:// addresses for distro repositories: the demo's local repositories and tests.
# Never in production, whatever the environment says (a maintainer would read the
# portal's own files).
OUTBOUND_ALLOW_FILE_URLS = env_bool("OUTBOUND_ALLOW_FILE_URLS", not PRODUCTION) and not PRODUCTION
# Distro repositories (releases/repositories): seconds for one index, all of it; the
# bytes it may send (compressed); entries an index may list.
REPOSITORY_FETCH_SECONDS = env_int("REPOSITORY_FETCH_SECONDS", 120)
REPOSITORY_MAX_BYTES = env_int("REPOSITORY_MAX_BYTES", 128 * 1024 * 1024)
REPOSITORY_MAX_ENTRIES = env_int("REPOSITORY_MAX_ENTRIES", 300_000)
# Hours between two readings of every distro repository (beat).
REPOSITORY_REFRESH_HOURS = env_int("REPOSITORY_REFRESH_HOURS", 6)
# Seconds a webhook endpoint may take to answer one delivery, all of it.
WEBHOOK_TIMEOUT = env_int("WEBHOOK_TIMEOUT", 10)
# Hours the previous secret still signs (a second signature) after a rotation.
WEBHOOK_SECRET_OVERLAP_HOURS = env_int("WEBHOOK_SECRET_OVERLAP_HOURS", 24)

# --- Mail -----------------------------------------------------------------


def _email_settings(url: str) -> dict:
    """EMAIL_URL: console://, smtp://user:pass@host:587 or smtps://user:pass@host:465."""
    parts = urlparse(url)
    if parts.scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if parts.scheme == "locmem":
        return {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    if parts.scheme == "outbox":
        if PRODUCTION:
            raise ImproperlyConfigured(
                "EMAIL_URL=outbox:// keeps mail in a local folder for trying the portal out; "
                "in production give smtp:// or smtps://."
            )
        return {"EMAIL_BACKEND": "portal.outbox.OutboxBackend"}
    if parts.scheme in {"smtp", "smtps"}:
        query = parse_qs(parts.query)
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": parts.hostname or "localhost",
            "EMAIL_PORT": parts.port or (465 if parts.scheme == "smtps" else 25),
            "EMAIL_HOST_USER": unquote(parts.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
            "EMAIL_USE_SSL": parts.scheme == "smtps",
            "EMAIL_USE_TLS": query.get("tls", ["0"])[0] in {"1", "true"},
        }
    raise ImproperlyConfigured(
        f"EMAIL_URL must start with outbox://, console://, smtp:// or smtps://: {url!r}"
    )


# Embedded defaults: mail is kept in an outbox folder and listed at /outbox/ (portal/outbox.py).
globals().update(_email_settings(env("EMAIL_URL", "console://" if PRODUCTION else "outbox://")))
EMAIL_OUTBOX_DIR = DATA_DIR / "outbox"
# The outbox page exists only while mail goes there, and never in production.
OUTBOX_PAGE = EMAIL_BACKEND == "portal.outbox.OutboxBackend" and not PRODUCTION  # noqa: F821
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "release-portal@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security -------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
# A refused form token is answered through the portal's one error layer.
CSRF_FAILURE_VIEW = "portal.views.csrf_failure"
X_FRAME_OPTIONS = "DENY"
# Pages load scripts and styles only from the portal's own static files:
# no inline script, no inline style, no other origin (portal/middleware.py).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# The public download page is one self-contained file (it is also served from
# S3 or a CDN): its stylesheet is inline, and it has no script at all.
PUBLIC_PAGE_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}
