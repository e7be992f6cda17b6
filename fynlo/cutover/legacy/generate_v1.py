"""A synthetic legacy Fynlo database (the fynlo-v1 shape: UUID keys, order lines in
`orders.items` JSON, payments without a restaurant), any size, seeded, in three shapes.

`generate_fynlo_v1()` writes one `<legacy table>.csv` per table into a folder, as
`\\copy (SELECT * FROM t) TO 't.csv' CSV HEADER` writes it (PostgreSQL's output formats:
`2025-08-01 12:34:56.123456+00`, `t`/`f`, JSON as text, an empty unquoted field is NULL);
optionally a plain `pg_dump`-style file of the same rows (`COPY public.t (...) FROM stdin;`
blocks in text format, with a few statements around them that an importer ignores); and
optionally loads the same rows into a database whose tables exist (the caller creates them,
e.g. from tests/data/fynlo_v1_schema.sql; `schema=` runs a DDL file first).

Good data holds together: every reference points to a row of the same restaurant, an item's
total_price = unit_price * quantity (floats in JSON, exact at two places), an order's subtotal
is the sum of its lines, tax_amount 20 % of it, total_amount = subtotal + tax; each completed
order has one completed payment of its total, about 1 % of them a refund ("done"). Sized by the
restaurants, not the orders: each has profiles for its manager and two tills, a week of their schedules
and clocked shifts, a weekly metric each, a legacy restaurant_subscriptions row and a week of daily
reports; the three plans are written once.

`bad_rows=N` injects N rows of every trap of the legacy data (`TRAPS`); each is listed in the
manifest with its table, key and what the importer does with it ("rejected", or "accepted" for
the traps it normalises). `expected_rejects` counts the rejects an import must report per
target table (dependents included). Bad rows never change the good rows.
"""

from __future__ import annotations

import csv
import json
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import bcrypt

from fynlo.cutover.legacy.generate import _bcrypt_salt, legacy_password

# The legacy tables written, in dump order, and their columns (the legacy DDL's names and order).
TABLES: dict[str, tuple[str, ...]] = {
    "platforms": ("id", "name", "owner_email", "subscription_tier", "created_at", "updated_at"),
    "restaurants": (
        "id", "platform_id", "name", "address", "phone", "email", "timezone", "business_hours", "settings",
        "tax_configuration", "payment_methods", "subscription_plan", "subscription_status",
        "subscription_started_at", "subscription_expires_at", "is_active", "created_at", "updated_at",
    ),
    "users": (
        "id", "email", "username", "password_hash", "supabase_id", "auth_provider", "first_name", "last_name", "role",
        "restaurant_id", "platform_id", "permissions", "pin_code", "is_active", "last_login", "current_restaurant_id",
        "created_at", "updated_at",
    ),
    "user_restaurants": ("id", "user_id", "restaurant_id", "role", "is_primary", "permissions", "created_at",
                         "updated_at"),
    "customers": ("id", "restaurant_id", "first_name", "last_name", "email", "phone", "loyalty_points", "total_spent",
                  "visit_count", "preferences", "created_at", "updated_at"),
    "categories": ("id", "restaurant_id", "name", "description", "color", "icon", "sort_order", "is_active",
                   "created_at"),
    "products": (
        "id", "restaurant_id", "category_id", "name", "description", "price", "cost", "image_url", "barcode", "sku",
        "prep_time", "dietary_info", "modifiers", "is_active", "stock_tracking", "stock_quantity", "created_at",
        "updated_at",
    ),
    "orders": (
        "id", "restaurant_id", "customer_id", "order_number", "table_number", "table_id", "order_type", "status",
        "items", "subtotal", "tax_amount", "service_charge", "discount_amount", "total_amount", "payment_status",
        "special_instructions", "created_by", "created_at", "updated_at",
    ),
    "payments": ("id", "order_id", "payment_method", "amount", "fee_amount", "net_amount", "status", "external_id",
                 "payment_metadata", "created_at"),
    "refunds": ("id", "order_id", "amount", "reason", "state", "created_at", "updated_at"),
}
# -- stock: a few suppliers, ingredients, ledger rows, stock movements and purchase orders a restaurant --
STOCK_TABLES: dict[str, tuple[str, ...]] = {
    "suppliers": ("id", "restaurant_id", "name", "code", "contact_name", "email", "phone", "website", "address",
                  "tax_number", "payment_terms", "minimum_order", "delivery_days", "lead_time_days", "categories",
                  "on_time_delivery_rate", "quality_rating", "total_purchases", "is_active", "is_preferred", "notes",
                  "created_at", "updated_at"),
    "inventory": ("sku", "restaurant_id", "name", "description", "qty_g", "par_level_g", "unit", "cost_per_unit",
                  "supplier", "last_updated"),
    "inventory_ledger": ("id", "sku", "restaurant_id", "delta_g", "source", "source_id", "ts"),
    "stock_movements": ("id", "restaurant_id", "inventory_sku", "movement_type", "quantity", "unit", "stock_before",
                        "stock_after", "unit_cost", "total_cost", "reference_type", "reference_id", "supplier_id",
                        "order_id", "reason", "notes", "performed_by", "approved_by", "movement_date", "created_at"),
    "purchase_orders": ("id", "restaurant_id", "supplier_id", "order_number", "order_date", "expected_delivery",
                        "actual_delivery", "subtotal", "tax_amount", "delivery_fee", "total_amount", "status",
                        "payment_status", "delivery_notes", "invoice_number", "created_by", "approved_by",
                        "received_by", "created_at", "updated_at"),
    "purchase_order_items": ("id", "purchase_order_id", "inventory_sku", "quantity_ordered", "unit", "unit_price",
                             "total_price", "quantity_received", "quantity_rejected", "rejection_reason", "created_at"),
}
TABLES.update(STOCK_TABLES)
# (name, unit, grams or ml in stock, par level, cost a unit in pence: whole pence; supplier: 0 and 1
# the restaurant's supplier rows, "cash" a name with no row, None none)
INGREDIENTS = (
    ("Flour", "grams", 20000, 5000, 1, 0), ("Tomatoes", "grams", 8000, 2000, 1, 0), ("Mozzarella", "grams", 6000,
    1500, 2, 1), ("Beef mince", "grams", 10000, 3000, 2, 1), ("Olive oil", "ml", 5000, 1000, 1, "cash"),
    ("Coffee beans", "grams", 3000, 1000, 3, None),
)
SUPPLIERS = ("Fresh Farm", "Dairy Direct")
# Staff and billing: employees with a week of schedules and clocked shifts, their metrics, the plans,
# the unmatchable legacy restaurant_subscriptions, a week of daily reports per restaurant.
TABLES.update({
    "employee_profiles": (
        "id", "user_id", "restaurant_id", "employee_id", "hire_date", "employment_type", "hourly_rate", "phone",
        "emergency_contact", "max_hours_per_week", "min_hours_per_week", "availability", "performance_rating",
        "total_sales", "orders_served", "average_order_time", "is_active", "termination_date", "notes", "created_at",
        "updated_at",
    ),
    "schedules": (
        "id", "employee_id", "restaurant_id", "date", "start_time", "end_time", "break_minutes", "role", "section_id",
        "status", "is_published", "swap_requested", "swap_with_employee_id", "notes", "created_by", "created_at",
        "updated_at",
    ),
    "shifts": (
        "id", "employee_id", "restaurant_id", "schedule_id", "clock_in", "clock_out", "break_start", "break_end",
        "total_break_minutes", "role", "hourly_rate", "total_hours", "regular_hours", "overtime_hours", "tips_cash",
        "tips_card", "total_sales", "total_earnings", "status", "approval_status", "approved_by", "approved_at",
        "notes", "created_at", "updated_at",
    ),
    "performance_metrics": (
        "id", "employee_id", "restaurant_id", "metric_date", "metric_type", "total_sales", "transaction_count",
        "average_transaction", "tables_served", "average_table_time", "customer_rating", "compliments", "complaints",
        "items_per_hour", "waste_percentage", "scheduled_hours", "worked_hours", "late_arrivals", "no_shows",
        "created_at", "updated_at",
    ),
    "subscription_plans": (
        "id", "name", "display_name", "price_monthly", "price_yearly", "max_orders_per_month", "max_staff_accounts",
        "max_menu_items", "transaction_fee_percentage", "features", "is_active", "created_at", "updated_at",
    ),
    "restaurant_subscriptions": (
        "id", "restaurant_id", "plan_id", "status", "trial_end_date", "current_period_start", "current_period_end",
        "stripe_subscription_id", "stripe_customer_id", "created_at", "updated_at",
    ),
    "daily_reports": (
        "id", "restaurant_id", "report_date", "total_revenue", "total_orders", "average_order_value", "cash_sales",
        "card_sales", "qr_sales", "other_sales", "dine_in_orders", "takeaway_orders", "delivery_orders", "total_tax",
        "total_service_charge", "total_discounts", "payment_processing_fees", "total_labor_hours", "total_labor_cost",
        "employees_worked", "cogs", "waste_cost", "unique_customers", "new_customers", "returning_customers",
        "hourly_sales", "hourly_orders", "top_items", "top_categories", "is_complete", "generated_at", "updated_at",
    ),
})
# name, display name, monthly price in pennies, transaction fee percentage
PLANS = (("alpha", "Alpha", 0, "2.50"), ("beta", "Beta", 4900, "1.75"), ("omega", "Omega", 14900, "1.00"))
# the staff of a restaurant (its users after the owner): role, schedule role, employment type, hourly rate in
# pennies, the week's start and end
STAFF = (("manager", "manager", "full_time", 1450, "09:00", "17:00", 30),
         ("till1", "cashier", "part_time", 1121, "11:00", "15:00", 0),
         ("till2", "kitchen", "seasonal", 1180, "17:00", "23:00", 15))
