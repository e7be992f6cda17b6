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
from django.db.models.expressions import DatabaseDefault, RawSQL
from django.db.models.sql import InsertQuery, UpdateQuery


# RawSQL makes a model Field for its output type each time one is built unless given one (~2% of an
# order's CPU for its seven); this one, never changed, serves every RawSQL the hot paths build.
RAW_OUTPUT = Field()


def raw(sql: str, params) -> RawSQL:
    """RawSQL(sql, params), sharing its output type (the same plain Field RawSQL would make)."""
    return RawSQL(sql, params, output_field=RAW_OUTPUT)


_attnames: dict[type, tuple[list[Field], frozenset[str]]] = {}


def new_row(model: type, **values):
    """`model(**values)` for values given by column attribute (`<fk>_id`, no related objects), the
    others their fields' defaults: built positionally, as Django builds a row read from the
    database, which skips the keyword path's per-field lookups (~25% of building an order's rows)."""
    known = _attnames.get(model)
    if known is None:
        fields = list(model._meta.concrete_fields)
        assert not any(field.generated or field.column is None for field in fields), model
        known = _attnames[model] = (fields, frozenset(field.attname for field in fields))
    fields, names = known
    if not names.issuperset(values):
        unexpected = ", ".join(sorted(set(values) - names))
        raise TypeError(f"{model.__name__}() got unexpected keyword arguments: {unexpected}")
    return model(*[values[field.attname] if field.attname in values else field.get_default() for field in fields])


def cached_related(instance: Model, **rows) -> Model:
    """For a new instance built with `<name>_id=row.pk`: its `<name>` is that row (or None), with no
    query, as `instance.<name> = row` leaves it, without the descriptor's router calls and checks
    (~10 for a new order: a row read from a replica must be assigned through the descriptor)."""
    for name, row in rows.items():
        instance._state.fields_cache[name] = row
    return instance


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
        converters = _converters(type(self.objs[0]), tuple(self.returned), self.using)
        rows = [list(row) for row in rows]
        if converters:
            connection = connections[self.using]
            for row in rows:
                for position, (functions, expression) in converters:
                    value = row[position]
                    for function in functions:
                        value = function(value, expression, connection)
                    row[position] = value
        for obj, row in zip(self.objs, rows, strict=True):
            for field, value in zip(self.returned, row):
                setattr(obj, field.attname, value)
            obj._state.adding = False
            obj._state.db = self.using

    def assign_arrays(self, arrays) -> None:
        """`assign` from the columns given by `arrays(...)`."""
        self.assign(zip(*arrays) if arrays else [])


# The model's fields an INSERT names (every concrete one but the generated and the auto primary key).
_fields: dict[type, list[Field]] = {}
# Statement text by shape: (model, alias, the kind of value in each row's each field) -> (sql, the
# returned fields, whether the parameters go by column, as Django's UNNEST form of a bulk insert
# sends them), or None where the shape's text is not reused. Compiling an INSERT through the ORM
# is ~1 ms of CPU for an order and its lines; the text of a shape never changes, only the values.
_shapes: dict[tuple, tuple[str, list[Field], bool] | None] = {}
MAX_SHAPES = 2000
_converter_cache: dict[tuple, list] = {}


def _kind(value):
    """What the SQL of a value depends on: None for a plain value (a placeholder); the
    expression's own SQL for RawSQL and a database default; False for any other expression
    (its SQL is compiled each time)."""
    if not hasattr(value, "resolve_expression"):
        return None
    if type(value) is DatabaseDefault:
        return "DEFAULT"
    if type(value) is RawSQL:
        return (value.sql, len(value.params))
    return False


def _params(fields: list[Field], rows: list[list], kinds: tuple, connection, *, by_column: bool) -> tuple:
    """The parameters Django's insert compiler sends for these pre-saved values (`kinds`: `_kind`
    of each row's each value)."""
    if by_column:
        return tuple(
            [field.get_db_prep_save(row[index], connection=connection) for row in rows]
            for index, field in enumerate(fields)
        )
    params = []
    for row, row_kinds in zip(rows, kinds):
        for field, value, kind in zip(fields, row, row_kinds):
            if kind is None:
                params.append(field.get_db_prep_save(value, connection=connection))
            elif kind != "DEFAULT":
                params.extend(value.params)
    return tuple(params)


