"""API tokens of our own, one per login (rest_framework.authtoken held one per user).

The old tokens move over as hashes with their issue time, so signed-in tills stay signed in
until their tokens expire; DRF's authtoken table and its bookkeeping are then removed (the
app is no longer installed; on a fresh database none of it exists).
"""

import django.db.models.deletion
import django.db.models.functions.datetime
from django.conf import settings
from django.db import migrations, models

from tenants.rls import DROP_TOKEN_FUNCTION_SQL, SQL_TOKEN_FUNCTION_SQL

MOVE_AUTHTOKEN_TOKENS_SQL = r"""
DO $$
BEGIN
    IF to_regclass('authtoken_token') IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO api_tokens (user_id, key_hash, device, created_at)
    SELECT user_id, encode(sha256(convert_to(key, 'UTF8')), 'hex'), '', created FROM authtoken_token;
    DROP TABLE authtoken_token;
    DELETE FROM django_migrations WHERE app = 'authtoken';
    DELETE FROM auth_permission
    WHERE content_type_id IN (SELECT id FROM django_content_type WHERE app_label = 'authtoken');
    UPDATE django_admin_log SET content_type_id = NULL
    WHERE content_type_id IN (SELECT id FROM django_content_type WHERE app_label = 'authtoken');
    DELETE FROM django_content_type WHERE app_label = 'authtoken';
END
$$;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0002_row_level_security'),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('id', models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key_hash', models.CharField(max_length=64, unique=True)),
                ('device', models.CharField(blank=True, db_default='', max_length=100)),
                ('created_at', models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
                ('last_used_at', models.DateTimeField(blank=True, null=True)),
                ('user', models.ForeignKey(db_column='user_id', on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'api_tokens',
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.RunSQL(SQL_TOKEN_FUNCTION_SQL, DROP_TOKEN_FUNCTION_SQL),
        migrations.RunSQL(MOVE_AUTHTOKEN_TOKENS_SQL, migrations.RunSQL.noop),
    ]
