"""Which tables are tenant-scoped, and the short, explicit list of global ones."""

from __future__ import annotations

from django.apps import apps

# Tables that hold no restaurant's or platform's data. Anything else must declare a scope.
GLOBAL_TABLES = frozenset({
    "django_migrations",
    "django_content_type",
    "auth_permission",
    "auth_group",
    "auth_group_permissions",
    # admin history: the admin shows each user only their own entries
    "django_admin_log",
    # API tokens: only SHA-256 hashes of the keys; a key is found only through the identity
    # path (fynlo_identity_by_token), a user's tokens only by their user_id. Tenant-scoped, the
    # table would be a cutover table (tenant_models()) that the legacy export never has.
    "api_tokens",
})

# Tables the runtime role must not touch at all (no grants): the cutover's bookkeeping.
OWNER_ONLY_TABLES = frozenset({
    # migrate_legacy's record of constraints it set aside while loading
    "legacy_import_ledger",
    # migrate_legacy's map of legacy keys (UUIDs) to our ids, and its archive of unmapped legacy data
    "legacy_id_map",
    "legacy_archive",
    # migrate_legacy's runs, and per imported row its run and hashes (source, written)
    "legacy_import_runs",
    "legacy_import_rows",
    # the prior version of each row a catch-up changed or deleted (what --undo puts back)
    "legacy_import_changes",
    # ... and of each id map entry or archive row a run changed or deleted (fynlo-v1)
    "legacy_import_keyed_changes",
})


def tenant_models() -> list:
    """Every installed concrete model that declares a tenant scope."""
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if getattr(model, "tenant_scope", None) and not model._meta.proxy
    ]


def unscoped_tables(models=None) -> list[str]:
    """Tables neither tenant-scoped nor on the global allow-list (should be empty)."""
    if models is None:
        models = apps.get_models(include_auto_created=True)
    return sorted(
        model._meta.db_table
        for model in models
        if not model._meta.proxy
        and not getattr(model, "tenant_scope", None)
        and model._meta.db_table not in GLOBAL_TABLES
    )
