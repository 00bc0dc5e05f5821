"""Django settings for guanxi, read from environment variables with safe defaults.

Environment:

``GUANXI_HOME``
    Folder of the embedded install: the SQLite database and the generated secret key
    live here (default ``~/.local/share/guanxi``).
``DATABASE_URL``
    Any dj-database-url URL; ``postgres://user@host:5432/name`` for production. Default:
    SQLite in WAL mode at ``$GUANXI_HOME/guanxi.sqlite3``.
``SECRET_KEY``
    Default: generated once and stored in ``$GUANXI_HOME/secret_key`` (mode 0600).
``DEBUG``
    Off unless set to ``1``/``true``.
``ALLOWED_HOSTS``
    Comma-separated; default ``127.0.0.1,localhost``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


GUANXI_HOME = Path(
    os.environ.get("GUANXI_HOME", Path.home() / ".local" / "share" / "guanxi")
).expanduser()


def _secret_key() -> str:
    if key := os.environ.get("SECRET_KEY"):
        return key
    key_file = GUANXI_HOME / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    GUANXI_HOME.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    # Created with owner-only permissions: the key signs sessions and tokens.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


SECRET_KEY = _secret_key()
DEBUG = _env_bool("DEBUG")
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "guanxi.core",
    "guanxi.accounts",
    "guanxi.customers",
    "guanxi.sales",
    "guanxi.activities",
    "guanxi.insights",
    "guanxi.privacy",
    "guanxi.dedup",
    "guanxi.dataio",
    "guanxi.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "guanxi.core.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "guanxi.core.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "guanxi.urls"
WSGI_APPLICATION = "guanxi.wsgi.application"

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
                "django.template.context_processors.i18n",
                "guanxi.core.context_processors.navigation",
                "guanxi.insights.context_processors.insights_navigation",
            ],
        },
    },
]

_default_sqlite = f"sqlite:///{GUANXI_HOME / 'guanxi.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", _default_sqlite))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work while a writer commits; IMMEDIATE avoids lock-upgrade deadlocks.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            "PRAGMA busy_timeout=5000;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["TEST"] = {"NAME": ""}  # in-memory test database
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # No JIT: PostgreSQL compiles any query whose estimated cost passes jit_above_cost,
        # and a page's short queries paid seconds for it (a 360-page query returning no row
        # spent 7.6 s in LLVM on the 1M-customer set; benchmarks/web/README.md).
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")

STATIC_URL = "/static/"
STATIC_ROOT = GUANXI_HOME / "static"
# whitenoise serves from the package (finders) and from STATIC_ROOT once collectstatic ran;
# the folder must exist or every request warns.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# The project-wide assets (vendored Tabler and htmx, guanxi.css) are not inside an app.
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve straight from the package; collectstatic is optional

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE")
CSRF_COOKIE_SECURE = _env_bool("CSRF_COOKIE_SECURE")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Upload and body limits: a 10 MB note is refused with a clear error, not stored.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

REST_FRAMEWORK = {
    # Token first, so that a request without credentials answers 401 with a challenge.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PARSER_CLASSES": [
        # Both refuse bodies over DATA_UPLOAD_MAX_MEMORY_SIZE (multipart is limited by Django).
        "guanxi.core.api.parsers.JSONParser",
        "guanxi.core.api.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["guanxi.core.api.permissions.RolePermission"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "guanxi.core.api.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "guanxi.core.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "guanxi.core.api.exceptions.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "guanxi CRM API",
    "DESCRIPTION": "Customers, contacts, products, orders, interactions and their history.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc served from the installed sidecar package, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets shared by several fields, or several sets behind one field name.
    "ENUM_NAME_OVERRIDES": {
        "AssessmentEnum": "guanxi.customers.choices.Assessment",
        "ConsentChannelEnum": "guanxi.customers.choices.ConsentChannel",
        "InteractionChannelEnum": "guanxi.activities.choices.InteractionChannel",
        "MergeKindEnum": "guanxi.dedup.models.MergeKind",
        "SalesChannelEnum": "guanxi.sales.choices.SalesChannel",
        "ABCGradeEnum": "guanxi.insights.choices.ABCGrade",
        "ImportKindEnum": "guanxi.dataio.models.ImportKind",
    },
}

# Currency used when an order does not name one.
GUANXI_DEFAULT_CURRENCY = os.environ.get("GUANXI_DEFAULT_CURRENCY", "CNY")
# Days a soft-deleted customer or contact stays in the trash before it is purged.
GUANXI_TRASH_DAYS = int(os.environ.get("GUANXI_TRASH_DAYS", "30"))
# Longest free text (notes, interaction bodies) accepted, in characters.
GUANXI_MAX_TEXT_LENGTH = int(os.environ.get("GUANXI_MAX_TEXT_LENGTH", "20000"))

# Background tasks (django-tasks): stored in the database, run by `guanxi worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
