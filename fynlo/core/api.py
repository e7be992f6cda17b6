"""The API's single error shape: {"error": {"code", "message", "fields"}}.

Apps raise `ApiError` (or their own subclass carrying a stable code); DRF's own exceptions
(validation, authentication, permission, not found, throttling) are mapped to the same
shape. Another tenant's object is never 403: querysets under RLS simply do not have it,
so it is 404.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import connection, transaction
from django.db.models.manager import BaseManager
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, negotiation, parsers, serializers, status
from rest_framework.fields import SkipField
from rest_framework.pagination import CursorPagination
from rest_framework.relations import PKOnlyObject
from rest_framework.response import Response
from rest_framework.settings import api_settings

from fynlo.core.sessions import CACHE_ERRORS, CacheUnavailable


class ApiError(Exception):
    """A domain error with a stable code, e.g. ApiError("insufficient_stock", "...", status=409)."""

    def __init__(self, code: str, message: str, *, status: int = 400, fields: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields or {}


_CODES = {
    status.HTTP_400_BAD_REQUEST: "invalid",
    status.HTTP_401_UNAUTHORIZED: "not_authenticated",
    status.HTTP_403_FORBIDDEN: "permission_denied",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_409_CONFLICT: "conflict",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_429_TOO_MANY_REQUESTS: "throttled",
}


def set_rollback() -> None:
    """An error response undoes the request's writes (the middleware's transaction), as
    ATOMIC_REQUESTS would: nothing half-done survives a 4xx."""
    if connection.in_atomic_block:
        transaction.set_rollback(True)


CACHE_UNAVAILABLE = ("cache_unavailable", "The cache (Valkey) is not answering; try again shortly.")
CACHE_RETRY_HEADERS = {"Retry-After": "5"}


# Serializers that keep no state of a call (no context, no initial_data or instance read by
# their validate methods) say `stateless = True`: one instance of each, its fields built once,
# serves every request. DRF otherwise builds (deep-copies, and for a ModelSerializer derives
# from the model) every field of every nested serializer again for each instance: ~3 ms of CPU
# for an order's response.
_shared: dict[type, serializers.BaseSerializer] = {}


def _shared_instance(serializer_class) -> serializers.BaseSerializer:
    serializer = _shared.get(serializer_class)
    if serializer is None:
        serializer = serializer_class()
        serializer.fields  # noqa: B018 - built and bound now, once
        _shared[serializer_class] = serializer
    return serializer


def validated(serializer_class, data, **kwargs) -> dict:
    """`data` through a serializer: its validated values, or a 400 naming the bad fields."""
    if kwargs or not getattr(serializer_class, "stateless", False):
        serializer = serializer_class(data=data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)
    # what is_valid(raise_exception=True) does, on the shared instance
    try:
        return dict(_shared_instance(serializer_class).run_validation(data))
    except exceptions.ValidationError as error:
        detail = error.detail
    if isinstance(detail, list) and len(detail) == 1 and getattr(detail[0], "code", None) == "null":
        detail = {api_settings.NON_FIELD_ERRORS_KEY: [exceptions.ErrorDetail("No data provided", code="null")]}
    raise exceptions.ValidationError(detail)


def represented(serializer_class, instance) -> dict:
    """`serializer_class(instance).data` for a `stateless` serializer, by its shared instance."""
    if not getattr(serializer_class, "stateless", False):
        return serializer_class(instance).data
    return _represent(_shared_instance(serializer_class), instance)


# What DRF's Serializer.to_representation does, field by field, without its per-field machinery
# where a field reads one plain attribute (most of an order's ~75 values: ~0.2 ms of CPU an order).
# A field's plan: (name, the attribute read directly or None, the field, the stateless serializer
# of a nested list's items or None). Anything unusual (an attribute missing, a callable, a source
# of several steps or "*", a relation's own get_attribute) goes through DRF's field.get_attribute.
_SIMPLE_GET = serializers.Field.get_attribute


def _plan(serializer) -> list[tuple]:
    plan = serializer.__dict__.get("_fynlo_plan")
    if plan is None:
        plan = []
        for field in serializer._readable_fields:
            direct = (field.source_attrs[0] if type(field).get_attribute is _SIMPLE_GET
                      and len(field.source_attrs) == 1 else None)
            child = getattr(field, "child", None)
            nested = (child if isinstance(field, serializers.ListSerializer) and _fast(type(child))
                      and type(field).to_representation is serializers.ListSerializer.to_representation else None)
            plan.append((field.field_name, direct, field, nested))
        serializer.__dict__["_fynlo_plan"] = plan
    return plan


def _fast(serializer_class) -> bool:
    """A stateless serializer whose to_representation is DRF's own: `_represent` gives the same."""
    return (getattr(serializer_class, "stateless", False)
            and serializer_class.to_representation is serializers.Serializer.to_representation)


