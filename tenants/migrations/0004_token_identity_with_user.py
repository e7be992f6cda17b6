"""The token's identity function returns the user's row too (never its password hash) and
whether the user's restaurant is active, so authenticating an API request is one statement."""

from django.db import migrations

from tenants.rls import SQL_TOKEN_FUNCTION_SQL

PREVIOUS_TOKEN_FUNCTION_SQL = r"""
DROP FUNCTION IF EXISTS fynlo_identity_by_token(text);
CREATE FUNCTION fynlo_identity_by_token(lookup_hash text)
RETURNS TABLE (token_id int, token_created_at timestamptz,
               id int, restaurant_id int, platform_id int, is_superuser boolean, is_active boolean)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    WITH used AS (
        UPDATE api_tokens SET last_used_at = now()
        WHERE api_tokens.id IN (
            SELECT t.id FROM api_tokens t
            WHERE t.key_hash = lookup_hash AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute')
            FOR UPDATE SKIP LOCKED
        )
    )
    SELECT t.id, t.created_at, u.id, u.restaurant_id, u.platform_id, u.is_superuser, u.is_active
    FROM api_tokens t JOIN users u ON u.id = t.user_id
    WHERE t.key_hash = lookup_hash
$$;
"""


class Migration(migrations.Migration):

    dependencies = [
        ("tenants", "0003_api_tokens"),
    ]

    operations = [
        migrations.RunSQL(SQL_TOKEN_FUNCTION_SQL, PREVIOUS_TOKEN_FUNCTION_SQL),
    ]
