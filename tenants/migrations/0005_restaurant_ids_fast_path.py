"""fynlo_restaurant_ids(), which every policy calls, answers a single restaurant's scope without
SECURITY DEFINER's `SET search_path` (tenants.rls.RESTAURANT_IDS_SQL)."""

from django.db import migrations

from tenants.rls import PREVIOUS_RESTAURANT_IDS_SQL, RESTAURANT_IDS_SQL


class Migration(migrations.Migration):

    dependencies = [
        ("tenants", "0004_token_identity_with_user"),
    ]

    operations = [
        migrations.RunSQL(RESTAURANT_IDS_SQL, PREVIOUS_RESTAURANT_IDS_SQL),
    ]
