"""The menu and stock lists run a fixed number of queries whatever their length."""

from __future__ import annotations

import pytest

from tests.inventory.factories import CategoryFactory, InventoryItemFactory, SupplierFactory

pytestmark = pytest.mark.django_db


def test_menu_and_stock_lists_cost_the_same_queries_for_1_or_20_rows(api, shop, count_queries):
    client = api("manager")
    InventoryItemFactory(restaurant=shop.restaurant)
    SupplierFactory(restaurant=shop.restaurant)
    paths = ["/api/v1/categories/", "/api/v1/products/", "/api/v1/inventory/items/", "/api/v1/inventory/suppliers/",
             "/api/v1/inventory/restock-orders/"]
    before = {path: count_queries(lambda: client.get(path)) for path in paths}
    for _ in range(19):
        InventoryItemFactory(restaurant=shop.restaurant, product__category=CategoryFactory(restaurant=shop.restaurant))
        SupplierFactory(restaurant=shop.restaurant)

    after = {path: count_queries(lambda: client.get(path)) for path in paths}

    assert after == before
