"""Lag-tolerant reads on a read replica, under the same tenant as the request.

A view opts in (`@reads_from_replica` on a view function or a DRF handler method, or
`with replica_reads(user):` around the reads). Inside, the block's ORM reads go to a replica
that answers and is at most REPLICA_MAX_LAG_SECONDS behind; its writes still go to the
primary, in the request's transaction. The tenant is applied on the replica connection the
way it is on the primary: `set_config(..., true)` inside a transaction opened on that
connection for the block, so it cannot outlive it (row-level security holds on replicas, and
behind PgBouncer). A user who wrote in the last REPLICA_PIN_SECONDS reads from the primary
(fynlo.core.db pins them after each successful write request), and so does everyone when no
replica is configured, none is usable, or the replica refuses the transaction.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from typing import Iterator

from django.db import Error as DatabaseError
from django.db import transaction

from fynlo.core.db import measure_replica, reads_go_to, replica_for_reads
from fynlo.core.sync import changes_page
from tenants.context import apply_tenant, current_tenant


@contextmanager
def replica_reads(user=None) -> Iterator[str | None]:
    """Send this block's ORM reads to a replica under the current tenant; yields the replica's
    alias, or None when the reads stay on the primary."""
    alias = replica_for_reads(getattr(user, "pk", None))
    atomic = None
    if alias is not None:
        atomic = transaction.atomic(using=alias)
        try:
            atomic.__enter__()
        except DatabaseError:
            atomic = None
        else:
            try:
                apply_tenant(current_tenant(), using=alias)
            except DatabaseError as error:
                atomic.__exit__(type(error), error, error.__traceback__)
                atomic = None
        if atomic is None:
            measure_replica(alias)  # it failed us: measured now, the next request skips it
    if atomic is None:
        yield None
        return
    try:
        with reads_go_to(alias):
            yield alias
    except BaseException as error:
        if not atomic.__exit__(type(error), error, error.__traceback__):
            raise
    else:
        atomic.__exit__(None, None, None)


def _request_of(args):
    for arg in args[:2]:
        if hasattr(arg, "META") and hasattr(arg, "method"):
            return arg
    raise TypeError("@reads_from_replica decorates a view: (request, ...) or (self, request, ...)")


def reads_from_replica(view):
    """Decorate a view function, a DRF handler method (`def get(self, request)`: after DRF
    has authenticated the request and set its tenant) or an admin page view (`(site, request)`)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        request = _request_of(args)
        with replica_reads(getattr(request, "user", None)):
            return view(*args, **kwargs)

    return wrapper


def changes_from_replica(request, queryset, serialize):
    """A page of `?updated_since=` changes (fynlo.core.sync), read from a replica when one may serve
    (its lag is inside the pass's next_since, which follows the replica's replayed time)."""
    with replica_reads(getattr(request, "user", None)):
        return changes_page(request, queryset, serialize)
