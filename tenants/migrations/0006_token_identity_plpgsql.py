"""fynlo_identity_by_token(), which every token-authenticated request calls, in PL/pgSQL: it keeps
its plan for the session, where the LANGUAGE sql body was planned again at every call
(tenants.rls.TOKEN_FUNCTION_SQL)."""

from django.db import migrations

from tenants.rls import SQL_TOKEN_FUNCTION_SQL, TOKEN_FUNCTION_SQL


class Migration(migrations.Migration):

    dependencies = [
        ("tenants", "0005_restaurant_ids_fast_path"),
    ]

    operations = [
        migrations.RunSQL(TOKEN_FUNCTION_SQL, SQL_TOKEN_FUNCTION_SQL),
    ]