def _represent(serializer, instance) -> dict:
    if not _fast(type(serializer)) or isinstance(instance, Mapping):
        return serializer.to_representation(instance)
    ret = {}
    for name, direct, field, nested in _plan(serializer):
        value = _MISSING
        if direct is not None:
            try:
                value = getattr(instance, direct)
            except (AttributeError, ObjectDoesNotExist):
                value = _MISSING  # DRF's get_attribute decides (a default, None, or skip)
            if callable(value):
                value = _MISSING
        if value is _MISSING:
            try:
                value = field.get_attribute(instance)
            except SkipField:
                continue
        if (value.pk if isinstance(value, PKOnlyObject) else value) is None:
            ret[name] = None
        elif nested is not None:
            rows = value.all() if isinstance(value, BaseManager) else value
            ret[name] = [_represent(nested, row) for row in rows]
        else:
            ret[name] = field.to_representation(value)
    return ret


_MISSING = object()


def get_or_404(queryset, *, pk, what: str):
    """The row of `queryset` with this primary key, else a 404 that names what was looked for
    ("No such order."). Another tenant's row is not in the queryset: 404, never 403."""
    row = queryset.filter(pk=pk).first()
    if row is None:
        raise ApiError("not_found", f"No such {what}.", status=404)
    return row


def money_field(*, max_digits: int = 10, **kwargs) -> serializers.DecimalField:
    """Money in the API: a decimal string with two places, "12.50"."""
    return serializers.DecimalField(max_digits=max_digits, decimal_places=2, **kwargs)


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def error_response(code: str, message: str, *, status_code: int, fields: dict | None = None, headers=None):
    return Response(error_body(code, message, fields), status=status_code, headers=headers)


def plain_error_response(code: str, message: str, *, status_code: int, headers=None) -> JsonResponse:
    """The same error shape from plain Django code (middleware), outside DRF."""
    return JsonResponse(error_body(code, message), status=status_code, headers=headers)


def _flatten(detail) -> dict:
    """DRF validation details as {"field": ["message", ...]} (nested fields as "items.0.quantity")."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and value and not all(isinstance(v, (str, exceptions.ErrorDetail)) for v in value):
            for index, inner in enumerate(value):
                if inner:
                    walk(f"{prefix}.{index}" if prefix else str(index), inner)
        else:
            messages = value if isinstance(value, list) else [value]
            flat.setdefault(prefix or "non_field_errors", []).extend(str(m) for m in messages)

    walk("", detail)
    return flat


def exception_handler(exc, context):
    if isinstance(exc, ApiError):
        set_rollback()
        return error_response(exc.code, exc.message, status_code=exc.status, fields=exc.fields)
    if isinstance(exc, (CacheUnavailable, *CACHE_ERRORS)):
        set_rollback()
        return error_response(*CACHE_UNAVAILABLE, status_code=503, headers=CACHE_RETRY_HEADERS)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a 500: Django's handler logs it and the middleware rolls back
    set_rollback()
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        return error_response("invalid", "The request has invalid fields.", status_code=400, fields=fields, headers=headers)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if isinstance(exc, exceptions.ParseError):
        code = exc.default_code  # "parse_error": the body as a whole, not a field, is wrong
    else:
        code = _CODES.get(exc.status_code, getattr(exc, "default_code", "error"))
    return error_response(code, detail, status_code=exc.status_code, headers=headers)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, except that a body nested deeper than Python's json module can
    follow is a ParseError (400) like any other malformed JSON, not a RecursionError (500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - the body is nested too deeply.") from None


class ContentNegotiation(negotiation.DefaultContentNegotiation):
    """DRF's, with its answer for the usual request worked out directly: no format asked for (no
    suffix, no query string) and an Accept header that is absent or `*/*` (the first renderer, its
    media type), or exactly the first renderer's media type. Anything else goes through DRF's
    parsing of the Accept header, as before (~1.5% of an order's CPU)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if renderers and not format_suffix and not request.META.get("QUERY_STRING"):
            accept = request.META.get("HTTP_ACCEPT")
            first = renderers[0]
            if accept is None or accept == "*/*" or accept == first.media_type:
                return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)


class CursorPages(CursorPagination):
    """Cursor pages (`{next, previous, results}`), newest first unless a list says otherwise:
    stable while rows are added, no COUNT(*). `?page_size=` up to 200 (more is cut to 200);
    a malformed cursor or page size is a 400 naming the parameter (DRF would say 404)."""

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise exceptions.ValidationError({self.page_size_query_param: [
                f"A whole number from 1 to {self.max_page_size}."
            ]})
        return min(size, self.max_page_size)

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError({self.cursor_query_param: [
                "Not a cursor this list gave out: follow the `next` or `previous` link as it is."
            ]}) from None


def cursor_pages(*ordering: str) -> type[CursorPages]:
    """Cursor pages in another order (the first field positions the cursor; the last must be unique)."""
    return type("CursorPages", (CursorPages,), {"ordering": ordering})


API_PREFIX = "/api/"


def not_found(request, exception=None):
    """handler404: an unknown address under /api/ answers in the API's error shape, not a web page."""
    if request.path.startswith(API_PREFIX):
        return plain_error_response("not_found", "No such endpoint.", status_code=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """handler500: the API's error shape under /api/ (the request's writes were rolled back)."""
    if request.path.startswith(API_PREFIX):
        return plain_error_response(
            "server_error", "Something went wrong on our side; nothing was saved. Try again.", status_code=500
        )
    return defaults.server_error(request)
