"""fynlo.core.statements.insert reuses an INSERT's text by shape: what it sends must be what the
ORM compiles for the same rows, every time, and the rows must come back saved the same way."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models.expressions import RawSQL
from django.utils import timezone

from fynlo.core import statements
from inventory.models import StockMovement
from pos.models import OrderItem
from tenants.context import tenant_context
from tests.inventory.factories import InventoryItemFactory, ProductFactory

pytestmark = pytest.mark.django_db


def _movements(item, quantities, **extra):
    return [
        StockMovement(restaurant_id=item.restaurant_id, inventory_item=item, movement_type="sale",
                      quantity=Decimal(q), unit_cost=Decimal("1.25"), total_cost=Decimal("1.25") * abs(Decimal(q)),
                      reference_type="order", reference_id=7, **extra)
        for q in quantities
    ]


def _orm(objs):
    opts = type(objs[0])._meta
    fields = [field for field in opts.concrete_fields if not field.generated and field is not opts.auto_field]
    return statements._compiled(objs, fields, "default")


@pytest.mark.parametrize("plain", [False, True], ids=["database defaults", "values only (UNNEST)"])
@pytest.mark.parametrize("quantities", [["-1"], ["-1", "-2"], ["-1", "-2", "-3"]])
def test_each_insert_sends_what_the_orm_compiles_for_the_same_rows(shop, quantities, plain):
    item = InventoryItemFactory(restaurant=shop.restaurant, product=ProductFactory(restaurant=shop.restaurant))
    for notes in ("first of its shape", "reused", "reused again"):
        # every value given: Django sends several rows by column (UNNEST)
        extra = {"notes": notes, **({"created_at": timezone.now(), "oversold_offline": False} if plain else {})}
        objs = _movements(item, quantities, **extra)
        sent = statements.insert(objs)
        sql, params, returned = _orm(_movements(item, quantities, **extra))
        assert ("UNNEST" in sql) == (plain and len(quantities) > 1)
        assert (sent.sql, sent.returned) == (sql, returned)
        assert statements._same(sent.params, params)
        with tenant_context(restaurant=shop.restaurant.pk), connection.cursor() as cursor:
            cursor.execute(sent.sql, sent.params)
            sent.assign(cursor.fetchall())
        assert all(obj.pk and obj.created_at and not obj._state.adding for obj in objs)
        with tenant_context(restaurant=shop.restaurant.pk):
            stored = StockMovement.objects.filter(pk__in=[obj.pk for obj in objs]).order_by("pk")
            assert [(m.quantity, m.notes, m.created_at) for m in stored] == [
                (obj.quantity, notes, obj.created_at) for obj in objs
            ]
    assert _reused(StockMovement, len(quantities))


def _reused(model, rows: int) -> bool:
    """The shape's text is kept (its parameters worked out here matched the ORM's)."""
    shapes = [known for (kind, _, kinds), known in statements._shapes.items() if kind is model and len(kinds) == rows]
    return bool(shapes) and all(known is not None for known in shapes)


def test_raw_sql_values_keep_their_own_parameters(shop):
    product = ProductFactory(restaurant=shop.restaurant)

    def items(modifiers):
        return [
            OrderItem(restaurant_id=shop.restaurant.pk, order_id=RawSQL("SELECT %s::int", [number]), product=product,
                      quantity=1, unit_price=Decimal("2.00"), total_price=Decimal("2.00"), modifiers=modifiers)
            for number in (11, 12)
        ]

    for modifiers in ([], [{"option_id": 3, "name": "Cheese"}]):
        sent = statements.insert(items(modifiers))
        sql, params, returned = _orm(items(modifiers))
        assert (sent.sql, sent.returned) == (sql, returned)
        assert statements._same(sent.params, params)
        assert 11 in sent.params and 12 in sent.params
    assert _reused(OrderItem, 2)


def test_another_expression_is_compiled_each_time(shop):
    from django.db.models import Value

    item = InventoryItemFactory(restaurant=shop.restaurant, product=ProductFactory(restaurant=shop.restaurant))
    objs = _movements(item, ["-1"], notes=Value("x"))
    before = len(statements._shapes)
    sent = statements.insert(objs)
    assert len(statements._shapes) == before
    assert (sent.sql, sent.params) == _orm(_movements(item, ["-1"], notes=Value("x")))[:2]


@pytest.mark.parametrize("model, values", [
    (OrderItem, {"restaurant_id": 3, "product_id": 4, "quantity": 2, "unit_price": Decimal("1.50"),
                 "total_price": Decimal("3.00"), "modifiers": []}),
    (StockMovement, {"restaurant_id": 3, "inventory_item_id": 9, "movement_type": "sale", "quantity": Decimal("-2"),
                     "unit_cost": Decimal("1.25"), "total_cost": Decimal("2.50"), "created_by_id": None}),
])
def test_new_row_builds_the_row_the_keyword_constructor_builds(model, values):
    built, expected = statements.new_row(model, **values), model(**values)

    assert {k: v for k, v in vars(built).items() if k != "_state"} == {k: v for k, v in vars(expected).items() if k != "_state"}
    assert built._state.adding and built._state.db is None
    with pytest.raises(TypeError, match="unexpected keyword arguments: product"):
        statements.new_row(model, product=None, **values)
