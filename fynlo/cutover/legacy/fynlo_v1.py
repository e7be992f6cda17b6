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

Each id map entry and archive row holds the run that wrote it (`run_id`); an entry or archive
row a run changes or deletes is first kept as it was in `legacy_import_keyed_changes`, so
`--undo` of the run puts both tables back as they were.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from array import array
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from math import isfinite

from django.utils.text import slugify
from psycopg import sql

from billing.plans import DEFAULT_PLAN, GUIDE_PLANS_BY_NAME
from fynlo.core.money import percent_of, quantize
from fynlo.cutover.common import CutoverError
from fynlo.cutover.legacy import load
from fynlo.cutover.legacy.ids import IdSet, KeyMap, StoredKeyMap
from fynlo.cutover.legacy.rows import ARCHIVE, ID_MAP, KEYED_CHANGES
from fynlo.cutover.legacy.source import (
    QUOTED_EMPTY,
    ROWS,
    ParseError,
    QuotedEmpty,
    Rejected,
    SkippedRun,
    Source,
    SourceFile,
    first_record,
    read_records,
    scan,
)
from fynlo.cutover.legacy.validate import RowError, json_refusal, normalise_header
from staff.models import LEGACY_METRIC_FIGURES

ARCHIVE_BATCH = 5000
LISTED = 1000  # archive rows a catch-up removes (or would remove) listed in the JSON report
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
CENT = Decimal("0.01")
FLOAT_TOLERANCE = Decimal("0.000001")
FAST_TOLERANCE = 1e-7  # well inside FLOAT_TOLERANCE: nearer the edge, Decimal decides

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
        "payment_methods": TO_ARCHIVE, "floor_plan_layout": TO_ARCHIVE,
        "subscription_plan": "restaurants.subscription_tier, restaurant_subscriptions.plan_id",
        "subscription_status": "restaurant_subscriptions.status",
        "subscription_started_at": "restaurant_subscriptions.start_date",
        "subscription_expires_at": "restaurant_subscriptions.end_date", "is_active": "restaurants.is_active",
        "created_at": "restaurants.created_at", "updated_at": "restaurants.updated_at",
    },
    "users": {
        "id": "users.id (id map)", "email": "users.email", "username": TO_ARCHIVE,
        "password_hash": "users.password_hash (bcrypt kept; none: must set a password)",
        "supabase_id": TO_ARCHIVE, "auth_provider": TO_ARCHIVE, "first_name": "users.first_name",
        "last_name": "users.last_name", "role": "users.role", "restaurant_id": "users.restaurant_id",
        "platform_id": "users.platform_id", "permissions": "user_permissions (one row per true flag; archive when no JSON object)",
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
        "amount": "payments.amount, payments.commission_amount (at the rate of the restaurant's plan)",
        "fee_amount": "payments.processor_response", "net_amount": "payments.processor_response",
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
# -- stock: suppliers, inventory, the ledger and stock movements, purchase orders --
STOCK_COLUMNS: dict[str, dict[str, str]] = {
    "suppliers": {
        "id": "suppliers.id (id map)", "restaurant_id": "suppliers.restaurant_id", "name": "suppliers.name",
        "code": TO_ARCHIVE, "contact_name": "suppliers.contact_person", "email": "suppliers.email",
        "phone": "suppliers.phone", "website": TO_ARCHIVE, "address": "suppliers.address (flattened)",
        "tax_number": TO_ARCHIVE, "payment_terms": "suppliers.payment_terms", "minimum_order": TO_ARCHIVE,
        "delivery_days": TO_ARCHIVE, "lead_time_days": TO_ARCHIVE, "categories": TO_ARCHIVE,
        "on_time_delivery_rate": TO_ARCHIVE, "quality_rating": TO_ARCHIVE, "total_purchases": TO_ARCHIVE,
        "is_active": "suppliers.is_active", "is_preferred": TO_ARCHIVE, "notes": TO_ARCHIVE,
        "created_at": "suppliers.created_at", "updated_at": "suppliers.updated_at",
    },
    "inventory": {
        "sku": "inventory_items.id (id map)", "restaurant_id": "inventory_items.restaurant_id",
        "name": "inventory_items.name (an ingredient: no product)", "description": TO_ARCHIVE,
        "qty_g": "inventory_items.current_stock", "par_level_g": "inventory_items.minimum_stock, reorder_point",
        "unit": "inventory_items.unit_measure", "cost_per_unit": "inventory_items.unit_cost",
        "supplier": "inventory_items.supplier_id (the restaurant's supplier of that name, else one made once)",
        "last_updated": "inventory_items.created_at, updated_at",
    },
    "inventory_ledger": {
        "id": "stock_movements.id (id map)", "sku": "stock_movements.inventory_item_id",
        "restaurant_id": "stock_movements.restaurant_id (checked against the item's)",
        "delta_g": "stock_movements.quantity",
        "source": "stock_movements.movement_type (an unknown source: adjustment, the source in notes)",
        "source_id": "stock_movements.reference_id (order_fulfillment: the order); archive",
        "ts": "stock_movements.created_at",
    },
    "stock_movements": {
        "id": "stock_movements.id (id map)", "restaurant_id": "stock_movements.restaurant_id (checked against the item's)",
        "inventory_sku": "stock_movements.inventory_item_id",
        "movement_type": "stock_movements.movement_type (other than PURCHASE, SALE, WASTE: adjustment, the type in notes)",
        "quantity": "stock_movements.quantity", "unit": TO_ARCHIVE, "stock_before": TO_ARCHIVE,
        "stock_after": TO_ARCHIVE, "unit_cost": "stock_movements.unit_cost", "total_cost": "stock_movements.total_cost",
        "reference_type": "stock_movements.reference_type (purchase_order: restock); archive",
        "reference_id": "stock_movements.reference_id (a purchase order); archive", "supplier_id": TO_ARCHIVE,
        "order_id": "stock_movements.reference_id (reference_type order)", "reason": "stock_movements.notes",
        "notes": "stock_movements.notes", "performed_by": "stock_movements.created_by", "approved_by": TO_ARCHIVE,
        "movement_date": "stock_movements.created_at",
        "created_at": "stock_movements.created_at (when no movement_date); archive",
    },
    "purchase_orders": {
        "id": "restock_orders.id (id map)", "restaurant_id": "restock_orders.restaurant_id",
        "supplier_id": "restock_orders.supplier_id", "order_number": "restock_orders.order_number",
        "order_date": "restock_orders.order_date", "expected_delivery": "restock_orders.expected_delivery",
        "actual_delivery": "restock_orders.actual_delivery", "subtotal": TO_ARCHIVE, "tax_amount": TO_ARCHIVE,
        "delivery_fee": TO_ARCHIVE, "total_amount": "restock_orders.total_amount", "status": "restock_orders.status",
        "payment_status": TO_ARCHIVE, "delivery_notes": "restock_orders.notes", "invoice_number": TO_ARCHIVE,
        "created_by": "restock_orders.created_by", "approved_by": TO_ARCHIVE, "received_by": TO_ARCHIVE,
        "created_at": "restock_orders.created_at", "updated_at": "restock_orders.updated_at",
    },
    "purchase_order_items": {
        "id": "restock_order_items.id (id map)",
        "purchase_order_id": "restock_order_items.restock_order_id (restaurant from the order)",
        "restaurant_id": "restock_order_items.restaurant_id (checked)",
        "inventory_sku": "restock_order_items.inventory_item_id", "quantity_ordered": "restock_order_items.quantity_ordered",
        "unit": TO_ARCHIVE, "unit_price": "restock_order_items.unit_cost", "total_price": "restock_order_items.total_cost",
        "quantity_received": "restock_order_items.quantity_received", "quantity_rejected": TO_ARCHIVE,
        "rejection_reason": TO_ARCHIVE, "created_at": TO_ARCHIVE,
    },
}
COLUMNS.update(STOCK_COLUMNS)

# Legacy tables with no target yet: every row whole in the archive.
ARCHIVE_ONLY = (
    "customers", "qr_payments", "refunds_ledger", "pos_sessions", "sections", "tables", "recipe", "stock_alerts",
    "inventory_counts", "inventory_count_items", "hourly_metrics", "product_performance", "employee_performance",
    "financial_summaries", "subscription_usage", "platform_fees", "staff_tip_distributions",
    "time_entries", "restaurant_subscriptions", "payment_provider_configs",
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
        "id", "order_id", "payment_method", "amount", "commission_rate", "commission_amount", "transaction_id",
        "processor_response", "status", "processed_at", "created_at",
    ]),
    "refunds": ("refunds", ["id", "order_id", "payment_id", "amount", "reason", "status", "created_at", "updated_at"]),
}
# -- stock --
# A target made from several legacy tables names them in a tuple: the rows of the first come
# from `_<target>`, those of each other from `_<target>_from_<legacy table>`.
STOCK_TARGETS = {
    "suppliers": (("suppliers", "inventory"), [
        "id", "restaurant_id", "name", "contact_person", "email", "phone", "address", "payment_terms", "is_active",
        "created_at", "updated_at",
    ]),
    "inventory_items": ("inventory", [
        "id", "restaurant_id", "product_id", "name", "supplier_id", "current_stock", "minimum_stock", "reorder_point",
        "unit_cost", "unit_measure", "created_at", "updated_at",
    ]),
    "stock_movements": (("stock_movements", "inventory_ledger"), [
        "id", "restaurant_id", "inventory_item_id", "movement_type", "quantity", "unit_cost", "total_cost",
        "reference_id", "reference_type", "notes", "created_by", "created_at",
    ]),
    "restock_orders": ("purchase_orders", [
        "id", "restaurant_id", "supplier_id", "order_number", "order_date", "expected_delivery", "actual_delivery",
        "status", "total_amount", "notes", "created_by", "created_at", "updated_at",
    ]),
    "restock_order_items": ("purchase_order_items", [
        "id", "restaurant_id", "restock_order_id", "inventory_item_id", "quantity_ordered", "quantity_received",
        "unit_cost", "total_cost",
    ]),
}
TARGETS.update(STOCK_TARGETS)
# The stock tables' keys: (legacy table, target, key column, the column that orders new ids).
STOCK_KEYS = (
    ("suppliers", "suppliers", "id", "created_at"), ("inventory", "inventory_items", "sku", "last_updated"),
    ("stock_movements", "stock_movements", "id", "created_at"), ("inventory_ledger", "stock_movements", "id", "ts"),
    ("purchase_orders", "restock_orders", "id", "created_at"),
    ("purchase_order_items", "restock_order_items", "id", "created_at"),
)
# Suppliers made from `inventory.supplier` names (key: "<restaurant key>:<folded name>").
MADE_SUPPLIERS_MAP = "inventory.supplier"
LEDGER_SOURCES = {"order_fulfillment": "sale", "manual_stock_add": "restock", "initial_import": "restock",
                  "spoilage": "waste"}
MOVEMENT_TYPES = {"PURCHASE": "restock", "SALE": "sale", "WASTE": "waste", "ADJUSTMENT": "adjustment"}
LEGACY_MOVEMENT_TYPES = ("PURCHASE", "SALE", "ADJUSTMENT", "TRANSFER", "WASTE", "RETURN", "PRODUCTION", "COUNT")
RESTOCK_STATUS = {"draft": "pending", "sent": "ordered", "confirmed": "ordered", "received": "delivered",
                  "partially_received": "ordered"}


def sources_of(target: str) -> tuple[str, ...]:
    """The legacy tables a target of ours is made from (the first one's rows first)."""
    legacy = TARGETS[target][0]
    return legacy if isinstance(legacy, tuple) else (legacy,)



# -- staff and billing: employees, schedules and shifts, clocked time, performance metrics,
# subscription plans, the restaurants' subscriptions, daily reports --

