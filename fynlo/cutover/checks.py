"""`cutover_check`: the guide's "Pre-cutover verification" (step 7.1) and "Verification Steps" as
one service. Each check answers PASS or FAIL with one line and its details:

- database: both roles connect (the owner, DATABASE_OWNER_URL; the runtime role, DATABASE_URL);
- migrations: every migration applied;
- row_level_security: RLS enabled with its policies on every tenant table, no table without a
  scope, the runtime role subject to RLS (tenants.checks), and no tenant row visible to it
  without a tenant;
- valkey: a key written, read back and deleted;
- spaces: HEAD of the bucket (skipped, and passed, when Spaces is not configured);
- row_counts: rows per table, equal to the legacy export's records when a source is given;
- orphans: rows whose parent is missing (foreign keys may have been dropped during the load);
- same_restaurant: children in their parent's restaurant;
- order_totals: total = subtotal + VAT + service charge - discount, subtotal = sum of the items;
- sequences: each id sequence ahead of the table's highest id;
- index_use: the hot queries' plans (as the runtime role, under a restaurant's tenant) use
  their indexes.

Data checks read as the owner, who bypasses row-level security and so sees every tenant.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core.cache import caches
from django.db import DatabaseError, connections, models, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from fynlo.cutover.common import first_line
from tenants.checks import runtime_role_problems
from tenants.context import NO_TENANT, apply_tenant, tenant_context
from tenants.references import same_restaurant_references
from tenants.rls import policies_for
from tenants.scope import tenant_models, unscoped_tables

PASS = "PASS"
FAIL = "FAIL"
OWNER = "owner"
RUNTIME = "default"
SAMPLE = 10  # offending rows listed per problem
INDEX_MIN_ROWS = 1000  # below this the planner rightly prefers a sequential scan
INDEX_WASTE_LIMIT = 1000  # rows a hot query may read beyond those it returns without its index
SPACES_TIMEOUT = 5.0


@dataclass
class CheckResult:
    name: str
    status: str
    summary: str
    details: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == PASS


@dataclass
class CutoverCheckReport:
    started_at: datetime
    source: str | None
    results: list[CheckResult] = field(default_factory=list)
    finished_at: datetime | None = None
    unreachable: str | None = None  # set when the database cannot be reached at all

    @property
    def passed(self) -> bool:
        return self.unreachable is None and all(result.passed for result in self.results)

    @property
    def failed(self) -> list[CheckResult]:
        return [result for result in self.results if not result.passed]

    def as_dict(self) -> dict:
        return {
            "command": "cutover_check",
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "source": self.source,
            "passed": self.passed,
            "unreachable": self.unreachable,
            "summary": {"checks": len(self.results), "passed": len(self.results) - len(self.failed),
                        "failed": len(self.failed)},
            "checks": [asdict(result) for result in self.results],
        }


def _result(name: str, problems: list[str], ok: str, details: dict) -> CheckResult:
    if problems:
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        return CheckResult(name, FAIL, "; ".join(problems[:3]) + more, details)
    return CheckResult(name, PASS, ok, details)


def _owner_rows(sql: str, params=None) -> list[tuple]:
    with connections[OWNER].cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def _quote(name: str) -> str:
    return connections[OWNER].ops.quote_name(name)


def _model_tables() -> list[type[models.Model]]:
    return [
        model for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy and not model._meta.swapped
    ]


# --- Connectivity -----------------------------------------------------------------------------


def check_database() -> CheckResult:
    details, problems = {}, []
    for alias, label in ((OWNER, "owner"), (RUNTIME, "runtime")):
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT current_user, current_database(), current_setting('server_version')")
                role, database, version = cursor.fetchone()
        except DatabaseError as error:
            connections[alias].close()
            details[label] = {"error": first_line(error)}
            problems.append(f"the {label} role ({'DATABASE_OWNER_URL' if alias == OWNER else 'DATABASE_URL'}) "
                            f"cannot connect: {first_line(error)}")
        else:
            details[label] = {"role": role, "database": database, "server_version": version}
    if problems:
        return _result("database", problems, "", details)
    owner, runtime = details["owner"], details["runtime"]
    return CheckResult("database", PASS, (
        f"owner {owner['role']} and runtime {runtime['role']} connect to {owner['database']} "
        f"(PostgreSQL {owner['server_version'].split()[0]})"
    ), details)


def check_valkey() -> CheckResult:
    location = settings.CACHES["default"].get("LOCATION", "")
    parts = urlsplit(location if isinstance(location, str) else location[0])
    where = f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path or ''}"
    details = {"server": where}
    cache = caches["default"]
    key = f"cutover_check:{uuid.uuid4().hex}"
    try:
        cache.set(key, "ok", timeout=60)
        answer = cache.get(key)
        cache.delete(key)
        info = cache.client.get_client(write=True).info("server") if hasattr(cache, "client") else {}
    except Exception as error:  # any client or network error is a failed check, reported
        return CheckResult("valkey", FAIL, f"{where} does not answer: {first_line(error)}", details)
    if answer != "ok":
        return CheckResult("valkey", FAIL, f"{where} did not return the key just written", details)
    version = info.get("valkey_version") or info.get("redis_version")
    details["version"] = version
    return CheckResult("valkey", PASS, f"{where} writes and reads (version {version or 'unknown'})", details)


def _spaces_setting(name: str, option: str):
    value = getattr(settings, name, None)
    if value:
        return value
    return settings.STORAGES.get("default", {}).get("OPTIONS", {}).get(option)


def check_spaces() -> CheckResult:
    bucket = getattr(settings, "SPACES_BUCKET", None)
    if not bucket:
        return CheckResult("spaces", PASS, "skipped: not configured (SPACES_BUCKET is empty; files stay local)",
                           {"skipped": True})
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    endpoint = _spaces_setting("SPACES_ENDPOINT_URL", "endpoint_url")
    details = {"bucket": bucket, "endpoint": endpoint, "skipped": False}
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=_spaces_setting("SPACES_REGION", "region_name"),
        aws_access_key_id=_spaces_setting("SPACES_ACCESS_KEY_ID", "access_key"),
        aws_secret_access_key=_spaces_setting("SPACES_SECRET_ACCESS_KEY", "secret_key"),
        config=Config(connect_timeout=SPACES_TIMEOUT, read_timeout=SPACES_TIMEOUT, retries={"max_attempts": 1}),
    )
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        reason = {"404": "no such bucket", "NoSuchBucket": "no such bucket", "403": "access denied"}.get(code, code)
        return CheckResult("spaces", FAIL, f"bucket {bucket} at {endpoint}: {reason}", details)
    except BotoCoreError as error:
        return CheckResult("spaces", FAIL, f"{endpoint} does not answer: {first_line(error)}", details)
    return CheckResult("spaces", PASS, f"bucket {bucket} at {endpoint} answers", details)


# --- Schema ------------------------------------------------------------------------------------


def check_migrations() -> CheckResult:
    executor = MigrationExecutor(connections[OWNER])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    unapplied = [f"{migration.app_label}.{migration.name}" for migration, backwards in plan if not backwards]
    applied = len(executor.loader.applied_migrations)
    details = {"applied": applied, "unapplied": unapplied}
    if unapplied:
        return CheckResult("migrations", FAIL, f"{len(unapplied)} not applied: {', '.join(unapplied[:5])}", details)
    return CheckResult("migrations", PASS, f"all {applied} applied", details)


def check_row_level_security() -> CheckResult:
    scopes = {model._meta.db_table: model.tenant_scope for model in tenant_models()}
    tables = sorted(scopes)
    enabled = dict(_owner_rows(
        "SELECT c.relname, c.relrowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname = ANY(%s)",
        [tables],
    ))
    present: dict[str, set[str]] = {}
    for table, policy in _owner_rows(
        "SELECT tablename, policyname FROM pg_policies WHERE schemaname = current_schema() AND tablename = ANY(%s)",
        [tables],
    ):
        present.setdefault(table, set()).add(policy)

    missing_tables = [table for table in tables if table not in enabled]
    disabled = [table for table in tables if table in enabled and not enabled[table]]
    missing_policies = {
        table: sorted({name for name, _ in policies_for(table, scopes[table])} - present.get(table, set()))
        for table in tables if table in enabled
    }
    missing_policies = {table: names for table, names in missing_policies.items() if names}
    unscoped = unscoped_tables()
    role_problems = runtime_role_problems(RUNTIME)
    visible = _visible_without_tenant([table for table in tables if table in enabled])

    problems = []
    if missing_tables:
        problems.append(f"tables missing: {', '.join(missing_tables)}")
    if disabled:
        problems.append(f"RLS disabled on {', '.join(disabled)}")
    for table, names in missing_policies.items():
        problems.append(f"{table} lacks polic{'ies' if len(names) > 1 else 'y'} {', '.join(names)}")
    if unscoped:
        problems.append(f"tables with no tenant scope: {', '.join(unscoped)}")
    problems.extend(f"runtime {problem}" for problem in role_problems)
    if visible:
        problems.append(f"the runtime role sees rows with no tenant set in {', '.join(visible)}")
    details = {
        "tenant_tables": len(tables), "rls_disabled": disabled, "missing_tables": missing_tables,
        "missing_policies": missing_policies, "unscoped_tables": unscoped, "runtime_role_problems": role_problems,
        "visible_without_tenant": visible,
    }
    policies = sum(len(names) for names in present.values())
    return _result("row_level_security", problems,
                   f"{len(tables)} tenant tables with RLS and their {policies} policies; runtime role subject to it",
                   details)


def _visible_without_tenant(tables: list[str]) -> list[str]:
    """Tables in which the runtime role sees rows although no tenant is set (fail-open)."""
    if not tables:
        return []
    probe = " UNION ALL ".join(f"SELECT %s FROM (SELECT 1 FROM {_quote(t)} LIMIT 1) AS {_quote('p_' + t)}"
                               for t in tables)
    with transaction.atomic(using=RUNTIME):
        apply_tenant(NO_TENANT, using=RUNTIME)
        with connections[RUNTIME].cursor() as cursor:
            cursor.execute(probe, tables)
            visible = sorted(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True, using=RUNTIME)  # a probe: leave the caller's tenant as it was
    return visible


def check_sequences() -> CheckResult:
    columns = _owner_rows(
        "SELECT c.table_name, c.column_name,"
        " pg_get_serial_sequence(format('%%I.%%I', c.table_schema, c.table_name), c.column_name)"
        " FROM information_schema.columns c"
        " WHERE c.table_schema = current_schema() AND (c.is_identity = 'YES' OR c.column_default LIKE 'nextval(%%')"
        " ORDER BY c.table_name"
    )
    behind, checked = [], 0
    for table, column, sequence in columns:
        if not sequence:
            continue
        (highest,), = _owner_rows(f"SELECT max({_quote(column)}) FROM {_quote(table)}")
        (last_value, is_called, increment), = _owner_rows(
            f"SELECT s.last_value, s.is_called, q.seqincrement FROM {sequence} s, pg_sequence q"
            " WHERE q.seqrelid = %s::regclass",
            [sequence],
        )
        checked += 1
        following = last_value + increment if is_called else last_value
        if highest is not None and following <= highest:
            behind.append({"table": table, "sequence": sequence, "max_id": highest, "next_value": following})
    problems = [f"{b['sequence']} would give {b['next_value']}, {b['table']} already has id {b['max_id']}"
                for b in behind]
    return _result("sequences", problems, f"{checked} sequences ahead of their table's highest id",
                   {"checked": checked, "behind": behind})


# --- Data ----------------------------------------------------------------------------------------


def _existing_tables() -> set[str]:
    return {row[0] for row in _owner_rows(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
    )}


def _table_counts() -> dict[str, int]:
    existing = _existing_tables()  # a table not created yet is the migrations check's finding
    tables = sorted({model._meta.db_table for model in _model_tables()} & existing)
    if not tables:
        return {}
    sql = " UNION ALL ".join(f"SELECT %s, count(*) FROM {_quote(table)}" for table in tables)
    return dict(_owner_rows(sql, tables))


def _recent_orders() -> dict[str, int]:
    """The guide's "check recent data": orders per day over the last seven days."""
    since = timezone.localtime() - timedelta(days=7)
    rows = _owner_rows(
        "SELECT (created_at AT TIME ZONE %s)::date AS day, count(*) FROM orders WHERE created_at >= %s"
        " GROUP BY day ORDER BY day DESC",
        [settings.TIME_ZONE, since],
    )
    return {day.isoformat(): count for day, count in rows}


