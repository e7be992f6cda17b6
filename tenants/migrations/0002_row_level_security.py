"""Row-level security for tenants's tenant tables (see tenants.rls)."""

from django.db import migrations

from tenants.rls import EnableRLS, DROP_FUNCTIONS_SQL, FUNCTIONS_SQL, GrantRuntimeRole


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0001_initial"),
    ]

    operations = [
        GrantRuntimeRole(),
        migrations.RunSQL(FUNCTIONS_SQL, DROP_FUNCTIONS_SQL),
        EnableRLS(table="platforms", scope="platform_row"),
        EnableRLS(table="platform_settings", scope="platform"),
        EnableRLS(table="restaurants", scope="restaurant_row"),
        EnableRLS(table="restaurant_settings", scope="restaurant"),
        EnableRLS(table="users", scope="user"),
        EnableRLS(table="user_permissions", scope="restaurant"),
    ]
