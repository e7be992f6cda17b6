"""The project's connection loads timestamptz with psycopg's own loader when the session is UTC:
every value (and every refusal) must be what Django's own loader gives."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg.pq import Format

from fynlo.core.postgresql.base import UtcTimestamptzLoader

pytestmark = pytest.mark.django_db

LITERALS = [
    "now()", "'2026-01-01 10:00:00+02'", "'2026-01-01 10:00:00.123456-09:30'", "'1999-12-31 23:59:59.999999+00'",
    "'0001-01-01 00:00:00+00'", "'9999-12-31 23:59:59+00'", "'2024-02-29 12:00:00+05:45'", "'1900-01-01 00:00:00+01:30'",
    "'2026-03-29 01:30:00 Europe/London'", "'infinity'", "'-infinity'", "'0044-03-15 12:00:00+00 BC'", "NULL",
]


class DjangoUtc(BaseTzLoader):
    timezone = datetime.timezone.utc


def _load(literal: str, loader) -> tuple:
    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", loader)
        try:
            cursor.execute(f"SELECT ({literal})::timestamptz")
            value = cursor.fetchone()[0]
        except Exception as error:  # noqa: BLE001 - the refusal itself is compared
            return ("error", type(error).__name__)
    return ("value", value, None if value is None else value.tzinfo)


@pytest.mark.parametrize("literal", LITERALS)
def test_a_timestamp_loads_as_djangos_own_loader_loads_it(literal):
    connection.ensure_connection()
    assert connection.connection.adapters.get_loader(1184, Format.TEXT) is UtcTimestamptzLoader
    assert _load(literal, UtcTimestamptzLoader) == _load(literal, DjangoUtc)


def test_psycopgs_loader_is_the_one_used_in_a_utc_session():
    connection.ensure_connection()
    assert connection.connection.info.parameter_status("TimeZone") == "UTC"
    with connection.cursor() as cursor:
        loader = UtcTimestamptzLoader(1184, cursor.cursor)
    assert type(loader.load.__self__).__module__.startswith(("psycopg_binary", "psycopg_c", "psycopg.types"))
    assert not isinstance(loader.load.__self__, BaseTzLoader)
