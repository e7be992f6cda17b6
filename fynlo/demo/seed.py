"""The guide's demo restaurant (step 3.3, its mock-data script), seeded deterministically.

The data is the guide's: the Fynlo platform and its three plans, "Fynlo Mexican Restaurant"
with its menu, suppliers and staff, and twenty completed orders. What it does differently:

- every amount is a Decimal built from a string or an int, never a float; orders are priced
  by the till's own rules and the restaurant's rates (`pos.pricing`), and the commission is
  the platform's rate recorded by billing (`billing.services.commission_record`);
- order numbers are `FYN-DEMO-0001`..`FYN-DEMO-0020`, not `timestamp % 1000000`;
- passwords are real hashes (`set_password`) of one demo password, not `$2b$12$dummy_hash`;
- the random parts come from `random.Random` seeded per section, and the whole data set is
  built before the database is touched, so a run that finds some rows missing creates them
  with the values a fresh run would have given them;
- it is idempotent: rows are looked up by their natural keys and only missing ones are
  created; nothing that exists is changed (except passwords, when one is given explicitly).

Dates are relative to the day the rows are created (orders of the last seven days), so a
fresh demo always has recent sales; existing rows keep theirs.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache

from django.contrib.auth.hashers import check_password
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from billing.models import CommissionRecord, RestaurantSubscription, SubscriptionPlan, SubscriptionStatus
from billing.plans import DEFAULT_PLAN, GUIDE_PLANS
from billing.selectors import commission_rate_for
from billing.services import commission_record
from fynlo.core.messages import first_line
from fynlo.core.money import ZERO
from inventory.models import (
    Category,
    InventoryItem,
    ModifierGroup,
    ModifierOption,
    Product,
    ProductModifierGroup,
    Supplier,
)
from pos.errors import PosError
from pos.models import Order, OrderItem, OrderStatus, Payment, PaymentStatus
from pos.pricing import Rates, order_price, restaurant_rates
from staff.models import Employee
from tenants.context import tenant_context
from tenants.models import Platform, Restaurant, RestaurantSetting, SettingType, User, UserRole
from tenants.selectors import DEFAULT_SERVICE_CHARGE_RATE, DEFAULT_VAT_RATE

DEMO_SEED = 20250301
DEFAULT_DEMO_PASSWORD = "fynlo-demo-2025"
DEMO_PASSWORD_ENV = "DEMO_PASSWORD"

PLATFORM = {
    "name": "Fynlo Platform",
    "slug": "fynlo",
    "owner_email": "admin@fynlo.com",
    "is_active": True,
    "total_restaurants": 1,
    "monthly_revenue": Decimal("125400.00"),
}

RESTAURANT_PLAN = DEFAULT_PLAN.name

RESTAURANT = {
    "name": "Fynlo Mexican Restaurant",
    "slug": "fynlo-mexican",
    "business_type": "mexican_restaurant",
    "address": "123 High Street, London, UK",
    "phone": "+44 20 1234 5678",
    "email": "demo@fynlo.com",
    "is_active": True,
    "subscription_tier": RESTAURANT_PLAN,
    "monthly_revenue": Decimal("15620.50"),
}

RESTAURANT_SETTINGS = [
    ("vat_rate", DEFAULT_VAT_RATE),
    ("service_charge_rate", DEFAULT_SERVICE_CHARGE_RATE),
]

# name, icon, display order
CATEGORIES = [
    ("Snacks", "🧀", 1),
    ("Tacos", "🌮", 2),
    ("Special Tacos", "⭐", 3),
    ("Burritos", "🌯", 4),
    ("Sides", "🍟", 5),
    ("Drinks", "🍺", 6),
]

# name, category, price, cost, description
PRODUCTS = [
    ("Nachos", "Snacks", "5.00", "2.50",
     "Homemade corn tortilla chips with black beans, tomato salsa, pico de gallo, feta, guac & coriander"),
    ("Quesadillas", "Snacks", "5.50", "2.75",
     "Folded flour tortilla filled with mozzarella, topped with tomato salsa, feta & coriander"),
    ("Chorizo Quesadilla", "Snacks", "5.50", "3.00",
     "Folded flour tortilla filled with chorizo & mozzarella. Topped with tomato salsa, feta & coriander"),
    ("Chicken Quesadilla", "Snacks", "5.50", "3.25",
     "Folded flour tortilla filled with chicken, peppers, onion & mozzarella. "
     "Topped with salsa, feta & coriander"),
    ("Tostada", "Snacks", "6.50", "3.50",
     "Crispy tortillas with black beans filled with chicken or any topping, served with salsa, lettuce and feta"),
    ("Carnitas", "Tacos", "3.50", "1.75",
     "Slow cooked pork, served with onion, coriander, salsa, guacamole & coriander"),
    ("Cochinita", "Tacos", "3.50", "1.75", "Marinated pulled pork served with pickle red onion"),
    ("Barbacoa de Res", "Tacos", "3.50", "1.85", "Juicy pulled beef topped with onion, guacamole & coriander"),
    ("Chorizo", "Tacos", "3.50", "1.65", "Grilled chorizo with black beans, onions, salsa, coriander & guacamole"),
    ("Chicken Fajita", "Tacos", "3.50", "1.75",
     "Chicken, peppers & onion with black beans. Topped with salsa, guac & coriander"),
    ("Pescado", "Tacos", "3.50", "2.00",
     "Battered cod with guacamole & coriander. Topped with red cabbage & mango chilli salsa"),
    ("Carne Asada", "Special Tacos", "4.50", "2.75",
     "Diced rump steak with peppers and red onion. Served on black beans, topped with chimichurri sauce & coriander"),
    ("Camaron", "Special Tacos", "4.50", "3.00",
     "Prawns with chorizo, peppers and red onion. Served on black beans, "
     "topped with tomato salsa, coriander & guacamole"),
    ("Regular Burrito", "Burritos", "8.00", "4.50",
     "Choose any filling from the taco menu! With black beans, lettuce, pico de gallo, & guacamole. "
     "Topped with salsa, feta and coriander."),
    ("Special Burrito", "Burritos", "10.00", "5.50",
     "Choose any filling from the special tacos menu! With black beans, lettuce, pico de gallo, & guacamole. "
     "Topped with salsa, feta and coriander."),
    ("Skinny Fries", "Sides", "3.50", "1.25", "Thin cut fries"),
    ("Pico de Gallo", "Sides", "0.00", "0.00", "Diced tomato, onion and chilli - FREE!"),
    ("Pink Paloma", "Drinks", "3.75", "1.50",
     "An alcohol-free version of our refreshing cocktail. Tangy lime juice and grapefruit soda, "
     "with a splash of grenadine"),
    ("Corona", "Drinks", "3.80", "2.00", "Mexican beer"),
    ("Modelo", "Drinks", "4.00", "2.20",
     "Rich, full-flavoured Pilsner style Lager. Crisp and refreshing. 355ml"),
]

# The burritos' "Choose any filling from the (special) tacos menu!" and the extras, as modifier groups:
# name, min selected, max selected (None: no limit), repeats allowed, display order, the products offering
# it, and its options (name, price change).
MODIFIER_GROUPS = [
    ("Taco filling", 1, 1, False, 0, ["Regular Burrito"], [
        (name, "0.00")
        for name in ("Carnitas", "Cochinita", "Barbacoa de Res", "Chorizo", "Chicken Fajita", "Pescado")
    ]),
    ("Special filling", 1, 1, False, 1, ["Special Burrito"], [("Carne Asada", "0.00"), ("Camaron", "0.00")]),
    ("Extras", 0, None, True, 2, ["Regular Burrito", "Special Burrito", "Nachos"], [
        ("Extra guacamole", "1.50"), ("Extra feta", "0.75"), ("Jalapeños", "0.50"), ("No feta", "-0.50"),
    ]),
]

# name, contact person, email, phone, address, payment terms
SUPPLIERS = [
    ("Fresh Foods Ltd", "Maria Garcia", "maria@freshfoods.co.uk", "+44 20 7123 4567",
     "45 Wholesale Market, London E1 6AA", "Net 30"),
    ("Mexican Imports Co", "Carlos Rodriguez", "carlos@mexicanimports.co.uk", "+44 20 8234 5678",
     "12 Spice Street, London NW1 2BB", "Net 15"),
    ("Premium Beverages", "Sarah Johnson", "sarah@premiumbev.co.uk", "+44 20 9345 6789",
     "78 Brewery Lane, London SE1 3CC", "Net 21"),
    ("Local Produce Hub", "David Smith", "david@localproduce.co.uk", "+44 20 6456 7890",
     "23 Farm Gate, London SW2 4DD", "Net 7"),
]

PLATFORM_OWNER = {
    "email": "admin@fynlo.com",
    "first_name": "Platform",
    "last_name": "Admin",
    "phone": "+44 20 1111 0000",
    "role": UserRole.PLATFORM_OWNER,
}
# Not in the guide: the owner of the demo restaurant (restaurant settings are theirs to change).
RESTAURANT_OWNER = {
    "email": "owner@demo.com",
    "first_name": "Demo",
    "last_name": "Owner",
    "phone": "+44 20 1234 5000",
    "role": UserRole.RESTAURANT_OWNER,
}

# email, first name, last name, phone, role, job title, department, hourly rate, employment type
STAFF = [
    ("manager@demo.com", "Demo", "Manager", "+44 20 1234 5001", UserRole.MANAGER,
     "Manager", "Management", "18.50", "full_time"),
    ("sarah.johnson@demo.com", "Sarah", "Johnson", "+44 20 1234 5002", UserRole.CASHIER,
     "Senior Cashier", "Front of House", "12.50", "full_time"),
    ("mike.chen@demo.com", "Mike", "Chen", "+44 20 1234 5003", UserRole.COOK,
     "Head Chef", "Kitchen", "16.75", "full_time"),
    ("emma.davis@demo.com", "Emma", "Davis", "+44 20 1234 5004", UserRole.SERVER,
     "Senior Server", "Front of House", "11.25", "part_time"),
    ("tom.wilson@demo.com", "Tom", "Wilson", "+44 20 1234 5005", UserRole.CASHIER,
     "Cashier", "Front of House", "10.50", "part_time"),
    ("anna.garcia@demo.com", "Anna", "Garcia", "+44 20 1234 5006", UserRole.COOK,
     "Line Cook", "Kitchen", "13.25", "full_time"),
]
FIRST_EMPLOYEE_NUMBER = 1001
# Orders are taken by front-of-house staff, not by the kitchen.
ORDER_TAKING_ROLES = {UserRole.MANAGER, UserRole.CASHIER, UserRole.SERVER}

ORDER_COUNT = 20
ORDER_NUMBER_FORMAT = "FYN-DEMO-{:04d}"
ORDER_DAYS_BACK = 7
OPENING_HOURS = (11, 21)  # first and last hour in which an order is taken, local time
SUBSCRIPTION_AGE_DAYS = 90
PAYMENT_METHODS = ["card", "cash", "apple_pay"]
ORDER_TYPES = ["dine_in", "takeaway"]

# The order in which the report lists the tables.
TABLES = [
    "platforms", "subscription_plans", "restaurants", "restaurant_subscriptions", "restaurant_settings",
    "categories", "products", "modifier_groups", "modifier_options", "product_modifier_groups",
    "suppliers", "inventory_items", "users", "employees",
    "orders", "order_items", "payments", "commission_records",
]


class DemoSeedError(Exception):
    """The demo data cannot be seeded; the message is one line for the operator."""


@dataclass
class TableCount:
    created: int = 0
    existing: int = 0
    updated: int = 0


@dataclass
class DemoReport:
    """What one run did, per table."""

    restaurant_name: str
    tables: dict[str, TableCount] = field(default_factory=lambda: {table: TableCount() for table in TABLES})

    @property
    def created(self) -> int:
        return sum(count.created for count in self.tables.values())

    @property
    def existing(self) -> int:
        return sum(count.existing for count in self.tables.values())

    def count(self, table: str, *, created: int = 0, existing: int = 0, updated: int = 0) -> None:
        counts = self.tables[table]
        counts.created += created
        counts.existing += existing
        counts.updated += updated


@dataclass(frozen=True)
class DemoLogin:
    """A demo login; `password` is None when the stored password is no longer the given one."""

    label: str
    email: str
    password: str | None


def demo_password(explicit: str | None = None) -> str:
    """The demo password: the explicit one, else $DEMO_PASSWORD, else the default."""
    return explicit or os.environ.get(DEMO_PASSWORD_ENV) or DEFAULT_DEMO_PASSWORD


# --- The data set, built before the database is touched -----------------------------------


@dataclass(frozen=True)
class _InventoryPlan:
    sku: str
    supplier: str
    current_stock: Decimal
    minimum_stock: Decimal
    maximum_stock: Decimal
    reorder_point: Decimal
    turnover_rate: Decimal
    wastage_rate: Decimal
    last_restocked: datetime


@dataclass(frozen=True)
class _LinePlan:
    sku: str
    quantity: int


@dataclass(frozen=True)
class _OrderPlan:
    order_number: str
    placed_at: datetime
    order_type: str
    table_number: str | None
    served_by: str  # employee number
    payment_method: str
    lines: tuple[_LinePlan, ...]


@dataclass(frozen=True)
class _DemoPlan:
    subscription_start: date
    hire_dates: dict[str, date]  # by employee number
    inventory: tuple[_InventoryPlan, ...]
    orders: tuple[_OrderPlan, ...]


def product_sku(name: str) -> str:
    """The guide's SKU: `FYNLO-` and the name upper-cased, spaces as dashes."""
    return f"FYNLO-{name.upper().replace(' ', '-')}"


