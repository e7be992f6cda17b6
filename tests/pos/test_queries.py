"""Placing an order, taking a payment, reading and listing orders: a fixed number of statements
whatever the order's size. Statements per request are capacity (DESIGN.md "Past one server").

The order and payment counts are taken end to end, in the request's own transaction as in
production (a test's outer transaction would add a savepoint and a tenant read and restore)."""

from __future__ import annotations

import datetime
import tempfile
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from psycopg import pq
from rest_framework.test import APIClient

from tenants.services import api_token_create
from tests.inventory.factories import (
    InventoryItemFactory,
    ModifierGroupFactory,
    ModifierOptionFactory,
    ProductFactory,
)
from tests.pos.helpers import place
from tests.tenants.factories import make_shop

pytestmark = pytest.mark.django_db

END_TO_END = pytest.mark.django_db(transaction=True, databases=["default", "owner"])
AT_MOST = 12  # issue 18: an order of 5 items with a key, a token and tracked stock
# Round trips: what each request waits on the database for (behind PgBouncer, each one goes
# through its single process). Statements that need nothing of each other's results go in one
# (fynlo.core.postgresql `defer`): the round trip each statement below goes in.
ORDER_ROUND_TRIPS = [
    0, 0,  # BEGIN with the token
    # the tenant (set only after the token was checked) and the key's claim, in front of the reads: the
    # modifier groups, the products with their stock locked, the rates (the claim is checked before any write)
    1, 1, 1, 1, 1,
    2,  # the order (its id is the stock movements')
    3, 3, 3,  # the stock, the key's response, COMMIT
]
# ... the tenant and the key with the rate and the order's lock; the payment; the key's response with COMMIT
PAYMENT_ROUND_TRIPS = [0, 0, 1, 1, 1, 1, 2, 3, 3]

# POST orders/ with an Idempotency-Key, a token and tracked stock, in order: a piece of each
# statement, and what it is.
ORDER_STATEMENTS = [
    ("BEGIN", "the request's transaction (TenantMiddleware)"),
    ("fynlo_identity_by_token", "the token, its user's row and the restaurant's is_active, in one"),
    ("set_config", "the tenant, transaction-local; nothing read back"),
    ("INSERT INTO idempotency_keys", "the key, insert-first (ON CONFLICT: a retry replays)"),
    ("product_modifier_groups", "the products' modifier groups (the options chosen: one more, when any)"),
    ("FOR UPDATE", "the products and their stock rows, the stock locked in primary-key order"),
    ("restaurant_settings", "the VAT and service charge rates"),
    ("INSERT INTO order_number_counters", "the day's number, the order (who served it) and its items, in one"),
    ("UPDATE inventory_items", "the stock and its movements, in one"),
    ('UPDATE "idempotency_keys"', "the response, kept for retries"),
    ("COMMIT", "(no re-read: the response is built from what was written)"),
]

# POST orders/{id}/payments/ with an Idempotency-Key and a token.
PAYMENT_STATEMENTS = [
    ("BEGIN", "the request's transaction"),
    ("fynlo_identity_by_token", "the token, its user's row and the restaurant's is_active"),
    ("set_config", "the tenant"),
    ("INSERT INTO idempotency_keys", "the key"),
    ("restaurant_subscriptions", "the restaurant with its commission rate (subscription, plan, tier)"),
    ("FOR UPDATE", "the order, locked, with what its payments took so far (and, for cash naming no till, "
                   "whether any drawer is open)"),
    ("INSERT INTO \"commission_records\"", "the commission, the payment and the order's status and version, in one"),
    ('UPDATE "idempotency_keys"', "the response"),
    ("COMMIT", ""),
]


def statements(call) -> list[str]:
    """The SQL of each statement one request sends (it must succeed)."""
    return statements_and_round_trips(call)[0]


