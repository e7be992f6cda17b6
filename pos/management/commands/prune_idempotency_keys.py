"""`manage.py prune_idempotency_keys`: delete Idempotency-Key records past their lifetime.

Run it daily (cron, a DigitalOcean scheduled job). An expired key would be taken over by its
next request anyway; pruning keeps the table from growing with every order.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from pos.idempotency import prune_expired
from fynlo.core.messages import first_line


class Command(BaseCommand):
    help = "Delete Idempotency-Key records older than IDEMPOTENCY_KEY_TTL_HOURS, for every restaurant."

    def handle(self, *args, **options):
        try:
            deleted = prune_expired()
        except DatabaseError as error:
            raise CommandError(f"database error: {first_line(error)}", returncode=2) from error
        hours = settings.IDEMPOTENCY_KEY_TTL_HOURS
        self.stdout.write(f"Deleted {deleted} idempotency record(s) older than {hours} h.")
