"""Row-level security for inventory's tenant tables (see tenants.rls)."""

from django.db import migrations

from tenants.rls import EnableRLS


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0001_initial"),
        ("tenants", "0002_row_level_security"),
    ]

    operations = [
        EnableRLS(table="categories", scope="restaurant"),
        EnableRLS(table="products", scope="restaurant"),
        EnableRLS(table="suppliers", scope="restaurant"),
        EnableRLS(table="inventory_items", scope="restaurant"),
        EnableRLS(table="stock_movements", scope="restaurant"),
        EnableRLS(table="restock_orders", scope="restaurant"),
        EnableRLS(table="restock_order_items", scope="restaurant"),
    ]