@dataclass
class SourceCounts:
    """Records per export file of a legacy export, and what the counting said."""

    path: str
    records: dict[str, int]  # source table -> records
    problems: list[str]
    ignored: list[str]
    counted_by: str


def source_counts(path: str | Path) -> SourceCounts:
    """Count the records of each `<table>_export.csv` of a legacy export (folder, .zip, .tar.gz),
    with the importer's own reader (records, not lines: a quoted field may hold newlines)."""
    from fynlo.cutover.legacy.schema import source_order
    from fynlo.cutover.legacy.source import ParseError, open_source, scan

    records, problems = {}, []
    with open_source(path, tables=source_order()) as source:
        for table, source_file in source.files.items():
            try:
                records[table] = scan(source_file).rows
            except ParseError as error:
                problems.append(f"{source_file.name}: {error}")
        ignored = list(source.ignored)
    return SourceCounts(str(path), records, problems, ignored, "fynlo.cutover.legacy.source (CSV records)")


def _comparisons(source: SourceCounts) -> list[tuple[str, list[str], list[str]]]:
    """(label, source tables, database tables) to compare; the guide's one `settings` export
    is split into platform and restaurant settings on import."""
    from fynlo.cutover.legacy.schema import SETTINGS_SOURCE, SETTINGS_TARGETS

    targets = sorted(SETTINGS_TARGETS.values())
    pairs = []
    settings_sources = [t for t in [SETTINGS_SOURCE, *targets] if t in source.records]
    if SETTINGS_SOURCE in source.records:
        pairs.append((f"{SETTINGS_SOURCE} -> {' + '.join(targets)}", settings_sources, targets))
    for table in sorted(source.records):
        if table == SETTINGS_SOURCE or (table in targets and SETTINGS_SOURCE in source.records):
            continue
        pairs.append((table, [table], [table]))
    return pairs


