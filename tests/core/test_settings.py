"""Settings come from the environment, are secure by default, and honour the guide's names.

Settings are read once per process, so most of these tests start a fresh Python with a chosen
environment (and no `.env`: FYNLO_ENV_FILE points nowhere, so local relaxations stay out).
"""

from __future__ import annotations

import json
import os
import secrets
import string
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from fynlo.env import parse_database_url

# Variables a test sets itself, or that would relax production settings if inherited.
_DROPPED_PREFIXES = ("DJANGO_", "FYNLO_", "PYTEST_")
_DROPPED = {"DATABASE_POOL_SIZE", "DATABASE_MAX_OVERFLOW", "CACHE_TTL", "DEMO_SHOW_LOGINS"}


def _secret_key() -> str:
    alphabet = string.ascii_letters + string.digits + "-_"
    return "".join(secrets.choice(alphabet) for _ in range(60))


def production_env(**overrides: str | None) -> dict[str, str]:
    """A production environment: no DEBUG, no DJANGO_SECURE_* relaxations, no .env file.

    The services (DATABASE_URL, DATABASE_OWNER_URL, VALKEY_URL) come from this process's
    environment, which the settings filled from `.env` when this test run started.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_DROPPED_PREFIXES) and key not in _DROPPED
    }
    if not env.get("DATABASE_URL") or not (env.get("VALKEY_URL") or env.get("REDIS_URL")):
        pytest.skip("DATABASE_URL / VALKEY_URL are not configured (run `make services`)")
    env.update(
        DJANGO_SETTINGS_MODULE="fynlo.settings",
        DJANGO_SECRET_KEY=_secret_key(),
        DJANGO_ALLOWED_HOSTS="pos.example.com",
        FYNLO_ENV_FILE="/nonexistent/.env",
        PYTHONDONTWRITEBYTECODE="1",
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )


def settings_in_fresh_process(names: list[str], env: dict[str, str]) -> dict:
    """The values of some settings as a fresh process with this environment loads them."""
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}, default=str))"
    )
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_settings_pass_the_deploy_check():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_are_secure_by_default():
    loaded = settings_in_fresh_process(
        [
            "DEBUG", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
            "SECURE_HSTS_SECONDS", "ALLOWED_HOSTS", "PASSWORD_HASHERS", "DEMO_SHOW_LOGINS",
        ],
        production_env(),
    )

    assert loaded["DEBUG"] is False
    assert loaded["SECURE_SSL_REDIRECT"] is True
    assert loaded["SESSION_COOKIE_SECURE"] is True and loaded["CSRF_COOKIE_SECURE"] is True
    assert loaded["SECURE_HSTS_SECONDS"] >= 31536000
    assert loaded["ALLOWED_HOSTS"] == ["pos.example.com"]
    assert not any("MD5" in hasher for hasher in loaded["PASSWORD_HASHERS"])
    assert loaded["DEMO_SHOW_LOGINS"] is False  # the landing page shows no demo password


def test_settings_refuse_to_load_without_a_secret_key_unless_debugging():
    without_key = production_env(DJANGO_SECRET_KEY=None)

    refused = run_python("import django; django.setup()", without_key)
    debugging = run_python("import django; django.setup()", {**without_key, "DJANGO_DEBUG": "true"})

    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr and "DJANGO_SECRET_KEY" in refused.stderr
    assert debugging.returncode == 0, debugging.stderr


def test_redis_url_is_accepted_when_valkey_url_is_absent():
    env = production_env(VALKEY_URL=None, REDIS_URL="redis://127.0.0.1:6379/7")

    loaded = settings_in_fresh_process(["CACHES"], env)

    assert loaded["CACHES"]["default"]["LOCATION"] == "redis://127.0.0.1:6379/7"


def test_the_guides_pool_and_cache_ttl_names_are_honoured():
    env = production_env(DATABASE_POOL_SIZE="20", DATABASE_MAX_OVERFLOW="30", CACHE_TTL="120")

    loaded = settings_in_fresh_process(["DATABASES", "CACHES"], env)

    pool = loaded["DATABASES"]["default"]["OPTIONS"]["pool"]
    assert (pool["min_size"], pool["max_size"]) == (20, 50)
    assert loaded["DATABASES"]["default"]["CONN_MAX_AGE"] == 0  # Django's pool requires it
    assert loaded["CACHES"]["default"]["TIMEOUT"] == 120


@pytest.mark.django_db
def test_a_pooled_connection_answers_queries():
    # the test database: it exists wherever the suite runs (the development one may not)
    test_database_url = urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{connection.settings_dict['NAME']}")
    env = production_env(
        DATABASE_URL=urlunsplit(test_database_url), DATABASE_POOL_SIZE="1", DATABASE_MAX_OVERFLOW="1"
    )
    code = (
        "import django; django.setup(); from django.db import connection; "
        "cursor = connection.cursor(); cursor.execute('SELECT 41 + 1'); print(cursor.fetchone()[0]); "
        "print(type(connection.pool).__name__); connection.close(); connection.close_pool()"
    )

    result = run_python(code, env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["42", "ConnectionPool"]


# --- DATABASE_URL parsing ------------------------------------------------------------------


def test_sslmode_and_the_root_certificate_pass_through_to_libpq():
    config = parse_database_url(
        "postgresql://doadmin:p%40ss@db.example.com:25060/defaultdb"
        "?sslmode=require&sslrootcert=/etc/ssl/do-ca.crt"
    )

    assert config["OPTIONS"]["sslmode"] == "require"
    assert config["OPTIONS"]["sslrootcert"] == "/etc/ssl/do-ca.crt"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.example.com", "25060", "defaultdb")
    assert (config["USER"], config["PASSWORD"]) == ("doadmin", "p@ss")
    assert "options" not in config["OPTIONS"]


def test_a_startup_options_parameter_is_refused():
    # PgBouncer (DigitalOcean's pools) refuses startup options
    with pytest.raises(ImproperlyConfigured, match="options"):
        parse_database_url("postgresql://app:pw@db.example.com:25061/fynlo?options=-c%20search_path%3Dfynlo")


def test_a_unix_socket_directory_is_given_as_host():
    config = parse_database_url("postgresql://app:pw@/fynlo?host=/var/run/postgresql")

    assert config["HOST"] == "/var/run/postgresql"
    assert config["NAME"] == "fynlo"
    assert "host" not in config["OPTIONS"]


def test_a_non_postgresql_url_is_refused():
    with pytest.raises(ImproperlyConfigured):
        parse_database_url("mysql://app:pw@db.example.com/fynlo")


def test_an_idempotency_key_lifetime_under_an_hour_is_refused():
    refused = run_python("import django; django.setup()", production_env(IDEMPOTENCY_KEY_TTL_HOURS="0"))

    assert refused.returncode != 0
    assert "IDEMPOTENCY_KEY_TTL_HOURS=0 must be at least 1" in refused.stderr


def test_a_test_run_keeps_its_cache_keys_apart_from_the_served_apps(settings):
    # the served app and another checkout's tests share Valkey: this run's keys name its test database
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    database = settings.DATABASES["owner"]["NAME"]

    assert prefix.endswith(":" + database)
    assert database.startswith("test_") or database == settings.DATABASES["owner"]["TEST"]["NAME"]