def employee_number(index: int) -> str:
    return f"EMP{FIRST_EMPLOYEE_NUMBER + index}"


def _pennies(rng: random.Random, low: int, high: int) -> Decimal:
    """A random amount between low and high pennies, as a two-place Decimal."""
    return Decimal(rng.randint(low, high)).scaleb(-2)


def _local(day: date, at: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, at))


def _rng(seed: int, section: str) -> random.Random:
    # One generator per section, so that changing one section's data leaves the others alone.
    return random.Random(f"{seed}:{section}")


def _build_plan(*, seed: int, today: date) -> _DemoPlan:
    rng = _rng(seed, "inventory")
    suppliers = [name for name, *_ in SUPPLIERS]
    inventory = []
    for name, *_ in PRODUCTS:
        current = rng.randint(10, 100)
        minimum = rng.randint(5, 15)
        inventory.append(_InventoryPlan(
            sku=product_sku(name),
            supplier=rng.choice(suppliers),
            current_stock=Decimal(current),
            minimum_stock=Decimal(minimum),
            maximum_stock=Decimal(current + rng.randint(50, 150)),
            reorder_point=Decimal(minimum + 5),
            turnover_rate=_pennies(rng, 200, 850),
            wastage_rate=_pennies(rng, 100, 500),
            last_restocked=_local(today - timedelta(days=rng.randint(1, 30)), time(8, 0)),
        ))

    rng = _rng(seed, "staff")
    hire_dates = {employee_number(i): today - timedelta(days=rng.randint(30, 730)) for i in range(len(STAFF))}

    rng = _rng(seed, "orders")
    order_takers = [employee_number(i) for i, staff in enumerate(STAFF) if staff[4] in ORDER_TAKING_ROLES]
    skus = [product_sku(name) for name, *_ in PRODUCTS]
    first_hour, last_hour = OPENING_HOURS
    # Yesterday back to a week ago, in opening hours: never in the future, whatever the hour.
    times = sorted(
        _local(
            today - timedelta(days=rng.randint(1, ORDER_DAYS_BACK)),
            time(rng.randint(first_hour, last_hour), rng.randint(0, 59)),
        )
        for _ in range(ORDER_COUNT)
    )
    orders = []
    for number, placed_at in enumerate(times, start=1):
        order_type = rng.choice(ORDER_TYPES)
        table = rng.randint(1, 20)
        orders.append(_OrderPlan(
            order_number=ORDER_NUMBER_FORMAT.format(number),
            placed_at=placed_at,
            order_type=order_type,
            table_number=f"Table {table}" if order_type == "dine_in" else None,
            served_by=rng.choice(order_takers),
            payment_method=rng.choice(PAYMENT_METHODS),
            lines=tuple(
                _LinePlan(sku=sku, quantity=rng.randint(1, 3)) for sku in rng.sample(skus, rng.randint(1, 4))
            ),
        ))

    return _DemoPlan(
        subscription_start=today - timedelta(days=SUBSCRIPTION_AGE_DAYS),
        hire_dates=hire_dates,
        inventory=tuple(inventory),
        orders=tuple(orders),
    )


