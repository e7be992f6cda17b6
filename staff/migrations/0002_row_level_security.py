"""Row-level security for staff's tenant tables (see tenants.rls)."""

from django.db import migrations

from tenants.rls import EnableRLS


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0001_initial"),
        ("tenants", "0002_row_level_security"),
    ]

    operations = [
        EnableRLS(table="employee_roles", scope="restaurant"),
        EnableRLS(table="employees", scope="restaurant"),
        EnableRLS(table="schedules", scope="restaurant"),
        EnableRLS(table="shifts", scope="restaurant"),
        EnableRLS(table="time_tracking", scope="restaurant"),
        EnableRLS(table="performance_metrics", scope="restaurant"),
    ]
