"""Every write to orders, payments and refunds.

Locks are taken in one order everywhere, so concurrent requests queue instead of
deadlocking: a cash drawer (pos.drawers), then an order, then its payment, then inventory
items (by primary key, in inventory.services). A new order locks the stock it may take first,
then the day's order number counter (only new orders take it, and nothing they lock after it
is older than them).

Statements per request are capacity (DESIGN.md): placing an order or taking a payment reads
what it needs in a few statements and writes in one or two (fynlo.core.statements), and the
caller answers from what was written. The services open no savepoint of their own (each is
two statements): inside the request's transaction a failure rolls the request back, as the
API's error handler does anyway; a caller that carries on after a failure wraps the call in
its own `transaction.atomic()` (order_create_once, payment_record_once, the sync batch's
elements).
"""

from __future__ import annotations

import datetime
import uuid
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.selectors import restaurant_for_commission_later
from billing.services import commission_for
from fynlo.core.api import get_or_404
from fynlo.core.money import ZERO, money_text
from fynlo.core.services import model_update
from fynlo.core.statements import cached_related, insert, new_row, raw, update
from inventory.errors import InsufficientStock
from inventory.models import InventoryItem, Product
from inventory.selectors import ModifierMenu, modifier_menu, modifier_menu_later, products_by_id
from inventory.services import (
    products_for_sale_later,
    stock_move_for_order,
    stock_oversold,
    stock_return_for_order,
)
from pos import drawers, modifiers
from pos.errors import PosError, VersionConflict
from pos.models import (
    TAKEN_PAYMENT_STATUSES,
    Order,
    OrderItem,
    OrderStatus,
    OrderType,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from pos.pricing import DiscountTooLarge, order_price, order_rates, restaurant_rates, unit_price
from staff.models import Employee

# Where an order may go from each status. Completing needs the order paid in full (payments
# complete it by themselves); cancelling needs every payment refunded first.
TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.DRAFT: frozenset({OrderStatus.CONFIRMED, OrderStatus.CANCELLED}),
    OrderStatus.CONFIRMED: frozenset({
        OrderStatus.PREPARING, OrderStatus.READY, OrderStatus.COMPLETED, OrderStatus.CANCELLED,
    }),
    OrderStatus.PREPARING: frozenset({OrderStatus.READY, OrderStatus.COMPLETED, OrderStatus.CANCELLED}),
    OrderStatus.READY: frozenset({OrderStatus.COMPLETED, OrderStatus.CANCELLED}),
    OrderStatus.COMPLETED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}
# What the kitchen may set.
KITCHEN_STATUSES = frozenset({OrderStatus.PREPARING, OrderStatus.READY})
CARD_LIKE = frozenset({PaymentMethod.CARD, PaymentMethod.APPLE_PAY, PaymentMethod.SUMUP})


def _lock_order(
    *, restaurant_id: int, order_id: int, with_amount_paid: bool = False, with_drawers_open: bool = False
) -> Order:
    """The order, locked; `with_amount_paid`: with `amount_paid` (what its payments took, refunds
    not deducted) read by the same statement; `with_drawers_open`: with `drawers_open`, whether
    any cash drawer of the restaurant is open, likewise."""
    orders = Order.objects.select_for_update().filter(restaurant_id=restaurant_id)
    if with_drawers_open:
        orders = orders.annotate(drawers_open=Exists(drawers.open_drawers(restaurant_id=OuterRef("restaurant_id"))))
    if with_amount_paid:
        taken = (
            Payment.objects.filter(order=OuterRef("pk"), status__in=TAKEN_PAYMENT_STATUSES)
            .order_by().values("order").annotate(total=Sum("amount")).values("total")
        )
        orders = orders.annotate(amount_paid=Coalesce(Subquery(taken), Value(ZERO)))
    return get_or_404(orders, pk=order_id, what="order")


def _amount_paid(order: Order) -> Decimal:
    """What the order's payments took, refunds not deducted."""
    total = Payment.objects.filter(order=order, status__in=TAKEN_PAYMENT_STATUSES).aggregate(total=Sum("amount"))["total"]
    return total or ZERO


