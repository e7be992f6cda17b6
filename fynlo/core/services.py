"""Writes every app shares."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, TypeVar

from django.db import models
from django.utils import timezone

M = TypeVar("M", bound=models.Model)


def model_update(*, instance: M, fields: Iterable[str], data: dict, now: datetime | None = None) -> tuple[M, bool]:
    """Set those of `fields` that `data` holds and that differ, and save only them, with
    `updated_at` (when the model has one) set to `now`; (instance, whether anything changed).

    After HackSoft's Styleguide-Example `common/services.py` `model_update`. Field names are
    the model's attributes (`category_id` as well as `category`).
    """
    names = {name for field in instance._meta.concrete_fields for name in (field.name, field.attname)}
    changed = []
    for name in fields:
        if name not in data:
            continue
        if name not in names:
            raise ValueError(f"{type(instance).__name__} has no field {name!r}")
        if getattr(instance, name) != data[name]:
            setattr(instance, name, data[name])
            changed.append(name)
    if not changed:
        return instance, False
    if "updated_at" in names and "updated_at" not in changed:
        instance.updated_at = now or timezone.now()
        changed.append("updated_at")
    instance.save(update_fields=changed)
    return instance, True
