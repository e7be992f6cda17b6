"""Factories of the inventory app: the menu, stock and suppliers."""

from __future__ import annotations

from decimal import Decimal

import factory

from inventory.models import Category, InventoryItem, Product, Supplier
from tests.tenants.factories import RestaurantFactory, TenantFactory


class CategoryFactory(TenantFactory):
    class Meta:
        model = Category

    restaurant = factory.SubFactory(RestaurantFactory)
    name = factory.Sequence(lambda n: f"Category {n}")
    display_order = factory.Sequence(lambda n: n)


class ProductFactory(TenantFactory):
    class Meta:
        model = Product

    restaurant = factory.SubFactory(RestaurantFactory)
    category = factory.SubFactory(CategoryFactory, restaurant=factory.SelfAttribute("..restaurant"))
    name = factory.Sequence(lambda n: f"Product {n}")
    price = Decimal("5.00")
    cost = Decimal("2.00")
    sku = factory.Sequence(lambda n: f"SKU-{n}")
    is_active = True
    available_in_pos = True
    track_inventory = False


class SupplierFactory(TenantFactory):
    class Meta:
        model = Supplier

    restaurant = factory.SubFactory(RestaurantFactory)
    name = factory.Sequence(lambda n: f"Supplier {n}")
    email = factory.Sequence(lambda n: f"orders{n}@supplier.test")


class InventoryItemFactory(TenantFactory):
    """Stock of a product that tracks inventory."""

    class Meta:
        model = InventoryItem

    restaurant = factory.SubFactory(RestaurantFactory)
    product = factory.SubFactory(ProductFactory, track_inventory=True, restaurant=factory.SelfAttribute("..restaurant"))
    current_stock = Decimal("10")
    reorder_point = Decimal("3")
    unit_cost = Decimal("2.00")
