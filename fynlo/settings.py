"""Django settings, all from the environment (see README "Configuration")."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from fynlo.env import detect_pooler, env_bool, env_int, env_list, env_str, load_dotenv, parse_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(Path(env_str("FYNLO_ENV_FILE", str(BASE_DIR / ".env"))))

TESTING = "pytest" in sys.modules or env_bool("FYNLO_TESTING", False)

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if DEBUG or TESTING:
        SECRET_KEY = "insecure-development-only-key-never-use-in-production-0123456789"
    else:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set (required unless DJANGO_DEBUG=true); `make services` writes one to .env"
        )
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG or TESTING else [])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "fynlo.core",
    "tenants",
    "billing",
    "inventory",
    "staff",
    "pos",
    "fynlo.demo",
    "fynlo.cutover",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenants.middleware.TenantMiddleware",
    "fynlo.core.middleware.LazyMessageMiddleware",  # Django's, its storage made when used
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "fynlo.urls"
WSGI_APPLICATION = "fynlo.wsgi.application"
ASGI_APPLICATION = "fynlo.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "fynlo" / "templates"],
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

# --- Database -------------------------------------------------------------------------
# `default` is the runtime role (subject to row-level security); `owner` owns the schema
# and runs `migrate` and the cutover commands. See tenants/ and DESIGN.md "Tenancy".
_database_url = env_str("DATABASE_URL")
if not _database_url:
    raise ImproperlyConfigured("DATABASE_URL is not set; run `make services` to configure local services")
_owner_url = env_str("DATABASE_OWNER_URL", _database_url)

_pool_size = env_int("DATABASE_POOL_SIZE")
_max_overflow = env_int("DATABASE_MAX_OVERFLOW", 0)
_health_interval = env_int("DATABASE_HEALTH_CHECK_INTERVAL", 30)


def _database(url: str, name: str, *, pooled: bool, pooler: str | None = None) -> dict:
    config = parse_database_url(url, name=name)
    # Checked at most every DATABASE_HEALTH_CHECK_INTERVAL seconds (fynlo.core.postgresql), not
    # at every request: a SELECT 1 is one more round trip (and pooler transaction) a request.
    config["ENGINE"] = "fynlo.core.postgresql"
    config["CONN_HEALTH_CHECKS"] = bool(_health_interval)
    config["HEALTH_CHECK_SECONDS"] = _health_interval or 0
    if pooled and _pool_size and not TESTING:
        # Django's psycopg pool: the guide's DATABASE_POOL_SIZE / DATABASE_MAX_OVERFLOW.
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"]["pool"] = {
            "min_size": _pool_size,
            "max_size": _pool_size + (_max_overflow or 0),
            "timeout": 10,
        }
    else:
        config["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
    if pooler:
        # PgBouncer in transaction mode hands each transaction any server connection: nothing
        # may outlive one. A server-side cursor (QuerySet.iterator() outside a transaction is
        # WITH HOLD) and a server-side prepared statement would. See fynlo.core.db's check.
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
        config["OPTIONS"]["prepare_threshold"] = None
    return config


# DATABASE_POOLER=pgbouncer (or a DigitalOcean pool port, 25061): the runtime connections go
# through PgBouncer in transaction mode. The owner's never should (see README "Scaling out").
_pooler_setting = env_str("DATABASE_POOLER")
DATABASE_POOLER = detect_pooler(_database_url, _pooler_setting)
_replica_urls = env_list("DATABASE_REPLICA_URLS", [])

DATABASES = {
    "default": _database(_database_url, "DATABASE_URL", pooled=True, pooler=DATABASE_POOLER),
    "owner": _database(_owner_url, "DATABASE_OWNER_URL", pooled=False),
}
# The test database is created and migrated by the owner; the tests' queries run as the
# runtime role against the same database (a mirror shares only the database name).
DATABASES["default"]["TEST"] = {"MIRROR": "owner"}
# FYNLO_TEST_DATABASE names the test database (several checkouts on one server).
DATABASES["owner"]["TEST"] = {"NAME": env_str("FYNLO_TEST_DATABASE"), "DEPENDENCIES": []}
# Read replicas (the runtime role on replica nodes): aliases replica_1, replica_2, ... that
# fynlo.core.db's router sends lag-tolerant reads to (tenants.replicas.replica_reads).
DATABASE_REPLICAS: list[str] = []
for _index, _replica_url in enumerate(_replica_urls, start=1):
    _alias = f"replica_{_index}"
    DATABASES[_alias] = _database(
        _replica_url, f"DATABASE_REPLICA_URLS (number {_index})", pooled=True,
        pooler=detect_pooler(_replica_url, _pooler_setting),
    )
    DATABASES[_alias]["TEST"] = {"MIRROR": "default"}
    DATABASE_REPLICAS.append(_alias)
DATABASE_ROUTERS = ["fynlo.core.db.ReplicaRouter"]
# A user who has just written reads from the primary for this many seconds (kept in Valkey).
REPLICA_PIN_SECONDS = env_int("REPLICA_PIN_SECONDS", 5)
# A replica further behind than this is skipped; its lag is measured at most every REPLICA_CHECK_SECONDS.
REPLICA_MAX_LAG_SECONDS = float(env_str("REPLICA_MAX_LAG_SECONDS", "10"))
REPLICA_CHECK_SECONDS = float(env_str("REPLICA_CHECK_SECONDS", "2"))
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

# --- Cache and sessions (Valkey) --------------------------------------------------------
VALKEY_URL = env_str("VALKEY_URL") or env_str("REDIS_URL")
if not VALKEY_URL:
    raise ImproperlyConfigured("VALKEY_URL (or REDIS_URL) is not set; run `make services` to configure local services")
_cache_pool_kwargs: dict = {}
if env_str("VALKEY_CA_FILE"):
    if not VALKEY_URL.startswith("rediss://"):
        raise ImproperlyConfigured("VALKEY_CA_FILE is set but VALKEY_URL is not a rediss:// (TLS) URL")
    _cache_pool_kwargs["ssl_ca_certs"] = env_str("VALKEY_CA_FILE")
CACHE_SOCKET_TIMEOUT = float(env_str("CACHE_SOCKET_TIMEOUT", "2"))
_cache_key_prefix = env_str("CACHE_KEY_PREFIX", "fynlo")
if TESTING:
    # A test run keeps its sessions and throttles apart from the served app's and from another
    # checkout's test run on the same Valkey: the prefix names the test database.
    _cache_key_prefix += ":" + (DATABASES["owner"]["TEST"]["NAME"] or "test_" + DATABASES["owner"]["NAME"])
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": VALKEY_URL,
        "TIMEOUT": env_int("CACHE_TTL", 3600),
        "KEY_PREFIX": _cache_key_prefix,
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": CACHE_SOCKET_TIMEOUT,
            "SOCKET_TIMEOUT": CACHE_SOCKET_TIMEOUT,
            "CONNECTION_POOL_KWARGS": {"retry_on_timeout": False, **_cache_pool_kwargs},
        },
    }
}
SESSION_ENGINE = "fynlo.core.sessions"  # Django's cache sessions, but a dead cache is a 503, not "signed out"
SESSION_CACHE_ALIAS = "default"

# --- Auth -----------------------------------------------------------------------------
AUTH_USER_MODEL = "tenants.User"
AUTHENTICATION_BACKENDS = ["tenants.auth.EmailBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.BCryptPasswordHasher",
]
if TESTING:
    PASSWORD_HASHERS.insert(0, "django.contrib.auth.hashers.MD5PasswordHasher")
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.authentication.TenantTokenAuthentication",
        "tenants.authentication.TenantSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "fynlo.core.api.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "EXCEPTION_HANDLER": "fynlo.core.api.exception_handler",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "fynlo.core.api.ContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "login_client": env_str("LOGIN_THROTTLE_CLIENT", "20/min"),
        "login_email": env_str("LOGIN_THROTTLE_EMAIL", "5/min"),
    },
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Fynlo POS API",
    "DESCRIPTION": "The mobile POS's API: menu, orders, payments, refunds, stock, staff, reports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # models with a field called `status` each get their own enum name in the schema
    "ENUM_NAME_OVERRIDES": {
        "ScheduleStatusEnum": "staff.models.ScheduleStatus",
        "ShiftStatusEnum": "staff.models.ShiftStatus",
        "TimeTrackingStatusEnum": "staff.models.TimeTrackingStatus",
        "OrderStatusEnum": "pos.models.OrderStatus",
        "PaymentStatusEnum": "pos.models.PaymentStatus",
        "RefundStatusEnum": "pos.models.RefundStatus",
        "RestockStatusEnum": "inventory.models.RestockStatus",
        "SyncStatusEnum": "pos.serializers.SYNC_STATUSES",
    },
}

# --- Files (DigitalOcean Spaces, or the local filesystem) -------------------------------
SPACES_BUCKET = env_str("SPACES_BUCKET")
SPACES_REGION = env_str("SPACES_REGION", "lon1")
SPACES_ENDPOINT_URL = env_str("SPACES_ENDPOINT_URL") or (
    f"https://{SPACES_REGION}.digitaloceanspaces.com" if SPACES_BUCKET else None
)
SPACES_CDN_DOMAIN = env_str("SPACES_CDN_DOMAIN")
# Spaces' public URLs are virtual-hosted (https://<bucket>.<region>.digitaloceanspaces.com/<key>);
# other S3-compatible endpoints (a local test server) keep botocore's default, path style.
SPACES_ADDRESSING_STYLE = env_str("SPACES_ADDRESSING_STYLE") or (
    "virtual" if (SPACES_ENDPOINT_URL or "").rstrip("/").endswith(".digitaloceanspaces.com") else None
)
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = env_str("MEDIA_URL", "/media/")
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = True
if SPACES_BUCKET:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": SPACES_BUCKET,
            "region_name": SPACES_REGION,
            "endpoint_url": SPACES_ENDPOINT_URL,
            "addressing_style": SPACES_ADDRESSING_STYLE,
            "access_key": env_str("SPACES_ACCESS_KEY_ID"),
            "secret_key": env_str("SPACES_SECRET_ACCESS_KEY"),
            "custom_domain": SPACES_CDN_DOMAIN,
            "default_acl": "public-read",
            "querystring_auth": False,
            # keys are random UUIDs: no HEAD per upload, and the CDN may cache an object for good
            "file_overwrite": True,
            "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Internationalisation ----------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

# --- Security (secure by default; `manage.py check --deploy` is clean) ------------------
_secure = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", _secure)
SECURE_REDIRECT_EXEMPT = [r"^health/?$"]
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", _secure)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000 if _secure else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", SECURE_HSTS_SECONDS > 0)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}

# The landing page (/) lists the demo's logins with their password: a demo server only (`make demo`).
DEMO_SHOW_LOGINS = env_bool("DEMO_SHOW_LOGINS", DEBUG)

HEALTH_CHECK_TIMEOUT = float(env_str("HEALTH_CHECK_TIMEOUT", "2"))

# API tokens expire after this many hours (0: never).
API_TOKEN_TTL_HOURS = env_int("API_TOKEN_TTL_HOURS", 24 * 30)

# An order sent with the device's time of the sale (offline) is refused when that time is older
# than this (or more than 5 minutes ahead of the server's clock).
OFFLINE_ORDER_MAX_AGE_HOURS = env_int("OFFLINE_ORDER_MAX_AGE_HOURS", 72)

# ?updated_since= lists hand out next_since this many seconds before the pass began: a write
# transaction shorter than this is never missed by the next pass (fynlo/core/sync.py).
SYNC_MARGIN_SECONDS = env_int("SYNC_MARGIN_SECONDS", 60)

# A retry with the same Idempotency-Key is answered from the first response for this many hours.
IDEMPOTENCY_KEY_TTL_HOURS = env_int("IDEMPOTENCY_KEY_TTL_HOURS", 24)
if IDEMPOTENCY_KEY_TTL_HOURS < 1:
    raise ImproperlyConfigured(f"IDEMPOTENCY_KEY_TTL_HOURS={IDEMPOTENCY_KEY_TTL_HOURS} must be at least 1")
