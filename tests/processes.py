"""The environment of a `manage.py` (or `python -m bench`) subprocess that uses this test run's
database server, roles and Valkey, and no `.env` file."""

from __future__ import annotations

import os
from urllib.parse import quote

from django.conf import settings
from django.db import connections


def database_url(alias: str) -> str:
    config = connections[alias].settings_dict
    user, password = quote(config["USER"], safe=""), quote(config["PASSWORD"] or "", safe="")
    return f"postgresql://{user}:{password}@{config['HOST'] or '127.0.0.1'}:{config['PORT'] or 5432}/{config['NAME']}"


def command_env(**extra: str) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "FYNLO_TEST", "BENCH_"))}
    env.update(
        DATABASE_URL=database_url("default"),
        DATABASE_OWNER_URL=database_url("owner"),
        FYNLO_ENV_FILE="/nonexistent",
        VALKEY_URL=settings.VALKEY_URL,
        DJANGO_SECRET_KEY=settings.SECRET_KEY,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env
