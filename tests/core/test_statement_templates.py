"""A statement of many parameters (an order with its lines) is parsed into psycopg's template once
per text, not at every execution (fynlo.core.postgresql: psycopg caches only up to 50 parameters)."""

from __future__ import annotations

import pytest
from django.db import connection

from fynlo.core.postgresql.base import _LONG_TEMPLATES

pytestmark = pytest.mark.django_db

PARAMETERS = 60


def summed(values: list[int]) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + " + ".join(["%s::int"] * len(values)), values)
        return cursor.fetchone()[0]


def test_a_statement_of_sixty_parameters_is_parsed_once_and_bound_afresh_each_time():
    before = _LONG_TEMPLATES.cache_info()

    first = summed(list(range(PARAMETERS)))
    second = summed([1] * PARAMETERS)

    after = _LONG_TEMPLATES.cache_info()
    assert (first, second) == (sum(range(PARAMETERS)), PARAMETERS)
    assert after.misses - before.misses <= 1  # parsed at most once (once unless an earlier test sent it)
    assert after.hits - before.hits >= 1
