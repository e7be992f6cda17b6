"""Several writes in one statement.

Statements per request are capacity (DESIGN.md "Past one server"): an order with its lines, or a
payment with its commission, should reach the database in one round trip, not one per table.
Here rows are still built as model instances, so model defaults, database defaults and
expressions are sent exactly as `bulk_create` would send them; `insert(objs)` gives the
`INSERT ... RETURNING` for them, which the caller puts into one `WITH ...` statement, e.g.

    new_order, new_items = insert([order]), insert(items)   # items' order_id: RawSQL("SELECT id FROM new_order")
    sql = f"WITH new_order AS ({new_order.sql}), new_items AS ({new_items.sql}) " \\
          f"SELECT new_order.*, {new_items.arrays('new_items')} FROM new_order"

and, with the row back, `new_order.assign([row[:new_order.width]])` and
`new_items.assign_arrays(row[new_order.width:])` put the returned values (the primary key, the
database defaults, the expressions' results) on the instances, as `bulk_create` does.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connections
from django.db.models import Field, Model
from django.db.models.sql import InsertQuery, UpdateQuery


def _is_expression(value) -> bool:
    return hasattr(value, "resolve_expression")


@dataclass
class Insert:
    objs: list[Model]
    sql: str
    params: tuple
    returned: list[Field]
    using: str = "default"

    @property
    def width(self) -> int:
        """How many columns its RETURNING gives."""
        return len(self.returned)

    def arrays(self, name: str) -> str:
        """SQL for the returned columns of the CTE `name`, one array each, in insertion order."""
        order = self.returned[0].column
        return ", ".join(f'ARRAY(SELECT "{field.column}" FROM {name} ORDER BY "{order}")' for field in self.returned)

    def assign(self, rows) -> None:
        """Put returned rows (one per object, in order) on the objects, now saved."""
        compiler = InsertQuery(type(self.objs[0])).get_compiler(using=self.using)
        table = type(self.objs[0])._meta.db_table
        converters = compiler.get_converters([field.get_col(table) for field in self.returned])
        rows = [list(row) for row in rows]
        if converters:
            rows = compiler.apply_converters(rows, converters)
        for obj, row in zip(self.objs, rows, strict=True):
            for field, value in zip(self.returned, row):
                setattr(obj, field.attname, value)
            obj._state.adding = False
            obj._state.db = self.using

    def assign_arrays(self, arrays) -> None:
        """`assign` from the columns given by `arrays(...)`."""
        self.assign(zip(*arrays) if arrays else [])


def insert(objs: list[Model], *, using: str = "default") -> Insert:
    """The `INSERT ... RETURNING` of these unsaved rows of one model: their primary keys and every
    value the database makes (database defaults, expressions) are returned."""
    objs = list(objs)
    opts = type(objs[0])._meta
    fields = [field for field in opts.concrete_fields if not field.generated and field is not opts.auto_field]
    returned = [opts.pk] + [
        field for field in fields if any(_is_expression(getattr(obj, field.attname)) for obj in objs)
    ]
    query = InsertQuery(type(objs[0]))
    query.insert_values(fields, objs)
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = returned
    [(sql, params)] = compiler.as_sql()
    assert connections[using].features.can_return_rows_from_bulk_insert
    return Insert(objs=objs, sql=sql, params=tuple(params), returned=returned, using=using)


def update(queryset, values: dict, *, using: str = "default") -> tuple[str, tuple]:
    """The `UPDATE` that `queryset.update(**values)` would send, to run as one part of a larger statement."""
    query = queryset.query.chain(UpdateQuery)
    query.add_update_values(values)
    sql, params = query.get_compiler(using=using).as_sql()
    return sql, tuple(params)