def _amount_refunded(order: Order) -> Decimal:
    """What refunds gave back of the order's payments (their tips not counted)."""
    refunds = Refund.objects.filter(order=order, status=RefundStatus.COMPLETED)
    return refunds.aggregate(total=Sum(F("amount") - F("tip_amount")))["total"] or ZERO


def _insert_order(order: Order, items: list[OrderItem], *, day: datetime.date | None = None) -> None:
    """Insert the order with the next number of the restaurant's (local) day and its lines, in
    one statement; the order and its lines get what the database gave them (ids, number,
    timestamps: received_at is always the server's).

    Numbers are `<restaurant id>-<yyyymmdd>-<nnnn>`. The counter row stays locked until the
    order's transaction ends, so two orders never get one number, and a rolled-back order
    gives its number back (no gaps). `day`: the order's business day (an offline order's),
    today by default.
    """
    day = day or timezone.localdate()
    order.order_number = raw(
        "SELECT %s || lpad(last_number::text, greatest(4, length(last_number::text)), '0') FROM next_number",
        [f"{order.restaurant_id}-{day:%Y%m%d}-"],
    )
    new_order_id = raw("SELECT id FROM new_order", [])
    for item in items:
        item.order_id = new_order_id
    new_order, new_items = insert([order]), insert(items)
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH next_number AS ("
            "INSERT INTO order_number_counters (restaurant_id, day, last_number) VALUES (%s, %s, 1)"
            " ON CONFLICT (restaurant_id, day) DO UPDATE SET last_number = order_number_counters.last_number + 1"
            " RETURNING last_number), "
            f"new_order AS ({new_order.sql}), new_items AS ({new_items.sql}) "
            f"SELECT new_order.*, {new_items.arrays('new_items')} FROM new_order",
            (order.restaurant_id, day, *new_order.params, *new_items.params),
        )
        row = cursor.fetchone()
    new_order.assign([row[:new_order.width]])
    new_items.assign_arrays(row[new_order.width:])


def _prefetched(instance, name: str, rows: list) -> None:
    """Give `instance.<name>.all()` these rows without a query (they were just written)."""
    queryset = getattr(instance, name).all()
    queryset._result_cache, queryset._prefetch_done = list(rows), True
    instance._prefetched_objects_cache = {**getattr(instance, "_prefetched_objects_cache", {}), name: queryset}


@dataclass
class _Line:
    """An order line as it will be: new (`item` None), changed or kept; `path` names it in the
    request (None for a line the request did not touch)."""

    product: Product
    quantity: int
    unit_price: Decimal
    modifiers: list[dict]
    special_instructions: str | None
    path: str | None
    item: OrderItem | None = None


def _new_lines(*, items: list[dict], path: str, products: dict[int, Product], menu: ModifierMenu) -> tuple[list[_Line], dict]:
    """The request's new lines priced from the menu, and what is wrong with them by field path."""
    lines, problems = [], {}
    for index, line in enumerate(items):
        where = f"{path}.{index}"
        product = products.get(line["product_id"])
        if product is None:
            problems[f"{where}.product_id"] = ["No such product."]
            continue
        if not (product.is_active and product.available_in_pos):
            problems[f"{where}.product_id"] = [f"{product.name} is not on sale."]
            continue
        choices = line.get("modifiers") or []
        found = modifiers.line_problems(path=where, product=product, choices=choices, menu=menu)
        if found:
            problems.update(found)
            continue
        chosen = modifiers.snapshot(choices=choices, menu=menu)
        unit = unit_price(base=product.price, modifiers=modifiers.priced(chosen))
        if unit < 0:
            problems[f"{where}.modifiers"] = [f"The modifiers take the price of {product.name} below zero."]
            continue
        lines.append(_Line(product, line["quantity"], unit, chosen, line.get("special_instructions") or None, where))
    return lines, problems


def _price(*, lines: list[_Line], rates, discount_amount: Decimal):
    try:
        return order_price(lines=[(line.unit_price, line.quantity) for line in lines], rates=rates,
                           discount_amount=discount_amount)
    except DiscountTooLarge as error:
        message = "The discount is more than the items cost."
        raise PosError("invalid", message, fields={"discount_amount": [message]}) from error


