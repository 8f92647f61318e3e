"""Settings for the stress detection service.

Every value comes from the environment (see `.env.example`); there are no per-environment
settings files, so what runs in development is what runs in production. Without any
variable set, the app runs on embedded defaults: SQLite, a filesystem Celery broker and a
file cache under DATA_DIR, so one machine with only Python can run web + worker.
"""

from pathlib import Path

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from stressapp.env import StrictEnv
from stressapp.logging import configure_structlog, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = StrictEnv()

DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off. "
            "Set it to a long random string, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`, "
            "or set DJANGO_DEBUG=true for local development."
        )
    # Development only: a key that is obviously not a secret.
    SECRET_KEY = "django-insecure-development-key-never-use-in-production"  # noqa: S105  # nosec B105

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

DATA_DIR = Path(env.str("DATA_DIR", default="") or BASE_DIR / "data")
# An empty value (a blank line in .env) means the default, not the current directory.
MODEL_DIR = Path(env.str("MODEL_DIR", default="") or DATA_DIR / "models")
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default="") or BASE_DIR / "staticfiles")
# The folders under DATA_DIR are made when a process starts (stressapp.apps), not here:
# importing settings has no side effects.

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "csp",
    "axes",
    "django_prometheus",
    "django_htmx",
    "template_partials",
    "stressapp",
    "accounts",
    "jobs",
    "predictions",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "stressapp.health.LivenessMiddleware",
    "stressapp.logging.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # stressapp.page_middleware: Django's own, skipped for token-authenticated API requests.
    "stressapp.page_middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "stressapp.page_middleware.AuthenticationMiddleware",
    # Always: it also resets the time zone a previous request on this thread activated.
    "stressapp.middleware.UserTimeZoneMiddleware",
    "stressapp.page_middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "stressapp.page_middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "stressapp.api_errors.ApiErrorShapeMiddleware",
]

ROOT_URLCONF = "stressapp.urls"
WSGI_APPLICATION = "stressapp.wsgi.application"

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
        },
    },
]

# Unset DATABASE_URL means a SQLite file in DATA_DIR: the embedded default.
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with a health check that costs no round trip (stressapp/postgresql).
    DATABASES["default"]["ENGINE"] = "stressapp.postgresql"
    # Only server-binding cursors prepare statements; Django's own cursors bind on the client
    # and never do. The one server-binding statement is a reading's INSERT (the hot path).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 0)
    # A host that vanishes mid-transaction (power, network: benchmarks/hosts.py cuts one)
    # leaves its session holding row locks until PostgreSQL notices the client is gone: by the
    # operating system's TCP defaults, two hours, with every other worker waiting behind the
    # lock of the chunk it held. Each session asks the server to probe its client after
    # DB_KEEPALIVE_SECONDS of silence and to give up after three unanswered probes (or that
    # long with data unacknowledged): a dead host's session ends about 4x that after its last
    # word. 0 leaves the server's settings (e.g. behind a pooler that refuses `options`).
    _keepalive = env.int("DB_KEEPALIVE_SECONDS", default=5)
    if _keepalive > 0:
        DATABASES["default"]["OPTIONS"].setdefault(
            "options",
            f"-c tcp_keepalives_idle={_keepalive} -c tcp_keepalives_interval={_keepalive} "
            f"-c tcp_keepalives_count=3 -c tcp_user_timeout={4 * _keepalive * 1000}",
        )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

REDIS_URL = env.str("REDIS_URL", default="")

# A cache shared by every process on the host (web workers and Celery workers):
# Redis when configured, otherwise files under DATA_DIR.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "stressapp.cache.SharedRedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

# --- Celery -------------------------------------------------------------------------------
# Job state lives in our database, so there is no result backend.
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # A message a worker took but never acknowledged (it was killed) goes back to the queue
    # after this long; it must exceed the longest task (chunks take seconds). Workers look
    # for such messages every CELERY_RESTORE_INTERVAL seconds: kombu 5.7 would otherwise scan
    # only every 10th sweep, about 100 s, whatever the visibility timeout.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=600),
        "unacked_restore_interval": env.int("CELERY_RESTORE_INTERVAL", default=10),
        "unacked_restore_throttle": 1,
    }