def check_row_counts(source: SourceCounts | None) -> CheckResult:
    counts = _table_counts()
    details: dict = {"tables": counts, "recent_orders": _recent_orders() if "orders" in counts else {}}
    total = sum(counts.values())
    if source is None:
        return CheckResult("row_counts", PASS, f"{len(counts)} tables, {total:,} rows (no --source to compare)",
                           details)
    differences, compared = [], []
    for label, source_tables, tables in _comparisons(source):
        expected = sum(source.records[table] for table in source_tables)
        actual = sum(counts.get(table, 0) for table in tables)
        compared.append({"table": label, "source": expected, "database": actual})
        if expected != actual:
            differences.append(f"{label}: {actual:,} in the database, {expected:,} in the export")
    details.update({"source": source.path, "counted_by": source.counted_by, "compared": compared,
                    "ignored_files": source.ignored, "unreadable_files": source.problems})
    problems = differences + source.problems
    return _result("row_counts", problems,
                   f"{len(compared)} tables match the export ({total:,} rows in {len(counts)} tables)", details)


@dataclass(frozen=True)
class Reference:
    """A child column pointing at a parent row (a foreign key, or a plain integer the code
    treats as one)."""

    table: str
    column: str
    parent: str
    parent_column: str = "id"
    condition: str = ""  # extra SQL on the child row (c.)
    pk: str = "id"  # the child's primary key, to list offending rows

    @property
    def label(self) -> str:
        where = f" [{self.condition.replace('c.', '')}]" if self.condition else ""
        return f"{self.table}.{self.column} -> {self.parent}.{self.parent_column}{where}"


