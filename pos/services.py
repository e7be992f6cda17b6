"""Every write to orders, payments and refunds.

Locks are taken in one order everywhere, so concurrent requests queue instead of
deadlocking: the day's order number counter, then an order, then its payment, then
inventory items (by primary key, in inventory.services).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from billing.selectors import commission_rate_for
from billing.services import commission_record
from fynlo.core.api import get_or_404
from fynlo.core.money import money_text
from fynlo.core.services import model_update
from inventory.errors import InsufficientStock
from inventory.selectors import products_by_id
from inventory.services import stock_return_for_order, stock_sell
from pos.errors import PosError
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
from pos.pricing import DiscountTooLarge, order_price, restaurant_rates
from staff.models import Employee
from tenants.models import Restaurant

ZERO = Decimal("0.00")

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


def _lock_order(*, restaurant_id: int, order_id: int) -> Order:
    return get_or_404(Order.objects.select_for_update().filter(restaurant_id=restaurant_id), pk=order_id, what="order")


def _amount_paid(order: Order) -> Decimal:
    """What the order's payments took, refunds not deducted."""
    total = Payment.objects.filter(order=order, status__in=TAKEN_PAYMENT_STATUSES).aggregate(total=Sum("amount"))["total"]
    return total or ZERO


def _amount_refunded(order: Order) -> Decimal:
    total = Refund.objects.filter(order=order, status=RefundStatus.COMPLETED).aggregate(total=Sum("amount"))["total"]
    return total or ZERO


def _next_order_number(*, restaurant_id: int) -> str:
    """`<restaurant id>-<yyyymmdd>-<nnnn>`: the restaurant's next number of the (local) day.

    The counter row stays locked until the order's transaction ends, so two orders never get
    one number, and a rolled-back order gives its number back (no gaps).
    """
    day = timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO order_number_counters (restaurant_id, day, last_number) VALUES (%s, %s, 1)"
            " ON CONFLICT (restaurant_id, day)"
            " DO UPDATE SET last_number = order_number_counters.last_number + 1"
            " RETURNING last_number",
            [restaurant_id, day],
        )
        sequence = cursor.fetchone()[0]
    return f"{restaurant_id}-{day:%Y%m%d}-{sequence:04d}"


@transaction.atomic
def order_create(
    *,
    restaurant_id: int,
    items: list[dict],
    order_type: str = OrderType.DINE_IN,
    table_number: str | None = None,
    customer_name: str | None = None,
    discount_amount: Decimal = ZERO,
    user=None,
) -> Order:
    """Place an order priced by the server; tracked products leave stock in the same transaction.

    `items`: [{product_id, quantity, special_instructions}].
    """
    products = products_by_id(restaurant_id=restaurant_id, product_ids={line["product_id"] for line in items})
    problems = {}
    for index, line in enumerate(items):
        product = products.get(line["product_id"])
        if product is None:
            problems[f"items.{index}.product_id"] = ["No such product."]
        elif not (product.is_active and product.available_in_pos):
            problems[f"items.{index}.product_id"] = [f"{product.name} is not on sale."]
    if problems:
        raise PosError("invalid", "Some items cannot be ordered.", fields=problems)
    try:
        price = order_price(
            lines=[(products[line["product_id"]].price, line["quantity"]) for line in items],
            rates=restaurant_rates(restaurant_id=restaurant_id),
            discount_amount=discount_amount,
        )
    except DiscountTooLarge as error:
        message = "The discount is more than the items cost."
        raise PosError("invalid", message, fields={"discount_amount": [message]}) from error
    served_by = None
    if user is not None and user.restaurant_id == restaurant_id:
        served_by = (
            Employee.objects.filter(restaurant_id=restaurant_id, user_id=user.pk, is_active=True)
            .order_by("pk").values_list("pk", flat=True).first()
        )

    order = Order.objects.create(
        restaurant_id=restaurant_id,
        order_number=_next_order_number(restaurant_id=restaurant_id),
        table_number=table_number or None,
        customer_name=customer_name or None,
        order_type=order_type,
        status=OrderStatus.CONFIRMED,
        **price.order_fields(),
        served_by_id=served_by,
        created_by=user,
    )
    OrderItem.objects.bulk_create(
        OrderItem(
            restaurant_id=restaurant_id,
            order=order,
            product=products[line["product_id"]],
            quantity=line["quantity"],
            unit_price=priced.unit_price,
            total_price=priced.total_price,
            special_instructions=line.get("special_instructions") or None,
        )
        for line, priced in zip(items, price.lines)
    )
    sold = Counter()
    for line in items:
        if products[line["product_id"]].track_inventory:
            sold[line["product_id"]] += line["quantity"]
    try:
        stock_sell(restaurant_id=restaurant_id, quantities=dict(sold), order_id=order.pk, user=user)
    except InsufficientStock as short:
        fields = {
            f"items.{index}.quantity": [f"Only {short.available[line['product_id']].normalize():f} left."]
            for index, line in enumerate(items)
            if line["product_id"] in short.available
        }
        raise PosError("insufficient_stock", short.message, status=409, fields=fields) from short
    return order


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
    model_update(instance=order, fields=["status"], data={"status": status})
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
    total_amount: Decimal
    amount_paid: Decimal
    amount_due: Decimal