def _stock_use(lines, menu: ModifierMenu) -> tuple[Counter, Counter]:
    """(product id -> units, inventory item id -> units) that lines take from stock."""
    products, items = Counter(), Counter()
    for line in lines:
        if line.product.track_inventory:
            products[line.product.pk] += line.quantity
        items.update(modifiers.stock_items(line.modifiers, quantity=line.quantity, menu=menu))
    return products, items


def _difference(after: Counter, before: Counter) -> dict[int, int]:
    return {key: after[key] - before[key] for key in set(after) | set(before) if after[key] != before[key]}


def _move_stock(
    *, restaurant_id: int, order: Order, before: list, after: list[_Line], menu: ModifierMenu, user,
    locked: list[InventoryItem] | None = None, offline: bool = False, defer: bool = False,
) -> list:
    """Take (or give back) the stock of the difference between the order's lines before and after
    (`locked`: the stock rows already locked); 409 insufficient_stock naming the lines and
    modifiers that cannot be served (`offline`: none, see inventory.services.stock_move_for_order).
    The stock movements (`defer`: see stock_move_for_order)."""
    products_before, items_before = _stock_use(before, menu)
    products_after, items_after = _stock_use(after, menu)
    try:
        return stock_move_for_order(
            restaurant_id=restaurant_id, order_id=order.pk, user=user,
            products=_difference(products_after, products_before), items=_difference(items_after, items_before),
            notes=f"Order {order.order_number} changed", locked=locked, offline=offline, defer=defer,
        )
    except InsufficientStock as short:
        fields = {}
        for line in after:
            if line.path is None:
                continue
            if line.product.track_inventory and line.product.pk in short.available:
                fields[f"{line.path}.quantity"] = [f"Only {short.available[line.product.pk].normalize():f} left."]
            for index, entry in enumerate(line.modifiers):
                option = menu.options.get(entry.get("option_id"))
                if option is not None and option.inventory_item_id in short.items:
                    left = short.items[option.inventory_item_id]
                    fields[f"{line.path}.modifiers.{index}"] = [f"Only {left.normalize():f} left of {option.name}."]
        raise PosError("insufficient_stock", short.message, status=409, fields=fields) from short


def _bump(order: Order, data: dict | None = None, *, now=None) -> Order:
    """Save changes to an order with its next version: every change makes a read of it stale."""
    values = {**(data or {}), "version": order.version + 1}
    model_update(instance=order, fields=list(values), data=values, now=now)
    return order


SERVED_BY = (
    f'SELECT "id" FROM "{Employee._meta.db_table}" WHERE "restaurant_id" = %s AND "user_id" = %s AND "is_active"'
    ' ORDER BY "id" LIMIT 1'
)