# The legacy performance_metrics' numeric columns: each non-zero one is a row of ours.
METRIC_COLUMNS = LEGACY_METRIC_FIGURES
COLUMNS.update({
    "employee_profiles": {
        "id": "employees.id (id map)", "user_id": "employees.user_id", "restaurant_id": "employees.restaurant_id",
        "employee_id": "employees.employee_number", "hire_date": "employees.hire_date",
        "employment_type": "employees.employment_type (seasonal -> contract, the original in the archive too)",
        "hourly_rate": "employees.hourly_rate", "phone": TO_ARCHIVE,
        "emergency_contact": "employees.emergency_contact_name, emergency_contact_phone; relationship to the archive too"
        " (all of it when no JSON object)",
        "max_hours_per_week": TO_ARCHIVE, "min_hours_per_week": TO_ARCHIVE, "availability": TO_ARCHIVE,
        "performance_rating": TO_ARCHIVE, "total_sales": TO_ARCHIVE, "orders_served": TO_ARCHIVE,
        "average_order_time": TO_ARCHIVE, "is_active": "employees.is_active",
        "termination_date": "employees.termination_date", "notes": TO_ARCHIVE,
        "created_at": "employees.created_at", "updated_at": "employees.updated_at",
    },
    "schedules": {
        "id": "shifts.id (id map)", "employee_id": "shifts.employee_id",
        "restaurant_id": "shifts.restaurant_id, schedules.restaurant_id (the week's row)",
        "date": "shifts.shift_date, schedules.week_start/week_end (its Monday's week)",
        "start_time": "shifts.start_time, schedules.total_scheduled_hours",
        "end_time": "shifts.end_time, schedules.total_scheduled_hours",
        "break_minutes": "shifts.break_duration, schedules.total_scheduled_hours",
        "role": "shifts.position (kitchen -> cook; one we do not have: the original in the archive too)",
        "status": "shifts.status", "is_published": "schedules.status (published when any shift of the week is)",
        "section_id": TO_ARCHIVE, "swap_requested": TO_ARCHIVE, "swap_with_employee_id": TO_ARCHIVE,
        "notes": "shifts.notes", "created_by": "schedules.created_by (the week's first)",
        "created_at": "shifts.created_at, schedules.created_at", "updated_at": "shifts.updated_at",
    },
    "shifts": {
        "id": "time_tracking.id (id map)", "employee_id": "time_tracking.employee_id",
        "restaurant_id": "time_tracking.restaurant_id", "schedule_id": "time_tracking.shift_id",
        "clock_in": "time_tracking.clock_in", "clock_out": "time_tracking.clock_out",
        "break_start": "time_tracking.break_start", "break_end": "time_tracking.break_end",
        "total_break_minutes": TO_ARCHIVE, "role": TO_ARCHIVE, "hourly_rate": TO_ARCHIVE,
        "total_hours": "time_tracking.total_hours", "regular_hours": TO_ARCHIVE,
        "overtime_hours": "time_tracking.overtime_hours", "tips_cash": TO_ARCHIVE, "tips_card": TO_ARCHIVE,
        "total_sales": TO_ARCHIVE, "total_earnings": "time_tracking.total_pay (less the tips); archive",
        "status": "time_tracking.status (void: the row only in the archive)",
        "approval_status": "time_tracking.status (approved)", "approved_by": TO_ARCHIVE, "approved_at": TO_ARCHIVE,
        "notes": TO_ARCHIVE, "created_at": "time_tracking.created_at", "updated_at": "time_tracking.updated_at",
    },
    "performance_metrics": {
        "id": "performance_metrics.id (id map, one per non-zero column)", "employee_id": "performance_metrics.employee_id",
        "restaurant_id": "performance_metrics.restaurant_id", "metric_date": "performance_metrics.metric_date",
        "metric_type": "performance_metrics.metric_type (<type>.<column>)",
        **{column: f"performance_metrics.metric_value (metric_type <type>.{column})" for column in METRIC_COLUMNS},
        "created_at": "performance_metrics.created_at", "updated_at": TO_ARCHIVE,
    },
    "subscription_plans": {
        "id": "subscription_plans.id (id map, one per platform)", "name": "subscription_plans.name",
        "display_name": TO_ARCHIVE, "price_monthly": "subscription_plans.monthly_fee, restaurant_subscriptions.monthly_fee",
        "price_yearly": TO_ARCHIVE, "max_orders_per_month": TO_ARCHIVE, "max_staff_accounts": TO_ARCHIVE,
        "max_menu_items": TO_ARCHIVE, "features": "subscription_plans.features",
        "transaction_fee_percentage": "subscription_plans.commission_rate, restaurant_subscriptions.commission_rate, "
                                      "payments.commission_rate",
        "is_active": "subscription_plans.is_active", "created_at": "subscription_plans.created_at",
        "updated_at": TO_ARCHIVE,
    },
    "daily_reports": {
        "id": "daily_reports.id (id map)", "restaurant_id": "daily_reports.restaurant_id",
        "report_date": "daily_reports.report_date", "total_revenue": "daily_reports.total_sales",
        "total_orders": "daily_reports.total_orders", "average_order_value": "daily_reports.average_ticket",
        "cash_sales": "daily_reports.payment_breakdown (cash)", "card_sales": "daily_reports.payment_breakdown (card)",
        "qr_sales": "daily_reports.payment_breakdown (qr)", "other_sales": "daily_reports.payment_breakdown (other)",
        "top_items": "daily_reports.top_products", "generated_at": "daily_reports.generated_at",
        **{column: TO_ARCHIVE for column in (
            "dine_in_orders", "takeaway_orders", "delivery_orders", "total_tax", "total_service_charge",
            "total_discounts", "payment_processing_fees", "total_labor_hours", "total_labor_cost", "employees_worked",
            "cogs", "waste_cost", "unique_customers", "new_customers", "returning_customers", "hourly_sales",
            "hourly_orders", "top_categories", "is_complete", "updated_at",
        )},
    },
})
TARGETS.update({
    "subscription_plans": ("subscription_plans", [
        "id", "platform_id", "name", "commission_rate", "service_fee_rate", "monthly_fee", "features", "is_active",
        "created_at",
    ]),
    "restaurant_subscriptions": ("restaurants", [
        "id", "restaurant_id", "plan_id", "start_date", "end_date", "status", "commission_rate", "monthly_fee",
        "created_at", "updated_at",
    ]),
    "employees": ("employee_profiles", [
        "id", "restaurant_id", "user_id", "employee_number", "hire_date", "termination_date", "hourly_rate",
        "employment_type", "emergency_contact_name", "emergency_contact_phone", "is_active", "created_at", "updated_at",
    ]),
    "schedules": ("schedules", [
        "id", "restaurant_id", "name", "week_start", "week_end", "status", "total_scheduled_hours", "total_labor_cost",
        "created_by", "created_at", "updated_at",
    ]),
    "shifts": ("schedules", [
        "id", "restaurant_id", "schedule_id", "employee_id", "shift_date", "start_time", "end_time", "break_duration",
        "position", "status", "notes", "created_at", "updated_at",
    ]),
    "time_tracking": ("shifts", [
        "id", "restaurant_id", "employee_id", "shift_id", "clock_in", "clock_out", "break_start", "break_end",
        "total_hours", "overtime_hours", "total_pay", "status", "created_at", "updated_at",
    ]),
    "performance_metrics": ("performance_metrics", [
        "id", "restaurant_id", "employee_id", "metric_date", "metric_type", "metric_value", "created_at",
    ]),
    "daily_reports": ("daily_reports", [
        "id", "restaurant_id", "report_date", "total_sales", "total_orders", "average_ticket", "payment_breakdown",
        "top_products", "generated_at",
    ]),
})
# Keys of the map made here: a week of a restaurant, a plan on a platform, a restaurant's subscription.
# Legacy tables whose rows match none of ours: archived, and counted in the report as unmatched.
UNMATCHED = {"restaurant_subscriptions": "unmatched (its integer restaurant_id is no restaurant's UUID)"}
WEEKS_MAP, PLANS_MAP, SUBSCRIPTIONS_MAP = "schedules.week", "subscription_plans.platform", "restaurants.subscription"
EMPLOYMENT_TYPES = {"seasonal": "contract"}
SHIFT_POSITIONS = {"kitchen": "cook", "chef": "cook", "waiter": "server", "waitress": "server"}
TIME_STATUS = {"active": "active", "completed": "completed"}
SUBSCRIPTION_STATUS = {"trial": "active", "expired": "cancelled"}
SUBSCRIPTION_COLUMNS = ("subscription_status", "subscription_started_at", "subscription_expires_at")

# The legacy columns that are json or jsonb (LEGACY_FYNLO_V1.md, and the legacy DDL the tests keep):
# their values go to the archive as JSON. Every other column the importer knows (COLUMNS) is archived as
# the text the legacy database printed, even one that looks like JSON ("123", "true", "null"); a column
# it does not know, as the source declares it (json_columns).
JSON_COLUMNS: dict[str, frozenset[str]] = {table: frozenset(columns.split()) for table, columns in {
    "restaurants": "address business_hours settings tax_configuration payment_methods floor_plan_layout",
    "users": "permissions", "user_restaurants": "permissions", "customers": "preferences",
    "products": "dietary_info modifiers", "orders": "items", "payments": "payment_metadata metadata",
    "suppliers": "address delivery_days categories notes", "employee_profiles": "emergency_contact availability notes",
    "time_entries": "location", "subscription_plans": "features",
    "daily_reports": "hourly_sales hourly_orders top_items top_categories",
}.items()}


def json_columns(table: str, declared: frozenset[str]) -> frozenset[str]:
    """The columns of a legacy table whose values are JSON: for the columns the importer knows, the
    legacy schema's (JSON_COLUMNS), so that every source archives them alike; for the others, those the
    source declares json or jsonb (a dump's CREATE TABLE, a live database's catalog; a CSV file: none)."""
    known = COLUMNS.get(table, {})
    return JSON_COLUMNS.get(table, frozenset()) | frozenset(c for c in declared if c not in known)


# The columns of each table that a column of ours holds (or that are secrets): the rest of a
# row goes to the archive.
_KEPT = {
    table: frozenset(column for column, where in known.items()
                     if where == SECRET or not (where.startswith(TO_ARCHIVE) or where.endswith("archive")))
    for table, known in COLUMNS.items()
}
# What a target needs in the export besides its own legacy table: (legacy table, its column or None).
# Without it the target is not made (its legacy columns are archived or reported absent as usual).
REQUIRES = {
    "user_permissions": (("users", "permissions"),),
    "subscription_plans": (("platforms", None),),
    "restaurant_subscriptions": (("subscription_plans", None), ("restaurants", "subscription_plan")),
}
# Targets whose restaurant comes from a parent row (a legacy restaurant_id is only compared).
RESTAURANT_FROM_PARENT = ("payments", "refunds", "restock_order_items")
MAPPED = {legacy for target in TARGETS for legacy in sources_of(target)}
# Keys of the map that are not a legacy table's own: (map name, target table).
SETTINGS_MAP, PERMISSIONS_MAP, ITEMS_MAP = "restaurants.settings", "users.permissions", "orders.items"
# (legacy table, target) -> the id maps its records look up, and the legacy column holding their keys:
# what a stored map (StoredKeyMap) reads ahead of every LOOK_AHEAD records
LOOKED_UP = {
    ("orders", "orders"): (("orders", "id"),),
    ("orders", "order_items"): ((ITEMS_MAP, "id"), ("orders", "id")),
    ("payments", "payments"): (("payments", "id"), ("orders", "order_id")),
    ("refunds", "refunds"): (("orders", "order_id"),),
    ("stock_movements", "stock_movements"): (("orders", "order_id"),),
    ("inventory_ledger", "stock_movements"): (("orders", "source_id"),),
}
LOOK_AHEAD = 2_500
STORABLE = {name for looked_up in LOOKED_UP.values() for name, _ in looked_up}

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

# --catch-up: the targets whose legacy records are not translated again when unchanged (raw hashes,
# `Translation.raw_hasher`). Bumped when a change of the translation changes what a record becomes.
RAW_TARGETS = ("orders", "order_items", "payments")
# 2: archived values no longer guessed from their text; 3: a record's fields hashed once (`raw_hasher`)
RAW_VERSION = "fynlo-v1-raw-3"
PLAIN_MONEY = re.compile(r"-?[0-9]+(\.[0-9]{1,2})?")


class RawRow(list):
    """A translated row (our columns) with the raw hash of the legacy record it was made from."""

    __slots__ = ("raw",)


