"""The orders and stock endpoints are in the OpenAPI schema, with the shapes clients rely on."""

from __future__ import annotations

import pytest

PATHS = {
    "/api/v1/categories/": {"get", "post"},
    "/api/v1/categories/{category_id}/": {"get", "patch"},
    "/api/v1/products/": {"get", "post"},
    "/api/v1/products/{product_id}/": {"get", "patch", "delete"},
    "/api/v1/products/{product_id}/image": {"post"},
    "/api/v1/orders/": {"get", "post"},
    "/api/v1/orders/sync/": {"post"},
    "/api/v1/orders/{order_id}/": {"get", "patch"},
    "/api/v1/orders/{order_id}/status/": {"post"},
    "/api/v1/orders/{order_id}/payments/": {"post"},
    "/api/v1/orders/{order_id}/receipt": {"post"},
    "/api/v1/payments/{payment_id}/refunds/": {"post"},
    "/api/v1/drawers/": {"get", "post"},
    "/api/v1/drawers/{drawer_id}/": {"get"},
    "/api/v1/drawers/{drawer_id}/close/": {"post"},
    "/api/v1/drawers/{drawer_id}/entries/": {"post"},
    "/api/v1/reports/x/": {"get"},
    "/api/v1/reports/z/": {"get", "post"},
    "/api/v1/reports/z/{z_report_id}/": {"get"},
    "/api/v1/modifier-groups/": {"get", "post"},
    "/api/v1/modifier-groups/{group_id}/": {"get", "patch", "delete"},
    "/api/v1/modifier-groups/{group_id}/options/": {"post"},
    "/api/v1/modifier-options/{option_id}/": {"get", "patch", "delete"},
    "/api/v1/inventory/items/": {"get"},
    "/api/v1/inventory/items/{item_id}/": {"get", "patch"},
    "/api/v1/inventory/items/{item_id}/adjust/": {"post"},
    "/api/v1/inventory/suppliers/": {"get", "post"},
    "/api/v1/inventory/suppliers/{supplier_id}/": {"get", "patch"},
    "/api/v1/inventory/restock-orders/": {"get", "post"},
    "/api/v1/inventory/restock-orders/{restock_order_id}/": {"get"},
    "/api/v1/inventory/restock-orders/{restock_order_id}/receive/": {"post"},
}


@pytest.fixture(scope="module")
def schema():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def test_every_endpoint_is_documented(schema):
    documented = {path: set(schema["paths"].get(path, {})) - {"parameters"} for path in PATHS}

    assert documented == PATHS


def test_an_order_takes_no_totals_and_the_writes_take_an_idempotency_key(schema):
    create = schema["components"]["schemas"]["OrderCreate"]["properties"]
    assert set(create) == {
        "order_type", "table_number", "customer_name", "items", "discount_amount", "client_reference",
        "client_created_at",
    }
    for path in ("/api/v1/orders/", "/api/v1/orders/{order_id}/payments/", "/api/v1/payments/{payment_id}/refunds/"):
        headers = [p["name"] for p in schema["paths"][path]["post"]["parameters"] if p["in"] == "header"]
        assert headers == ["Idempotency-Key"], path


def test_money_is_a_decimal_string(schema):
    order = schema["components"]["schemas"]["Order"]["properties"]

    for name in ("subtotal", "tax_amount", "service_charge", "discount_amount", "total_amount", "amount_paid"):
        assert order[name]["type"] == "string" and order[name]["format"] == "decimal", name
