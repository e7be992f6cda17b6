"""Build one valid row of any model for a given restaurant, generically from its fields.

Used by the isolation tests so that every tenant table, including ones added later, gets
rows without a hand-written factory per table. Parents are made in the same restaurant.
"""

from __future__ import annotations

import datetime
import itertools
import uuid
from decimal import Decimal

from django.db import models
from django.utils import timezone

from inventory.models import InventoryItem
from tenants.context import tenant_context
from tenants.models import Platform, Restaurant, User, UserRole

_counter = itertools.count(1)


def _sample(field: models.Field):
    if field.choices:
        return field.choices[0][0]
    if isinstance(field, (models.CharField, models.TextField)):
        text = f"{field.name}-{uuid.uuid4().hex[:10]}"
        return text[: field.max_length] if field.max_length else text
    if isinstance(field, models.DecimalField):
        return Decimal("1.00") if field.decimal_places >= 2 else Decimal("1")
    if isinstance(field, (models.IntegerField, models.BigIntegerField, models.SmallIntegerField)):
        return 1
    if isinstance(field, models.BooleanField):
        return True
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return datetime.date.today()
    if isinstance(field, models.TimeField):
        return datetime.time(9, 0)
    if isinstance(field, models.JSONField):
        return {}
    raise TypeError(f"no sample value for {field!r}")


class RowMaker:
    """Makes rows (as the runtime role, in the operations scope) and remembers parents."""

    def __init__(self):
        self.parents: dict[tuple, object] = {}

    def row(self, model, restaurant: Restaurant):
        """One row of `model` in `restaurant` (the same row that children of it point to)."""
        with tenant_context(all_tenants=True):
            return self._parent(model, restaurant)

    def _parent(self, model, restaurant: Restaurant):
        if model is Restaurant:
            return restaurant
        if model is Platform:
            return restaurant.platform
        key = (model, restaurant.pk)
        if key not in self.parents:
            self.parents[key] = self._make(model, restaurant)
        return self.parents[key]

    def _make(self, model, restaurant: Restaurant):
        if model is Platform:
            return Platform.objects.create(name="p", slug=f"p-{uuid.uuid4().hex[:12]}", owner_email="o@p.test")
        if model is Restaurant:
            return Restaurant.objects.create(platform=restaurant.platform, name="r", slug=f"r-{uuid.uuid4().hex[:12]}")
        values = {}
        for field in model._meta.concrete_fields:
            if field.primary_key or field.has_db_default() or field.has_default():
                continue
            if field.is_relation:
                if field.null and field.name not in {"restaurant", "platform"}:
                    continue
                values[field.name] = self._parent(field.related_model, restaurant)
            elif not field.null:
                values[field.name] = _sample(field)
        if model is InventoryItem:
            values["name"] = "flour"  # an ingredient: no product (the CHECK wants one of the two)
        if model is User:
            values.update(role=UserRole.MANAGER, password="!", email=f"u{next(_counter)}-{uuid.uuid4().hex[:8]}@t.test")
            values["platform"] = restaurant.platform
        if "restaurant" in values and hasattr(model, "tenant_scope"):
            values["restaurant"] = restaurant
        return model.objects.create(**values)
