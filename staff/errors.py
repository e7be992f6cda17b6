"""The staff app's error: a stable code, turned into the API's single error shape by fynlo.core.api."""

from __future__ import annotations

from fynlo.core.api import ApiError


class StaffError(ApiError):
    """A staff rule was broken, e.g. StaffError("already_clocked_in", "...", status=409)."""


def field_error(field: str, message: str) -> StaffError:
    """A 400 naming the input field that is wrong."""
    return StaffError("invalid", "The request has invalid fields.", status=400, fields={field: [message]})
