"""Factories of the tenants app, and the base of every app's factories: rows are written as the
runtime role, in the operations scope (all tenants), the way operations staff create platforms
and restaurants; children take their parent's restaurant."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import factory

from tenants.context import tenant_context
from tenants.models import Platform, Restaurant, RestaurantSetting, User, UserRole


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with tenant_context(all_tenants=True):
            return super()._create(model_class, *args, **kwargs)


class PlatformFactory(TenantFactory):
    class Meta:
        model = Platform

    name = factory.Sequence(lambda n: f"Platform {n}")
    slug = factory.Sequence(lambda n: f"platform-{n}")
    owner_email = factory.Sequence(lambda n: f"owner{n}@platform.test")


class RestaurantFactory(TenantFactory):
    class Meta:
        model = Restaurant

    platform = factory.SubFactory(PlatformFactory)
    name = factory.Sequence(lambda n: f"Restaurant {n}")
    slug = factory.Sequence(lambda n: f"restaurant-{n}")
    monthly_revenue = Decimal("0.00")


class UserFactory(TenantFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    restaurant = factory.SubFactory(RestaurantFactory)
    platform = factory.LazyAttribute(lambda o: o.restaurant.platform if o.restaurant else None)
    email = factory.Sequence(lambda n: f"user{n}@restaurant.test")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    role = UserRole.MANAGER
    password = factory.django.Password("correct horse battery staple")


class PlatformOwnerFactory(UserFactory):
    restaurant = None
    platform = factory.SubFactory(PlatformFactory)
    role = UserRole.PLATFORM_OWNER


class RestaurantSettingFactory(TenantFactory):
    class Meta:
        model = RestaurantSetting

    restaurant = factory.SubFactory(RestaurantFactory)
    setting_key = "vat_rate"
    setting_value = "20.00"
    setting_type = "number"


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