def statements_and_round_trips(call) -> tuple[list[str], list[str]]:
    """The SQL of each statement one request sends (it must succeed), and the round trips they
    took: what libpq's protocol trace shows the connection sending (a simple query, one or several
    statements, or an extended one's Sync: each one wait for the database's answer), as
    `bench orders_api` counts them."""
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile("w+") as trace, CaptureQueriesContext(connection) as captured:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            response = call()
        finally:
            pgconn.untrace()
        trace.seek(0)
        round_trips = [line.split("\t", 3)[-1] for line in trace if line.startswith("F") and ("\tQuery\t" in line or "\tSync" in line)]
    assert response.status_code in (200, 201), response.content
    return [query["sql"] for query in captured.captured_queries], round_trips


def assert_statements(sent: list[str], expected: list[tuple[str, str]]) -> None:
    assert len(sent) == len(expected), "\n".join(sent)
    for sql, (piece, what) in zip(sent, expected):
        assert piece in sql, f"expected {what} ({piece!r}), got: {sql[:300]}"


def assert_round_trips(messages: list[str], expected: list[tuple[str, str]], trips: list[int]) -> None:
    """Each statement (a piece of it) in the round trip it should go in, and no more round trips."""
    assert len(messages) == max(trips) + 1, "\n".join(message[:200] for message in messages)
    for (piece, what), trip in zip(expected, trips, strict=True):
        assert piece in messages[trip], f"expected {what} ({piece!r}) in round trip {trip}: {messages[trip][:300]}"


def till(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user)}")
    return client


def lines(products, quantity=1) -> dict:
    return {"order_type": "dine_in", "items": [{"product_id": p.pk, "quantity": quantity} for p in products]}


@END_TO_END
def test_placing_an_order_is_eleven_statements_for_1_5_or_20_items():
    # given a till of a restaurant with twenty products, half of them tracked with stock
    shop = make_shop()
    products = [
        InventoryItemFactory(restaurant=shop.restaurant, current_stock=Decimal("100")).product if index % 2
        else ProductFactory(restaurant=shop.restaurant)
        for index in range(20)
    ]
    client = till(shop["cashier"])

    # when orders of 1, 5 and 20 items are placed, each with its Idempotency-Key
    sent = {
        count: statements_and_round_trips(lambda: client.post(
            "/api/v1/orders/", lines(products[1:count + 1] if count < 20 else products), format="json",
            HTTP_IDEMPOTENCY_KEY=f"order-of-{count}",
        ))
        for count in (1, 5, 20)
    }

    # then each is the same eleven statements, in the same round trips
    assert len(ORDER_STATEMENTS) <= AT_MOST
    for sql, round_trips in sent.values():
        assert_statements(sql, ORDER_STATEMENTS)
        assert_round_trips(round_trips, ORDER_STATEMENTS, ORDER_ROUND_TRIPS)


@END_TO_END
def test_an_order_whose_lines_choose_modifiers_is_one_statement_more():
    shop = make_shop()
    burrito = InventoryItemFactory(restaurant=shop.restaurant, current_stock=Decimal("100")).product
    guacamole = InventoryItemFactory(restaurant=shop.restaurant, current_stock=Decimal("100"))
    extras = ModifierGroupFactory(restaurant=shop.restaurant, name="Extras", allow_repeat=True, products=[burrito])
    option = ModifierOptionFactory(group=extras, name="Guacamole", inventory_item=guacamole)
    body = {"items": [{"product_id": burrito.pk, "quantity": 2, "modifiers": [{"option_id": option.pk, "quantity": 2}]}]}

    client = till(shop["cashier"])

    sent, round_trips = statements_and_round_trips(
        lambda: client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="guac")
    )

    assert len(sent) == len(ORDER_STATEMENTS) + 1 <= AT_MOST, "\n".join(sent)
    assert "modifier_options" in sent[5] and "FOR UPDATE" in sent[6], "\n".join(sent)
    # the options are read with the groups (their stock is locked with the products'): one round trip more
    assert_round_trips(
        round_trips, [*ORDER_STATEMENTS[:5], ("modifier_options", "the options chosen"), *ORDER_STATEMENTS[5:]],
        [0, 0, 1, 1, 1, 1, 2, 2, 3, 4, 4, 4],
    )


