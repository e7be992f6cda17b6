"""Factories for staff rows and for the sales that the daily report reads. Children take their
parent's restaurant; rows are written in the operations scope like tests.factories'."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory

from pos.models import Order, OrderItem, OrderStatus, Payment, PaymentMethod, PaymentStatus
from staff.models import Employee, EmployeeRole, Schedule, Shift, TimeTracking
from tenants.models import UserRole
from tests.factories import RestaurantFactory, TenantFactory, UserFactory
from tests.factories_pos import ProductFactory


class EmployeeRoleFactory(TenantFactory):
    class Meta:
        model = EmployeeRole

    restaurant = factory.SubFactory(RestaurantFactory)
    name = factory.Sequence(lambda n: f"Role {n}")
    hourly_rate = Decimal("11.00")


class EmployeeFactory(TenantFactory):
    class Meta:
        model = Employee

    restaurant = factory.SubFactory(RestaurantFactory)
    user = factory.SubFactory(UserFactory, restaurant=factory.SelfAttribute("..restaurant"), role=UserRole.CASHIER)
    employee_number = factory.Sequence(lambda n: f"E{n:04d}")
    hire_date = datetime.date(2024, 1, 1)
    hourly_rate = Decimal("12.00")


class ScheduleFactory(TenantFactory):
    class Meta:
        model = Schedule

    restaurant = factory.SubFactory(RestaurantFactory)
    name = factory.Sequence(lambda n: f"Week {n}")
    week_start = datetime.date(2025, 3, 3)
    week_end = factory.LazyAttribute(lambda o: o.week_start + datetime.timedelta(days=6))


class ShiftFactory(TenantFactory):
    class Meta:
        model = Shift

    schedule = factory.SubFactory(ScheduleFactory)
    restaurant = factory.SelfAttribute("schedule.restaurant")
    employee = factory.SubFactory(EmployeeFactory, restaurant=factory.SelfAttribute("..restaurant"))
    shift_date = factory.SelfAttribute("schedule.week_start")
    start_time = datetime.time(9, 0)
    end_time = datetime.time(17, 0)


class TimeEntryFactory(TenantFactory):
    class Meta:
        model = TimeTracking

    employee = factory.SubFactory(EmployeeFactory)
    restaurant = factory.SelfAttribute("employee.restaurant")
    clock_in = factory.LazyFunction(lambda: datetime.datetime(2025, 3, 3, 9, 0, tzinfo=datetime.timezone.utc))


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