@transaction.atomic(savepoint=False)
def order_create(
    *,
    restaurant_id: int,
    items: list[dict],
    order_type: str = OrderType.DINE_IN,
    table_number: str | None = None,
    customer_name: str | None = None,
    discount_amount: Decimal = ZERO,
    user=None,
    client_reference: uuid.UUID | None = None,
    client_created_at: datetime.datetime | None = None,
    offline: bool = False,
) -> Order:
    """Place an order priced by the server; tracked products and options leave stock in the same transaction.

    `items`: [{product_id, quantity, special_instructions, modifiers: [{option_id, quantity}]}].
    `client_created_at`: the device's time of the sale, the order's business time (created_at,
    its number's day); `offline`: a sale that already happened may take stock below zero (the
    order is then flagged oversold_offline). See order_create_once for `client_reference`.
    The order comes back with its items (and no payments) as written: nothing is read again.
    """
    product_ids = {line["product_id"] for line in items}
    option_ids = modifiers.option_ids_of(items)
    # The modifier groups, the products with their stock locked and the rates need nothing of each
    # other's results: the first two are deferred and go with the rates' query, one round trip
    # (fynlo.core.postgresql). Options chosen are read first (their stock is locked with the
    # products'), carrying the groups' query.
    menu_of = modifier_menu_later(restaurant_id=restaurant_id, product_ids=product_ids, option_ids=option_ids)
    menu = menu_of() if option_ids else None
    option_stock = {option.inventory_item_id for option in menu.options.values() if option.inventory_item_id} if menu else set()
    products_of = products_for_sale_later(restaurant_id=restaurant_id, product_ids=product_ids, item_ids=option_stock)
    rates = restaurant_rates(restaurant_id=restaurant_id)
    menu = menu or menu_of()
    products, locked = products_of()
    lines, problems = _new_lines(items=items, path="items", products=products, menu=menu)
    if problems:
        raise PosError("invalid", "Some items cannot be ordered.", fields=problems)
    price = _price(lines=lines, rates=rates, discount_amount=discount_amount)
    served_by = None
    if user is not None and user.restaurant_id == restaurant_id:
        # who served it: the user's employee record, looked up by the insert itself (RawSQL, not a
        # Subquery: its text is the same every time, so the insert's is compiled once, see
        # fynlo.core.statements)
        served_by = raw(SERVED_BY, [restaurant_id, user.pk])

    # an offline sale that takes stock below zero is flagged by the order's insert itself
    products_used, items_used = _stock_use(lines, menu)
    oversold = offline and stock_oversold(locked=locked, products=products_used, items=items_used)
    order = cached_related(new_row(
        Order,
        restaurant_id=restaurant_id,
        client_reference=client_reference,
        **({"created_at": client_created_at} if client_created_at else {}),
        oversold_offline=oversold,
        table_number=table_number or None,
        customer_name=customer_name or None,
        order_type=order_type,
        status=OrderStatus.CONFIRMED,
        **price.order_fields(),
        version=1,
        served_by_id=served_by,
        created_by_id=user.pk if user is not None else None,
    ), created_by=user)
    order_items = [
        cached_related(new_row(
            OrderItem,
            restaurant_id=restaurant_id,
            product_id=line.product.pk,
            quantity=line.quantity,
            unit_price=priced.unit_price,
            total_price=priced.total_price,
            special_instructions=line.special_instructions,
            modifiers=line.modifiers,
        ), product=line.product)
        for line, priced in zip(lines, price.lines)
    ]
    _insert_order(order, order_items, day=timezone.localdate(client_created_at) if client_created_at else None)
    # nothing is read back: the stock goes with the commit (or the next statement), in its round trip
    _move_stock(restaurant_id=restaurant_id, order=order, before=[], after=lines, menu=menu, user=user, locked=locked,
                offline=offline, defer=True)
    _prefetched(order, "items", order_items)
    _prefetched(order, "payments", [])
    return order


def order_create_once(*, restaurant_id: int, client_reference: uuid.UUID, **order) -> tuple[Order, bool]:
    """order_create, once per (restaurant, client_reference): (the order, True when made now).
    The same reference again, however late, is the order made the first time; two racing are
    kept apart by the unique index (the second waits for the first and then finds its order)."""
    existing = Order.objects.filter(restaurant_id=restaurant_id, client_reference=client_reference).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return order_create(restaurant_id=restaurant_id, client_reference=client_reference, **order), True
    except IntegrityError as error:
        existing = Order.objects.filter(restaurant_id=restaurant_id, client_reference=client_reference).first()
        if existing is None:
            raise error
        return existing, False


# An order's lines may change until it is paid in full, completed or cancelled.
EDITABLE_STATUSES = frozenset({OrderStatus.DRAFT, OrderStatus.CONFIRMED, OrderStatus.PREPARING, OrderStatus.READY})