@dataclass(frozen=True)
class PaymentTaken:
    payment: Payment
    tendered: Decimal | None
    change: Decimal
    order: OrderBalance


@transaction.atomic
def payment_record(
    *,
    restaurant_id: int,
    order_id: int,
    payment_method: str,
    amount: Decimal,
    tendered: Decimal | None = None,
    transaction_id: str | None = None,
    user=None,
) -> PaymentTaken:
    """Take a payment with the platform's commission; the order completes once paid in full.

    Cash: `tendered` is what the guest handed over (default: `amount`); no more than is due is
    applied and the rest is change. Card and the like: more than is due is refused.
    """
    order = _lock_order(restaurant_id=restaurant_id, order_id=order_id)
    if order.status in (OrderStatus.CANCELLED, OrderStatus.COMPLETED, OrderStatus.DRAFT):
        raise PosError("order_not_open", f"The order is {order.status}; it takes no payments.", status=409)
    paid = _amount_paid(order)
    due = order.total_amount - paid
    if due <= 0:
        raise PosError("order_already_paid", "The order is already paid in full.", status=409)
    if payment_method == PaymentMethod.CASH:
        handed = amount if tendered is None else tendered
        if handed < amount:
            message = "The cash tendered is less than the amount."
            raise PosError("invalid", message, fields={"tendered": [message]})
        applied = min(amount, due)
        change = handed - applied
    else:
        if tendered is not None and tendered != amount:
            message = "Only cash payments have an amount tendered."
            raise PosError("invalid", message, fields={"tendered": [message]})
        if amount > due:
            message = f"Only {money_text(due)} is due."
            raise PosError("overpayment", f"A {payment_method} payment cannot exceed what is due: {message}",
                           status=409, fields={"amount": [message]})
        handed, applied, change = None, amount, ZERO

    restaurant = Restaurant.objects.only("pk", "platform_id", "subscription_tier").get(pk=restaurant_id)
    now = timezone.now()
    commission = commission_record(
        restaurant=restaurant,
        order_id=order.pk,
        gross_amount=applied,
        rate=commission_rate_for(restaurant=restaurant),
        processed_at=now,
    )
    payment = Payment.objects.create(
        restaurant_id=restaurant_id,
        order=order,
        payment_method=payment_method,
        amount=applied,
        commission_rate=commission.commission_rate,
        commission_amount=commission.commission_amount,
        transaction_id=transaction_id or None,
        processor_response={"tendered": money_text(handed), "change": money_text(change)} if handed is not None else None,
        status=PaymentStatus.COMPLETED,
        processed_at=now,
    )
    paid += applied
    if paid >= order.total_amount:
        model_update(instance=order, fields=["status"], data={"status": OrderStatus.COMPLETED}, now=now)
    balance = OrderBalance(
        id=order.pk, restaurant_id=order.restaurant_id, order_number=order.order_number, status=order.status, total_amount=order.total_amount,
        amount_paid=paid, amount_due=max(order.total_amount - paid, ZERO),
    )
    return PaymentTaken(payment=payment, tendered=handed, change=change, order=balance)


@dataclass(frozen=True)
class RefundIssued:
    refund: Refund
    restocked_items: int


@transaction.atomic
def refund_issue(
    *, restaurant_id: int, payment_id: int, amount: Decimal, reason: str | None = None, restock: bool = False, user=None
) -> RefundIssued:
    """Give back part or all of a payment (never more than it took); `restock` puts the order's
    products back in stock (once per order)."""
    found = get_or_404(Payment.objects.filter(restaurant_id=restaurant_id), pk=payment_id, what="payment")
    order = _lock_order(restaurant_id=restaurant_id, order_id=found.order_id)
    payment = Payment.objects.select_for_update().get(pk=found.pk)
    if payment.status not in TAKEN_PAYMENT_STATUSES:
        raise PosError("payment_not_refundable", f"The payment is {payment.status}.", status=409)
    refunded = (
        Refund.objects.filter(payment=payment, status=RefundStatus.COMPLETED).aggregate(total=Sum("amount"))["total"]
        or ZERO
    )
    refundable = payment.amount - refunded
    if amount > refundable:
        message = f"At most {money_text(refundable)} of this payment can be refunded."
        raise PosError("refund_exceeds_payment", message, status=409, fields={"amount": [message]})
    now = timezone.now()
    refund = Refund.objects.create(
        restaurant_id=restaurant_id,
        order=order,
        payment=payment,
        amount=amount,
        reason=reason or None,
        status=RefundStatus.COMPLETED,
        processed_by=user,
        processed_at=now,
    )
    if refunded + amount == payment.amount:
        payment.status = PaymentStatus.REFUNDED
        payment.save(update_fields=["status"])
    restocked = []
    if restock:
        restocked = stock_return_for_order(
            restaurant_id=restaurant_id, order_id=order.pk, notes=f"Refund on order {order.order_number}", user=user
        )
    return RefundIssued(refund=refund, restocked_items=len(restocked))


def order_attach_receipt(*, order: Order, receipt_url: str) -> Order:
    """Point an order at its stored receipt."""
    model_update(instance=order, fields=["receipt_url"], data={"receipt_url": receipt_url})
    return order