# References the schema does not declare as foreign keys (billing never imports pos).
LOGICAL_REFERENCES = (
    Reference("commission_records", "order_id", "orders"),
    Reference("stock_movements", "reference_id", "orders", condition="c.reference_type = 'order'"),
    Reference("stock_movements", "reference_id", "restock_orders", condition="c.reference_type = 'restock'"),
)


def _foreign_keys() -> list[tuple[Reference, type[models.Model], type[models.Model]]]:
    """Every foreign key between tables that exist (a missing table is the migrations check's)."""
    existing = _existing_tables()
    references = []
    for model in _model_tables():
        if model._meta.db_table not in existing:
            continue
        for model_field in model._meta.concrete_fields:
            if isinstance(model_field, models.ForeignKey):
                parent = model_field.related_model
                if parent._meta.db_table not in existing:
                    continue
                reference = Reference(
                    model._meta.db_table, model_field.column, parent._meta.db_table, model_field.target_field.column,
                    pk=model._meta.pk.column,
                )
                references.append((reference, model, parent))
    return sorted(references, key=lambda item: item[0].label)


def check_orphans() -> CheckResult:
    existing = _existing_tables()
    references = [reference for reference, _, _ in _foreign_keys()] + [
        ref for ref in LOGICAL_REFERENCES if {ref.table, ref.parent} <= existing
    ]
    orphans = {}
    for ref in references:
        condition = f" AND {ref.condition}" if ref.condition else ""
        rows = _owner_rows(
            f"SELECT c.{_quote(ref.pk)} FROM {_quote(ref.table)} c WHERE c.{_quote(ref.column)} IS NOT NULL{condition}"
            f" AND NOT EXISTS (SELECT 1 FROM {_quote(ref.parent)} p"
            f" WHERE p.{_quote(ref.parent_column)} = c.{_quote(ref.column)})"
            f" ORDER BY c.{_quote(ref.pk)}"
        )
        if rows:
            orphans[ref.label] = {"count": len(rows), "ids": [row[0] for row in rows[:SAMPLE]]}
    problems = [f"{info['count']:,} in {label}" for label, info in orphans.items()]
    return _result("orphans", problems, f"no row without its parent ({len(references)} references checked)",
                   {"references": len(references), "orphans": orphans})


