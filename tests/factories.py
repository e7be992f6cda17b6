"""factory-boy factories. Rows are written as the runtime role, in the operations scope
(all tenants), the way operations staff create platforms and restaurants; children take
their parent's restaurant."""

from __future__ import annotations

from decimal import Decimal

import factory

from tenants.context import tenant_context
from tenants.models import Platform, Restaurant, User, UserRole


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
