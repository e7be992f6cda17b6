"""Checks run when a server process starts (gunicorn does not run Django's system checks)."""

from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured


def refuse_unsafe_runtime_role() -> None:
    errors = [message for message in run_checks(tags=["tenancy"]) if message.is_serious()]
    if errors:
        raise ImproperlyConfigured("; ".join(f"{error.id}: {error.msg}" for error in errors))