@transaction.atomic
def order_edit(
    *,
    restaurant_id: int,
    order_id: int,
    version: int,
    add_items: list[dict] = (),
    update_items: list[dict] = (),
    remove_items: list[int] = (),
    changes: dict | None = None,
    user=None,
) -> Order:
    """Change an open order: add lines, change lines' quantity, modifiers or instructions, remove
    lines, change its discount, table or customer; re-priced by the server with the rates it was
    priced with, stock moved by the difference. `version` is the one the client read: another
    is VersionConflict, and nothing is written.

    `update_items`: [{id, quantity?, modifiers?, special_instructions?}] (modifiers replace the
    line's; a line keeps the base price it was sold at); `changes`: discount_amount,
    table_number, customer_name.
    """
    changes = changes or {}
    order = _lock_order(restaurant_id=restaurant_id, order_id=order_id)
    if order.version != version:
        raise VersionConflict(order_id=order.pk, sent=version, current=order.version)
    if order.status not in EDITABLE_STATUSES:
        raise PosError("order_not_open", f"The order is {order.status}; its lines cannot change.", status=409)
    existing = list(OrderItem.objects.filter(restaurant_id=restaurant_id, order=order).select_related("product").order_by("pk"))
    by_id = {item.pk: item for item in existing}
    problems: dict[str, list[str]] = {}
    named = set()
    for path, line_id in [
        *((f"update_items.{index}.id", line["id"]) for index, line in enumerate(update_items)),
        *((f"remove_items.{index}", line_id) for index, line_id in enumerate(remove_items)),
    ]:
        if line_id not in by_id:
            problems[path] = ["No such line on this order."]
        elif line_id in named:
            problems[path] = ["This line is named twice."]
        named.add(line_id)
    if problems:
        raise PosError("invalid", "Some lines cannot be changed.", fields=problems)

    products = products_by_id(restaurant_id=restaurant_id, product_ids={line["product_id"] for line in add_items})
    remodified = [line for line in update_items if "modifiers" in line]
    old_options = {entry["option_id"] for item in existing for entry in item.modifiers if entry.get("option_id")}
    menu = modifier_menu(
        restaurant_id=restaurant_id,
        product_ids=set(products) | {by_id[line["id"]].product_id for line in remodified},
        option_ids=modifiers.option_ids_of(add_items) | modifiers.option_ids_of(remodified) | old_options,
    )
    before = [
        _Line(item.product, item.quantity, item.unit_price, item.modifiers, item.special_instructions, None, item)
        for item in existing
    ]
    updates = {line["id"]: (index, line) for index, line in enumerate(update_items)}
    removed = set(remove_items)
    after: list[_Line] = []
    for line in before:
        if line.item.pk in removed:
            continue
        if line.item.pk not in updates:
            after.append(line)
            continue
        index, change = updates[line.item.pk]
        where = f"update_items.{index}"
        chosen, unit = line.modifiers, line.unit_price
        if "modifiers" in change:
            found = modifiers.line_problems(path=where, product=line.product, choices=change["modifiers"], menu=menu)
            if found:
                problems.update(found)
                continue
            base = line.unit_price - unit_price(base=ZERO, modifiers=modifiers.priced(line.modifiers))
            chosen = modifiers.snapshot(choices=change["modifiers"], menu=menu)
            unit = unit_price(base=base, modifiers=modifiers.priced(chosen))
            if unit < 0:
                problems[f"{where}.modifiers"] = [f"The modifiers take the price of {line.product.name} below zero."]
                continue
        instructions = change["special_instructions"] or None if "special_instructions" in change else line.special_instructions
        after.append(_Line(line.product, change.get("quantity", line.quantity), unit, chosen, instructions, where, line.item))
    added, found = _new_lines(items=list(add_items), path="add_items", products=products, menu=menu)
    problems.update(found)
    if problems:
        raise PosError("invalid", "Some lines cannot be changed.", fields=problems)
    after.extend(added)
    if not after:
        message = "An order keeps at least one line; cancel the order instead."
        raise PosError("invalid", message, fields={"remove_items": [message]})

    discount = changes.get("discount_amount", order.discount_amount)
    price = _price(lines=after, rates=order_rates(order), discount_amount=discount)
    paid = _amount_paid(order)
    if price.total_amount < paid:
        message = f"{money_text(paid)} is already paid; the total cannot go below it."
        raise PosError("order_paid_beyond", message, status=409)

    kept = [line for line in after if line.item is not None]
    for line, priced in zip(after, price.lines):
        if line.item is not None:
            line.item.quantity, line.item.unit_price, line.item.total_price = line.quantity, priced.unit_price, priced.total_price
            line.item.modifiers, line.item.special_instructions = line.modifiers, line.special_instructions
    if removed:
        OrderItem.objects.filter(restaurant_id=restaurant_id, order=order, pk__in=removed).delete()
    changed = [line.item for line in kept if line.path is not None]
    if changed:
        OrderItem.objects.bulk_update(
            changed, ["quantity", "unit_price", "total_price", "modifiers", "special_instructions"]
        )
    OrderItem.objects.bulk_create(
        OrderItem(
            restaurant_id=restaurant_id, order=order, product=line.product, quantity=line.quantity,
            unit_price=priced.unit_price, total_price=priced.total_price,
            special_instructions=line.special_instructions, modifiers=line.modifiers,
        )
        for line, priced in zip(after, price.lines)
        if line.item is None
    )
    _move_stock(restaurant_id=restaurant_id, order=order, before=before, after=after, menu=menu, user=user)
    data = {**price.order_fields()}
    for field in ("table_number", "customer_name"):
        if field in changes:
            data[field] = changes[field] or None
    if paid > 0 and paid >= price.total_amount:
        data["status"] = OrderStatus.COMPLETED
    return _bump(order, data)