def check_same_restaurant() -> CheckResult:
    # The database enforces it (tenants.references) except while migrate_legacy has the keys set aside.
    wanted = {(model._meta.db_table, field.column) for model, field in same_restaurant_references(_model_tables())}
    pairs = [reference for reference, _, _ in _foreign_keys() if (reference.table, reference.column) in wanted]
    mismatched = {}
    for ref in pairs:
        rows = _owner_rows(
            f"SELECT c.{_quote(ref.pk)} FROM {_quote(ref.table)} c JOIN {_quote(ref.parent)} p"
            f" ON p.{_quote(ref.parent_column)} = c.{_quote(ref.column)}"
            f" WHERE c.restaurant_id <> p.restaurant_id ORDER BY c.{_quote(ref.pk)}"
        )
        if rows:
            mismatched[ref.label] = {"count": len(rows), "ids": [row[0] for row in rows[:SAMPLE]]}
    problems = [f"{info['count']:,} in {label} belong to another restaurant than their parent"
                for label, info in mismatched.items()]
    return _result("same_restaurant", problems, f"every child in its parent's restaurant ({len(pairs)} references)",
                   {"references": len(pairs), "mismatched": mismatched})


def check_order_totals() -> CheckResult:
    # An order priced with VAT included (pos.pricing) holds its VAT inside the subtotal: none is added.
    rows = _owner_rows(
        "SELECT o.id, o.order_number, o.subtotal, CASE WHEN o.prices_include_vat THEN 0 ELSE o.tax_amount END,"
        " o.service_charge, o.discount_amount, o.total_amount, COALESCE(i.items, 0)"
        " FROM orders o LEFT JOIN (SELECT order_id, sum(total_price) AS items FROM order_items GROUP BY order_id) i"
        " ON i.order_id = o.id"
        " WHERE o.total_amount <> o.subtotal + CASE WHEN o.prices_include_vat THEN 0 ELSE o.tax_amount END"
        " + o.service_charge - o.discount_amount"
        " OR o.subtotal <> COALESCE(i.items, 0)"
        " ORDER BY o.id"
    )
    (orders,), = _owner_rows("SELECT count(*) FROM orders")
    wrong = []
    for pk, number, subtotal, tax, service, discount, total, items in rows[:SAMPLE]:
        reasons = []
        if total != subtotal + tax + service - discount:
            reasons.append(f"total {total} <> {subtotal} + {tax} + {service} - {discount}")
        if subtotal != items:
            reasons.append(f"subtotal {subtotal} <> items {items}")
        wrong.append({"id": pk, "order_number": number, "problems": reasons})
    problems = [f"{len(rows):,} of {orders:,} orders: e.g. {wrong[0]['order_number']}: {'; '.join(wrong[0]['problems'])}"
                ] if rows else []
    return _result("order_totals", problems, f"{orders:,} orders add up", {"orders": orders, "wrong": len(rows),
                                                                          "sample": wrong})