STAFF_WEEK = datetime(2025, 8, 4, tzinfo=timezone.utc)  # a Monday

UNKNOWN_COLUMN = "legacy_note"  # the `unknown_column` trap: a column of orders nobody told us about

# trap -> (table, what the importer does)
TRAPS = {
    "foreign_product": ("orders", "rejected"),  # items name a product of another restaurant
    "float_artefact": ("orders", "accepted"),  # 10.499999999 is 10.50
    "float_not_pence": ("orders", "rejected"),  # 4.333 is no number of pence
    "string_numbers": ("orders", "accepted"),  # "2", "3.50"
    "unknown_enum": ("orders", "rejected"),  # status ON_HOLD
    "naive_timestamp": ("orders", "accepted"),  # UTC
    "orphan_payment": ("payments", "rejected"),
    "wrong_restaurant": ("products", "rejected"),  # its category is another restaurant's
    "duplicate_sku": ("products", "accepted"),  # the later product's sku left empty
    "null_hash": ("users", "accepted"),  # must set a password
    "unknown_column": ("orders", "accepted"),  # to the archive
    # stock
    "inventory_unknown_restaurant": ("inventory", "rejected"),  # its restaurant is in no export
    "purchase_item_other_restaurant": ("purchase_order_items", "rejected"),  # another restaurant's ingredient
    "unknown_movement_type": ("stock_movements", "accepted"),  # SHRINKAGE: an adjustment, the name in notes
    "employee_other_restaurant": ("employee_profiles", "rejected"),  # its user works in another restaurant
    "duplicate_employee_id": ("employee_profiles", "accepted"),  # unique per restaurant in ours
    "naive_clock_in": ("shifts", "accepted"),  # UTC
}
START = datetime(2025, 8, 1, tzinfo=timezone.utc)
MENU = (
    ("Starters", ("Soup", 450), ("Bruschetta", 525), ("Wings", 650), ("Nachos", 575)),
    ("Mains", ("Burger", 1150), ("Tacos", 950), ("Risotto", 1275), ("Fish", 1399)),
    ("Desserts", ("Brownie", 550), ("Cheesecake", 600), ("Sorbet", 425), ("Tart", 575)),
    ("Drinks", ("Cola", 250), ("Lemonade", 299), ("Beer", 525), ("Coffee", 280)),
)
METHODS = ("card",) * 5 + ("cash",) * 3 + ("stripe", "qr_code")
STATUSES = ("completed",) * 18 + ("cancelled", "pending")
FIRST, LAST = ("Ann", "Bob", "Cleo", "Dev", "Eve", "Finn"), ("Smith", "Jones", "Patel", "Okafor", "Nguyen")
TABLE_CODES = {name: n for n, name in enumerate(TABLES, start=1)}
BAD_BASE = 0x0F00_0000_0000


