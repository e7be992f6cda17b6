"""Django's PostgreSQL backend, with its connection health check (`CONN_HEALTH_CHECKS`) done at
most every `HEALTH_CHECK_SECONDS` (DATABASE_HEALTH_CHECK_INTERVAL) per connection.

Django checks a persistent connection at the start of every request that uses it: a `SELECT 1`
in a transaction of its own, one more round trip than the request's statements (and, behind a
transaction-mode PgBouncer, one more transaction for the pooler to hand a server connection to).
Here a connection that has committed, or passed a check, within the interval is taken as alive.
One that dies inside the interval fails the request that finds it dead; Django then checks it
(`errors_occurred`) at the next request's start and replaces it, as it would without checks.
"""

from __future__ import annotations

import time

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    alive_at: float | None = None  # time.monotonic() of the last commit or passed check

    def close_if_health_check_failed(self):
        if self.connection is not None and self.health_check_enabled and not self.health_check_done:
            seconds = self.settings_dict.get("HEALTH_CHECK_SECONDS") or 0
            if self.alive_at is not None and time.monotonic() - self.alive_at < seconds:
                self.health_check_done = True
                return
            super().close_if_health_check_failed()
            if self.connection is not None:
                self.alive_at = time.monotonic()
            return
        super().close_if_health_check_failed()

    def _commit(self):
        super()._commit()
        if self.connection is not None:
            self.alive_at = time.monotonic()

    def _close(self):
        self.alive_at = None
        super()._close()