# --- Index use -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HotQuery:
    name: str
    table: str
    sql: str  # parameters: restaurant id, then the window's start and end (if any)
    index: str | None  # the index it must use; None: any index whose first column is restaurant_id
    windowed: bool = False


HOT_QUERIES = (
    HotQuery(
        "orders by restaurant and date",
        "orders",
        "SELECT id, order_number, status, total_amount, created_at FROM orders"
        " WHERE restaurant_id = %s AND created_at >= %s AND created_at < %s ORDER BY created_at DESC LIMIT 100",
        "idx_orders_restaurant_date",
        windowed=True,
    ),
    HotQuery(
        "products by restaurant",
        "products",
        "SELECT id, name, price, category_id FROM products WHERE restaurant_id = %s AND is_active ORDER BY name",
        None,
    ),
)


def _restaurant_indexes(table: str) -> list[str]:
    return [row[0] for row in _owner_rows(
        "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid"
        " JOIN pg_namespace n ON n.oid = t.relnamespace JOIN pg_attribute a ON a.attrelid = t.oid"
        " AND a.attnum = x.indkey[0]"
        " WHERE n.nspname = current_schema() AND t.relname = %s AND a.attname = 'restaurant_id' ORDER BY i.relname",
        [table],
    )]


def _plan_nodes(plan: dict) -> list[dict]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes.extend(_plan_nodes(child))
    return nodes


def _explain(query: HotQuery, restaurant_id: int, window: tuple | None, *, analyze: bool = False) -> dict:
    """The query's plan as the runtime role under the restaurant's tenant (RLS applies)."""
    params = [restaurant_id, *(window or ())]
    options = "ANALYZE, FORMAT JSON" if analyze else "FORMAT JSON"
    with tenant_context(restaurant=restaurant_id, using=RUNTIME):
        with connections[RUNTIME].cursor() as cursor:
            cursor.execute(f"EXPLAIN ({options}) {query.sql}", params)
            value = cursor.fetchone()[0]
    document = value if isinstance(value, list) else json.loads(value)
    return document[0]["Plan"]


def _rows_read(plan: dict, table: str) -> int:
    """Rows of `table` the executed plan read, kept or filtered out."""
    read = 0
    for node in _plan_nodes(plan):
        if node.get("Relation Name") == table:
            kept = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
            read += (kept + node.get("Rows Removed by Index Recheck", 0)) * node.get("Actual Loops", 1)
    return int(read)


