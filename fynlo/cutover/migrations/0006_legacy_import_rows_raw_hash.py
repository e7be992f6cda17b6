"""`migrate_legacy --catch-up` without parsing what did not change: per row an import wrote, 64
bits of the sha1 of the source record as it was read (its fields, salted with what else the
row's translation depends on: the format, the file's header, the run's options, the parents'
tenants). A catch-up whose source record hashes the same, over a row of ours untouched since,
skips that row's validation and conversion. NULL until a run records it (rows written before
this migration, rows a catch-up updated back by --undo).

`written_xmin`: the transaction that wrote the row version the written hash was taken of (its
`xmin`, 32 bits), so a catch-up tells ours untouched without hashing every row of ours: a row whose
`xmin` is still that one is the version written; any other is hashed as before. NULL where not
known (rows written before this migration, rows put back by --undo). The table stays owner-only."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("cutover", "0005_legacy_import_changes"),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE legacy_import_rows ADD COLUMN raw_hash bigint, ADD COLUMN written_xmin bigint",
            reverse_sql="ALTER TABLE legacy_import_rows DROP COLUMN raw_hash, DROP COLUMN written_xmin",
        ),
    ]