@END_TO_END
def test_an_order_with_a_client_reference_is_three_statements_more():
    # given a till that names its sale (an offline till's order, or one it may send again)
    shop = make_shop()
    product = InventoryItemFactory(restaurant=shop.restaurant, current_stock=Decimal("100")).product
    client = till(shop["cashier"])
    sold_at = timezone.now() - datetime.timedelta(hours=1)
    body = {**lines([product]), "client_reference": str(uuid.uuid4()), "client_created_at": sold_at.isoformat()}

    # when it is placed
    placed = {}
    sent = statements(lambda: placed.setdefault("response", client.post(
        "/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="named",
    )))

    # then the reference is looked up, and the order is placed in a savepoint of its own (a racing
    # second send waits on the unique index and is answered with the first's order, not an error)
    assert_statements(sent, [
        *ORDER_STATEMENTS[:4], ("client_reference", "an order with this reference already?"),
        ("SAVEPOINT", "the order's own"), *ORDER_STATEMENTS[4:9], ("RELEASE SAVEPOINT", ""), *ORDER_STATEMENTS[9:],
    ])
    # and answered as written, the device's time and the server's as a read gives them
    answered = placed["response"].json()
    assert answered == client.get(f"/api/v1/orders/{answered['id']}/").json()
    assert answered["created_at"] != answered["received_at"] and answered["oversold_offline"] is False


@END_TO_END
def test_the_order_and_the_payment_answer_what_a_read_of_them_answers():
    # given (the responses are built from what was written, not read again)
    shop = make_shop()
    tracked = InventoryItemFactory(restaurant=shop.restaurant, current_stock=Decimal("10")).product
    plain = ProductFactory(restaurant=shop.restaurant, price=Decimal("3.45"))
    client = till(shop["cashier"])

    placed = client.post("/api/v1/orders/", {**lines([tracked, plain], 2), "table_number": "7",
                                             "customer_name": "Ada", "discount_amount": "0.40"}, format="json")
    assert placed.status_code == 201, placed.content
    read = client.get(f"/api/v1/orders/{placed.json()['id']}/")
    assert placed.json() == read.json()
    assert placed.headers["ETag"] == read.headers["ETag"]

    paid = client.post(f"/api/v1/orders/{placed.json()['id']}/payments/",
                       {"payment_method": "cash", "amount": "5.00", "tendered": "20.00"}, format="json")
    assert paid.status_code == 201, paid.content
    after = client.get(f"/api/v1/orders/{placed.json()['id']}/").json()
    assert paid.json()["payment"] == after["payments"][0]
    assert {key: paid.json()["order"][key] for key in ("status", "version", "total_amount", "amount_paid")} == {
        key: after[key] for key in ("status", "version", "total_amount", "amount_paid")
    }


@END_TO_END
def test_taking_a_payment_is_nine_statements_whatever_the_order_holds():
    shop = make_shop()
    products = [InventoryItemFactory(restaurant=shop.restaurant, current_stock=Decimal("100")).product for _ in range(20)]
    client = till(shop["cashier"])
    small = client.post("/api/v1/orders/", lines(products[:1]), format="json").json()
    big = client.post("/api/v1/orders/", lines(products), format="json").json()

    sent = [
        statements_and_round_trips(lambda: client.post(
            f"/api/v1/orders/{order['id']}/payments/", body, format="json",
            HTTP_IDEMPOTENCY_KEY=f"pay-{order['id']}-{body['payment_method']}",
        ))
        for order, body in (
            (small, {"payment_method": "card", "amount": "1.00"}),
            (big, {"payment_method": "cash", "amount": "1.00", "tendered": "5.00"}),
            (big, {"payment_method": "card", "amount": str(Decimal(big["total_amount"]) - 1)}),  # paid: completed
        )
    ]

    for sql, round_trips in sent:
        assert_statements(sql, PAYMENT_STATEMENTS)
        assert_round_trips(round_trips, PAYMENT_STATEMENTS, PAYMENT_ROUND_TRIPS)


