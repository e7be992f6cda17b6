"""`migrate` runs as the schema owner (DATABASE_OWNER_URL) unless --database says otherwise.

A table created by the runtime role would be owned by it, and row-level security would
never apply to it; so plain `manage.py migrate` must never use DATABASE_URL.
"""

from django.core.management.commands.migrate import Command as DjangoMigrateCommand


class Command(DjangoMigrateCommand):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(database="owner")
