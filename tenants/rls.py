"""Row-level security: the SQL functions, the policies per tenant scope, migration operations.

The tenant is read from three transaction-local settings (see tenants.context):
`app.current_restaurant_id`, `app.current_platform_id`, `app.all_tenants`. Unset means
no rows (fail closed, no error: `current_setting(name, true)` and `NULLIF(..., '')`).

Each policy is one indexed comparison `restaurant_id = ANY ((SELECT fynlo_restaurant_ids()))`:
the sub-select makes the function an InitPlan, evaluated once per query, whose result the
planner can use as an index condition.
"""

from __future__ import annotations

from django.conf import settings
from django.db import migrations

from tenants.models import TenantScope

# fynlo_restaurant_ids() as migration 0002 made it (SECURITY DEFINER: it reads restaurants); 0005
# renames this body fynlo_restaurant_ids_scoped() behind a fast path (RESTAURANT_IDS_SQL).
_DEFINER_RESTAURANT_IDS = r"""
CREATE OR REPLACE FUNCTION {name}() RETURNS int[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    r int := NULLIF(current_setting('app.current_restaurant_id', true), '')::int;
    p int := NULLIF(current_setting('app.current_platform_id', true), '')::int;
BEGIN
    IF r IS NOT NULL AND p IS NOT NULL THEN
        RETURN ARRAY(SELECT id FROM restaurants WHERE id = r AND platform_id = p);
    ELSIF r IS NOT NULL THEN
        RETURN ARRAY[r];
    ELSIF p IS NOT NULL THEN
        RETURN ARRAY(SELECT id FROM restaurants WHERE platform_id = p ORDER BY id);
    ELSIF current_setting('app.all_tenants', true) = 'on' THEN
        RETURN ARRAY(SELECT id FROM restaurants ORDER BY id);
    END IF;
    RETURN '{}'::int[];
END
$$;
"""

# A user's tenant keys by email (login) or by id (a session's user at each request): the identity path
# (tenants.identity). Made LANGUAGE sql by migration 0002; PL/pgSQL since 0007, for the reason
# TOKEN_FUNCTION_SQL gives (a LANGUAGE sql body is planned again at every call).
_IDENTITY_FUNCTION = r"""
CREATE OR REPLACE FUNCTION fynlo_identity_by_{by}(lookup_{by} {type})
RETURNS TABLE (id int, restaurant_id int, platform_id int, is_superuser boolean, is_active boolean)
LANGUAGE {language} STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
{before}    SELECT u.id, u.restaurant_id, u.platform_id, u.is_superuser, u.is_active
    FROM users u WHERE {where}{after}
$$;
"""
_IDENTITY_LOOKUPS = [
    {"by": "email", "type": "text", "where": "lower(u.email) = lower(lookup_email)"},
    {"by": "id", "type": "int", "where": "u.id = lookup_id"},
]


def _identity_functions(language: str, *, before: str = "", after: str = "") -> str:
    return "".join(
        _IDENTITY_FUNCTION.format(language=language, before=before, after=after, **lookup) for lookup in _IDENTITY_LOOKUPS
    )


# As migration 0002 creates them (and 0007 backwards restores them).
SQL_IDENTITY_FUNCTIONS_SQL = _identity_functions("sql")
# A query's rows as a PL/pgSQL function's result (what goes before and after the query). The result
# columns are also the function's variables: `use_column` lets the query's column names win.
_PLPGSQL_QUERY = {"before": "#variable_conflict use_column\nBEGIN\n    RETURN QUERY\n", "after": ";\nEND"}
IDENTITY_FUNCTIONS_SQL = _identity_functions("plpgsql", **_PLPGSQL_QUERY)

# The functions as migration 0002 made them (0005 splits fynlo_restaurant_ids: RESTAURANT_IDS_SQL).
FUNCTIONS_SQL = _DEFINER_RESTAURANT_IDS.replace("{name}", "fynlo_restaurant_ids") + r"""
CREATE OR REPLACE FUNCTION fynlo_platform_ids() RETURNS int[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    r int := NULLIF(current_setting('app.current_restaurant_id', true), '')::int;
    p int := NULLIF(current_setting('app.current_platform_id', true), '')::int;
BEGIN
    IF p IS NOT NULL AND r IS NULL THEN
        RETURN ARRAY[p];
    ELSIF p IS NULL AND r IS NULL AND current_setting('app.all_tenants', true) = 'on' THEN
        RETURN ARRAY(SELECT id FROM platforms ORDER BY id);
    END IF;
    RETURN '{}'::int[];
END
$$;

CREATE OR REPLACE FUNCTION fynlo_visible_platform_ids() RETURNS int[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    r int := NULLIF(current_setting('app.current_restaurant_id', true), '')::int;
BEGIN
    IF r IS NULL THEN
        RETURN fynlo_platform_ids();
    END IF;
    RETURN ARRAY(SELECT platform_id FROM restaurants WHERE id = ANY (fynlo_restaurant_ids()));
END
$$;
""" + SQL_IDENTITY_FUNCTIONS_SQL

