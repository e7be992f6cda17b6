"""Row-level security for billing's tenant tables (see tenants.rls)."""

from django.db import migrations

from tenants.rls import EnableRLS


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
        ("tenants", "0002_row_level_security"),
    ]

    operations = [
        EnableRLS(table="subscription_plans", scope="platform"),
        EnableRLS(table="restaurant_subscriptions", scope="restaurant"),
        EnableRLS(table="commission_records", scope="restaurant"),
    ]
