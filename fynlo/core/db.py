"""Past one database server: the read-replica router, replica lag, read-your-writes pins, and
the system check for running behind a transaction-mode pooler (PgBouncer).

Every query goes to the primary (`default`) unless a block has asked for a replica: the
tenant layer (tenants.replicas.replica_reads) opens a transaction on the replica alias, sets
the tenant there, and names the alias here for the block's ORM reads. Writes always go to
the primary, also for rows that were read from a replica.
"""

from __future__ import annotations

import contextvars
import logging
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from django.conf import settings
from django.core import checks
from django.core.cache import cache
from django.db import Error as DatabaseError
from django.db import connections

from fynlo.core.messages import first_line
from fynlo.env import POOLER_PORTS

PRIMARY = "default"
logger = logging.getLogger(__name__)

_read_alias: contextvars.ContextVar[str | None] = contextvars.ContextVar("fynlo_read_alias", default=None)


def replica_aliases() -> list[str]:
    return list(getattr(settings, "DATABASE_REPLICAS", ()))


def reading_alias() -> str | None:
    """The replica the current block reads from, or None (the primary)."""
    return _read_alias.get()


@contextmanager
def reads_go_to(alias: str) -> Iterator[str]:
    """Route this block's ORM reads to `alias` (the caller has set its tenant there)."""
    token = _read_alias.set(alias)
    try:
        yield alias
    finally:
        _read_alias.reset(token)


class ReplicaRouter:
    """Reads inside a replica block go to its replica; everything else to the primary.

    A row read from a replica is written, and its relations read, on the primary once the
    block is over (Django would otherwise follow the row back to the replica, where no
    tenant is set outside the block and RLS shows nothing)."""

    def db_for_read(self, model, **hints):
        return _read_alias.get() or _primary_for(hints)

    def db_for_write(self, model, **hints):
        return _primary_for(hints)

    def allow_relation(self, obj1, obj2, **hints):
        runtime = {PRIMARY, *replica_aliases()}
        if obj1._state.db in runtime and obj2._state.db in runtime:
            return True
        return None

    def allow_migrate(self, db, app_label, **hints):
        return False if db in replica_aliases() else None


def _primary_for(hints) -> str | None:
    instance = hints.get("instance")
    if instance is not None and instance._state.db in replica_aliases():
        return PRIMARY
    return None


# --- Replica lag ---------------------------------------------------------------------------

# Seconds the replica's replay is behind: 0 when it has replayed all it has received (an idle
# primary sends nothing, so the last replay's age is not lag), else the age of the last
# transaction it replayed. A server that is not in recovery is no replica: lag 0.
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
    ELSE COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0)