# fynlo_restaurant_ids() as migration 0005 leaves it: a request acting for one restaurant (the
# order path, every till) gets its id from an invoker function with no SET clause, ~2 us a call;
# the SECURITY DEFINER one above, whose `SET search_path` saves and restores a setting at every
# call (~7.5 us), now named fynlo_restaurant_ids_scoped(), answers every other scope. A policy
# calls it once per table a statement names (an InitPlan). The fast path reads only settings
# (names qualified, no operator looked up by search_path) and returns what the definer's second
# branch returns.
RESTAURANT_IDS_SQL = _DEFINER_RESTAURANT_IDS.replace("{name}", "fynlo_restaurant_ids_scoped") + r"""
CREATE OR REPLACE FUNCTION fynlo_restaurant_ids() RETURNS int[]
LANGUAGE plpgsql STABLE SECURITY INVOKER AS $$
DECLARE
    r int := NULLIF(pg_catalog.current_setting('app.current_restaurant_id', true), '')::int;
BEGIN
    IF r IS NOT NULL AND NULLIF(pg_catalog.current_setting('app.current_platform_id', true), '') IS NULL THEN
        RETURN ARRAY[r];
    END IF;
    RETURN public.fynlo_restaurant_ids_scoped();
END
$$;
"""

# Migration 0005 backwards: fynlo_restaurant_ids() as FUNCTIONS_SQL made it.
PREVIOUS_RESTAURANT_IDS_SQL = _DEFINER_RESTAURANT_IDS.replace("{name}", "fynlo_restaurant_ids") + r"""DROP FUNCTION IF EXISTS fynlo_restaurant_ids_scoped();
"""

DROP_FUNCTIONS_SQL = """
DROP FUNCTION IF EXISTS fynlo_identity_by_id(int);
DROP FUNCTION IF EXISTS fynlo_identity_by_email(text);
DROP FUNCTION IF EXISTS fynlo_visible_platform_ids();
DROP FUNCTION IF EXISTS fynlo_platform_ids();
DROP FUNCTION IF EXISTS fynlo_restaurant_ids();
"""

# An API token's key (its SHA-256) to the token, its user's tenant keys, the rest of the user's
# row (never its password hash) and whether the user's restaurant is active, in one round trip:
# the token's holder is that user, so nothing here is more than the user may read of themselves
# once signed in, and authenticating a request costs one statement (tenants.identity). The
# token's last use is recorded on the way, at most once a minute per token and never waiting
# for a concurrent request of the same token (SKIP LOCKED). Dropped first: its columns grew.
_TOKEN_FUNCTION = r"""
DROP FUNCTION IF EXISTS fynlo_identity_by_token(text);
CREATE FUNCTION fynlo_identity_by_token(lookup_hash text)
RETURNS TABLE (token_id int, token_created_at timestamptz,
               id int, restaurant_id int, platform_id int, is_superuser boolean, is_active boolean,
               last_login timestamptz, email varchar, first_name varchar, last_name varchar, phone varchar,
               role varchar, profile_image_url text, created_at timestamptz, updated_at timestamptz,
               restaurant_is_active boolean)
LANGUAGE {language} VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
{before}    WITH used AS (
        UPDATE api_tokens SET last_used_at = now()
        WHERE api_tokens.id IN (
            SELECT t.id FROM api_tokens t
            WHERE t.key_hash = lookup_hash AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute')
            FOR UPDATE SKIP LOCKED
        )
    )
    SELECT t.id, t.created_at, u.id, u.restaurant_id, u.platform_id, u.is_superuser, u.is_active,
           u.last_login, u.email, u.first_name, u.last_name, u.phone, u.role, u.profile_image_url,
           u.created_at, u.updated_at, r.is_active
    FROM api_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN restaurants r ON r.id = u.restaurant_id
    WHERE t.key_hash = lookup_hash{after}
$$;
"""
# PL/pgSQL since migration 0006: PostgreSQL plans a LANGUAGE sql function's body again at every call
# (it keeps no plan across calls before version 18), a PL/pgSQL one keeps its plans for the session.
# Every token-authenticated request calls it: 0.49 -> 0.16 ms a call (pgbench, one client, a
# persistent connection). Every column the query names is qualified anyway (_PLPGSQL_QUERY).
TOKEN_FUNCTION_SQL = _TOKEN_FUNCTION.format(language="plpgsql", **_PLPGSQL_QUERY)
# The LANGUAGE sql body, as migrations 0003 and 0004 create it (and 0006 backwards restores it).
SQL_TOKEN_FUNCTION_SQL = _TOKEN_FUNCTION.format(language="sql", before="", after="")

DROP_TOKEN_FUNCTION_SQL = "DROP FUNCTION IF EXISTS fynlo_identity_by_token(text);"

_RESTAURANTS = "(SELECT fynlo_restaurant_ids())::int[]"
_PLATFORMS = "(SELECT fynlo_platform_ids())::int[]"
_VISIBLE_PLATFORMS = "(SELECT fynlo_visible_platform_ids())::int[]"