# --- Writing it -------------------------------------------------------------------------------


class _Seeder:
    """Looks each row up by its natural key and creates only the missing ones."""

    def __init__(self, *, plan: _DemoPlan, report: DemoReport, password: str, reset_password: bool):
        self.plan = plan
        self.report = report
        self.password = password
        self.reset_password = reset_password

    def ensure(self, model, lookup: dict, values: dict):
        """The row with this natural key; created with `values` when missing, else left as it is."""
        table = model._meta.db_table
        row = model.objects.filter(**lookup).order_by("pk").first()
        if row is not None:
            self.report.count(table, existing=1)
            return row
        self.report.count(table, created=1)
        return model.objects.create(**lookup, **values)

    def run(self) -> None:
        platform = self.ensure(
            Platform, {"slug": PLATFORM["slug"]}, {key: value for key, value in PLATFORM.items() if key != "slug"}
        )
        plans = {
            plan.name: self.ensure(SubscriptionPlan, {"platform": platform, "name": plan.name}, {
                "commission_rate": plan.commission_rate,
                "service_fee_rate": plan.service_fee_rate,
                "monthly_fee": plan.monthly_fee,
                "max_restaurants": plan.max_restaurants,
                "features": {},
                "is_active": True,
            })
            for plan in GUIDE_PLANS
        }
        restaurant = self.ensure(
            Restaurant,
            {"platform": platform, "slug": RESTAURANT["slug"]},
            {key: value for key, value in RESTAURANT.items() if key != "slug"},
        )
        plan = plans[RESTAURANT_PLAN]
        self.ensure(RestaurantSubscription, {"restaurant": restaurant, "plan": plan}, {
            "start_date": self.plan.subscription_start,
            "status": SubscriptionStatus.ACTIVE,
            "commission_rate": plan.commission_rate,
            "monthly_fee": plan.monthly_fee,
        })
        for key, value in RESTAURANT_SETTINGS:
            self.ensure(RestaurantSetting, {"restaurant": restaurant, "setting_key": key}, {
                "setting_value": str(value),
                "setting_type": SettingType.NUMBER,
            })

        products = self.menu(restaurant)
        self.modifiers(restaurant, products)
        self.stock(restaurant, products)
        employees = self.people(platform, restaurant)
        self.orders(restaurant, products, employees)

    def menu(self, restaurant) -> dict[str, Product]:
        categories = {
            name: self.ensure(Category, {"restaurant": restaurant, "name": name}, {
                "icon": icon, "display_order": display_order, "is_active": True,
            })
            for name, icon, display_order in CATEGORIES
        }
        return {
            product_sku(name): self.ensure(Product, {"restaurant": restaurant, "sku": product_sku(name)}, {
                "category": categories[category],
                "name": name,
                "description": description,
                "price": Decimal(price),
                "cost": Decimal(cost),
                "is_active": True,
                "available_in_pos": True,
                "track_inventory": True,
            })
            for name, category, price, cost, description in PRODUCTS
        }

    def modifiers(self, restaurant, products: dict[str, Product]) -> None:
        for name, least, most, repeat, order, offered_with, options in MODIFIER_GROUPS:
            group = self.ensure(ModifierGroup, {"restaurant": restaurant, "name": name}, {
                "min_selected": least, "max_selected": most, "allow_repeat": repeat, "display_order": order,
                "is_active": True,
            })
            for position, (option, price_change) in enumerate(options):
                self.ensure(ModifierOption, {"restaurant": restaurant, "group": group, "name": option}, {
                    "price_change": Decimal(price_change), "display_order": position, "is_active": True,
                })
            for product_name in offered_with:
                self.ensure(ProductModifierGroup, {
                    "restaurant": restaurant, "product": products[product_sku(product_name)], "group": group,
                }, {})

    def stock(self, restaurant, products: dict[str, Product]) -> None:
        suppliers = {
            name: self.ensure(Supplier, {"restaurant": restaurant, "name": name}, {
                "contact_person": contact, "email": email, "phone": phone, "address": address,
                "payment_terms": terms, "is_active": True,
            })
            for name, contact, email, phone, address, terms in SUPPLIERS
        }
        for item in self.plan.inventory:
            product = products[item.sku]
            self.ensure(InventoryItem, {"restaurant": restaurant, "product": product}, {
                "supplier": suppliers[item.supplier],
                "current_stock": item.current_stock,
                "minimum_stock": item.minimum_stock,
                "maximum_stock": item.maximum_stock,
                "reorder_point": item.reorder_point,
                # the guide draws a random unit cost; the product's own cost is the true one
                "unit_cost": product.cost if product.cost is not None else Decimal("0.00"),
                "unit_measure": "each",
                "last_restocked": item.last_restocked,
                "turnover_rate": item.turnover_rate,
                "wastage_rate": item.wastage_rate,
            })

    def user(self, *, email: str, platform, restaurant, **values) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User(email=email, platform=platform, restaurant=restaurant, is_active=True, **values)
            user.set_password(self.password)
            user.save()
            self.report.count("users", created=1)
            return user
        if user.platform_id != platform.pk or user.restaurant_id != getattr(restaurant, "pk", None):
            where = f"restaurant {user.restaurant_id}" if user.restaurant_id else f"platform {user.platform_id}"
            raise DemoSeedError(f"user {email} already exists in {where}, not in the demo; remove or rename it first")
        self.report.count("users", existing=1)
        if self.reset_password and not check_password(self.password, user.password):
            user.set_password(self.password)
            user.save(update_fields=["password"])
            self.report.count("users", updated=1)
        return user

    def people(self, platform, restaurant) -> dict[str, Employee]:
        self.user(platform=platform, restaurant=None, **PLATFORM_OWNER)
        self.user(platform=platform, restaurant=restaurant, **RESTAURANT_OWNER)
        employees = {}
        for index, (email, first, last, phone, role, title, department, rate, kind) in enumerate(STAFF):
            user = self.user(
                email=email, platform=platform, restaurant=restaurant,
                first_name=first, last_name=last, phone=phone, role=role,
            )
            number = employee_number(index)
            employees[number] = self.ensure(Employee, {"restaurant": restaurant, "employee_number": number}, {
                "user": user,
                "hire_date": self.plan.hire_dates[number],
                "job_title": title,
                "department": department,
                "hourly_rate": Decimal(rate),
                "employment_type": kind,
                "is_active": True,
            })
        return employees

    def orders(self, restaurant, products, employees) -> None:
        numbers = [order.order_number for order in self.plan.orders]
        existing = {order.order_number: order for order in Order.objects.filter(order_number__in=numbers)}
        foreign = sorted(number for number, order in existing.items() if order.restaurant_id != restaurant.pk)
        if foreign:
            raise DemoSeedError(f"order number {foreign[0]} is already used by restaurant "
                                f"{existing[foreign[0]].restaurant_id}; the demo's order numbers must be free")
        paid = set(Payment.objects.filter(order__in=existing.values()).values_list("order_id", flat=True))
        recorded = {record.order_id: record for record in CommissionRecord.objects.filter(
            restaurant=restaurant, order_id__in=[order.pk for order in existing.values()],
        ).order_by("pk")}
        if existing:
            self.report.count("orders", existing=len(existing))
            self.report.count("order_items", existing=OrderItem.objects.filter(order__in=existing.values()).count())
            self.report.count("payments", existing=Payment.objects.filter(order__in=existing.values()).count())
            self.report.count("commission_records", existing=len(recorded))

        # The till's rates and the platform's commission, as a payment at the till would take them.
        try:
            rates = restaurant_rates(restaurant_id=restaurant.pk)
        except PosError as error:
            raise DemoSeedError(error.message) from error
        commission_rate = commission_rate_for(restaurant=restaurant)
        for planned in self.plan.orders:
            order = existing.get(planned.order_number)
            if order is None:
                order = self.create_order(planned, restaurant, products, employees, rates=rates)
            # An existing order keeps its lines and totals; a payment or commission record that
            # went missing is made again from the order as stored.
            commission = recorded.get(order.pk)
            if commission is None:
                self.report.count("commission_records", created=1)
                commission = commission_record(
                    restaurant=restaurant, order_id=order.pk, gross_amount=order.total_amount,
                    rate=commission_rate, processed_at=order.created_at,
                )
            if order.pk not in paid:
                self.report.count("payments", created=1)
                Payment.objects.create(
                    restaurant=restaurant,
                    order=order,
                    payment_method=planned.payment_method,
                    amount=order.total_amount,
                    commission_rate=commission.commission_rate,
                    commission_amount=commission.commission_amount,
                    status=PaymentStatus.COMPLETED,
                    processed_at=order.created_at,
                    created_at=order.created_at,
                )

    def create_order(self, planned: _OrderPlan, restaurant, products, employees, *, rates: Rates) -> Order:
        lines = [(products[line.sku], line.quantity) for line in planned.lines]
        price = order_price(
            lines=[(product.price, quantity) for product, quantity in lines], rates=rates, discount_amount=ZERO
        )
        server = employees[planned.served_by]
        order = Order.objects.create(
            restaurant=restaurant,
            order_number=planned.order_number,
            table_number=planned.table_number,
            order_type=planned.order_type,
            status=OrderStatus.COMPLETED,
            **price.order_fields(),
            served_by=server,
            created_by_id=server.user_id,
            created_at=planned.placed_at,
            updated_at=planned.placed_at,
        )
        OrderItem.objects.bulk_create(
            OrderItem(
                restaurant=restaurant, order=order, product=product, quantity=quantity,
                unit_price=priced.unit_price, total_price=priced.total_price, created_at=planned.placed_at,
            )
            for (product, quantity), priced in zip(lines, price.lines)
        )
        self.report.count("orders", created=1)
        self.report.count("order_items", created=len(lines))
        return order


