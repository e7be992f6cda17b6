"""Synthetic legacy exports: CSV files shaped like the old system's (issue 4), any size, seeded.

`generate_export()` writes one `<table>_export.csv` per table of the schema (legacy/schema.py:
every importable table but those this project added, `PROJECT_TABLES`) that the guide's step 3.1 loads
with `COPY <table> FROM STDIN WITH (FORMAT csv, HEADER true)`, plus `settings_export.csv` and
(by default) `refunds_export.csv`. The importer's tests and benchmark read them, so the format
is a contract:

- The header row holds the legacy columns: our models' `db_table`/`column` names, in the
  models' order, without the columns this project added (`PROJECT_COLUMNS`: the children's
  `restaurant_id`, `users.is_superuser`, `employees.role_id`). `users.profile_image_url` and
  `orders.receipt_url` are there (the guide's URL step updates them). The settings file has
  `entity_type,entity_id,setting_key,setting_value,setting_type` (entity_type `platform` or
  `restaurant`) and no id; every other row has its legacy `id`.
- Python's csv module, QUOTE_MINIMAL, `\\n` line ends (`crlf=True`: `\\r\\n`; a field's own
  newlines stay `\\n`). NULL is an empty field; no value is an empty string. Booleans `t`/`f`,
  dates `2025-03-01`, times `10:00:00`, decimals with their column's places (`12.50`,
  quantities `2.500`, turnover `1.2500`), JSON columns as JSON text.
- Timestamps are ISO 8601 with an offset, `2025-03-01T10:00:00+00:00`; about 5 % are written
  in British summer time (`2025-03-01T11:00:00+01:00`, the same instant) and about 10 % have
  no zone at all (`2025-03-01 10:00:00`), which means UTC.
- Money holds together: an item's total_price = unit_price * quantity; an order's subtotal is
  the sum of its items, tax_amount = 20 % and service_charge = 12.5 % of the subtotal
  (`percent_of`: ROUND_HALF_UP), discount_amount is 0 or 10 % of the subtotal, total_amount =
  subtotal + tax + service - discount. Each order has one payment, or two (a split) that add
  up to its total; a payment's commission and each completed order's commission record use
  the restaurant's plan rate. Payments of cancelled orders are `failed`, of open orders
  `pending`. About 1 % of completed orders have a refund (of the last payment).
- Ids are consistent: every reference points to an existing row of the same restaurant (and a
  user's platform_id is their restaurant's platform). Order numbers (`ORD-<restaurant>-<seq>`)
  and restock order numbers are unique in the export, SKUs per restaurant, emails case-
  insensitively. `users.password_hash` is bcrypt (`$2b$`, some `$2a$`/`$2y$`) of
  `legacy-<role>` (`legacy_password(role)`); about 1 user in 1000 (at least one) has an
  old non-bcrypt hash (`md5$salt$hex` or `sha1:hex`): a legal row whose password is unusable.
- Other legal rows an importer must not reject: the same SKU in every restaurant, emails in
  mixed case, stock adjustments with a negative quantity, a profile_image_url with the old
  storage domain inside a query string (not as its prefix), category icons that are emoji
  (left empty when the encoding has no emoji), `stock_movements.reference_id` pointing at an
  order or a restock order of the same restaurant as `reference_type` says.

`bad_rows=N` adds N bad rows to every table (fewer where the table has too few rows to copy
from), each a copy of a good row with a fresh id (from `BAD_ID_BASE` on) and ONE fault, a
different kind for each of a table's bad rows (`BAD_KINDS`; they repeat once a table's kinds are
used up). For duplicates the later row is the bad one. `commission_records.order_id` is checked
as a reference to an order (the guide's "will reference orders(id)"). A bad order (and a bad restock order) comes with its own items, payments and
commission record: those rows are recorded as kind `depends_on` with the parent's line (when the
parent's fault is its id, an importer sees them as references to a missing row). Bad rows never
change the good rows: the good data of a seed is the same whatever `bad_rows` is.
The manifest lists every bad row with its table, file, line (where its record starts; the
header is line 1), id, column and kind; `sums` are over good rows only.

It streams: the orders and their children are written as they are made (a few MB of state
whatever the size), all amounts are integer pennies formatted at the end, and the same seed
gives the same bytes.
"""

from __future__ import annotations

import base64
import codecs
import csv
import gzip
import hashlib
import json
import random
import shutil
import tarfile
import time
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Callable

import bcrypt

from billing.plans import GUIDE_PLANS
from fynlo.cutover.common import CutoverError
from fynlo.cutover.legacy.schema import SETTINGS_TARGETS, source_order, table_specs

# --- The format ------------------------------------------------------------------------------

# Our tables that the legacy system never had: the export has no file for them (the
# `settings` file stands in for platform_settings and restaurant_settings). Every other
# importable table of the schema is in the export, with the schema's columns.
PROJECT_TABLES = frozenset({
    "employee_roles",  # DESIGN.md's completion: legacy employees have a role name only
    "modifier_groups", "modifier_options", "product_modifier_groups",  # the till (issue 16)
    "order_number_counters", "idempotency_keys",  # the API's own bookkeeping
    "drawer_sessions", "drawer_entries", "z_reports",  # the till at closing (issue 17)
})

# Columns this project added to the guide's tables; the legacy system never had them.
PROJECT_COLUMNS = {
    "users": {"is_superuser"},
    "user_permissions": {"restaurant_id"},
    "restock_order_items": {"restaurant_id"},
    "employees": {"role_id"},
    "order_items": {"restaurant_id", "modifiers"},
    # the till's (issue 16): the rates and VAT mode an order kept, its version, tips
    "orders": {"vat_rate", "service_charge_rate", "prices_include_vat", "version"},
    "payments": {"tip_amount"},
    "refunds": {"tip_amount"},
    "daily_reports": {"tax_breakdown", "tips"},
}
# the till offline and at closing (issue 17): the device's references and times, the oversold flag,
# cash drawers, Z reports, categories' updated_at
PROJECT_COLUMNS["orders"] |= {"client_reference", "oversold_offline", "z_report_id", "received_at"}
PROJECT_COLUMNS["payments"] |= {"client_reference", "drawer_session_id", "z_report_id"}
PROJECT_COLUMNS["refunds"] |= {"drawer_session_id", "z_report_id"}
PROJECT_COLUMNS["daily_reports"] |= {"oversold_offline"}
PROJECT_COLUMNS["categories"] = {"updated_at"}
PROJECT_COLUMNS["stock_movements"] = {"oversold_offline"}
# the legacy Fynlo backend's stock (issue 14): an inventory item may be an ingredient, with a name
PROJECT_COLUMNS["inventory_items"] = {"name"}

SETTINGS_COLUMNS = ("entity_type", "entity_id", "setting_key", "setting_value", "setting_type")


def export_tables() -> tuple[str, ...]:
    """The export's files, in the importer's load order: the schema's source tables but ours."""
    return tuple(
        table for table in source_order() if table not in PROJECT_TABLES and table not in SETTINGS_TARGETS.values()
    )


# The hot tables' rows are written as tuples in this order (checked against the models).
HOT_COLUMNS = {
    "orders": (
        "id", "restaurant_id", "order_number", "table_number", "customer_name", "order_type", "status",
        "subtotal", "tax_amount", "service_charge", "discount_amount", "total_amount", "items_count",
        "served_by", "created_by", "receipt_url", "created_at", "updated_at",
    ),
    "order_items": (
        "id", "order_id", "product_id", "quantity", "unit_price", "total_price", "special_instructions",
        "created_at",
    ),
    "payments": (
        "id", "restaurant_id", "order_id", "payment_method", "amount", "commission_rate", "commission_amount",
        "transaction_id", "processor_response", "status", "processed_at", "created_at",
    ),
    "refunds": (
        "id", "restaurant_id", "order_id", "payment_id", "amount", "reason", "status", "processed_by",
        "processed_at", "created_at", "updated_at",
    ),
    "commission_records": (
        "id", "restaurant_id", "platform_id", "order_id", "gross_amount", "commission_rate",
        "commission_amount", "processed_at", "payment_status",
    ),
}

# What a bad row's `kind` means (the column is in the manifest entry).
BAD_KINDS = {
    "non_integer_id": "the id is not an integer",
    "missing_required": "a NOT NULL column is empty",
    "negative_value": "a quantity or amount below its CHECK constraint's floor",
    "too_many_decimals": "a decimal with more places than its column (12.345 in DECIMAL(10,2))",
    "invalid_integer": "an integer column holds a non-integer",
    "invalid_boolean": "a boolean column holds neither t nor f",
    "invalid_timestamp": "not a timestamp",
    "invalid_date": "not a date",
    "invalid_time": "not a time of day",
    "invalid_json": "a JSON column holds broken JSON",
    "unknown_choice": "a status, role, type or payment method outside its list",
    "missing_parent": "a reference to a row that is not in the export",
    "restaurant_mismatch": "a reference to a row of another restaurant (or restaurant_id differs from the parent's)",
    "platform_mismatch": "a platform_id (or plan) that is not the restaurant's platform's",
    "duplicate_key": "a unique key that an earlier row already has (emails compared case-insensitively)",
    "tenant_check": "a platform_owner with a restaurant (users_tenant_check)",
    "date_order": "week_end before week_start",
    "depends_on": "a good row whose parent is a bad row",
}

BAD_ID_BASE = 1_000_000_000  # ids of bad rows and their dependents: never a good row's
MISSING_ID_BASE = 2_000_000_000  # ids that no row has (for `missing_parent`)
BAD_ORDER_SEQ_BASE = 900_000_000  # order-number sequence of bad orders
OLD_STORAGE = "https://old-storage-domain.com/"

PERIOD_END = date(2025, 2, 28)  # the last day of orders
OPENING = 10 * 3600  # orders between 10:00 and 22:00 UTC
SERVICE_SECONDS = 12 * 3600
TAX_BP = 2000  # rates in hundredths of a percent: 20.00 %
SERVICE_BP = 1250
DISCOUNT_BP = 1000
# name, commission rate in hundredths of a percent, monthly fee in pennies, max restaurants
PLANS = tuple(
    (plan.name, int(plan.commission_rate * 100), int(plan.monthly_fee * 100), plan.max_restaurants)
    for plan in GUIDE_PLANS
)
STAFF_ROLES = ("restaurant_owner", "manager", "cashier", "cashier", "server", "server", "cook", "cook")
ROLES = ("platform_owner", "restaurant_owner", "manager", "cashier", "server", "cook")


def legacy_password(role: str) -> str:
    """The password behind every synthetic user's bcrypt hash of that role."""
    return f"legacy-{role}"


def legacy_columns(table: str) -> tuple[str, ...]:
    """The header of `<table>_export.csv`."""
    if table == "settings":
        return SETTINGS_COLUMNS
    added = PROJECT_COLUMNS.get(table, set())
    return tuple(column for column in table_specs()[table].columns if column not in added)


