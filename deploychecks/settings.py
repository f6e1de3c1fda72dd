"""Deploychecks settings: one module, driven by environment variables.

With no environment at all the app runs embedded: SQLite, the in-memory channel
layer and an in-process scheduler. Set DATABASE_URL and REDIS_URL to run on
PostgreSQL, channels-redis and Celery on Redis.
"""

import secrets
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from deploychecks.core.webhooks import literal_url_problem, secret_problem
from deploychecks.env import (
    database_from_url,
    envbool,
    envfloat,
    envint,
    envlist,
    envnetworks,
    envsecret,
    envstr,
    redis_url,
    sqlite_database,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(envstr("DATA_DIR", str(BASE_DIR / "var")))

DEBUG = envbool("DEBUG", False)


def _required_secret(name: str, filename: str) -> str:
    """NAME (or NAME_FILE): required with DATABASE_URL, at least 32 characters.

    Embedded mode keeps a generated value in DATA_DIR/filename (0600), so that
    restarts of `make run` keep sessions and the audit chain's key.
    """
    key = envsecret(name)
    if key:
        if len(key) < 32:
            raise ImproperlyConfigured(f"{name} must be at least 32 characters long")
        return key
    if envstr("DATABASE_URL", ""):
        raise ImproperlyConfigured(f"{name} (or {name}_FILE) must be set when DATABASE_URL is set")
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / filename
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def _secret_key() -> str:
    return _required_secret("SECRET_KEY", "secret_key")


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "channels",
    "axes",
    "deploychecks.core",
    "deploychecks.accounts",
    "deploychecks.checklists",
    "deploychecks.runs",
    "deploychecks.audit",
    "deploychecks.realtime",
    "deploychecks.signoffs",
    "deploychecks.gonogo",
    "deploychecks.statuspage",
    "deploychecks.reminders",
    "deploychecks.owners",
    "deploychecks.mentions",
    "deploychecks.statusupdates",
    "deploychecks.evidence",
    "deploychecks.retros",
    "deploychecks.history",
    # After the features it listens to: its handlers that judge a gate run last.
    "deploychecks.webhooks",
    "deploychecks.api",
    "deploychecks.devdata",
    # django-ninja's templates and static files (the API's Swagger UI page).
    "ninja",
]

MIDDLEWARE = [
    "deploychecks.core.middleware.ServerTimingMiddleware",
    "deploychecks.realtime.middleware.HoldBroadcastsMiddleware",
    "deploychecks.core.middleware.ContentSecurityPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages compressed (gzip) when asked, static files being WhiteNoise's own;
    # on BREACH see docs/decisions.md ("Run page served gzip-compressed").
    "django.middleware.gzip.GZipMiddleware",
    "deploychecks.core.middleware.RequestIdMiddleware",
    # While PostgreSQL is known to be down: 503 at once (after WhiteNoise, before the session).
    "deploychecks.core.database.DatabaseAvailabilityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "deploychecks.accounts.middleware.SessionLifetimeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # A NUL character anywhere in a request: 400 before any view (after CSRF and login).
    "deploychecks.core.nul.RefuseNulMiddleware",
    # Last, as django-axes asks: it turns a flagged login attempt into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "deploychecks.urls"
WSGI_APPLICATION = "deploychecks.wsgi.application"
ASGI_APPLICATION = "deploychecks.asgi.application"

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
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

# --- Database -----------------------------------------------------------------
_database_url = envstr("DATABASE_URL", "")
if _database_url:
    DATABASES = {"default": database_from_url("DATABASE_URL", _database_url)}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {"default": sqlite_database(DATA_DIR / "deploychecks.sqlite3")}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Explicit test name: channels' live-server test case otherwise looks up
    # test_test_<name> (channels#2176).
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}"}
    # A connection pool per process (psycopg_pool). Under ASGI every request
    # runs its synchronous code in a thread of its own, so Django's persistent
    # connections (CONN_MAX_AGE) were never reused: each request opened a new
    # PostgreSQL connection, a new server process, which was about a third of
    # a tick's time (bench/fanout.py). DATABASE_POOL_MAX_SIZE=0 turns it off.
    _pool_max = envint("DATABASE_POOL_MAX_SIZE", 20, minimum=0)
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    # A connection attempt to a host that does not answer gives up after this
    # (libpq waits forever by default, and so would the pool's workers).
    _options.setdefault("connect_timeout", envint("DATABASE_CONNECT_TIMEOUT", 2, minimum=1))
    if _pool_max:
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django refuses persistent + pooled
        # CONN_HEALTH_CHECKS (on, env.database_from_url) makes Django give the
        # pool `check=ConnectionPool.check_connection`: every checkout is tested,
        # so a connection that died with a database restart is never handed out.
        _options["pool"] = {
            "min_size": min(2, _pool_max),
            "max_size": _pool_max,
            # How long a request waits for a free connection before it is
            # answered 503 (deploychecks.core.database). Short, so that a request
            # made while the database is down fails within 2 s instead of hanging.
            "timeout": envfloat("DATABASE_POOL_TIMEOUT", 1.5, minimum=0.1),
        }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Requests of one web process running in threads at once; more wait on the
