"""`migrate_legacy --undo`: per run, the columns each table's row hashes were taken over (so
the hash of ours now can be compared with the one written), and when the run was taken back."""

from django.db import migrations

FORWARD = """
ALTER TABLE legacy_import_runs ADD COLUMN hashed_columns jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE legacy_import_runs ADD COLUMN undone_at timestamptz;
"""
REVERSE = """
ALTER TABLE legacy_import_runs DROP COLUMN undone_at;
ALTER TABLE legacy_import_runs DROP COLUMN hashed_columns;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("cutover", "0003_legacy_import_runs_and_rows"),
    ]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=REVERSE)]