class Skipped(list):
    """A row of ours made from a legacy record unchanged since (not translated again): its id, its
    restaurant and its reconciled amount (the record's text, plain), for the importer to count."""

    __slots__ = ("amount", "ident", "restaurant")

    def __init__(self, ident: int, restaurant, amount):
        super().__init__()
        self.ident, self.restaurant, self.amount = ident, restaurant, amount


class OrdersStash:
    """--catch-up: what the pass of the legacy orders learnt of each record, for the pass of their
    lines over the same file, which then parses none of the records it skips: each record's line,
    its order's id, its lines' first id and span, the digest of its fields (20 bytes), and the
    fields themselves of the records the orders' pass did not skip (changed, new, refused: few).
    `complete` once the orders' pass has read the whole file."""

    __slots__ = ("file", "lines", "idents", "firsts", "spans", "digests", "fields", "complete")

    def __init__(self, file):
        self.file = file
        self.lines: list = []
        self.idents, self.firsts, self.spans = array("q"), array("q"), array("q")
        self.digests = bytearray()
        self.fields: dict[int, list] = {}
        self.complete = False

    def add(self, line, known: tuple | None, fields: list | None) -> None:
        """A record: `known` (ident, first, span, digest) as its raw hash found them (None: not
        hashed), its `fields` when the lines' pass must have them."""
        index = len(self.lines)
        self.lines.append(line)
        ident, first, span, digest = known or (0, 0, 0, bytes(20))
        self.idents.append(ident)
        self.firsts.append(first)
        self.spans.append(span)
        self.digests += digest
        if fields is not None or known is None:
            self.fields[index] = fields


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
    if value.__class__ is float and isfinite(value):
        # the common case, without Decimal: a float this close to a two-place number formats as it
        rounded = round(value, 2)
        if abs(value - rounded) < FAST_TOLERANCE:
            return f"{rounded:.2f}"
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


_ENCODE = json.JSONEncoder(default=str).encode  # json.dumps(value, default=str), without a new encoder per call


class JsonText(str):
    """A legacy JSON column's value, as its text, that jsonb takes: it goes into the archive row as it
    is (PostgreSQL parses it: its numbers keep their digits, 1.50 is not 1.5)."""


def _archive_json(data: dict) -> str:
    """An archive row as JSON text: JsonText values as they are, every other value encoded (the whole
    row at once by the C encoder when it has no JsonText, most rows)."""
    if not any(value.__class__ is JsonText for value in data.values()):
        return _ENCODE(data)
    return "{" + ",".join(f"{_ENCODE(column)}:{value if value.__class__ is JsonText else _ENCODE(value)}"
                          for column, value in data.items()) + "}"


def _keep_prior(table: str, action: str, rows: sql.Composable) -> sql.Composed:
    """INSERT into legacy_import_keyed_changes of `rows` (a query's name or a subquery: rows of the id
    map or the archive `table`, as they were before run %(run)s changed them), `action` 'updated' or
    'deleted'; not a row the run itself wrote, nor anything when there is no run (a dry run)."""
    return sql.SQL(
        "INSERT INTO {changes} (run_id, table_name, legacy_table, legacy_key, action, prior)"
        " SELECT %(run)s::integer, {name}, p.legacy_table, p.legacy_key, {action}, to_jsonb(p) FROM {rows} p"
        " WHERE %(run)s::integer IS NOT NULL AND p.run_id IS DISTINCT FROM %(run)s::integer ON CONFLICT DO NOTHING"
    ).format(changes=sql.Identifier(KEYED_CHANGES), name=sql.Literal(table), action=sql.Literal(action), rows=rows)


# raw_hasher: how many distinct values of a restaurant or user column have their ids kept
FEW_KEYS = 10_000


def _highest_taken(target: str) -> sql.Composed:
    """The highest id of `target` taken: by its rows, or by a range the id map gives a legacy key."""
    return sql.SQL(
        "greatest((SELECT coalesce(max(new_id + span - 1), 0) FROM {map} WHERE target_table = {target}),"
        " (SELECT coalesce(max(id), 0) FROM {table}))"
    ).format(map=sql.Identifier(ID_MAP), target=sql.Literal(target), table=sql.Identifier(target))