@transaction.atomic
def order_set_status(*, restaurant_id: int, order_id: int, status: str, user=None) -> Order:
    """Move an order along its allowed transitions; cancelling puts its stock back."""
    order = _lock_order(restaurant_id=restaurant_id, order_id=order_id)
    if order.status == status:
        return order
    if status not in TRANSITIONS.get(order.status, ()):
        raise PosError(
            "invalid_transition", f"An order that is {order.status} cannot become {status}.", status=409
        )
    if status == OrderStatus.COMPLETED and _amount_paid(order) < order.total_amount:
        raise PosError("order_not_paid", "The order is not paid in full; take the payment first.", status=409)
    if status == OrderStatus.CANCELLED and _amount_paid(order) > _amount_refunded(order):
        raise PosError("order_has_payments", "Refund the order's payments before cancelling it.", status=409)
    _bump(order, {"status": status})
    if status == OrderStatus.CANCELLED:
        stock_return_for_order(
            restaurant_id=restaurant_id, order_id=order.pk, notes=f"Order {order.order_number} cancelled", user=user
        )
    return order


@dataclass(frozen=True)
class OrderBalance:
    id: int
    restaurant_id: int
    order_number: str
    status: str
    version: int
    total_amount: Decimal
    amount_paid: Decimal
    amount_due: Decimal


@dataclass(frozen=True)
class PaymentTaken:
    payment: Payment
    tendered: Decimal | None
    change: Decimal
    order: OrderBalance


@transaction.atomic(savepoint=False)
def payment_record(
    *,
    restaurant_id: int,
    order_id: int,
    payment_method: str,
    amount: Decimal,
    tip_amount: Decimal = ZERO,
    tendered: Decimal | None = None,
    transaction_id: str | None = None,
    user=None,
    client_reference: uuid.UUID | None = None,
    at: datetime.datetime | None = None,
    drawer_session_id: int | None = None,
) -> PaymentTaken:
    """Take a payment with the platform's commission; the order completes once paid in full.

    Cash: `tendered` is what the guest handed over (default: `amount` plus the tip); no more
    than is due is applied, the tip is kept, and the rest is change. Card and the like: more
    than is due is refused. The tip is the guest's gift on top: it is not part of the order's
    total, does not pay it off and carries no commission (the commission's base is `amount`).
    `at`: when the device took it (offline); `drawer_session_id`: the cash drawer it went into
    (see payment_take). Cash into no drawer is refused while any drawer is open (pos.drawers),
    which the order's locking read answers: no statement more.
    """
    cash_without_drawer = payment_method == PaymentMethod.CASH and drawer_session_id is None
    # the commission's rate needs nothing of the order: its query goes with the order's lock, one round trip
    restaurant_of = restaurant_for_commission_later(restaurant_id=restaurant_id)
    order = _lock_order(
        restaurant_id=restaurant_id, order_id=order_id, with_amount_paid=True, with_drawers_open=cash_without_drawer
    )
    if cash_without_drawer:
        drawers.cash_without_till(drawers_open=order.drawers_open)
    if order.status in (OrderStatus.CANCELLED, OrderStatus.COMPLETED, OrderStatus.DRAFT):
        raise PosError("order_not_open", f"The order is {order.status}; it takes no payments.", status=409)
    paid = order.amount_paid
    due = order.total_amount - paid
    if due <= 0:
        raise PosError("order_already_paid", "The order is already paid in full.", status=409)
    if payment_method == PaymentMethod.CASH:
        handed = amount + tip_amount if tendered is None else tendered
        if handed < amount + tip_amount:
            message = "The cash tendered is less than the amount and the tip."
            raise PosError("invalid", message, fields={"tendered": [message]})
        applied = min(amount, due)
        change = handed - applied - tip_amount
    else:
        if tendered is not None and tendered != amount:
            message = "Only cash payments have an amount tendered."
            raise PosError("invalid", message, fields={"tendered": [message]})
        if amount > due:
            message = f"Only {money_text(due)} is due."
            raise PosError("overpayment", f"A {payment_method} payment cannot exceed what is due: {message}",
                           status=409, fields={"amount": [message]})
        handed, applied, change = None, amount, ZERO

    restaurant = restaurant_of()
    now = timezone.now()
    taken_at = at or now  # the device's time of an offline payment; the order's bump is the server's
    commission = commission_for(
        restaurant=restaurant,
        order_id=order.pk,
        gross_amount=applied,
        rate=restaurant.commission_rate,
        processed_at=taken_at,
    )
    payment = Payment(
        restaurant_id=restaurant_id,
        order=order,
        payment_method=payment_method,
        amount=applied,
        tip_amount=tip_amount,
        commission_rate=commission.commission_rate,
        commission_amount=commission.commission_amount,
        transaction_id=transaction_id or None,
        processor_response={"tendered": money_text(handed), "change": money_text(change)} if handed is not None else None,
        status=PaymentStatus.COMPLETED,
        processed_at=taken_at,
        client_reference=client_reference,
        drawer_session_id=drawer_session_id,
        **({"created_at": at} if at else {}),
    )
    paid += applied
    if paid >= order.total_amount:
        order.status = OrderStatus.COMPLETED
    order.version, order.updated_at = order.version + 1, now
    _insert_payment(order, payment, commission)
    balance = OrderBalance(
        id=order.pk, restaurant_id=order.restaurant_id, order_number=order.order_number, status=order.status,
        version=order.version, total_amount=order.total_amount, amount_paid=paid,
        amount_due=max(order.total_amount - paid, ZERO),
    )
    return PaymentTaken(payment=payment, tendered=handed, change=change, order=balance)