# event loop, changes before reads (core/asgi_handler.RequestSlots). Below the
# database pool's size, so requests never queue for a connection among
# themselves. 0: no limit.
WEB_REQUEST_THREADS = envint("WEB_REQUEST_THREADS", 8, minimum=0)
# A web process with no request for this long collects its garbage once
# (core/asgi_handler.ThreadedASGIHandler). 0: never.
WEB_IDLE_GC_SECONDS = envint("WEB_IDLE_GC_SECONDS", 5, minimum=0)

# --- Redis: channel layer, cache, Celery ---------------------------------------
REDIS_URL = redis_url("REDIS_URL", envstr("REDIS_URL", ""))
EMBEDDED = REDIS_URL is None

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py's asyncio pool defaults to 100 connections; a burst of
                # websocket connects then fails in group_add with
                # MaxConnectionsError and leaves stale group members.
                #
                # redis-py 8 also defaults socket_timeout to 5 s, the same as
                # channels-redis' blocking BZPOPMIN: an idle receive then races
                # the timeout, raises TimeoutError and drops a websocket with
                # 1011 (django/channels_redis#422; seen in bench/fanout.py).
                # No read timeout at all: with a finite one (even 15 s) a
                # refused socket's consumer sometimes never ended and uvicorn
                # would not stop (tests/realtime/test_socket_access.py).
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "max_connections": 2000,
                        "socket_timeout": None,
                        "socket_connect_timeout": 5,
                    }
                ],
                "capacity": 1000,
                "expiry": 30,
                "group_expiry": 86400,
                "prefix": envstr("CHANNEL_PREFIX", "deploychecks"),
            },
        }
    }
    CACHES = {
        "default": {
            # Redis down is a cache miss, not an error (deploychecks.core.cache).
            "BACKEND": "deploychecks.core.cache.TolerantRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "deploychecks",
            # A Redis that hangs rather than refuses costs a request at most this.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# Embedded mode has no broker: tasks run inline and the in-process scheduler
# (deploychecks.core.scheduler) plays the part of celery beat.
CELERY_TASK_ALWAYS_EAGER = EMBEDDED
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# --- Reminders (deploychecks.reminders) ----------------------------------------
# 60 means one minute of reminder schedule passes in one second (demos, tests).
REMINDER_TIME_SCALE = envfloat("REMINDER_TIME_SCALE", 1.0, minimum=0.001)
# The dispatcher's period is a minute of schedule unless set (in real seconds):
# compressed with the schedule, a demo's +15 min reminder goes out on its own
# instead of being "missed (superseded)" by the next occurrence due by then.
REMINDER_DISPATCH_SECONDS = envfloat(
    "REMINDER_DISPATCH_SECONDS", max(60.0 / REMINDER_TIME_SCALE, 0.25), minimum=0.1
)
# A reminder sent more than this after its due time is marked late.
REMINDER_LATE_AFTER_SECONDS = 2 * REMINDER_DISPATCH_SECONDS
# Schedule minutes (scaled like the schedule) before an unacknowledged reminder
# escalates to the next contact; 0 turns escalation off.
REMINDER_ESCALATE_MINUTES = envfloat("REMINDER_ESCALATE_MINUTES", 15.0, minimum=0)
# Hosts a webhook may be sent to whatever they resolve to (local receivers in
# development and tests); every other host must resolve to public addresses only.
WEBHOOK_ALLOWED_HOSTS = envlist("WEBHOOK_ALLOWED_HOSTS", [])
REMINDER_WEBHOOK_URL = envstr("REMINDER_WEBHOOK_URL", "").strip()
REMINDER_WEBHOOK_SECRET = (envsecret("REMINDER_WEBHOOK_SECRET", "") or "").strip()
if REMINDER_WEBHOOK_URL:
    if _problem := literal_url_problem(REMINDER_WEBHOOK_URL, WEBHOOK_ALLOWED_HOSTS):
        raise ImproperlyConfigured(f"REMINDER_WEBHOOK_URL={REMINDER_WEBHOOK_URL!r}: {_problem}")
    # Webhooks are always signed: an unsigned one would let anyone who can reach
    # the receiver forge reminders and verdicts.
    if _problem := secret_problem(REMINDER_WEBHOOK_SECRET, legacy_allowed=True):
        raise ImproperlyConfigured(
            f"REMINDER_WEBHOOK_URL is set, so REMINDER_WEBHOOK_SECRET (or "
            f"REMINDER_WEBHOOK_SECRET_FILE) must be too: {_problem} Generate one with: "
            'python -c "from deploychecks.core.webhooks import new_secret; print(new_secret())"'
        )
REMINDER_WEBHOOK_TIMEOUT_SECONDS = envfloat("REMINDER_WEBHOOK_TIMEOUT_SECONDS", 5.0, minimum=0.1)
# Every channel (page, email, webhook) retries a failed delivery up to this many
# attempts in all, waiting this times 2**(n-1) before retry n: 30 s, 1, 2, 4, 8 min.
REMINDER_MAX_ATTEMPTS = envint("REMINDER_MAX_ATTEMPTS", 6, minimum=1)
REMINDER_RETRY_BACKOFF_SECONDS = envfloat("REMINDER_RETRY_BACKOFF_SECONDS", 30.0, minimum=0)
# A delivery claimed by a dispatcher that died is claimed again after this.
REMINDER_DELIVERY_LEASE_SECONDS = envfloat("REMINDER_DELIVERY_LEASE_SECONDS", 120.0, minimum=1)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 20, minimum=1)
if 2 * max(REMINDER_WEBHOOK_TIMEOUT_SECONDS, EMAIL_TIMEOUT) >= REMINDER_DELIVERY_LEASE_SECONDS:
    raise ImproperlyConfigured(
        "REMINDER_DELIVERY_LEASE_SECONDS must be more than twice "
        "REMINDER_WEBHOOK_TIMEOUT_SECONDS and EMAIL_TIMEOUT"
    )
CELERY_BEAT_SCHEDULE: dict = {
    # The reminder rows in the database are the schedule, so this one entry
    # serves every deployment, and a second beat by mistake only makes the
    # dispatcher run twice as often (its claims make that harmless). `expires`
    # drops runs that queued up behind a stopped worker instead of running them.
    "dispatch-due-reminders": {
        "task": "deploychecks.reminders.tasks.dispatch_due_reminders",
        "schedule": REMINDER_DISPATCH_SECONDS,
        "options": {"expires": max(REMINDER_DISPATCH_SECONDS * 0.9, REMINDER_DISPATCH_SECONDS - 5)},
    },
    # A sustained-red rule fires with time, not only with a new reading.
    "judge-go-no-go": {
        "task": "gonogo.judge_open_deployments",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # The managers' analytics computed ahead of them (a second at 10,000
    # deployments, a cache read when nothing finished).
    "warm-analytics": {
        "task": "history.warm_analytics",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
}

# --- Outbound webhooks (deploychecks.webhooks) ------------------------------------
# Beat sends what the outbox holds this often (retries, and anything a kick
# missed); with a broker, each commit that writes deliveries also kicks a worker.
WEBHOOK_DISPATCH_SECONDS = envfloat("WEBHOOK_DISPATCH_SECONDS", 10.0, minimum=0.1)
WEBHOOK_DELIVER_ON_COMMIT = envbool("WEBHOOK_DELIVER_ON_COMMIT", not EMBEDDED)
# A failed delivery is retried after 30 s, 1, 2, 4, 8, 16, 32 min, then has failed.
WEBHOOK_MAX_ATTEMPTS = envint("WEBHOOK_MAX_ATTEMPTS", 8, minimum=1)
WEBHOOK_RETRY_BACKOFF_SECONDS = envfloat("WEBHOOK_RETRY_BACKOFF_SECONDS", 30.0, minimum=0)
# A delivery claimed by a dispatcher that died is claimed again after this.
WEBHOOK_DELIVERY_LEASE_SECONDS = envfloat("WEBHOOK_DELIVERY_LEASE_SECONDS", 60.0, minimum=1)
if 2 * REMINDER_WEBHOOK_TIMEOUT_SECONDS >= WEBHOOK_DELIVERY_LEASE_SECONDS:
    raise ImproperlyConfigured(
        "WEBHOOK_DELIVERY_LEASE_SECONDS must be more than twice REMINDER_WEBHOOK_TIMEOUT_SECONDS"
    )
# A subscription is disabled (and its owner emailed) after this many failed
# attempts in a row, the first of them at least this many hours ago.
WEBHOOK_DISABLE_AFTER_FAILURES = envint("WEBHOOK_DISABLE_AFTER_FAILURES", 10, minimum=1)
WEBHOOK_DISABLE_AFTER_HOURS = envfloat("WEBHOOK_DISABLE_AFTER_HOURS", 24.0, minimum=0)
CELERY_BEAT_SCHEDULE["deliver-webhooks"] = {
    "task": "webhooks.deliver_webhooks",
    "schedule": WEBHOOK_DISPATCH_SECONDS,
    "options": {"expires": max(WEBHOOK_DISPATCH_SECONDS * 0.9, WEBHOOK_DISPATCH_SECONDS - 5)},
}

# --- Audit log (deploychecks.audit) ---------------------------------------------
# The key of each event's HMAC. Never stored in the database: whoever can write
# to the database but not read this cannot append, alter or re-chain events.
AUDIT_HMAC_KEY = _required_secret("AUDIT_HMAC_KEY", "audit_hmac_key")
if AUDIT_HMAC_KEY == SECRET_KEY:
    raise ImproperlyConfigured("AUDIT_HMAC_KEY must not be the same as SECRET_KEY")
# The witness: an append-only file outside the database that beat extends with
# the chain's head every AUDIT_WITNESS_SECONDS; verify_audit compares the chain
# with it, so events deleted from the end are found.
AUDIT_WITNESS_PATH = Path(envstr("AUDIT_WITNESS_PATH", str(DATA_DIR / "audit-witness.jsonl")))
AUDIT_WITNESS_SECONDS = envfloat("AUDIT_WITNESS_SECONDS", 60.0, minimum=1)
CELERY_BEAT_SCHEDULE["audit-witness"] = {
    "task": "audit.write_witness",
    "schedule": AUDIT_WITNESS_SECONDS,
    "options": {"expires": max(AUDIT_WITNESS_SECONDS * 0.9, AUDIT_WITNESS_SECONDS - 5)},
}
EMBEDDED_SCHEDULER = envbool("EMBEDDED_SCHEDULER", EMBEDDED)
SCHEDULER_INTERVAL_SECONDS = envfloat("SCHEDULER_INTERVAL_SECONDS", 60.0, minimum=0.1)
# Beat entries the embedded scheduler runs at their own period when it is shorter
# than SCHEDULER_INTERVAL_SECONDS (the reminder dispatcher follows REMINDER_TIME_SCALE).
EMBEDDED_SCHEDULER_OWN_PERIOD = ["dispatch-due-reminders"]

# --- Auth ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# django-axes watches every authenticate() call and must come first; it never
# logs anyone in itself (and has no get_user, so sessions name ModelBackend).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
# Lock a username from one address: a stranger cannot lock a colleague out
# from elsewhere, and one office behind NAT is not locked out as a whole.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "deploychecks.accounts.views.locked_out"
AXES_CLIENT_IP_CALLABLE = "deploychecks.accounts.people.client_ip"
# Sessions live in the database (Django's default SESSION_ENGINE), never in the
# Redis cache: a Redis outage logs nobody out and stops no login, and the login
# throttle (django-axes) keeps its records in the database too.
# Sessions: an idle timeout and an absolute lifetime counted from login, both in
# deploychecks.accounts.middleware.SessionLifetimeMiddleware. The idle timeout is
# renewed by a request at most once per SESSION_RENEW_SECONDS, not by every one:
# saving the session took three round trips on every tick.
SESSION_COOKIE_AGE = envint("SESSION_IDLE_HOURS", 12, minimum=1) * 3600
SESSION_SAVE_EVERY_REQUEST = False
SESSION_RENEW_SECONDS = 60
SESSION_ABSOLUTE_SECONDS = envint("SESSION_ABSOLUTE_HOURS", 72, minimum=1) * 3600
# How long a password confirmation lets an approver sign without typing it again.
REAUTH_WINDOW_SECONDS = envint("REAUTH_WINDOW_SECONDS", 300, minimum=1)

# --- Security -----------------------------------------------------------------
SECURE_COOKIES = envbool("SECURE_COOKIES", False)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# Off by default: `preload` invites a permanent entry in the browsers' lists.
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
# Sent on every response by deploychecks.core.middleware.ContentSecurityPolicyMiddleware.
# No inline scripts or styles anywhere: htmx is configured by a <meta> tag with
# allowEval off, and the run page's script is a static file.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "font-src": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "object-src": "'none'",
}
if envbool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The proxies whose X-Forwarded-For is believed (addresses or networks), by the
# login throttle, the audit log (accounts.people.client_ip) and uvicorn
# (deploychecks.serve). None by default: every peer is the client itself.
TRUSTED_PROXIES = envnetworks("TRUSTED_PROXIES")

# --- Email --------------------------------------------------------------------
EMAIL_BACKEND = envstr(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if envstr("EMAIL_HOST", "")
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = envstr("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = envsecret("EMAIL_HOST_PASSWORD", "") or ""
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "Deploychecks <deploychecks@localhost>")
SITE_URL = envstr("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# For EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend (one file per message).
EMAIL_FILE_PATH = envstr("EMAIL_FILE_PATH", str(DATA_DIR / "mail"))

# --- I18n, static -------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = envstr("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# WhiteNoise warns about a missing STATIC_ROOT; before collectstatic it is empty.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- API (deploychecks.api) ------------------------------------------------------
# Requests per minute a new token may make (each token keeps the limit it was made with).
API_RATE_LIMIT_PER_MINUTE = envint("API_RATE_LIMIT_PER_MINUTE", 120, minimum=1)
# The longest `GET …/gate?wait=` a pipeline may ask for.
API_GATE_WAIT_MAX_SECONDS = envint("API_GATE_WAIT_MAX_SECONDS", 600, minimum=1)
# How often a waiting gate is re-judged without any change (the monitoring window
# ends by the clock; a lost broadcast), in seconds.
API_GATE_RECHECK_SECONDS = envfloat("API_GATE_RECHECK_SECONDS", 15.0, minimum=0.1)

# --- Go/no-go ingest (deploychecks.gonogo, POST /api/deployments/<id>/readings) -----
# Readings one ingest token may send per minute (a batch counts each of its
# readings), across every web process: past it, 429 with Retry-After.
INGEST_RATE_LIMIT_PER_MINUTE = envint("INGEST_RATE_LIMIT_PER_MINUTE", 600, minimum=1)
# Ingest requests one web process lets into Django at once; the next ones wait
# up to a quarter second (on the event loop, no thread), then get 503 with
# Retry-After, so a flood of readings never holds more than this many threads
# and database connections of the process (gonogo/ingest_gate.py).
INGEST_MAX_CONCURRENT = envint("INGEST_MAX_CONCURRENT", 2, minimum=1)
# Open run pages see the readings of a token (their signals panel) at most this
# many seconds late: the readings in that time share one re-judge and one
# broadcast, sent by a worker.
INGEST_PANEL_REFRESH_SECONDS = envfloat("INGEST_PANEL_REFRESH_SECONDS", 0.5, minimum=0.05)

# --- Product limits -----------------------------------------------------------
IMPORT_MAX_BYTES = envint("IMPORT_MAX_BYTES", 1_000_000, minimum=1)
# Room above the import limit so an oversized paste gets the form's clear
# "larger than 1 MB" message rather than Django's bare 400; beyond this, 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = 4 * IMPORT_MAX_BYTES + 100_000
FILE_UPLOAD_MAX_MEMORY_SIZE = IMPORT_MAX_BYTES + 100_000

# --- Evidence (deploychecks.evidence) ---------------------------------------------
# Uploaded evidence files, through Django's default storage. Never served from
# here by a web server: only the download view (access checked) reads them.
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(DATA_DIR / "media")))
# The largest evidence file (a screenshot, a log excerpt, a PDF), in bytes.
EVIDENCE_MAX_BYTES = envint("EVIDENCE_MAX_BYTES", 10 * 1024 * 1024, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        # With DEBUG off, 500s are otherwise silent.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "deploychecks": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    },
}
