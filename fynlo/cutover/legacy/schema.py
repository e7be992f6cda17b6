"""The importer's view of the schema, derived from the models: columns and their types,
foreign keys, unique keys, check constraints, tenant scopes, and the load order.

Nothing here is a hand-written list of tables: a model added to an app (with a tenant
scope) becomes importable, in the right place of the order, with its rules.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass, field
from functools import cached_property

from django.db import models
from django.db.models import NOT_PROVIDED, F, Q
from django.db.models.functions import Lower, Now

from tenants.models import TenantScope, User
from tenants.scope import tenant_models

# The guide's `settings` export holds platform and restaurant settings in one file.
SETTINGS_SOURCE = "settings"
SETTINGS_TARGETS = {"platform": "platform_settings", "restaurant": "restaurant_settings"}

# A column whose default is the time of the insert.
DEFAULT_NOW = "now()"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # int, decimal, text, bool, timestamp, date, time, json, password
    nullable: bool
    has_default: bool
    max_length: int | None = None
    digits: int | None = None
    places: int | None = None
    choices: tuple[str, ...] = ()
    primary_key: bool = False
    default: str | None = None  # the database default as text (DEFAULT_NOW for now())

    @property
    def optional(self) -> bool:
        """May be absent from an export: the database fills it (NULL or its default)."""
        return self.nullable or self.has_default

    @property
    def sql_type(self) -> str:
        if self.kind == "decimal":
            return f"numeric({self.digits},{self.places})"
        if self.kind == "text" and self.max_length:
            return f"varchar({self.max_length})"
        return {
            "int": "integer", "text": "text", "bool": "boolean", "timestamp": "timestamptz", "date": "date",
            "time": "time", "json": "jsonb", "password": "varchar(255)",
        }.get(self.kind, self.kind)


@dataclass(frozen=True)
class ForeignKey:
    column: str
    target: str  # table name
    nullable: bool
    logical: bool = False  # checked by the importer; no constraint in the database


# References the guide declares in words only ("order_id INTEGER, -- Will reference
# orders(id)"): plain integer columns, so that billing never imports pos; the importer
# checks them (and orders the tables by them) like foreign keys.
LOGICAL_REFERENCES = {("commission_records", "order_id"): "orders"}


@dataclass(frozen=True)
class Unique:
    name: str
    columns: tuple[str, ...]
    lower: bool = False  # compared case-insensitively (lower(email))


@dataclass(frozen=True)
class Check:
    name: str
    condition: Q
    columns: tuple[str, ...]


@dataclass
class TableSpec:
    """One target table, as the importer sees it."""

    name: str
    model: type[models.Model]
    scope: str
    columns: dict[str, Column]
    foreign_keys: list[ForeignKey]
    uniques: list[Unique]
    checks: list[Check]
    field_columns: dict[str, str] = field(default_factory=dict)  # model field name -> column

    @property
    def scope_column(self) -> str | None:
        """The column that holds the row's tenant (what a child's consistency check compares)."""
        if self.scope in (TenantScope.RESTAURANT, TenantScope.USER):
            return "restaurant_id"
        if self.scope in (TenantScope.PLATFORM, TenantScope.RESTAURANT_ROW):
            return "platform_id"
        return None

    @cached_property
    def restaurant_parents(self) -> list[ForeignKey]:
        """Foreign keys (model field order) to rows that carry a restaurant: where a missing
        `restaurant_id` is derived from (order_items from their order, and so on)."""
        return [
            fk for fk in self.foreign_keys
            if fk.column != "restaurant_id" and fk.target in _restaurant_carriers()
        ]

    def __repr__(self) -> str:
        return f"<TableSpec {self.name}>"


def _restaurant_carriers() -> set[str]:
    return {
        spec.name for spec in table_specs().values()
        if spec.scope in (TenantScope.RESTAURANT, TenantScope.USER)
    }


def _default_text(value) -> str:
    if isinstance(value, Now):
        return DEFAULT_NOW
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _column_of(model_field: models.Field) -> Column:
    has_default = model_field.db_default is not NOT_PROVIDED
    common = {
        "name": model_field.column,
        "nullable": model_field.null,
        "has_default": has_default,
        "primary_key": model_field.primary_key,
        "default": _default_text(model_field.db_default) if has_default else None,
    }
    if model_field.choices:
        common["choices"] = tuple(str(value) for value, _ in model_field.flatchoices)
    if model_field.model is User and model_field.name == "password":
        return Column(kind="password", max_length=model_field.max_length, **common)
    if isinstance(model_field, (models.AutoField, models.ForeignKey, models.IntegerField)):
        return Column(kind="int", **common)
    if isinstance(model_field, models.DecimalField):
        return Column(kind="decimal", digits=model_field.max_digits, places=model_field.decimal_places, **common)
    if isinstance(model_field, models.CharField):
        return Column(kind="text", max_length=model_field.max_length, **common)
    if isinstance(model_field, models.TextField):
        return Column(kind="text", **common)
    if isinstance(model_field, models.UUIDField):  # a device's own id (offline orders): text COPY casts to uuid
        return Column(kind="text", max_length=36, **common)
    if isinstance(model_field, models.BooleanField):
        return Column(kind="bool", **common)
    if isinstance(model_field, models.DateTimeField):
        return Column(kind="timestamp", **common)
    if isinstance(model_field, models.DateField):
        return Column(kind="date", **common)
    if isinstance(model_field, models.TimeField):
        return Column(kind="time", **common)
    if isinstance(model_field, models.JSONField):
        return Column(kind="json", **common)
    raise TypeError(f"the legacy importer does not know the field type {type(model_field).__name__}")


def _q_columns(condition: Q, field_columns: dict[str, str]) -> tuple[str, ...]:
    found: list[str] = []
    for child in condition.children:
        if isinstance(child, Q):
            found.extend(_q_columns(child, field_columns))
            continue
        lookup, value = child
        found.append(field_columns[lookup.split("__")[0]])
        if isinstance(value, F):
            found.append(field_columns[value.name])
    return tuple(dict.fromkeys(found))


def _spec_of(model: type[models.Model]) -> TableSpec:
    meta = model._meta
    fields = meta.concrete_fields
    field_columns = {f.name: f.column for f in fields}
    field_columns.update({f.attname: f.column for f in fields})
    columns = {f.column: _column_of(f) for f in fields}
    foreign_keys = []
    for f in fields:
        if isinstance(f, models.ForeignKey):
            foreign_keys.append(ForeignKey(column=f.column, target=f.related_model._meta.db_table, nullable=f.null))
        elif (meta.db_table, f.column) in LOGICAL_REFERENCES:
            target = LOGICAL_REFERENCES[(meta.db_table, f.column)]
            foreign_keys.append(ForeignKey(column=f.column, target=target, nullable=f.null, logical=True))
    uniques = [
        Unique(name=f"{meta.db_table}_{f.column}_key", columns=(f.column,))
        for f in fields
        if f.unique and not f.primary_key
    ]
    checks = []
    for constraint in meta.constraints:
        if isinstance(constraint, models.UniqueConstraint):
            if constraint.condition is not None:
                continue
            if constraint.fields:
                uniques.append(Unique(constraint.name, tuple(field_columns[name] for name in constraint.fields)))
            elif len(constraint.expressions) == 1 and isinstance(constraint.expressions[0], Lower):
                (source,) = constraint.expressions[0].get_source_expressions()
                uniques.append(Unique(constraint.name, (field_columns[source.name],), lower=True))
        elif isinstance(constraint, models.CheckConstraint):
            checks.append(Check(constraint.name, constraint.condition, _q_columns(constraint.condition, field_columns)))
    # a case-insensitive unique key makes the plain one on the same column redundant for checking
    lowered = {u.columns for u in uniques if u.lower}
    uniques = [u for u in uniques if u.lower or u.columns not in lowered]
    return TableSpec(
        name=meta.db_table,
        model=model,
        scope=model.tenant_scope,
        columns=columns,
        foreign_keys=foreign_keys,
        uniques=uniques,
        checks=checks,
        field_columns=field_columns,
    )


_SPECS: dict[str, TableSpec] | None = None


def table_specs() -> dict[str, TableSpec]:
    """Every importable table (each tenant-scoped model), by table name, in load order."""
    global _SPECS
    if _SPECS is None:
        specs = {model._meta.db_table: _spec_of(model) for model in tenant_models()}
        _SPECS = {name: specs[name] for name in load_order(specs)}
    return _SPECS


def load_order(specs: dict[str, TableSpec]) -> list[str]:
    """A topological order of the tables by their foreign keys (parents first); ties keep
    the models' registration order, so the order is stable from run to run."""
    rank = {name: index for index, name in enumerate(specs)}
    parents = {
        name: {fk.target for fk in spec.foreign_keys if fk.target in specs and fk.target != name}
        for name, spec in specs.items()
    }
    children: dict[str, set[str]] = {name: set() for name in specs}
    for name, targets in parents.items():
        for target in targets:
            children[target].add(name)
    waiting = {name: len(targets) for name, targets in parents.items()}
    ready = [(rank[name], name) for name, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, name = heapq.heappop(ready)
        order.append(name)
        for child in children[name]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, (rank[child], child))
    if len(order) != len(specs):
        cycle = sorted(set(specs) - set(order))
        raise RuntimeError(f"the foreign keys of {', '.join(cycle)} form a cycle; no load order exists")
    return order


def source_order() -> list[str]:
    """The source tables (export files) in load order: every table, and the `settings`
    export right after the last of its targets' parents."""
    names = list(table_specs())
    position = max(names.index(target) for target in SETTINGS_TARGETS.values())
    names.insert(position + 1, SETTINGS_SOURCE)
    return names


def check_leaf(condition: Q) -> tuple[str, str, object] | None:
    """(field, lookup, value) when a check is a single comparison, else None."""
    if len(condition.children) != 1 or condition.negated:
        return None
    child = condition.children[0]
    if isinstance(child, Q):
        return check_leaf(child)
    lookup, value = child
    name, _, op = lookup.partition("__")
    return name, op or "exact", value
