"""factory-boy factories for the menu, stock and suppliers (written in the operations scope,
like tests.factories); children take their parent's restaurant."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

import factory

from billing.models import RestaurantSubscription, SubscriptionPlan
from inventory.models import Category, InventoryItem, Product, Supplier
from tenants.models import Restaurant, RestaurantSetting, User, UserRole
from tests.factories import RestaurantFactory, TenantFactory, UserFactory


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


class RestaurantSettingFactory(TenantFactory):
    class Meta:
        model = RestaurantSetting

    restaurant = factory.SubFactory(RestaurantFactory)
    setting_key = "vat_rate"
    setting_value = "20.00"
    setting_type = "number"


class SubscriptionPlanFactory(TenantFactory):
    class Meta:
        model = SubscriptionPlan

    platform = factory.SubFactory("tests.factories.PlatformFactory")
    name = "premium"
    commission_rate = Decimal("6.00")
    service_fee_rate = Decimal("12.50")


class RestaurantSubscriptionFactory(TenantFactory):
    class Meta:
        model = RestaurantSubscription

    restaurant = factory.SubFactory(RestaurantFactory)
    plan = factory.SubFactory(SubscriptionPlanFactory, platform=factory.SelfAttribute("..restaurant.platform"))
    start_date = factory.LazyFunction(lambda: datetime.date.today() - datetime.timedelta(days=30))
    commission_rate = factory.SelfAttribute("plan.commission_rate")


STAFF_ROLES = [UserRole.RESTAURANT_OWNER, UserRole.MANAGER, UserRole.CASHIER, UserRole.SERVER, UserRole.COOK]


@dataclass
class Shop:
    """A restaurant with one user of each staff role."""

    restaurant: Restaurant
    users: dict[str, User]

    def __getitem__(self, role: str) -> User:
        return self.users[role]


def make_shop(**restaurant_fields) -> Shop:
    restaurant = RestaurantFactory(**restaurant_fields)
    return Shop(restaurant=restaurant, users={role: UserFactory(restaurant=restaurant, role=role) for role in STAFF_ROLES})