def _insert_payment(order: Order, payment: Payment, commission) -> None:
    """The payment, its commission and the order's new status and version, in one statement; the
    payment and the commission get what the database gave them, the payment no refunds yet."""
    new_commission, new_payment = insert([commission]), insert([payment])
    bump_sql, bump_params = update(
        Order.objects.filter(restaurant_id=order.restaurant_id, pk=order.pk),
        {"status": order.status, "version": order.version, "updated_at": order.updated_at},
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH new_commission AS ({new_commission.sql}), new_payment AS ({new_payment.sql}),"
            f" bumped AS ({bump_sql}) SELECT new_commission.*, new_payment.* FROM new_commission, new_payment",
            (*new_commission.params, *new_payment.params, *bump_params),
        )
        row = cursor.fetchone()
    new_commission.assign([row[:new_commission.width]])
    new_payment.assign([row[new_commission.width:]])
    _prefetched(payment, "refunds", [])


def payment_take(
    *, restaurant_id: int, payment_method: str, device_id: str | None = None, at: datetime.datetime | None = None,
    **payment,
) -> PaymentTaken:
    """payment_record at a till: cash goes into the till's drawer (pos.drawers' rule: the open
    one, or the one open at `at` for a payment taken offline; 409 drawer_closed), locked before
    the order. Cash that names no till is payment_record's to check (no drawer to lock)."""
    drawer = None
    if payment_method == PaymentMethod.CASH and device_id:
        drawer = drawers.cash_drawer_for(restaurant_id=restaurant_id, device_id=device_id, at=at)
    return payment_record(
        restaurant_id=restaurant_id, payment_method=payment_method, at=at, drawer_session_id=drawer, **payment
    )


def payment_record_once(
    *, restaurant_id: int, order_reference: uuid.UUID, client_reference: uuid.UUID, **payment
) -> tuple[Payment, bool]:
    """payment_record on the order the device named by its client_reference, once per payment
    client_reference: (the payment, True when taken now)."""
    existing = Payment.objects.filter(restaurant_id=restaurant_id, client_reference=client_reference).first()
    if existing is not None:
        return existing, False
    order_id = (
        Order.objects.filter(restaurant_id=restaurant_id, client_reference=order_reference)
        .values_list("pk", flat=True).first()
    )
    if order_id is None:
        message = "No order with this client_reference."
        raise PosError("not_found", message, status=404, fields={"order_reference": [message]})
    try:
        with transaction.atomic():
            taken = payment_take(
                restaurant_id=restaurant_id, order_id=order_id, client_reference=client_reference, **payment
            )
            return taken.payment, True
    except IntegrityError as error:
        existing = Payment.objects.filter(restaurant_id=restaurant_id, client_reference=client_reference).first()
        if existing is None:
            raise error
        return existing, False