def uuid_of(table: str, n: int, seed: int) -> str:
    """The n-th key of a table: the same for the same seed, a valid UUID text."""
    return f"{TABLE_CODES[table]:08x}-{seed & 0xFFFF:04x}-4000-8000-{n:012x}"


def ts(when: datetime, *, naive: bool = False) -> str:
    """As PostgreSQL writes it: `2025-08-01 12:34:56.1234+00` (no trailing zeros of the fraction)."""
    text = when.strftime("%Y-%m-%d %H:%M:%S")
    if when.microsecond:
        text += f".{when.microsecond:06d}".rstrip("0")
    return text if naive else text + "+00"


def pounds(pennies: int) -> str:
    return f"{pennies // 100}.{pennies % 100:02d}"


@dataclass
class FynloV1Manifest:
    folder: Path
    dump: Path | None = None
    rows: dict[str, int] = field(default_factory=dict)
    order_items: int = 0
    traps: list[dict] = field(default_factory=list)
    expected_rejects: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"format": "fynlo-v1", "folder": str(self.folder), "dump": str(self.dump) if self.dump else None,
                "rows": self.rows, "order_items": self.order_items, "traps": self.traps,
                "expected_rejects": self.expected_rejects, "seconds": round(self.seconds, 3)}


class _Table:
    """One legacy table: its CSV file and, for the dump, its COPY block in a part file."""

    def __init__(self, folder: Path, name: str, columns: tuple[str, ...], dump: bool):
        self.name, self.columns, self.rows = name, columns, 0
        self.csv_file = open(folder / f"{name}.csv", "w", newline="", encoding="utf-8")
        self.csv = csv.writer(self.csv_file, lineterminator="\n")
        self.csv.writerow(columns)
        self.part = open(folder / f".{name}.dump-part", "w", encoding="utf-8") if dump else None

    def write(self, row: dict) -> None:
        values = [row.get(c) for c in self.columns]
        self.csv.writerow(["" if v is None else v for v in values])
        if self.part is not None:
            self.part.write("\t".join("\\N" if v is None else _copy_text(v) for v in values) + "\n")
        self.rows += 1

    def close(self) -> None:
        self.csv_file.close()
        if self.part is not None:
            self.part.close()


def _copy_text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


