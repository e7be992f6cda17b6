"""Input and output shapes of the orders, payments and refunds API. Money is a string with
two places; every object carries its `restaurant_id`. Totals sent by a client are not
fields of any input here: the server computes them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from fynlo.core.api import money_field
from fynlo.core.money import money_text
from pos.models import (
    TAKEN_PAYMENT_STATUSES,
    DrawerEntry,
    DrawerEntryType,
    DrawerSession,
    DrawerStatus,
    Order,
    OrderItem,
    OrderStatus,
    OrderType,
    Payment,
    PaymentMethod,
    Refund,
    RefundStatus,
)
from pos.pricing import VAT_ADDED, VAT_INCLUDED, vat_label

MAX_ITEMS = 100


# --- Output --------------------------------------------------------------------------------


class ModifierSnapshotSerializer(serializers.Serializer):
    """A modifier as the line was sold with it (the menu may have changed since)."""

    group = serializers.CharField(read_only=True, allow_null=True)
    option = serializers.CharField(read_only=True)
    price = money_field(read_only=True, help_text="Price change per unit of the option.")
    quantity = serializers.IntegerField(read_only=True)
    option_id = serializers.IntegerField(read_only=True, allow_null=True)


class OrderItemSerializer(serializers.ModelSerializer):
    stateless = True  # shared inside OrderSerializer's (fynlo.core.api.represented)
    restaurant_id = serializers.IntegerField(read_only=True)
    product_id = serializers.IntegerField(read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)
    modifiers = ModifierSnapshotSerializer(many=True, read_only=True)

    class Meta:
        model = OrderItem
        fields = [
            "id", "restaurant_id", "product_id", "product_name", "quantity", "modifiers", "unit_price",
            "total_price", "special_instructions",
        ]
        read_only_fields = fields


class RefundSerializer(serializers.ModelSerializer):
    stateless = True  # shared inside OrderSerializer's (fynlo.core.api.represented)
    restaurant_id = serializers.IntegerField(read_only=True)
    amount = money_field(source="payment_amount", read_only=True, help_text="Given back of the payment's amount.")
    tip_amount = money_field(read_only=True, help_text="Given back of the payment's tip.")
    order_id = serializers.IntegerField(read_only=True)
    payment_id = serializers.IntegerField(read_only=True, allow_null=True)
    processed_by_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Refund
        fields = [
            "id", "restaurant_id", "order_id", "payment_id", "amount", "tip_amount", "reason", "status",
            "processed_by_id", "processed_at", "created_at",
        ]
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer):
    stateless = True  # shared inside OrderSerializer's (fynlo.core.api.represented)
    restaurant_id = serializers.IntegerField(read_only=True)
    order_id = serializers.IntegerField(read_only=True)
    refunds = RefundSerializer(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id", "restaurant_id", "order_id", "payment_method", "amount", "tip_amount", "commission_rate",
            "commission_amount", "transaction_id", "client_reference", "status", "processed_at", "created_at",
            "refunds",
        ]
        read_only_fields = fields


def _sum(values) -> str:
    return money_text(sum(values, Decimal("0")))


class OrderSerializer(serializers.ModelSerializer):
    """An order with its items, payments and refunds (prefetched by pos.selectors)."""

    stateless = True  # fynlo.core.api.represented: one shared instance

    restaurant_id = serializers.IntegerField(read_only=True)
    served_by_id = serializers.IntegerField(read_only=True, allow_null=True)
    created_by_id = serializers.IntegerField(read_only=True, allow_null=True)
    items = OrderItemSerializer(many=True, read_only=True)
    payments = PaymentSerializer(many=True, read_only=True)
    amount_paid = serializers.SerializerMethodField()
    amount_refunded = serializers.SerializerMethodField()
    tips = serializers.SerializerMethodField()
    vat_label = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id", "restaurant_id", "order_number", "version", "order_type", "status", "table_number",
            "customer_name", "items", "items_count", "subtotal", "discount_amount", "tax_amount", "vat_label",
            "service_charge", "total_amount", "vat_rate", "service_charge_rate", "prices_include_vat",
            "amount_paid", "amount_refunded", "tips", "payments", "served_by_id", "created_by_id", "receipt_url",
            "client_reference", "oversold_offline", "created_at", "received_at", "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "version": {"help_text": "Send it back to edit the order (If-Match or `version`); also the ETag."},
            "vat_rate": {"help_text": "The VAT rate the order was priced with (null: not kept, an old order)."},
            "prices_include_vat": {"help_text": "The order's prices include its VAT (tax_amount is part of the total)."},
            "created_at": {"help_text": "The business time: the device's time of the sale when it sent one."},
            "received_at": {"help_text": "When the server received the order."},
            "oversold_offline": {"help_text": "Sold offline beyond the stock: a tracked item went below zero."},
        }

    @extend_schema_field(money_field(help_text="What the payments took, refunds not deducted."))
    def get_amount_paid(self, order: Order) -> str:
        return _sum(payment.amount for payment in order.payments.all() if payment.status in TAKEN_PAYMENT_STATUSES)

    @extend_schema_field(money_field())
    def get_amount_refunded(self, order: Order) -> str:
        return _sum(
            refund.payment_amount
            for payment in order.payments.all()
            for refund in payment.refunds.all()
            if refund.status == RefundStatus.COMPLETED
        )

    @extend_schema_field(money_field(help_text="The payments' tips, less tips refunded; not part of the total."))
    def get_tips(self, order: Order) -> str:
        taken = [payment for payment in order.payments.all() if payment.status in TAKEN_PAYMENT_STATUSES]
        refunded = (
            refund.tip_amount for payment in taken for refund in payment.refunds.all()
            if refund.status == RefundStatus.COMPLETED
        )
        return money_text(sum((payment.tip_amount for payment in taken), Decimal("0")) - sum(refunded, Decimal("0")))

    @extend_schema_field(serializers.ChoiceField(
        choices=[VAT_INCLUDED, VAT_ADDED], help_text='How receipts name tax_amount: "VAT included" or "VAT" (added).'
    ))
    def get_vat_label(self, order: Order) -> str:
        return vat_label(order.prices_include_vat)


class OrderBalanceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    restaurant_id = serializers.IntegerField()
    order_number = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    version = serializers.IntegerField()
    total_amount = money_field()
    amount_paid = money_field()
    amount_due = money_field()


class PaymentTakenSerializer(serializers.Serializer):
    payment = PaymentSerializer()
    tendered = money_field(allow_null=True, help_text="Cash handed over (cash payments only).")
    change = money_field(help_text="Cash to give back.")
    order = OrderBalanceSerializer()


class RefundIssuedSerializer(RefundSerializer):
    restocked_items = serializers.IntegerField(read_only=True, help_text="Inventory items whose stock was put back.")

    class Meta(RefundSerializer.Meta):
        fields = [*RefundSerializer.Meta.fields, "restocked_items"]
        read_only_fields = fields


# --- Input ---------------------------------------------------------------------------------


MAX_MODIFIERS = 50


class ModifierChoiceSerializer(serializers.Serializer):
    option_id = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(
        min_value=1, max_value=50, default=1, help_text="More than 1 only where the option's group allows repeats."
    )


def modifier_choices(**kwargs) -> ModifierChoiceSerializer:
    return ModifierChoiceSerializer(
        many=True, max_length=MAX_MODIFIERS,
        help_text="Options of the product's modifier groups; each adds its price change per unit.", **kwargs,
    )


class OrderLineInputSerializer(serializers.Serializer):
    product_id = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1, max_value=1000)
    special_instructions = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=1000)
    modifiers = modifier_choices(required=False)


FUTURE_LEEWAY = timedelta(minutes=5)


def check_client_time(value):
    """A device's time of a sale: at most 5 minutes ahead of the server, at most
    OFFLINE_ORDER_MAX_AGE_HOURS old."""
    now = timezone.now()
    if value > now + FUTURE_LEEWAY:
        raise serializers.ValidationError("More than 5 minutes in the future: check the device's clock.")
    if value < now - timedelta(hours=settings.OFFLINE_ORDER_MAX_AGE_HOURS):
        raise serializers.ValidationError(
            f"Older than {settings.OFFLINE_ORDER_MAX_AGE_HOURS} hours (OFFLINE_ORDER_MAX_AGE_HOURS): not accepted."
        )
    return value


class OrderCreateSerializer(serializers.Serializer):
    stateless = True  # fynlo.core.api.validated: one shared instance

    client_reference = serializers.UUIDField(
        required=False, help_text="The device's own id of the order (a UUID): the same one twice is the same order."
    )
    client_created_at = serializers.DateTimeField(
        required=False, validators=[check_client_time],
        help_text="The device's time of the sale (taken offline): the order's business time. At most 5 minutes "
        "ahead, at most OFFLINE_ORDER_MAX_AGE_HOURS old.",
    )
    order_type = serializers.ChoiceField(choices=OrderType.choices, default=OrderType.DINE_IN)
    table_number = serializers.CharField(max_length=50, required=False, allow_null=True, allow_blank=True)
    customer_name = serializers.CharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    items = OrderLineInputSerializer(many=True, allow_empty=False, max_length=MAX_ITEMS)
    discount_amount = money_field(min_value=Decimal("0"), default=Decimal("0.00"))


class OfflineOrderSerializer(OrderCreateSerializer):
    """An order of a sync batch: a sale the device took, maybe offline."""

    client_reference = serializers.UUIDField(help_text="The device's own id of the order (a UUID).")
    client_created_at = serializers.DateTimeField(validators=[check_client_time], help_text="The device's time of the sale.")


class OrderLineChangeSerializer(serializers.Serializer):
    id = serializers.IntegerField(min_value=1, help_text="A line of the order.")
    quantity = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    special_instructions = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=1000)
    modifiers = modifier_choices(required=False)


class OrderEditSerializer(serializers.Serializer):
    """PATCH of an open order. The server re-prices it; totals sent are not fields here."""

    version = serializers.IntegerField(
        min_value=1, required=False, help_text="The version read (or send it as If-Match); a stale one is 409."
    )
    add_items = OrderLineInputSerializer(many=True, required=False, max_length=MAX_ITEMS, help_text="Lines to add.")
    update_items = OrderLineChangeSerializer(
        many=True, required=False, max_length=MAX_ITEMS,
        help_text="Lines to change: quantity, special instructions, modifiers (they replace the line's).",
    )
    remove_items = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=MAX_ITEMS, help_text="Line ids to remove."
    )
    discount_amount = money_field(min_value=Decimal("0"), required=False)
    table_number = serializers.CharField(max_length=50, required=False, allow_null=True, allow_blank=True)
    customer_name = serializers.CharField(max_length=255, required=False, allow_null=True, allow_blank=True)

    def validate(self, attrs):
        if not set(attrs) - {"version"}:
            raise serializers.ValidationError({"non_field_errors": ["Nothing to change."]})
        return attrs


class OrderFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices, required=False)
    date_from = serializers.DateField(required=False, help_text="First day (local), included.")
    date_to = serializers.DateField(required=False, help_text="Last day (local), included.")

    def validate(self, attrs):
        if "date_from" in attrs and "date_to" in attrs and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError({"date_to": ["Must not be before date_from."]})
        return attrs


class OrderStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices)


class PaymentInputSerializer(serializers.Serializer):
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices)
    amount = money_field(min_value=Decimal("0.01"))
    tip_amount = money_field(
        min_value=Decimal("0"), default=Decimal("0.00"),
        help_text="The guest's tip, on top of the amount: not part of the order's total, no commission.",
    )
    tendered = money_field(min_value=Decimal("0.01"), required=False, allow_null=True,
                     help_text="Cash handed over; the change is what exceeds the amount due.")
    transaction_id = serializers.CharField(max_length=255, required=False, allow_null=True, allow_blank=True,
                                           help_text="The card terminal's reference.")
    device_id = serializers.CharField(
        max_length=100, required=False, allow_null=True, allow_blank=True,
        help_text="The till (cash goes into its open drawer); needed for cash while any drawer is open.",
    )


class OfflinePaymentSerializer(PaymentInputSerializer):
    """A payment of a sync batch, on an order the device names by its client_reference."""

    order_reference = serializers.UUIDField(help_text="The client_reference of the order it pays.")
    client_reference = serializers.UUIDField(help_text="The device's own id of the payment: applied once.")
    client_created_at = serializers.DateTimeField(validators=[check_client_time], help_text="When it was taken.")

    def validate(self, attrs):
        if attrs["payment_method"] != PaymentMethod.CASH and not attrs.get("transaction_id"):
            raise serializers.ValidationError({"transaction_id": ["A card payment carries the terminal's transaction id."]})
        return attrs


MAX_SYNC_ORDERS = 100
MAX_SYNC_PAYMENTS = 200


class SyncBatchSerializer(serializers.Serializer):
    """The batch as a whole; each element is checked on its own (one bad element never blocks the rest)."""

    orders = serializers.ListField(
        child=serializers.DictField(), required=False, default=list, max_length=MAX_SYNC_ORDERS,
        help_text="Up to 100 orders as for POST orders/, each with client_reference and client_created_at.",
    )
    payments = serializers.ListField(
        child=serializers.DictField(), required=False, default=list, max_length=MAX_SYNC_PAYMENTS,
        help_text="Up to 200 payments as for POST orders/{id}/payments/, each with order_reference (the order's "
        "client_reference), client_reference and client_created_at; card payments with their transaction_id.",
    )

    def validate(self, attrs):
        if not attrs["orders"] and not attrs["payments"]:
            raise serializers.ValidationError({"orders": ["Send at least one order or payment."]})
        return attrs


class SyncErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


SYNC_STATUSES = ["created", "already_present", "error"]


class SyncOrderResultSerializer(serializers.Serializer):
    client_reference = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=SYNC_STATUSES)
    order = OrderSerializer(required=False, help_text="The order as it is now (created or already present).")
    error = SyncErrorSerializer(required=False, help_text="Why this element was refused (nothing of it was kept).")


class SyncPaymentResultSerializer(serializers.Serializer):
    client_reference = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=SYNC_STATUSES)
    payment = PaymentSerializer(required=False)
    error = SyncErrorSerializer(required=False)


class SyncResultSerializer(serializers.Serializer):
    orders = SyncOrderResultSerializer(many=True)
    payments = SyncPaymentResultSerializer(many=True)


class RefundInputSerializer(serializers.Serializer):
    amount = money_field(min_value=Decimal("0"), help_text="Of the payment's amount (0.00 to refund only a tip).")
    tip_amount = money_field(
        min_value=Decimal("0"), default=Decimal("0.00"), help_text="Of the payment's tip: refunded only when asked."
    )
    reason = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=2000)
    restock = serializers.BooleanField(default=False, help_text="Put the order's products back in stock.")
    device_id = serializers.CharField(
        max_length=100, required=False, allow_null=True, allow_blank=True,
        help_text="The till a cash refund is paid out of (default: the till its payment went into).",
    )

    def validate(self, attrs):
        if attrs["amount"] <= 0 and attrs["tip_amount"] <= 0:
            raise serializers.ValidationError({"amount": ["Ensure this value is greater than 0 (or refund a tip)."]})
        return attrs


# --- Cash drawers --------------------------------------------------------------------------


class DrawerEntrySerializer(serializers.ModelSerializer):
    restaurant_id = serializers.IntegerField(read_only=True)
    created_by_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = DrawerEntry
        fields = ["id", "restaurant_id", "entry_type", "amount", "reason", "created_by_id", "created_at"]
        read_only_fields = fields


class DrawerSerializer(serializers.ModelSerializer):
    """A drawer session with its running figures (`figures`: pos.drawers.drawer_figures, by id)."""

    restaurant_id = serializers.IntegerField(read_only=True)
    opened_by_id = serializers.IntegerField(read_only=True, allow_null=True)
    closed_by_id = serializers.IntegerField(read_only=True, allow_null=True)
    cash_taken = serializers.SerializerMethodField()
    cash_refunded = serializers.SerializerMethodField()
    paid_in = serializers.SerializerMethodField()
    paid_out = serializers.SerializerMethodField()
    no_sales = serializers.SerializerMethodField()
    expected = serializers.SerializerMethodField()
    entries = DrawerEntrySerializer(many=True, read_only=True)

    class Meta:
        model = DrawerSession
        fields = [
            "id", "restaurant_id", "device_id", "status", "opening_float", "cash_taken", "cash_refunded", "paid_in",
            "paid_out", "no_sales", "expected", "counted_amount", "difference", "opened_by_id", "opened_at",
            "closed_by_id", "closed_at", "entries",
        ]
        read_only_fields = fields
        extra_kwargs = {"difference": {"help_text": "counted - expected at closing (negative: short)."}}

    def _figures(self, session):
        return self.context["figures"][session.pk]

    @extend_schema_field(money_field(help_text="Cash payments into the drawer, tips included."))
    def get_cash_taken(self, session) -> str:
        return money_text(self._figures(session).cash_taken)

    @extend_schema_field(money_field(help_text="Cash refunds out of the drawer, tips included."))
    def get_cash_refunded(self, session) -> str:
        return money_text(self._figures(session).cash_refunded)

    @extend_schema_field(money_field())
    def get_paid_in(self, session) -> str:
        return money_text(self._figures(session).paid_in)

    @extend_schema_field(money_field())
    def get_paid_out(self, session) -> str:
        return money_text(self._figures(session).paid_out)

    @extend_schema_field(serializers.IntegerField(help_text="Times the drawer was opened without a sale."))
    def get_no_sales(self, session) -> int:
        return self._figures(session).no_sales

    @extend_schema_field(money_field(help_text="float + cash taken - cash refunded + paid in - paid out (now; "
                                                "a closed drawer also keeps it as it was at closing)."))
    def get_expected(self, session) -> str:
        return money_text(self._figures(session).expected)


class DrawerOpenSerializer(serializers.Serializer):
    device_id = serializers.CharField(max_length=100, help_text="The till: its device id or name.")
    opening_float = money_field(min_value=Decimal("0"), help_text="The cash put in the drawer to start with.")


class DrawerCloseSerializer(serializers.Serializer):
    counted_amount = money_field(min_value=Decimal("0"), help_text="The cash counted in the drawer.")


class DrawerEntryInputSerializer(serializers.Serializer):
    entry_type = serializers.ChoiceField(choices=DrawerEntryType.choices)
    amount = money_field(min_value=Decimal("0"), default=Decimal("0.00"), help_text="Paid in or out (none for no_sale).")
    reason = serializers.CharField(max_length=1000, required=False, allow_null=True, allow_blank=True)


class DrawerFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=DrawerStatus.choices, required=False)
    device_id = serializers.CharField(max_length=100, required=False)