def demo_seed(*, password: str | None = None, seed: int = DEMO_SEED, today: date | None = None) -> DemoReport:
    """Seed the guide's demo restaurant, creating only missing rows; one transaction.

    `password` given: every demo user gets it (existing ones too). None: new users get
    `demo_password()`, existing users keep theirs. `today` anchors the dates of new rows.
    """
    if password is not None and not password.strip():
        raise DemoSeedError("the demo password must not be empty")
    plan = _build_plan(seed=seed, today=today or timezone.localdate())
    report = DemoReport(restaurant_name=RESTAURANT["name"])
    seeder = _Seeder(plan=plan, report=report, password=demo_password(password), reset_password=password is not None)
    try:
        with transaction.atomic(using="default"), tenant_context(all_tenants=True):
            with connection.cursor() as cursor:
                # Two seeders at once would both find a plan missing and both create it.
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('fynlo.seed_demo'))")
            seeder.run()
    except IntegrityError as error:
        raise DemoSeedError(f"the demo data conflicts with existing rows: {first_line(error)}") from error
    return report


def demo_logins(*, password: str) -> list[DemoLogin]:
    """One login per role (platform owner, restaurant owner, manager, cashier, server, cook), with
    `password` where it still opens it."""
    wanted = [PLATFORM_OWNER["email"], RESTAURANT_OWNER["email"]]
    for role in (UserRole.MANAGER, UserRole.CASHIER, UserRole.SERVER, UserRole.COOK):
        wanted.append(next(staff[0] for staff in STAFF if staff[4] == role))
    with tenant_context(all_tenants=True):
        users = {user.email: user for user in User.objects.filter(email__in=wanted).only("email", "role", "password")}
    return [
        DemoLogin(label=UserRole(users[email].role).label, email=email,
                  password=password if _password_opens(password, users[email].password) else None)
        for email in wanted if email in users
    ]


@lru_cache(maxsize=64)
def _password_opens(password: str, encoded: str) -> bool:
    # check_password is slow on purpose (PBKDF2, about 0.5 s here) and the landing page asks for
    # every role on every visit; the answer for one stored hash never changes.
    return check_password(password, encoded)
