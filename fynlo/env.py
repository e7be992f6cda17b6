"""Configuration from the environment (twelve-factor), with an optional `.env` file.

A `.env` file beside manage.py is read when present; variables already set in the
environment win over it. URLs are parsed here into Django's settings shapes.

This module is the project's one `.env` reader: scripts/services.py imports it before any
Django settings exist, so it must stay importable without them (django.core.exceptions only).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured


def parse_dotenv_line(raw: str) -> tuple[str, str] | None:
    """(KEY, value) of one `.env` line, or None for a blank line, a comment or no `=`.

    `export KEY=value` and one pair of matching quotes around the value are accepted."""
    line = raw.strip()
    if not line or line.startswith("#") or "=" not in line:
        return None
    key, value = line.split("=", 1)
    key = key.strip().removeprefix("export ").strip()
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return key, value


def read_dotenv(path: Path) -> dict[str, str]:
    """The KEY=VALUE pairs of a `.env` file ({} when there is none); the first of a repeated key wins."""
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        parsed = parse_dotenv_line(raw)
        if parsed:
            values.setdefault(*parsed)
    return values


def load_dotenv(path: Path) -> None:
    """Read a `.env` file into os.environ without overriding what is already set."""
    for key, value in read_dotenv(path).items():
        os.environ.setdefault(key, value)


def env_str(name: str, default: str | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    value = (os.environ if environ is None else environ).get(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool = False, environ: Mapping[str, str] | None = None) -> bool:
    value = (os.environ if environ is None else environ).get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on", "t", "y"}:
        return True
    if lowered in {"0", "false", "no", "off", "f", "n"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use true or false)")


def env_int(name: str, default: int | None = None) -> int | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# libpq parameters passed through from the URL's query string. `options` is refused on
# purpose: PgBouncer (DigitalOcean's connection pools) rejects it as a startup parameter.
_PASSTHROUGH = {
    "sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout",
    "application_name", "target_session_attrs", "keepalives", "keepalives_idle",
}


def parse_database_url(url: str, *, name: str = "DATABASE_URL") -> dict:
    """Turn postgresql://user:pass@host:port/db?sslmode=require into a Django DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(f"{name} must be a postgresql:// URL, got scheme {parts.scheme!r}")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    if "options" in query:
        raise ImproperlyConfigured(
            f"{name} carries 'options': PgBouncer refuses startup options; remove it"
        )
    host = unquote(parts.hostname or "") if parts.hostname else ""
    # A Unix socket directory may be given as ?host=/path (libpq style).
    host = query.pop("host", host)
    options = {key: value for key, value in query.items() if key in _PASSTHROUGH}
    unknown = set(query) - _PASSTHROUGH
    if unknown:
        raise ImproperlyConfigured(f"{name} has unsupported parameters: {', '.join(sorted(unknown))}")
    options.setdefault("connect_timeout", "5")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")) or "postgres",
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(parts.port or ""),
        "OPTIONS": options,
    }


# DigitalOcean's connection pools (PgBouncer) listen on 25061; the database itself on 25060.
POOLER_PORTS = frozenset({25061})
POOLERS = ("pgbouncer", "none")


def detect_pooler(url: str, explicit: str | None = None, *, name: str = "DATABASE_POOLER") -> str | None:
    """'pgbouncer' when connections to `url` go through a transaction-mode pooler, else None.

    `explicit` (DATABASE_POOLER) decides when given: `pgbouncer`, or `none` to turn detection
    off; otherwise a URL on a pooler port (DigitalOcean's 25061) is taken for PgBouncer."""
    if explicit:
        value = explicit.strip().lower()
        if value not in POOLERS:
            raise ImproperlyConfigured(f"{name}={explicit!r} is not one of: {', '.join(POOLERS)}")
        return None if value == "none" else value
    try:
        port = urlsplit(url).port
    except ValueError:
        return None
    return "pgbouncer" if port in POOLER_PORTS else None
