"""`migrate_legacy` on the real legacy Fynlo shape (fynlo-v1): one small legacy database, built
from the legacy DDL the project keeps (tests/data/fynlo_v1_schema.sql), read as its CSV files,
its plain pg_dump, its custom-format dump and its live URL. Each mapping rule and trap has a row."""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
import subprocess
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import bcrypt
import psycopg
import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import connections
from psycopg.conninfo import make_conninfo

from inventory.models import InventoryItem, RestockOrder, RestockOrderItem, StockMovement, Supplier
from pos.models import Order
from tenants.context import tenant_context

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "owner"])

SCHEMA = Path(__file__).resolve().parent.parent / "data" / "fynlo_v1_schema.sql"
TS = "2025-08-01 12:00:00+00"


def u(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


P1, R1, R2 = u(1), u(11), u(12)
OWNER, MANAGER, EMPLOYEE, R2_USER, OLD_HASH_USER = u(21), u(22), u(23), u(24), u(26)
FOOD, FOOD_AGAIN, DRINKS = u(31), u(32), u(33)
TACO, BURRITO, PIE, WRONG_RESTAURANT_PRODUCT = u(41), u(42), u(43), u(44)
CUSTOMER = u(51)
GOOD_ORDER, FOREIGN_PRODUCT_ORDER, FLOAT_ORDER, R2_ORDER, UNKNOWN_STATUS_ORDER = u(61), u(62), u(63), u(64), u(65)
PAY_GOOD, PAY_DEPENDENT, PAY_ORPHAN, PAY_R2 = u(71), u(72), u(73), u(74)
REFUND = u(81)
MISSING_ORDER = u(99)
# stock
SUP_FARM, SUP_R2 = u(101), u(102)
SM_PURCHASE, SM_SALE, SM_WASTE, SM_TRANSFER, SM_UNKNOWN, SM_OTHER_USER = u(111), u(112), u(113), u(114), u(115), u(116)
PO_GOOD, PO_OTHER_SUPPLIER, PO_BAD_STATUS = u(121), u(122), u(123)
POI_FLOUR, POI_OIL, POI_OTHER_RESTAURANT, POI_DEPENDENT = u(131), u(132), u(133), u(134)
# staff and billing
R3 = u(13)  # names a subscription plan that no subscription_plans row has
EMP_MANAGER, EMP_EMPLOYEE, EMP_R2, EMP_WRONG_RESTAURANT = u(201), u(202), u(203), u(204)
SCH_MONDAY, SCH_NIGHT, SCH_NEXT_WEEK, SCH_R2, SCH_DEPENDENT = u(211), u(212), u(213), u(214), u(215)
SHIFT_APPROVED, SHIFT_NAIVE, SHIFT_VOID, SHIFT_OTHER_RESTAURANT = u(221), u(222), u(223), u(224)
METRIC_WEEKLY, METRIC_UNKNOWN_PERIOD, METRIC_ZERO = u(231), u(232), u(233)
REPORT_R1, REPORT_NO_RESTAURANT = u(241), u(242)
MISSING_RESTAURANT = u(98)


def bcrypt_hash(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()


def item(product, quantity, unit, total, **extra):
    return {"product_id": product, "quantity": quantity, "unit_price": unit, "total_price": total,
            "modifiers": [], "special_instructions": None, **extra}


def legacy_rows() -> dict[str, list[dict]]:
    return {
        "platforms": [{"id": P1, "name": "Fynlo", "owner_email": "owner@fynlo.test", "subscription_tier": "pro",
                       "created_at": TS}],
        "restaurants": [
            {"id": R1, "platform_id": P1, "name": "Casa", "phone": "0123",
             "address": json.dumps({"line1": "1 High St", "city": "London", "postal_code": "N1 1AA"}),
             "settings": json.dumps({"logo_url": "https://x.test/logo.png", "bank_details": {"iban": "GB00SECRET"}}),
             "tax_configuration": json.dumps({"vatEnabled": True, "vatRate": 20, "serviceTaxEnabled": False,
                                              "serviceTaxRate": 12.5}),
             "subscription_plan": "beta", "subscription_status": "trial",
             "subscription_started_at": "2025-07-15 09:00:00+00", "created_at": TS},
            {"id": R2, "platform_id": None, "name": "Casa", "created_at": "2025-08-02 12:00:00+00"},
            {"id": R3, "platform_id": P1, "name": "Gamma Grill", "subscription_plan": "gamma",
             "subscription_status": "active", "created_at": "2025-08-03 12:00:00+00"},
        ],
        "users": [
            {"id": OWNER, "email": "owner@fynlo.test", "password_hash": bcrypt_hash("owner-pass"), "first_name": "Olive",
             "last_name": "Owner", "role": "platform_owner", "platform_id": P1, "created_at": TS},
            {"id": MANAGER, "email": "manager@casa.test", "password_hash": bcrypt_hash("manager-pass"),
             "first_name": "Max", "last_name": "Manager", "role": "manager", "restaurant_id": R1, "platform_id": P1,
             "created_at": TS},
            {"id": EMPLOYEE, "email": "emp@casa.test", "password_hash": None, "supabase_id": u(991),
             "first_name": "Eve", "last_name": "Employee", "role": "employee", "restaurant_id": R1,
             "pin_code": "4321", "permissions": json.dumps({"canRefund": True, "canManageUsers": False}),
             "created_at": TS},
            {"id": R2_USER, "email": "cook@two.test", "password_hash": bcrypt_hash("cook-pass"), "first_name": "Coo",
             "last_name": "Cook", "role": "manager", "created_at": TS},
            # a hash from before bcrypt: legal, unusable once imported (and no conflict on a re-run)
            {"id": OLD_HASH_USER, "email": "old@casa.test", "password_hash": "sha1:0a4d55a8d778e5022fab701977c5d840bbc486d0",
             "first_name": "Old", "last_name": "Hash", "role": "MANAGER", "restaurant_id": R1, "created_at": TS},
        ],
        "user_restaurants": [{"id": u(25), "user_id": R2_USER, "restaurant_id": R2, "is_primary": True,
                              "created_at": TS}],
        "customers": [{"id": CUSTOMER, "restaurant_id": R1, "first_name": "Ann", "last_name": "Customer",
                       "created_at": TS}],
        "categories": [
            {"id": FOOD, "restaurant_id": R1, "name": "Food", "icon": "utensils-crossed", "sort_order": 1,
             "created_at": TS},
            {"id": FOOD_AGAIN, "restaurant_id": R1, "name": "Food", "sort_order": 2, "created_at": "2025-08-01 13:00:00+00"},
            {"id": DRINKS, "restaurant_id": R2, "name": "Drinks", "created_at": TS},
        ],
        "products": [
            {"id": TACO, "restaurant_id": R1, "category_id": FOOD, "name": "Taco", "price": "3.50", "sku": "A",
             "dietary_info": json.dumps(["vegan"]), "created_at": TS},
            {"id": BURRITO, "restaurant_id": R1, "category_id": FOOD, "name": "Burrito", "price": "8.00", "sku": "A",
             "created_at": "2025-08-01 13:00:00+00"},
            {"id": PIE, "restaurant_id": R2, "category_id": DRINKS, "name": "Pie", "price": "4.00", "created_at": TS},
            # a child whose own restaurant disagrees with its parent's (the category is R1's)
            {"id": WRONG_RESTAURANT_PRODUCT, "restaurant_id": R2, "category_id": FOOD, "name": "Soup", "price": "5.00",
             "created_at": TS},
        ],
        "orders": [
            {"id": GOOD_ORDER, "restaurant_id": R1, "customer_id": CUSTOMER, "order_number": "ORD-1",
             "status": "COMPLETED", "order_type": "DINE_IN", "subtotal": "15.00", "total_amount": "15.00",
             "created_by": MANAGER, "special_instructions": "no onions", "kitchen_note": "rush",
             "items": json.dumps([
                 item(TACO, 2, 3.5, 7.000000001,
                      modifiers=[{"name": "Extra cheese", "price": 0.5, "quantity": 1, "colour": "yellow"}]),
                 item(BURRITO, "1", "8.00", "8.00", product_name="Burrito"),
             ]), "created_at": "2025-08-01 12:30:00"},
            {"id": FOREIGN_PRODUCT_ORDER, "restaurant_id": R1, "order_number": "ORD-2", "status": "completed",
             "subtotal": "4.00", "total_amount": "4.00", "created_by": MANAGER,
             "items": json.dumps([item(PIE, 1, 4.0, 4.0)]), "created_at": TS},
            {"id": FLOAT_ORDER, "restaurant_id": R1, "order_number": "ORD-3", "status": "pending",
             "subtotal": "4.33", "total_amount": "4.33", "created_by": MANAGER,
             "items": json.dumps([item(TACO, 1, 4.333, 4.333)]), "created_at": TS},
            {"id": R2_ORDER, "restaurant_id": R2, "order_number": "ORD-4", "status": "pending",
             "subtotal": "4.00", "total_amount": "4.00", "created_by": R2_USER,
             "items": json.dumps([item(PIE, 1, 4.0, 4.0)]), "created_at": TS},
            # an enum name nobody listed: rejected (a known one in upper case is normalised: ORD-1)
            {"id": UNKNOWN_STATUS_ORDER, "restaurant_id": R1, "order_number": "ORD-5", "status": "ON_HOLD",
             "subtotal": "3.50", "total_amount": "3.50", "created_by": MANAGER,
             "items": json.dumps([item(TACO, 1, 3.5, 3.5)]), "created_at": TS},
        ],
        "payments": [
            {"id": PAY_GOOD, "order_id": GOOD_ORDER, "payment_method": "stripe", "amount": "15.00",
             "fee_amount": "0.44", "status": "completed", "external_id": "pi_1", "created_at": TS},
            {"id": PAY_DEPENDENT, "order_id": FOREIGN_PRODUCT_ORDER, "payment_method": "cash", "amount": "4.00",
             "status": "completed", "created_at": TS},
            {"id": PAY_ORPHAN, "order_id": MISSING_ORDER, "payment_method": "cash", "amount": "9.99",
             "status": "completed", "created_at": TS},
            {"id": PAY_R2, "order_id": R2_ORDER, "payment_method": "cash", "amount": "4.00", "status": "COMPLETED",
             "created_at": TS},
        ],
        "refunds": [{"id": REFUND, "order_id": GOOD_ORDER, "amount": "5.00", "reason": "cold", "state": "done",
                     "created_at": TS}],
        "qr_payments": [{"id": u(91), "order_id": GOOD_ORDER, "qr_code_data": "qr", "amount": "1.00",
                         "created_at": TS}],
        **stock_rows(),
        **staff_and_billing_rows(),
    }


def stock_rows() -> dict[str, list[dict]]:
    """Suppliers, inventory, its ledger, stock movements, purchase orders: a row per rule and trap."""
    def ledger(n, sku, restaurant, delta, source, source_id=None):
        return {"id": n, "sku": sku, "restaurant_id": restaurant, "delta_g": delta, "source": source,
                "source_id": source_id, "ts": f"2025-08-01 12:0{n}:00+00"}

    def movement(key, sku, kind, quantity, restaurant=R1, **extra):
        return {"id": key, "restaurant_id": restaurant, "inventory_sku": sku, "movement_type": kind,
                "quantity": quantity, "unit": "g", "stock_before": "100", "stock_after": "100",
                "performed_by": MANAGER, "movement_date": TS, "created_at": TS, **extra}

    def po_item(key, order, sku, quantity, price, total, **extra):
        return {"id": key, "purchase_order_id": order, "inventory_sku": sku, "quantity_ordered": quantity, "unit": "g",
                "unit_price": price, "total_price": total, "created_at": TS, **extra}

    return {
        "suppliers": [
            {"id": SUP_FARM, "restaurant_id": R1, "name": "Fresh Farm", "code": "FF", "contact_name": "Fran",
             "address": json.dumps({"line1": "2 Farm Lane", "city": "Leeds", "postcode": "LS1 1AA"}),
             "website": "https://farm.test", "payment_terms": "net30", "created_at": TS},
            # the same name in another restaurant: a supplier of its own (codes are unique across restaurants)
            {"id": SUP_R2, "restaurant_id": R2, "name": "Fresh Farm", "code": "FF2", "created_at": TS},
        ],
        "inventory": [
            {"sku": "FLOUR", "restaurant_id": R1, "name": "Flour", "description": "00 flour", "qty_g": 5000,
             "par_level_g": 1000, "unit": "grams", "cost_per_unit": "0.01", "supplier": " fresh  FARM ",
             "last_updated": TS},
            {"sku": "OIL", "restaurant_id": R1, "name": "Olive oil", "qty_g": 2000, "par_level_g": 500, "unit": "ml",
             "supplier": "Cash & Carry", "last_updated": TS},
            {"sku": "SALT", "restaurant_id": R1, "name": "Salt", "qty_g": 0, "par_level_g": None,
             "supplier": "cash & carry", "last_updated": "2025-08-01 13:00:00+00"},
            {"sku": "TOM", "restaurant_id": R2, "name": "Tomatoes", "qty_g": 300, "supplier": "Cash & Carry",
             "last_updated": TS},
            {"sku": "GHOST", "restaurant_id": MISSING_RESTAURANT, "name": "Ghost", "qty_g": 1, "supplier": "Nowhere",
             "last_updated": TS},
        ],
        "inventory_ledger": [
            ledger(1, "FLOUR", R1, 5000, "initial_import", "batch-1"),
            ledger(2, "FLOUR", R1, -200, "order_fulfillment", GOOD_ORDER),
            ledger(3, "OIL", R1, -100, "spoilage"),
            ledger(4, "OIL", R1, 50, "manual_stock_add", MANAGER),
            ledger(5, "OIL", R1, 7, "recount"),
            ledger(6, "TOM", None, 30, "initial_import"),  # no restaurant: the item's
            ledger(7, "FLOUR", R2, -5, "spoilage"),  # the item is R1's: rejected
            ledger(8, "GHOST", None, 1, "initial_import"),  # its item is rejected: rejected
        ],
        "stock_movements": [
            movement(SM_PURCHASE, "FLOUR", "PURCHASE", "1000", unit_cost="0.01", total_cost="10.00",
                     reference_type="purchase_order", reference_id=PO_GOOD, reason="delivery"),
            movement(SM_SALE, "OIL", "SALE", "-10", order_id=GOOD_ORDER),
            movement(SM_WASTE, "OIL", "WASTE", "-5"),
            movement(SM_TRANSFER, "SALT", "TRANSFER", "-1", notes="to the bar"),
            movement(SM_UNKNOWN, "SALT", "SHRINKAGE", "-2"),
            movement(SM_OTHER_USER, "TOM", "SALE", "-1", restaurant=R2),  # performed by R1's manager: rejected
        ],
        "purchase_orders": [
            {"id": PO_GOOD, "restaurant_id": R1, "supplier_id": SUP_FARM, "order_number": "PO-1",
             "order_date": "2025-08-01", "expected_delivery": "2025-08-03", "status": "sent", "subtotal": "12.00",
             "total_amount": "12.00", "delivery_notes": "back door", "invoice_number": "INV-1", "created_by": MANAGER,
             "created_at": TS},
            # the supplier is R1's: rejected, and its item with it
            {"id": PO_OTHER_SUPPLIER, "restaurant_id": R2, "supplier_id": SUP_FARM, "order_number": "PO-2",
             "order_date": "2025-08-01", "expected_delivery": "2025-08-03", "status": "draft", "created_by": R2_USER,
             "created_at": TS},
            {"id": PO_BAD_STATUS, "restaurant_id": R1, "supplier_id": SUP_FARM, "order_number": "PO-3",
             "order_date": "2025-08-01", "expected_delivery": "2025-08-03", "status": "lost", "created_by": MANAGER,
             "created_at": TS},
        ],
        "purchase_order_items": [
            po_item(POI_FLOUR, PO_GOOD, "FLOUR", "1000", "0.01", "10.00"),
            po_item(POI_OIL, PO_GOOD, "OIL", "200", "0.01", "2.00", quantity_received="200", rejection_reason="none"),
            po_item(POI_OTHER_RESTAURANT, PO_GOOD, "TOM", "1", "1.00", "1.00"),  # R2's item in R1's order
            po_item(POI_DEPENDENT, PO_OTHER_SUPPLIER, "TOM", "1", "1.00", "1.00"),
        ],
    }


def staff_and_billing_rows() -> dict[str, list[dict]]:
    """Employees, their schedules, clocked shifts and metrics; plans, subscriptions, daily reports."""
    week = {"created_by": MANAGER, "created_at": TS}
    return {
        "subscription_plans": [
            {"id": 1, "name": "alpha", "display_name": "Alpha", "price_monthly": "0.00", "price_yearly": "0.00",
             "transaction_fee_percentage": "1.50", "features": json.dumps({"kds": False}),
             "created_at": "2025-07-01 10:00:00"},
            # no longer offered: R1's running subscription keeps its rate
            {"id": 2, "name": "beta", "display_name": "Beta", "price_monthly": "49.00", "price_yearly": "490.00",
             "max_staff_accounts": 10, "transaction_fee_percentage": "2", "features": json.dumps({"kds": True}),
             "is_active": False, "created_at": "2025-07-01 10:00:00"},
        ],
        "restaurant_subscriptions": [
            {"id": 1, "restaurant_id": 7, "plan_id": 2, "status": "active", "current_period_start": "2025-07-01 00:00:00",
             "current_period_end": "2025-08-01 00:00:00", "created_at": "2025-07-01 10:00:00"},
        ],
        "employee_profiles": [
            {"id": EMP_MANAGER, "user_id": MANAGER, "restaurant_id": R1, "employee_id": "E1", "hire_date": "2025-01-15",
             "employment_type": "seasonal", "hourly_rate": "12.35", "phone": "07700 900001",
             "emergency_contact": json.dumps({"name": "Mia", "phone": "07700 900002", "relationship": "sister"}),
             "availability": json.dumps({"monday": {"start": "09:00", "end": "17:00"}}), "created_at": TS},
            {"id": EMP_EMPLOYEE, "user_id": EMPLOYEE, "restaurant_id": R1, "employee_id": "E2",
             "hire_date": "2025-03-01", "employment_type": "part_time", "hourly_rate": "10.50", "phone": "07700 900003",
             "created_at": "2025-08-01 12:00:01+00"},
            # the same employee_id in another restaurant: unique per restaurant in ours, accepted
            {"id": EMP_R2, "user_id": R2_USER, "restaurant_id": R2, "employee_id": "E1", "hire_date": "2025-02-01",
             "hourly_rate": "11.00", "phone": "07700 900004", "created_at": "2025-08-01 12:00:02+00"},
            # the user works in R1, the profile says R2: rejected
            {"id": EMP_WRONG_RESTAURANT, "user_id": OLD_HASH_USER, "restaurant_id": R2, "employee_id": "E9",
             "hire_date": "2025-02-01", "hourly_rate": "9.00", "phone": "07700 900005",
             "created_at": "2025-08-01 12:00:03+00"},
        ],
        "schedules": [
            {"id": SCH_MONDAY, "employee_id": EMP_MANAGER, "restaurant_id": R1, "date": "2025-08-04",
             "start_time": "09:00", "end_time": "17:00", "break_minutes": 30, "role": "MANAGER", "status": "scheduled",
             "is_published": True, "notes": "opening", **week},
            # past midnight, in the same week (Monday 4 August)
            {"id": SCH_NIGHT, "employee_id": EMP_EMPLOYEE, "restaurant_id": R1, "date": "2025-08-06",
             "start_time": "22:00", "end_time": "02:00", "role": "kitchen", "status": "confirmed", **week},
            {"id": SCH_NEXT_WEEK, "employee_id": EMP_EMPLOYEE, "restaurant_id": R1, "date": "2025-08-11",
             "start_time": "12:00", "end_time": "16:00", "role": "bartender", "status": "scheduled",
             "section_id": u(990), **week},
            {"id": SCH_R2, "employee_id": EMP_R2, "restaurant_id": R2, "date": "2025-08-05", "start_time": "10:00",
             "end_time": "14:00", "role": "server", "status": "scheduled", "created_by": R2_USER, "created_at": TS},
            {"id": SCH_DEPENDENT, "employee_id": EMP_WRONG_RESTAURANT, "restaurant_id": R2, "date": "2025-08-07",
             "start_time": "10:00", "end_time": "14:00", "role": "server", "created_by": R2_USER, "created_at": TS},
        ],
        "shifts": [
            {"id": SHIFT_APPROVED, "employee_id": EMP_MANAGER, "restaurant_id": R1, "schedule_id": SCH_MONDAY,
             "clock_in": "2025-08-04 09:02:00+00", "clock_out": "2025-08-04 17:01:00+00", "role": "manager",
             "hourly_rate": "12.35", "total_hours": "7.48", "regular_hours": "7.48", "tips_cash": "5.00",
             "tips_card": "7.50", "total_earnings": "104.88", "status": "completed", "approval_status": "approved",
             "created_at": "2025-08-04 09:02:00+00"},
            # a naive timestamp: UTC
            {"id": SHIFT_NAIVE, "employee_id": EMP_EMPLOYEE, "restaurant_id": R1, "schedule_id": SCH_NIGHT,
             "clock_in": "2025-08-06 22:00:00", "role": "kitchen", "hourly_rate": "10.50", "status": "active",
             "created_at": "2025-08-06 22:00:00+00"},
            {"id": SHIFT_VOID, "employee_id": EMP_EMPLOYEE, "restaurant_id": R1, "clock_in": "2025-08-07 09:00:00+00",
             "role": "kitchen", "hourly_rate": "10.50", "status": "void", "created_at": "2025-08-07 09:00:00+00"},
            # the employee is R2's
            {"id": SHIFT_OTHER_RESTAURANT, "employee_id": EMP_R2, "restaurant_id": R1,
             "clock_in": "2025-08-05 10:00:00+00", "role": "server", "hourly_rate": "11.00", "status": "completed",
             "created_at": "2025-08-05 10:00:00+00"},
        ],
        "performance_metrics": [
            {"id": METRIC_WEEKLY, "employee_id": EMP_MANAGER, "restaurant_id": R1, "metric_date": "2025-08-04",
             "metric_type": "weekly", "total_sales": "1234.50", "transaction_count": 80, "customer_rating": "4.75",
             "created_at": TS},
            {"id": METRIC_UNKNOWN_PERIOD, "employee_id": EMP_EMPLOYEE, "restaurant_id": R1, "metric_date": "2025-08-04",
             "metric_type": "quarterly", "tables_served": 3, "created_at": TS},
            {"id": METRIC_ZERO, "employee_id": EMP_EMPLOYEE, "restaurant_id": R1, "metric_date": "2025-08-05",
             "metric_type": "daily", "created_at": TS},
        ],
        "daily_reports": [
            {"id": REPORT_R1, "restaurant_id": R1, "report_date": "2025-08-01", "total_revenue": "15.00",
             "total_orders": 1, "average_order_value": "15.00", "cash_sales": "0.00", "card_sales": "15.00",
             "qr_sales": None, "other_sales": "0.00", "total_tax": "2.50",
             "top_items": json.dumps([{"item_id": TACO, "name": "Taco", "quantity": 2, "revenue": 7.000000001},
                                      {"item_id": u(997), "name": "Gone", "quantity": 1, "revenue": 8.0}]),
             "generated_at": "2025-08-02 02:00:00+00"},
            {"id": REPORT_NO_RESTAURANT, "restaurant_id": MISSING_RESTAURANT, "report_date": "2025-08-01",
             "total_revenue": "1.00", "generated_at": "2025-08-02 02:00:00+00"},
        ],
    }


def owner_conninfo(dbname: str | None = None) -> str:
    params = dict(connections["owner"].get_connection_params())
    if dbname:
        params["dbname"] = dbname
    return make_conninfo(**{k: v for k, v in params.items() if k in ("host", "port", "user", "password", "dbname")})


@contextmanager
def legacy_database(django_db_blocker, folder: Path, name: str, rows: dict[str, list[dict]], more_ddl: str):
    """A legacy database `name` made from the DDL file (and `more_ddl`) holding `rows`, and its CSV
    files, plain dump (and gzipped) and custom dump in `folder`; dropped afterwards."""
    with django_db_blocker.unblock():
        admin = psycopg.connect(owner_conninfo("postgres"), autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')
    url = owner_conninfo(name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA.read_text())
        conn.execute(more_ddl)
        for table, table_rows in rows.items():
            for row in table_rows:
                columns = ", ".join(row)
                marks = ", ".join(["%s"] * len(row))
                conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(row.values()))
        csvs = folder / "csv"
        csvs.mkdir()
        for table in rows:
            with open(csvs / f"{table}.csv", "wb") as out, conn.cursor().copy(
                f"COPY (SELECT * FROM {table}) TO STDOUT (FORMAT csv, HEADER)"
            ) as copy:
                for block in copy:
                    out.write(bytes(block))
    params = connections["owner"].get_connection_params()
    env = {"PGPASSWORD": params.get("password") or "", "PATH": "/usr/bin:/bin"}
    base = ["-h", params.get("host") or "127.0.0.1", "-p", str(params.get("port") or 5432), "-U", params["user"], name]
    subprocess.run(["pg_dump", "-Fp", "-f", str(folder / "fynlo_backup.sql"), *base], check=True, env=env)
    with open(folder / "fynlo_backup.sql", "rb") as plain, gzip.open(folder / "fynlo_backup.sql.gz", "wb") as packed:
        shutil.copyfileobj(plain, packed)
    subprocess.run(["pg_dump", "-Fc", "-f", str(folder / "fynlo_backup.dump"), *base], check=True, env=env)
    try:
        yield {"url": f"postgresql://{params['user']}:{params.get('password') or ''}@{params.get('host') or '127.0.0.1'}:"
                      f"{params.get('port') or 5432}/{name}",
               "csv": csvs, "sql": folder / "fynlo_backup.sql", "sql.gz": folder / "fynlo_backup.sql.gz",
               "dump": folder / "fynlo_backup.dump", "folder": folder}
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="module")
def legacy(tmp_path_factory, django_db_setup, django_db_blocker):
    """The legacy database (created from the DDL file), and its CSVs and dumps."""
    name = f"{settings.DATABASES['owner']['TEST']['NAME']}_fynlo_v1"
    with legacy_database(django_db_blocker, tmp_path_factory.mktemp("fynlo_v1"), name, legacy_rows(),
                         "ALTER TABLE orders ADD COLUMN kitchen_note text") as made:  # a column nobody told us about
        yield made


def migrate(source, tmp_path, *args) -> tuple[int, str, dict]:
    out = io.StringIO()
    report_path = tmp_path / "report.json"
    code = 0
    try:
        call_command("migrate_legacy", str(source), "--report", str(report_path), "--rejects",
                     str(tmp_path / "rejects"), *args, stdout=out, stderr=io.StringIO())
    except CommandError as error:
        code = error.returncode
        out.write(f"\nCommandError: {error}")
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    return code, out.getvalue(), report


SNAPSHOT = {
    "platforms": "id, name, slug, owner_email, created_at",
    "restaurants": "id, platform_id, name, slug, address, logo_url, subscription_tier",
    "restaurant_settings": "id, restaurant_id, setting_key, setting_value",
    "users": "id, restaurant_id, platform_id, email, role, left(password_hash, 1), created_at",
    "user_permissions": "id, restaurant_id, user_id, permission",
    "categories": "id, restaurant_id, name, icon, display_order",
    "products": "id, restaurant_id, category_id, name, price, sku",
    "orders": "id, restaurant_id, order_number, customer_name, order_type, status, total_amount, items_count,"
              " created_by, created_at, updated_at",
    "order_items": "id, restaurant_id, order_id, product_id, quantity, unit_price, total_price, modifiers",
    "payments": "id, restaurant_id, order_id, payment_method, amount, commission_rate, commission_amount,"
                " transaction_id, processor_response, status",
    "refunds": "id, restaurant_id, order_id, payment_id, amount, status",
    "subscription_plans": "id, platform_id, name, commission_rate, service_fee_rate, monthly_fee, features, created_at",
    "restaurant_subscriptions": "id, restaurant_id, plan_id, start_date, end_date, status, commission_rate, monthly_fee",
    "employees": "id, restaurant_id, user_id, employee_number, hire_date, hourly_rate, employment_type,"
                 " emergency_contact_name, emergency_contact_phone",
    "schedules": "id, restaurant_id, name, week_start, week_end, status, total_scheduled_hours, total_labor_cost,"
                 " created_by",
    "shifts": "id, restaurant_id, schedule_id, employee_id, shift_date, start_time, end_time, break_duration, position,"
              " status, notes",
    "time_tracking": "id, restaurant_id, employee_id, shift_id, clock_in, clock_out, total_hours, total_pay, status",
    "performance_metrics": "id, restaurant_id, employee_id, metric_date, metric_type, metric_value",
    "daily_reports": "id, restaurant_id, report_date, total_sales, total_orders, average_ticket, payment_breakdown,"
                     " top_products",
    "legacy_archive": "legacy_table, legacy_key, restaurant_id, row",
    "legacy_id_map": "legacy_table, legacy_key, new_id, span",
}
SNAPSHOT.update({
    "suppliers": "id, restaurant_id, name, contact_person, address, payment_terms",
    "inventory_items": "id, restaurant_id, product_id, name, supplier_id, current_stock, minimum_stock, reorder_point,"
                       " unit_cost, unit_measure, updated_at",
    "stock_movements": "id, restaurant_id, inventory_item_id, movement_type, quantity, unit_cost, total_cost,"
                       " reference_id, reference_type, notes, created_by, created_at",
    "restock_orders": "id, restaurant_id, supplier_id, order_number, order_date, status, total_amount, notes, created_by",
    "restock_order_items": "id, restaurant_id, restock_order_id, inventory_item_id, quantity_ordered,"
                           " quantity_received, unit_cost, total_cost",
})


def snapshot() -> dict:
    with psycopg.connect(owner_conninfo(settings.DATABASES["owner"]["TEST"]["NAME"])) as conn:
        return {table: conn.execute(f"SELECT {columns} FROM {table} ORDER BY 1, 2").fetchall()
                for table, columns in SNAPSHOT.items()}


def wipe() -> None:
    with psycopg.connect(owner_conninfo(settings.DATABASES["owner"]["TEST"]["NAME"]), autocommit=True) as conn:
        conn.execute("TRUNCATE platforms, legacy_id_map, legacy_archive RESTART IDENTITY CASCADE")


@pytest.fixture(autouse=True)
def empty_database(django_db_setup, django_db_blocker):
    """The id map and the archive are no models: the test flush leaves them; start empty."""
    with django_db_blocker.unblock():
        wipe()


def test_every_source_gives_the_same_database(legacy, tmp_path):
    # given the same legacy database as CSV files, a plain dump (and gzipped), a custom dump and a live URL
    results = {}
    for kind in ("csv", "sql", "sql.gz", "dump", "url"):
        wipe()
        # when each is imported into an empty database
        code, out, report = migrate(legacy[kind], tmp_path / kind)
        # then the format is detected and printed first, and the rejects are the same rows
        assert out.splitlines()[0] == "format: fynlo-v1 (detected)", out
        assert code == 1, out
        results[kind] = (snapshot(), {t: r["count"] for t, r in report["rejects"].items()})
    assert results["sql"] == results["csv"]
    assert results["sql.gz"] == results["csv"]
    assert results["dump"] == results["csv"]
    assert results["url"] == results["csv"]


def test_mapping_rules_and_traps(legacy, tmp_path):
    # when the plain dump is imported
    code, out, report = migrate(legacy["sql"], tmp_path)
    assert code == 1, out
    db = snapshot()
    ids = {key: new_id for table, key, new_id, _ in db["legacy_id_map"]}

    # ids follow created_at; the second restaurant (no platform) goes under the only platform
    assert ids[R1] < ids[R2]
    restaurants = {row[0]: row for row in db["restaurants"]}
    assert restaurants[ids[R2]][1] == ids[P1] and restaurants[ids[R1]][3] != restaurants[ids[R2]][3]
    assert restaurants[ids[R1]][4] == "1 High St, London, N1 1AA"
    assert restaurants[ids[R1]][5] == "https://x.test/logo.png"
    settings_rows = {(r[1], r[2]): r[3] for r in db["restaurant_settings"]}
    assert settings_rows[(ids[R1], "vat_rate")] == "20" and settings_rows[(ids[R1], "service_charge_rate")] == "0"

    # orders.items -> order_items; floats exact at two places; strings for numbers read
    orders = {row[2]: row for row in db["orders"]}
    good = orders["ORD-1"]
    assert good[3] == "Ann Customer" and good[4] == "dine_in" and good[7] == 3
    lines = [row for row in db["order_items"] if row[2] == good[0]]
    assert [(r[3], r[4], str(r[5]), str(r[6])) for r in lines] == [
        (ids[TACO], 2, "3.50", "7.00"), (ids[BURRITO], 1, "8.00", "8.00")]
    assert lines[0][7] == [{"group": None, "option": "Extra cheese", "price": "0.50", "quantity": 1,
                            "option_id": None, "source": {"colour": "yellow"}}]
    # naive timestamps are UTC; updated_at NULL is created_at; pending is draft
    assert good[9].isoformat() == "2025-08-01T12:30:00+00:00" and good[10] == good[9]
    assert orders["ORD-4"][5] == "draft"

    # the traps: a product of another restaurant, a float artefact, an orphan payment, their dependents
    rejects = {t: [s["reason"] for s in r["sample"]] for t, r in report["rejects"].items()}
    places = {t: [s.get("place") for s in r["sample"]] for t, r in report["rejects"].items()}
    assert "ORD-2" not in orders and "ORD-3" not in orders
    assert any("items[0]" in r and "belongs to restaurant" in r for r in rejects["orders"])
    assert any("items[0]" in r and "whole number of pence" in r for r in rejects["orders"])
    assert all(p.startswith("fynlo_backup.sql:") for p in places["orders"])
    assert any("items[0]" in p for p in places["order_items"])
    assert any(MISSING_ORDER in r for r in rejects["payments"])
    assert any("depends on orders" in r for r in rejects["payments"])
    payments = {row[7]: row for row in db["payments"]}
    assert payments["pi_1"][3] == "card" and payments["pi_1"][8]["legacy_payment_method"] == "stripe"
    assert payments["pi_1"][8]["fee_amount"] == "0.44"
    assert [row[2] for row in db["payments"]] == [good[0], orders["ORD-4"][0]]  # the restaurant is the order's
    assert {row[1] for row in db["payments"]} == {ids[R1], ids[R2]}
    assert [(r[3], str(r[4]), r[5]) for r in db["refunds"]] == [(ids[PAY_GOOD], "5.00", "completed")]

    # a child in another restaurant than its parent, an enum name nobody listed: rejected
    assert "Soup" not in {r[3] for r in db["products"]}
    assert any(r.startswith("category_id") and "belongs to restaurant" in r for r in rejects["products"])
    assert "ORD-5" not in orders and orders["ORD-1"][5] == "completed"
    assert any(r.startswith("status 'on_hold' is not one of") for r in rejects["orders"]), rejects["orders"]

    # duplicates: category renamed, the later product's sku left empty
    assert sorted(r[2] for r in db["categories"] if r[1] == ids[R1]) == ["Food", "Food (2)"]
    assert {r[3]: r[5] for r in db["products"]} == {"Taco": "A", "Burrito": None, "Pie": None}

    # roles and permissions, counted choices
    users = {row[3]: row for row in db["users"]}
    assert users["emp@casa.test"][4] == "cashier" and users["cook@two.test"][1] == ids[R2]
    assert report["choices"]["users: role employee -> cashier (--employee-role)"] == 1
    assert report["choices"]["users: pin_code not copied (a secret)"] == 1
    assert [(r[3]) for r in db["user_permissions"]] == ["canRefund"]

    # the archive holds what no column holds, the secrets only there, pin codes nowhere
    archive = {(r[0], r[1]): r[3] for r in db["legacy_archive"]}
    assert archive[("restaurants", R1)]["settings"]["bank_details"] == {"iban": "GB00SECRET"}
    assert archive[("orders", GOOD_ORDER)] == {"special_instructions": "no onions", "kitchen_note": "rush", "payment_status": "pending",
                                               "customer_id": CUSTOMER}
    assert ("qr_payments", u(91)) in archive and ("customers", CUSTOMER) in archive
    assert "4321" not in json.dumps(list(archive.values()))
    assert report["where_every_legacy_column_went"]["orders"]["kitchen_note"].startswith("archive")

    # reconciliation: legacy against ours, per restaurant, to the penny
    assert report["reconciliation"]["balanced"], report["reconciliation"]


def test_stock_mapping_rules_and_traps(legacy, tmp_path):
    # when the CSV files are imported
    code, out, report = migrate(legacy["csv"], tmp_path)
    assert code == 1, out
    db = snapshot()
    ids = {(table, key): new_id for table, key, new_id, _ in db["legacy_id_map"]}
    r1, r2 = ids[("restaurants", R1)], ids[("restaurants", R2)]
    rejects = {t: [(s.get("place"), s["reason"]) for s in r["sample"]] for t, r in report["rejects"].items()}

    # suppliers: address flattened, contact_name -> contact_person; the rest (code, website) archived
    suppliers = {row[0]: row for row in db["suppliers"]}
    farm = suppliers[ids[("suppliers", SUP_FARM)]]
    assert farm[1:] == (r1, "Fresh Farm", "Fran", "2 Farm Lane, Leeds, LS1 1AA", "net30")
    assert suppliers[ids[("suppliers", SUP_R2)]][1:3] == (r2, "Fresh Farm")
    archive = {(r[0], r[1]): r for r in db["legacy_archive"]}
    assert {"code": "FF", "website": "https://farm.test"}.items() <= archive[("suppliers", SUP_FARM)][3].items()
    assert "name" not in archive[("suppliers", SUP_FARM)][3]
    assert archive[("suppliers", SUP_FARM)][2] == r1

    # inventory -> ingredients (no product); a supplier named in free text: the restaurant's row of that
    # name (spaces and case aside), else one made once per restaurant and name
    items = {row[3]: row for row in db["inventory_items"]}
    assert set(items) == {"Flour", "Olive oil", "Salt", "Tomatoes"}
    flour = items["Flour"]
    assert flour[0] == ids[("inventory", "FLOUR")] and flour[1] == r1 and flour[2] is None
    assert flour[4] == farm[0]
    assert [str(v) for v in flour[5:9]] == ["5000.000", "1000.000", "1000.000", "0.01"] and flour[9] == "grams"
    assert str(items["Salt"][6]) == "0.000" and items["Salt"][9] == "grams"  # a NULL par level: 0
    made = {(row[1], row[2]): row[0] for row in db["suppliers"] if row[2] == "Cash & Carry"}
    assert set(made) == {(r1, "Cash & Carry"), (r2, "Cash & Carry")}
    assert items["Olive oil"][4] == items["Salt"][4] == made[(r1, "Cash & Carry")]
    assert items["Tomatoes"][4] == made[(r2, "Cash & Carry")]
    assert archive[("inventory", "FLOUR")][3] == {"description": "00 flour"}
    assert report["choices"]["suppliers: made from an inventory.supplier name (no supplier row of that name)"] == 2
    # an inventory row of a restaurant in no export: rejected (and no supplier made for it)
    assert any(p.startswith("inventory.csv:") and MISSING_RESTAURANT in r for p, r in rejects["inventory_items"])
    assert "Nowhere" not in {row[2] for row in db["suppliers"]}

    # the ledger and the stock movements -> stock_movements
    moves = {row[0]: row for row in db["stock_movements"]}
    order = ids[("orders", GOOD_ORDER)]

    def move(table, key):
        row = moves[ids[(table, key)]]
        return row[3], str(row[4]), row[7], row[8], row[9]

    assert move("inventory_ledger", "1") == ("restock", "5000.000", None, None, None)
    assert move("inventory_ledger", "2") == ("sale", "-200.000", order, "order", None)
    assert move("inventory_ledger", "3") == ("waste", "-100.000", None, None, None)
    assert move("inventory_ledger", "4") == ("restock", "50.000", None, None, None)
    assert move("inventory_ledger", "5") == ("adjustment", "7.000", None, None, "legacy source recount")
    assert moves[ids[("inventory_ledger", "6")]][1] == r2  # no restaurant of its own: its item's
    assert archive[("inventory_ledger", "1")][3] == {"source_id": "batch-1"}
    po = ids[("purchase_orders", PO_GOOD)]
    assert move("stock_movements", SM_PURCHASE) == ("restock", "1000.000", po, "restock", "delivery")
    assert moves[ids[("stock_movements", SM_PURCHASE)]][5:7] == (Decimal("0.01"), Decimal("10.00"))
    assert moves[ids[("stock_movements", SM_PURCHASE)]][10] == ids[("users", MANAGER)]
    assert move("stock_movements", SM_SALE) == ("sale", "-10.000", order, "order", None)
    assert move("stock_movements", SM_WASTE)[0] == "waste"
    assert move("stock_movements", SM_TRANSFER) == ("adjustment", "-1.000", None, None,
                                                    "legacy movement_type TRANSFER; to the bar")
    assert move("stock_movements", SM_UNKNOWN)[::4] == ("adjustment", "legacy movement_type SHRINKAGE")
    assert report["choices"]["stock_movements: movement_type SHRINKAGE (no legacy type of that name) -> adjustment"
                             " (the type in notes)"] == 1
    assert report["choices"]["inventory_ledger: source recount -> adjustment (the source in notes)"] == 1
    # (archived as the legacy database printed them: numbers as texts)
    assert {"unit": "g", "stock_before": "100.00", "stock_after": "100.00", "reference_type": "purchase_order",
            "reference_id": PO_GOOD}.items() <= archive[("stock_movements", SM_PURCHASE)][3].items()
    # rejected: an item of another restaurant than the row's, an item of a restaurant in no export, a
    # user of another restaurant
    reasons = [r for _, r in rejects["stock_movements"]]
    assert len(reasons) == 3, rejects["stock_movements"]
    assert any(p == "inventory_ledger.csv:8" and r.startswith("inventory_item_id") and "belongs to restaurant" in r
               for p, r in rejects["stock_movements"])
    assert any(p == "inventory_ledger.csv:9" and MISSING_RESTAURANT in r  # (the restaurant of its item)
               for p, r in rejects["stock_movements"])
    assert any(p == "stock_movements.csv:7" and r.startswith("created_by") for p, r in rejects["stock_movements"])

    # purchase orders -> restock orders (status mapped; a supplier of another restaurant and an unknown
    # status rejected), their items with the order's restaurant (an item of another restaurant rejected)
    orders = {row[3]: row for row in db["restock_orders"]}
    assert list(orders) == ["PO-1"]
    assert orders["PO-1"][1:3] == (r1, farm[0]) and orders["PO-1"][5:8] == ("ordered", Decimal("12.00"), "back door")
    assert any(r.startswith("supplier_id") and "belongs to restaurant" in r for _, r in rejects["restock_orders"])
    assert any(r.startswith("status 'lost' is not one of") for _, r in rejects["restock_orders"])
    lines = sorted(db["restock_order_items"])
    assert [(r[1], r[2], r[3], str(r[4]), str(r[5]), str(r[6]), str(r[7])) for r in lines] == [
        (r1, po, flour[0], "1000.000", "0.000", "0.01", "10.00"),
        (r1, po, items["Olive oil"][0], "200.000", "200.000", "0.01", "2.00")]
    assert any(p == "purchase_order_items.csv:4" and r.startswith("inventory_item_id") and "belongs to restaurant" in r
               for p, r in rejects["restock_order_items"])
    assert any(p == "purchase_order_items.csv:5" and "depends on restock_orders" in r
               for p, r in rejects["restock_order_items"])
    assert {"unit": "g", "rejection_reason": "none"}.items() <= archive[("purchase_order_items", POI_OIL)][3].items()

    # the rejects file names the legacy place and the reason
    rejected = (tmp_path / "rejects" / "restock_order_items.csv").read_text()
    assert "purchase_order_items.csv:4" in rejected
    assert report["reconciliation"]["balanced"], report["reconciliation"]


def test_every_legacy_column_is_accounted_for(legacy, tmp_path):
    code, out, report = migrate(legacy["csv"], tmp_path, "--dry-run")
    went = report["where_every_legacy_column_went"]
    for table in legacy_rows():
        header = (legacy["csv"] / f"{table}.csv").read_text().splitlines()[0].split(",")
        assert set(header) <= set(went[table]), table
        assert all(where for where in went[table].values())
        # every column of the legacy DDL is one the importer knows (the added kitchen_note is not)
        unknown = {column for column, where in went[table].items() if "does not know" in where}
        assert unknown == ({"kitchen_note"} if table == "orders" else set()), (table, unknown)
    assert "where every legacy column went:" in out
    # a dry run writes nothing: no id, no archive
    assert snapshot()["legacy_id_map"] == [] and snapshot()["legacy_archive"] == []


def test_logins_rerun_and_tenancy(legacy, tmp_path):
    # given an import of the live database
    code, out, report = migrate(legacy["url"], tmp_path / "first")
    assert code == 1, out
    # bcrypt hashes keep working (upgraded at the first login); Supabase users must set a password
    assert authenticate(email="manager@casa.test", password="manager-pass") is not None
    first = snapshot()
    # (a hash from before bcrypt is unusable: listed too)
    assert [row["email"] for row in report["must_set_a_password"]] == ["emp@casa.test", "old@casa.test"]
    assert "must set a password: emp@casa.test" in out

    # when it runs again (from the dump this time): nothing written, nothing in conflict, although
    # what the import writes is not the source's text (unusable passwords, Decimal from floats,
    # enum names lower-cased, pending -> draft, naive times as UTC, updated_at from created_at)
    code, out, report = migrate(legacy["sql"], tmp_path / "second")
    assert report["conflicts"] == {}, report["conflicts"]
    assert all(t["imported"] == 0 for t in report["tables"].values()), report["tables"]
    assert snapshot() == first

    # the archive and the id map are invisible to the runtime role
    with connections["default"].cursor() as cursor:
        for table in ("legacy_archive", "legacy_id_map"):
            with pytest.raises(Exception, match="permission denied"):
                with connections["default"].cursor() as inner:
                    inner.execute(f"SELECT count(*) FROM {table}")
            connections["default"].rollback() if not connections["default"].get_autocommit() else None
        del cursor

    # row-level security holds per restaurant after the import
    r1 = next(row[0] for row in first["restaurants"] if row[2] == "Casa" and row[1] == first["platforms"][0][0])
    with tenant_context(restaurant=r1):
        numbers = sorted(Order.objects.values_list("order_number", flat=True))
    assert numbers == ["ORD-1"]


def test_stock_rows_are_each_restaurants_own(legacy, tmp_path):
    # given an import of the plain dump
    code, out, report = migrate(legacy["sql"], tmp_path)
    assert code == 1, out
    db = snapshot()
    ids = {(table, key): new_id for table, key, new_id, _ in db["legacy_id_map"]}

    # then the runtime role sees, per restaurant, only that restaurant's stock rows (row-level security)
    def seen(restaurant):
        with tenant_context(restaurant=ids[("restaurants", restaurant)]):
            return {
                "suppliers": sorted(Supplier.objects.values_list("name", flat=True)),
                "items": sorted(InventoryItem.objects.values_list("name", flat=True)),
                "movements": StockMovement.objects.count(),
                "restock_orders": sorted(RestockOrder.objects.values_list("order_number", flat=True)),
                "restock_items": RestockOrderItem.objects.count(),
            }

    assert seen(R1) == {"suppliers": ["Cash & Carry", "Fresh Farm"], "items": ["Flour", "Olive oil", "Salt"],
                        "movements": 10, "restock_orders": ["PO-1"], "restock_items": 2}
    assert seen(R2) == {"suppliers": ["Cash & Carry", "Fresh Farm"], "items": ["Tomatoes"], "movements": 1,
                        "restock_orders": [], "restock_items": 0}
    # an ingredient is named by its own name (no product)
    with tenant_context(restaurant=ids[("restaurants", R2)]):
        item = InventoryItem.objects.get()
    assert str(item) == "300.000 grams of Tomatoes"


def test_custom_dump_without_pg_restore_is_one_clear_line(legacy, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    code, out, report = migrate(legacy["dump"], tmp_path)
    assert code == 2 and "needs pg_restore" in out.split("CommandError: ", 1)[1]


def test_staff_and_billing_rules(legacy, tmp_path):
    # when the CSV files are imported
    code, out, report = migrate(legacy["csv"], tmp_path)
    assert code == 1, out
    db = snapshot()
    ids = {key: new_id for table, key, new_id, _ in db["legacy_id_map"]}
    rejects = {t: [(s.get("place"), s["reason"]) for s in r["sample"]] for t, r in report["rejects"].items()}
    choices = report["choices"]
    archive = {(r[0], r[1]): r[3] for r in db["legacy_archive"]}

    # the legacy plans on every platform, commission_rate = transaction_fee_percentage (naive time: UTC)
    plans = {row[2]: row for row in db["subscription_plans"]}
    assert sorted(plans) == ["alpha", "beta"] and {row[1] for row in plans.values()} == {ids[P1]}
    assert (str(plans["beta"][3]), str(plans["beta"][4]), str(plans["beta"][5])) == ("2.00", "12.50", "49.00")
    assert plans["beta"][6] == {"kds": True} and plans["beta"][7].isoformat() == "2025-07-01T10:00:00+00:00"
    assert {k: v for k, v in archive[("subscription_plans", "2")].items() if k != "updated_at"} == {
        "display_name": "Beta", "price_yearly": "490.00", "max_staff_accounts": "10"}
    # one subscription per restaurant from its subscription_* columns (trial is active); none without a plan;
    # a plan nobody has (gamma) is a reject; the legacy restaurant_subscriptions are unmatched, archived
    assert [(r[1], r[2], r[3].isoformat(), r[4], r[5], str(r[6]), str(r[7])) for r in db["restaurant_subscriptions"]] == [
        (ids[R1], plans["beta"][0], "2025-07-15", None, "active", "2.00", "49.00")]
    assert any(place.startswith("restaurants.csv:") and "'gamma'" in reason
               for place, reason in rejects["restaurant_subscriptions"])
    assert choices["restaurant_subscriptions: status trial -> active"] == 1
    assert ("restaurant_subscriptions", "1") in archive
    assert choices["restaurant_subscriptions: unmatched (its integer restaurant_id is no restaurant's UUID): "
                   "kept in the archive only"] == 1

    # payments carry the commission of their restaurant's plan, as billing computes it
    commissions = {row[2]: (str(row[5]), str(row[6])) for row in db["payments"]}
    orders = {row[2]: row[0] for row in db["orders"]}
    assert commissions[orders["ORD-1"]] == ("2.00", "0.30")  # beta (R1's running subscription): 2 % of 15.00
    assert commissions[orders["ORD-4"]] == ("8.00", "0.32")  # no plan: the guide's basic rate
    from billing.selectors import commission_rate_for
    from fynlo.core.money import percent_of
    from tenants.models import Restaurant
    for row in db["payments"]:
        with tenant_context(restaurant=row[1]):
            rate = commission_rate_for(restaurant=Restaurant.objects.get(pk=row[1]))
        assert (row[5], row[6]) == (rate, percent_of(row[4], rate))

    # employees: employee_id is the number (the same in two restaurants), seasonal is contract,
    # the emergency contact in our columns, its relationship in the archive; a user of another restaurant rejected
    employees = {row[0]: row for row in db["employees"]}
    manager = employees[ids[EMP_MANAGER]]
    assert manager[1:] == (ids[R1], ids[MANAGER], "E1", manager[4], manager[5], "contract", "Mia", "07700 900002")
    assert str(manager[5]) == "12.35" and manager[4].isoformat() == "2025-01-15"
    assert employees[ids[EMP_R2]][3] == "E1" and employees[ids[EMP_R2]][1] == ids[R2]
    assert ids[EMP_WRONG_RESTAURANT] not in employees
    assert any("that user belongs to restaurant" in reason for _, reason in rejects["employees"])
    assert archive[("employee_profiles.emergency_contact", EMP_MANAGER)] == {"emergency_contact": {"relationship": "sister"}}
    assert archive[("employee_profiles", EMP_MANAGER)]["phone"] == "07700 900001"
    assert choices["employees: employment_type seasonal -> contract"] == 1

    # schedules: one per restaurant and week, the week's hours and their cost at the employees' rates;
    # one shift per legacy schedule row
    weeks = {(row[1], row[3].isoformat()): row for row in db["schedules"]}
    assert sorted(weeks) == sorted([(ids[R1], "2025-08-04"), (ids[R1], "2025-08-11"), (ids[R2], "2025-08-04")])
    first_week = weeks[(ids[R1], "2025-08-04")]
    # 7.5 h at 12.35 + 4 h (22:00 to 02:00) at 10.50 = 134.625
    assert (first_week[4].isoformat(), first_week[5], str(first_week[6]), str(first_week[7]), first_week[8]) == (
        "2025-08-10", "published", "11.50", "134.63", ids[MANAGER])
    assert weeks[(ids[R1], "2025-08-11")][5] == "draft"
    shifts = {row[0]: row for row in db["shifts"]}
    monday = shifts[ids[SCH_MONDAY]]
    assert (monday[2], monday[3], monday[4].isoformat(), monday[5].isoformat(), monday[7], monday[8], monday[9],
            monday[10]) == (first_week[0], ids[EMP_MANAGER], "2025-08-04", "09:00:00", 30, "manager", "scheduled", "opening")
    assert shifts[ids[SCH_NIGHT]][8] == "cook" and shifts[ids[SCH_NIGHT]][2] == first_week[0]
    assert shifts[ids[SCH_NEXT_WEEK]][8] is None
    assert archive[("schedules.role", SCH_NEXT_WEEK)] == {"role": "bartender"}
    assert archive[("schedules", SCH_NEXT_WEEK)] == {"section_id": u(990), "swap_requested": "f"}
    assert ids[SCH_DEPENDENT] not in shifts
    assert any("depends on employees" in reason for _, reason in rejects["shifts"])

    # time tracking: the clocked time, pay without the tips (the tips in the archive), approved;
    # naive times UTC; a void shift only in the archive; an employee of another restaurant rejected
    clocked = {row[0]: row for row in db["time_tracking"]}
    approved = clocked[ids[SHIFT_APPROVED]]
    assert (approved[1], approved[2], approved[3], str(approved[6]), str(approved[7]), approved[8]) == (
        ids[R1], ids[EMP_MANAGER], ids[SCH_MONDAY], "7.48", "92.38", "approved")
    assert archive[("shifts", SHIFT_APPROVED)]["tips_cash"] == "5.00"
    assert archive[("shifts", SHIFT_APPROVED)]["total_earnings"] == "104.88"
    assert clocked[ids[SHIFT_NAIVE]][4].isoformat() == "2025-08-06T22:00:00+00:00"
    assert ids[SHIFT_VOID] not in clocked and archive[("shifts", SHIFT_VOID)]["status"] == "void"
    assert ids[SHIFT_OTHER_RESTAURANT] not in clocked
    assert any("belongs to restaurant" in reason for _, reason in rejects["time_tracking"])

    # performance metrics: one row per non-zero figure; a period we do not know rejected; all zero: none
    metrics = sorted((row[2], row[4], str(row[5])) for row in db["performance_metrics"])
    assert metrics == [(ids[EMP_MANAGER], "weekly.customer_rating", "4.75"),
                       (ids[EMP_MANAGER], "weekly.total_sales", "1234.50"),
                       (ids[EMP_MANAGER], "weekly.transaction_count", "80.00")]
    assert any(place.endswith("tables_served") and "quarterly.tables_served" in reason
               for place, reason in rejects["performance_metrics"])
    assert choices["performance_metrics: every figure zero: no row made"] == 1

    # daily reports: the payment breakdown from the cash/card/qr/other columns, top products by the id map
    reports = {row[0]: row for row in db["daily_reports"]}
    report_r1 = reports[ids[REPORT_R1]]
    assert (report_r1[1], str(report_r1[3]), report_r1[4], str(report_r1[5])) == (ids[R1], "15.00", 1, "15.00")
    assert report_r1[6] == {"cash": "0.00", "card": "15.00", "other": "0.00"}
    assert report_r1[7] == [{"product_id": ids[TACO], "name": "Taco", "quantity": 2, "revenue": "7.00"},
                            {"product_id": None, "name": "Gone", "quantity": 1, "revenue": "8.00",
                             "legacy_product_id": u(997)}]
    assert archive[("daily_reports", REPORT_R1)]["total_tax"] == "2.50"
    assert any(MISSING_RESTAURANT in reason for _, reason in rejects["daily_reports"])

    # every reject names its file and line, in the report and in the rejects file
    for table in ("employees", "shifts", "time_tracking", "performance_metrics", "daily_reports"):
        assert all(place and ".csv:" in place for place, _ in rejects[table]), rejects[table]
    with open(tmp_path / "rejects" / "employees.csv", newline="") as handle:
        (rejected,) = list(csv.DictReader(handle))
    assert rejected["line"] == "employee_profiles.csv:5" and rejected["column"] == "user_id"
    assert rejected["employee_number"] == "E9" and "that user belongs to restaurant" in rejected["reason"]
    assert report["reconciliation"]["balanced"], report["reconciliation"]


def test_staff_rows_are_each_restaurants_own(legacy, tmp_path):
    # given an import, run twice: the second writes nothing and finds no conflict
    migrate(legacy["sql"], tmp_path / "first")
    first = snapshot()
    code, out, report = migrate(legacy["csv"], tmp_path / "second")
    assert report["conflicts"] == {}, report["conflicts"]
    assert all(t["imported"] == 0 for t in report["tables"].values()), report["tables"]
    assert snapshot() == first
    # then the runtime role sees, in each restaurant, only that restaurant's staff and billing rows
    from billing.models import RestaurantSubscription
    from pos.models import DailyReport
    from staff.models import Employee, PerformanceMetric, Schedule, Shift, TimeTracking

    tables = {"employees": Employee, "schedules": Schedule, "shifts": Shift, "time_tracking": TimeTracking,
              "performance_metrics": PerformanceMetric, "restaurant_subscriptions": RestaurantSubscription,
              "daily_reports": DailyReport}
    restaurants = [row[0] for row in first["restaurants"]]
    seen = {}
    for restaurant in restaurants:
        with tenant_context(restaurant=restaurant):
            for table, model in tables.items():
                rows = set(model.objects.values_list("id", flat=True))
                expected = {row[0] for row in first[table] if row[1] == restaurant}
                assert rows == expected, (table, restaurant)
                seen[table] = seen.get(table, 0) + len(rows)
    assert all(seen[table] for table in tables), seen
    with tenant_context(restaurant=max(restaurants) + 1000):
        assert not Employee.objects.exists() and not TimeTracking.objects.exists()


def test_without_the_legacy_plans_the_subscription_columns_are_archived(legacy, tmp_path):
    # given an export without subscription_plans
    folder = tmp_path / "csv"
    shutil.copytree(legacy["csv"], folder)
    (folder / "subscription_plans.csv").unlink()
    # when it is imported
    code, out, report = migrate(folder, tmp_path)
    db = snapshot()
    # then no subscription is made, the restaurants' subscription columns are in the archive (and the report
    # says so), and payments take the guide's rate for the restaurant's tier
    assert db["restaurant_subscriptions"] == [] and db["subscription_plans"] == []
    archive = {(r[0], r[1]): r[3] for r in db["legacy_archive"]}
    assert archive[("restaurants", R1)]["subscription_status"] == "trial"
    went = report["where_every_legacy_column_went"]["restaurants"]
    assert went["subscription_status"] == "archive (no subscription_plans in this export)"
    assert went["subscription_plan"] == "restaurants.subscription_tier"
    assert {str(row[5]) for row in db["payments"]} == {"8.00"}


def test_the_order_lines_progress_counts_lines_of_as_many_as_the_orders_hold(tmp_path):
    # given a generated legacy database (~3 lines an order)
    from fynlo.cutover.legacy.generate_v1 import generate_fynlo_v1

    manifest = generate_fynlo_v1(tmp_path / "legacy", platforms=1, restaurants_per_platform=2, orders=40, seed=3)
    assert manifest.order_items > manifest.rows["orders"]
    # when it is imported
    err = io.StringIO()
    call_command("migrate_legacy", str(tmp_path / "legacy"), "--report", str(tmp_path / "report.json"),
                 "--rejects", str(tmp_path / "rejects"), stdout=io.StringIO(), stderr=err)
    # then the order lines' progress ends at its total: the lines, not the orders they come from
    lines = [line for line in err.getvalue().splitlines() if line.startswith("order_items")]
    assert lines and lines[-1].startswith(f"order_items [{'#' * 24}] {manifest.order_items}/{manifest.order_items} rows"), lines


def test_id_maps_left_in_the_database_give_the_same_import(legacy, tmp_path, monkeypatch):
    from fynlo.cutover.legacy.ids import StoredKeyMap

    # given the legacy database imported with its id maps held in the process (small maps are)
    code, _, held = migrate(legacy["sql"], tmp_path / "held")
    expected, expected_rejects = snapshot(), rejects_of(tmp_path / "held")
    assert {entry["kept"] for entry in held["id_maps"].values()} == {"in memory"}
    # when it is imported again into an empty database with the big tables' maps left in the
    # database (as a full import of more than StoredKeyMap.ABOVE orders or payments does)
    monkeypatch.setattr(StoredKeyMap, "ABOVE", 0)
    for kind in ("sql", "url"):
        wipe()
        stored_code, out, stored = migrate(legacy[kind], tmp_path / kind)
        # then the database, the rejects and their reasons are the same (from the dump and the live URL)
        assert stored_code == code, out
        assert snapshot() == expected
        if kind == "sql":  # (a URL's rejects name their place as `orders id=<uuid>`, not a dump's line)
            assert rejects_of(tmp_path / kind) == expected_rejects
        assert {t: r["count"] for t, r in stored["rejects"].items()} == {t: r["count"] for t, r in held["rejects"].items()}
        assert stored["reconciliation"] == held["reconciliation"]
        # and those maps were read a look-ahead at a time, never a key alone
        for name in ("orders", "orders.items", "payments"):
            entry = stored["id_maps"][name]
            assert entry["kept"] == "in the database", (name, entry)
            assert entry["keys"] == held["id_maps"][name]["keys"] > 0
            assert entry["batch_lookups"] > 0 and entry["single_lookups"] == 0, (kind, name, entry)
        assert stored["id_maps"]["products"]["kept"] == "in memory"


def test_the_stored_maps_are_looked_up_with_the_id_maps_statistics_of_this_run(legacy, tmp_path, monkeypatch):
    from fynlo.cutover.legacy import importer
    from fynlo.cutover.legacy.ids import StoredKeyMap

    # given a database whose id map was analyzed empty (as a new one's: no statistics of its keys),
    # and an import that leaves its big maps in the database and analyzes what grew
    monkeypatch.setattr(StoredKeyMap, "ABOVE", 0)
    monkeypatch.setattr(importer, "ANALYZE_THRESHOLD", 1)
    dbname = settings.DATABASES["owner"]["TEST"]["NAME"]
    with psycopg.connect(owner_conninfo(dbname), autocommit=True) as conn:
        conn.execute("ANALYZE legacy_id_map")
    seen = []
    read = StoredKeyMap.read

    def observed(self, keys, conn=None):
        with psycopg.connect(owner_conninfo(dbname)) as watcher:
            seen.append(watcher.execute(
                "SELECT reltuples, (SELECT count(*) FROM legacy_id_map) FROM pg_class"
                " WHERE oid = 'legacy_id_map'::regclass").fetchone())
        return read(self, keys, conn)

    monkeypatch.setattr(StoredKeyMap, "read", observed)
    # when it runs
    code, out, _ = migrate(legacy["sql"], tmp_path / "run")
    # then the stored maps' lookups during the loads (once the keys given ids are committed) were
    # planned from statistics that count this run's keys (from none, each look-ahead read every key
    # of its legacy table: ~350 ms, not ~10, at 2M orders)
    assert code in (0, 1), out
    during_loads = [(counted, entries) for counted, entries in seen if entries]
    assert during_loads and all(counted == entries for counted, entries in during_loads), seen


def rejects_of(folder: Path) -> dict[str, list[list[str]]]:
    return {path.name: sorted(csv.reader(path.open(encoding="utf-8")))
            for path in sorted((folder / "rejects").glob("*.csv"))}
