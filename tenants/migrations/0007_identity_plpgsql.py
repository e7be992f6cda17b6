"""fynlo_identity_by_email() and fynlo_identity_by_id() in PL/pgSQL, as 0006 made the token's: a
session user's every request calls the second (tenants.auth), and a LANGUAGE sql body is planned
again at every call (tenants.rls.IDENTITY_FUNCTIONS_SQL)."""

from django.db import migrations

from tenants.rls import IDENTITY_FUNCTIONS_SQL, SQL_IDENTITY_FUNCTIONS_SQL


class Migration(migrations.Migration):

    dependencies = [
        ("tenants", "0006_token_identity_plpgsql"),
    ]

    operations = [
        migrations.RunSQL(IDENTITY_FUNCTIONS_SQL, SQL_IDENTITY_FUNCTIONS_SQL),
    ]