END::float8
"""


@dataclass(frozen=True)
class ReplicaStatus:
    alias: str
    lag_seconds: float | None = None  # None: it did not answer
    error: str | None = None
    checked_at: float = field(default_factory=time.monotonic)

    @property
    def usable(self) -> bool:
        return self.error is None and self.lag_seconds is not None and (
            self.lag_seconds <= settings.REPLICA_MAX_LAG_SECONDS
        )

    def as_dict(self) -> dict:
        if self.error is not None:
            return {"status": "error", "error": self.error[:200]}
        return {
            "status": "ok" if self.usable else "lagging",
            "lag_seconds": round(self.lag_seconds, 3),
            "max_lag_seconds": settings.REPLICA_MAX_LAG_SECONDS,
        }


# The last measurement per replica, shared by the threads of a process.
_statuses: dict[str, ReplicaStatus] = {}


def measure_replica(alias: str) -> ReplicaStatus:
    """Ask a replica how far behind it is (on this thread's connection to it)."""
    connection = connections[alias]
    try:
        with connection.cursor() as cursor:
            cursor.execute(LAG_SQL)
            status = ReplicaStatus(alias, lag_seconds=float(cursor.fetchone()[0]))
    except DatabaseError as error:
        connection.close()
        status = ReplicaStatus(alias, error=first_line(error))
    _statuses[alias] = status
    return status


def replica_status(alias: str) -> ReplicaStatus:
    """The replica's status, measured again once the last one is REPLICA_CHECK_SECONDS old."""
    status = _statuses.get(alias)
    if status is None or time.monotonic() - status.checked_at >= settings.REPLICA_CHECK_SECONDS:
        status = measure_replica(alias)
    return status


def forget_replica_statuses() -> None:
    _statuses.clear()


def usable_replica() -> str | None:
    """A replica that answers and is no more than REPLICA_MAX_LAG_SECONDS behind (spread at
    random over the usable ones), or None."""
    aliases = replica_aliases()
    random.shuffle(aliases)
    for alias in aliases:
        if replica_status(alias).usable:
            return alias
    return None


# --- Read your own writes -----------------------------------------------------------------


def _pin_key(user_id) -> str:
    return f"replica-pin:u{user_id}"


def pin_reads_to_primary(user_id) -> None:
    """After a write: this user reads from the primary for REPLICA_PIN_SECONDS."""
    if not replica_aliases() or settings.REPLICA_PIN_SECONDS <= 0 or user_id is None:
        return
    try:
        cache.set(_pin_key(user_id), 1, timeout=settings.REPLICA_PIN_SECONDS)
    except Exception as error:  # the write is committed: a cache outage must not fail it
        logger.warning("could not pin user %s's reads to the primary: %s", user_id, first_line(error))


def reads_pinned(user_id) -> bool:
    """True while the user's last write is under REPLICA_PIN_SECONDS old (or Valkey does not
    answer: the primary is never wrong)."""
    if user_id is None:
        return False
    try:
        return cache.get(_pin_key(user_id)) is not None
    except Exception:
        return True


def replica_for_reads(user_id=None) -> str | None:
    """The replica a lag-tolerant read of this user may use, or None for the primary."""
    if not replica_aliases() or _read_alias.get() is not None or reads_pinned(user_id):
        return None
    return usable_replica()


# --- Behind PgBouncer (transaction mode) --------------------------------------------------


@checks.register("tenancy", "database_pooler")
def check_pooler_settings(app_configs=None, **kwargs):
    """With DATABASE_POOLER=pgbouncer (or a DigitalOcean pool port): nothing may need a server
    connection beyond one transaction, and the owner's connection must be direct."""
    return pooler_messages(settings.DATABASES, pooler=settings.DATABASE_POOLER, replicas=replica_aliases())


def pooler_messages(databases: dict, *, pooler: str | None, replicas: list[str]) -> list:
    """The check's messages for these DATABASES."""
    pooled = [alias for alias in (PRIMARY, *replicas) if pooler is not None
              or databases[alias].get("DISABLE_SERVER_SIDE_CURSORS")]
    if not pooled:
        return []
    messages = [
        checks.Info(
            f"Runtime connections ({', '.join(pooled)}) go through PgBouncer in transaction mode: the tenant is "
            "set per transaction, server-side cursors and prepared statements are off.",
            id="fynlo.I101",
        )
    ]
    for alias in pooled:
        config = databases[alias]
        if not config.get("DISABLE_SERVER_SIDE_CURSORS"):
            messages.append(checks.Error(
                f"DATABASES[{alias!r}] goes through PgBouncer in transaction mode but DISABLE_SERVER_SIDE_CURSORS "
                "is off: a cursor held open outside a transaction would be lost with its server connection.",
                hint="Leave DISABLE_SERVER_SIDE_CURSORS to the settings (True whenever DATABASE_POOLER is set).",
                id="fynlo.E102",
            ))
        if config.get("OPTIONS", {}).get("prepare_threshold") is not None:
            messages.append(checks.Error(
                f"DATABASES[{alias!r}] goes through PgBouncer in transaction mode but psycopg prepares statements "
                "on the server (OPTIONS prepare_threshold): PgBouncer 1.18 cannot carry them across connections.",
                hint="Set OPTIONS['prepare_threshold'] to None.",
                id="fynlo.E103",
            ))
    owner, primary = databases.get("owner", {}), databases[PRIMARY]
    owner_port = int(owner.get("PORT") or 5432)
    same_server = (owner.get("HOST"), owner.get("PORT")) == (primary.get("HOST"), primary.get("PORT"))
    if owner and (owner_port in POOLER_PORTS or (PRIMARY in pooled and same_server)):
        messages.append(checks.Warning(
            "DATABASE_OWNER_URL goes through the connection pooler: `migrate` and the cutover commands keep "
            "session state (advisory locks, SET lock_timeout, COPY runs) that transaction pooling breaks.",
            hint="Point DATABASE_OWNER_URL at the database's direct port (25060 on DigitalOcean), not the pool.",
            id="fynlo.W104",
        ))
    return messages