class _Generator:
    def __init__(self, folder: Path, *, platforms: int, restaurants_per_platform: int, orders: int,
                 items_per_order: float, seed: int, bad_rows: int, dump: Path | None,
                 progress: Callable[[int], None] | None):
        self.folder, self.seed, self.bad_rows, self.dump = folder, seed, bad_rows, dump
        self.platforms, self.per_platform, self.orders = platforms, restaurants_per_platform, orders
        self.items_per_order = items_per_order
        self.rng = random.Random(seed)
        self.bad_rng = random.Random(seed ^ 0x5EED_BAD)  # bad rows draw from their own: the good rows stay the same
        self.progress = progress or (lambda n: None)
        self.counters = dict.fromkeys(TABLES, 0)
        self.bad_counter = dict.fromkeys(TABLES, BAD_BASE)
        self.manifest = FynloV1Manifest(folder, dump)
        columns = dict(TABLES)
        if bad_rows:
            columns["orders"] = columns["orders"] + (UNKNOWN_COLUMN,)
        self.tables = {name: _Table(folder, name, cols, dump is not None) for name, cols in columns.items()}
        self.restaurants: list[dict] = []  # {id, users, products, customers, owner}

    def key(self, table: str, *, bad: bool = False) -> str:
        if bad:
            self.bad_counter[table] += 1
            return uuid_of(table, self.bad_counter[table], self.seed)
        self.counters[table] += 1
        return uuid_of(table, self.counters[table], self.seed)

    def trap(self, kind: str, key: str, **extra) -> None:
        table, outcome = TRAPS[kind]
        self.manifest.traps.append({"kind": kind, "table": table, "key": key, "outcome": outcome, **extra})

    def reject(self, table: str, n: int = 1) -> None:
        self.manifest.expected_rejects[table] = self.manifest.expected_rejects.get(table, 0) + n

    def run(self) -> FynloV1Manifest:
        started = time.monotonic()
        try:
            self.parents()
            self.staff_and_billing()
            self.write_orders()
            self.bad_parents()
            self.write_stock()
            self.bad_stock()
            self.bad_staff()
        finally:
            for table in self.tables.values():
                table.close()
        if self.dump is not None:
            self.write_dump()
        self.manifest.rows = {name: table.rows for name, table in self.tables.items()}
        self.manifest.seconds = time.monotonic() - started
        return self.manifest

    # -- platforms, restaurants, users, menus --

    def parents(self) -> None:
        hashes = {role: bcrypt.hashpw(legacy_password(role).encode(),
                                      _bcrypt_salt(self.rng.getrandbits(128).to_bytes(16, "big"))).decode()
                  for role in ("platform_owner", "restaurant_owner", "manager", "cashier")}
        self.hashes = hashes
        created = START - timedelta(days=60)
        number = 0
        for p in range(self.platforms):
            platform = self.key("platforms")
            owner_email = f"owner{p + 1}@platform.test"
            self.tables["platforms"].write({"id": platform, "name": f"Platform {p + 1}", "owner_email": owner_email,
                                            "subscription_tier": "pro", "created_at": ts(created + timedelta(minutes=p))})
            self.tables["users"].write({
                "id": self.key("users"), "email": owner_email, "password_hash": hashes["platform_owner"],
                "first_name": "Pat", "last_name": f"Owner{p + 1}", "role": "platform_owner", "platform_id": platform,
                "is_active": "t", "created_at": ts(created + timedelta(minutes=p)),
            })
            for r in range(self.per_platform):
                number += 1
                self.restaurant(platform, number, created + timedelta(hours=number))

    def restaurant(self, platform: str, number: int, created: datetime) -> None:
        rid = self.key("restaurants")
        self.tables["restaurants"].write({
            "id": rid, "platform_id": platform, "name": f"Restaurant {number}",
            "address": json.dumps({"line1": f"{number} High Street", "city": "London", "postcode": f"N{number} 1AA"}),
            "phone": f"020 7946 {number:04d}", "email": f"r{number}@restaurant.test", "timezone": "Europe/London",
            "settings": json.dumps({"website": f"https://r{number}.test"}),
            "tax_configuration": json.dumps({"vatEnabled": True, "vatRate": 20, "serviceTaxEnabled": False,
                                             "serviceTaxRate": 12.5}),
            "subscription_plan": ("alpha", "beta", "omega")[number % 3], "subscription_status": "active",
            "is_active": "t", "created_at": ts(created),
        })
        users = []
        for role, legacy_role in (("owner", "restaurant_owner"), ("manager", "manager"), ("till1", "employee"),
                                  ("till2", "employee")):
            uid = self.key("users")
            users.append(uid)
            self.tables["users"].write({
                "id": uid, "email": f"{role}.r{number}@restaurant.test",
                "password_hash": self.hashes["cashier" if legacy_role == "employee" else legacy_role],
                "first_name": self.rng.choice(FIRST), "last_name": self.rng.choice(LAST), "role": legacy_role,
                "restaurant_id": rid, "permissions": json.dumps({"canRefund": legacy_role != "employee"}),
                "pin_code": f"{1000 + number % 9000}" if legacy_role == "employee" else None, "is_active": "t",
                "created_at": ts(created + timedelta(minutes=1)),
            })
        customers = []
        for c in range(3):
            cid = self.key("customers")
            customers.append(cid)
            self.tables["customers"].write({
                "id": cid, "restaurant_id": rid, "first_name": self.rng.choice(FIRST), "last_name": self.rng.choice(LAST),
                "loyalty_points": "0", "total_spent": "0.00", "visit_count": "0", "created_at": ts(created),
            })
        products, categories = [], []
        for order, (category, *items) in enumerate(MENU, start=1):
            cat = self.key("categories")
            categories.append(cat)
            self.tables["categories"].write({"id": cat, "restaurant_id": rid, "name": category, "sort_order": str(order),
                                             "is_active": "t", "created_at": ts(created + timedelta(minutes=2))})
            for name, price in items:
                pid = self.key("products")
                products.append((pid, price))
                self.tables["products"].write({
                    "id": pid, "restaurant_id": rid, "category_id": cat, "name": name, "price": pounds(price),
                    "cost": pounds(price // 3), "sku": f"SKU-{len(products):03d}", "dietary_info": "[]",
                    "modifiers": "[]", "is_active": "t", "stock_tracking": "f", "stock_quantity": "0",
                    "created_at": ts(created + timedelta(minutes=3)),
                })
        self.restaurants.append({"id": rid, "number": number, "users": users, "customers": customers,
                                 "products": products, "categories": categories, "created": created})

    def bad_parents(self) -> None:
        """The traps of the parents: written after the good rows, so they never change them."""
        if not self.bad_rows:
            return
        first, other = self.restaurants[0], self.restaurants[-1]
        for n in range(self.bad_rows):
            created = ts(first["created"] + timedelta(minutes=10 + n))
            pid = self.key("products", bad=True)
            self.tables["products"].write({
                "id": pid, "restaurant_id": other["id"], "category_id": first["categories"][0], "name": f"Stray {n}",
                "price": "5.00", "is_active": "t", "created_at": created,
            })
            if other is not first:
                self.trap("wrong_restaurant", pid)
                self.reject("products")
            pid = self.key("products", bad=True)
            self.tables["products"].write({
                "id": pid, "restaurant_id": first["id"], "category_id": first["categories"][0], "name": f"Twin {n}",
                "price": "5.00", "sku": "SKU-001", "is_active": "t", "created_at": created,
            })
            self.trap("duplicate_sku", pid)
            uid = self.key("users", bad=True)
            self.tables["users"].write({
                "id": uid, "email": f"supabase{n}@restaurant.test", "password_hash": None,
                "supabase_id": uuid_of("users", BAD_BASE + 0xFFFF + n, self.seed), "auth_provider": "supabase",
                "first_name": "Sue", "last_name": "Pabase", "role": "manager", "restaurant_id": first["id"],
                "is_active": "t", "created_at": created,
            })
            self.trap("null_hash", uid)

    # -- staff and billing --

    def staff_and_billing(self) -> None:
        """Per restaurant: its three staff's profiles, a week of their schedules and clocked shifts, a weekly
        metric each, the legacy subscription row (an integer restaurant_id), a week of daily reports; the plans.
        Drawn from their own random numbers: the orders stay the same."""
        rng = random.Random(self.seed ^ 0x57AFF)
        created = START - timedelta(days=60)
        for n, (name, display, price, fee) in enumerate(PLANS, start=1):
            self.tables["subscription_plans"].write({
                "id": str(n), "name": name, "display_name": display, "price_monthly": pounds(price),
                "price_yearly": pounds(price * 10), "max_staff_accounts": None if name == "omega" else str(5 * n),
                "transaction_fee_percentage": fee, "features": json.dumps({"kds": n > 1, "analytics": n > 2}),
                "is_active": "t", "created_at": ts(created, naive=True), "updated_at": ts(created, naive=True),
            })
        for rs in self.restaurants:
            self.staff(rs, rng)
            self.daily_reports(rs, rng)
            self.tables["restaurant_subscriptions"].write({
                "id": str(rs["number"]), "restaurant_id": str(rs["number"]), "plan_id": str(1 + rs["number"] % 3),
                "status": "active", "current_period_start": ts(START, naive=True),
                "current_period_end": ts(START + timedelta(days=30), naive=True),
                "created_at": ts(rs["created"], naive=True), "updated_at": ts(rs["created"], naive=True),
            })

    def staff(self, rs: dict, rng: random.Random) -> None:
        manager = rs["users"][1]
        rs["employees"] = []
        for (label, role, kind, rate, start, end, pause), user in zip(STAFF, rs["users"][1:]):
            eid = self.key("employee_profiles")
            rs["employees"].append(eid)
            self.tables["employee_profiles"].write({
                "id": eid, "user_id": user, "restaurant_id": rs["id"], "employee_id": f"EMP-{rs['number']:03d}-{label}",
                "hire_date": (rs["created"] - timedelta(days=30)).date().isoformat(), "employment_type": kind,
                "hourly_rate": pounds(rate), "phone": f"07700 9{rs['number']:03d}{len(rs['employees']):02d}",
                "emergency_contact": json.dumps({"name": rng.choice(FIRST), "phone": "07700 900000",
                                                 "relationship": "partner"}),
                "availability": json.dumps({"monday": {"start": start, "end": end}}), "is_active": "t", "notes": "[]",
                "created_at": ts(rs["created"] + timedelta(minutes=4)),
            })
            sales = 0
            for day in range(5):
                when = STAFF_WEEK + timedelta(days=day)
                sid = self.key("schedules")
                self.tables["schedules"].write({
                    "id": sid, "employee_id": eid, "restaurant_id": rs["id"], "date": when.date().isoformat(),
                    "start_time": f"{start}:00", "end_time": f"{end}:00", "break_minutes": str(pause), "role": role,
                    "status": "completed", "is_published": "t", "swap_requested": "f", "created_by": manager,
                    "created_at": ts(STAFF_WEEK - timedelta(days=3)),
                })
                begin = when.replace(hour=int(start[:2])) + timedelta(minutes=rng.randint(0, 5))
                finish = when.replace(hour=int(end[:2])) + timedelta(minutes=rng.randint(0, 10))
                minutes = int((finish - begin).total_seconds() // 60) - pause
                hours = (minutes * 100 + 30) // 60  # hundredths
                tips_cash, tips_card = (rng.randint(0, 1500), rng.randint(0, 2500)) if role == "cashier" else (0, 0)
                takings = rng.randint(20000, 90000) if role != "kitchen" else 0
                sales += takings
                self.tables["shifts"].write({
                    "id": self.key("shifts"), "employee_id": eid, "restaurant_id": rs["id"], "schedule_id": sid,
                    "clock_in": ts(begin), "clock_out": ts(finish), "total_break_minutes": str(pause), "role": role,
                    "hourly_rate": pounds(rate), "total_hours": pounds(hours), "regular_hours": pounds(hours),
                    "overtime_hours": "0.00", "tips_cash": pounds(tips_cash), "tips_card": pounds(tips_card),
                    "total_sales": pounds(takings),
                    "total_earnings": pounds((hours * rate + 50) // 100 + tips_cash + tips_card),
                    "status": "completed", "approval_status": "approved" if day < 4 else "pending",
                    "approved_by": manager if day < 4 else None, "created_at": ts(begin), "updated_at": ts(finish),
                })
            self.tables["performance_metrics"].write({
                "id": self.key("performance_metrics"), "employee_id": eid, "restaurant_id": rs["id"],
                "metric_date": STAFF_WEEK.date().isoformat(), "metric_type": "weekly", "total_sales": pounds(sales),
                "transaction_count": str(sales // 2500), "average_transaction": "25.00" if sales else "0.00",
                "tables_served": "0", "customer_rating": f"{rng.randint(350, 500) / 100:.2f}", "compliments": "0",
                "complaints": str(rng.randint(0, 1)), "late_arrivals": "0", "no_shows": "0",
                "created_at": ts(STAFF_WEEK + timedelta(days=7)),
            })

    def daily_reports(self, rs: dict, rng: random.Random) -> None:
        for day in range(7):
            cash, card, qr = rng.randint(5000, 40000), rng.randint(20000, 120000), rng.randint(0, 5000)
            orders = rng.randint(10, 60)
            total = cash + card + qr
            (top, price), (other, other_price) = rs["products"][day % 4], rs["products"][4 + day % 4]
            self.tables["daily_reports"].write({
                "id": self.key("daily_reports"), "restaurant_id": rs["id"],
                "report_date": (START + timedelta(days=day)).date().isoformat(), "total_revenue": pounds(total),
                "total_orders": str(orders), "average_order_value": pounds((total + orders // 2) // orders),
                "cash_sales": pounds(cash), "card_sales": pounds(card), "qr_sales": pounds(qr), "other_sales": "0.00",
                "total_tax": pounds(total // 6), "hourly_sales": "{}", "hourly_orders": "{}",
                "top_items": json.dumps([{"item_id": top, "name": "top", "quantity": 12, "revenue": price * 12 / 100},
                                         {"item_id": other, "name": "next", "quantity": 7,
                                          "revenue": other_price * 7 / 100}]),
                "top_categories": "[]", "is_complete": "t",
                "generated_at": ts(START + timedelta(days=day + 1, hours=2)),
            })

    def bad_staff(self) -> None:
        """The traps of the staff: a profile whose user works in another restaurant, an employee_id used in
        two restaurants, a clock-in without a zone."""
        if not self.bad_rows:
            return
        first, other = self.restaurants[0], self.restaurants[-1]
        for n in range(self.bad_rows):
            created = first["created"] + timedelta(minutes=20 + n)
            clock_in = STAFF_WEEK + timedelta(days=5, hours=9, minutes=n)
            sid = self.key("shifts", bad=True)
            self.tables["shifts"].write({
                "id": sid, "employee_id": first["employees"][0], "restaurant_id": first["id"],
                "clock_in": ts(clock_in, naive=True), "clock_out": ts(clock_in + timedelta(hours=2)),
                "role": "manager", "hourly_rate": "14.50", "total_hours": "2.00", "total_earnings": "29.00",
                "status": "completed", "created_at": ts(clock_in),
            })
            self.trap("naive_clock_in", sid)
            if other is first:
                continue  # one restaurant: no other to be in
            for kind in ("employee_other_restaurant", "duplicate_employee_id"):
                uid = self.key("users", bad=True)
                home = first if kind == "employee_other_restaurant" else other
                self.tables["users"].write({
                    "id": uid, "email": f"{kind.replace('_', '.')}{n}@restaurant.test",
                    "password_hash": self.hashes["cashier"], "first_name": "Tess", "last_name": "Trap",
                    "role": "employee", "restaurant_id": home["id"], "is_active": "t", "created_at": ts(created),
                })
                eid = self.key("employee_profiles", bad=True)
                self.tables["employee_profiles"].write({
                    "id": eid, "user_id": uid, "restaurant_id": other["id"],
                    "employee_id": f"EMP-{first['number']:03d}-manager" if kind == "duplicate_employee_id" else f"TRAP-{n}",
                    "hire_date": "2025-06-01", "employment_type": "part_time", "hourly_rate": "11.00",
                    "phone": "07700 900999", "is_active": "t", "created_at": ts(created),
                })
                self.trap(kind, eid)
                if kind == "employee_other_restaurant":
                    self.reject("employees")

    # -- orders, their lines, payments, refunds --

    def lines(self) -> int:
        spread = max(0.0, 2 * (self.items_per_order - 1))
        return 1 + int(self.rng.random() * (spread + 1)) if spread else 1

    def write_orders(self) -> None:
        step = max(1, (90 * 86400) // max(self.orders, 1))
        bad_every = max(1, self.orders // (len(TRAPS) * max(self.bad_rows, 1) + 1)) if self.bad_rows else 0
        pending = [kind for kind, (table, _) in TRAPS.items() if table in ("orders", "payments")] * self.bad_rows
        seconds = 0
        for i in range(self.orders):
            seconds += self.rng.randint(1, 2 * step)
            created = START + timedelta(seconds=seconds, microseconds=self.rng.randrange(1_000_000))
            rs = self.restaurants[i % len(self.restaurants)]
            self.order(rs, created, i)
            if bad_every and (i + 1) % bad_every == 0 and pending:
                self.bad_order(pending.pop(0), created + timedelta(microseconds=1))
            if i % 1000 == 999:
                self.progress(1000)
        for kind in pending:
            self.bad_order(kind, START + timedelta(seconds=seconds + 1))
        if self.orders % 1000:
            self.progress(self.orders % 1000)

    def items(self, rs: dict, n: int, rng: random.Random | None = None) -> tuple[list[dict], int]:
        rng = rng or self.rng
        items, subtotal = [], 0
        for _ in range(n):
            product, price = rs["products"][rng.randrange(len(rs["products"]))]
            quantity = 1 if rng.random() < 0.75 else rng.randint(2, 4)
            items.append({"product_id": product, "quantity": quantity, "unit_price": price / 100,
                          "total_price": price * quantity / 100, "modifiers": [], "special_instructions": None})
            subtotal += price * quantity
        return items, subtotal

    def order(self, rs: dict, created: datetime, i: int, *, key: str | None = None, items=None, status=None,
              extra: dict | None = None, naive: bool = False) -> tuple[str, int]:
        oid = key or self.key("orders")
        if items is None:
            items, subtotal = self.items(rs, self.lines())
        else:
            subtotal = sum(round(float(item["total_price"]) * 100) for item in items)
        tax = (subtotal * 20 + 50) // 100
        total = subtotal + tax
        status = status or STATUSES[self.rng.randrange(len(STATUSES))]  # (bad orders give theirs)
        row = {
            "id": oid, "restaurant_id": rs["id"],
            "customer_id": rs["customers"][i % 3] if i % 4 == 0 else None,
            "order_number": f"ORD-{created:%Y%m%d}-{oid[-12:].upper()}",
            "table_number": f"T{1 + i % 20}", "order_type": ("dine_in", "takeaway", "DELIVERY")[i % 3],
            "status": status, "items": json.dumps(items), "subtotal": pounds(subtotal), "tax_amount": pounds(tax),
            "service_charge": "0.00", "discount_amount": "0.00", "total_amount": pounds(total),
            "payment_status": "completed" if status == "completed" else "pending",
            "created_by": rs["users"][1 + i % 3], "created_at": ts(created, naive=naive),
            "updated_at": ts(created + timedelta(minutes=20)) if status != "pending" else None,
            **(extra or {}),
        }
        self.tables["orders"].write(row)
        if key is None:
            rs.setdefault("first_order", oid)  # what the stock ledger's sales refer to
        self.manifest.order_items += len(items)
        if status == "completed":
            method = METHODS[i % len(METHODS)]
            pid = self.key("payments", bad=key is not None)
            self.tables["payments"].write({
                "id": pid, "order_id": oid, "payment_method": method, "amount": pounds(total),
                "fee_amount": "0.00" if method == "cash" else pounds((total * 14 + 50) // 1000 + 20),
                "status": "completed", "external_id": None if method == "cash" else f"pi_{pid[-12:]}",
                "payment_metadata": None if method == "cash" else json.dumps({"provider": method}),
                "created_at": ts(created + timedelta(minutes=15)),
            })
            if key is None and i % 100 == 42:
                self.tables["refunds"].write({
                    "id": self.key("refunds"), "order_id": oid, "amount": pounds(max(1, total // 2)),
                    "reason": "cold food", "state": "done", "created_at": ts(created + timedelta(hours=1)),
                })
        return oid, len(items)

    def bad_order(self, kind: str, created: datetime) -> None:
        first, other = self.restaurants[0], self.restaurants[-1]
        table, outcome = TRAPS[kind]
        if kind == "orphan_payment":
            pid = self.key("payments", bad=True)
            self.tables["payments"].write({
                "id": pid, "order_id": uuid_of("orders", BAD_BASE * 2, self.seed), "payment_method": "cash",
                "amount": "9.99", "status": "completed", "created_at": ts(created),
            })
            self.trap(kind, pid)
            self.reject("payments")
            return
        product, price = first["products"][0]
        items, _ = self.items(first, 2, self.bad_rng)
        status, naive = "completed", False
        if kind == "foreign_product":
            if other is first:
                return  # one restaurant: no product of another
            items[1]["product_id"] = other["products"][0][0]
        elif kind == "float_artefact":
            items[0].update(unit_price=price / 100 - 1e-9, total_price=items[0]["quantity"] * price / 100 - 1e-9)
        elif kind == "float_not_pence":
            items[0].update(unit_price=price / 100 + 0.003, total_price=items[0]["quantity"] * (price / 100 + 0.003))
        elif kind == "string_numbers":
            items[0].update(quantity=str(items[0]["quantity"]), unit_price=pounds(price),
                            total_price=pounds(price * int(items[0]["quantity"])))
        elif kind == "unknown_enum":
            status = "ON_HOLD"
        elif kind == "naive_timestamp":
            naive = True
        oid = self.key("orders", bad=True)
        extra = {UNKNOWN_COLUMN: "ask for Sam"} if kind == "unknown_column" else None
        self.order(first, created, 1, key=oid, items=items, status=status, naive=naive, extra=extra)
        self.trap(kind, oid)
        if outcome == "rejected":
            self.reject("orders")
            self.reject("order_items", len(items))
            if status == "completed":
                self.reject("payments")

    # -- stock: suppliers, ingredients, the ledger, stock movements, purchase orders --

    def write_stock(self) -> None:
        """A few rows a restaurant (not a function of the orders), from their own random numbers."""
        rng = random.Random(self.seed ^ 0x5700C)
        ledger = 0
        for rs in self.restaurants:
            number, created, manager = rs["number"], rs["created"], rs["users"][1]
            suppliers = []
            for n, name in enumerate(SUPPLIERS):
                sid = self.key("suppliers")
                suppliers.append(sid)
                self.tables["suppliers"].write({
                    "id": sid, "restaurant_id": rs["id"], "name": name, "code": f"SUP-{number}-{n + 1}",
                    "contact_name": rng.choice(FIRST), "email": f"orders{n + 1}.r{number}@supplier.test",
                    "phone": f"0113 496 {number:02d}{n:02d}", "website": f"https://supplier{n + 1}.test",
                    "address": json.dumps({"line1": f"{n + 1} Market Road", "city": "Leeds", "postcode": "LS1 4AP"}),
                    "payment_terms": "net30", "minimum_order": "50.00", "delivery_days": json.dumps(["monday"]),
                    "lead_time_days": "2", "categories": json.dumps(["produce"]), "on_time_delivery_rate": "100.00",
                    "quality_rating": "5.00", "total_purchases": "0.00", "is_active": "t", "is_preferred": "f",
                    "notes": "[]", "created_at": ts(created + timedelta(minutes=5)),
                })
            skus = []
            for n, (name, unit, stock, par, pence, supplier) in enumerate(INGREDIENTS):
                sku = f"ING-{number}-{n + 1:02d}"
                skus.append((sku, unit, pence))
                self.tables["inventory"].write({
                    "sku": sku, "restaurant_id": rs["id"], "name": name, "qty_g": str(stock), "par_level_g": str(par),
                    "unit": unit, "cost_per_unit": pounds(pence),
                    "supplier": SUPPLIERS[supplier] if isinstance(supplier, int) else (
                        "Cash & Carry" if supplier == "cash" else None),
                    "last_updated": ts(created + timedelta(minutes=6, seconds=n)),
                })
                for delta, source, source_id in ((stock, "initial_import", f"import-{number}"),
                                                 (-rng.randint(1, 50), "order_fulfillment", rs.get("first_order")),
                                                 (-rng.randint(1, 20), ("spoilage", "manual_stock_add", "recount")[n % 3],
                                                  manager)):
                    ledger += 1
                    self.tables["inventory_ledger"].write({
                        "id": str(ledger), "sku": sku, "restaurant_id": rs["id"],
                        "delta_g": str(abs(delta) if source == "manual_stock_add" else delta), "source": source,
                        "source_id": source_id, "ts": ts(created + timedelta(minutes=7, seconds=ledger)),
                    })
            rs["skus"] = skus
            order_key = self.key("purchase_orders")
            lines = []
            for sku, unit, pence in skus[:2]:
                quantity = rng.randint(5, 20) * 1000
                lines.append((sku, unit, quantity, pence))
            total = sum(quantity * pence for _, _, quantity, pence in lines)
            self.tables["purchase_orders"].write({
                "id": order_key, "restaurant_id": rs["id"], "supplier_id": suppliers[0],
                "order_number": f"PO-{number:04d}-0001", "order_date": f"{created:%Y-%m-%d}",
                "expected_delivery": f"{created + timedelta(days=2):%Y-%m-%d}",
                "actual_delivery": f"{created + timedelta(days=2):%Y-%m-%d}", "subtotal": pounds(total),
                "tax_amount": "0.00", "delivery_fee": "0.00", "total_amount": pounds(total), "status": "delivered",
                "payment_status": "paid", "created_by": manager, "created_at": ts(created + timedelta(minutes=8)),
                "updated_at": ts(created + timedelta(days=2)),
            })
            rs["purchase_order"] = order_key
            for sku, unit, quantity, pence in lines:
                self.tables["purchase_order_items"].write({
                    "id": self.key("purchase_order_items"), "purchase_order_id": order_key, "inventory_sku": sku,
                    "quantity_ordered": f"{quantity}.00", "unit": unit, "unit_price": pounds(pence),
                    "total_price": pounds(quantity * pence), "quantity_received": f"{quantity}.00",
                    "quantity_rejected": "0.00", "created_at": ts(created + timedelta(minutes=8)),
                })
                self.movement(rs, sku, "PURCHASE", quantity, unit, created + timedelta(days=2), unit_cost=pounds(pence),
                              total_cost=pounds(quantity * pence), reference_type="purchase_order",
                              reference_id=order_key)
            for n, kind in enumerate(("SALE", "WASTE", "COUNT")):
                sku, unit, _ = skus[2 + n]
                self.movement(rs, sku, kind, -rng.randint(1, 100), unit, created + timedelta(days=3, minutes=n),
                              order_id=rs.get("first_order") if kind == "SALE" else None)

    def movement(self, rs: dict, sku: str, kind: str, quantity: int, unit: str, when: datetime, *, bad=False,
                 **extra) -> str:
        key = self.key("stock_movements", bad=bad)
        self.tables["stock_movements"].write({
            "id": key, "restaurant_id": rs["id"], "inventory_sku": sku, "movement_type": kind,
            "quantity": f"{quantity}.00", "unit": unit, "stock_before": "0.00", "stock_after": f"{quantity}.00",
            "performed_by": rs["users"][1], "movement_date": ts(when), "created_at": ts(when), **extra,
        })
        return key

    def bad_stock(self) -> None:
        """The traps of the stock tables, after the good rows."""
        first, other = self.restaurants[0], self.restaurants[-1]
        for n in range(self.bad_rows):
            when = first["created"] + timedelta(days=4, minutes=n)
            sku = f"ING-GHOST-{n + 1}"
            self.tables["inventory"].write({
                "sku": sku, "restaurant_id": uuid_of("restaurants", BAD_BASE * 2 + n, self.seed), "name": "Ghost",
                "qty_g": "1", "unit": "grams", "supplier": "Nowhere Ltd", "last_updated": ts(when),
            })
            self.trap("inventory_unknown_restaurant", sku)
            self.reject("inventory_items")
            if other is not first:
                key = self.key("purchase_order_items", bad=True)
                sku, unit, pence = other["skus"][0]
                self.tables["purchase_order_items"].write({
                    "id": key, "purchase_order_id": first["purchase_order"], "inventory_sku": sku,
                    "quantity_ordered": "1000.00", "unit": unit, "unit_price": pounds(pence), "total_price": pounds(
                        1000 * pence), "created_at": ts(when),
                })
                self.trap("purchase_item_other_restaurant", key)
                self.reject("restock_order_items")
            sku, unit, _ = first["skus"][-1]
            key = self.movement(first, sku, "SHRINKAGE", -1, unit, when, bad=True)
            self.trap("unknown_movement_type", key)

    # -- the plain dump --

    def write_dump(self) -> None:
        with open(self.dump, "w", encoding="utf-8") as out:
            out.write("--\n-- PostgreSQL database dump (synthetic: generate_legacy_export --format fynlo-v1)\n--\n\n"
                      "SET statement_timeout = 0;\nSET client_encoding = 'UTF8';\n"
                      "SET standard_conforming_strings = on;\nSELECT pg_catalog.set_config('search_path', '', false);\n\n")
            for name, table in self.tables.items():
                part = self.folder / f".{name}.dump-part"
                out.write(f"--\n-- Data for Name: {name}; Type: TABLE DATA; Schema: public; Owner: fynlo\n--\n\n")
                out.write(f"COPY public.{name} ({', '.join(table.columns)}) FROM stdin;\n")
                with open(part, encoding="utf-8") as block:
                    while chunk := block.read(1 << 20):
                        out.write(chunk)
                out.write("\\.\n\n\n")
                part.unlink()
            out.write("--\n-- PostgreSQL database dump complete\n--\n\n")


def generate_fynlo_v1(folder: Path, *, platforms: int = 2, restaurants_per_platform: int = 2, orders: int = 1000,
                      items_per_order: float = 3.0, seed: int = 1, bad_rows: int = 0, dump: Path | None = None,
                      database_url: str | None = None, schema: Path | None = None,
                      progress: Callable[[int], None] | None = None) -> FynloV1Manifest:
    """Write the CSV folder (and the dump, and load the database when asked); the manifest."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = _Generator(folder, platforms=platforms, restaurants_per_platform=restaurants_per_platform,
                          orders=orders, items_per_order=items_per_order, seed=seed, bad_rows=bad_rows,
                          dump=Path(dump) if dump else None, progress=progress).run()
    if database_url:
        load_database(folder, database_url, schema=schema)
    return manifest


def load_database(folder: Path, url: str, *, schema: Path | None = None) -> None:
    """COPY the CSV files of `folder` into the legacy tables of the database at `url`."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("SET TimeZone = 'UTC'")  # a naive timestamp of the trap holds UTC (as the legacy app wrote it)
        if schema is not None:
            conn.execute(Path(schema).read_text())
        for name in TABLES:
            path = folder / f"{name}.csv"
            with open(path, "rb") as handle:
                header = handle.readline().decode().strip().split(",")
                for column in header:
                    if column not in TABLES[name]:
                        conn.execute(f'ALTER TABLE {name} ADD COLUMN IF NOT EXISTS "{column}" text')
                handle.seek(0)
                with conn.cursor().copy(
                    f"COPY {name} ({', '.join(header)}) FROM STDIN (FORMAT csv, HEADER true)"
                ) as copy:
                    while chunk := handle.read(1 << 20):
                        copy.write(chunk)
