"""`legacy_import_rows.run_id` without its foreign key to `legacy_import_runs`.

The key was checked once for every row an import wrote (an RI trigger a row: ~9 us, a quarter of
the cost of writing the bookkeeping of a 50k-row batch), for a reference only `migrate_legacy`
writes, with the id of the run it has just made, to runs it never deletes. `legacy_id_map.run_id`
and `legacy_archive.run_id` (0007) carry none either. The index on `run_id` stays (`--undo`,
`--runs`).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("cutover", "0007_legacy_keyed_changes"),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE legacy_import_rows DROP CONSTRAINT IF EXISTS legacy_import_rows_run_id_fkey",
            reverse_sql="ALTER TABLE legacy_import_rows ADD CONSTRAINT legacy_import_rows_run_id_fkey"
            " FOREIGN KEY (run_id) REFERENCES legacy_import_runs (id)",
        ),
    ]
