"""Through a real PgBouncer in transaction mode (DigitalOcean's connection pools): a server
connection serves many clients' transactions one after another, so nothing of a tenant may
outlive its transaction. Connected as the runtime role, so row-level security is what holds."""

from __future__ import annotations

import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from inventory.models import Category
from tenants.context import tenant_context
from tenants.models import UserRole
from tenants.services import api_token_create
from tests.pgbouncer import running_pgbouncer
from tests.tenants.factories import UserFactory

pytestmark = [pytest.mark.pgbouncer, pytest.mark.django_db(transaction=True, databases=["default", "owner"])]

THREADS = 12
ROUNDS = 4


def _act_for(index: int, restaurant_id: int, token: str, start: threading.Barrier) -> list[tuple[int, int]]:
    """One restaurant's client: through the API and through tenant_context, write then read,
    and check every row seen. Returns (server pid, restaurant) of each direct transaction."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    served = []
    try:
        start.wait(timeout=30)
        for round_ in range(ROUNDS):
            created = client.post("/api/v1/categories/", {"name": f"api {index}.{round_}"}, format="json")
            assert created.status_code == 201, created.content
            listed = client.get("/api/v1/categories/")
            assert listed.status_code == 200, listed.content
            rows = listed.json()
            assert {row["restaurant_id"] for row in rows} == {restaurant_id}
            assert {row["name"] for row in rows} == (
                {f"api {index}.{k}" for k in range(round_ + 1)} | {f"direct {index}.{k}" for k in range(round_)}
            )

            with tenant_context(restaurant=restaurant_id):
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid(), current_setting('app.current_restaurant_id')")
                    pid, setting = cursor.fetchone()
                assert setting == str(restaurant_id)
                Category.objects.create(restaurant_id=restaurant_id, name=f"direct {index}.{round_}")
                seen = list(Category.objects.values_list("restaurant_id", "name"))
                assert {owner for owner, _ in seen} == {restaurant_id}
                assert len(seen) == 2 * (round_ + 1)
            served.append((pid, restaurant_id))

            # a transaction with no tenant, on whatever server connection comes next: nothing
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_setting('app.current_restaurant_id', true)")
                assert cursor.fetchone()[0] in (None, "")
            assert Category.objects.count() == 0
        return served
    finally:
        connections.close_all()


def test_no_tenant_crosses_pooled_server_connections(through_pgbouncer):
    # given: twelve restaurants, each with a manager signed in on a device
    managers = [UserFactory(role=UserRole.MANAGER) for _ in range(THREADS)]
    tokens = [api_token_create(user=manager) for manager in managers]
    assert through_pgbouncer.pool_size < THREADS

    # when: twelve clients at once, each for its restaurant, over a pool of fewer server connections
    start = threading.Barrier(THREADS)
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [
            pool.submit(_act_for, index, manager.restaurant_id, token, start)
            for index, (manager, token) in enumerate(zip(managers, tokens))
        ]
        served = [pair for future in futures for pair in future.result()]

    # then: every row each client saw was its own (asserted in the threads), and the server
    # connections really were shared between restaurants
    restaurants_by_pid = defaultdict(set)
    for pid, restaurant_id in served:
        restaurants_by_pid[pid].add(restaurant_id)
    assert len(restaurants_by_pid) <= through_pgbouncer.pool_size
    assert max(len(restaurants) for restaurants in restaurants_by_pid.values()) > 1
    with tenant_context(all_tenants=True):
        counts = Category.objects.filter(restaurant__in=[m.restaurant_id for m in managers]).count()
    assert counts == THREADS * ROUNDS * 2


def _connect(bouncer, settings_dict) -> psycopg.Connection:
    return psycopg.connect(
        host=bouncer.host, port=bouncer.port, dbname=settings_dict["NAME"], user=settings_dict["USER"],
        password=settings_dict["PASSWORD"] or None, autocommit=True, prepare_threshold=None, connect_timeout=5,
    )


def test_a_session_level_setting_would_cross_to_another_client(django_db_blocker):
    """The yardstick of the test above: a session-level set_config (what the project never
    does) set by one client is seen by the next client on the same server connection."""
    runtime = connections["default"].settings_dict
    with running_pgbouncer(pool_size=1) as bouncer:
        first, second = _connect(bouncer, runtime), _connect(bouncer, runtime)
        try:
            first.execute("SELECT set_config('app.current_restaurant_id', '4242', false)")
            leaked = second.execute("SELECT current_setting('app.current_restaurant_id', true)").fetchone()[0]
            first.execute("BEGIN")
            first.execute("SELECT set_config('app.current_restaurant_id', '', false)")
            first.execute("SELECT set_config('app.current_restaurant_id', '77', true)")
            first.execute("COMMIT")
            local = second.execute("SELECT current_setting('app.current_restaurant_id', true)").fetchone()[0]
        finally:
            first.close()
            second.close()
    assert leaked == "4242"
    assert local == ""


def test_hundreds_of_logins_in_a_row_do_not_stall_it(django_db_blocker):
    """PgBouncer writes a line for every login and every close to its stderr as well as to its log.
    That stderr once went to a pipe nobody read: after some two hundred connections the pipe was
    full, PgBouncer's next write blocked, and with it every client (the bench's connections timed
    out). 600 connections, one after the other, each within its connect timeout."""
    runtime = connections["default"].settings_dict
    with running_pgbouncer(pool_size=2) as bouncer:
        for number in range(600):
            with _connect(bouncer, runtime) as conn:
                assert conn.execute("SELECT %s::int", [number]).fetchone()[0] == number
