"""The order path's serializers run on one shared instance each (fynlo.core.api `stateless`):
what they give must be exactly what a serializer made for the call gives, output and errors."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework import exceptions

from fynlo.core.api import represented, validated
from pos import selectors
from pos.serializers import OfflineOrderSerializer, OrderCreateSerializer, OrderSerializer
from tenants.context import Tenant, tenant_context
from tests.inventory.factories import ModifierGroupFactory, ModifierOptionFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_an_order_with_modifiers_payments_and_refunds_is_represented_as_a_fresh_serializer_does(api, shop):
    taco = ProductFactory(restaurant=shop.restaurant, name="Taco", price=Decimal("3.50"))
    group = ModifierGroupFactory(restaurant=shop.restaurant, products=[taco])
    option = ModifierOptionFactory(group=group, price_change=Decimal("0.75"))
    body = {"items": [{"product_id": taco.pk, "quantity": 2, "modifiers": [{"option_id": option.pk}],
                       "special_instructions": "no onion"}], "table_number": "4", "customer_name": "Ann"}
    created = api().post("/api/v1/orders/", body, format="json")
    assert created.status_code == 201, created.content
    order_id = created.json()["id"]
    payment = api().post(f"/api/v1/orders/{order_id}/payments/",
                         {"payment_method": "card", "amount": "5.00", "tip_amount": "1.00"}, format="json")
    assert payment.status_code == 201, payment.content
    refunded = api("manager").post(f"/api/v1/payments/{payment.json()['payment']['id']}/refunds/",
                                   {"amount": "2.00", "reason": "cold"}, format="json")
    assert refunded.status_code == 201, refunded.content

    fresh = OrderSerializer(_order(shop, order_id)).data
    shared = represented(OrderSerializer, _order(shop, order_id))
    assert shared == fresh
    assert shared["items"][0]["modifiers"] and shared["payments"][0]["refunds"] and shared["amount_refunded"] == "2.00"
    assert represented(OrderSerializer, _order(shop, order_id)) == fresh  # the shared instance again: the same
    assert api().get(f"/api/v1/orders/{order_id}/").json() == shared


def _order(shop, order_id):
    with tenant_context(restaurant=shop.restaurant.pk):
        return selectors.order_get(tenant=Tenant(restaurant_id=shop.restaurant.pk), order_id=order_id)


@pytest.mark.parametrize("serializer_class", [OrderCreateSerializer, OfflineOrderSerializer])
@pytest.mark.parametrize("data", [
    None,
    [],
    "text",
    {},
    {"items": []},
    {"items": "x"},
    {"items": [{"product_id": 0, "quantity": 1001}], "order_type": "boat", "discount_amount": "-1"},
    {"items": [{"product_id": 1, "quantity": 1, "modifiers": [{"option_id": 0, "quantity": 99}]}],
     "client_created_at": "2000-01-01T00:00:00Z", "client_reference": "nope", "table_number": "x" * 51},
    {"items": [{"product_id": "a"}] * 101},
])
def test_bad_input_gets_the_errors_a_fresh_serializer_gives(serializer_class, data):
    fresh = serializer_class(data=data)
    assert not fresh.is_valid()
    with pytest.raises(exceptions.ValidationError) as shared:
        validated(serializer_class, data)
    assert shared.value.detail == fresh.errors
    assert _codes(shared.value.detail) == _codes(fresh.errors)


def test_good_input_gets_the_values_a_fresh_serializer_gives():
    data = {"items": [{"product_id": 3, "quantity": 2, "special_instructions": "", "modifiers": [{"option_id": 4}]}],
            "table_number": "7", "discount_amount": "1.5"}
    fresh = OrderCreateSerializer(data=data)
    assert fresh.is_valid(), fresh.errors
    assert validated(OrderCreateSerializer, data) == dict(fresh.validated_data)
    assert validated(OrderCreateSerializer, data)["discount_amount"] == Decimal("1.50")


def _codes(detail):
    if isinstance(detail, dict):
        return {key: _codes(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_codes(value) for value in detail]
    return getattr(detail, "code", None)
