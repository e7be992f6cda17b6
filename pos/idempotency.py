"""Idempotent writes: a retry that carries the same `Idempotency-Key` gets the first response.

The POS is on flaky Wi-Fi: it sends a key with each write and resends the same request
when it gets no answer. Here:

- the first request with a key runs; its 2xx response (status and body) is stored with the
  key and a hash of the request, in the same transaction as the write itself;
- a retry with the same key and the same request (method, path, body) creates nothing and
  gets the stored status and body again, with the header `Idempotent-Replayed: true`;
- the same key with another request is 409 `idempotency_key_reused`;
- a request that failed (4xx) stores nothing, since it changed nothing: its retry runs again.

Two retries racing: the record is inserted first with `INSERT ... ON CONFLICT DO NOTHING` on
the unique (restaurant, key). The second insert waits on the first transaction's unique-index
entry; when the first commits it finds the record and replays it, and when the first rolls
back it proceeds itself. Never both.

No savepoint of its own (each SAVEPOINT and RELEASE is a statement): the request's
transaction is the unit. A handler that raises rolls the whole request back (the API's
error handler does so anyway); a handler that returns an error response marks the request's
transaction for rollback, so the record goes with everything else.

Keys belong to a restaurant (tenant-scoped records under row-level security) and live for
IDEMPOTENCY_KEY_TTL_HOURS (default 24): after that the key is free again, and its old record is
taken over by the next request that sends it. `manage.py prune_idempotency_keys` deletes
expired records (run it daily).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Callable

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from rest_framework.response import Response

from fynlo.core.api import ApiError
from pos.models import IdempotencyRecord
from tenants.context import tenant_context

HEADER = "Idempotency-Key"
# what request.headers.get(HEADER) reads, without building request.headers from every header (the
# order path reads no other)
META_KEY = "HTTP_" + HEADER.upper().replace("-", "_")
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255

def expired_before() -> datetime:
    """Records created before this instant are expired."""
    return timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def request_hash(request) -> str:
    """A fingerprint of what the request asks for: its method, path and body."""
    payload = json.dumps(
        {"method": request.method, "path": request.path, "body": request.data},
        sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _key(request) -> str | None:
    raw = request.META.get(META_KEY)
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        message = f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} printable characters."
        raise ApiError("invalid_idempotency_key", message, fields={HEADER: [message]})
    return key


class _KeyTaken(Exception):
    """The key's record is live: this request is a retry (or a twin of one in flight), answered from it."""


def _claim_checked(rows: list[tuple]) -> None:
    if not rows:
        raise _KeyTaken


def _settle(claim) -> None:
    """Send the key's claim now if nothing the handler sent carried it, so that a retry is answered
    from its record rather than with this request's own error; not in a transaction already failed."""
    if claim.rows is None and not connection.needs_rollback:
        claim.fetchall()


def idempotent(request, *, restaurant_id: int, handler: Callable[[], Response]) -> Response:
    """Run `handler` once per (restaurant, Idempotency-Key); without the header, just run it.

    The key is claimed first, but not in a round trip of its own: the claim goes with the handler's
    first reads, in front of them (fynlo.core.postgresql's deferred statements), and its check runs
    as its rows arrive. Until then only reads are sent with it (a write, a savepoint or the commit
    first sends the claim alone), so a retry never writes: it has read, at most, and is answered
    from the record. Otherwise a request refused before it sent anything has its claim sent then,
    and a live record still answers it; unless the refusal already marked the transaction for
    rollback (an exception out of an atomic block): then it is refused without its key looked at,
    having written nothing, and its retry is refused alike."""
    key = _key(request)
    if key is None:
        return handler()
    fingerprint = request_hash(request)
    table = IdempotencyRecord._meta.db_table
    with transaction.atomic(savepoint=False):
        try:
            # A live record is left alone (no row returned: replay it); an expired one is taken
            # over as if it were new.
            claim = connection.defer(
                f"INSERT INTO {table} (restaurant_id, key, request_hash) VALUES (%s, %s, %s)"
                " ON CONFLICT (restaurant_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash,"
                " response_status = NULL, response_body = NULL, created_at = now()"
                f" WHERE {table}.created_at < %s RETURNING id",
                [restaurant_id, key, fingerprint, expired_before()], rows=True, check=_claim_checked,
            )
            try:
                response = handler()
            except (_KeyTaken, DatabaseError):
                raise
            except Exception:
                _settle(claim)
                raise
            if not 200 <= response.status_code < 300:
                _settle(claim)
            inserted = claim.fetchall()[0]
        except _KeyTaken:
            # Nothing but reads ran after the claim: the transaction is whole, though an atomic block
            # the exception passed through marked it for rollback.
            transaction.set_rollback(False)
            return _replay(IdempotencyRecord.objects.filter(restaurant_id=restaurant_id, key=key).first(), fingerprint)
        if 200 <= response.status_code < 300:
            # what .filter(pk=...).update(...) sends, by fixed text (no ORM compiling per request);
            # nothing is read back, so it goes with the transaction's next statement, its commit
            # for a request that ends here, in one round trip (fynlo.core.postgresql)
            body = IdempotencyRecord._meta.get_field("response_body").get_db_prep_save(response.data, connection)
            connection.defer(
                f'UPDATE "{table}" SET "response_status" = %s, "response_body" = %s WHERE "id" = %s',
                [response.status_code, body, inserted[0]],
            )
        else:
            transaction.set_rollback(True)  # nothing is kept, the record neither: the retry may run again
        return response


def _replay(record, fingerprint: str) -> Response:
    if record is None or record.response_status is None:
        raise ApiError("idempotency_conflict", "A request with this Idempotency-Key is in progress; retry.", status=409)
    if record.request_hash != fingerprint:
        raise ApiError(
            "idempotency_key_reused",
            "This Idempotency-Key was used for a different request; use a new key for a new request.",
            status=409,
        )
    return Response(record.response_body, status=record.response_status, headers={REPLAYED_HEADER: "true"})


def prune_expired() -> int:
    """Delete every restaurant's expired records; the number deleted."""
    with tenant_context(all_tenants=True):
        deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=expired_before()).delete()
    return deleted