def _json(text):
    """A legacy JSON column's value parsed, for the translation (its text when it is no JSON). The
    archive does not parse: see Translation.archived."""
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
        self.json_columns = {name: json_columns(name, file.json_columns) for name, file in raw.files.items()}
        self.maps: dict[str, KeyMap] = {}
        self.spans = KeyMap(spans=True)
        self.conn = None
        self._params: dict = {}
        self._lookups: tuple | None = None  # the stored id maps' look-ahead: (its thread, its connection)
        self.archive_rows: list = []
        # --catch-up: the archive rows written this run, the legacy tables read whole by the target
        # that archives them, and the keys of their rows rejected whole (their archive rows stay)
        self.archived_keys: set = set()
        self.read_whole: set = set()
        self.unsure_keys: dict[str, set] = {}
        # per target of RAW_TARGETS whose raw hashes are taken: what a catch-up's importer recorded (raw
        # hashes and ours changed, catchup.Recorded, else None), the ids met (TableState.seen), the row
        # function's source; and the keys of the records skipped unchanged (their archive rows stay)
        self.raw_checks: dict[str, tuple] = {}
        self.raw_kept: dict[str, set] = {}
        self._payments_of: dict[str, list] = {}  # refunded order key -> its payments (prepare: _refunded_payments)
        self.orders_stash: OrdersStash | None = None  # --catch-up: the orders' pass, for their lines'
        self._hashed_order: tuple | None = None  # (ident, first, span, digest) of the record just hashed
        # --catch-up: prepare reads no span of an order already in the map; one whose `items` grew is
        # given a new range by the lines' pass (_grow_lines), past the next free line id (read once)
        self.grows_lines = False
        self._next_line: int | None = None
        self.run_started = datetime.now().astimezone().isoformat()
        files = {}
        self._counts: dict[str, int] = {}
        self._assigned = 0  # id map entries this run's prepare wrote
        for target, (_, header) in TARGETS.items():
            present = [name for name in sources_of(target) if name in raw.files]
            if not present:
                continue
            legacy, legacy_file = present[0], raw.files[present[0]]
            if not self._requirements_present(target):
                continue
            header = [c for c in header if c != "restaurant_id" or target not in RESTAURANT_FROM_PARENT]
            if target in RESTAURANT_FROM_PARENT and "restaurant_id" in self.headers[legacy]:
                header.append("restaurant_id")  # the legacy row's own, compared with its parent's
            if target == "order_items" and "items" in self.headers[legacy]:
                # its records are the orders' lines (the progress bar's total; whether a load is big):
                # as many as the id map's spans add up to once prepared, not the orders' count
                name, rows, counter = legacy_file.name, None, self._line_count
            elif len(present) == 1:
                name, rows = legacy_file.name, legacy_file.rows
                counter = legacy_file._counter or (lambda legacy=legacy: self._count(legacy))
            else:
                name, rows = " + ".join(raw.files[n].name for n in present), None
                counter = lambda present=present: sum(self._count(n) for n in present)  # noqa: E731
            files[target] = SourceFile(
                table=target, name=name, size=0, kind=ROWS, header=header, rows=rows, _counter=counter,
                _reader=(lambda target=target, header=header: self._rows(target, header)),
            )
        self.source = Source(raw.path, files, list(raw.ignored))
        # without the legacy plans no subscription is made: the restaurants' subscription columns are archived
        self.subscriptions_made = "restaurant_subscriptions" in files
        self._describe_columns()

    def _line_count(self) -> int:
        """The orders' lines: their spans in the id map (prepared; an order's lines as many as its
        `items` had when it was mapped), else the orders' records."""
        if not len(self.spans):
            return self._count("orders")
        return self.spans.span_total()

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
            if table == "restaurants" and not self.subscriptions_made:
                where.update({c: f"{TO_ARCHIVE} (no subscription_plans in this export)"
                              for c in SUBSCRIPTION_COLUMNS if c in header})
                if "subscription_plan" in header:
                    where["subscription_plan"] = "restaurants.subscription_tier"
            columns[table] = where
        for table, header in self.headers.items():
            if table in MAPPED:
                continue
            kind = "no target yet" if table in ARCHIVE_ONLY or table in COLUMNS else "a table this importer does not know"
            kind = UNMATCHED.get(table, kind)
            whole = f"{TO_ARCHIVE} (the whole row: {kind})"
            columns[table] = {
                column: (f"{COLUMNS[table][column]}; {whole}" if column in COLUMNS.get(table, {})
                         and COLUMNS[table][column] != TO_ARCHIVE else whole)
                for column in header
            }
        # archived values are texts but a JSON column's: named here, those JSON only by the source's word
        for table, where in columns.items():
            declared = self.json_columns.get(table, frozenset()) - JSON_COLUMNS.get(table, frozenset())
            for column in declared & where.keys():
                where[column] += "; its values as JSON (the source declares it json)"

    def count(self, choice: str, n: int = 1) -> None:
        self.choices[choice] = self.choices.get(choice, 0) + n

    # -- before the load: the id map --

    def prepare(self) -> None:
        """Give every legacy key its id (the first time it is seen) and read the map."""
        importer = self.importer
        from django.db import connections

        params = self._params = connections[importer.using].get_connection_params()
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
                if legacy == "orders" and legacy in self.raw.files and "items" in self.headers["orders"]:
                    # one read of orders.csv: the orders' keys with their lines' span (the items counted)
                    # give the lines' ids, then the same keys (span 1) the orders' ids. A catch-up reads
                    # the maps first and passes on only the keys not in them (only their items parsed);
                    # an order already mapped whose `items` grew is met by the lines' pass (_grow_lines)
                    known = self._read_map(ITEMS_MAP, True) if importer.catch_up else None
                    known_orders = self._read_map(legacy, False) if importer.catch_up else None
                    self._assign(ITEMS_MAP, "order_items", self._keys(legacy, lines="items", known=known),
                                 spans=True, known=known)
                    self._assign(legacy, target, None, known=known_orders)
                    if isinstance(self.spans, KeyMap) and isinstance(self.maps[legacy], KeyMap):
                        self.maps[legacy] = self.spans.keys_of(self.maps[legacy])
                    self.grows_lines = importer.catch_up
                elif legacy == "payments" and legacy in self.raw.files:
                    # a catch-up's: the map read first, only the keys not in it passed on (as the orders')
                    tap, by_order = self._refunded_payments()
                    known = self._read_map(legacy, False) if importer.catch_up else None
                    self._assign(legacy, target, self._keys(legacy, tap=tap, known=known), known=known)
                    self._payments_of = by_order()
                elif legacy in self.raw.files:
                    self._assign(legacy, target, self._keys(legacy))
            if "restaurants" in self.raw.files:
                self._assign(SETTINGS_MAP, "restaurant_settings", self._keys("restaurants", suffixes=SETTING_KEYS))
            if "users" in self.raw.files and "permissions" in self.headers["users"]:
                self._assign(PERMISSIONS_MAP, "user_permissions", self._permission_keys())
            self._prepare_stock()
            self._assign_staff()
        if not importer.dry_run:
            self._analyze_id_map()
        self._slugs()
        self._prepare_staff()

    def _analyze_id_map(self) -> None:
        """The id map's statistics (and its new pages marked visible) as soon as this run's keys are
        in it, not only at the end of the run: the stored maps' lookups (StoredKeyMap) are planned
        from them. Into a database that never had an import, the map had none, and each lookup of
        2,500 keys read every entry of its legacy table through the key's first column (a bitmap scan,
        the keys as a filter: ~350 ms, not ~10): a 2M-order import took 1578s, not ~590s."""
        from fynlo.cutover.legacy.importer import ANALYZE_THRESHOLD

        load.analyze_if_grown(self.conn, ID_MAP, self._assigned, threshold=ANALYZE_THRESHOLD)

    def _keys(self, table: str, suffixes=None, key: str = "id", created: str = "created_at", lines: str | None = None,
              tap=None, known: KeyMap | None = None):
        """(key, created, span) of each row; with `lines` (a JSON list column), the span is the list's length.
        `tap`: called with the fields of each record of the header's width, on the way. `known`: the
        keys in it are left out (their lists not parsed)."""
        header = self.headers[table]
        if key not in header:
            return
        key_at, created_at = header.index(key), (header.index(created) if created in header else None)
        lines_at = header.index(lines) if lines is not None else None
        records = 0
        # a record that starts with a known key (a CSV file's first column) is not even parsed
        skip = (lambda head: head.strip() in known) if known is not None and key_at == 0 and tap is None else None
        for _, fields in read_records(self.raw.files[table], skip=skip):
            records += 1
            if fields is None or len(fields) != len(header):
                continue
            if tap is not None:
                tap(fields)
            if _null(fields[key_at]):
                continue
            created = fields[created_at] if created_at is not None else ""
            found = fields[key_at].strip()
            if known is not None and found in known:
                continue
            if lines_at is not None:
                items = _json(fields[lines_at])
                yield found, created, (len(items) if isinstance(items, list) else 0)
            elif suffixes is None:
                yield found, created, 1
            else:
                for suffix in suffixes:
                    yield f"{found}:{suffix}", created, 1
        # the file read whole: its rows counted (as scan counts them), so _count need not read it again
        self._counts.setdefault(table, records)

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

    def _assign(self, name: str, target: str, keys, *, spans: bool = False, known: KeyMap | None = None) -> None:
        """New keys get ids past the highest of the map and of the table, in created_at order.
        `keys` None: those already in _legacy_keys (the previous call's), one id each (their
        spans left as they are, rather than every row of the temporary table rewritten). `known`: the
        map as read before (the keys given are not in it): the entries of the keys given are added to
        it, rather than the whole map read again. (A key whose span grew: _grow_lines.)"""
        conn = self.conn
        if keys is not None:
            conn.execute("TRUNCATE _legacy_keys")
            with conn.cursor().copy("COPY _legacy_keys (key, created, span) FROM STDIN") as copy:
                for key, created, span in keys:
                    copy.write_row((key, created or None, span))
        run = self.importer.run_id
        self._assigned += conn.execute(
            sql.SQL(
                "INSERT INTO {map} (legacy_table, legacy_key, target_table, new_id, span, run_id)"
                " SELECT %(name)s, key, %(target)s, base.value + sum(span) OVER (ORDER BY created NULLS LAST, key)"
                " - span + 1, span, %(run)s::integer"
                " FROM (SELECT DISTINCT ON (key) key, created, {span} AS span FROM _legacy_keys k"
                "  WHERE NOT EXISTS (SELECT 1 FROM {map} m WHERE m.legacy_table = %(name)s AND m.legacy_key = k.key)"
                "  ORDER BY key, created) fresh,"
                " (SELECT {taken} AS value) base"
            ).format(map=sql.Identifier(ID_MAP), taken=_highest_taken(target),
                     span=sql.SQL("span" if keys is not None else "1")),
            {"name": name, "target": target, "run": run},
        ).rowcount
        if known is None:
            found = self._map(name, spans)
        else:
            found = known
            for key, new_id, span in conn.execute(sql.SQL(
                "SELECT m.legacy_key, m.new_id, m.span FROM {} m WHERE m.legacy_table = %s"
                " AND m.legacy_key IN (SELECT key FROM _legacy_keys)"
            ).format(sql.Identifier(ID_MAP)), [name]):
                found.add(key, new_id, span)
        if spans:
            self.spans = found
        else:
            self.maps[name] = found

    def _map(self, name: str, spans: bool) -> KeyMap | StoredKeyMap:
        """The id map's entries of a legacy table: held (read whole), or, in a full import (not a
        catch-up, which holds its maps; not a dry run, whose map is rolled back), left in the
        database when it has more than StoredKeyMap.ABOVE keys and LOOKED_UP reads its keys ahead
        (the orders, their lines' spans, the payments), so the import's memory does not grow with
        them. (The other maps are looked up from everywhere, and some are read whole: held.)"""
        importer = self.importer
        count = total = 0
        if not (importer.catch_up or importer.dry_run) and name in STORABLE:
            count, total = self.conn.execute(sql.SQL(
                "SELECT count(*), coalesce(sum(span), 0) FROM {} WHERE legacy_table = %s").format(
                    sql.Identifier(ID_MAP)), [name]).fetchone()
        if count <= StoredKeyMap.ABOVE:
            found = self._read_map(name, spans)
            self.report.id_maps[name] = {"keys": len(found), "kept": "in memory"}
            return found
        statement = sql.SQL(
            "SELECT legacy_key, new_id, span FROM {} WHERE legacy_table = %s AND legacy_key = ANY({})"
        ).format(sql.Identifier(ID_MAP), sql.SQL("string_to_array(%s, E'\\n')"))
        as_array = sql.SQL(
            "SELECT legacy_key, new_id, span FROM {} WHERE legacy_table = %s AND legacy_key = ANY(%s::text[])"
        ).format(sql.Identifier(ID_MAP))

        def fetch(keys: list[str], conn=None) -> list:
            # the keys as one text, split by the server: the client binds one value, not thousands
            joined = "\n".join(keys)
            if joined.count("\n") == len(keys) - 1:
                return (conn or self.conn).execute(statement, [name, joined]).fetchall()
            return (conn or self.conn).execute(as_array, [name, keys]).fetchall()  # (a key with a line break)

        found = StoredKeyMap(fetch, count, total, spans=spans)
        self.report.id_maps[name] = {"keys": count, "kept": "in the database", "stored": found}
        return found

    def _looked_ahead(self, records, legacy: str, target: str, header: list[str]):
        """`records` as they are, but every LOOK_AHEAD of them first gives the stored id maps the keys
        they refer to (LOOKED_UP), in one query a map. The next look-ahead's entries are read while
        this one's records are translated (a thread of its own, on a connection of its own)."""
        wanted = []
        for name, column in LOOKED_UP.get((legacy, target), ()):
            keys = self.spans if name == ITEMS_MAP else self.maps.get(name)
            if isinstance(keys, StoredKeyMap) and column in header:
                wanted.append((keys, header.index(column)))
        if not wanted:
            return records
        return self._in_look_aheads(records, wanted, len(header))

    def _in_look_aheads(self, records, wanted, width: int):
        if self._lookups is None:
            self._lookups = (ThreadPoolExecutor(1, thread_name_prefix="migrate_legacy id map"),
                             load.connect(self._params, timezone=self.importer.timezone))
        pool, conn = self._lookups

        def read(chunk) -> list[dict]:
            return [keys.read([fields[at].strip() for _, fields in chunk if fields.__class__ is not SkippedRun
                               and len(fields) == width and not _null(fields[at])], conn) for keys, at in wanted]

        records = iter(records)
        chunk = list(itertools.islice(records, LOOK_AHEAD))
        pending = pool.submit(read, chunk) if chunk else None
        while chunk:
            following = list(itertools.islice(records, LOOK_AHEAD))
            windows = pending.result()
            pending = pool.submit(read, following) if following else None
            for (keys, _), window in zip(wanted, windows):
                keys.use(window)
            yield from chunk
            chunk = following

    def _read_map(self, name: str, spans: bool) -> KeyMap:
        """The id map's entries of a legacy table, sealed, in blocks of up to 64k ids: each block's
        keys as one text and their ids and spans as big-endian integers (KeyMap.extend), rather
        than a key at a time through Python; a block with a key not in the lower-case UUID form
        (composite keys) is read again row by row. (Blocks, so a million keys never sit in the
        client's memory twice over; both aggregates in the same order, so they stay aligned.)"""
        found = KeyMap(spans=spans)
        with self.conn.cursor(name="legacy_id_map_read") as blocks:
            blocks.itersize = 1
            blocks.execute(sql.SQL(
                "SELECT new_id >> 16, string_agg(legacy_key, '' ORDER BY new_id, legacy_key),"
                " string_agg(int8send(new_id) || int8send(span), '' ORDER BY new_id, legacy_key)"
                " FROM {} WHERE legacy_table = %s GROUP BY 1"
            ).format(sql.Identifier(ID_MAP)), [name])
            for block, keys, numbers in blocks:
                if found.extend(keys, numbers):
                    continue
                for key, new_id, span in self.conn.execute(sql.SQL(
                    "SELECT legacy_key, new_id, span FROM {} WHERE legacy_table = %s AND new_id >> 16 = %s"
                ).format(sql.Identifier(ID_MAP)), [name, block]):
                    found.add(key, new_id, span)
        found.seal()
        return found

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
        if target == "suppliers":
            self._made_suppliers = set()
        first, *others = sources_of(target)
        for legacy in (first, *others):
            if legacy in self.raw.files:
                make = getattr(self, f"_{target}" if legacy == first else f"_{target}_from_{legacy}")
                yield from self._legacy_rows(target, legacy, make, header)
        self._flush_archive()

    def _legacy_rows(self, target: str, legacy: str, make, header: list[str]):
        """The rows `make` turns the rows of one legacy table into, with their places."""
        file = self.raw.files[legacy]
        legacy_header = self.headers[legacy]
        place = file.place
        whole = target == legacy  # the target that archives the legacy table's rows
        unsure = self.unsure_keys.setdefault(legacy, set()) if self.importer.catch_up else None
        raw_of = self.raw_hasher(target, legacy, header) if target in self.raw_checks else None
        kept = self.raw_kept.setdefault(legacy, set()) if raw_of is not None and whole else None
        id_at = legacy_header.index("id") if "id" in legacy_header else None
        raw = None
        records, stash = read_records(file), None
        grow = self._grow_lines(legacy_header) if target == "order_items" and self.grows_lines else None
        if raw_of is not None and target == "orders" and raw_of.stashes:
            stash = self.orders_stash = OrdersStash(file)
        elif target == "order_items" and raw_of is not None and self.orders_stash is not None:
            stash, self.orders_stash = self.orders_stash, None
            if stash.complete and stash.file is file and raw_of.from_digest is not None:
                records = self._stashed_lines(stash, raw_of.from_digest)
            stash = None
        records = self._looked_ahead(records, legacy, target, legacy_header)
        for line, fields in records:
            where = place(line)
            if fields.__class__ is SkippedRun:  # (decided from the orders' pass: the record not read)
                yield where, fields
                continue
            if len(fields) != len(legacy_header):
                whole = False
                if stash is not None:
                    stash.add(line, None, fields)
                yield where, Rejected([""] * len(header), RowError(
                    None, f"the row has {len(fields)} fields, the header {len(legacy_header)}"))
                continue
            if grow is not None:
                grow(fields)
            if raw_of is not None:
                raw, skipped = raw_of(fields)
                if stash is not None:
                    stash.add(line, self._hashed_order, None if skipped else fields)
                if skipped:  # (no dict made of a record skipped: most of them, in a catch-up)
                    if kept is not None:
                        kept.add(fields[id_at].strip() if id_at is not None else "")
                    for rows in skipped:
                        yield where, rows
                    continue
            row = dict(zip(legacy_header, fields))
            out = dict.fromkeys(header, "")
            try:
                produced = make(row, out, where)
            except RowError as error:
                if unsure is not None:
                    unsure.add((row.get("id") or row.get("sku") or "").strip())
                yield where, Rejected([_text(out.get(c)) for c in header], error)
                continue
            if produced is None:
                made = RawRow(_text(out[c]) for c in header)
                made.raw = raw
                yield where, made
            else:
                for sub_place, sub, *partial in produced:
                    if isinstance(sub, RowError):
                        known = partial[0] if partial else {}
                        yield sub_place, Rejected([_text(known.get(c)) for c in header], sub)
                    else:
                        made = RawRow(_text(sub.get(c)) for c in header)
                        made.raw = raw
                        yield sub_place, made
        if whole:
            self.read_whole.add(legacy)
        if stash is not None:
            stash.complete = True

    def _grow_lines(self, header: list[str]):
        """--catch-up, the lines' pass: the function of a legacy order's fields that gives the order a
        new range of line ids, before its lines are hashed or made, when its `items` has more elements
        than its span (prepare read no span of an order already mapped; an order unchanged since is
        skipped before this). Its map entry as it was is kept for --undo; the new range starts at the
        next free line id (read at the first such order, then counted on)."""
        if "id" not in header or "items" not in header:
            return None
        id_at, items_at = header.index("id"), header.index("items")
        statement = sql.SQL(
            "WITH gone AS (DELETE FROM {map} m WHERE m.legacy_table = %(name)s AND m.legacy_key = %(key)s"
            " RETURNING m.*), logged AS ({keep}) SELECT count(*) FROM gone"
        ).format(map=sql.Identifier(ID_MAP), keep=_keep_prior(ID_MAP, "deleted", sql.Identifier("gone")))
        insert = sql.SQL(
            "INSERT INTO {} (legacy_table, legacy_key, target_table, new_id, span, run_id)"
            " VALUES (%(name)s, %(key)s, 'order_items', %(first)s, %(span)s, %(run)s::integer)"
        ).format(sql.Identifier(ID_MAP))

        def grow(fields) -> None:
            key = fields[id_at].strip()
            first, span = self.spans.get_span(key)
            if not first:
                return
            items = _json(fields[items_at])
            if not isinstance(items, list) or len(items) <= span:
                return
            conn, values = self.conn, {"name": ITEMS_MAP, "key": key, "span": len(items), "run": self.importer.run_id}
            with conn.transaction(force_rollback=self.importer.dry_run):
                if self._next_line is None:
                    self._next_line = conn.execute(
                        sql.SQL("SELECT {} + 1").format(_highest_taken("order_items"))).fetchone()[0]
                values["first"] = self._next_line
                conn.execute(statement, values)
                conn.execute(insert, values)
            self._next_line += len(items)
            self.spans.add(key, values["first"], len(items))
            self.count("orders.items: orders with more lines than when first imported, given new line ids")

        return grow

    def _stashed_lines(self, stash: OrdersStash, from_digest):
        """The legacy orders' records for their lines' pass, from the orders' pass: (line, a SkippedRun)
        for each whose lines are all unchanged since (decided as `of_lines` decides, from the digest
        of its fields), (line, fields) for the others, read again from the file only when the orders'
        pass did not keep them. A record whose lines' first id was met before this run's (the same
        key twice) is never skipped."""
        count = len(stash.lines)
        decided: list = [None] * count
        firsts, spans, idents, digests, kept = stash.firsts, stash.spans, stash.idents, stash.digests, stash.fields
        met = IdSet()
        wanted = set()
        for index in range(count):
            first = firsts[index]
            if index in kept:
                met.add(first)
                continue
            run = from_digest(idents[index], first, spans[index], digests[20 * index:20 * index + 20])[1]
            if run is not None and met.add(first):
                decided[index] = run
            else:
                met.add(first)
                wanted.add(index)
        if wanted:  # (rare: lines changed in ours, or a key twice) those records read again
            for index, (_, fields) in enumerate(read_records(stash.file)):
                if index in wanted:
                    kept[index] = fields
        for index, line in enumerate(stash.lines):
            run = decided[index]
            yield line, run if run is not None else kept[index]

    def raw_hasher(self, target: str, legacy: str, header: list[str]):
        """--catch-up: the function of a legacy record's fields of `target` (RAW_TARGETS): (its raw hash,
        and the Skipped rows it made when it is unchanged since, else None). The raw hash is 64 bits of the sha1
        of the salt (RAW_VERSION, the target, the legacy header, our columns, the row function's source,
        the run's options, and for the orders and their lines every product's id and tenant this run),
        the record's fields (a quoted empty one told from NULL) and what else its translation reads: the
        ids the id map gives its keys, their parents' tenants in this run's state (0: absent or rejected),
        the order's line span, the customer's name, the restaurant's commission rate. A record is skipped
        when every row it makes has that raw hash recorded, ours untouched since, and its id not met yet
        this run; the orders' and payments' amounts are counted from the record (plain, else translated)."""
        importer, maps = self.importer, self.maps
        states = importer.states
        raws, changed, seen, plan_source = self.raw_checks[target]
        legacy_header = self.headers[legacy]
        material = [RAW_VERSION, target, legacy, legacy_header, header, plan_source, importer.timezone,
                    importer.employee_role, importer.default_platform]
        if target in ("orders", "order_items"):
            products, product_ids = states["products"].values, maps.get("products", {})
            material.append(sorted((key, product_ids.get(key), products.get(product_ids.get(key)))
                                   for key in product_ids))
        salt = hashlib.md5(json.dumps(material, default=str).encode()).digest()
        orders, order_values = maps.get("orders", {}), states["orders"].values
        restaurants, restaurant_values = maps.get("restaurants", {}), states["restaurants"].values
        users, user_values = maps.get("users", {}), states["users"].values
        payments = maps.get("payments", {})
        rates = getattr(self, "restaurant_rates", {})
        customers = self.customers
        at = {name: index for index, name in enumerate(legacy_header)}
        id_at, restaurant_at, created_by_at, customer_at, total_at, items_at, order_at, amount_at = (
            at.get(name) for name in ("id", "restaurant_id", "created_by", "customer_id", "total_amount", "items",
                                      "order_id", "amount"))

        def value(fields, index):  # (a column the legacy table lacks: None)
            return None if index is None else fields[index]

        sha1 = hashlib.sha1

        def digest_of(fields) -> bytes:  # (a quoted empty field told from NULL)
            body = "\x00".join(fields).encode()
            if "" in fields:
                body = b"\x01" + bytes([f.__class__ is QuotedEmpty for f in fields]) + b"\x00" + body
            return sha1(body).digest()

        def hashed(context: str, digest: bytes) -> int:
            return int.from_bytes(sha1(salt + context.encode() + b"\x00" + digest).digest()[:8], "big", signed=True) or 1

        def unchanged(ident, raw) -> bool:
            return raws is not None and bool(ident) and raws.get(ident) == raw and ident not in changed and (
                ident not in seen)

        def key_of(keys: KeyMap, value) -> int:
            return 0 if _null(value) else (keys.get(value.strip()) or 0)

        def few(keys: KeyMap):
            """key_of for a column of few distinct values (a restaurant, a user): each value's id kept
            after its first lookup (a million records, a few hundred values), up to FEW_KEYS of them."""
            known: dict = {}

            def of(value) -> int:
                found = known.get(value)
                if found is None:
                    found = key_of(keys, value)
                    if len(known) < FEW_KEYS:
                        known[value] = found
                return found
            return of

        restaurant_of, user_of = few(restaurants), few(users)

        def plain(amount) -> bool:
            return amount is None or amount == "" or PLAIN_MONEY.fullmatch(amount) is not None

        stashes = target == "orders" and raws is not None and items_at is not None and bool(self.spans)

        def of_order(fields):
            ident = key_of(orders, value(fields, id_at))
            restaurant = restaurant_of(value(fields, restaurant_at))
            user = user_of(value(fields, created_by_at))
            customer = value(fields, customer_at)
            name = customers.get(customer.strip()) if not _null(customer) else None
            digest = digest_of(fields)
            raw = hashed(f"{ident}|{restaurant}|{restaurant_values.get(restaurant)}|{user}|{user_values.get(user)}|"
                         f"{name}", digest)
            if stashes:  # (for the lines' pass: OrdersStash)
                self._hashed_order = (ident, *self.spans.get_span((value(fields, id_at) or "").strip()), digest)
            amount = value(fields, total_at)
            if unchanged(ident, raw) and plain(amount):
                return raw, [Skipped(ident, restaurant or None, amount)]
            return raw, None

        def lines_from_digest(ident: int, first: int, span: int, digest: bytes):
            """(the raw hash of an order's record for its lines, and a SkippedRun of them when every
            one is unchanged since, else None)."""
            order = order_values.get(ident) if ident else 0
            raw = hashed(f"{ident}|{order}|{first}|{span}", digest)
            if raws is None or not ident or not first or raws.get(first) != raw:
                return raw, None
            if span and raws.holds_run(first, span, raw) and changed.none_in(first, span) and (
                seen.none_in(first, span)
            ):
                # every line of the span written (or found unchanged) from this very record and
                # context: it still makes them all (a longer list would have grown the span), and
                # its items need no parsing; counted as one run
                return raw, SkippedRun(first, span, order or None)
            return raw, None

        def of_lines(fields):
            key = (value(fields, id_at) or "").strip()
            ident = key_of(orders, key)
            first, span = self.spans.get_span(key)
            raw, run = lines_from_digest(ident, first, span, digest_of(fields))
            if run is not None:
                return raw, [run]
            if raws is None or not ident or not first or raws.get(first) != raw:
                return raw, None
            items = _json(value(fields, items_at))
            if not isinstance(items, list) or not 0 < len(items) <= span:
                return raw, None
            if all(unchanged(line, raw) for line in range(first, first + len(items))):
                return raw, [SkippedRun(first, len(items), order_values.get(ident) or None)]
            return raw, None

        def of_payment(fields):
            ident = key_of(payments, value(fields, id_at))
            order = key_of(orders, value(fields, order_at))
            restaurant = order_values.get(order) if order else 0
            context = f"{ident}|{order}|{restaurant}|{rates.get(restaurant)}"
            if restaurant_at is not None:
                own = restaurant_of(fields[restaurant_at])
                context += f"|{own}|{restaurant_values.get(own)}"
            raw = hashed(context, digest_of(fields))
            amount = value(fields, amount_at)
            if unchanged(ident, raw) and plain(amount):
                return raw, [Skipped(ident, restaurant or None, amount)]
            return raw, None

        function = {"orders": of_order, "order_items": of_lines, "payments": of_payment}[target]
        function.stashes = stashes
        function.from_digest = None
        if target == "order_items" and raws is not None:
            function.from_digest = lines_from_digest
        return function

    def _updated(self, row) -> str:
        """`updated_at` is NULL until a row's first change: then it is its created_at."""
        value = row.get("updated_at")
        return row.get("created_at") or "" if _null(value) else value

    def _archive_extra(self, table: str, row: dict, restaurant=None, key: str = "id") -> None:
        """The columns of a mapped row that no column of ours holds."""
        kept = _KEPT.get(table, ())
        extra = self.archived(table, ((c, v) for c, v in row.items() if c not in kept))
        if extra:
            self.archive(table, row.get(key) or "", restaurant, extra)

    def archived(self, table: str, values, *, nulls: bool = False) -> dict:
        """(column, value) of a legacy table as the archive keeps them: a JSON column's value as its JSON
        (JsonText), any other's as the very text the source printed (no type guessed from it: "123",
        "true", "null" stay texts); NULL as null with `nulls`, else left out. A JSON column's value that
        jsonb would refuse (a CSV file's NaN) is kept as text, and counted."""
        json_of = self.json_columns.get(table, ())
        out = {}
        for column, value in values:
            if _null(value):
                if nulls:
                    out[column] = None
            elif column in json_of:
                if json_refusal(value) is None:
                    out[column] = JsonText(value)
                else:
                    self.count(f"legacy_archive: {table}.{column}: a value that is no JSON kept as text")
                    out[column] = value
            else:
                out[column] = value
        return out

    def archive(self, table: str, key: str, restaurant, data: dict) -> None:
        self.report.archived[table] = self.report.archived.get(table, 0) + 1
        if self.importer.catch_up:
            self.archived_keys.add((table, key.strip()))
        if self.importer.dry_run:
            return
        self.archive_rows.append((table, key.strip(), restaurant or None, _archive_json(data)))
        if len(self.archive_rows) >= ARCHIVE_BATCH:
            self._flush_archive()

    def _flush_archive(self) -> None:
        if not self.archive_rows or self.conn is None:
            return
        rows, self.archive_rows = self.archive_rows, []
        run = self.importer.run_id
        with self.conn.transaction():
            self.conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS _legacy_archive (legacy_table text, legacy_key text,"
                " restaurant_id integer, row jsonb)"
            )
            self.conn.execute("TRUNCATE _legacy_archive")
            with self.conn.cursor().copy("COPY _legacy_archive FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            # the archive rows this batch changes, as they were (not the run's own earlier version)
            self.conn.execute(_keep_prior(ARCHIVE, "updated", sql.SQL(
                "(SELECT a.* FROM {archive} a JOIN _legacy_archive s ON s.legacy_table = a.legacy_table"
                " AND s.legacy_key = a.legacy_key WHERE a.row IS DISTINCT FROM s.row)").format(
                    archive=sql.Identifier(ARCHIVE))), {"run": run})
            self.conn.execute(
                sql.SQL(
                    "INSERT INTO {} (legacy_table, legacy_key, restaurant_id, row, run_started_at, run_id)"
                    " SELECT DISTINCT ON (legacy_table, legacy_key) legacy_table, legacy_key, restaurant_id, row,"
                    " %s, %s"
                    " FROM _legacy_archive ORDER BY legacy_table, legacy_key"
                    " ON CONFLICT (legacy_table, legacy_key) DO UPDATE SET row = EXCLUDED.row,"
                    " restaurant_id = EXCLUDED.restaurant_id, run_started_at = EXCLUDED.run_started_at,"
                    " run_id = EXCLUDED.run_id WHERE {}.row IS DISTINCT FROM EXCLUDED.row"
                ).format(sql.Identifier(ARCHIVE), sql.Identifier(ARCHIVE)),
                [self.run_started, run],
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
        extra = self.archived("restaurants", (
            (c, v) for c, v in row.items() if COLUMNS["restaurants"].get(c, TO_ARCHIVE) == TO_ARCHIVE
            or (c in SUBSCRIPTION_COLUMNS and not self.subscriptions_made)))
        if isinstance(settings, dict):
            rest = {k: v for k, v in settings.items() if k != "logo_url"}
            if rest:
                extra["settings"] = rest
        else:  # no object, so no logo_url: the whole value is the archive's
            extra.update(self.archived("restaurants", [("settings", row.get("settings"))]))
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
        restaurant = row.get("restaurant_id")
        if _null(restaurant):
            restaurant = self.user_restaurant.get(key) or row.get("current_restaurant_id")
        if not isinstance(flags, dict):
            if not _null(row.get("permissions")):  # no flags to grant: the value is the archive's
                self.count("users: permissions that are no JSON object kept in the archive")
                self.archive("users.permissions", key, self._restaurant(restaurant),
                             self.archived("users", [("permissions", row.get("permissions"))]))
            return []
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
            line = self._line(item, index, written=False)
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

    def _line(self, item, index: int, *, written: bool = True) -> dict:
        """One element of `orders.items` as our columns; RowError (with its index) when bad.
        Not `written` (the order's own check of its lines): without the modifiers' JSON."""
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
        line = {"product_id": product_id, "quantity": str(quantity), **prices,
                "special_instructions": item.get("special_instructions")}
        if written:
            line["modifiers"] = json.dumps([_modifier(m) for m in item.get("modifiers") or [] if isinstance(m, dict)])
        return line

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
        order = self._id("orders", row.get("order_id"), "order_id")
        commission_rate, commission_amount = self._commission(order, row.get("amount"))
        out.update(
            id=self._id("payments", key, "id"), order_id=order, payment_method=mapped or None, amount=row.get("amount"),
            commission_rate=commission_rate, commission_amount=commission_amount, transaction_id=row.get("external_id"),
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
        candidates = self._payments_of.get(order_key, [])
        if not candidates:
            return ""
        completed = [c for c in candidates if c[0]]
        if len(completed) == 1:
            return str(completed[0][2])
        self.count("refunds: payment chosen as the order's largest")
        return str(max(candidates, key=lambda c: c[1])[2])

    def _refunded_payments(self):
        """(a tap for the payments' records, read for their keys; then the payments of refunded orders
        by order key, (completed, amount, id), once the payments' ids are read). Read with the keys,
        before the refunds (a live source reads one table at a time), and not in a pass of its own."""
        wanted, taken = set(), []
        file = self.raw.files.get("refunds")
        header = self.headers.get("refunds", [])
        if file is not None and "order_id" in header:
            at = header.index("order_id")
            wanted = {fields[at].strip() for _, fields in read_records(file) if len(fields) == len(header)}
        header = self.headers.get("payments", [])
        if not wanted or not {"order_id", "id"} <= set(header):
            return None, dict
        order_at, id_at = header.index("order_id"), header.index("id")

        def tap(fields) -> None:
            # (most payments are of orders never refunded: passed over before any other work)
            if fields[order_at].strip() in wanted:
                row = dict(zip(header, fields))
                try:
                    amount = Decimal(row.get("amount") or "0")
                except InvalidOperation:
                    amount = Decimal(0)
                completed = (row.get("status") or "").strip().lower() == "completed"
                taken.append((fields[order_at].strip(), completed, amount, fields[id_at].strip()))

        def by_order() -> dict:
            found: dict[str, list] = {}
            ids = self.maps.get("payments", {})
            if isinstance(ids, StoredKeyMap):
                ids.take([key for _, _, _, key in taken])
            for order, completed, amount, key in taken:
                ident = ids.get(key)
                if ident is not None:
                    found.setdefault(order, []).append((completed, amount, ident))
            return found

        return tap, by_order

    # -- stock: suppliers, inventory, the ledger and stock movements, purchase orders --

    def _prepare_stock(self) -> None:
        """Ids of the stock tables' keys, and of the suppliers that `inventory.supplier` names
        and no supplier row of the restaurant is called (made once per restaurant and name)."""
        for legacy, target, key, created in STOCK_KEYS:
            if legacy in self.raw.files:
                self._assign(legacy, target, self._keys(legacy, key=key, created=created))
        self.supplier_names: dict[tuple[str, str], str] = {}
        for _, row in self._rows_by_id("suppliers"):
            restaurant, name = (row.get("restaurant_id") or "").strip(), row.get("name")
            if restaurant and not _null(name):
                self.supplier_names.setdefault((restaurant, _folded(name)), (row.get("id") or "").strip())
        self.sku_restaurants: dict[str, str] = {}
        made: dict[str, str] = {}
        file, header = self.raw.files.get("inventory"), self.headers.get("inventory", [])
        if file is not None and "sku" in header:
            restaurants = self.maps.get("restaurants", {})
            for _, fields in read_records(file):
                if len(fields) != len(header):
                    continue
                row = dict(zip(header, fields))
                self.sku_restaurants[(row.get("sku") or "").strip()] = (row.get("restaurant_id") or "").strip()
                found = self._supplier_of(row)
                if found and found[0] == MADE_SUPPLIERS_MAP and row["restaurant_id"].strip() in restaurants:
                    created, earlier = row.get("last_updated") or "", made.get(found[1])
                    if earlier is None or (created and (not earlier or created < earlier)):
                        made[found[1]] = created
        self.made_created = made
        if made:
            self._assign(MADE_SUPPLIERS_MAP, "suppliers", ((key, created, 1) for key, created in made.items()))

    def _supplier_of(self, row) -> tuple[str, str] | None:
        """(map, key) of the supplier an inventory row names: the restaurant's supplier row of
        that name, else the one made from the name; None when it names none."""
        name, restaurant = row.get("supplier"), (row.get("restaurant_id") or "").strip()
        if _null(name) or not name.strip() or not restaurant:
            return None
        folded = _folded(name)
        legacy = self.supplier_names.get((restaurant, folded))
        if legacy is not None:
            return "suppliers", legacy
        return MADE_SUPPLIERS_MAP, f"{restaurant}:{folded}"

    def _suppliers(self, row, out, where):
        key = (row.get("id") or "").strip()
        out.update(
            id=self._id("suppliers", key, "id"), restaurant_id=self._id("restaurants", row.get("restaurant_id"), "restaurant_id"),
            name=row.get("name"), contact_person=row.get("contact_name"), email=row.get("email"), phone=row.get("phone"),
            address=_flat_address(row.get("address")), payment_terms=row.get("payment_terms"),
            is_active=row.get("is_active") if not _null(row.get("is_active")) else "t", created_at=row.get("created_at"),
            updated_at=self._updated(row),
        )
        self._archive_extra("suppliers", row, self._restaurant(row.get("restaurant_id")))

    def _suppliers_from_inventory(self, row, out, where):
        """A supplier made from the first inventory row of a restaurant that names it."""
        found = self._supplier_of(row)
        if found is None or found[0] != MADE_SUPPLIERS_MAP or found[1] in self._made_suppliers:
            return []
        if found[1] not in self.maps.get(MADE_SUPPLIERS_MAP, {}):
            return []  # a restaurant in no export: the inventory row is rejected
        self._made_suppliers.add(found[1])
        self.count("suppliers: made from an inventory.supplier name (no supplier row of that name)")
        return [(f"{where} supplier", {
            "id": self._id(MADE_SUPPLIERS_MAP, found[1], "id"),
            "restaurant_id": self._id("restaurants", row.get("restaurant_id"), "restaurant_id"),
            "name": " ".join(row["supplier"].split()), "is_active": "t",
            "created_at": self.made_created.get(found[1]) or None, "updated_at": self.made_created.get(found[1]) or None,
        })]

    def _inventory_items(self, row, out, where):
        sku = (row.get("sku") or "").strip()
        par = row.get("par_level_g")
        out.update(id=self._id("inventory", sku, "id"))
        out.update(
            restaurant_id=self._id("restaurants", row.get("restaurant_id"), "restaurant_id"), product_id=None,
            name=row.get("name"), current_stock=row.get("qty_g"), minimum_stock=par, reorder_point=par,
            unit_cost=row.get("cost_per_unit"), unit_measure=row.get("unit"), created_at=row.get("last_updated"),
            updated_at=row.get("last_updated"),
        )
        found = self._supplier_of(row)
        out["supplier_id"] = self._id(found[0], found[1], "supplier_id") if found else None
        self._archive_extra("inventory", row, self._restaurant(row.get("restaurant_id")), key="sku")

    def _movement_restaurant(self, row, sku_column: str) -> str:
        """The legacy row's restaurant, else its inventory item's (compared by the importer)."""
        own = row.get("restaurant_id")
        return own if not _null(own) else self.sku_restaurants.get((row.get(sku_column) or "").strip(), "")

    def _reference(self, table: str, key) -> str:
        """The new id of a referenced row (an order, a purchase order), else empty: the legacy
        reference is in the archive either way."""
        if _null(key):
            return ""
        found = self.maps.get(table, {}).get(key.strip())
        return "" if found is None else str(found)

    def _stock_movements(self, row, out, where):
        key = (row.get("id") or "").strip()
        name = (row.get("movement_type") or "").strip()
        movement = MOVEMENT_TYPES.get(name.upper(), "adjustment")
        notes = []
        if movement == "adjustment" and name.upper() != "ADJUSTMENT":
            notes.append(f"legacy movement_type {name}")
            known = "" if name.upper() in LEGACY_MOVEMENT_TYPES else " (no legacy type of that name)"
            self.count(f"stock_movements: movement_type {name}{known} -> adjustment (the type in notes)")
        notes += [row[c] for c in ("reason", "notes") if not _null(row.get(c))]
        reference_type, reference_id = None, self._reference("orders", row.get("order_id"))
        if reference_id:
            reference_type = "order"
        elif (row.get("reference_type") or "").strip().lower() == "purchase_order":
            reference_id = self._reference("purchase_orders", row.get("reference_id"))
            reference_type = "restock" if reference_id else None
        out.update(id=self._id("stock_movements", key, "id"))
        out.update(
            restaurant_id=self._id("restaurants", self._movement_restaurant(row, "inventory_sku"), "restaurant_id"),
            inventory_item_id=self._id("inventory", row.get("inventory_sku"), "inventory_item_id"),
            movement_type=movement, quantity=row.get("quantity"), unit_cost=row.get("unit_cost"),
            total_cost=row.get("total_cost"), reference_id=reference_id, reference_type=reference_type,
            notes="; ".join(notes) or None, created_by=self._id("users", row.get("performed_by"), "created_by"),
            created_at=row.get("movement_date") if not _null(row.get("movement_date")) else row.get("created_at"),
        )
        self._archive_extra("stock_movements", row, self._restaurant(self._movement_restaurant(row, "inventory_sku")))

    def _stock_movements_from_inventory_ledger(self, row, out, where):
        key = (row.get("id") or "").strip()
        source = (row.get("source") or "").strip()
        movement = LEDGER_SOURCES.get(source.lower())
        notes = None
        if movement is None:
            movement, notes = "adjustment", f"legacy source {source or '(none)'}"
            self.count(f"inventory_ledger: source {source or '(none)'} -> adjustment (the source in notes)")
        reference_id = self._reference("orders", row.get("source_id")) if source.lower() == "order_fulfillment" else ""
        out.update(id=self._id("inventory_ledger", key, "id"))
        out.update(
            restaurant_id=self._id("restaurants", self._movement_restaurant(row, "sku"), "restaurant_id"),
            inventory_item_id=self._id("inventory", row.get("sku"), "inventory_item_id"), movement_type=movement,
            quantity=row.get("delta_g"), reference_id=reference_id, reference_type="order" if reference_id else None,
            notes=notes, created_at=row.get("ts"),
        )
        self._archive_extra("inventory_ledger", row, self._restaurant(self._movement_restaurant(row, "sku")))

    def _restock_orders(self, row, out, where):
        key = (row.get("id") or "").strip()
        status = (row.get("status") or "").strip().lower()
        if status in RESTOCK_STATUS:
            self.count(f"purchase_orders: status {status} -> {RESTOCK_STATUS[status]}")
        out.update(id=self._id("purchase_orders", key, "id"))
        out.update(
            restaurant_id=self._id("restaurants", row.get("restaurant_id"), "restaurant_id"),
            supplier_id=self._id("suppliers", row.get("supplier_id"), "supplier_id"),
            order_number=row.get("order_number"), order_date=row.get("order_date"),
            expected_delivery=row.get("expected_delivery"), actual_delivery=row.get("actual_delivery"),
            status=RESTOCK_STATUS.get(status, status) or None, total_amount=row.get("total_amount"),
            notes=row.get("delivery_notes"), created_by=self._id("users", row.get("created_by"), "created_by"),
            created_at=row.get("created_at"), updated_at=self._updated(row),
        )
        self._archive_extra("purchase_orders", row, self._restaurant(row.get("restaurant_id")))

    def _restock_order_items(self, row, out, where):
        key = (row.get("id") or "").strip()
        out.update(id=self._id("purchase_order_items", key, "id"))
        out.update(
            restock_order_id=self._id("purchase_orders", row.get("purchase_order_id"), "restock_order_id"),
            inventory_item_id=self._id("inventory", row.get("inventory_sku"), "inventory_item_id"),
            quantity_ordered=row.get("quantity_ordered"), quantity_received=row.get("quantity_received"),
            unit_cost=row.get("unit_price"), total_cost=row.get("total_price"),
        )
        if "restaurant_id" in out:
            out["restaurant_id"] = self._id("restaurants", row.get("restaurant_id"), "restaurant_id")
        order = out["restock_order_id"]
        restaurant = self.importer.states["restock_orders"].values.get(int(order)) if order else None
        self._archive_extra("purchase_order_items", row, restaurant or None)

    # -- staff and billing --

    def _requirements_present(self, target: str) -> bool:
        """The legacy tables and columns a target needs besides its own table are in the export."""
        return all(table in self.raw.files and (column is None or column in self.headers[table])
                   for table, column in REQUIRES.get(target, ()))

    def _assign_staff(self) -> None:
        files = self.raw.files
        for legacy, target in (("employee_profiles", "employees"), ("schedules", "shifts"),
                               ("shifts", "time_tracking"), ("daily_reports", "daily_reports")):
            if legacy in files:
                self._assign(legacy, target, self._keys(legacy))
        if "schedules" in files:
            self._assign(WEEKS_MAP, "schedules", self._week_keys())
        if "performance_metrics" in files:
            self._assign("performance_metrics", "performance_metrics", self._metric_keys())
        if "subscription_plans" in files and "platforms" in files:
            self._assign(PLANS_MAP, "subscription_plans", self._plan_keys())
            if "restaurants" in files:
                self._assign(SUBSCRIPTIONS_MAP, "restaurant_subscriptions", self._keys("restaurants", suffixes=("plan",)))

    def _legacy_dicts(self, table: str):
        """(line, row) of a legacy table, rows of the wrong width left out (the target rejects them)."""
        file = self.raw.files.get(table)
        header = self.headers.get(table, [])
        if file is None:
            return
        for line, fields in read_records(file):
            if len(fields) == len(header):
                yield line, dict(zip(header, fields))

    def _week_key(self, row) -> str | None:
        """A legacy schedule row's week: `<restaurant key>:<its Monday>`."""
        restaurant, day = (row.get("restaurant_id") or "").strip(), (row.get("date") or "").strip()
        try:
            day = date.fromisoformat(day[:10])
        except ValueError:
            return None
        return f"{restaurant}:{(day - timedelta(days=day.weekday())).isoformat()}" if restaurant else None

    def _week_keys(self):
        for _, row in self._legacy_dicts("schedules"):
            week = self._week_key(row)
            if week is not None:
                yield week, row.get("created_at"), 1

    def _metric_keys(self):
        for _, row in self._legacy_dicts("performance_metrics"):
            key = (row.get("id") or "").strip()
            if key:
                for column in METRIC_COLUMNS:
                    if _nonzero(row.get(column)):
                        yield f"{key}:{column}", row.get("created_at"), 1

    def _plan_keys(self):
        plans = [row for _, row in self._legacy_dicts("subscription_plans") if not _null(row.get("id"))]
        for _, platform in self._legacy_dicts("platforms"):
            for plan in plans:
                yield f"{(platform.get('id') or '').strip()}:{plan['id'].strip()}", plan.get("created_at"), 1

    def _prepare_staff(self) -> None:
        """What the staff and billing rows need from other rows: the weeks' totals (hours, and
        their cost at the employees' rates), the legacy plans by name, each restaurant's rate."""
        rates = {(row.get("id") or "").strip(): _decimal(row.get("hourly_rate"))
                 for _, row in self._legacy_dicts("employee_profiles")}
        self.weeks: dict[str, dict] = {}
        self.weeks_made: set[str] = set()
        for _, row in self._legacy_dicts("schedules"):
            week = self._week_key(row)
            if week is None:
                continue
            figures = self.weeks.setdefault(week, {"hours": Decimal(0), "cost": Decimal(0), "published": False,
                                                   "first": row, "updated": ""})
            hours = _scheduled_hours(row)
            rate = rates.get((row.get("employee_id") or "").strip())
            figures["hours"] += hours
            figures["cost"] += hours * rate if rate is not None else 0
            figures["published"] |= (row.get("is_published") or "").strip().lower() in ("t", "true")
            if (row.get("created_at") or "", row.get("id") or "") < (figures["first"].get("created_at") or "",
                                                                      figures["first"].get("id") or ""):
                figures["first"] = row
            figures["updated"] = max(figures["updated"], self._updated(row))
        self.plans_by_name = {(row.get("name") or "").strip().lower(): row
                              for _, row in self._legacy_dicts("subscription_plans")}
        self.restaurant_rates: dict[int, Decimal] = {}
        restaurant_ids = self.maps.get("restaurants", {})
        for _, row in self._legacy_dicts("restaurants"):
            new_id = restaurant_ids.get((row.get("id") or "").strip())
            if new_id is not None:
                self.restaurant_rates[new_id] = self._commission_rate(row)

    def _plan_rate(self, plan: dict) -> Decimal:
        """A legacy plan's transaction_fee_percentage; without one, the guide's rate for a plan of its name."""
        rate = _decimal(plan.get("transaction_fee_percentage"))
        if rate is None:
            name = (plan.get("name") or "").strip().lower()
            return GUIDE_PLANS_BY_NAME.get(name, DEFAULT_PLAN).commission_rate
        return rate

    def _commission_rate(self, restaurant: dict) -> Decimal:
        """A restaurant's rate as billing.selectors.restaurant_for_commission decides it once the rows
        are in: its current subscription's, else its platform's active plan named by its tier (both
        the legacy plan of that name here), else the guide's rate for the tier."""
        tier = restaurant.get("subscription_plan")
        name = DEFAULT_PLAN.name if _null(tier) else tier.strip().lower()
        plan = self.plans_by_name.get(name)
        if plan is not None:
            active = (plan.get("is_active") or "t").strip().lower() not in ("f", "false")
            if active or (self.subscriptions_made and not _null(tier) and _subscription_current(restaurant)):
                return self._plan_rate(plan)
        return GUIDE_PLANS_BY_NAME.get(name, DEFAULT_PLAN).commission_rate

    def _commission(self, order_id: str, amount) -> tuple[str, str]:
        """The payment's commission_rate and commission_amount: the rate of its restaurant's plan
        on the amount, rounded as billing.services.commission_for rounds it."""
        rate = self.restaurant_rates.get(self._order_restaurant(order_id))
        value = _decimal(amount)
        if rate is None or value is None:
            return "", ""
        return str(rate), str(percent_of(value, rate))

    def _subscription_plans(self, row, out, where):
        key = (row.get("id") or "").strip()
        name = (row.get("name") or "").strip()
        guide = GUIDE_PLANS_BY_NAME.get(name.lower(), DEFAULT_PLAN)
        if _decimal(row.get("transaction_fee_percentage")) is None:
            self.count("subscription_plans: no transaction_fee_percentage: the guide's commission rate")
        self.count("subscription_plans: service_fee_rate is the guide's (the legacy plans have none)")
        produced = []
        for platform in self._platforms_by_key:
            place = f"{where} platform {platform}"
            try:
                produced.append((place, {
                    "id": self._id(PLANS_MAP, f"{platform}:{key}", "id"),
                    "platform_id": self._id("platforms", platform, "platform_id"), "name": name or None,
                    "commission_rate": str(self._plan_rate(row)), "service_fee_rate": str(guide.service_fee_rate),
                    "monthly_fee": row.get("price_monthly"), "features": row.get("features"),
                    "is_active": row.get("is_active"), "created_at": row.get("created_at"),
                }))
            except RowError as error:
                produced.append((place, error))
        self._archive_extra("subscription_plans", row)
        return produced

    def _restaurant_subscriptions(self, row, out, where):
        """One subscription per restaurant from its subscription_* columns, on its platform's plan of that name."""
        key = (row.get("id") or "").strip()
        tier = row.get("subscription_plan")
        if _null(tier):
            self.count("restaurant_subscriptions: a restaurant without a subscription_plan has none")
            return []
        platform = row.get("platform_id")
        if _null(platform):
            platform = self._default_platform_key()
            if platform is None:
                raise RowError("platform_id", "platform_id is empty: name the platform with --default-platform")
        plan = self.plans_by_name.get(tier.strip().lower())
        out["restaurant_id"] = self._id("restaurants", key, "restaurant_id")
        if plan is None:
            raise RowError("subscription_plan", f"subscription_plan {tier!r}: no subscription_plans row has this name")
        status = (row.get("subscription_status") or "").strip().lower() or "active"
        if status in SUBSCRIPTION_STATUS:
            self.count(f"restaurant_subscriptions: status {status} -> {SUBSCRIPTION_STATUS[status]}")
        started = row.get("subscription_started_at")
        if _null(started):
            self.count("restaurant_subscriptions: no subscription_started_at: the restaurant's created_at")
            started = row.get("created_at")
        expires = row.get("subscription_expires_at")
        return [(where, {
            "id": self._id(SUBSCRIPTIONS_MAP, f"{key}:plan", "id"), "restaurant_id": out["restaurant_id"],
            "plan_id": self._id(PLANS_MAP, f"{platform.strip()}:{plan['id'].strip()}", "plan_id"),
            "start_date": (started or "")[:10], "end_date": None if _null(expires) else expires[:10],
            "status": SUBSCRIPTION_STATUS.get(status, status), "commission_rate": str(self._plan_rate(plan)),
            "monthly_fee": plan.get("price_monthly"), "created_at": row.get("created_at"),
            "updated_at": self._updated(row),
        })]

    def _employees(self, row, out, where):
        key = (row.get("id") or "").strip()
        restaurant = self._restaurant(row.get("restaurant_id"))
        contact = _json(row.get("emergency_contact"))
        if isinstance(contact, dict):
            rest = {k: v for k, v in contact.items() if k not in ("name", "phone")}
            if rest:
                self.archive("employee_profiles.emergency_contact", key, restaurant, {"emergency_contact": rest})
        else:
            whole = self.archived("employee_profiles", [("emergency_contact", row.get("emergency_contact"))])
            if whole:  # no name or phone to take from it: the whole value is the archive's
                self.count("employees: an emergency_contact that is no JSON object kept in the archive")
                self.archive("employee_profiles.emergency_contact", key, restaurant, whole)
            contact = {}
        kind = (row.get("employment_type") or "").strip().lower()
        if kind in EMPLOYMENT_TYPES:
            self.count(f"employees: employment_type {kind} -> {EMPLOYMENT_TYPES[kind]}")
            self.archive("employee_profiles.employment_type", key, restaurant, {"employment_type": row["employment_type"]})
        out.update(
            id=self._id("employee_profiles", key, "id"), restaurant_id=self._id("restaurants", row.get("restaurant_id"), "restaurant_id"),
            user_id=self._id("users", row.get("user_id"), "user_id"), employee_number=row.get("employee_id"),
            hire_date=row.get("hire_date"), termination_date=row.get("termination_date"),
            hourly_rate=row.get("hourly_rate"), employment_type=EMPLOYMENT_TYPES.get(kind, kind) or None,
            emergency_contact_name=contact.get("name") or None, emergency_contact_phone=contact.get("phone") or None,
            is_active=row.get("is_active"), created_at=row.get("created_at"), updated_at=self._updated(row),
        )
        self._archive_extra("employee_profiles", row, restaurant)

    def _schedules(self, row, out, where):
        """The week's schedule, made at the first legacy schedule row of that restaurant and week."""
        week = self._week_key(row)
        if week is None or week in self.weeks_made:
            return []
        self.weeks_made.add(week)
        figures = self.weeks[week]
        first = figures["first"]
        monday = date.fromisoformat(week.rsplit(":", 1)[1])
        return [(where, {
            "id": self._id(WEEKS_MAP, week, "id"), "restaurant_id": self._id("restaurants", row.get("restaurant_id"), "restaurant_id"),
            "name": f"Week of {monday.isoformat()}", "week_start": monday.isoformat(),
            "week_end": (monday + timedelta(days=6)).isoformat(), "status": "published" if figures["published"] else "draft",
            "total_scheduled_hours": str(quantize(figures["hours"])), "total_labor_cost": str(quantize(figures["cost"])),
            "created_by": self._id("users", first.get("created_by"), "created_by"), "created_at": first.get("created_at"),
            "updated_at": figures["updated"],
        })]

    def _shifts(self, row, out, where):
        """A legacy schedule row: one planned shift, in its week's schedule."""
        key = (row.get("id") or "").strip()
        restaurant = self._restaurant(row.get("restaurant_id"))
        role = (row.get("role") or "").strip().lower()
        position = SHIFT_POSITIONS.get(role, role) or None
        if position is not None and position not in self.importer.specs["shifts"].columns["position"].choices:
            self.count("shifts: a role that is no position of ours: position left empty, the role in the archive")
            self.archive("schedules.role", key, restaurant, {"role": row.get("role")})
            position = None
        elif position != (role or None):
            self.count(f"shifts: role {role} -> position {position}")
        week = self._week_key(row)
        out.update(
            id=self._id("schedules", key, "id"), restaurant_id=self._id("restaurants", row.get("restaurant_id"), "restaurant_id"),
            schedule_id=self._id(WEEKS_MAP, week, "schedule_id") if week else "",
            employee_id=self._id("employee_profiles", row.get("employee_id"), "employee_id"),
            shift_date=row.get("date"), start_time=row.get("start_time"), end_time=row.get("end_time"),
            break_duration=row.get("break_minutes"), position=position,
            status=(row.get("status") or "").strip().lower() or None, notes=row.get("notes"),
            created_at=row.get("created_at"), updated_at=self._updated(row),
        )
        self._archive_extra("schedules", row, restaurant)

    def _time_tracking(self, row, out, where):
        """A legacy shift: the time an employee clocked; its tips only in the archive (no column of ours)."""
        key = (row.get("id") or "").strip()
        restaurant = self._restaurant(row.get("restaurant_id"))
        status = (row.get("status") or "").strip().lower()
        if status == "void":
            self.count("time_tracking: void shifts kept only in the archive")
            self.archive("shifts", key, restaurant, self.archived("shifts", row.items()))
            return []
        if (row.get("approval_status") or "").strip().lower() == "approved":
            self.count("time_tracking: approved shifts -> approved")
            status = "approved"
        pay = row.get("total_earnings")
        earnings = _decimal(pay)
        if earnings is not None:
            tips = sum((_decimal(row.get(c)) or Decimal(0) for c in ("tips_cash", "tips_card")), Decimal(0))
            pay = str(earnings - tips) if earnings >= tips else None
            if pay is None:
                self.count("time_tracking: total_earnings below the tips: total_pay left empty")
        out.update(
            id=self._id("shifts", key, "id"), restaurant_id=self._id("restaurants", row.get("restaurant_id"), "restaurant_id"),
            employee_id=self._id("employee_profiles", row.get("employee_id"), "employee_id"),
            shift_id=self._id("schedules", row.get("schedule_id"), "shift_id"), clock_in=row.get("clock_in"),
            clock_out=row.get("clock_out"), break_start=row.get("break_start"), break_end=row.get("break_end"),
            total_hours=row.get("total_hours"), overtime_hours=row.get("overtime_hours"), total_pay=pay,
            status=TIME_STATUS.get(status, status) or None, created_at=row.get("created_at"),
            updated_at=self._updated(row),
        )
        self._archive_extra("shifts", row, restaurant)

    def _performance_metrics(self, row, out, where):
        """One row of ours per non-zero figure, metric_type `<legacy type>.<column>`."""
        key = (row.get("id") or "").strip()
        restaurant = self._restaurant(row.get("restaurant_id"))
        period = (row.get("metric_type") or "").strip().lower()
        produced = []
        for column in METRIC_COLUMNS:
            if not _nonzero(row.get(column)):
                continue
            place = f"{where} {column}"
            try:
                produced.append((place, {
                    "id": self._id("performance_metrics", f"{key}:{column}", "id"),
                    "restaurant_id": self._id("restaurants", row.get("restaurant_id"), "restaurant_id"),
                    "employee_id": self._id("employee_profiles", row.get("employee_id"), "employee_id"),
                    "metric_date": row.get("metric_date"), "metric_type": f"{period}.{column}",
                    "metric_value": row.get(column), "created_at": row.get("created_at"),
                }))
            except RowError as error:
                produced.append((place, error))
        if not produced:
            self.count("performance_metrics: every figure zero: no row made")
        self._archive_extra("performance_metrics", row, restaurant)
        return produced

    def _daily_reports(self, row, out, where):
        key = (row.get("id") or "").strip()
        restaurant = self._restaurant(row.get("restaurant_id"))
        breakdown = {name: row[f"{name}_sales"] for name in ("cash", "card", "qr", "other")
                     if not _null(row.get(f"{name}_sales"))}
        top = _json(row.get("top_items"))
        products = self.maps.get("products", {})
        top_products = None
        if isinstance(top, list):
            top_products = []
            for entry in top:
                if not isinstance(entry, dict):
                    continue
                legacy_product = str(entry.get("item_id") or entry.get("product_id") or "")
                product = products.get(legacy_product.strip()) if legacy_product else None
                line = {"product_id": product, "name": entry.get("name"), "quantity": entry.get("quantity"),
                        "revenue": _money_text(entry.get("revenue"))}
                if product is None and legacy_product:
                    self.count("daily_reports: a top item whose product was not imported: its legacy key kept")
                    line["legacy_product_id"] = legacy_product
                top_products.append(line)
        out.update(
            id=self._id("daily_reports", key, "id"), restaurant_id=self._id("restaurants", row.get("restaurant_id"), "restaurant_id"),
            report_date=row.get("report_date"), total_sales=row.get("total_revenue"), total_orders=row.get("total_orders"),
            average_ticket=row.get("average_order_value"),
            payment_breakdown=json.dumps(breakdown) if breakdown else None,
            top_products=json.dumps(top_products) if top_products is not None else None,
            generated_at=row.get("generated_at"),
        )
        self._archive_extra("daily_reports", row, restaurant)

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
                self.archive(table, key, restaurant, self.archived(table, zip(header, fields), nulls=True))
                if table in UNMATCHED:
                    self.count(f"{table}: {UNMATCHED[table]}: kept in the archive only")
        self._flush_archive()
        if self.importer.catch_up:
            self._prune_archive()

    def _prune_archive(self) -> None:
        """--catch-up: archive rows of the legacy tables read whole this run that this run did
        not write (their legacy row is gone, or no longer has what went to the archive) are
        deleted, each kept first in legacy_import_keyed_changes; those of rows rejected whole this
        run stay. A dry run counts and lists them only."""
        gone_tables, gone_keys = [], []
        for legacy in sorted(self.read_whole):
            unsure = self.unsure_keys.get(legacy, ())
            kept = self.raw_kept.get(legacy, ())  # skipped unchanged: what they archived is as it was
            for table, key in self.conn.execute(
                sql.SQL("SELECT legacy_table, legacy_key FROM {} WHERE legacy_table = %s OR legacy_table LIKE %s")
                .format(sql.Identifier(ARCHIVE)), [legacy, f"{legacy}.%"],
            ):
                if (table, key) not in self.archived_keys and key not in unsure and key not in kept:
                    gone_tables.append(table)
                    gone_keys.append(key)
        if not gone_keys:
            return
        self.report.archive_removed = [{"legacy_table": table, "legacy_key": key}
                                       for table, key in sorted(zip(gone_tables, gone_keys))[:LISTED]]
        if not self.importer.dry_run:
            with self.conn.transaction():
                self.conn.execute(
                    sql.SQL("WITH gone AS (DELETE FROM {archive} a USING unnest(%(tables)s::text[], %(keys)s::text[])"
                            " g (legacy_table, legacy_key) WHERE a.legacy_table = g.legacy_table"
                            " AND a.legacy_key = g.legacy_key RETURNING a.*) {keep}")
                    .format(archive=sql.Identifier(ARCHIVE), keep=_keep_prior(ARCHIVE, "deleted", sql.Identifier("gone"))),
                    {"tables": gone_tables, "keys": gone_keys, "run": self.importer.run_id},
                )
        self.count("legacy_archive: rows removed (their legacy row gone, or nothing of it archived now)",
                       len(gone_keys))

    def close(self) -> None:
        if self._lookups is not None:
            pool, conn = self._lookups
            pool.shutdown()
            conn.close()
            self._lookups = None
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


def _folded(name: str) -> str:
    """A supplier name as compared: spaces collapsed, case folded."""
    return " ".join(name.split()).casefold()


def _text(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _decimal(value) -> Decimal | None:
    if _null(value):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _subscription_current(restaurant: dict) -> bool:
    """The subscription made from a legacy restaurant is running today (active or suspended, not ended)."""
    status = (restaurant.get("subscription_status") or "").strip().lower() or "active"
    if SUBSCRIPTION_STATUS.get(status, status) not in ("active", "suspended"):
        return False
    expires = restaurant.get("subscription_expires_at")
    return _null(expires) or expires[:10] >= date.today().isoformat()


def _nonzero(value) -> bool:
    """A figure worth a row: not empty and not zero (text that is no number is kept, to be rejected)."""
    if _null(value):
        return False
    number = _decimal(value)
    return number is None or number != 0


def _money_text(value):
    try:
        return exact_money(value, "revenue")
    except RowError:
        return value


def _scheduled_hours(row) -> Decimal:
    """Hours between a schedule row's start and end (past midnight when the end is earlier), less its break."""
    try:
        start, end = (time.fromisoformat((row.get(c) or "").strip()) for c in ("start_time", "end_time"))
    except ValueError:
        return Decimal(0)
    minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
    if minutes < 0:
        minutes += 24 * 60
    try:
        minutes -= int((row.get("break_minutes") or "0").strip() or 0)
    except ValueError:
        pass
    return Decimal(max(minutes, 0)) / 60