def export_file_name(table: str) -> str:
    return f"{table}_export.csv"


class LegacyExportError(CutoverError):
    """Arguments the generator cannot honour (exit 2)."""


@dataclass
class ExportManifest:
    """What `generate_export` wrote: files, row counts (good + bad), the bad rows, good sums."""

    dest: Path
    files: dict[str, Path]
    rows: dict[str, int]
    bad: list[dict]
    sums: dict[int, dict]
    archive: Path | None = None
    seconds: float = 0.0
    params: dict = field(default_factory=dict)

    def bad_lines(self, table: str) -> list[int]:
        """Lines of `table`'s file where a bad row (or a dependent of one) starts."""
        return sorted(entry["line"] for entry in self.bad if entry["table"] == table)

    def good_rows(self, table: str) -> int:
        return self.rows.get(table, 0) - len(self.bad_lines(table))

    def as_dict(self) -> dict:
        return {
            "dest": str(self.dest),
            "archive": str(self.archive) if self.archive else None,
            "params": self.params,
            "seconds": round(self.seconds, 3),
            "files": {table: str(path) for table, path in self.files.items()},
            "rows": self.rows,
            "bad": self.bad,
            "sums": {str(rid): sums for rid, sums in self.sums.items()},
        }


# --- Formatting --------------------------------------------------------------------------------


def money(pennies: int) -> str:
    """Integer pennies as a two-place decimal: 1250 -> "12.50"."""
    sign = "-" if pennies < 0 else ""
    pennies = abs(pennies)
    return f"{sign}{pennies // 100}.{pennies % 100:02d}"


def percent(pennies: int, rate_bp: int) -> int:
    """`rate_bp` hundredths of a percent of a non-negative amount, ROUND_HALF_UP (= `percent_of`)."""
    return (pennies * rate_bp + 5000) // 10000


def _milli(value: int) -> str:
    """Thousandths as a three-place decimal: 2500 -> "2.500"."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    return f"{sign}{value // 1000}.{value % 1000:03d}"


def _decimal(pennies: int) -> Decimal:
    return Decimal(pennies).scaleb(-2)


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _slug(text: str) -> str:
    out = "".join(ch if ch.isalnum() else "-" for ch in _ascii(text).lower())
    return "-".join(part for part in out.split("-") if part)


def _bool(value: bool) -> str:
    return "t" if value else "f"


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)


_HMS = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)]
# (date/time separator, seconds added, suffix): 17 in 20 UTC, 1 in BST, 2 without a zone (UTC)
_ZONES = tuple([("T", 0, "+00:00")] * 8 + [("T", 3600, "+01:00")] + [(" ", 0, "")] + [("T", 0, "+00:00")] * 9
               + [(" ", 0, "")])

# --- Text (every string but the category icons fits cp1252) ---------------------------------------

PLATFORM_NAMES = ("Fynlo Platform", "Café Olé Group", "Smith & Co. Hospitality", "Nordlicht Gastro")
RESTAURANT_NAMES = (
    "Fynlo Mexican Restaurant", "Café Olé", "The King's Arms", 'Joe\'s "Famous" Diner', "Bäckerei Müller, Soho",
    "La Piña Cantina", "Crêpes & Co.", "The Golden Curry", "Señor Taco", "O'Malley's Bar, Grill",
)
FIRST_NAMES = (
    "Maria", "José", "Zoë", "Siobhán", "Liam", "Aoife", "Chloé", "Mohammed", "Priya", "Tomás", "Grace",
    "Oliver", "Amélie", "Björn", "Noah", "Fatima", "Seán", "Ana", "Jürgen", "Olivia",
)
LAST_NAMES = (
    "O'Brien", "García", "Müller", "Smith", "Nguyen", "Kowalski", "D'Souza", "Fernández", "Jones", "Patel",
    "Brontë", "MacDonald", "Dubois", "Ó Súilleabháin", "Taylor",
)
CUSTOMER_NAMES = (
    'O\'Brien, "Table 4"', "Smith; party of 6", 'The "Usual" Guy', "Zoë & Jürgen", "Dr. Patel, Ph.D.",
    'Mr O\'Neill "VIP"', "Renée, birthday", "Señora García",
) + tuple(f"{first} {last}" for first, last in zip(FIRST_NAMES * 3, LAST_NAMES * 4))[:56]
INSTRUCTIONS = (
    "No onions, please", 'Extra "spicy" sauce', "Allergy: peanuts\nTell the chef", "Gluten-free bun, no butter",
    "Well done;\nno salt", "Half portion - child's meal",
)
REFUND_REASONS = (
    'Wrong order, customer said "never again"', "Food arrived cold", "Duplicate charge\nrefunded to card",
    "Customer changed mind", "Item unavailable, refunded",
)
CATEGORIES = (("Starters", "🥗"), ("Mains", "🍔"), ("Desserts", "🍰"), ("Drinks", "🍹"), ("Sides", "🍟"))
MENU = {
    "Starters": (("Nachos, Cheese & Jalapeños", 650), ('"Loaded" Potato Skins', 595), ("Soup of the Day", 495),
                 ("Calamari, Lemon Aïoli", 725), ("Bruschetta", 550)),
    "Mains": (("Fish, Chips & Mushy Peas", 1495), ('The "Big Kahuna" Burger', 1350), ("Chicken Tikka Masala", 1295),
              ("Café Olé Tacos (3)", 1150), ("Steak Frites, 8oz", 2250)),
    "Desserts": (("Crème Brûlée", 650), ("Sticky Toffee Pudding", 695), ("Churros, Chocolate Dip", 595),
                 ("Affogato", 450), ("Cheesecake of the Day", 625)),
    "Drinks": (("Flat White", 325), ("Coca-Cola 330ml", 275), ("House Red, 175ml", 725), ("Piña Colada", 895),
               ("Still Water", 195)),
    "Sides": (("Skinny Fries", 395), ("Onion Rings", 425), ("Side Salad, House Dressing", 375),
              ("Garlic Bread", 350), ("Mac 'n' Cheese", 495)),
}
DESCRIPTIONS = (None, "Served with fries.\nContains: gluten, dairy", 'Our chef\'s "secret" recipe, since 1998',
                "Vegetarian", None, "Contains nuts; ask your server")
SUPPLIERS = (
    ("Brakes Foodservice", "Anna Kowalski", "Net 30"), ("Smith & Sons, Ltd.", 'Bob "Bobby" Smith', "Net 14"),
    ("Müller Gemüse GmbH", "Jürgen Müller", "Cash on delivery"), ("Fresh Direct", "Priya Patel", "Net 30"),
)
STREETS = ("High Street", "Market Square", "King's Road", "Rue de la Paix", "Old Kent Road", "Station Approach")
PERMISSIONS = {
    "manager": ("inventory.read", "inventory.write", "employees.read", "employees.write", "reports.read",
                "orders.refund"),
    "cashier": ("orders.write", "payments.write"),
    "server": ("orders.write",),
    "cook": ("orders.read", "inventory.read"),
}
JOBS = {  # job title, department, hourly rate (pennies), employment type
    "manager": ("Restaurant Manager", "Management", None, "full_time"),
    "cashier": ("Cashier", "Front of House", 1150, "part_time"),
    "server": ("Server", "Front of House", 1125, "part_time"),
    "cook": ("Line Cook", "Kitchen", 1300, "full_time"),
}
TEXTS = (PLATFORM_NAMES, RESTAURANT_NAMES, FIRST_NAMES, LAST_NAMES, CUSTOMER_NAMES, INSTRUCTIONS, REFUND_REASONS,
         DESCRIPTIONS, STREETS, tuple(name for items in MENU.values() for name, _ in items),
         tuple(text for row in SUPPLIERS for text in row), ("£", "¡Gracias!"))

# Hot-loop lookup tables (indexed by random bits)
_QUANTITIES = (1,) * 24 + (2,) * 5 + (3,) * 2 + (4,)
_STATUSES = ("completed",) * 122 + ("cancelled", "cancelled", "draft", "confirmed", "preparing", "ready")
_ORDER_TYPES = ("dine_in",) * 5 + ("takeaway", "takeaway", "delivery")
_TABLES = tuple(f"T{n}" for n in range(1, 33))
_METHODS = ("card",) * 10 + ("cash",) * 4 + ("apple_pay",) * 3 + ("sumup",) * 3
_RESPONSES = {
    "card": '{"provider": "stripe", "charge_id": "ch_%d", "card_brand": "visa", "last4": "4242", "approved": true}',
    "apple_pay": '{"provider": "stripe", "charge_id": "ch_%d", "wallet": "apple_pay", "approved": true}',
    "sumup": '{"provider": "sumup", "transaction_code": "TX%d", "status": "SUCCESSFUL"}',
}
_FAILED_RESPONSE = '{"provider": "stripe", "charge_id": "ch_%d", "approved": false, "decline_code": "do_not_honor"}'
_TRANSACTIONS = {"card": "ch_%d", "apple_pay": "ch_%d", "sumup": "TX%d"}
_INSTRUCTIONS = INSTRUCTIONS + (None,) * (128 - len(INSTRUCTIONS))

BAD_TIMESTAMP = "2025-02-30 25:61:00"
BAD_DATE = "2025-13-45"
BAD_TIME = "25:61:00"
BAD_BOOLEAN = "maybe"
BAD_JSON = '{"broken": '


# --- Writing -------------------------------------------------------------------------------------


class _Chunks(list):
    """What the csv writer writes into: its rows' text, kept until the sink writes them out."""

    write = list.append


class _Sink:
    """One CSV file: rows go through a csv writer into a list of strings that is written out in big
    chunks, counting the lines that leave it (so a record's start line is known without parsing)."""

    FLUSH_AT = 2048  # rows: a few hundred KB

    def __init__(self, table: str, path: Path, header: tuple[str, ...], *, encoding: str, crlf: bool):
        self.table = table
        self.path = path
        self.header = header
        self.file = open(path, "w", encoding=encoding, newline="")
        self.chunks = _Chunks()
        self.writerow = csv.writer(self.chunks, lineterminator="\r\n" if crlf else "\n").writerow
        self.lines = 0
        self.rows = 0
        self.writerow(header)

    def flush(self) -> None:
        if self.chunks:
            text = "".join(self.chunks)
            self.chunks.clear()
            self.lines += text.count("\n")
            self.file.write(text)

    def maybe_flush(self) -> None:
        if len(self.chunks) >= self.FLUSH_AT:
            self.flush()

    def next_line(self) -> int:
        """The line the next record starts on (the header is line 1)."""
        self.flush()
        return self.lines + 1

    def write_dict(self, row: dict) -> None:
        self.writerow([row[column] for column in self.header])
        self.rows += 1

    def close(self) -> None:
        self.flush()
        self.file.close()