def _same(a, b) -> bool:
    """Parameters equal (a psycopg Jsonb wrapper by what it wraps)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if hasattr(a, "obj") and hasattr(a, "dumps"):
        return a.obj == b.obj
    return a == b


def _compiled(objs: list[Model], fields: list[Field], using: str) -> tuple[str, tuple, list[Field]]:
    """The ORM's own INSERT ... RETURNING of these rows (their primary keys and every value the
    database makes: database defaults, expressions)."""
    opts = type(objs[0])._meta
    returned = [opts.pk] + [
        field for field in fields if any(_is_expression(getattr(obj, field.attname)) for obj in objs)
    ]
    query = InsertQuery(type(objs[0]))
    query.insert_values(fields, objs)
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = returned
    [(sql, params)] = compiler.as_sql()
    return sql, tuple(params), returned


def insert(objs: list[Model], *, using: str = "default") -> Insert:
    """The `INSERT ... RETURNING` of these unsaved rows of one model: their primary keys and every
    value the database makes (database defaults, expressions) are returned.

    The statement's text is compiled by the ORM once per shape (the model, the number of rows, which
    fields hold a database default or a RawSQL and its text); the first time, the parameters worked out
    here are checked against the ORM's, and a shape where they differ is always compiled."""
    objs = list(objs)
    model = type(objs[0])
    connection = connections[using]
    assert connection.features.can_return_rows_from_bulk_insert
    fields = _fields.get(model)
    if fields is None:
        opts = model._meta
        fields = _fields[model] = [
            field for field in opts.concrete_fields if not field.generated and field is not opts.auto_field
        ]
    # what the compiler inserts: each field's pre_save value (nothing here uses auto_now: pre_save is
    # called once per value, as the compiler calls it)
    rows = [[field.pre_save(obj, True) for field in fields] for obj in objs]
    kinds = tuple(tuple(_kind(value) for value in row) for row in rows)
    if any(kind is False for row in kinds for kind in row):
        sql, params, returned = _compiled(objs, fields, using)
        return Insert(objs=objs, sql=sql, params=params, returned=returned, using=using)
    key = (model, using, kinds)
    known = _shapes.get(key, key)
    if known is key:  # first of its shape: the ORM's text, and which way its parameters go
        sql, params, returned = _compiled(objs, fields, using)
        known = None
        for by_column in (False, True):
            if _same(_params(fields, rows, kinds, connection, by_column=by_column), params):
                known = (sql, returned, by_column)
                break
        if len(_shapes) < MAX_SHAPES:
            _shapes[key] = known
        return Insert(objs=objs, sql=sql, params=params, returned=returned, using=using)
    if known is None:
        sql, params, returned = _compiled(objs, fields, using)
        return Insert(objs=objs, sql=sql, params=params, returned=returned, using=using)
    sql, returned, by_column = known
    return Insert(objs=objs, sql=sql, params=_params(fields, rows, kinds, connection, by_column=by_column),
                  returned=returned, using=using)


def _converters(model: type, returned: tuple, using: str) -> list:
    """The ORM's converters of the returned columns, [(position, (functions, expression))]."""
    key = (model, returned, using)
    found = _converter_cache.get(key)
    if found is None:
        compiler = InsertQuery(model).get_compiler(using=using)
        found = list(compiler.get_converters([field.get_col(model._meta.db_table) for field in returned]).items())
        _converter_cache[key] = found
    return found


def update(queryset, values: dict, *, using: str = "default") -> tuple[str, tuple]:
    """The `UPDATE` that `queryset.update(**values)` would send, to run as one part of a larger statement."""
    query = queryset.query.chain(UpdateQuery)
    query.add_update_values(values)
    sql, params = query.get_compiler(using=using).as_sql()
    return sql, tuple(params)


# --- Reads by fixed text ---------------------------------------------------------------------
# A hot path's read whose text never changes (lists passed as one array, `= ANY(%s)`) skips the
# ORM's compiling (~0.3-1 ms of CPU a query) and still gives model instances.

_columns: dict[type, tuple[list[str], str]] = {}


def _model_columns(model: type) -> tuple[list[str], str]:
    found = _columns.get(model)
    if found is None:
        fields = model._meta.concrete_fields
        found = _columns[model] = ([field.attname for field in fields], ", ".join(f'"{field.column}"' for field in fields))
    return found


def columns(model: type, alias: str | None = None) -> str:
    """The model's concrete columns as a select list, `alias."column", ...` (in field order)."""
    names = _model_columns(model)[1]
    if alias is None:
        return names
    return ", ".join(f"{alias}.{name}" for name in names.split(", "))


def width(model: type) -> int:
    return len(_model_columns(model)[0])


def from_row(model: type, row, using: str = "default"):
    """A model instance from a row of `columns(model)` (as the ORM loads one)."""
    return model.from_db(using, _model_columns(model)[0], row)
