"""System check: refuse to serve when the runtime role could bypass row-level security."""

from __future__ import annotations

from django.core.checks import Error, register
from django.db import connections
from django.db.utils import OperationalError


def runtime_role_problems(using: str = "default") -> list[str]:
    """What is wrong with the runtime connection's role, as human sentences."""
    from tenants.scope import tenant_models

    tables = [model._meta.db_table for model in tenant_models()]
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT current_user, r.rolsuper, r.rolbypassrls FROM pg_roles r WHERE r.rolname = current_user"
        )
        role, is_super, bypass = cursor.fetchone()
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
            " AND c.relname = ANY(%s) AND pg_has_role(current_user, c.relowner, 'USAGE')",
            [tables],
        )
        owned = sorted(row[0] for row in cursor.fetchall())
    problems = []
    if is_super:
        problems.append(f"role {role!r} is a superuser")
    if bypass:
        problems.append(f"role {role!r} has BYPASSRLS")
    if owned:
        problems.append(f"role {role!r} owns tenant tables ({', '.join(owned[:5])}{'...' if len(owned) > 5 else ''})")
    return problems


@register("tenancy")
def check_runtime_role(app_configs=None, **kwargs):
    try:
        problems = runtime_role_problems()
    except OperationalError:
        return []  # database unreachable: nothing to judge; requests will fail on their own
    return [
        Error(
            f"The runtime database connection (DATABASE_URL) would bypass row-level security: {problem}.",
            hint="Point DATABASE_URL at the runtime role (NOSUPERUSER, NOBYPASSRLS, owns nothing); "
            "run migrations with DATABASE_OWNER_URL.",
            id="tenants.E001",
        )
        for problem in problems
    ]
