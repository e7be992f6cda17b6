"""The replica router and the read-your-writes pin, without a replica (tests/scaling/test_replicas.py
has the real one): only blocks that ask read from a replica; writes, and rows read from a replica
once the block is over, go to the primary; a successful write pins its user to the primary."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from fynlo.core.db import ReplicaRouter, _pin_key, reads_go_to, reads_pinned, replica_for_reads
from inventory.models import Category
from tenants.replicas import replica_reads

router = ReplicaRouter()


@pytest.fixture
def one_replica(settings):
    settings.DATABASE_REPLICAS = ["replica_1"]
    return "replica_1"


def _read_on(alias: str) -> Category:
    row = Category(name="Mains")
    row._state.db = alias
    return row


def test_reads_stay_on_the_primary_unless_a_block_asks(one_replica):
    assert router.db_for_read(Category) is None  # Django's default: the primary
    with reads_go_to(one_replica):
        assert router.db_for_read(Category) == one_replica
        assert router.db_for_write(Category) is None
    assert router.db_for_read(Category) is None


def test_a_row_read_on_a_replica_is_written_and_followed_on_the_primary(one_replica):
    row = _read_on(one_replica)

    assert router.db_for_write(Category, instance=row) == "default"
    assert router.db_for_read(Category, instance=row) == "default"
    assert router.allow_relation(row, _read_on("default")) is True
    assert router.allow_relation(row, _read_on("owner")) is None  # the owner's rows are another matter
    assert router.allow_migrate(one_replica, "inventory") is False
    assert router.allow_migrate("owner", "inventory") is None


def test_without_replicas_reads_stay_on_the_primary(settings):
    settings.DATABASE_REPLICAS = []
    with replica_reads() as alias:
        assert alias is None
    assert replica_for_reads(1) is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "status", "pinned"),
    [("post", 201, True), ("get", 200, False), ("post", 400, False)],
)
def test_a_successful_write_pins_its_user_to_the_primary(api, shop, one_replica, settings, method, status, pinned):
    settings.REPLICA_PIN_SECONDS = 30
    user = shop["manager"]
    cache.delete(_pin_key(user.pk))
    body = {"name": "Specials"} if status != 400 else {}
    try:
        response = getattr(api("manager"), method)("/api/v1/categories/", body, format="json")
        assert response.status_code == status, response.content
        assert reads_pinned(user.pk) is pinned
        if pinned:
            assert replica_for_reads(user.pk) is None  # asks no replica at all
    finally:
        cache.delete(_pin_key(user.pk))