class _Restaurant:
    __slots__ = ("rid", "index", "platform_id", "slug", "name", "plan", "rate_bp", "rate", "prefix", "seq",
                 "products", "creators", "servers", "manager", "owner", "staff", "sums", "agg", "sale_orders")

    def __init__(self, rid: int, index: int, platform_id: int):
        self.rid = rid
        self.index = index
        self.platform_id = platform_id
        self.prefix = f"ORD-{rid}-"
        self.seq = 0
        self.products: list[tuple[int, int, str]] = []  # (product id, price in pennies, price text)
        self.creators: list[int] = []  # users who take orders
        self.servers: list[int] = []  # employees who serve
        self.staff: list[tuple[int, str]] = []  # (user id, role)
        self.sums = [0, 0, 0, 0, 0, 0, 0]  # orders total, orders, payments amount, payments, refunds, n, items
        self.agg = _new_day()
        self.sale_orders: list[int] = []


def _new_day() -> list:
    # completed orders, sales, items, {method: pennies}, {product: quantity}, {employee: [orders, pennies]}
    return [0, 0, 0, {}, {}, {}]


class _Generator:
    def __init__(self, dest: Path, *, platforms: int, restaurants_per_platform: int, orders: int,
                 items_per_order: float, seed: int, bad_rows: int, crlf: bool, encoding: str,
                 with_refunds: bool, progress: Callable[[int], None] | None):
        self.dest = dest
        self.n_platforms = platforms
        self.per_platform = restaurants_per_platform
        self.n_orders = orders
        self.items_per_order = items_per_order
        self.bad_rows = bad_rows
        self.crlf = crlf
        self.encoding = encoding
        self.with_refunds = with_refunds
        self.progress = progress
        self.rng = random.Random(seed)
        self.bad_rng = random.Random(f"bad rows of {seed}")
        self.days = max(1, min(365, -(-orders // 40)))
        self.start = PERIOD_END - timedelta(days=self.days - 1)
        self.icons = _encodable("".join(icon for _, icon in CATEGORIES), encoding)
        self.bad: list[dict] = []
        self.report_templates: list[dict] = []
        self.next_bad_order = BAD_ORDER_SEQ_BASE
        self.next_bad_id = BAD_ID_BASE
        self.next_missing_id = MISSING_ID_BASE
        self.pools: dict[str, dict[int, list[int]]] = {}
        self.sinks: dict[str, _Sink] = {}
        self.rests: list[_Restaurant] = []
        self.platform_ids: list[int] = []

    # -- helpers

    def bad_id(self) -> int:
        self.next_bad_id += 1
        return self.next_bad_id

    def missing_id(self, *_args) -> int:
        self.next_missing_id += 1
        return self.next_missing_id

    def pool(self, table: str, rid: int) -> list[int]:
        return self.pools.setdefault(table, {}).setdefault(rid, [])

    def other_restaurant(self, rid: int) -> int:
        ids = [r.rid for r in self.rests]
        return ids[(ids.index(rid) + 1) % len(ids)]

    def other(self, table: str):
        """A value maker: an id of `table` that belongs to the next restaurant (restaurant_mismatch)."""

        def make(row, template):
            rid = self.other_restaurant(row["_r"])
            return self.pool(table, rid)[0]

        return make

    def other_platform(self, pid: int) -> int:
        return self.platform_ids[(self.platform_ids.index(pid) + 1) % len(self.platform_ids)]

    def day(self, offset: int) -> str:
        return (self.start + timedelta(days=offset)).isoformat()

    def ts(self, offset: int, seconds: int | None = None) -> str:
        """A timestamp `offset` days after the first day of orders, in one of the export's forms."""
        if seconds is None:
            seconds = OPENING + self.rng.randrange(SERVICE_SECONDS)
        sep, shift, suffix = _ZONES[self.rng.randrange(len(_ZONES))]
        return f"{self.day(offset)}{sep}{_HMS[seconds + shift]}{suffix}"

    def open(self, table: str) -> None:
        path = self.dest / export_file_name(table)
        self.sinks[table] = _Sink(table, path, legacy_columns(table), encoding=self.encoding, crlf=self.crlf)

    # -- writing with bad rows

    def write(self, sink: _Sink, row: dict) -> None:
        if "_bad" in row or "_dep" in row:
            line = sink.next_line()
            row["_line"] = line
            entry = {"table": sink.table, "file": sink.path.name, "line": line,
                     "id": None if row.get("id") is None else str(row["id"])}
            if "_bad" in row:
                entry["column"], entry["kind"] = row["_bad"][1], row["_bad"][0]
                entry["depends_on"] = None
            else:
                column, parent = row["_dep"]
                entry["column"], entry["kind"] = column, "depends_on"
                entry["depends_on"] = {"table": parent["_table"], "line": parent["_line"],
                                       "id": None if parent.get("id") is None else str(parent["id"])}
            self.bad.append(entry)
        sink.write_dict(row)

    def emit(self, table: str, rows: list[dict], specs: list, *, eligible: list[int] | None = None,
             fresh: Callable[[dict, dict], bool | None] | None = None) -> list[dict]:
        """Write `table`'s rows with its bad rows among them; returns the bad rows written."""
        sink = self.sinks[table]
        plan: dict[int, list[dict]] = {}
        candidates = list(range(len(rows))) if eligible is None else eligible
        made = []
        if specs and candidates and self.bad_rows:
            count = self.bad_rows
            for j in range(count):
                kind, column, value = specs[j % len(specs)]
                at = candidates[((2 * j + 1) * len(candidates)) // (2 * count)]
                template = rows[at]
                row = {key: val for key, val in template.items() if key not in ("_dep", "_line", "_from")}
                row["_from"] = at
                if "id" in row:
                    row["id"] = self.bad_id()
                if fresh is not None and fresh(row, template) is False:
                    continue
                row[column] = value(row, template) if callable(value) else value
                row["_bad"] = (kind, column)
                row["_table"] = table
                plan.setdefault(at, []).append(row)
                made.append(row)
        for index, row in enumerate(rows):
            row["_table"] = table
            self.write(sink, row)
            for bad in plan.get(index, ()):
                self.write(sink, bad)
        return made

    # -- the tables

    def run(self) -> None:
        for table in export_tables():
            if table != "refunds" or self.with_refunds:
                self.open(table)
        for table, columns in HOT_COLUMNS.items():
            if table in self.sinks and self.sinks[table].header != columns:
                raise LegacyExportError(
                    f"the {table} model's columns changed; update HOT_COLUMNS in {__name__}"
                )
        self.platforms()
        self.restaurants()
        self.settings()
        self.users()
        inventory = self.menu()
        restock_items = self.restocks(inventory)
        self.staff()
        self.orders()
        self.stock_movements(inventory, restock_items)
        for sink in self.sinks.values():
            sink.close()

    def platforms(self) -> None:
        rows, plans = [], []
        for k in range(self.n_platforms):
            pid = k + 1
            self.platform_ids.append(pid)
            name = PLATFORM_NAMES[k % len(PLATFORM_NAMES)]
            if k >= len(PLATFORM_NAMES):
                name = f"{name} {k // len(PLATFORM_NAMES) + 1}"
            rows.append({
                "id": pid, "name": name, "slug": f"{_slug(name)}-{pid}", "owner_email": f"owner@{_slug(name)}.example",
                "created_at": self.ts(-900 + k), "updated_at": self.ts(-30), "is_active": "t",
                "total_restaurants": self.per_platform, "monthly_revenue": money(self.rng.randrange(10**6, 10**8)),
            })
            for j, (plan, rate_bp, fee, max_restaurants) in enumerate(PLANS):
                plan_id = k * len(PLANS) + j + 1
                self.pool("subscription_plans", pid).append(plan_id)
                plans.append({
                    "id": plan_id, "platform_id": pid, "name": plan, "commission_rate": money(rate_bp),
                    "service_fee_rate": "12.50", "monthly_fee": money(fee), "max_restaurants": max_restaurants,
                    "features": _json({"inventory": True, "reports": plan != "basic", "max_users": 10 * (j + 1),
                                       "note": f"{plan.title()} plan, \"all-in\""}),
                    "is_active": "t", "created_at": self.ts(-850 + k),
                })
        self.emit("platforms", rows, [
            ("duplicate_key", "slug", _same("slug")), ("missing_required", "name", None),
            ("invalid_boolean", "is_active", BAD_BOOLEAN), ("too_many_decimals", "monthly_revenue", "1234.567"),
            ("non_integer_id", "id", _non_integer), ("invalid_timestamp", "created_at", BAD_TIMESTAMP),
        ], fresh=_suffix("slug"))
        specs = [("missing_parent", "platform_id", self.missing_id), ("missing_required", "commission_rate", None),
                 ("invalid_json", "features", BAD_JSON), ("too_many_decimals", "monthly_fee", "49.999"),
                 ("non_integer_id", "id", _non_integer)]
        self.emit("subscription_plans", plans, specs)

    def restaurants(self) -> None:
        rows, subscriptions = [], []
        for k in range(self.n_platforms * self.per_platform):
            rid = k + 1
            pid = k // self.per_platform + 1
            rs = _Restaurant(rid, k, pid)
            plan_index = k % len(PLANS)
            plan, rate_bp, fee, _ = PLANS[plan_index]
            rs.plan, rs.rate_bp, rs.rate = plan, rate_bp, money(rate_bp)
            name = RESTAURANT_NAMES[k % len(RESTAURANT_NAMES)]
            if k >= len(RESTAURANT_NAMES):
                name = f"{name} #{k // len(RESTAURANT_NAMES) + 1}"
            rs.name, rs.slug = name, f"{_slug(name)}-{rid}"
            self.rests.append(rs)
            self.pool("restaurants", rid).append(rid)
            logo = None if k % 4 == 3 else f"{OLD_STORAGE}logos/{rid}/logo.png"
            rows.append({
                "id": rid, "platform_id": pid, "_r": rid, "name": name, "slug": rs.slug,
                "business_type": "restaurant" if k % 3 else "cafe",
                "address": f"{10 + k} {STREETS[k % len(STREETS)]}\nLondon, E{1 + k % 9} {k % 10}AN",
                "phone": f"+44 20 7946 {k % 10000:04d}", "email": f"hello@{rs.slug}.example",
                "tax_number": f"GB{100000000 + rid * 7919 % 899999999}", "logo_url": logo,
                "created_at": self.ts(-600 + k), "updated_at": self.ts(-10), "is_active": "t",
                "subscription_tier": plan, "monthly_revenue": money(self.rng.randrange(10**6, 5 * 10**7)),
                "last_activity": self.ts(self.days - 1),
            })
            plan_ids = self.pool("subscription_plans", pid)
            if k % 3 == 2:  # an earlier subscription, cancelled when the restaurant moved plan
                old = PLANS[(plan_index + 1) % len(PLANS)]
                subscriptions.append({
                    "id": None, "restaurant_id": rid, "_r": rid, "plan_id": plan_ids[(plan_index + 1) % len(PLANS)],
                    "start_date": self.day(-700), "end_date": self.day(-366), "status": "cancelled",
                    "commission_rate": money(old[1]), "monthly_fee": money(old[2]),
                    "created_at": self.ts(-700), "updated_at": self.ts(-366),
                })
            subscriptions.append({
                "id": None, "restaurant_id": rid, "_r": rid, "plan_id": plan_ids[plan_index],
                "start_date": self.day(-365), "end_date": None, "status": "active",
                "commission_rate": money(rate_bp), "monthly_fee": money(fee),
                "created_at": self.ts(-365), "updated_at": self.ts(-365),
            })
        for number, row in enumerate(subscriptions, start=1):
            row["id"] = number
        two_p = self.n_platforms > 1
        specs = [("missing_parent", "platform_id", self.missing_id), ("duplicate_key", "slug", _same("slug")),
                 ("missing_required", "name", None), ("invalid_timestamp", "last_activity", BAD_TIMESTAMP),
                 ("non_integer_id", "id", _non_integer)]
        self.emit("restaurants", rows, specs, fresh=_suffix("slug"))
        specs = [("missing_parent", "plan_id", self.missing_id), ("unknown_choice", "status", "paused"),
                 ("invalid_date", "start_date", BAD_DATE)]
        if two_p:
            specs.append(("platform_mismatch", "plan_id",
                          lambda row, t: self.pool("subscription_plans", self.other_platform(self.platform_of(row)))[0]))
        specs += [("too_many_decimals", "commission_rate", "8.005"),
                  ("missing_parent", "restaurant_id", self.missing_id), ("non_integer_id", "id", _non_integer)]
        self.emit("restaurant_subscriptions", subscriptions, specs)

    def platform_of(self, row: dict) -> int:
        return self.rests[row["_r"] - 1].platform_id

    def settings(self) -> None:
        rows = []
        for pid in self.platform_ids:
            for key, value, kind in (("default_commission_rate", "8.00", "number"),
                                     ("support_email", f"support{pid}@fynlo.example", "string"),
                                     ("maintenance_mode", "false", "boolean"),
                                     ("feature_flags", _json({"sumup": True, "apple_pay": pid % 2 == 1}), "json")):
                rows.append({"entity_type": "platform", "entity_id": pid, "_r": None, "setting_key": key,
                             "setting_value": value, "setting_type": kind})
        for rs in self.rests:
            for key, value, kind in (
                ("tax_rate", "20.00", "number"), ("service_charge_rate", "12.50", "number"),
                ("currency", "GBP", "string"),
                ("receipt_footer", f'Thank you for dining at {rs.name}, "¡Gracias!"\nVAT No. GB{rs.rid:09d}', "string"),
                ("opening_hours", _json({day: ["10:00", "22:00"] for day in ("mon", "tue", "wed", "thu", "fri")}),
                 "json"),
                ("accepts_cash", "true", "boolean"),
            ):
                rows.append({"entity_type": "restaurant", "entity_id": rs.rid, "_r": rs.rid, "setting_key": key,
                             "setting_value": value, "setting_type": kind})
        counter = iter(range(1, 10**6))

        def fresh(row, template):
            row["setting_key"] = f"legacy_extra_{next(counter)}"

        self.emit("settings", rows, [
            ("unknown_choice", "entity_type", "store"), ("missing_parent", "entity_id", self.missing_id),
            ("unknown_choice", "setting_type", "float"), ("missing_required", "setting_key", None),
            ("duplicate_key", "setting_key", _same("setting_key")),
        ], fresh=fresh)

    def users(self) -> None:
        rows = []
        hashes = self.password_hashes()
        uid = 0
        per_platform: dict[int, list[_Restaurant]] = {}
        for rs in self.rests:
            per_platform.setdefault(rs.platform_id, []).append(rs)
        people = []
        for pid in self.platform_ids:
            people.append((None, pid, "platform_owner"))
            for rs in per_platform.get(pid, []):
                people.extend((rs, pid, role) for role in STAFF_ROLES)
        cooks = [n for n, (_, _, role) in enumerate(people) if role == "cook"]
        unusable = max(1, len(people) // 1000)
        old_hashes = {cooks[(2 * j + 1) * len(cooks) // (2 * unusable)]: j for j in range(min(unusable, len(cooks)))}
        for n, (rs, pid, role) in enumerate(people):
            uid += 1
            first = FIRST_NAMES[self.rng.randrange(len(FIRST_NAMES))]
            last = LAST_NAMES[self.rng.randrange(len(LAST_NAMES))]
            local = f"{_ascii(first)}.{_ascii(last)}".replace("'", "").replace(" ", "")
            local = local.lower() if self.rng.random() < 0.7 else local
            domain = f"{rs.slug}.example" if rs else "fynlo.example"
            if n in old_hashes:
                password_hash = _old_hash(legacy_password(role), old_hashes[n])
            else:
                variant = self.rng.random()
                password_hash = hashes[role]
                if variant < 0.1:
                    password_hash = "$2a$" + password_hash[4:]
                elif variant < 0.2:
                    password_hash = "$2y$" + password_hash[4:]
            avatar = self.rng.random()
            if avatar < 0.5:
                profile = f"{OLD_STORAGE}avatars/{uid}.jpg"
            elif avatar < 0.55:  # the old domain inside, not as the prefix: a rewrite must leave it
                profile = f"https://images.example.net/resize?w=64&src={OLD_STORAGE}avatars/{uid}.jpg"
            else:
                profile = None
            rows.append({
                "id": uid, "restaurant_id": rs.rid if rs else None, "platform_id": pid, "_r": rs.rid if rs else None,
                "email": f"{local}.{uid}@{domain}", "password_hash": password_hash, "first_name": first,
                "last_name": last, "phone": f"+44 7700 9{uid % 100000:05d}", "role": role,
                "is_active": _bool(self.rng.random() < 0.97),
                "last_login": None if self.rng.random() < 0.2 else self.ts(self.days - 1 - self.rng.randrange(30)),
                "profile_image_url": profile, "created_at": self.ts(-400 + n % 300), "updated_at": self.ts(-5),
            })
            if rs:
                rs.staff.append((uid, role))
                self.pool("users", rs.rid).append(uid)
                if role == "restaurant_owner":
                    rs.owner = uid
                elif role == "manager":
                    rs.manager = uid
                if role in ("manager", "cashier", "server"):
                    rs.creators.append(uid)
        staff_rows = [n for n, row in enumerate(rows) if row["restaurant_id"] is not None]
        specs = [("duplicate_key", "email", lambda row, t: t["email"].upper()),
                 ("unknown_choice", "role", "waiter"), ("tenant_check", "role", "platform_owner"),
                 ("missing_required", "password_hash", None), ("missing_parent", "restaurant_id", self.missing_id)]
        if self.n_platforms > 1:
            specs.append(("platform_mismatch", "platform_id", lambda row, t: self.other_platform(row["platform_id"])))
        specs += [("non_integer_id", "id", _non_integer), ("invalid_boolean", "is_active", BAD_BOOLEAN)]

        def fresh(row, template):
            row["email"] = f"extra.{row['id']}@legacy-extra.example"

        self.emit("users", rows, specs, eligible=staff_rows, fresh=fresh)

        permissions = []
        for rs in self.rests:
            for user_id, role in rs.staff:
                for permission in PERMISSIONS.get(role, ()):
                    permissions.append({"id": len(permissions) + 1, "user_id": user_id, "_r": rs.rid,
                                        "permission": permission, "granted_at": self.ts(-300),
                                        "granted_by": rs.owner})
        specs = [("missing_parent", "user_id", self.missing_id),
                 ("duplicate_key", "permission", _same("permission")),
                 ("missing_required", "permission", None), ("missing_parent", "granted_by", self.missing_id),
                 ("non_integer_id", "id", _non_integer)]

        def fresh_permission(row, template):
            row["permission"] = f"legacy.extra_{row['id']}"

        self.emit("user_permissions", permissions, specs, fresh=fresh_permission)

    def password_hashes(self) -> dict[str, str]:
        """One bcrypt hash per role (cost 4: synthetic data), with a salt from the seed."""
        hashes = {}
        for role in ROLES:
            salt = _bcrypt_salt(self.rng.getrandbits(128).to_bytes(16, "big"))
            hashes[role] = bcrypt.hashpw(legacy_password(role).encode(), salt).decode("ascii")
        return hashes

    def menu(self) -> list[dict]:
        categories, products, suppliers, inventory = [], [], [], []
        untracked: list[tuple[int, int]] = []
        for rs in self.rests:
            factor = 90 + self.rng.randrange(21)  # each restaurant prices its menu 90-110 %
            for position, (category, icon) in enumerate(CATEGORIES):
                category_id = len(categories) + 1
                self.pool("categories", rs.rid).append(category_id)
                categories.append({"id": category_id, "restaurant_id": rs.rid, "_r": rs.rid, "name": category,
                                   "icon": icon if self.icons else None, "display_order": position,
                                   "is_active": "t", "created_at": self.ts(-300)})
                for number, (name, base_price) in enumerate(MENU[category], start=1):
                    product_id = len(products) + 1
                    price = (base_price * factor + 250) // 500 * 5  # to 5p
                    cost = price * (30 + self.rng.randrange(11)) // 100
                    tracked = (len(products) % 2) == 0
                    image = self.rng.random()
                    products.append({
                        "id": product_id, "restaurant_id": rs.rid, "_r": rs.rid, "category_id": category_id,
                        "name": name, "description": DESCRIPTIONS[self.rng.randrange(len(DESCRIPTIONS))],
                        "price": money(price), "cost": money(cost), "sku": f"{category[:3].upper()}-{number:03d}",
                        "image_url": (None if image < 0.1 else f"{OLD_STORAGE}menu/{rs.rid}/{product_id}.jpg"),
                        "is_active": "t", "available_in_pos": _bool(image < 0.97), "track_inventory": _bool(tracked),
                        "created_at": self.ts(-300), "updated_at": self.ts(-20),
                    })
                    rs.products.append((product_id, price, money(price)))
                    self.pool("products", rs.rid).append(product_id)
                    if tracked:
                        inventory.append({"product_id": product_id, "_r": rs.rid, "cost": cost})
                    else:
                        untracked.append((rs.rid, product_id))
            for number in range(3):
                name, contact, terms = SUPPLIERS[(rs.index + number) % len(SUPPLIERS)]
                supplier_id = len(suppliers) + 1
                self.pool("suppliers", rs.rid).append(supplier_id)
                suppliers.append({
                    "id": supplier_id, "restaurant_id": rs.rid, "_r": rs.rid, "name": name, "contact_person": contact,
                    "email": f"orders@{_slug(name)}.example", "phone": f"+44 161 496 {supplier_id % 10000:04d}",
                    "address": f"Unit {number + 1}, {STREETS[number]}\nManchester, M{number + 1} 2AB",
                    "payment_terms": terms, "is_active": "t", "created_at": self.ts(-320), "updated_at": self.ts(-20),
                })
        two_r = len(self.rests) > 1
        specs = [("duplicate_key", "name", _same("name")), ("missing_parent", "restaurant_id", self.missing_id),
                 ("missing_required", "name", None), ("invalid_integer", "display_order", "1.5"),
                 ("invalid_boolean", "is_active", BAD_BOOLEAN), ("non_integer_id", "id", _non_integer)]
        self.emit("categories", categories, specs, fresh=lambda row, t: row.update(name=f"{t['name']} {row['id']}"))
        specs = [("duplicate_key", "sku", _same("sku")), ("negative_value", "price", "-1.00"),
                 ("too_many_decimals", "price", "4.505")]
        if two_r:
            specs.append(("restaurant_mismatch", "category_id", self.other("categories")))
        specs += [("missing_required", "name", None), ("missing_parent", "restaurant_id", self.missing_id),
                  ("non_integer_id", "id", _non_integer), ("invalid_boolean", "track_inventory", BAD_BOOLEAN)]
        self.emit("products", products, specs, fresh=lambda row, t: row.update(sku=f"X-{row['id']}"))
        specs = [("missing_parent", "restaurant_id", self.missing_id), ("missing_required", "name", None),
                 ("invalid_boolean", "is_active", BAD_BOOLEAN), ("non_integer_id", "id", _non_integer),
                 ("invalid_timestamp", "created_at", BAD_TIMESTAMP)]
        self.emit("suppliers", suppliers, specs)

        rows = []
        for number, item in enumerate(inventory):
            rid = item["_r"]
            supplier_ids = self.pool("suppliers", rid)
            item_id = number + 1
            item["id"] = item_id
            self.pool("inventory_items", rid).append(item_id)
            rows.append({
                "id": item_id, "restaurant_id": rid, "_r": rid, "product_id": item["product_id"],
                "supplier_id": supplier_ids[number % len(supplier_ids)],
                "current_stock": _milli(self.rng.randrange(0, 100_000)), "minimum_stock": "5.000",
                "maximum_stock": "100.000", "reorder_point": "10.000", "unit_cost": money(item["cost"]),
                "unit_measure": ("each", "kg", "liter")[number % 3], "last_restocked": self.ts(-3),
                "turnover_rate": f"{self.rng.randrange(5000, 40000) / 10000:.4f}",
                "wastage_rate": money(self.rng.randrange(0, 500)), "created_at": self.ts(-300),
                "updated_at": self.ts(-3),
            })
        free = iter(untracked)

        def fresh_item(row, template):
            pair = next(free, None)
            if pair is None:
                return False
            row["restaurant_id"], row["_r"], row["product_id"] = pair[0], pair[0], pair[1]
            row["supplier_id"] = self.pool("suppliers", pair[0])[0]

        # current_stock may go below zero (an offline sale, issue 17): a negative minimum is still a bad row
        specs = [("negative_value", "minimum_stock", "-1.000"), ("missing_parent", "product_id", self.missing_id)]
        if two_r:
            specs.append(("restaurant_mismatch", "product_id", self.other("products")))
        specs += [("too_many_decimals", "current_stock", "1.2345"), ("missing_parent", "supplier_id", self.missing_id),
                  ("non_integer_id", "id", _non_integer)]
        self.emit("inventory_items", rows, specs, fresh=fresh_item)
        return inventory

    def restocks(self, inventory: list[dict]) -> list[dict]:
        by_restaurant: dict[int, list[dict]] = {}
        for item in inventory:
            by_restaurant.setdefault(item["_r"], []).append(item)
        orders, items = [], []
        for rs in self.rests:
            stock = by_restaurant.get(rs.rid, [])
            suppliers = self.pool("suppliers", rs.rid)
            for k in range(4):
                order_id = len(orders) + 1
                delivered = k < 3
                order_day = -30 + 7 * k
                lines = []
                for j in range(3):
                    item = stock[(3 * k + j) % len(stock)]
                    quantity = self.rng.randrange(5, 50) * 500
                    total = (quantity * item["cost"] + 500) // 1000
                    lines.append((item, quantity, total))
                    items.append({
                        "id": len(items) + 1, "restock_order_id": order_id, "_r": rs.rid,
                        "inventory_item_id": item["id"], "quantity_ordered": _milli(quantity),
                        "quantity_received": _milli(quantity if delivered else 0), "unit_cost": money(item["cost"]),
                        "total_cost": money(total), "notes": "Short-dated, use first" if j == 2 and k == 1 else None,
                        "_restock": (order_id, quantity, item["cost"], total),
                    })
                self.pool("restock_orders", rs.rid).append(order_id)
                orders.append({
                    "id": order_id, "restaurant_id": rs.rid, "_r": rs.rid, "supplier_id": suppliers[k % len(suppliers)],
                    "order_number": f"PO-{rs.rid}-{k + 1:04d}", "order_date": self.day(order_day),
                    "expected_delivery": self.day(order_day + 3),
                    "actual_delivery": self.day(order_day + 3) if delivered else None,
                    "status": "delivered" if delivered else "ordered",
                    "total_amount": money(sum(total for _, _, total in lines)),
                    "notes": "Call before delivery,\nback door" if k == 0 else None, "created_by": rs.manager,
                    "created_at": self.ts(order_day), "updated_at": self.ts(order_day + (3 if delivered else 0)),
                })
        two_r = len(self.rests) > 1
        specs = [("duplicate_key", "order_number", _same("order_number")),
                 ("missing_parent", "supplier_id", self.missing_id), ("unknown_choice", "status", "lost"),
                 ("invalid_date", "order_date", BAD_DATE)]
        if two_r:
            specs.append(("restaurant_mismatch", "supplier_id", self.other("suppliers")))
        specs += [("non_integer_id", "id", _non_integer), ("missing_parent", "created_by", self.missing_id)]
        bad_orders = self.emit("restock_orders", orders, specs,
                               fresh=lambda row, t: row.update(order_number=f"PO-X-{row['id']}"))
        # a bad restock order's own lines are good rows that depend on it
        extra: dict[int, list[dict]] = {}
        for bad in bad_orders:
            template_id = orders[bad["_from"]]["id"]
            for item in [i for i in items if i["restock_order_id"] == template_id][:2]:
                row = {key: val for key, val in item.items() if not key.startswith("_")}
                row.update(_r=item["_r"], id=self.bad_id(), restock_order_id=bad["id"], _dep=("restock_order_id", bad))
                extra.setdefault(template_id, []).append(row)
        merged, good = [], []  # each bad order's lines right after its template's lines
        for index, item in enumerate(items):
            good.append(len(merged))
            merged.append(item)
            last = index + 1 == len(items) or items[index + 1]["restock_order_id"] != item["restock_order_id"]
            if last:
                merged.extend(extra.get(item["restock_order_id"], []))
        specs = [("negative_value", "quantity_ordered", "-2.000"),
                 ("missing_parent", "restock_order_id", self.missing_id),
                 ("too_many_decimals", "unit_cost", "3.125")]
        if two_r:
            specs.append(("restaurant_mismatch", "inventory_item_id", self.other("inventory_items")))
        specs += [("missing_required", "total_cost", None), ("missing_parent", "inventory_item_id", self.missing_id),
                  ("non_integer_id", "id", _non_integer)]
        self.emit("restock_order_items", merged, specs, eligible=good)
        return items

    def staff(self) -> None:
        employees, schedules, shifts, tracking, metrics = [], [], [], [], []
        week0 = self.start - timedelta(days=self.start.weekday())
        for rs in self.rests:
            members = []
            for number, (user_id, role) in enumerate(rs.staff):
                if role == "restaurant_owner":
                    continue
                title, department, rate, employment = JOBS[role]
                employee_id = len(employees) + 1
                self.pool("employees", rs.rid).append(employee_id)
                if role in ("cashier", "server"):
                    rs.servers.append(employee_id)
                hourly = rate if rate else 1600
                members.append((employee_id, role, hourly))
                contact_first = FIRST_NAMES[self.rng.randrange(len(FIRST_NAMES))]
                employees.append({
                    "id": employee_id, "restaurant_id": rs.rid, "_r": rs.rid, "user_id": user_id,
                    "employee_number": f"E-{number:03d}", "hire_date": self.day(-400 + 20 * number),
                    "termination_date": None, "job_title": title, "department": department,
                    "hourly_rate": money(rate) if rate else None, "salary": None if rate else "32000.00",
                    "employment_type": "contract" if number == 7 else employment,
                    "emergency_contact_name": f"{contact_first} {LAST_NAMES[number % len(LAST_NAMES)]}",
                    "emergency_contact_phone": f"+44 7700 8{employee_id % 100000:05d}", "is_active": "t",
                    "created_at": self.ts(-400 + 20 * number), "updated_at": self.ts(-15),
                })
            for week in range(4):
                week_start = week0 + timedelta(days=7 * week)
                offset = (week_start - self.start).days
                schedule_id = len(schedules) + 1
                self.pool("schedules", rs.rid).append(schedule_id)
                schedule = {
                    "id": schedule_id, "restaurant_id": rs.rid, "_r": rs.rid,
                    "name": f"Week {week_start.isocalendar()[1]}, {week_start.year}",
                    "week_start": week_start.isoformat(), "week_end": (week_start + timedelta(days=6)).isoformat(),
                    "status": "archived" if week_start + timedelta(days=6) <= PERIOD_END else "published",
                    "created_by": rs.manager, "created_at": self.ts(offset - 7), "updated_at": self.ts(offset - 3),
                }
                hours = labour = 0
                for employee_id, role, hourly in members:
                    for day in self.rng.sample(range(7), 5):
                        shift_day = week_start + timedelta(days=day)
                        early = self.rng.random() < 0.5
                        begin = OPENING if early else OPENING + 6 * 3600
                        past = shift_day <= PERIOD_END
                        status = ("no_show" if self.rng.random() < 0.05 else "completed") if past else "scheduled"
                        shift_id = len(shifts) + 1
                        self.pool("shifts", rs.rid).append(shift_id)
                        shifts.append({
                            "id": shift_id, "restaurant_id": rs.rid, "_r": rs.rid, "schedule_id": schedule_id,
                            "employee_id": employee_id, "shift_date": shift_day.isoformat(),
                            "start_time": _HMS[begin], "end_time": _HMS[begin + 6 * 3600], "break_duration": 30,
                            "position": role, "status": status, "hourly_rate": money(hourly),
                            "overtime_rate": money(hourly * 3 // 2),
                            "notes": "Covering for Seán, \"double\" shift" if day == 6 and early else None,
                            "created_at": self.ts(offset - 7), "updated_at": self.ts(offset - 3),
                        })
                        hours += 550  # 5.5 paid hours, in hundredths
                        labour += (hourly * 550 + 50) // 100
                        if status != "completed":
                            continue
                        day_offset = (shift_day - self.start).days
                        clock_in = begin - 600 + self.rng.randrange(900)
                        clock_out = begin + 6 * 3600 + self.rng.randrange(1200)
                        paid_seconds = clock_out - clock_in - 1800
                        paid_hours = (paid_seconds * 100 + 1800) // 3600  # hundredths, half up
                        overtime = max(0, paid_hours - 550)
                        tracking.append({
                            "id": len(tracking) + 1, "restaurant_id": rs.rid, "_r": rs.rid,
                            "employee_id": employee_id, "shift_id": shift_id,
                            "clock_in": self.ts(day_offset, clock_in), "clock_out": self.ts(day_offset, clock_out),
                            "break_start": self.ts(day_offset, begin + 3 * 3600),
                            "break_end": self.ts(day_offset, begin + 3 * 3600 + 1800),
                            "total_hours": money(paid_hours), "overtime_hours": money(overtime),
                            "total_pay": money((paid_hours * hourly + 50) // 100),
                            "status": "approved" if day_offset < self.days - 7 else "completed",
                            "created_at": self.ts(day_offset, clock_in), "updated_at": self.ts(day_offset, clock_out),
                        })
                schedule["total_scheduled_hours"] = money(hours)
                schedule["total_labor_cost"] = money(labour)
                schedules.append(schedule)
                for employee_id, role, _ in members:
                    for metric, value, target in (
                        ("sales", self.rng.randrange(50_000, 400_000), 300_000),
                        ("punctuality", self.rng.randrange(8_500, 10_001), 9_500),
                        ("customer_rating", self.rng.randrange(350, 501), 450),
                    ):
                        metrics.append({
                            "id": len(metrics) + 1, "restaurant_id": rs.rid, "_r": rs.rid,
                            "employee_id": employee_id, "metric_date": week_start.isoformat(), "metric_type": metric,
                            "metric_value": money(value), "target_value": money(target),
                            "notes": "Great week, \"star\" of the floor" if value > target * 1.3 else None,
                            "created_at": self.ts(offset + 7),
                        })
        two_r = len(self.rests) > 1
        specs = [("missing_parent", "user_id", self.missing_id),
                 ("duplicate_key", "employee_number", _same("employee_number")),
                 ("unknown_choice", "employment_type", "zero_hours"), ("invalid_date", "hire_date", BAD_DATE)]
        if two_r:
            specs.append(("restaurant_mismatch", "user_id", self.other("users")))
        specs += [("non_integer_id", "id", _non_integer), ("invalid_boolean", "is_active", BAD_BOOLEAN)]
        self.emit("employees", employees, specs, fresh=lambda row, t: row.update(employee_number=f"X-{row['id']}"))
        specs = [("invalid_date", "week_start", BAD_DATE), ("unknown_choice", "status", "final"),
                 ("date_order", "week_end", lambda row, t: (date.fromisoformat(t["week_start"])
                                                            - timedelta(days=1)).isoformat()),
                 ("missing_parent", "created_by", self.missing_id), ("non_integer_id", "id", _non_integer)]
        self.emit("schedules", schedules, specs)
        specs = [("missing_parent", "employee_id", self.missing_id)]
        if two_r:
            specs.append(("restaurant_mismatch", "employee_id", self.other("employees")))
        specs += [("invalid_time", "start_time", BAD_TIME), ("unknown_choice", "status", "late"),
                  ("negative_value", "break_duration", -15), ("missing_parent", "schedule_id", self.missing_id),
                  ("non_integer_id", "id", _non_integer)]
        self.emit("shifts", shifts, specs)
        specs = [("missing_parent", "shift_id", self.missing_id), ("invalid_timestamp", "clock_in", BAD_TIMESTAMP),
                 ("unknown_choice", "status", "paid")]
        if two_r:
            specs.append(("restaurant_mismatch", "employee_id", self.other("employees")))
        specs += [("too_many_decimals", "total_pay", "66.125"), ("non_integer_id", "id", _non_integer)]
        self.emit("time_tracking", tracking, specs)
        counter = iter(range(1, 10**6))
        specs = [("duplicate_key", "metric_date", _same("metric_date")),
                 ("unknown_choice", "metric_type", "tips"), ("missing_parent", "employee_id", self.missing_id),
                 ("too_many_decimals", "metric_value", "4.625"), ("non_integer_id", "id", _non_integer)]
        self.emit("performance_metrics", metrics, specs,
                  fresh=lambda row, t: row.update(metric_date=(self.start - timedelta(days=1000 + next(counter)))
                                                  .isoformat()))

    # -- orders, their items, payments, refunds, commission records, daily reports: the hot loop

    def hot_events(self) -> list[tuple[int, int, str, tuple]]:
        """Where the bad rows of the hot tables go: (order index, table, spec), spread over the orders."""
        if not self.bad_rows or not self.n_orders:
            return []
        two_r, two_p = len(self.rests) > 1, self.n_platforms > 1
        tables = {
            "orders": [("duplicate_key", "order_number"), ("unknown_choice", "status"),
                       ("too_many_decimals", "total_amount"), ("missing_required", "order_number"),
                       ("non_integer_id", "id"), ("invalid_timestamp", "created_at"),
                       ("missing_parent", "restaurant_id")]
            + ([("restaurant_mismatch", "served_by")] if two_r else [])
            + [("unknown_choice", "order_type"), ("negative_value", "items_count"),
               ("missing_parent", "created_by")],
            "order_items": [("negative_value", "quantity"), ("missing_parent", "order_id"),
                            ("too_many_decimals", "unit_price")]
            + ([("restaurant_mismatch", "product_id")] if two_r else [])
            + [("missing_required", "unit_price"), ("missing_parent", "product_id"), ("non_integer_id", "id"),
               ("invalid_timestamp", "created_at"), ("invalid_integer", "quantity")],
            "payments": [("unknown_choice", "payment_method")]
            + ([("restaurant_mismatch", "restaurant_id")] if two_r else [])
            + [("too_many_decimals", "amount"), ("missing_parent", "order_id"), ("unknown_choice", "status"),
               ("invalid_json", "processor_response"), ("negative_value", "amount"),
               ("missing_required", "payment_method"), ("non_integer_id", "id"),
               ("invalid_timestamp", "processed_at")],
            "refunds": [("negative_value", "amount")]
            + ([("restaurant_mismatch", "restaurant_id")] if two_r else [])
            + [("missing_parent", "payment_id"), ("unknown_choice", "status"), ("missing_parent", "order_id"),
               ("non_integer_id", "id")],
            "commission_records": [("too_many_decimals", "commission_amount"),
                                   ("missing_parent", "restaurant_id")]
            + ([("platform_mismatch", "platform_id")] if two_p else [])
            + [("unknown_choice", "payment_status"), ("negative_value", "gross_amount"),
               ("missing_parent", "order_id"), ("non_integer_id", "id")],
        }
        events = []
        for shift, (table, specs) in enumerate(tables.items()):
            if table not in self.sinks:
                continue
            for j in range(self.bad_rows):
                at = (((2 * j + 1) * self.n_orders) // (2 * self.bad_rows) + shift) % self.n_orders
                events.append((at, len(events), table, specs[j % len(specs)]))
        events.sort()
        return events

    def orders(self) -> None:
        n_orders, days, rests = self.n_orders, self.days, self.rests
        n_rests = len(rests)
        getrandbits = self.rng.getrandbits
        sinks = self.sinks
        hot = [sinks[t] for t in ("orders", "order_items", "payments", "refunds", "commission_records")
               if t in sinks]
        w_order = sinks["orders"].writerow
        w_item = sinks["order_items"].writerow
        w_payment = sinks["payments"].writerow
        w_commission = sinks["commission_records"].writerow
        with_refunds = self.with_refunds
        w_refund = sinks["refunds"].writerow if with_refunds else None
        counts = _items_table(self.items_per_order, self.rng)
        cache = [money(p) for p in range(100_000)]
        cached = len(cache)
        forms = []
        for sep, shift, suffix in _ZONES:
            prefixes = [f"{(self.start + timedelta(days=q)).isoformat()}{sep}" for q in range(days)]
            forms.append((prefixes, shift, suffix))
        n_forms = len(forms)
        hms = _HMS
        names = CUSTOMER_NAMES
        n_names = len(names)
        reasons = REFUND_REASONS
        paid_before = days - 7  # commission on orders older than a week has been paid out
        events = self.hot_events()
        next_event = events[0][0] if events else -1
        event_at = 0
        pending: list = []
        order_id = item_id = payment_id = commission_id = refund_id = 0
        day = 0
        progress = self.progress
        reported = 0
        for i in range(n_orders):
            q, r = divmod(i * days, n_orders)
            if q != day:
                self.close_day(day)
                day = q
            seconds = OPENING + (r * SERVICE_SECONDS) // n_orders
            b = getrandbits(64)
            rs = rests[b % n_rests]
            b //= n_rests
            n = counts[b & 4095]
            status = _STATUSES[(b >> 12) & 127]
            order_type_bits = (b >> 19) & 7
            order_type = _ORDER_TYPES[order_type_bits]
            if order_type_bits < 5:
                table_number = _TABLES[(b >> 22) & 31]
                customer = names[(b >> 27) % n_names] if (b >> 33) & 3 == 0 else None
            else:
                table_number = None
                customer = names[(b >> 27) % n_names]
            c = getrandbits(64)
            prefixes, shift, suffix = forms[c % n_forms]
            c //= n_forms
            created = prefixes[q] + hms[seconds + shift] + suffix
            prefixes, shift, suffix = forms[c % n_forms]
            c //= n_forms
            updated_seconds = seconds + 600 + (c & 1023)
            updated = prefixes[q] + hms[updated_seconds + shift] + suffix
            c >>= 10
            completed = status == "completed"

            order_id += 1
            products = rs.products
            n_products = len(products)
            subtotal = 0
            quantities = 0
            if completed:
                agg = rs.agg
                sold = agg[4]
            for _ in range(n):
                d = getrandbits(32)
                product_id, price, price_text = products[d % n_products]
                d >>= 10
                quantity = _QUANTITIES[d & 31]
                line_total = price * quantity
                subtotal += line_total
                quantities += quantity
                item_id += 1
                w_item((item_id, order_id, product_id, quantity, price_text,
                        cache[line_total] if line_total < cached else money(line_total),
                        _INSTRUCTIONS[(d >> 5) & 127], created))
                if completed:
                    sold[product_id] = sold.get(product_id, 0) + quantity
            tax = (subtotal * TAX_BP + 5000) // 10000
            service = (subtotal * SERVICE_BP + 5000) // 10000
            discount = (subtotal * DISCOUNT_BP + 5000) // 10000 if c & 15 == 0 else 0
            total = subtotal + tax + service - discount
            c >>= 4
            rs.seq += 1
            number = rs.prefix + str(rs.seq)
            served_by = rs.servers[c % len(rs.servers)]
            c //= len(rs.servers)
            created_by = rs.creators[c % len(rs.creators)]
            c //= len(rs.creators)
            receipt = f"{OLD_STORAGE}receipts/{rs.rid}/{number}.pdf" if completed and c & 3 == 0 else None
            c >>= 2
            w_order((order_id, rs.rid, number, table_number, customer, order_type, status,
                     cache[subtotal] if subtotal < cached else money(subtotal),
                     cache[tax] if tax < cached else money(tax), cache[service] if service < cached else money(service),
                     cache[discount] if discount < cached else money(discount),
                     cache[total] if total < cached else money(total), n, served_by, created_by, receipt,
                     created, updated))

            method = _METHODS[c % 20]
            c //= 20
            refund = with_refunds and completed and c & 127 == 0
            c >>= 7
            if c & 15 == 0:  # a split bill: half by card, the rest in cash
                first = total // 2
                payments = (("card", first), ("cash", total - first))
            else:
                payments = ((method, total),)
            c >>= 4
            refund_full = refund and len(payments) == 1 and c & 1 == 0
            rate_bp, rate = rs.rate_bp, rs.rate
            if completed:
                payment_status, processed = ("refunded" if refund_full else "completed"), updated
            elif status == "cancelled":
                payment_status, processed = "failed", updated
            else:
                payment_status, processed = "pending", None
            sums = rs.sums
            for pay_method, amount in payments:
                payment_id += 1
                if pay_method == "cash":
                    transaction = response = None
                else:
                    transaction = _TRANSACTIONS[pay_method] % payment_id
                    response = (_FAILED_RESPONSE if payment_status == "failed" else _RESPONSES[pay_method]) % payment_id
                commission = (amount * rate_bp + 5000) // 10000
                w_payment((payment_id, rs.rid, order_id, pay_method,
                           cache[amount] if amount < cached else money(amount), rate,
                           cache[commission] if commission < cached else money(commission), transaction, response,
                           payment_status, processed, updated))
                if completed:
                    methods = agg[3]
                    methods[pay_method] = methods.get(pay_method, 0) + amount
            sums[0] += total
            sums[1] += 1
            sums[2] += total
            sums[3] += len(payments)
            sums[6] += n
            if completed:
                commission_id += 1
                commission = (total * rate_bp + 5000) // 10000
                w_commission((commission_id, rs.rid, rs.platform_id, order_id,
                              cache[total] if total < cached else money(total), rate,
                              cache[commission] if commission < cached else money(commission), updated,
                              "paid" if q < paid_before else "pending"))
                agg[0] += 1
                agg[1] += total
                agg[2] += quantities
                staff = agg[5].get(served_by)
                if staff is None:
                    agg[5][served_by] = [1, total]
                else:
                    staff[0] += 1
                    staff[1] += total
                if len(rs.sale_orders) < 4:
                    rs.sale_orders.append(order_id)
                if refund:
                    refund_id += 1
                    amount = total if refund_full else min(line_total, payments[-1][1])
                    w_refund((refund_id, rs.rid, order_id, payment_id, money(amount), reasons[(c >> 1) % 5],
                              "completed", rs.manager, updated, updated, updated))
                    sums[4] += amount
                    sums[5] += 1
            if i == next_event:
                while event_at < len(events) and events[event_at][0] == i:
                    pending.append(events[event_at])
                    event_at += 1
                next_event = events[event_at][0] if event_at < len(events) else -1
            if pending and completed:
                self.bad_hot_rows(pending, rs, order_id, number, created, updated, payment_id)
                pending.clear()
            if not i & 1023:
                for sink in hot:
                    sink.maybe_flush()
                if progress and i:
                    progress(i - reported)
                    reported = i
        if n_orders:
            self.close_day(day)
        if progress and n_orders > reported:
            progress(n_orders - reported)
        written = {"orders": order_id, "order_items": item_id, "payments": payment_id,
                   "commission_records": commission_id, "refunds": refund_id}
        for table, count in written.items():
            if table in sinks:
                sinks[table].rows += count
        self.bad_daily_reports()

    def close_day(self, day: int) -> None:
        """Write each restaurant's daily report of `day` (completed good orders only)."""
        sink = self.sinks["daily_reports"]
        report_day = self.start + timedelta(days=day)
        for rs in self.rests:
            orders, sales, items, methods, sold, staff = rs.agg
            if not orders:
                continue
            top = sorted(sold.items(), key=lambda pair: (-pair[1], pair[0]))[:5]
            row = {
                "id": sink.rows + 1, "restaurant_id": rs.rid, "_r": rs.rid, "report_date": report_day.isoformat(),
                "total_sales": money(sales), "total_orders": orders,
                "average_ticket": money((2 * sales + orders) // (2 * orders)), "total_items": items,
                "payment_breakdown": _json({m: money(methods[m]) for m in ("card", "cash", "apple_pay", "sumup")
                                            if m in methods}),
                "top_products": _json([{"product_id": pid, "quantity": qty} for pid, qty in top]),
                "staff_performance": _json({str(emp): {"orders": n, "sales": money(p)}
                                            for emp, (n, p) in sorted(staff.items())}),
                "generated_at": f"{(report_day + timedelta(days=1)).isoformat()}T02:00:00+00:00",
                "_table": "daily_reports",
            }
            if len(self.report_templates) < self.bad_rows:
                self.report_templates.append(row)
            self.write(sink, row)
            rs.agg = _new_day()

    def bad_daily_reports(self) -> None:
        templates = self.report_templates
        if not self.bad_rows or not templates:
            return
        specs = [("duplicate_key", "report_date", _same("report_date")), ("invalid_json", "payment_breakdown", BAD_JSON),
                 ("invalid_date", "report_date", BAD_DATE), ("missing_parent", "restaurant_id", self.missing_id),
                 ("invalid_integer", "total_orders", "12.5")]
        sink = self.sinks["daily_reports"]
        for j in range(self.bad_rows):
            kind, column, value = specs[j % len(specs)]
            template = templates[j % len(templates)]
            row = {key: val for key, val in template.items() if key not in ("_line", "_from")}
            row["id"] = self.bad_id()
            row["report_date"] = (self.start - timedelta(days=1 + j)).isoformat()
            row[column] = value(row, template) if callable(value) else value
            row["_bad"] = (kind, column)
            self.write(sink, row)

    def bad_hot_rows(self, events: list, rs: _Restaurant, order_id: int, number: str, created: str, updated: str,
                     payment_id: int) -> None:
        """The bad rows due at this (good, completed) order: bad orders with their children, bad children."""
        rng = self.bad_rng
        other_rid = self.other_restaurant(rs.rid) if len(self.rests) > 1 else rs.rid
        product_id, price, price_text = rs.products[0]
        for _, _, table, (kind, column) in events:
            value = {
                "non_integer_id": None, "missing_required": None, "invalid_timestamp": BAD_TIMESTAMP,
                "missing_parent": self.missing_id(), "too_many_decimals": "12.345", "invalid_json": BAD_JSON,
                "invalid_integer": "1.5",
            }.get(kind)
            if table == "orders":
                self.bad_order(rs, kind, column, value, number, created, updated)
                continue
            if table == "order_items":
                row = {"id": self.bad_id(), "order_id": order_id, "product_id": product_id, "quantity": 1,
                       "unit_price": price_text, "total_price": price_text, "special_instructions": None,
                       "created_at": created}
                if kind == "negative_value":
                    row["quantity"], row["total_price"], value = -1, money(-price), -1
                elif kind == "restaurant_mismatch":
                    value = self.rests[other_rid - 1].products[0][0]
            elif table == "payments":
                amount = 100 + rng.randrange(1000)
                bad_id = self.bad_id()
                row = {"id": bad_id, "restaurant_id": rs.rid, "order_id": order_id, "payment_method": "card",
                       "amount": money(amount), "commission_rate": rs.rate,
                       "commission_amount": money(percent(amount, rs.rate_bp)), "transaction_id": f"ch_{bad_id}",
                       "processor_response": _RESPONSES["card"] % bad_id, "status": "completed", "processed_at": updated,
                       "created_at": updated}
                value = {"unknown_choice": "bitcoin" if column == "payment_method" else "settled",
                         "restaurant_mismatch": other_rid, "negative_value": "-5.00"}.get(kind, value)
            elif table == "refunds":
                row = {"id": self.bad_id(), "restaurant_id": rs.rid, "order_id": order_id, "payment_id": payment_id,
                       "amount": "1.00", "reason": "Goodwill, \"sorry\"", "status": "completed",
                       "processed_by": rs.manager, "processed_at": updated, "created_at": updated,
                       "updated_at": updated}
                value = {"negative_value": "-5.00", "restaurant_mismatch": other_rid,
                         "unknown_choice": "reversed"}.get(kind, value)
            else:  # commission_records
                row = {"id": self.bad_id(), "restaurant_id": rs.rid, "platform_id": rs.platform_id,
                       "order_id": order_id, "gross_amount": "10.00", "commission_rate": rs.rate,
                       "commission_amount": money(percent(1000, rs.rate_bp)), "processed_at": updated,
                       "payment_status": "pending"}
                value = {"negative_value": "-10.00", "unknown_choice": "waived",
                         "platform_mismatch": self.other_platform(rs.platform_id) if self.n_platforms > 1 else None,
                         "too_many_decimals": "0.805"}.get(kind, value)
            if kind == "non_integer_id":
                value = f"{row['id']}x"
            row[column] = value
            row["_bad"] = (kind, column)
            row["_table"] = table
            self.write(self.sinks[table], row)

    def bad_order(self, rs: _Restaurant, kind: str, column: str, value, number: str, created: str,
                  updated: str) -> None:
        """A bad order with its own items, payment and commission record (rows that depend on it)."""
        rng = self.bad_rng
        order_id = self.bad_id()
        lines = []
        for _ in range(1 + rng.randrange(3)):
            product_id, price, price_text = rs.products[rng.randrange(len(rs.products))]
            quantity = 1 + rng.randrange(2)
            lines.append((product_id, price_text, quantity, price * quantity))
        subtotal = sum(line[3] for line in lines)
        tax, service = percent(subtotal, TAX_BP), percent(subtotal, SERVICE_BP)
        total = subtotal + tax + service
        self.next_bad_order += 1
        order = {
            "id": order_id, "restaurant_id": rs.rid, "order_number": f"{rs.prefix}{self.next_bad_order}",
            "table_number": "T99", "customer_name": 'Late "walk-in", no booking', "order_type": "dine_in",
            "status": "completed", "subtotal": money(subtotal), "tax_amount": money(tax),
            "service_charge": money(service), "discount_amount": "0.00", "total_amount": money(total),
            "items_count": len(lines), "served_by": rs.servers[0], "created_by": rs.creators[0], "receipt_url": None,
            "created_at": created, "updated_at": updated,
        }
        if kind == "duplicate_key":
            value = number
        elif kind == "unknown_choice":
            value = "on_hold" if column == "status" else "drive_thru"
        elif kind == "restaurant_mismatch":
            value = self.rests[self.other_restaurant(rs.rid) - 1].servers[0]
        elif kind == "negative_value":
            value = -len(lines)
        elif kind == "non_integer_id":
            value = f"{order_id}x"
        order[column] = value
        order["_bad"] = (kind, column)
        order["_table"] = "orders"
        self.write(self.sinks["orders"], order)
        for product_id, price_text, quantity, line_total in lines:
            self.write(self.sinks["order_items"], {
                "id": self.bad_id(), "order_id": order_id, "product_id": product_id, "quantity": quantity,
                "unit_price": price_text, "total_price": money(line_total), "special_instructions": None,
                "created_at": created, "_dep": ("order_id", order),
            })
        payment_id = self.bad_id()
        self.write(self.sinks["payments"], {
            "id": payment_id, "restaurant_id": rs.rid, "order_id": order_id, "payment_method": "cash",
            "amount": money(total), "commission_rate": rs.rate, "commission_amount": money(percent(total, rs.rate_bp)),
            "transaction_id": None, "processor_response": None, "status": "completed", "processed_at": updated,
            "created_at": updated, "_dep": ("order_id", order),
        })
        self.write(self.sinks["commission_records"], {
            "id": self.bad_id(), "restaurant_id": rs.rid, "platform_id": rs.platform_id, "order_id": order_id,
            "gross_amount": money(total), "commission_rate": rs.rate,
            "commission_amount": money(percent(total, rs.rate_bp)), "processed_at": updated,
            "payment_status": "pending", "_dep": ("order_id", order),
        })

    def stock_movements(self, inventory: list[dict], restock_items: list[dict]) -> None:
        restocked = {}
        for item in restock_items:
            restocked.setdefault(item["inventory_item_id"], item["_restock"])
        rows = []
        for item in inventory:
            rs = self.rests[item["_r"] - 1]
            base = {"restaurant_id": rs.rid, "_r": rs.rid, "inventory_item_id": item["id"], "created_by": rs.manager}
            cost = item["cost"]
            movements = []
            if item["id"] in restocked:
                order_id, quantity, unit_cost, total = restocked[item["id"]]
                movements.append(("restock", _milli(quantity), money(unit_cost), money(total), order_id, "restock",
                                  "Delivery checked in", -27))
            movements.append(("waste", "0.500", money(cost), money((500 * cost + 500) // 1000), None, None,
                              "Dropped on the floor,\n\"write it off\"", 1))
            if rs.sale_orders:
                movements.append(("sale", "1.000", money(cost), money(cost),
                                  rs.sale_orders[item["id"] % len(rs.sale_orders)], "order", None, 0))
            movements.append(("adjustment", "-0.500" if item["id"] % 2 else "1.000", money(cost), None, None,
                              "adjustment", "Stock count", min(2, self.days - 1)))
            for movement, quantity, unit_cost, total, reference, reference_type, notes, offset in movements:
                rows.append({**base, "id": len(rows) + 1, "movement_type": movement, "quantity": quantity,
                             "unit_cost": unit_cost, "total_cost": total, "reference_id": reference,
                             "reference_type": reference_type, "notes": notes, "created_at": self.ts(offset)})
        two_r = len(self.rests) > 1
        specs = [("unknown_choice", "movement_type", "theft"), ("missing_parent", "inventory_item_id", self.missing_id)]
        if two_r:
            specs.append(("restaurant_mismatch", "inventory_item_id", self.other("inventory_items")))
        specs += [("invalid_timestamp", "created_at", BAD_TIMESTAMP), ("too_many_decimals", "quantity", "1.2345"),
                  ("non_integer_id", "id", _non_integer)]
        self.emit("stock_movements", rows, specs)


def _non_integer(row: dict, template: dict) -> str:
    return f"{row['id']}x"


def _same(column: str):
    """A value maker for `duplicate_key`: the template's own value of `column`."""
    return lambda row, template: template[column]


def _suffix(column: str):
    """A `fresh` step: make `column` unique by the new id."""

    def fresh(row, template):
        row[column] = f"{template[column]}-x{row['id']}"

    return fresh


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _bcrypt_salt(raw: bytes, rounds: int = 4) -> bytes:
    standard = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    bcrypt_alphabet = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    encoded = base64.b64encode(raw)[:22].translate(bytes.maketrans(standard, bcrypt_alphabet))
    return b"$2b$%02d$" % rounds + encoded


def _old_hash(password: str, n: int) -> str:
    """A pre-bcrypt hash the old system once used (legal in the export, unusable after import)."""
    salt = f"s{n:04d}"
    if n % 2 == 0:
        return f"md5${salt}${hashlib.md5((salt + password).encode()).hexdigest()}"
    return f"sha1:{hashlib.sha1((salt + password).encode()).hexdigest()}"


def _items_table(average: float, rng: random.Random) -> list[int]:
    """4096 item counts averaging `average`: 1 + a uniform spread over [0, 2 * (average - 1)]."""
    span = 2 * (average - 1)
    table = []
    for k in range(4096):
        x = span * (k + 0.5) / 4096
        whole = int(x)
        table.append(1 + whole + (1 if rng.random() < x - whole else 0))
    rng.shuffle(table)
    return table


# --- Archives ------------------------------------------------------------------------------------

_ARCHIVE_TIME = (2025, 3, 1, 0, 0, 0)
_ARCHIVE_MTIME = 1740787200  # 2025-03-01T00:00:00Z: the same bytes for the same seed


def _zip(dest: Path, files: list[Path]) -> Path:
    target = dest.with_name(dest.name + ".zip")
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        folder = zipfile.ZipInfo(f"{dest.name}/", date_time=_ARCHIVE_TIME)
        folder.external_attr = (0o40755 << 16) | 0x10
        archive.writestr(folder, b"")
        for path in files:
            info = zipfile.ZipInfo(f"{dest.name}/{path.name}", date_time=_ARCHIVE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            size = path.stat().st_size
            with path.open("rb") as source, archive.open(info, "w", force_zip64=size > 2**31) as out:
                shutil.copyfileobj(source, out, 1 << 20)
    return target


def _tar_gz(dest: Path, files: list[Path]) -> Path:
    target = dest.with_name(dest.name + ".tar.gz")

    def info(name: str, size: int = 0, directory: bool = False) -> tarfile.TarInfo:
        entry = tarfile.TarInfo(name)
        entry.size, entry.mtime, entry.uid, entry.gid, entry.uname, entry.gname = size, _ARCHIVE_MTIME, 0, 0, "", ""
        entry.mode = 0o755 if directory else 0o644
        entry.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
        return entry

    with target.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                                  compresslevel=6) as zipped:
        with tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as archive:
            archive.addfile(info(dest.name, directory=True))
            for path in files:
                with path.open("rb") as source:
                    archive.addfile(info(f"{dest.name}/{path.name}", path.stat().st_size), source)
    return target


# --- The service ---------------------------------------------------------------------------------


def generate_export(
    dest: Path,
    *,
    platforms: int = 2,
    restaurants_per_platform: int = 2,
    orders: int = 1000,
    items_per_order: float = 3.0,
    seed: int = 1,
    bad_rows: int = 0,
    crlf: bool = False,
    bom: bool = False,
    encoding: str = "utf-8",
    archive: str | None = None,
    with_refunds: bool = True,
    progress: Callable[[int], None] | None = None,
) -> ExportManifest:
    """Write a synthetic legacy export into `dest` (created if needed; our files in it are replaced)."""
    started = time.monotonic()
    file_encoding = _check(platforms=platforms, restaurants_per_platform=restaurants_per_platform, orders=orders,
                           items_per_order=items_per_order, bad_rows=bad_rows, bom=bom, encoding=encoding,
                           archive=archive)
    dest = Path(dest)
    try:
        dest.mkdir(parents=True, exist_ok=True)
        for table in export_tables():
            (dest / export_file_name(table)).unlink(missing_ok=True)
    except OSError as error:
        raise LegacyExportError(f"cannot write to {dest}: {error.strerror or error}") from error
    generator = _Generator(dest, platforms=platforms, restaurants_per_platform=restaurants_per_platform,
                           orders=orders, items_per_order=items_per_order, seed=seed, bad_rows=bad_rows, crlf=crlf,
                           encoding=file_encoding, with_refunds=with_refunds, progress=progress)
    try:
        generator.run()
    except OSError as error:
        raise LegacyExportError(f"cannot write the export to {dest}: {error.strerror or error}") from error
    finally:
        for sink in generator.sinks.values():
            if not sink.file.closed:
                sink.file.close()
    files = {table: sink.path for table, sink in generator.sinks.items()}
    sums = {}
    for rs in generator.rests:
        orders_total, n_orders, payments_amount, n_payments, refunds_amount, n_refunds, n_items = rs.sums
        sums[rs.rid] = {"orders_total": _decimal(orders_total), "payments_amount": _decimal(payments_amount),
                        "refunds_amount": _decimal(refunds_amount), "orders": n_orders, "payments": n_payments,
                        "refunds": n_refunds, "order_items": n_items}
    manifest = ExportManifest(
        dest=dest, files=files, rows={table: sink.rows for table, sink in generator.sinks.items()},
        bad=generator.bad, sums=sums,
        params={"platforms": platforms, "restaurants_per_platform": restaurants_per_platform, "orders": orders,
                "items_per_order": items_per_order, "seed": seed, "bad_rows": bad_rows, "crlf": crlf, "bom": bom,
                "encoding": encoding, "with_refunds": with_refunds},
    )
    if archive:
        try:
            paths = [files[table] for table in export_tables() if table in files]
            manifest.archive = _zip(dest, paths) if archive == "zip" else _tar_gz(dest, paths)
        except OSError as error:
            raise LegacyExportError(f"cannot write the archive: {error.strerror or error}") from error
    manifest.seconds = time.monotonic() - started
    return manifest


def _check(*, platforms, restaurants_per_platform, orders, items_per_order, bad_rows, bom, encoding,
           archive) -> str:
    """Validate the arguments; returns the encoding to open the files with."""
    for name, value, low in (("platforms", platforms, 1), ("restaurants_per_platform", restaurants_per_platform, 1),
                             ("orders", orders, 0), ("bad_rows", bad_rows, 0)):
        if not isinstance(value, int) or value < low:
            raise LegacyExportError(f"{name} must be an integer >= {low}, not {value!r}")
    if not 1.0 <= float(items_per_order) <= 50.0:
        raise LegacyExportError(f"items_per_order must be between 1 and 50, not {items_per_order!r}")
    if archive not in (None, "zip", "tar.gz"):
        raise LegacyExportError(f"archive must be zip or tar.gz, not {archive!r}")
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise LegacyExportError(f"unknown encoding {encoding!r}") from None
    for texts in TEXTS:
        for text in texts:
            if text and not _encodable(text, name):
                raise LegacyExportError(f"encoding {encoding} cannot write {text!r}; use utf-8 or cp1252")
    if bom:
        if name in ("utf-8", "utf-8-sig"):
            return "utf-8-sig"
        if not name.startswith("utf-"):
            raise LegacyExportError(f"a byte order mark needs a UTF encoding, not {encoding}")
    return name
