"""Factories of the inventory app: the menu, stock and suppliers."""

from __future__ import annotations

from decimal import Decimal

import factory

from inventory.models import (
    Category,
    InventoryItem,
    ModifierGroup,
    ModifierOption,
    Product,
    ProductModifierGroup,
    Supplier,
)
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


class ModifierGroupFactory(TenantFactory):
    """A modifier group; `products=[...]` offers it with those products."""

    class Meta:
        model = ModifierGroup
        skip_postgeneration_save = True

    restaurant = factory.SubFactory(RestaurantFactory)
    name = factory.Sequence(lambda n: f"Group {n}")
    min_selected = 0
    max_selected = None
    allow_repeat = False

    @factory.post_generation
    def products(self, create, extracted, **kwargs):
        for product in extracted or ():
            ProductModifierGroupFactory(restaurant=self.restaurant, product=product, group=self)


class ProductModifierGroupFactory(TenantFactory):
    class Meta:
        model = ProductModifierGroup

    restaurant = factory.SubFactory(RestaurantFactory)
    product = factory.SubFactory(ProductFactory, restaurant=factory.SelfAttribute("..restaurant"))
    group = factory.SubFactory(ModifierGroupFactory, restaurant=factory.SelfAttribute("..restaurant"))


class ModifierOptionFactory(TenantFactory):
    class Meta:
        model = ModifierOption

    group = factory.SubFactory(ModifierGroupFactory)
    restaurant = factory.SelfAttribute("group.restaurant")
    name = factory.Sequence(lambda n: f"Option {n}")
    price_change = Decimal("0.50")
