"""The database refuses a restaurant's row that points at another restaurant's row, which
foreign keys alone would accept (their checks bypass row-level security)."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction

from inventory.models import Category, Product
from pos.models import OrderItem, Payment
from staff.models import Shift
from tenants.context import tenant_context
from tenants.references import parent_key_name, reference_name, same_restaurant_references
from tests.inventory.factories import CategoryFactory, ProductFactory
from tests.pos.factories import OrderFactory
from tests.staff.factories import EmployeeFactory, ScheduleFactory


def constraint_definitions(table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass", [table]
        )
        return dict(cursor.fetchall())


def checked_now():
    """Deferred constraints are checked at commit, which a test's transaction never reaches."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.django_db
def test_every_reference_between_restaurant_tables_is_doubled_by_a_same_restaurant_key():
    references = same_restaurant_references(apps.get_models())
    assert len(references) >= 19

    missing = []
    for model, field in references:
        table, parent = model._meta.db_table, field.related_model._meta.db_table
        definition = constraint_definitions(table).get(reference_name(table, field.column))
        expected = (f"FOREIGN KEY (restaurant_id, {field.column}) REFERENCES {parent}(restaurant_id, id)"
                    " DEFERRABLE INITIALLY DEFERRED")
        if definition != expected:
            missing.append(f"{table}.{field.column} -> {parent}: {definition}")
        assert constraint_definitions(parent)[parent_key_name(parent)] == "UNIQUE (restaurant_id, id)"
    assert not missing, "add SameRestaurant(...) to a migration for:\n" + "\n".join(missing)


@pytest.fixture
def two_restaurants(db):
    ours, theirs = ProductFactory(), ProductFactory()
    return ours, theirs


@pytest.mark.django_db
def test_an_order_item_for_another_restaurants_product_is_refused(two_restaurants):
    ours, theirs = two_restaurants
    order = OrderFactory(restaurant=ours.restaurant)

    with tenant_context(restaurant=ours.restaurant_id), pytest.raises(IntegrityError, match="order_items_product_id_same_restaurant"):
        with transaction.atomic():
            checked_now()
            OrderItem.objects.create(restaurant_id=ours.restaurant_id, order=order, product_id=theirs.pk,
                                     quantity=1, unit_price=theirs.price, total_price=theirs.price)


@pytest.mark.django_db
def test_a_payment_on_another_restaurants_order_is_refused(two_restaurants):
    ours, theirs = two_restaurants
    their_order = OrderFactory(restaurant=theirs.restaurant)

    with tenant_context(restaurant=ours.restaurant_id), pytest.raises(IntegrityError, match="payments_order_id_same_restaurant"):
        with transaction.atomic():
            checked_now()
            Payment.objects.create(restaurant_id=ours.restaurant_id, order_id=their_order.pk,
                                   payment_method="cash", amount=their_order.total_amount)


@pytest.mark.django_db
def test_a_shift_for_another_restaurants_employee_is_refused(two_restaurants):
    ours, theirs = two_restaurants
    week = ScheduleFactory(restaurant=ours.restaurant)
    stranger = EmployeeFactory(restaurant=theirs.restaurant)

    with tenant_context(restaurant=ours.restaurant_id), pytest.raises(IntegrityError, match="shifts_employee_id_same_restaurant"):
        with transaction.atomic():
            checked_now()
            Shift.objects.create(restaurant_id=ours.restaurant_id, schedule=week, employee_id=stranger.pk,
                                 shift_date=week.week_start, start_time="09:00", end_time="17:00")


@pytest.mark.django_db
def test_the_same_restaurants_references_and_set_null_still_work(two_restaurants):
    ours, _ = two_restaurants
    category = CategoryFactory(restaurant=ours.restaurant)

    with tenant_context(restaurant=ours.restaurant_id), transaction.atomic():
        checked_now()
        Product.objects.filter(pk=ours.pk).update(category=category)
        Category.objects.filter(pk=category.pk).delete()  # products.category_id is SET_NULL
        assert Product.objects.get(pk=ours.pk).category_id is None
