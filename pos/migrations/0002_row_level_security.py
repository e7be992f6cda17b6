"""Row-level security for pos's tenant tables (see tenants.rls)."""

from django.db import migrations

from tenants.rls import EnableRLS


class Migration(migrations.Migration):
    dependencies = [
        ("pos", "0001_initial"),
        ("tenants", "0002_row_level_security"),
    ]

    operations = [
        EnableRLS(table="orders", scope="restaurant"),
        EnableRLS(table="order_items", scope="restaurant"),
        EnableRLS(table="payments", scope="restaurant"),
        EnableRLS(table="refunds", scope="restaurant"),
        EnableRLS(table="daily_reports", scope="restaurant"),
    ]
