"""`manage.py seed_demo`: the guide's demo restaurant (step 3.3), deterministic and idempotent."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from fynlo.core.messages import first_line
from fynlo.demo.seed import (
    DEFAULT_DEMO_PASSWORD,
    DEMO_PASSWORD_ENV,
    DemoReport,
    DemoSeedError,
    demo_logins,
    demo_password,
    demo_seed,
)


class Command(BaseCommand):
    help = (
        "Seed the guide's demo restaurant (Fynlo Mexican Restaurant): platform, plans, menu, suppliers, "
        "stock, staff and 20 completed orders. Creates only what is missing; a second run changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            help=(
                f"password of every demo user, existing ones included (default: ${DEMO_PASSWORD_ENV} or "
                f"{DEFAULT_DEMO_PASSWORD!r}, for new users only)"
            ),
        )
        parser.add_argument(
            "--print-logins",
            action="store_true",
            help=(
                "print one login per demo role: platform owner, restaurant owner, manager, cashier, server, cook "
                "(the summary only when rows were created)"
            ),
        )

    def handle(self, *args, password=None, print_logins=False, **options):
        try:
            report = demo_seed(password=password)
            logins = demo_logins(password=demo_password(password)) if print_logins else []
        except DemoSeedError as error:
            raise CommandError(str(error), returncode=1) from error
        except DatabaseError as error:
            raise CommandError(f"database error: {first_line(error)}", returncode=2) from error

        if not print_logins or report.created:
            self._print_summary(report)
        for login in logins:
            if login.password is None:
                self.stdout.write(f"{login.label}: {login.email} (its password was changed; reset it with --password)")
            else:
                self.stdout.write(f"{login.label}: {login.email} / {login.password}")

    def _print_summary(self, report: DemoReport) -> None:
        width = max(len(table) for table in report.tables)
        for table, count in report.tables.items():
            line = f"{table:<{width}}  created {count.created}, existing {count.existing}"
            if count.updated:
                line += f" (password reset on {count.updated})"
            self.stdout.write(line)
        self.stdout.write(
            f"{report.restaurant_name}: {report.created} rows created, {report.existing} already there."
        )