def _judge(query: HotQuery) -> tuple[str | None, dict]:
    """(problem or None, details) for one hot query.

    The plan passes when it uses the query's index. On a small table the planner rightly
    prefers other plans: below INDEX_MIN_ROWS rows it is too small to judge; above, a plan
    on another index passes when, executed, it reads at most INDEX_WASTE_LIMIT rows more
    than it returns (at this size the planner's choice costs nothing measurable).
    """
    table = _quote(query.table)
    (rows,), = _owner_rows(f"SELECT count(*) FROM {table}")
    details: dict = {"query": query.name, "table": query.table, "rows": rows,
                     "expected_index": query.index or "an index on restaurant_id"}
    valid = {name for (name,) in _owner_rows(
        "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
        " JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace"
        " WHERE n.nspname = current_schema() AND t.relname = %s AND x.indisvalid",
        [query.table],
    )}
    expected = {query.index} if query.index else set(_restaurant_indexes(query.table))
    if not expected & valid:
        details["verdict"] = "index missing"
        return f"{query.name}: {details['expected_index']} does not exist (or is invalid)", details
    busiest = _owner_rows(
        f"SELECT restaurant_id, max(created_at) FROM {table} GROUP BY restaurant_id ORDER BY count(*) DESC, 1 LIMIT 1"
    )
    if not busiest:
        details["verdict"] = "empty table: nothing to judge"
        return None, details
    restaurant_id, latest = busiest[0]
    window = (latest - timedelta(days=1), latest + timedelta(seconds=1)) if query.windowed else None
    nodes = _plan_nodes(_explain(query, restaurant_id, window))
    used = sorted({node["Index Name"] for node in nodes if "Index Name" in node})
    scans = sorted({node["Node Type"] for node in nodes if node.get("Relation Name") == query.table})
    details.update({"restaurant_id": restaurant_id, "indexes_used": used, "scans": scans})
    if expected & set(used):
        details["verdict"] = "uses its index"
        return None, details
    if rows < INDEX_MIN_ROWS:
        details["verdict"] = f"too small to judge ({rows} rows): {', '.join(scans)}"
        return None, details
    executed = _explain(query, restaurant_id, window, analyze=True)
    read, returned = _rows_read(executed, query.table), int(executed.get("Actual Rows", 0))
    details.update({"rows_read": read, "rows_returned": returned})
    if used and read - returned <= INDEX_WASTE_LIMIT:
        details["verdict"] = f"planner prefers {', '.join(used)} at this size, reading {read} rows for {returned}"
        return None, details
    details["verdict"] = "does not use its index"
    return (f"{query.name}: {', '.join(scans) or 'plan'} reads {read:,} rows for {returned:,} "
            f"instead of using {details['expected_index']}"), details


def check_index_use() -> CheckResult:
    # Statistics first: after a bulk load they are missing and the planner guesses. Outside any
    # transaction, so that the runtime role's session plans with them.
    with connections[OWNER].cursor() as cursor:
        for query in HOT_QUERIES:
            cursor.execute(f"ANALYZE {_quote(query.table)}")
    problems, queries = [], []
    for query in HOT_QUERIES:
        problem, details = _judge(query)
        queries.append(details)
        if problem:
            problems.append(problem)
    verdicts = ", ".join(f"{q['query']}: {q.get('verdict', 'fails')}" for q in queries)
    return _result("index_use", problems, verdicts, {"queries": queries, "analyzed": [q.table for q in HOT_QUERIES]})


# --- The whole run -------------------------------------------------------------------------------


def _run(name: str, check: Callable[[], CheckResult], *, alias: str | None = OWNER) -> CheckResult:
    started = time.monotonic()
    try:
        if alias is None:
            result = check()
        else:
            with transaction.atomic(using=alias):
                result = check()
    except DatabaseError as error:
        result = CheckResult(name, FAIL, f"database error: {first_line(error)}")
    except Exception as error:  # one broken check must not hide the others' answers
        result = CheckResult(name, FAIL, f"the check itself failed: {type(error).__name__}: {first_line(error)}")
    result.seconds = round(time.monotonic() - started, 3)
    return result


def cutover_check(*, source: str | Path | None = None,
                  on_result: Callable[[CheckResult], None] | None = None) -> CutoverCheckReport:
    """Run every check (the database's connectivity first) and return the report."""
    report = CutoverCheckReport(started_at=timezone.now(), source=str(source) if source else None)

    def record(result: CheckResult) -> None:
        report.results.append(result)
        if on_result is not None:
            on_result(result)

    counts = source_counts(source) if source else None  # a bad --source is a usage error: before any check
    record(_run("database", check_database, alias=None))
    if not report.results[0].passed:
        report.unreachable = report.results[0].summary
        report.finished_at = timezone.now()
        return report
    record(_run("migrations", check_migrations))
    record(_run("row_level_security", check_row_level_security))
    record(_run("valkey", check_valkey, alias=None))
    record(_run("spaces", check_spaces, alias=None))
    record(_run("row_counts", lambda: check_row_counts(counts)))
    record(_run("orphans", check_orphans))
    record(_run("same_restaurant", check_same_restaurant))
    record(_run("order_totals", check_order_totals))
    record(_run("sequences", check_sequences))
    record(_run("index_use", check_index_use, alias=None))
    report.finished_at = timezone.now()
    return report

