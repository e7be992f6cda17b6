"""The streaming replica pair for tests/scaling (tests/replicas.py): started once per session,
and `on_replica` points the project at it for one test: `default` (runtime role) and `owner`
at its primary, `replica_1` (runtime role) at its hot standby. Rows written there are
committed (a replica sees nothing else); every test makes its own restaurants."""

from __future__ import annotations

import copy

import pytest
from django.db import connections

from fynlo.core.db import forget_replica_statuses
from tests.replicas import OWNER, RUNTIME, ReplicaUnavailable, running_replica_pair

WHERE = ("HOST", "PORT", "NAME", "USER", "PASSWORD")


@pytest.fixture(scope="session")
def replica_pair():
    try:
        with running_replica_pair() as pair:
            yield pair
    except ReplicaUnavailable as reason:
        pytest.skip(f"no streaming replica: {reason}")


def add_alias(alias: str, where: dict) -> None:
    """A runtime-role database alias like `default`, elsewhere (added for one test)."""
    config = copy.deepcopy(connections["default"].settings_dict)
    config.update(where)
    config["TEST"] = {"MIRROR": "default"}
    connections.settings[alias] = config


def drop_alias(alias: str) -> None:
    if alias in connections.settings:
        connections[alias].close()
        del connections[alias]
        del connections.settings[alias]


@pytest.fixture
def on_replica(replica_pair, django_db_blocker, settings):
    saved = {alias: {key: connections[alias].settings_dict[key] for key in WHERE} for alias in ("default", "owner")}
    connections["default"].close()
    connections["owner"].close()
    connections["default"].settings_dict.update(replica_pair.database(RUNTIME))
    connections["owner"].settings_dict.update(replica_pair.database(OWNER))
    add_alias("replica_1", replica_pair.database(RUNTIME, replica=True))
    settings.DATABASE_REPLICAS = ["replica_1"]
    settings.REPLICA_CHECK_SECONDS = 0
    settings.REPLICA_MAX_LAG_SECONDS = 3600
    forget_replica_statuses()
    try:
        with django_db_blocker.unblock():
            yield replica_pair
    finally:
        forget_replica_statuses()
        drop_alias("replica_1")
        for alias, where in saved.items():
            connections[alias].close()
            connections[alias].settings_dict.update(where)
