"""migrate_legacy's id map and archive for legacy systems whose keys are not ours (fynlo-v1).

`legacy_id_map`: (legacy table, legacy key) -> the id given in our table, filled the first time a
key is seen, so every re-run and catch-up maps the same key to the same id. A `span` above 1
reserves consecutive ids (an order's lines, from its `items` JSON).

`legacy_archive`: every legacy row, or part of one, that no column of ours holds, keyed by
(legacy table, legacy key), with its restaurant when known: nothing of the legacy data is
dropped. It may hold secrets (bank details, provider credentials), hence owner-only like the
ledger: no privilege for the runtime role, row-level security enabled with no policy.
"""

from django.db import migrations

from tenants.rls import runtime_role

TABLES = ("legacy_id_map", "legacy_archive")

CREATE = """
CREATE TABLE legacy_id_map (
    legacy_table text NOT NULL,
    legacy_key text NOT NULL,
    target_table text NOT NULL,
    new_id integer NOT NULL,
    span integer NOT NULL DEFAULT 1 CHECK (span >= 0),
    mapped_at timestamptz NOT NULL DEFAULT statement_timestamp(),
    PRIMARY KEY (legacy_table, legacy_key)
);
CREATE INDEX legacy_id_map_target ON legacy_id_map (target_table, new_id);
CREATE TABLE legacy_archive (
    legacy_table text NOT NULL,
    legacy_key text NOT NULL,
    restaurant_id integer,
    "row" jsonb NOT NULL,
    run_started_at timestamptz NOT NULL,
    PRIMARY KEY (legacy_table, legacy_key)
);
ALTER TABLE legacy_id_map ENABLE ROW LEVEL SECURITY;
ALTER TABLE legacy_archive ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON legacy_id_map FROM PUBLIC;
REVOKE ALL ON legacy_archive FROM PUBLIC;
"""


def revoke_runtime_role(apps, schema_editor):
    role = runtime_role()
    if role:
        for table in TABLES:
            schema_editor.execute(f"REVOKE ALL ON {table} FROM {schema_editor.quote_name(role)}")


class Migration(migrations.Migration):
    dependencies = [
        ("cutover", "0001_legacy_import_ledger"),
    ]

    operations = [
        migrations.RunSQL(CREATE, reverse_sql="DROP TABLE legacy_archive; DROP TABLE legacy_id_map"),
        migrations.RunPython(revoke_runtime_role, migrations.RunPython.noop),
    ]
