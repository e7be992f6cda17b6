"""`migrate_legacy --undo` of a fynlo-v1 run takes back its id map entries and archive rows too.

`legacy_id_map.run_id`, `legacy_archive.run_id`: the run that wrote the row's version (NULL for
rows written before this migration), so --undo finds what a run wrote without a log row per
entry (a first import writes millions).

`legacy_import_keyed_changes`: per id map entry or archive row a run changed or deleted, the row
as it was before (its whole row, `prior`), put back by --undo of that run. Keyed by (legacy
table, legacy key), as those tables are. Owner-only like the ledger."""

from django.db import migrations

from tenants.rls import runtime_role

FORWARD = """
ALTER TABLE legacy_id_map ADD COLUMN run_id integer;
ALTER TABLE legacy_archive ADD COLUMN run_id integer;
CREATE INDEX legacy_id_map_run ON legacy_id_map (run_id);
CREATE INDEX legacy_archive_run ON legacy_archive (run_id);
CREATE TABLE legacy_import_keyed_changes (
    run_id integer NOT NULL REFERENCES legacy_import_runs (id),
    table_name text NOT NULL CHECK (table_name IN ('legacy_id_map', 'legacy_archive')),
    legacy_table text NOT NULL,
    legacy_key text NOT NULL,
    action text NOT NULL CHECK (action IN ('updated', 'deleted')),
    prior jsonb NOT NULL,
    PRIMARY KEY (run_id, table_name, legacy_table, legacy_key)
);
ALTER TABLE legacy_import_keyed_changes ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON legacy_import_keyed_changes FROM PUBLIC;
"""
REVERSE = """
DROP TABLE legacy_import_keyed_changes;
DROP INDEX legacy_archive_run;
DROP INDEX legacy_id_map_run;
ALTER TABLE legacy_archive DROP COLUMN run_id;
ALTER TABLE legacy_id_map DROP COLUMN run_id;
"""


def revoke_runtime_role(apps, schema_editor):
    role = runtime_role()
    if role:
        schema_editor.execute(f"REVOKE ALL ON legacy_import_keyed_changes FROM {schema_editor.quote_name(role)}")


class Migration(migrations.Migration):
    dependencies = [
        ("cutover", "0006_legacy_import_rows_raw_hash"),
    ]

    operations = [
        migrations.RunSQL(FORWARD, reverse_sql=REVERSE),
        migrations.RunPython(revoke_runtime_role, migrations.RunPython.noop),
    ]
