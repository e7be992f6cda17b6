"""Read replicas, against a real streaming replica (tests/replicas.py): lag-tolerant reads go
to it under the request's tenant, row-level security holds there for the runtime role, a
writer reads their own writes from the primary, and a replica that lags or is down is skipped."""

from __future__ import annotations

import time

import pytest
from django.db import connections, transaction
from django.test import Client
from rest_framework.test import APIClient

from fynlo.core.db import forget_replica_statuses
from inventory.models import Category
from tenants.context import tenant_context
from tenants.models import UserRole
from tenants.replicas import replica_reads
from tenants.services import api_token_create
from tests.inventory.factories import CategoryFactory
from tests.pgbouncer import free_port
from tests.pos.factories import OrderFactory
from tests.scaling.conftest import add_alias, drop_alias
from tests.tenants.factories import PlatformFactory, RestaurantFactory, UserFactory

pytestmark = pytest.mark.replica

REPORT = "/api/v1/reports/daily/"


def _signed_in(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user)}")
    return client


def _on_the_replica(alias: str) -> tuple[bool, str]:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), current_user")
        return cursor.fetchone()


def test_row_level_security_holds_on_the_replica_for_the_runtime_role(on_replica):
    # given: two restaurants of one platform and one of another, with menus, on the primary
    p1 = PlatformFactory()
    a, b = RestaurantFactory(platform=p1), RestaurantFactory(platform=p1)
    c = RestaurantFactory()
    for restaurant in (a, b, c):
        CategoryFactory.create_batch(2, restaurant=restaurant)
    on_replica.wait_for_replay()

    # when: the same reads, in replica blocks under each tenant
    with tenant_context(restaurant=a), replica_reads() as alias:
        recovery, role = _on_the_replica(alias)
        as_a = set(Category.objects.values_list("restaurant_id", flat=True))
        a_count = Category.objects.count()
    with tenant_context(platform=p1), replica_reads():
        as_p1 = set(Category.objects.values_list("restaurant_id", flat=True))
    with transaction.atomic(), replica_reads() as no_tenant_alias:
        as_nobody = Category.objects.count()
    unscoped = Category.objects.using("replica_1").count()

    # then: a hot standby, as the runtime role, and every tenant sees only its own rows
    assert alias == no_tenant_alias == "replica_1"
    assert (recovery, role) == (True, "fynlo_app")
    assert as_a == {a.pk} and a_count == 2
    assert as_p1 == {a.pk, b.pk}
    assert as_nobody == 0 and unscoped == 0


def _total_orders(client: APIClient) -> int:
    response = client.get(REPORT)
    assert response.status_code == 200, response.content
    return response.json()["total_orders"]


def test_the_daily_report_reads_a_lagging_replica_only_within_the_limit(on_replica, settings):
    # given: a manager whose restaurant completed one order, replicated
    manager = UserFactory(role=UserRole.MANAGER)
    client = _signed_in(manager)
    OrderFactory(restaurant=manager.restaurant)
    on_replica.wait_for_replay()
    assert _total_orders(client) == 1

    with on_replica.replay_paused():
        # when: a second order is committed on the primary, and the replica does not apply it
        OrderFactory(restaurant=manager.restaurant)
        on_replica.wait_for_receipt()
        time.sleep(0.05)
        lag_tolerated = _total_orders(client)
        settings.REPLICA_MAX_LAG_SECONDS = 0
        lag_refused = _total_orders(client)
        health = Client().get("/health").json()["replicas"]["replica_1"]

    # then: within the limit the report is the replica's (a real replica: one order behind);
    # beyond it, the primary's; /health says how far behind it is
    assert lag_tolerated == 1
    assert lag_refused == 2
    assert health["status"] == "lagging" and health["lag_seconds"] > 0


def test_a_writer_reads_their_own_writes_from_the_primary_for_the_pin_time(on_replica, settings):
    settings.REPLICA_PIN_SECONDS = 1
    manager = UserFactory(role=UserRole.MANAGER)
    colleague = UserFactory(role=UserRole.MANAGER, restaurant=manager.restaurant)
    writer, reader = _signed_in(manager), _signed_in(colleague)
    OrderFactory(restaurant=manager.restaurant)
    on_replica.wait_for_replay()

    with on_replica.replay_paused():
        # when: the manager writes (a menu category; the replica applies nothing more), then
        # both read the report, and the manager again once the pin is over
        created = writer.post("/api/v1/categories/", {"name": "Specials"}, format="json")
        assert created.status_code == 201, created.content
        OrderFactory(restaurant=manager.restaurant)
        on_replica.wait_for_receipt()
        writer_at_once = _total_orders(writer)
        reader_at_once = _total_orders(reader)
        time.sleep(1.1)
        writer_later = _total_orders(writer)

    # then: the writer's read within the pin came from the primary; the colleague's, and the
    # writer's after the pin, from the replica (one order behind)
    assert writer_at_once == 2
    assert reader_at_once == 1
    assert writer_later == 1


def test_a_replica_that_is_down_is_skipped_and_health_reports_it(on_replica, settings):
    add_alias("replica_2", {"HOST": "127.0.0.1", "PORT": str(free_port()), "NAME": "fynlo", "USER": "fynlo_app"})
    connections.settings["replica_2"]["OPTIONS"]["connect_timeout"] = "1"
    settings.DATABASE_REPLICAS = ["replica_2", "replica_1"]
    forget_replica_statuses()
    try:
        restaurant = RestaurantFactory()
        CategoryFactory(restaurant=restaurant)
        on_replica.wait_for_replay()

        with tenant_context(restaurant=restaurant):
            chosen = set()
            for _ in range(6):
                with replica_reads() as alias:
                    assert Category.objects.count() == 1
                    chosen.add(alias)
        settings.DATABASE_REPLICAS = ["replica_2"]
        with tenant_context(restaurant=restaurant), replica_reads() as alias_when_only_down:
            on_primary = Category.objects.count()
        health = Client().get("/health")
    finally:
        drop_alias("replica_2")

    assert chosen == {"replica_1"}
    assert alias_when_only_down is None and on_primary == 1
    assert health.status_code == 200  # the service works: reads go to the primary
    assert health.json()["replicas"]["replica_2"]["status"] == "error"


def test_health_reports_each_replicas_lag(on_replica):
    on_replica.wait_for_replay()

    body = Client().get("/health").json()

    assert body["status"] == "ok"
    assert body["replicas"]["replica_1"]["status"] == "ok"
    assert 0 <= body["replicas"]["replica_1"]["lag_seconds"] <= 3600