@END_TO_END
def test_cash_at_a_till_with_its_drawer_open_is_one_statement_more():
    # given a till whose cash drawer is open, and an order
    shop = make_shop()
    client = till(shop["cashier"])
    order = client.post("/api/v1/orders/", lines([ProductFactory(restaurant=shop.restaurant)]), format="json").json()
    drawer = client.post("/api/v1/drawers/", {"device_id": "Till 1", "opening_float": "100.00"}, format="json").json()

    # when cash is taken at that till
    sent = statements(lambda: client.post(
        f"/api/v1/orders/{order['id']}/payments/",
        {"payment_method": "cash", "amount": "1.00", "tendered": "5.00", "device_id": "Till 1"}, format="json",
        HTTP_IDEMPOTENCY_KEY="cash-at-till-1",
    ))

    # then the drawer is locked first (pos.drawers: drawer, then order), the rest is the card's nine
    assert_statements(sent, [
        *PAYMENT_STATEMENTS[:4], ("drawer_sessions", "the till's open drawer, locked before the order"),
        *PAYMENT_STATEMENTS[4:],
    ])
    assert "FOR UPDATE" in sent[4] and "drawer_sessions" not in sent[5], "\n".join(sent)
    assert client.get(f"/api/v1/drawers/{drawer['id']}/").json()["cash_taken"] == "1.00"


@pytest.fixture
def products(shop):
    """Twenty products, half of them tracked with stock."""
    made = []
    for index in range(20):
        if index % 2:
            made.append(InventoryItemFactory(restaurant=shop.restaurant, current_stock=Decimal("100")).product)
        else:
            made.append(ProductFactory(restaurant=shop.restaurant))
    return made


def test_an_order_inside_an_outer_transaction_costs_the_same_for_1_or_20_items(api, products, count_queries):
    client = api()
    baseline = count_queries(lambda: client.get("/api/v1/auth/me"))  # authentication and tenant, no work

    one = count_queries(lambda: place(client, [(products[1], 1)]))
    twenty = count_queries(lambda: place(client, [(product, 2) for product in products]))
    keyed = count_queries(lambda: client.post(
        "/api/v1/orders/", {"items": [{"product_id": p.pk, "quantity": 1} for p in products]}, format="json",
        HTTP_IDEMPOTENCY_KEY="count-me",
    ))

    assert one == twenty
    # the modifier groups, the products with their stock locked, the rates, the number with the
    # order and items, the stock with its movements (ORDER_STATEMENTS without the key)
    assert one - baseline == 5
    assert keyed == twenty + 2  # the key's record: insert and update


def test_order_detail_and_list_cost_the_same_queries_for_1_or_20_items(api, products, count_queries):
    client = api()
    baseline = count_queries(lambda: client.get("/api/v1/auth/me"))
    small = place(client, [(products[0], 1)]).json()
    client.post(f"/api/v1/orders/{small['id']}/payments/", {"payment_method": "cash", "amount": "1.00"}, format="json")
    big = place(client, [(product, 1) for product in products]).json()
    for amount in ("1.00", "2.00"):
        client.post(f"/api/v1/orders/{big['id']}/payments/", {"payment_method": "card", "amount": amount}, format="json")

    small_detail = count_queries(lambda: client.get(f"/api/v1/orders/{small['id']}/"))
    big_detail = count_queries(lambda: client.get(f"/api/v1/orders/{big['id']}/"))
    one_order = count_queries(lambda: client.get("/api/v1/orders/", {"page_size": 1, "status": "confirmed"}))
    for _ in range(8):
        place(client, [(product, 1) for product in products])
    ten_orders = count_queries(lambda: client.get("/api/v1/orders/"))

    # orders, items (with products), payments, refunds
    assert small_detail == big_detail == baseline + 4
    assert one_order == ten_orders == baseline + 4