else:
    _broker_dir = DATA_DIR / "broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="stressapp")
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    "batch-job-files-cleanup": {
        "task": "predictions.batch_job_files_cleanup",
        "schedule": env.int("BATCH_CLEANUP_INTERVAL_SECONDS", default=3600),
    },
    "jobs-recover": {
        "task": "predictions.jobs_recover",
        "schedule": env.int("JOB_CHECK_SECONDS", default=5),
    },
    # Each writing statement adds a row to its person's days; this folds them into one a day.
    "prediction-days-compact": {
        "task": "predictions.prediction_days_compact",
        "schedule": env.int("PREDICTION_DAYS_COMPACT_SECONDS", default=60),
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

# --- Batch jobs ---------------------------------------------------------------------------
BATCH_DIR = MEDIA_ROOT / "batch"
BATCH_MAX_ROWS = env.int("BATCH_MAX_ROWS", default=1_000_000)
BATCH_MAX_BYTES = env.int("BATCH_MAX_BYTES", default=100 * 1024 * 1024)
BATCH_CHUNK_ROWS = env.int("BATCH_CHUNK_ROWS", default=20_000)
BATCH_ROW_ERRORS_KEPT = 1000
BATCH_RETENTION_DAYS = env.int("BATCH_RETENTION_DAYS", default=7)
# Recovery (jobs.leases): a running chunk's lease lasts JOB_LEASE_SECONDS and is
# renewed every JOB_HEARTBEAT_SECONDS; a lapsed lease means a dead worker and its chunk is
# queued again; a job with nothing leased and no progress for JOB_STALL_SECONDS lost its
# messages and is queued again; a chunk that kills its worker this many times fails the job.
JOB_LEASE_SECONDS = env.int("JOB_LEASE_SECONDS", default=15)
JOB_HEARTBEAT_SECONDS = env.int("JOB_HEARTBEAT_SECONDS", default=5)
JOB_STALL_SECONDS = env.int("JOB_STALL_SECONDS", default=30)
JOB_CHUNK_MAX_ATTEMPTS = env.int("JOB_CHUNK_MAX_ATTEMPTS", default=3)
# Callbacks go to https only in production; plain http is for local development.
BATCH_CALLBACK_ALLOW_HTTP = env.bool("BATCH_CALLBACK_ALLOW_HTTP", default=DEBUG)
# Callbacks to loopback/private/link-local addresses are refused (SSRF) except in development.
BATCH_CALLBACK_ALLOW_PRIVATE = env.bool("BATCH_CALLBACK_ALLOW_PRIVATE", default=DEBUG)
BATCH_CALLBACK_TIMEOUT_SECONDS = 10

# --- Recordings ---------------------------------------------------------------------------
RECORDINGS_DIR = MEDIA_ROOT / "recordings"
# The upload as sent, and what a zip (WFDB, Empatica E4) may unpack to: a zip bomb stops here.
RECORDING_MAX_BYTES = env.int("RECORDING_MAX_BYTES", default=200 * 1024 * 1024)
# What a zip may unpack to (only the members a format reads count): an Apple Health export's
# export.xml reaches several hundred MB and zips to a tenth of that; it is streamed from disk.
RECORDING_MAX_UNCOMPRESSED_BYTES = env.int(
    "RECORDING_MAX_UNCOMPRESSED_BYTES", default=1024 * 1024 * 1024
)
RECORDING_MAX_SECONDS = env.int("RECORDING_MAX_SECONDS", default=24 * 3600)

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["stressapp.renderers.FastJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["stressapp.parsers.StrictJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": [
        "stressapp.throttling.AnonThrottle",
        "stressapp.throttling.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
        "user": env.str("API_THROTTLE_USER", default="1200/min"),
    },
    "NUM_PROXIES": env.int("API_NUM_PROXIES", default=0),
    "EXCEPTION_HANDLER": "stressapp.api_errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# A web process trusts a token it verified this recently without asking the shared cache; a
# token revoked in another process is refused by every process within this many seconds.
API_TOKEN_LOCAL_CACHE_SECONDS = env.float("API_TOKEN_LOCAL_CACHE_SECONDS", default=2.0)
# Request bodies above this are refused with 413 (a 100-reading batch is ~20 KB).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("API_MAX_BODY_BYTES", default=256 * 1024)
# What a view left of a request body (a 413 answered early, an upload over its limit) is read
# and discarded up to this much, so a client that writes its whole body before reading still
# reads the answer (stressapp.body_drain); past it, or past the seconds, the connection closes.
REQUEST_DRAIN_MAX_BYTES = env.int(
    "REQUEST_DRAIN_MAX_BYTES", default=max(BATCH_MAX_BYTES, RECORDING_MAX_BYTES) + 64 * 1024 * 1024
)
REQUEST_DRAIN_MAX_SECONDS = env.float("REQUEST_DRAIN_MAX_SECONDS", default=30.0)
# Clocks drift: a reading up to this far in the future is accepted.
READING_FUTURE_SKEW_SECONDS = env.int("READING_FUTURE_SKEW_SECONDS", default=300)

SPECTACULAR_SETTINGS = {
    "TITLE": "Stress tracker API",
    "DESCRIPTION": "Score physiological readings for stress and keep each user's history. "
    "Authenticate with `Authorization: Bearer <token>` (create tokens on your account page). "
    f"A revoked token is refused within {API_TOKEN_LOCAL_CACHE_SECONDS:g} seconds. "
    'Every error has the shape {"error", "message", "details"}. '
    "[Back to the stress tracker](/)",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"StressLevelEnum": "predictions.models.StressLevel"},
}

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"

# --- Security -----------------------------------------------------------------------------
# On by default whenever debug is off; each can be turned off for a deployment that
# terminates TLS elsewhere and cannot forward X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Content Security Policy (django-csp): our own files only, no inline script anywhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587. Without it, debug prints mail
# to the console; production sends nothing rather than print reset links into its logs.
vars().update(env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "dummymail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Stress tracker <noreply@localhost>")

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
configure_structlog()
LOGGING = logging_config(LOG_LEVEL)

# --- Operations ---------------------------------------------------------------------------
# /metrics answers a Bearer METRICS_TOKEN, or callers from these networks.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])

# Login brute-force protection (django-axes): lock a username+address after failures.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("LOGIN_LOCKOUT_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = env.int("API_NUM_PROXIES", default=0)
AXES_VERBOSE = False

MODEL_RELOAD_SECONDS = env.float("MODEL_RELOAD_SECONDS", default=2.0)
