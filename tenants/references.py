"""A restaurant's rows reference only that restaurant's rows, enforced by the database.

Foreign key checks bypass row-level security: a plain `order_items.order_id -> orders.id`
would accept an item of restaurant A on an order of restaurant B. So every foreign key
between two restaurant-scoped tables is doubled by a composite one,
`(restaurant_id, order_id) -> orders (restaurant_id, id)`, which needs the parent to be
unique on `(restaurant_id, id)`. Like Django's own, these are DEFERRABLE INITIALLY DEFERRED;
a NULL reference is not checked (MATCH SIMPLE), so SET_NULL keeps working.

Migrations declare them with `RestaurantKey(parent)` and `SameRestaurant(table, column,
parent)`; a test fails for any restaurant-to-restaurant foreign key without one.
"""

from __future__ import annotations

from django.db import migrations, models

from tenants.models import TenantScope


def parent_key_name(parent: str) -> str:
    return f"{parent}_restaurant_id_id_key"


def reference_name(table: str, column: str) -> str:
    return f"{table}_{column}_same_restaurant"


def same_restaurant_references(model_list) -> list[tuple[type[models.Model], models.ForeignKey]]:
    """(child model, foreign key) for each foreign key between two restaurant-scoped models."""
    return [
        (model, field)
        for model in model_list
        if getattr(model, "tenant_scope", None) == TenantScope.RESTAURANT
        for field in model._meta.concrete_fields
        if isinstance(field, models.ForeignKey)
        and getattr(field.related_model, "tenant_scope", None) == TenantScope.RESTAURANT
    ]


class RestaurantKey(migrations.operations.base.Operation):
    """Make a restaurant-scoped table unique on (restaurant_id, id), the target of SameRestaurant."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, table: str):
        self.table = table

    def deconstruct(self):
        return (self.__class__.__name__, [], {"table": self.table})

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        schema_editor.execute(
            f"ALTER TABLE {self.table} ADD CONSTRAINT {parent_key_name(self.table)} UNIQUE (restaurant_id, id)"
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        schema_editor.execute(f"ALTER TABLE {self.table} DROP CONSTRAINT IF EXISTS {parent_key_name(self.table)}")

    def describe(self):
        return f"Make {self.table} unique on (restaurant_id, id)"


class SameRestaurant(migrations.operations.base.Operation):
    """`table.column` may only point at a `parent` row of the same restaurant."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, table: str, column: str, parent: str):
        self.table = table
        self.column = column
        self.parent = parent

    def deconstruct(self):
        return (self.__class__.__name__, [], {"table": self.table, "column": self.column, "parent": self.parent})

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        schema_editor.execute(
            f"ALTER TABLE {self.table} ADD CONSTRAINT {reference_name(self.table, self.column)}"
            f" FOREIGN KEY (restaurant_id, {self.column}) REFERENCES {self.parent} (restaurant_id, id)"
            " DEFERRABLE INITIALLY DEFERRED"
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        schema_editor.execute(
            f"ALTER TABLE {self.table} DROP CONSTRAINT IF EXISTS {reference_name(self.table, self.column)}"
        )

    def describe(self):
        return f"{self.table}.{self.column} references {self.parent} of the same restaurant"
