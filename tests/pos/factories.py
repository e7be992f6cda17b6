"""Factories of the pos app: orders, their lines and payments."""

from __future__ import annotations

from decimal import Decimal

import factory

from pos.models import Order, OrderItem, OrderStatus, Payment, PaymentMethod, PaymentStatus
from tests.inventory.factories import ProductFactory
from tests.tenants.factories import RestaurantFactory, TenantFactory


class OrderFactory(TenantFactory):
    class Meta:
        model = Order

    restaurant = factory.SubFactory(RestaurantFactory)
    order_number = factory.Sequence(lambda n: f"ORD-T-{n:06d}")
    status = OrderStatus.COMPLETED
    total_amount = Decimal("10.00")
    subtotal = factory.SelfAttribute("total_amount")


class OrderItemFactory(TenantFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    restaurant = factory.SelfAttribute("order.restaurant")
    product = factory.SubFactory(ProductFactory, restaurant=factory.SelfAttribute("..restaurant"))
    quantity = 1
    unit_price = factory.SelfAttribute("product.price")
    total_price = factory.LazyAttribute(lambda o: o.unit_price * o.quantity)


class PaymentFactory(TenantFactory):
    class Meta:
        model = Payment

    order = factory.SubFactory(OrderFactory)
    restaurant = factory.SelfAttribute("order.restaurant")
    payment_method = PaymentMethod.CARD
    amount = factory.SelfAttribute("order.total_amount")
    status = PaymentStatus.COMPLETED