def _restaurant_scope(table: str) -> list[tuple[str, str]]:
    rule = f"restaurant_id = ANY ({_RESTAURANTS})"
    return [("tenant_isolation", f"CREATE POLICY tenant_isolation ON {table} USING ({rule}) WITH CHECK ({rule})")]


_OPERATIONS = "current_setting('app.all_tenants', true) = 'on'"


def _platform_scope(table: str, column: str) -> list[tuple[str, str]]:
    write = f"{column} = ANY ({_PLATFORMS})"
    read = f"{column} = ANY ({_VISIBLE_PLATFORMS})"
    if column == "id":
        # Operations staff create platforms, whose new id no list can hold yet (the lists are
        # computed when the statement starts; INSERT ... RETURNING checks the USING rule too).
        write = f"{write} OR {_OPERATIONS}"
    return [
        ("platform_isolation", f"CREATE POLICY platform_isolation ON {table} USING ({write}) WITH CHECK ({write})"),
        # restaurant staff may read their own platform's rows (plans, platform settings)
        ("platform_read", f"CREATE POLICY platform_read ON {table} FOR SELECT USING ({read})"),
    ]


def _restaurant_row_scope(table: str) -> list[tuple[str, str]]:
    # A platform sees a restaurant it has just created, before its id is in any list.
    using = f"id = ANY ({_RESTAURANTS}) OR platform_id = ANY ({_PLATFORMS})"
    check = (
        f"platform_id = ANY ({_VISIBLE_PLATFORMS}) "
        f"AND (id = ANY ({_RESTAURANTS}) OR platform_id = ANY ({_PLATFORMS}))"
    )
    return [("tenant_isolation", f"CREATE POLICY tenant_isolation ON {table} USING ({using}) WITH CHECK ({check})")]


def _user_scope(table: str) -> list[tuple[str, str]]:
    rule = (
        f"restaurant_id = ANY ({_RESTAURANTS}) "
        f"OR (restaurant_id IS NULL AND platform_id = ANY ({_PLATFORMS})) "
        f"OR (restaurant_id IS NULL AND platform_id IS NULL AND {_OPERATIONS})"
    )
    return [("tenant_isolation", f"CREATE POLICY tenant_isolation ON {table} USING ({rule}) WITH CHECK ({rule})")]


def policies_for(table: str, scope: str) -> list[tuple[str, str]]:
    """The (policy name, CREATE POLICY statement) pairs that a table of this scope carries."""
    if scope == TenantScope.RESTAURANT:
        return _restaurant_scope(table)
    if scope == TenantScope.PLATFORM:
        return _platform_scope(table, "platform_id")
    if scope == TenantScope.PLATFORM_ROW:
        return _platform_scope(table, "id")
    if scope == TenantScope.RESTAURANT_ROW:
        return _restaurant_row_scope(table)
    if scope == TenantScope.USER:
        return _user_scope(table)
    raise ValueError(f"unknown tenant scope {scope!r}")


def enable_sql(table: str, scope: str) -> list[str]:
    statements = [f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"]
    for name, create in policies_for(table, scope):
        statements.append(f"DROP POLICY IF EXISTS {name} ON {table}")
        statements.append(create)
    return statements


def disable_sql(table: str, scope: str) -> list[str]:
    statements = [f"DROP POLICY IF EXISTS {name} ON {table}" for name, _ in policies_for(table, scope)]
    statements.append(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    return statements


class EnableRLS(migrations.operations.base.Operation):
    """Enable row-level security on a tenant table and create its scope's policies.

    Tables are ENABLEd, not FORCEd: the owner bulk-loads with COPY (refused under RLS);
    the runtime role is never the owner (a system check enforces it).
    """

    reversible = True
    reduces_to_sql = True

    def __init__(self, table: str, scope: str):
        self.table = table
        self.scope = scope

    def deconstruct(self):
        return (self.__class__.__name__, [], {"table": self.table, "scope": self.scope})

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        for statement in enable_sql(self.table, self.scope):
            schema_editor.execute(statement)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        for statement in disable_sql(self.table, self.scope):
            schema_editor.execute(statement)

    def describe(self):
        return f"Enable row-level security ({self.scope} scope) on {self.table}"

    @property
    def migration_name_fragment(self):
        return f"rls_{self.table}"


def runtime_role() -> str | None:
    """The runtime role's name (DATABASE_URL's user), or None when it is the owner too."""
    runtime = settings.DATABASES["default"].get("USER") or ""
    owner = settings.DATABASES.get("owner", {}).get("USER") or ""
    if not runtime or runtime == owner:
        return None
    return runtime


class GrantRuntimeRole(migrations.operations.base.Operation):
    """Grant the runtime role DML on every table and sequence, now and in later migrations."""

    reversible = True
    reduces_to_sql = False

    def deconstruct(self):
        return (self.__class__.__name__, [], {})

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        role = runtime_role()
        if role is None:
            return
        quoted = schema_editor.quote_name(role)
        for statement in (
            f"GRANT USAGE ON SCHEMA public TO {quoted}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {quoted}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {quoted}",
        ):
            schema_editor.execute(statement)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass

    def describe(self):
        return "Grant the runtime role access to all tables and sequences (now and later)"