@dataclass(frozen=True)
class RefundIssued:
    refund: Refund
    restocked_items: int


@transaction.atomic
def refund_issue(
    *, restaurant_id: int, payment_id: int, amount: Decimal, tip_amount: Decimal = ZERO, reason: str | None = None,
    restock: bool = False, user=None, drawer_session_id: int | None = None,
) -> RefundIssued:
    """Give back part or all of a payment (never more than it took) and, only when asked with
    `tip_amount`, of its tip (never more than the tip); `restock` puts the order's products back
    in stock (once per order); `drawer_session_id`: the cash drawer it came out of (see refund_take)."""
    found = get_or_404(Payment.objects.filter(restaurant_id=restaurant_id), pk=payment_id, what="payment")
    order = _lock_order(restaurant_id=restaurant_id, order_id=found.order_id)
    payment = Payment.objects.select_for_update().get(pk=found.pk)
    if payment.status not in TAKEN_PAYMENT_STATUSES:
        raise PosError("payment_not_refundable", f"The payment is {payment.status}.", status=409)
    so_far = Refund.objects.filter(payment=payment, status=RefundStatus.COMPLETED).aggregate(
        amount=Sum(F("amount") - F("tip_amount")), tip=Sum("tip_amount")
    )
    refunded, tip_refunded = so_far["amount"] or ZERO, so_far["tip"] or ZERO
    refundable = payment.amount - refunded
    if amount > refundable:
        message = f"At most {money_text(refundable)} of this payment can be refunded."
        raise PosError("refund_exceeds_payment", message, status=409, fields={"amount": [message]})
    if tip_amount > payment.tip_amount - tip_refunded:
        message = f"At most {money_text(payment.tip_amount - tip_refunded)} of this payment's tip can be refunded."
        raise PosError("refund_exceeds_payment", message, status=409, fields={"tip_amount": [message]})
    now = timezone.now()
    refund = Refund.objects.create(
        restaurant_id=restaurant_id,
        order=order,
        payment=payment,
        amount=amount + tip_amount,  # what is given back; the tip's part of it is tip_amount
        tip_amount=tip_amount,
        reason=reason or None,
        status=RefundStatus.COMPLETED,
        processed_by=user,
        processed_at=now,
        drawer_session_id=drawer_session_id,
    )
    if refunded + amount == payment.amount and tip_refunded + tip_amount == payment.tip_amount:
        payment.status = PaymentStatus.REFUNDED
        payment.save(update_fields=["status"])
    _bump(order, now=now)
    restocked = []
    if restock:
        restocked = stock_return_for_order(
            restaurant_id=restaurant_id, order_id=order.pk, notes=f"Refund on order {order.order_number}", user=user
        )
    return RefundIssued(refund=refund, restocked_items=len(restocked))


def refund_take(*, restaurant_id: int, payment_id: int, device_id: str | None = None, **refund) -> RefundIssued:
    """refund_issue at a till: a cash refund comes out of the named till's open drawer, or the
    drawer its payment went into while that is open (pos.drawers' rule)."""
    payment = get_or_404(Payment.objects.filter(restaurant_id=restaurant_id), pk=payment_id, what="payment")
    drawer = None
    if payment.payment_method == PaymentMethod.CASH:
        drawer = drawers.cash_drawer_for(
            restaurant_id=restaurant_id, device_id=device_id, fallback=payment.drawer_session_id
        )
    return refund_issue(restaurant_id=restaurant_id, payment_id=payment_id, drawer_session_id=drawer, **refund)


def order_attach_receipt(*, order: Order, receipt_url: str) -> Order:
    """Point an order at its stored receipt."""
    model_update(instance=order, fields=["receipt_url"], data={"receipt_url": receipt_url})
    return order
