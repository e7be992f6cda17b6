"""`manage.py seed_demo`: the guide's demo restaurant, deterministic, idempotent, RLS-safe."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import DecimalField
from django.utils import timezone

from billing.models import CommissionRecord, RestaurantSubscription, SubscriptionPlan
from fynlo.core.money import percent_of
from fynlo.demo.seed import DEFAULT_DEMO_PASSWORD, demo_seed
from inventory.models import (
    Category,
    InventoryItem,
    ModifierGroup,
    ModifierOption,
    Product,
    ProductModifierGroup,
    Supplier,
)
from pos.models import Order, OrderItem, Payment
from staff.models import Employee
from tenants.context import tenant_context
from tenants.models import Platform, Restaurant, RestaurantSetting, User, UserRole
from tests.tenants.factories import RestaurantFactory, UserFactory

SEEDED_MODELS = [
    Platform, SubscriptionPlan, Restaurant, RestaurantSubscription, RestaurantSetting, Category, Product,
    ModifierGroup, ModifierOption, ProductModifierGroup, Supplier, InventoryItem, User, Employee, Order, OrderItem, Payment, CommissionRecord,
]


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    """Every row of every seeded table, as (table, id) -> field values."""
    rows = {}
    with tenant_context(all_tenants=True):
        for model in SEEDED_MODELS:
            names = [f.attname for f in model._meta.concrete_fields]
            for values in model.objects.values_list(*names):
                rows[(model._meta.db_table, values[0])] = values
    return rows


def counts() -> dict[str, int]:
    with tenant_context(all_tenants=True):
        return {model._meta.db_table: model.objects.count() for model in SEEDED_MODELS}


@pytest.fixture(autouse=True)
def no_password_in_the_environment(monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)


@pytest.fixture
def seeded(db):
    seed()
    return seed()


@pytest.mark.django_db
def test_seeding_twice_leaves_exactly_the_guides_demo(seeded):
    # given / when: the fixture has seeded twice
    # then
    rows = counts()
    order_items = rows.pop("order_items")
    assert rows == {
        "platforms": 1, "subscription_plans": 3, "restaurants": 1, "restaurant_subscriptions": 1,
        "restaurant_settings": 2, "categories": 6, "products": 20, "modifier_groups": 3, "modifier_options": 12,
        "product_modifier_groups": 5, "suppliers": 4, "inventory_items": 20,
        "users": 8, "employees": 6, "orders": 20, "payments": 20, "commission_records": 20,
    }
    assert 20 <= order_items <= 80  # 1-4 lines per order
    assert re.search(r"^orders +created 0, existing 20$", seeded, re.MULTILINE)
    with tenant_context(all_tenants=True):
        restaurant = Restaurant.objects.get()
        assert (restaurant.platform.slug, restaurant.slug) == ("fynlo", "fynlo-mexican")
        plans = {p.name: (p.commission_rate, p.service_fee_rate, p.monthly_fee, p.max_restaurants)
                 for p in SubscriptionPlan.objects.all()}
        assert plans == {
            "basic": (Decimal("8.00"), Decimal("12.50"), Decimal("0.00"), 10),
            "premium": (Decimal("6.00"), Decimal("12.50"), Decimal("49.99"), 50),
            "enterprise": (Decimal("4.00"), Decimal("12.50"), Decimal("199.99"), None),
        }
        assert RestaurantSubscription.objects.get().plan.name == "basic"
        barbacoa = Product.objects.get(sku="FYNLO-BARBACOA-DE-RES")
        assert (barbacoa.category.name, barbacoa.price, barbacoa.cost) == ("Tacos", Decimal("3.50"), Decimal("1.85"))
        owner = User.objects.get(email="admin@fynlo.com")
        assert (owner.role, owner.restaurant_id, owner.platform_id) == (
            UserRole.PLATFORM_OWNER, None, restaurant.platform_id)
        assert sorted(Employee.objects.values_list("employee_number", flat=True)) == [
            f"EMP{n}" for n in range(1001, 1007)]
        assert Employee.objects.get(employee_number="EMP1001").user.email == "manager@demo.com"
        restaurant_owner = User.objects.get(email="owner@demo.com")
        assert (restaurant_owner.role, restaurant_owner.restaurant_id) == (UserRole.RESTAURANT_OWNER, restaurant.pk)


@pytest.mark.django_db
def test_order_totals_follow_the_rounding_rule_and_match_payments_and_commission(seeded):
    with tenant_context(all_tenants=True):
        orders = list(Order.objects.prefetch_related("items", "payments").order_by("order_number"))
        commissions = {c.order_id: c for c in CommissionRecord.objects.all()}
    assert [o.order_number for o in orders] == [f"FYN-DEMO-{n:04d}" for n in range(1, 21)]
    for order in orders:
        items = list(order.items.all())
        assert 1 <= len(items) <= 4 and order.items_count == len(items)
        for item in items:
            assert item.total_price == item.unit_price * item.quantity
        subtotal = sum((item.total_price for item in items), Decimal("0.00"))
        tax, service = percent_of(subtotal, Decimal("20")), percent_of(subtotal, Decimal("12.5"))
        assert (order.subtotal, order.tax_amount, order.service_charge, order.discount_amount) == (
            subtotal, tax, service, Decimal("0.00"))
        assert (order.total_amount, order.status) == (subtotal + tax + service, "completed")
        (payment,) = order.payments.all()
        assert (payment.amount, payment.status, payment.commission_rate) == (
            order.total_amount, "completed", Decimal("8.00"))
        assert payment.commission_amount == percent_of(order.total_amount, Decimal("8"))
        assert payment.payment_method in {"card", "cash", "apple_pay"}
        commission = commissions[order.pk]
        assert (commission.gross_amount, commission.commission_amount) == (
            order.total_amount, payment.commission_amount)


@pytest.mark.django_db
def test_every_money_value_is_a_two_place_decimal(seeded):
    with tenant_context(all_tenants=True):
        for model in SEEDED_MODELS:
            money = [f.attname for f in model._meta.concrete_fields
                     if isinstance(f, DecimalField) and f.decimal_places == 2]
            for row in model.objects.values(*money) if money else []:
                for name, value in row.items():
                    if value is not None:
                        assert isinstance(value, Decimal), (model, name, value)
                        assert value.as_tuple().exponent == -2, (model, name, value)


@pytest.mark.django_db
def test_a_second_run_changes_no_row():
    # given
    seed()
    before = snapshot()
    # when
    out = seed()
    # then
    assert snapshot() == before
    assert "0 rows created" in out


def demo_values(today: date) -> dict:
    """What a fresh run on `today` writes, by natural key; rolled back afterwards."""
    with transaction.atomic():
        demo_seed(today=today)
        with tenant_context(all_tenants=True):
            values = {
                "inventory": sorted(InventoryItem.objects.values_list(
                    "product__sku", "supplier__name", "current_stock", "minimum_stock", "maximum_stock",
                    "unit_cost", "turnover_rate", "wastage_rate", "last_restocked")),
                "employees": sorted(Employee.objects.values_list("employee_number", "user__email", "hire_date")),
                "orders": sorted(Order.objects.values_list(
                    "order_number", "created_at", "order_type", "table_number", "served_by__employee_number",
                    "total_amount", "payments__payment_method")),
                "lines": sorted(OrderItem.objects.values_list("order__order_number", "product__sku", "quantity")),
            }
        transaction.set_rollback(True)
    return values


@pytest.mark.django_db
def test_the_data_is_the_same_for_the_same_seed_and_day():
    assert demo_values(date(2025, 3, 1)) == demo_values(date(2025, 3, 1))
    assert demo_values(date(2025, 3, 1))["orders"] != demo_values(date(2025, 3, 2))["orders"]


@pytest.mark.django_db
def test_orders_lie_in_the_last_week_and_not_in_the_future(seeded):
    with tenant_context(all_tenants=True):
        times = list(Order.objects.values_list("created_at", flat=True))
    now = timezone.now()
    assert all(now - timedelta(days=8) < t < now for t in times)


@pytest.mark.django_db
def test_demo_users_log_in_with_the_demo_password(seeded):
    assert authenticate(email="admin@fynlo.com", password=DEFAULT_DEMO_PASSWORD) is not None
    assert authenticate(email="manager@demo.com", password=DEFAULT_DEMO_PASSWORD) is not None
    assert authenticate(email="admin@fynlo.com", password="$2b$12$dummy_hash") is None


@pytest.mark.django_db
def test_an_explicit_password_resets_existing_users_and_the_environment_does_not(monkeypatch):
    # given
    monkeypatch.setenv("DEMO_PASSWORD", "from-the-environment")
    seed()
    assert authenticate(email="admin@fynlo.com", password="from-the-environment") is not None
    # when: a re-run without --password keeps passwords
    monkeypatch.setenv("DEMO_PASSWORD", "another-one")
    seed()
    assert authenticate(email="admin@fynlo.com", password="another-one") is None
    # when: --password resets them
    out = seed("--password", "s3cret-demo")
    # then
    assert authenticate(email="admin@fynlo.com", password="s3cret-demo") is not None
    assert authenticate(email="tom.wilson@demo.com", password="s3cret-demo") is not None
    assert "password reset on 8" in out


@pytest.mark.django_db
def test_print_logins_on_a_seeded_database_prints_only_the_logins(seeded):
    out = seed("--print-logins")
    assert out.splitlines() == [
        f"Platform owner: admin@fynlo.com / {DEFAULT_DEMO_PASSWORD}",
        f"Restaurant owner: owner@demo.com / {DEFAULT_DEMO_PASSWORD}",
        f"Manager: manager@demo.com / {DEFAULT_DEMO_PASSWORD}",
        f"Cashier: sarah.johnson@demo.com / {DEFAULT_DEMO_PASSWORD}",
        f"Server: emma.davis@demo.com / {DEFAULT_DEMO_PASSWORD}",
        f"Cook: mike.chen@demo.com / {DEFAULT_DEMO_PASSWORD}",
    ]
    for line in out.splitlines():
        email = line.split(": ")[1].split(" / ")[0]
        assert authenticate(email=email, password=DEFAULT_DEMO_PASSWORD) is not None, email


@pytest.mark.django_db
def test_print_logins_does_not_claim_a_password_it_does_not_know():
    seed("--password", "chosen-at-first-run")
    out = seed("--print-logins")
    assert "admin@fynlo.com" in out and "chosen-at-first-run" not in out and DEFAULT_DEMO_PASSWORD not in out


@pytest.mark.django_db
def test_a_demo_email_taken_by_another_restaurant_is_a_one_line_error():
    # given
    UserFactory(restaurant=RestaurantFactory(), email="manager@demo.com")
    # when / then
    with pytest.raises(CommandError, match=r"^user manager@demo.com already exists in restaurant \d+"):
        seed()
    rows = counts()
    # nothing half-written (one transaction): only the factory's platform, restaurant and user
    assert (rows["platforms"], rows["restaurants"], rows["users"], rows["orders"]) == (1, 1, 1, 0)


@pytest.mark.django_db
def test_a_demo_seeded_before_it_had_a_restaurant_owner_gets_one():
    # given: a demo whose restaurant owner is missing (seeded before there was one)
    seed()
    with tenant_context(all_tenants=True):
        User.objects.filter(email="owner@demo.com").delete()
    # when
    out = seed()
    # then
    assert re.search(r"^users +created 1, existing 7$", out, re.MULTILINE)
    assert authenticate(email="owner@demo.com", password=DEFAULT_DEMO_PASSWORD).role == UserRole.RESTAURANT_OWNER


@pytest.mark.django_db
def test_an_empty_password_is_refused():
    with pytest.raises(CommandError, match="must not be empty"):
        seed("--password", " ")


def _demo_setting(key: str, value: str) -> None:
    with tenant_context(all_tenants=True):
        RestaurantSetting.objects.filter(restaurant__slug="fynlo-mexican", setting_key=key).update(setting_value=value)


@pytest.mark.django_db
def test_a_missing_order_is_priced_with_the_restaurants_rates_as_the_till_would(seeded):
    # given the restaurant now charges 5 % VAT, and one order went missing
    _demo_setting("vat_rate", "5%")
    with tenant_context(all_tenants=True):
        order = Order.objects.get(order_number="FYN-DEMO-0001")
        CommissionRecord.objects.filter(order_id=order.pk).delete()
        order.delete()
    # when
    seed()
    # then
    with tenant_context(all_tenants=True):
        order = Order.objects.get(order_number="FYN-DEMO-0001")
    assert order.tax_amount == percent_of(order.subtotal, Decimal("5"))
    assert order.service_charge == percent_of(order.subtotal, Decimal("12.5"))


@pytest.mark.django_db
def test_an_unreadable_rate_is_a_one_line_error(seeded):
    _demo_setting("service_charge_rate", "lots")

    with pytest.raises(CommandError, match=r"^The restaurant setting service_charge_rate is 'lots'"):
        seed()


@pytest.mark.django_db
def test_the_burritos_choose_their_filling_from_a_modifier_group(seeded, api_client_for):
    with tenant_context(all_tenants=True):
        restaurant = Restaurant.objects.get()
        manager = User.objects.get(email="manager@demo.com")
        burrito = Product.objects.get(restaurant=restaurant, name="Regular Burrito")
    client = api_client_for(manager)

    groups = client.get(f"/api/v1/products/{burrito.pk}/").json()["modifier_groups"]

    assert [(g["name"], g["min_selected"], g["max_selected"]) for g in groups] == [
        ("Taco filling", 1, 1), ("Extras", 0, None),
    ]
    assert [o["name"] for o in groups[0]["options"]] == [
        "Carnitas", "Cochinita", "Barbacoa de Res", "Chorizo", "Chicken Fajita", "Pescado",
    ]
    unfilled = client.post("/api/v1/orders/", {"items": [{"product_id": burrito.pk, "quantity": 1}]}, format="json")
    assert unfilled.status_code == 400
    assert unfilled.json()["error"]["fields"] == {"items.0.modifiers": ["Choose at least 1 of Taco filling."]}
