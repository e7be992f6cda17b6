"""The fynlo-v1 format: the legacy Fynlo backend's own tables (UUID keys, order lines in
`orders.items` JSON, payments without a restaurant) read as rows of our tables.

A `Translation` gives the importer one source table per target table of ours; each reads
its legacy table and yields our columns, with the legacy row's place. Keys go through the
persistent id map (`legacy_id_map`: ids given in `created_at` order the first time a key
is seen, the same id on every re-run); references are looked up there, so a reference to a
key that is in no export is a reject, and the importer's own checks (types, foreign keys,
tenancy derived from the parent and compared with the row's own, unique keys) do the rest.
Whatever no column of ours holds goes to the owner-only `legacy_archive`, and the report
says, for every legacy column, where it went.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.utils.text import slugify
from psycopg import sql

from fynlo.cutover.common import CutoverError
from fynlo.cutover.legacy import load
from fynlo.cutover.legacy.ids import KeyMap
from fynlo.cutover.legacy.source import (
    QUOTED_EMPTY,
    ROWS,
    ParseError,
    Rejected,
    Source,
    SourceFile,
    first_record,
    read_records,
    scan,
)
from fynlo.cutover.legacy.validate import RowError, normalise_header

ID_MAP = "legacy_id_map"
ARCHIVE = "legacy_archive"
ARCHIVE_BATCH = 5000
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
CENT = Decimal("0.01")
FLOAT_TOLERANCE = Decimal("0.000001")

TO_ARCHIVE = "archive"
SECRET = "not copied: a secret (counted in choices)"
ITEMS = "order_items (one row per element)"

# Where each known legacy column goes (LEGACY_FYNLO_V1.md). A column of the source that is
# not listed goes to the archive, and the report says it was unknown.
COLUMNS: dict[str, dict[str, str]] = {
    "platforms": {
        "id": "platforms.id (id map)", "name": "platforms.name, platforms.slug", "owner_email": "platforms.owner_email",
        "subscription_tier": TO_ARCHIVE, "created_at": "platforms.created_at", "updated_at": "platforms.updated_at",
    },
    "restaurants": {
        "id": "restaurants.id (id map)", "platform_id": "restaurants.platform_id", "name": "restaurants.name, slug",
        "address": "restaurants.address (flattened)", "phone": "restaurants.phone", "email": "restaurants.email",
        "timezone": "restaurant_settings timezone", "business_hours": "restaurant_settings opening_hours",
        "settings": "restaurants.logo_url (logo_url); the rest archive",
        "tax_configuration": "restaurant_settings vat_rate, service_charge_rate",
        "payment_methods": TO_ARCHIVE, "subscription_plan": "restaurants.subscription_tier",
        "subscription_status": TO_ARCHIVE, "subscription_started_at": TO_ARCHIVE,
        "subscription_expires_at": TO_ARCHIVE, "is_active": "restaurants.is_active",
        "created_at": "restaurants.created_at", "updated_at": "restaurants.updated_at",
    },
    "users": {
        "id": "users.id (id map)", "email": "users.email", "username": TO_ARCHIVE,
        "password_hash": "users.password_hash (bcrypt kept; none: must set a password)",
        "supabase_id": TO_ARCHIVE, "auth_provider": TO_ARCHIVE, "first_name": "users.first_name",
        "last_name": "users.last_name", "role": "users.role", "restaurant_id": "users.restaurant_id",
        "platform_id": "users.platform_id", "permissions": "user_permissions (one row per true flag)",
        "pin_code": SECRET, "is_active": "users.is_active", "last_login": "users.last_login",
        "current_restaurant_id": "users.restaurant_id (when no other); archive",
        "created_at": "users.created_at", "updated_at": "users.updated_at",
    },
    "user_restaurants": {
        "id": TO_ARCHIVE, "user_id": "users.restaurant_id (the primary row)", "restaurant_id": "users.restaurant_id",
        "role": TO_ARCHIVE, "is_primary": "users.restaurant_id (which row)", "permissions": TO_ARCHIVE,
        "created_at": TO_ARCHIVE, "updated_at": TO_ARCHIVE,
    },
    "customers": {
        "first_name": "orders.customer_name", "last_name": "orders.customer_name",
    },
    "categories": {
        "id": "categories.id (id map)", "restaurant_id": "categories.restaurant_id", "name": "categories.name",
        "description": TO_ARCHIVE, "color": TO_ARCHIVE, "icon": "categories.icon (archive when longer)",
        "sort_order": "categories.display_order", "is_active": "categories.is_active",
        "created_at": "categories.created_at",
    },
    "products": {
        "id": "products.id (id map)", "restaurant_id": "products.restaurant_id", "category_id": "products.category_id",
        "name": "products.name", "description": "products.description", "price": "products.price",
        "cost": "products.cost", "image_url": "products.image_url", "barcode": TO_ARCHIVE, "sku": "products.sku",
        "prep_time": TO_ARCHIVE, "dietary_info": TO_ARCHIVE, "modifiers": TO_ARCHIVE,
        "is_active": "products.is_active, products.available_in_pos", "stock_tracking": "products.track_inventory",
        "stock_quantity": TO_ARCHIVE, "created_at": "products.created_at", "updated_at": "products.updated_at",
    },
    "orders": {
        "id": "orders.id (id map)", "restaurant_id": "orders.restaurant_id", "customer_id": "orders.customer_name; archive",
        "order_number": "orders.order_number", "table_number": "orders.table_number", "table_id": TO_ARCHIVE,
        "order_type": "orders.order_type", "status": "orders.status", "items": ITEMS, "subtotal": "orders.subtotal",
        "tax_amount": "orders.tax_amount", "service_charge": "orders.service_charge",
        "discount_amount": "orders.discount_amount", "total_amount": "orders.total_amount",
        "payment_status": TO_ARCHIVE, "special_instructions": TO_ARCHIVE, "notes": TO_ARCHIVE,
        "created_by": "orders.created_by", "created_at": "orders.created_at", "updated_at": "orders.updated_at",
    },
    "payments": {
        "id": "payments.id (id map)", "order_id": "payments.order_id (restaurant from the order)",
        "payment_method": "payments.payment_method (the legacy name in processor_response)",
        "amount": "payments.amount", "fee_amount": "payments.processor_response", "net_amount": "payments.processor_response",
        "status": "payments.status", "external_id": "payments.transaction_id",
        "payment_metadata": "payments.processor_response", "metadata": "payments.processor_response",
        "provider": "payments.processor_response", "provider_fee": "payments.processor_response",
        "refund_id": TO_ARCHIVE, "refunded_amount": TO_ARCHIVE, "restaurant_id": "payments.restaurant_id (checked)",
        "created_at": "payments.created_at",
    },
    "refunds": {
        "id": "refunds.id (id map)", "order_id": "refunds.order_id (restaurant and payment from the order)",
        "amount": "refunds.amount", "reason": "refunds.reason", "state": "refunds.status",
        "restaurant_id": "refunds.restaurant_id (checked)", "created_at": "refunds.created_at",
        "updated_at": "refunds.updated_at",
    },
}
# The columns of each table that a column of ours holds (or that are secrets): the rest of a
# row goes to the archive.
_KEPT = {
    table: frozenset(column for column, where in known.items()
                     if where == SECRET or not (where.startswith(TO_ARCHIVE) or where.endswith("archive")))
    for table, known in COLUMNS.items()
}
# Legacy tables with no target yet: every row whole in the archive.
ARCHIVE_ONLY = (
    "customers", "qr_payments", "refunds_ledger", "pos_sessions", "sections", "tables", "recipe", "stock_alerts",
    "inventory_counts", "inventory_count_items", "hourly_metrics", "product_performance", "employee_performance",
    "financial_summaries", "subscription_usage", "platform_fees", "staff_tip_distributions", "inventory",
    "inventory_ledger", "stock_movements", "suppliers", "purchase_orders", "purchase_order_items",
    "employee_profiles", "schedules", "shifts", "time_entries", "performance_metrics", "subscription_plans",
    "restaurant_subscriptions", "daily_reports", "payment_provider_configs",
)
# Our tables made from each legacy table, in the importer's order, and their columns.
TARGETS = {
    "platforms": ("platforms", ["id", "name", "slug", "owner_email", "is_active", "created_at", "updated_at"]),
    "restaurants": ("restaurants", [
        "id", "platform_id", "name", "slug", "address", "phone", "email", "logo_url", "is_active",
        "subscription_tier", "created_at", "updated_at",
    ]),
    "restaurant_settings": ("restaurants", [
        "id", "restaurant_id", "setting_key", "setting_value", "setting_type", "created_at", "updated_at",
    ]),
    "users": ("users", [
        "id", "restaurant_id", "platform_id", "email", "password_hash", "first_name", "last_name", "role",
        "is_active", "last_login", "created_at", "updated_at",
    ]),
    "user_permissions": ("users", ["id", "restaurant_id", "user_id", "permission", "granted_at"]),
    "categories": ("categories", ["id", "restaurant_id", "name", "icon", "display_order", "is_active", "created_at"]),
    "products": ("products", [
        "id", "restaurant_id", "category_id", "name", "description", "price", "cost", "sku", "image_url",
        "is_active", "available_in_pos", "track_inventory", "created_at", "updated_at",
    ]),
    "orders": ("orders", [
        "id", "restaurant_id", "order_number", "table_number", "customer_name", "order_type", "status", "subtotal",
        "tax_amount", "service_charge", "discount_amount", "total_amount", "items_count", "created_by",
        "created_at", "updated_at",
    ]),
    "order_items": ("orders", [
        "id", "order_id", "product_id", "quantity", "unit_price", "total_price", "special_instructions",
        "modifiers", "created_at",
    ]),
    "payments": ("payments", [
        "id", "order_id", "payment_method", "amount", "transaction_id", "processor_response", "status",
        "processed_at", "created_at",
    ]),
    "refunds": ("refunds", ["id", "order_id", "payment_id", "amount", "reason", "status", "created_at", "updated_at"]),
}
MAPPED = {legacy for legacy, _ in TARGETS.values()}
# Keys of the map that are not a legacy table's own: (map name, target table).
SETTINGS_MAP, PERMISSIONS_MAP, ITEMS_MAP = "restaurants.settings", "users.permissions", "orders.items"

ORDER_STATUS = {"pending": "draft"}
PAYMENT_METHODS = {
    "cash": "cash", "card": "card", "stripe": "card", "square_card": "card", "qr_code": "card",
    "stripe_payment": "card", "square_payment": "card", "sumup": "sumup", "sumup_payment": "sumup",
    "apple_pay": "apple_pay", "applepay": "apple_pay",
}
REFUND_STATUS = {"done": "completed", "completed": "completed", "succeeded": "completed", "pending": "pending",
                 "failed": "failed"}
ITEM_KEYS = {"product_id", "quantity", "unit_price", "total_price", "modifiers", "special_instructions",
             "product_name", "name"}


def looks_like(raw: Source) -> bool:
    """UUID keys, or an `orders.items` column: the fynlo-v1 format."""
    orders = raw.files.get("orders")
    try:
        if orders is not None:
            first = first_record(orders)
            if first and "items" in normalise_header(first[1]):
                return True
        for file in raw.files.values():
            first = first_record(file)
            if not first:
                continue
            header = normalise_header(first[1])
            if "id" not in header:
                continue
            for _, fields in read_records(file):
                return bool(UUID.fullmatch(fields[header.index("id")].strip()))
    except (ParseError, OSError, IndexError):
        return False
    return False


def _null(value):
    return value is None or (value == "" and value.__class__ is str)


def exact_money(value, what: str) -> str:
    """A JSON amount as two-place text: floats within 0.000001 of a two-place number, or
    strings of a decimal number; anything else a RowError."""
    if isinstance(value, bool) or value is None:
        raise RowError("items", f"{what} {value!r} is not an amount")
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise RowError("items", f"{what} {value!r} is not an amount") from None
    elif isinstance(value, (int, float)):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    else:
        raise RowError("items", f"{what} {value!r} is not an amount")
    if not number.is_finite():
        raise RowError("items", f"{what} {value!r} is not an amount")
    rounded = number.quantize(CENT)
    if abs(number - rounded) > FLOAT_TOLERANCE:
        raise RowError("items", f"{what} {value!r} is not a whole number of pence")
    return str(rounded)


def _flat_address(text: str | None) -> str | None:
    if _null(text):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if not isinstance(data, dict):
        return text
    parts = [data.get(key) for key in ("line1", "line2", "city", "state", "postcode", "postal_code", "country")]
    return ", ".join(str(part) for part in parts if part) or None


def _json(text):
    if _null(text):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


class Translation:
    """The legacy tables of a source as our tables (see the module's docstring)."""

    def __init__(self, raw: Source, importer):
        self.raw = raw
        self.importer = importer
        self.report = importer.report
        self.choices = importer.report.choices
        self.headers: dict[str, list[str]] = {}
        for name, file in raw.files.items():
            first = first_record(file)
            self.headers[name] = normalise_header(first[1]) if first else []
        self.maps: dict[str, KeyMap] = {}
        self.spans = KeyMap(spans=True)
        self.conn = None
        self.archive_rows: list = []
        # --catch-up: the archive rows written this run, the legacy tables read whole by the target
        # that archives them, and the keys of their rows rejected whole (their archive rows stay)
        self.archived_keys: set = set()
        self.read_whole: set = set()
        self.unsure_keys: dict[str, set] = {}
        self.run_started = datetime.now().astimezone().isoformat()
        files = {}
        self._counts: dict[str, int] = {}
        for target, (legacy, header) in TARGETS.items():
            legacy_file = raw.files.get(legacy)
            if legacy_file is None or (target == "user_permissions" and "permissions" not in self.headers[legacy]):
                continue
            header = [c for c in header if c != "restaurant_id" or target not in ("payments", "refunds")]
            if target in ("payments", "refunds") and "restaurant_id" in self.headers[legacy]:
                header.append("restaurant_id")  # the legacy row's own, compared with its order's
            files[target] = SourceFile(
                table=target, name=legacy_file.name, size=0, kind=ROWS, header=header,
                rows=legacy_file.rows, _counter=legacy_file._counter or (lambda legacy=legacy: self._count(legacy)),
                _reader=(lambda target=target, header=header: self._rows(target, header)),
            )
        self.source = Source(raw.path, files, list(raw.ignored))
        self._describe_columns()

    def _count(self, legacy: str) -> int:
        """The rows of a legacy file, read once for all the targets made from it."""
        if legacy not in self._counts:
            self._counts[legacy] = scan(self.raw.files[legacy]).rows
        return self._counts[legacy]

    # -- the report's "where every legacy column went" --

    def _describe_columns(self) -> None:
        columns = self.report.columns
        for table, known in COLUMNS.items():
            if table not in MAPPED:
                continue
            header = self.headers.get(table)
            if header is None:
                columns[table] = {"(table)": "not present in this export"}
                continue
            where = {}
            for column in header:
                where[column] = known.get(column, f"{TO_ARCHIVE} (a column this importer does not know)")
            for column in known:
                if column not in header:
                    where[column] = "not present in this export"
            columns[table] = where
        for table, header in self.headers.items():
            if table in MAPPED:
                continue
            kind = "no target yet" if table in ARCHIVE_ONLY or table in COLUMNS else "a table this importer does not know"
            whole = f"{TO_ARCHIVE} (the whole row: {kind})"
            columns[table] = {
                column: (f"{COLUMNS[table][column]}; {whole}" if column in COLUMNS.get(table, {})
                         and COLUMNS[table][column] != TO_ARCHIVE else whole)
                for column in header
            }

    def count(self, choice: str, n: int = 1) -> None:
        self.choices[choice] = self.choices.get(choice, 0) + n

    # -- before the load: the id map --

    def prepare(self) -> None:
        """Give every legacy key its id (the first time it is seen) and read the map."""
        importer = self.importer
        from django.db import connections

        params = connections[importer.using].get_connection_params()
        self.conn = load.connect(params, timezone=importer.timezone)
        if self.conn.execute("SELECT to_regclass(%s)", [ID_MAP]).fetchone()[0] is None:
            raise CutoverError(f"the database has no {ID_MAP} table: run `manage.py migrate` first")
        self.user_restaurant = self._primary_restaurants()
        self.customers = self._customers()
        with self.conn.transaction(force_rollback=importer.dry_run):
            self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS _legacy_keys (key text, created text, span int)")
            for legacy, target in (("platforms", "platforms"), ("restaurants", "restaurants"), ("users", "users"),
                                   ("categories", "categories"), ("products", "products"), ("orders", "orders"),
                                   ("payments", "payments"), ("refunds", "refunds")):
                if legacy in self.raw.files:
                    self._assign(legacy, target, self._keys(legacy))
            if "restaurants" in self.raw.files:
                self._assign(SETTINGS_MAP, "restaurant_settings", self._keys("restaurants", suffixes=SETTING_KEYS))
            if "users" in self.raw.files and "permissions" in self.headers["users"]:
                self._assign(PERMISSIONS_MAP, "user_permissions", self._permission_keys())
            if "orders" in self.raw.files and "items" in self.headers["orders"]:
                self._assign(ITEMS_MAP, "order_items", self._item_spans(), spans=True, grow=importer.catch_up)
        self._slugs()

    def _keys(self, table: str, suffixes=None):
        header = self.headers[table]
        if "id" not in header:
            return
        key_at, created_at = header.index("id"), (header.index("created_at") if "created_at" in header else None)
        for _, fields in read_records(self.raw.files[table]):
            if len(fields) != len(header) or _null(fields[key_at]):
                continue
            created = fields[created_at] if created_at is not None else ""
            if suffixes is None:
                yield fields[key_at].strip(), created, 1
            else:
                for suffix in suffixes:
                    yield f"{fields[key_at].strip()}:{suffix}", created, 1

    def _permission_keys(self):
        header = self.headers["users"]
        at, key_at = header.index("permissions"), header.index("id")
        created_at = header.index("created_at") if "created_at" in header else None
        for _, fields in read_records(self.raw.files["users"]):
            if len(fields) != len(header):
                continue
            flags = _json(fields[at])
            if isinstance(flags, dict):
                for flag, granted in sorted(flags.items()):
                    if granted is True:
                        yield f"{fields[key_at].strip()}:{flag}", fields[created_at] if created_at is not None else "", 1

    def _item_spans(self):
        header = self.headers["orders"]
        at, key_at = header.index("items"), header.index("id")
        created_at = header.index("created_at") if "created_at" in header else None
        for _, fields in read_records(self.raw.files["orders"]):
            if len(fields) != len(header) or _null(fields[key_at]):
                continue
            items = _json(fields[at])
            yield fields[key_at].strip(), fields[created_at] if created_at is not None else "", (
                len(items) if isinstance(items, list) else 0
            )

    def _assign(self, name: str, target: str, keys, *, spans: bool = False, grow: bool = False) -> None:
        """New keys get ids past the highest of the map and of the table, in created_at order.
        With `grow` (--catch-up), a key whose span grew (an order with more lines than when it
        was first imported) gets a new range: its rows are then new, the old ones gone."""
        conn = self.conn
        conn.execute("TRUNCATE _legacy_keys")
        with conn.cursor().copy("COPY _legacy_keys (key, created, span) FROM STDIN") as copy:
            for key, created, span in keys:
                copy.write_row((key, created or None, span))
        if grow:
            grown = conn.execute(
                sql.SQL("DELETE FROM {map} m USING _legacy_keys k WHERE m.legacy_table = %s AND m.legacy_key = k.key"
                        " AND k.span > m.span").format(map=sql.Identifier(ID_MAP)), [name],
            ).rowcount
            if grown:
                self.count("orders.items: orders with more lines than when first imported, given new line ids", grown)
        conn.execute(
            sql.SQL(
                "INSERT INTO {map} (legacy_table, legacy_key, target_table, new_id, span)"
                " SELECT %(name)s, key, %(target)s, base.value + sum(span) OVER (ORDER BY created NULLS LAST, key)"
                " - span + 1, span FROM (SELECT DISTINCT ON (key) key, created, span FROM _legacy_keys k"
                "  WHERE NOT EXISTS (SELECT 1 FROM {map} m WHERE m.legacy_table = %(name)s AND m.legacy_key = k.key)"
                "  ORDER BY key, created) fresh,"
                " (SELECT greatest((SELECT coalesce(max(new_id + span - 1), 0) FROM {map} WHERE target_table = %(target)s),"
                "  (SELECT coalesce(max(id), 0) FROM {table})) AS value) base"
            ).format(map=sql.Identifier(ID_MAP), table=sql.Identifier(target)),
            {"name": name, "target": target},
        )
        found = KeyMap(spans=spans)
        # streamed (a million keys would otherwise sit in the client's memory at once), in key order
        with conn.cursor(name="legacy_id_map_read") as cursor:
            cursor.itersize = 20_000
            cursor.execute(
                sql.SQL('SELECT legacy_key, new_id, span FROM {} WHERE legacy_table = %s ORDER BY legacy_key COLLATE "C"')
                .format(sql.Identifier(ID_MAP)),
                [name],
            )
            for key, new_id, span in cursor:
                found.add(key, new_id, span)
        found.seal()
        if spans:
            self.spans = found
        else:
            self.maps[name] = found

    def _primary_restaurants(self) -> dict[str, str]:
        """user key -> restaurant key, from user_restaurants (the primary row, else the first)."""
        chosen: dict[str, tuple[bool, str]] = {}
        file = self.raw.files.get("user_restaurants")
        if file is None:
            return {}
        header = self.headers["user_restaurants"]
        if "user_id" not in header or "restaurant_id" not in header:
            return {}
        user_at, restaurant_at = header.index("user_id"), header.index("restaurant_id")
        primary_at = header.index("is_primary") if "is_primary" in header else None
        for _, fields in read_records(file):
            if len(fields) != len(header) or _null(fields[user_at]) or _null(fields[restaurant_at]):
                continue
            primary = primary_at is not None and fields[primary_at] in ("t", "true", "True")
            user = fields[user_at].strip()
            if user not in chosen or (primary and not chosen[user][0]):
                chosen[user] = (primary, fields[restaurant_at].strip())
        return {user: restaurant for user, (_, restaurant) in chosen.items()}

    def _customers(self) -> dict[str, str]:
        file = self.raw.files.get("customers")
        if file is None:
            return {}
        header = self.headers["customers"]
        if "id" not in header:
            return {}
        at = header.index("id")
        names = {}
        for _, fields in read_records(file):
            if len(fields) != len(header):
                continue
            row = dict(zip(header, fields))
            name = " ".join(part for part in (row.get("first_name"), row.get("last_name")) if not _null(part))
            if name:
                names[fields[at].strip()] = name
        return names

    def _slugs(self) -> None:
        """Unique slugs (platforms: across all; restaurants: per platform), and the renames of
        duplicate category names and the dropped duplicate product skus, decided in id order
        (created_at), so every run decides the same."""
        self._platforms_by_key = dict(self._rows_by_id("platforms"))
        self.platform_slugs = self._unique_names("platforms", lambda row: (None, slugify(row.get("name") or "") or "platform"), "-")
        self.restaurant_slugs = self._unique_names(
            "restaurants",
            lambda row: (self._default_platform_key() if _null(row.get("platform_id")) else row.get("platform_id"),
                         slugify(row.get("name") or "") or "restaurant"),
            "-",
        )
        self.category_names = self._unique_names(
            "categories", lambda row: (row.get("restaurant_id"), row.get("name") or ""), " (", suffix=")", lower=True
        )
        self.sku_dropped = set()
        seen = set()
        for key, row in self._rows_by_id("products"):
            sku = row.get("sku")
            if _null(sku):
                continue
            if (row.get("restaurant_id"), sku) in seen:
                self.sku_dropped.add(key)
            seen.add((row.get("restaurant_id"), sku))

    def _rows_by_id(self, table: str):
        file = self.raw.files.get(table)
        ids = self.maps.get(table, {})
        if file is None or "id" not in self.headers[table]:
            return []
        header = self.headers[table]
        rows = []
        for _, fields in read_records(file):
            if len(fields) == len(header):
                row = dict(zip(header, fields))
                key = (row.get("id") or "").strip()
                rows.append((ids.get(key, 0), key, row))
        rows.sort(key=lambda entry: entry[0])
        return [(key, row) for _, key, row in rows]

    def _unique_names(self, table, base_of, joiner, *, suffix="", lower=False) -> dict[str, str]:
        names, taken = {}, set()
        for key, row in self._rows_by_id(table):
            scope, base = base_of(row)
            name, number = base, 1
            while (scope, name.lower() if lower else name) in taken:
                number += 1
                name = f"{base}{joiner}{number}{suffix}"
            taken.add((scope, name.lower() if lower else name))
            names[key] = name
            if name != base:
                self.count(f"{table}: {'slug' if joiner == '-' else 'name'} made unique with a number")
        return names

    # -- the rows --

    def _id(self, table: str, key, column: str) -> str:
        if _null(key):
            return ""
        found = self.maps.get(table, {}).get(key.strip())
        if found is None:
            raise RowError(column, f"{column} {key}: no {table} row has this key (in this export or an earlier one)")
        return str(found)

    def _rows(self, target: str, header: list[str]):
        legacy = TARGETS[target][0]
        file = self.raw.files[legacy]
        legacy_header = self.headers[legacy]
        make = getattr(self, f"_{target}")
        place = file.place
        if target == "refunds" and not hasattr(self, "_payments_of"):
            # read before the refunds: a live source reads one table at a time
            self._payments_of = self._payments_by_order()
        whole = target == legacy  # the target that archives the legacy table's rows
        unsure = self.unsure_keys.setdefault(legacy, set()) if self.importer.catch_up else None
        for line, fields in read_records(file):
            where = place(line)
            if len(fields) != len(legacy_header):
                whole = False
                yield where, Rejected([""] * len(header), RowError(
                    None, f"the row has {len(fields)} fields, the header {len(legacy_header)}"))
                continue
            row = dict(zip(legacy_header, fields))
            out = dict.fromkeys(header, "")
            try:
                produced = make(row, out, where)
            except RowError as error:
                if unsure is not None:
                    unsure.add((row.get("id") or "").strip())
                yield where, Rejected([_text(out.get(c)) for c in header], error)
                continue
            if produced is None:
                yield where, [_text(out[c]) for c in header]
            else:
                for sub_place, sub, *partial in produced:
                    if isinstance(sub, RowError):
                        known = partial[0] if partial else {}
                        yield sub_place, Rejected([_text(known.get(c)) for c in header], sub)
                    else:
                        yield sub_place, [_text(sub.get(c)) for c in header]
        self._flush_archive()
        if whole:
            self.read_whole.add(legacy)

    def _updated(self, row) -> str:
        """`updated_at` is NULL until a row's first change: then it is its created_at."""
        value = row.get("updated_at")
        return row.get("created_at") or "" if _null(value) else value

    def _archive_extra(self, table: str, row: dict, restaurant=None) -> None:
        """The columns of a mapped row that no column of ours holds."""
        kept = _KEPT.get(table, ())
        extra = {column: _json(value) for column, value in row.items()
                 if column not in kept and not _null(value)}
        if extra:
            self.archive(table, row.get("id") or "", restaurant, extra)

    def archive(self, table: str, key: str, restaurant, data: dict) -> None:
        self.report.archived[table] = self.report.archived.get(table, 0) + 1
        if self.importer.dry_run:
            return
        if self.importer.catch_up:
            self.archived_keys.add((table, key.strip()))
        self.archive_rows.append((table, key.strip(), restaurant or None, json.dumps(data, default=str)))
        if len(self.archive_rows) >= ARCHIVE_BATCH:
            self._flush_archive()

    def _flush_archive(self) -> None:
        if not self.archive_rows or self.conn is None:
            return
        rows, self.archive_rows = self.archive_rows, []
        with self.conn.transaction():
            self.conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS _legacy_archive (legacy_table text, legacy_key text,"
                " restaurant_id integer, row jsonb)"
            )
            self.conn.execute("TRUNCATE _legacy_archive")
            with self.conn.cursor().copy("COPY _legacy_archive FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            self.conn.execute(
                sql.SQL(
                    "INSERT INTO {} (legacy_table, legacy_key, restaurant_id, row, run_started_at)"
                    " SELECT DISTINCT ON (legacy_table, legacy_key) legacy_table, legacy_key, restaurant_id, row, %s"
                    " FROM _legacy_archive ORDER BY legacy_table, legacy_key"
                    " ON CONFLICT (legacy_table, legacy_key) DO UPDATE SET row = EXCLUDED.row,"
                    " restaurant_id = EXCLUDED.restaurant_id, run_started_at = EXCLUDED.run_started_at"
                    " WHERE {}.row IS DISTINCT FROM EXCLUDED.row"
                ).format(sql.Identifier(ARCHIVE), sql.Identifier(ARCHIVE)),
                [self.run_started],
            )

    def _restaurant(self, key) -> int | None:
        if _null(key):
            return None
        return self.maps.get("restaurants", {}).get(key.strip())

    def _platforms(self, row, out, where):
        key = row.get("id") or ""
        out.update(id=self._id("platforms", key, "id"), name=row.get("name"), slug=self.platform_slugs.get(key.strip()),
                   owner_email=row.get("owner_email"), is_active="t", created_at=row.get("created_at"),
                   updated_at=self._updated(row))
        self._archive_extra("platforms", row)

    def _restaurants(self, row, out, where):
        key = (row.get("id") or "").strip()
        platform = row.get("platform_id")
        if _null(platform):
            platform = self._default_platform()
        settings = _json(row.get("settings"))
        logo = settings.get("logo_url") if isinstance(settings, dict) else None
        plan = row.get("subscription_plan")
        out.update(
            id=self._id("restaurants", key, "id"), platform_id=self._id("platforms", platform, "platform_id"),
            name=row.get("name"), slug=self.restaurant_slugs.get(key), address=_flat_address(row.get("address")),
            phone=row.get("phone"), email=row.get("email"), logo_url=logo,
            is_active=row.get("is_active") if not _null(row.get("is_active")) else "t",
            subscription_tier=(plan.strip().lower() if not _null(plan) else None), created_at=row.get("created_at"),
            updated_at=self._updated(row),
        )
        restaurant = self.maps.get("restaurants", {}).get(key)
        extra = {c: _json(v) for c, v in row.items() if not _null(v) and COLUMNS["restaurants"].get(c, TO_ARCHIVE) == TO_ARCHIVE}
        if isinstance(settings, dict):
            rest = {k: v for k, v in settings.items() if k != "logo_url"}
            if rest:
                extra["settings"] = rest
        if extra:
            self.archive("restaurants", key, restaurant, extra)

    def _default_platform(self) -> str:
        """The platform of a restaurant that names none: the only one, or --default-platform."""
        platforms = self.maps.get("platforms", {})
        wanted = self.importer.default_platform
        if wanted is None and len(platforms) == 1:
            self.count("restaurants without a platform: put under the only platform")
            return next(iter(platforms))
        if wanted is not None:
            for key, row in self._platform_rows().items():
                if row.get("name") == wanted or key == wanted:
                    self.count(f"restaurants without a platform: put under {wanted} (--default-platform)")
                    return key
            raise RowError("platform_id", f"platform_id is empty and --default-platform {wanted!r} names no platform")
        raise RowError("platform_id", "platform_id is empty: name the platform with --default-platform")

    def _default_platform_key(self) -> str | None:
        """The key of the platform --default-platform names (or the only one), else None."""
        wanted = self.importer.default_platform
        if wanted is None:
            return next(iter(self._platforms_by_key)) if len(self._platforms_by_key) == 1 else None
        for key, row in self._platforms_by_key.items():
            if row.get("name") == wanted or key == wanted:
                return key
        return None

    def _platform_rows(self) -> dict:
        return self._platforms_by_key

    def _restaurant_settings(self, row, out, where):
        key = (row.get("id") or "").strip()
        restaurant = self._id("restaurants", key, "restaurant_id")
        tax = _json(row.get("tax_configuration"))
        tax = tax if isinstance(tax, dict) else {}
        hours = _json(row.get("business_hours"))
        values = {
            "currency": ("GBP", "string"),
            "vat_rate": (_rate(tax.get("vatRate"), tax.get("vatEnabled")), "number"),
            "service_charge_rate": (_rate(tax.get("serviceTaxRate"), tax.get("serviceTaxEnabled")), "number"),
            "opening_hours": (json.dumps(hours) if hours is not None else None, "json"),
            "timezone": (row.get("timezone") if not _null(row.get("timezone")) else None, "string"),
        }
        produced = []
        for setting in SETTING_KEYS:
            value, kind = values[setting]
            if value is None:
                continue
            produced.append((f"{where} {setting}", {
                "id": self._id(SETTINGS_MAP, f"{key}:{setting}", "id"), "restaurant_id": restaurant,
                "setting_key": setting, "setting_value": value, "setting_type": kind,
                "created_at": row.get("created_at"), "updated_at": self._updated(row),
            }))
        return produced

    def _users(self, row, out, where):
        key = (row.get("id") or "").strip()
        role = (row.get("role") or "").strip().lower()
        if role == "employee":
            role = self.importer.employee_role
            self.count(f"users: role employee -> {role} (--employee-role)")
        restaurant = row.get("restaurant_id")
        if _null(restaurant) and key in self.user_restaurant:
            restaurant = self.user_restaurant[key]
            self.count("users: restaurant from user_restaurants")
        if _null(restaurant) and not _null(row.get("current_restaurant_id")):
            restaurant = row.get("current_restaurant_id")
            self.count("users: restaurant from current_restaurant_id")
        if role == "platform_owner":
            restaurant = None
        password = row.get("password_hash")
        if _null(password):
            password = "!no-legacy-password"  # an unusable one is written; listed under "must set a password"
        if not _null(row.get("pin_code")):
            self.count("users: pin_code not copied (a secret)")
        out.update(
            id=self._id("users", key, "id"), restaurant_id=self._id("restaurants", restaurant, "restaurant_id"),
            platform_id=self._id("platforms", row.get("platform_id"), "platform_id"), email=row.get("email"),
            password_hash=password, first_name=row.get("first_name") or QUOTED_EMPTY,
            last_name=row.get("last_name") or QUOTED_EMPTY, role=role,
            is_active=row.get("is_active") if not _null(row.get("is_active")) else "t",
            last_login=row.get("last_login"), created_at=row.get("created_at"), updated_at=self._updated(row),
        )
        self._archive_extra("users", row, self._restaurant(restaurant))

    def _user_permissions(self, row, out, where):
        key = (row.get("id") or "").strip()
        flags = _json(row.get("permissions"))
        if not isinstance(flags, dict):
            return []
        restaurant = row.get("restaurant_id")
        if _null(restaurant):
            restaurant = self.user_restaurant.get(key) or row.get("current_restaurant_id")
        produced = []
        for flag, granted in sorted(flags.items()):
            if granted is not True:
                continue
            try:
                produced.append((f"{where} permissions.{flag}", {
                    "id": self._id(PERMISSIONS_MAP, f"{key}:{flag}", "id"),
                    "restaurant_id": self._id("restaurants", restaurant, "restaurant_id"),
                    "user_id": self._id("users", key, "user_id"), "permission": flag,
                    "granted_at": row.get("created_at"),
                }))
            except RowError as error:
                produced.append((f"{where} permissions.{flag}", error))
        return produced

    def _categories(self, row, out, where):
        key = (row.get("id") or "").strip()
        icon = row.get("icon")
        limit = self.importer.specs["categories"].columns["icon"].max_length
        if not _null(icon) and limit and len(icon) > limit:
            self.count(f"categories: icon longer than {limit} characters kept in the archive")
            icon = None
            self.archive("categories.icon", key, self._restaurant(row.get("restaurant_id")), {"icon": row.get("icon")})
        out.update(
            id=self._id("categories", key, "id"), restaurant_id=self._id("restaurants", row.get("restaurant_id"), "restaurant_id"),
            name=self.category_names.get(key, row.get("name")), icon=icon, display_order=row.get("sort_order"),
            is_active=row.get("is_active"), created_at=row.get("created_at"),
        )
        self._archive_extra("categories", row, self._restaurant(row.get("restaurant_id")))

    def _products(self, row, out, where):
        key = (row.get("id") or "").strip()
        sku = row.get("sku")
        if key in self.sku_dropped:
            self.count("products: duplicate (restaurant, sku): the later product's sku left empty")
            sku = None
            self.archive("products.sku", key, self._restaurant(row.get("restaurant_id")), {"sku": row.get("sku")})
        active = row.get("is_active")
        out.update(
            id=self._id("products", key, "id"), restaurant_id=self._id("restaurants", row.get("restaurant_id"), "restaurant_id"),
            category_id=self._id("categories", row.get("category_id"), "category_id"), name=row.get("name"),
            description=row.get("description"), price=row.get("price"), cost=row.get("cost"), sku=sku,
            image_url=row.get("image_url"), is_active=active, available_in_pos=active,
            track_inventory=row.get("stock_tracking"), created_at=row.get("created_at"), updated_at=self._updated(row),
        )
        self._archive_extra("products", row, self._restaurant(row.get("restaurant_id")))

    def _items(self, row) -> list:
        items = _json(row.get("items"))
        if _null(row.get("items")):
            return []
        if not isinstance(items, list):
            raise RowError("items", "items is not a JSON list")
        return items

    def _orders(self, row, out, where):
        key = (row.get("id") or "").strip()
        restaurant = self._restaurant(row.get("restaurant_id"))
        out.update(
            id=self._id("orders", key, "id"), restaurant_id=self._id("restaurants", row.get("restaurant_id"), "restaurant_id"),
            total_amount=row.get("total_amount"),
        )
        status = (row.get("status") or "").strip().lower()
        if status in ORDER_STATUS:
            self.count(f"orders: status {status} -> {ORDER_STATUS[status]}")
        quantity = 0
        products = self.importer.states["products"].values
        items = self._items(row)
        for index, item in enumerate(items):
            line = self._line(item, index)
            quantity += int(line["quantity"])
            product = int(line["product_id"])
            owner = products.get(product)
            if not owner:
                raise RowError("items", f"items[{index}]: product {item.get('product_id')} was not imported")
            if restaurant is not None and owner != restaurant:
                raise RowError(
                    "items", f"items[{index}]: product {item.get('product_id')} belongs to restaurant {owner}, "
                             f"the order to restaurant {restaurant}"
                )
        customer = row.get("customer_id")
        out.update(
            order_number=row.get("order_number"), table_number=row.get("table_number"),
            customer_name=self.customers.get((customer or "").strip()) if not _null(customer) else None,
            order_type=(row.get("order_type") or "").strip().lower() or None,
            status=ORDER_STATUS.get(status, status) or None, subtotal=row.get("subtotal"),
            tax_amount=row.get("tax_amount"), service_charge=row.get("service_charge"),
            discount_amount=row.get("discount_amount"), items_count=str(quantity),
            created_by=self._id("users", row.get("created_by"), "created_by"), created_at=row.get("created_at"),
            updated_at=self._updated(row),
        )
        extra_items = [
            {k: v for k, v in item.items() if k not in ITEM_KEYS} for item in items if isinstance(item, dict)
        ]
        if any(extra_items):
            self.archive("orders.items", key, restaurant, {"items": extra_items})
        self._archive_extra("orders", row, restaurant)

    def _line(self, item, index: int) -> dict:
        """One element of `orders.items` as our columns; RowError (with its index) when bad."""
        if not isinstance(item, dict):
            raise RowError("items", f"items[{index}] is not an object")
        quantity = item.get("quantity")
        if isinstance(quantity, str) and quantity.strip().isdigit():
            self.count("orders.items: quantity given as a string")
            quantity = int(quantity.strip())
        if isinstance(quantity, float) and quantity.is_integer():
            quantity = int(quantity)
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            raise RowError("items", f"items[{index}]: quantity {quantity!r} is not a positive whole number")
        prices = {}
        for name in ("unit_price", "total_price"):
            value = item.get(name)
            if isinstance(value, str):
                self.count("orders.items: amount given as a string")
            prices[name] = exact_money(value, f"items[{index}].{name}")
        product = item.get("product_id")
        if not isinstance(product, str):
            raise RowError("items", f"items[{index}]: product_id {product!r} is not a key")
        try:
            product_id = self._id("products", product, "items")
        except RowError:
            raise RowError("items", f"items[{index}]: product {product} is in no export") from None
        return {
            "product_id": product_id, "quantity": str(quantity), **prices,
            "special_instructions": item.get("special_instructions"),
            "modifiers": json.dumps([_modifier(m) for m in item.get("modifiers") or [] if isinstance(m, dict)]),
        }

    def _order_items(self, row, out, where):
        key = (row.get("id") or "").strip()
        first, span = self.spans.get_span(key)
        order = self._id("orders", key, "order_id")
        produced = []
        for index, item in enumerate(self._items(row)):
            place = f"{where} items[{index}]"
            if index >= span:
                produced.append((place, RowError("items", f"items[{index}]: the order has more lines than when it was "
                                                          f"first imported ({span})"), {"order_id": order}))
                continue
            try:
                line = self._line(item, index)
            except RowError as error:  # (with its id: a line rejected this run is not gone from the source)
                produced.append((place, error, {"order_id": order, "id": str(first + index)}))
                continue
            produced.append((place, {"id": str(first + index), "order_id": order, "created_at": row.get("created_at"),
                                     **line}))
        return produced

    def _payments(self, row, out, where):
        key = (row.get("id") or "").strip()
        method = (row.get("payment_method") or "").strip().lower()
        mapped = PAYMENT_METHODS.get(method, method)
        if mapped != method:
            self.count(f"payments: method {method} -> {mapped}")
        response = {}
        metadata = _json(row.get("payment_metadata") or row.get("metadata"))
        if metadata is not None:
            response["metadata"] = metadata
        for name in ("fee_amount", "net_amount", "provider", "provider_fee"):
            if not _null(row.get(name)):
                response[name] = row.get(name)
        if mapped != method:
            response["legacy_payment_method"] = method
        out.update(
            id=self._id("payments", key, "id"), order_id=self._id("orders", row.get("order_id"), "order_id"),
            payment_method=mapped or None, amount=row.get("amount"), transaction_id=row.get("external_id"),
            processor_response=json.dumps(response) if response else None,
            status=(row.get("status") or "").strip().lower() or None, processed_at=None,
            created_at=row.get("created_at"),
        )
        if "restaurant_id" in out:
            out["restaurant_id"] = self._id("restaurants", row.get("restaurant_id"), "restaurant_id")
        self._archive_extra("payments", row, self._order_restaurant(out["order_id"]))

    def _order_restaurant(self, order_id: str) -> int | None:
        if not order_id:
            return None
        return self.importer.states["orders"].values.get(int(order_id)) or None

    def _refunds(self, row, out, where):
        key = (row.get("id") or "").strip()
        state = (row.get("state") or row.get("status") or "").strip().lower()
        order_key = (row.get("order_id") or "").strip()
        out.update(
            id=self._id("refunds", key, "id"), order_id=self._id("orders", row.get("order_id"), "order_id"),
            payment_id=self._refund_payment(order_key), amount=row.get("amount"), reason=row.get("reason"),
            status=REFUND_STATUS.get(state, state) or None, created_at=row.get("created_at"),
            updated_at=self._updated(row),
        )
        if "restaurant_id" in out:
            out["restaurant_id"] = self._id("restaurants", row.get("restaurant_id"), "restaurant_id")
        self._archive_extra("refunds", row, self._order_restaurant(out["order_id"]))

    def _refund_payment(self, order_key: str) -> str:
        """The order's only completed payment, else its largest (counted)."""
        if not hasattr(self, "_payments_of"):
            self._payments_of = self._payments_by_order()
        candidates = self._payments_of.get(order_key, [])
        if not candidates:
            return ""
        completed = [c for c in candidates if c[0]]
        if len(completed) == 1:
            return str(completed[0][2])
        self.count("refunds: payment chosen as the order's largest")
        return str(max(candidates, key=lambda c: c[1])[2])

    def _payments_by_order(self) -> dict:
        wanted = set()
        file = self.raw.files.get("refunds")
        header = self.headers.get("refunds", [])
        if file is not None and "order_id" in header:
            at = header.index("order_id")
            wanted = {fields[at].strip() for _, fields in read_records(file) if len(fields) == len(header)}
        found: dict[str, list] = {}
        file = self.raw.files.get("payments")
        header = self.headers.get("payments", [])
        if file is None or not {"order_id", "id"} <= set(header):
            return found
        ids = self.maps.get("payments", {})
        for _, fields in read_records(file):
            if len(fields) != len(header):
                continue
            row = dict(zip(header, fields))
            order = (row.get("order_id") or "").strip()
            if order not in wanted or (row.get("id") or "").strip() not in ids:
                continue
            try:
                amount = Decimal(row.get("amount") or "0")
            except InvalidOperation:
                amount = Decimal(0)
            completed = (row.get("status") or "").strip().lower() == "completed"
            found.setdefault(order, []).append((completed, amount, ids[row["id"].strip()]))
        return found

    # -- after the load --

    def finish(self) -> None:
        """Every legacy table without a target of ours goes whole to the archive."""
        for table, file in self.raw.files.items():
            if table in MAPPED:
                continue
            self.read_whole.add(table)
            header = self.headers[table]
            key_at = header.index("id") if "id" in header else (header.index("sku") if "sku" in header else None)
            restaurant_at = header.index("restaurant_id") if "restaurant_id" in header else None
            for line, fields in read_records(file):
                if len(fields) != len(header):
                    continue
                key = fields[key_at] if key_at is not None and not _null(fields[key_at]) else file.place(line)
                restaurant = self._restaurant(fields[restaurant_at]) if restaurant_at is not None else None
                data = {column: (_json(value) if not _null(value) else None) for column, value in zip(header, fields)}
                self.archive(table, key, restaurant, data)
        self._flush_archive()
        if self.importer.catch_up and not self.importer.dry_run:
            self._prune_archive()

    def _prune_archive(self) -> None:
        """--catch-up: archive rows of the legacy tables read whole this run that this run did
        not write (their legacy row is gone, or no longer has what went to the archive) are
        deleted; those of rows rejected whole this run stay."""
        gone_tables, gone_keys = [], []
        for legacy in sorted(self.read_whole):
            unsure = self.unsure_keys.get(legacy, ())
            for table, key in self.conn.execute(
                sql.SQL("SELECT legacy_table, legacy_key FROM {} WHERE legacy_table = %s OR legacy_table LIKE %s")
                .format(sql.Identifier(ARCHIVE)), [legacy, f"{legacy}.%"],
            ):
                if (table, key) not in self.archived_keys and key not in unsure:
                    gone_tables.append(table)
                    gone_keys.append(key)
        if gone_keys:
            with self.conn.transaction():
                self.conn.execute(
                    sql.SQL("DELETE FROM {} a USING unnest(%s::text[], %s::text[]) g (legacy_table, legacy_key)"
                            " WHERE a.legacy_table = g.legacy_table AND a.legacy_key = g.legacy_key")
                    .format(sql.Identifier(ARCHIVE)), [gone_tables, gone_keys],
                )
            self.count("legacy_archive: rows removed (their legacy row gone, or nothing of it archived now)",
                       len(gone_keys))

    def close(self) -> None:
        if self.conn is not None and not self.conn.closed:
            self.conn.close()


SETTING_KEYS = ("currency", "vat_rate", "service_charge_rate", "opening_hours", "timezone")


def _rate(value, enabled) -> str | None:
    if enabled is False:
        return "0"
    if value is None:
        return None
    try:
        return str(Decimal(str(value)))
    except InvalidOperation:
        return str(value)


def _modifier(data: dict) -> dict:
    """A legacy line modifier as our snapshot ({group, option, price, quantity, option_id});
    the keys it does not know kept under "source"."""
    known = {"group", "name", "option", "price", "quantity", "option_id", "modifier_group"}
    price = data.get("price", 0)
    try:
        price_text = exact_money(price, "modifier price")
    except RowError:
        price_text = str(price)
    snapshot = {
        "group": data.get("group") or data.get("modifier_group"),
        "option": data.get("option") or data.get("name") or "",
        "price": price_text,
        "quantity": data.get("quantity", 1),
        "option_id": data.get("option_id") if isinstance(data.get("option_id"), int) else None,
    }
    extra = {k: v for k, v in data.items() if k not in known}
    if extra:
        snapshot["source"] = extra
    return snapshot


def _text(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


