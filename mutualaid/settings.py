"""Settings for the mutual-aid portal.

Every value that differs between a laptop and an office server comes from the environment (or a
``.env`` file beside ``manage.py``), parsed strictly: a value that cannot be understood stops
start-up with a message naming the variable, instead of silently falling back to a default.
"""

import datetime
import os
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from mutualaid.envparse import env_bool, env_int, env_list, env_networks, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

# A .env file is optional; real environment variables win over it.
_dotenv = BASE_DIR / ".env"
if _dotenv.is_file() and not os.environ.get("PORTAL_IGNORE_DOTENV"):
    environ.Env.read_env(_dotenv, overwrite=False)

DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "data"))).resolve()

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`)."
        )
    SECRET_KEY = "insecure-local-development-key-only-used-when-debug-is-on"  # noqa: S105

# Keys for ID and bank numbers at rest (mutualaid/crypto.py): the first of PERSONAL_DATA_KEYS
# encrypts, all of them decrypt (rotation), and the lookup key makes the searchable digests.
# Losing them loses those numbers. In debug mode stand-ins are derived from SECRET_KEY.
PERSONAL_DATA_KEYS = env_list("PERSONAL_DATA_KEYS", [])
PERSONAL_DATA_LOOKUP_KEY = env_str("PERSONAL_DATA_LOOKUP_KEY", "")
if not PERSONAL_DATA_KEYS or not PERSONAL_DATA_LOOKUP_KEY:
    from mutualaid.crypto import GENERATE_KEY_COMMAND, derive_keys

    if not DEBUG:
        _missing = [
            name
            for name, value in (
                ("PERSONAL_DATA_KEYS", PERSONAL_DATA_KEYS),
                ("PERSONAL_DATA_LOOKUP_KEY", PERSONAL_DATA_LOOKUP_KEY),
            )
            if not value
        ]
        raise ImproperlyConfigured(
            f"{' and '.join(_missing)} must be set when DEBUG is off: they encrypt ID and bank "
            "numbers in the database and make them searchable. Generate each key with "
            f"`{GENERATE_KEY_COMMAND}` (two different keys), keep them with the backups: "
            "without them the encrypted numbers cannot be read. `scripts/setup` writes them "
            "to .env."
        )
    _derived_key, _derived_lookup = derive_keys(SECRET_KEY)
    PERSONAL_DATA_KEYS = PERSONAL_DATA_KEYS or [_derived_key]
    PERSONAL_DATA_LOOKUP_KEY = PERSONAL_DATA_LOOKUP_KEY or _derived_lookup
else:
    from mutualaid.crypto import parse_key

    for _key in PERSONAL_DATA_KEYS:
        parse_key(_key, "PERSONAL_DATA_KEYS")
    parse_key(PERSONAL_DATA_LOOKUP_KEY, "PERSONAL_DATA_LOOKUP_KEY")
    if PERSONAL_DATA_LOOKUP_KEY in PERSONAL_DATA_KEYS:
        raise ImproperlyConfigured(
            "PERSONAL_DATA_LOOKUP_KEY must differ from every key in PERSONAL_DATA_KEYS."
        )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the portal's host names when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    # The portal's own apps, from the bottom layer up (pyproject.toml's import-linter contract
    # keeps imports pointing down this list): the audit log's table, the union tree and its
    # people, plans, rosters and enrollments, claims, then oversight and the demo data on top.
    "mutualaid.auditlog",
    "mutualaid.outbox",
    "organisation",
    "plans",
    "enrollment",
    "claims",
    "oversight",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "mutualaid.middleware.PortalLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # A NUL character in a query, form or path is a 400 before any view sees it.
    "mutualaid.middleware.RefuseNulMiddleware",
    "mutualaid.auditlog.audit.AuditMiddleware",
    "mutualaid.outbox.jobs.OutboxMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "mutualaid.middleware.IdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login attempt into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mutualaid.urls"
WSGI_APPLICATION = "mutualaid.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            # Amounts and dates are written one way everywhere (|money, |day, |moment).
            "builtins": ["mutualaid.templatetags.formatting"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "organisation.context_processors.scope",
                "claims.context_processors.holiday_notice",
            ],
        },
    },
]

# Databases: SQLite in the data folder unless DATABASE_URL names another (postgres://...).
_default_db = f"sqlite:///{DATA_DIR / 'db.sqlite3'}"
try:
    DATABASES = {"default": environ.Env.db_url_config(env_str("DATABASE_URL", _default_db))}
except (ImproperlyConfigured, KeyError, ValueError) as exc:
    raise ImproperlyConfigured(f"DATABASE_URL cannot be used: {exc}") from exc
if DATABASES["default"].get("ENGINE") not in {
    "django.db.backends.sqlite3",
    "django.db.backends.postgresql",
}:
    raise ImproperlyConfigured(
        "DATABASE_URL cannot be used: the portal runs on sqlite:///... or postgres://... only."
    )
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a worker writes; the busy timeout waits for a lock
    # instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "organisation.User"
# django-axes first: it refuses a locked-out username and address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Language and time: Chinese first, English available.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# Static files are vendored in static/ and served by WhiteNoise; nothing comes from a CDN.
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "staticfiles")))

# Uploaded rosters, claim documents and generated PDFs are private: they live outside the web
# root and are only ever served through views that check the user's scope.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))
MEDIA_URL = None
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": None},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}
FILE_UPLOAD_PERMISSIONS = 0o640
ROSTER_MAX_UPLOAD_MB = env_int("ROSTER_MAX_UPLOAD_MB", 20, minimum=1)
# An uploaded roster is read in a child process (plans/engine/sandbox.py) that may use this much
# memory above its start and this many CPU seconds (and half as long again on the clock); a file
# that needs more is refused, and a reader that crashes on it cannot take the worker with it.
ROSTER_READ_MEMORY_MB = env_int("ROSTER_READ_MEMORY_MB", 1024, minimum=64)
ROSTER_READ_SECONDS = env_int("ROSTER_READ_SECONDS", 120, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Celery. Without a broker URL the portal uses kombu's file-system transport in the data folder:
# the web process drops task messages there and a real `celery worker` process picks them up, so
# a laptop needs no Redis. Offices set CELERY_BROKER_URL=redis://...
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://localhost/")
if CELERY_BROKER_URL == "filesystem://":
    # The transport ignores the host, but kombu warns "No hostname was supplied" without one.
    # Celery reads the variable itself in preference to this setting, so it is mended there too.
    CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"] = "filesystem://localhost/"
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = DATA_DIR / "broker" / "queue"
    # The transport lists these folders on every send and poll, so they must exist.
    for _folder in (_queue_dir, DATA_DIR / "broker" / "processed"):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(DATA_DIR / "broker" / "processed"),
        "store_processed": False,
        "polling_interval": 0.25,
    }
else:
    # A message a worker took but never acknowledged (the worker died) comes back after this
    # long: above the longest a task may run, well below an hour. The outbox's sweeper usually
    # notices a dead run sooner, from its stopped heartbeat (JOB_STALE_SECONDS).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_TASK_TIME_LIMIT", 660, minimum=1) + 240,
        "socket_connect_timeout": 3,
        "socket_timeout": 10,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 600, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 660, minimum=1)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Background work is recorded in the outbox (mutualaid/outbox/jobs.py): a running job beats
# every JOB_HEARTBEAT_SECONDS; one silent for JOB_STALE_SECONDS has lost its worker; one queued
# but not started after JOB_SENT_TIMEOUT_SECONDS was lost by the broker. Beat sweeps every
# JOB_SWEEP_SECONDS and sends again what waits.
JOB_HEARTBEAT_SECONDS = env_int("JOB_HEARTBEAT_SECONDS", 20, minimum=1)
JOB_STALE_SECONDS = env_int("JOB_STALE_SECONDS", 120, minimum=2)
JOB_SENT_TIMEOUT_SECONDS = env_int("JOB_SENT_TIMEOUT_SECONDS", 900, minimum=10)
JOB_SWEEP_SECONDS = env_int("JOB_SWEEP_SECONDS", 60, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {
        "task": "mutualaid.outbox.tasks.sweep_jobs",
        "schedule": float(JOB_SWEEP_SECONDS),
    },
    # Nightly: delete what must not be kept (see oversight/retention.py).
    "purge-personal-data": {
        "task": "oversight.tasks.purge_personal_data",
        "schedule": crontab(hour=3, minute=15),
    },
}
# Retention, in days (oversight/retention.py): unsubmitted roster drafts; the workbooks of closed
# rosters (they list every ID number in clear); the documents of closed claims; print bundles.
ROSTER_DRAFT_RETENTION_DAYS = env_int("ROSTER_DRAFT_RETENTION_DAYS", 30, minimum=1)
ROSTER_FILE_RETENTION_DAYS = env_int("ROSTER_FILE_RETENTION_DAYS", 180, minimum=1)
CLAIM_DOCUMENT_RETENTION_DAYS = env_int("CLAIM_DOCUMENT_RETENTION_DAYS", 1825, minimum=1)
NOTICE_BUNDLE_RETENTION_DAYS = env_int("NOTICE_BUNDLE_RETENTION_DAYS", 30, minimum=1)
CLAIM_DOCUMENT_MAX_MB = env_int("CLAIM_DOCUMENT_MAX_MB", 10, minimum=1)
# The office's promise: money in the account within this many working days of a complete claim.
CLAIM_DUE_WORKING_DAYS = env_int("CLAIM_DUE_WORKING_DAYS", 10, minimum=1)

# Production hardening: on unless DEBUG is on. Each can be overridden for a deployment behind a
# TLS-terminating proxy that needs different values.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The proxies in front of the portal (addresses or networks): only a request that comes from one
# of them has its X-Forwarded-For believed (mutualaid.security.client_ip). Behind a proxy it
# must be set: without it every sign-in would seem to come from the proxy's one address, and
# AXES_ADDRESS_FAILURE_LIMIT failures of anyone would lock everyone out.
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES", [])
if env_bool("SECURE_PROXY_SSL_HEADER", False) and not TRUSTED_PROXIES:
    raise ImproperlyConfigured(
        "SECURE_PROXY_SSL_HEADER is on, so the portal runs behind a proxy: set TRUSTED_PROXIES "
        "to the proxy's address (or network), e.g. TRUSTED_PROXIES=172.28.0.10, so that "
        "sign-in limits count each client's own address."
    )
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=60)
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# Content Security Policy: every script, style, font and image comes from the portal itself, and
# nothing inline runs (no inline <script>, no style="" attributes, no eval; htmx is told not to
# eval either, in base.html). The admin of Django 6 works under this policy.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# A session left untouched this many minutes is logged out (mutualaid.middleware); the login
# itself still ends after SESSION_COOKIE_AGE seconds however busy it is.
SESSION_IDLE_TIMEOUT = datetime.timedelta(minutes=env_int("SESSION_IDLE_TIMEOUT", 30, minimum=1))

# Failed sign-ins (django-axes; mutualaid/security.py). Within AXES_COOLOFF_TIME minutes, a
# username with AXES_FAILURE_LIMIT wrong passwords from one address is locked there; a username
# with AXES_ACCOUNT_FAILURE_LIMIT from any addresses is locked everywhere (changing address gains
# nothing); an address with AXES_ADDRESS_FAILURE_LIMIT for any usernames is locked for all of
# them (guessing across accounts stops). The last is the highest: a union office's clerks share
# one NAT address. A lock holds for AXES_COOLOFF_TIME, right password or not, unless an admin
# clears it under Axes in the admin. A successful sign-in clears that username's count from that
# address only.
AXES_ENABLED = True
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_ACCOUNT_FAILURE_LIMIT = env_int(
    "AXES_ACCOUNT_FAILURE_LIMIT", max(10, AXES_FAILURE_LIMIT), minimum=AXES_FAILURE_LIMIT
)
AXES_ADDRESS_FAILURE_LIMIT = env_int(
    "AXES_ADDRESS_FAILURE_LIMIT",
    max(30, AXES_ACCOUNT_FAILURE_LIMIT),
    minimum=AXES_ACCOUNT_FAILURE_LIMIT,
)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("AXES_COOLOFF_TIME", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], ["username"], ["ip_address"]]
AXES_HANDLER = "mutualaid.security.LoginLimitsHandler"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "mutualaid.security.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
# The client's address: REMOTE_ADDR, or behind a trusted proxy the right-most address in
# X-Forwarded-For that is not a trusted proxy (see mutualaid.security.client_ip).
AXES_CLIENT_IP_CALLABLE = "mutualaid.security.client_ip"
AXES_USERNAME_CALLABLE = "mutualaid.security.login_username"

# Numbers shown in full (an ID or bank number, a claim's payee account, the bank card filled into
# a claim report): at most REVEAL_LIMIT_PER_MINUTE in any minute and REVEAL_LIMIT_PER_DAY in any
# 24 hours per user (mutualaid/reveals.py). Past either, the number stays masked, the refusal is
# logged and auditors and office staff see it on the dashboards page.
REVEAL_LIMIT_PER_MINUTE = env_int("REVEAL_LIMIT_PER_MINUTE", 10, minimum=1)
REVEAL_LIMIT_PER_DAY = env_int("REVEAL_LIMIT_PER_DAY", 200, minimum=REVEAL_LIMIT_PER_MINUTE)

# One line per event, its time in TIME_ZONE with the offset written out (Django sets the process's
# TZ to TIME_ZONE; scripts/start gives gunicorn and Celery the same TZ, so every log agrees). The
# worker and beat log through this too (mutualaid/celery.py). A 403 or 404 is one line without a
# traceback (mutualaid.logs.ExpectedAnswers); errors keep theirs.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"expected_answers": {"()": "mutualaid.logs.ExpectedAnswers"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "datefmt": "%Y-%m-%d %H:%M:%S %z",
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["expected_answers"],
        }
    },
    # django-axes says at INFO that it started (in every process) and that a good login cleared
    # no failures; failed logins and lockouts are warnings and stay.
    "loggers": {"axes": {"level": "WARNING"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

PORTAL_NAME = _("Worker Mutual-Aid Portal")
