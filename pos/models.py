"""Orders, their items, payments, refunds and the daily reports cache."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Now

from fynlo.core.fields import URLTextField
from tenants.models import RestaurantScopedModel


class OrderType(models.TextChoices):
    DINE_IN = "dine_in", "Dine in"
    TAKEAWAY = "takeaway", "Takeaway"
    DELIVERY = "delivery", "Delivery"


class OrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    CONFIRMED = "confirmed", "Confirmed"
    PREPARING = "preparing", "Preparing"
    READY = "ready", "Ready"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card"
    CASH = "cash", "Cash"
    APPLE_PAY = "apple_pay", "Apple Pay"
    SUMUP = "sumup", "SumUp"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    REFUNDED = "refunded", "Refunded"


# The payments that took the guest's money: a refunded one took it too (and gave some or all back).
TAKEN_PAYMENT_STATUSES = (PaymentStatus.COMPLETED, PaymentStatus.REFUNDED)


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class Order(RestaurantScopedModel):
    # the guide's idx_orders_restaurant_id is the index (no second, automatic one)
    restaurant = models.ForeignKey(
        "tenants.Restaurant", on_delete=models.CASCADE, db_column="restaurant_id", related_name="+", db_index=False
    )
    order_number = models.CharField(max_length=100, unique=True)
    table_number = models.CharField(max_length=50, null=True, blank=True)
    customer_name = models.CharField(max_length=255, null=True, blank=True)
    order_type = models.CharField(max_length=50, choices=OrderType.choices, db_default="dine_in")
    status = models.CharField(max_length=50, choices=OrderStatus.choices, db_default="draft")
    subtotal = models.DecimalField(max_digits=10, decimal_places=2, db_default=0)
    tax_amount = models.DecimalField(max_digits=10, decimal_places=2, db_default=0)
    service_charge = models.DecimalField(max_digits=10, decimal_places=2, db_default=0)
    discount_amount = models.DecimalField(max_digits=10, decimal_places=2, db_default=0)
    total_amount = models.DecimalField(max_digits=10, decimal_places=2, db_default=0)
    items_count = models.IntegerField(db_default=0)
    # What the order was priced with, so a later change of the restaurant's settings never
    # re-prices it (null: an order from before these were kept, e.g. a legacy import).
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    service_charge_rate = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    prices_include_vat = models.BooleanField(db_default=False)
    # Bumped by every change (edit, payment, refund, status): an edit names the version it read.
    version = models.IntegerField(db_default=1)
    served_by = models.ForeignKey(
        "staff.Employee",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_column="served_by",
        related_name="served_orders",
    )
    created_by = models.ForeignKey(
        "tenants.User", null=True, blank=True, on_delete=models.SET_NULL, db_column="created_by", related_name="+"
    )
    receipt_url = URLTextField(null=True, blank=True)
    # The device's own id of the order (a UUID it made, offline or not): the same one twice is
    # the same order, however late the second comes.
    client_reference = models.UUIDField(null=True, blank=True)
    # An offline sale took a tracked item below zero (it happened: accepted, and flagged).
    oversold_offline = models.BooleanField(db_default=False)
    # The Z report that counted it (null: not yet; the next Z will).
    z_report = models.ForeignKey(
        "ZReport", null=True, blank=True, on_delete=models.PROTECT, db_column="z_report_id", related_name="+"
    )
    # The business time: the device's time of the sale when it sent one (offline), else when the
    # server took it; reports and the order number's day follow it. received_at is the server's.
    created_at = models.DateTimeField(db_default=Now())
    received_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "orders"
        constraints = [
            models.CheckConstraint(condition=Q(order_type__in=OrderType.values), name="orders_order_type_valid"),
            models.CheckConstraint(condition=Q(status__in=OrderStatus.values), name="orders_status_valid"),
            models.CheckConstraint(condition=Q(subtotal__gte=0), name="orders_subtotal_nonneg"),
            models.CheckConstraint(condition=Q(tax_amount__gte=0), name="orders_tax_amount_nonneg"),
            models.CheckConstraint(condition=Q(service_charge__gte=0), name="orders_service_charge_nonneg"),
            models.CheckConstraint(condition=Q(discount_amount__gte=0), name="orders_discount_amount_nonneg"),
            models.CheckConstraint(condition=Q(total_amount__gte=0), name="orders_total_amount_nonneg"),
            models.CheckConstraint(condition=Q(items_count__gte=0), name="orders_items_count_nonneg"),
            models.CheckConstraint(condition=Q(version__gte=1), name="orders_version_positive"),
            models.UniqueConstraint(
                fields=["restaurant", "client_reference"], name="orders_restaurant_client_reference_uniq"
            ),
        ]
        indexes = [
            models.Index(fields=["restaurant"], name="idx_orders_restaurant_id"),
            models.Index(fields=["restaurant", "updated_at", "id"], name="idx_orders_restaurant_updated"),
            models.Index(fields=["created_at"], name="idx_orders_created_at"),
            models.Index(fields=["status"], name="idx_orders_status"),
            models.Index(fields=["restaurant", "created_at"], name="idx_orders_restaurant_date"),
        ]

    def __str__(self) -> str:
        return self.order_number


class OrderItem(RestaurantScopedModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, db_column="order_id", related_name="items")
    product = models.ForeignKey(
        "inventory.Product", on_delete=models.CASCADE, db_column="product_id", related_name="order_items"
    )
    quantity = models.IntegerField(db_default=1)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    total_price = models.DecimalField(max_digits=10, decimal_places=2)
    special_instructions = models.TextField(null=True, blank=True)
    # The modifiers chosen, as sold (DESIGN.md): [{"group", "option", "price", "quantity", "option_id"}],
    # price a string with two places per unit of the option.
    modifiers = models.JSONField(db_default=Value([], output_field=models.JSONField()), blank=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "order_items"
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_items_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="order_items_unit_price_nonneg"),
            models.CheckConstraint(condition=Q(total_price__gte=0), name="order_items_total_price_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x product {self.product_id}"


class Payment(RestaurantScopedModel):
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, db_column="order_id", db_index=False, related_name="payments"
    )
    payment_method = models.CharField(max_length=50, choices=PaymentMethod.choices)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    # The guest's tip: on top of `amount`, not part of the order's total, no commission on it.
    tip_amount = models.DecimalField(max_digits=10, decimal_places=2, db_default=0)
    commission_rate = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    commission_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    transaction_id = models.CharField(max_length=255, null=True, blank=True)
    processor_response = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=50, choices=PaymentStatus.choices, db_default="pending")
    # The device's own id of a payment taken offline: applied once, however often it is sent.
    client_reference = models.UUIDField(null=True, blank=True)
    # The cash drawer a cash payment went into (none: the restaurant uses no drawers, or not cash).
    drawer_session = models.ForeignKey(
        "DrawerSession", null=True, blank=True, on_delete=models.PROTECT, db_column="drawer_session_id",
        related_name="payments",
    )
    # The Z report that counted it (null: not yet; the next Z will).
    z_report = models.ForeignKey(
        "ZReport", null=True, blank=True, on_delete=models.PROTECT, db_column="z_report_id", related_name="+"
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "payments"
        constraints = [
            models.CheckConstraint(
                condition=Q(payment_method__in=PaymentMethod.values), name="payments_payment_method_valid"
            ),
            models.CheckConstraint(condition=Q(status__in=PaymentStatus.values), name="payments_status_valid"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="payments_amount_nonneg"),
            models.CheckConstraint(condition=Q(tip_amount__gte=0), name="payments_tip_amount_nonneg"),
            models.CheckConstraint(condition=Q(commission_amount__gte=0), name="payments_commission_amount_nonneg"),
            models.UniqueConstraint(
                fields=["restaurant", "client_reference"], name="payments_restaurant_client_reference_uniq"
            ),
        ]
        indexes = [
            models.Index(fields=["order"], name="idx_payments_order_id"),
            models.Index(fields=["transaction_id"], name="idx_payments_transaction_id"),
            models.Index(fields=["created_at"], name="idx_payments_created_at"),
            models.Index(fields=["restaurant", "created_at"], name="idx_payments_restaurant_date"),
        ]

    def __str__(self) -> str:
        return f"{self.payment_method} {self.amount}"


class Refund(RestaurantScopedModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, db_column="order_id", related_name="refunds")
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.CASCADE, db_column="payment_id", related_name="refunds"
    )
    # What was given back, tip included (the guide's column); `tip_amount` is the part of it that
    # was the payment's tip, so `amount - tip_amount` comes off the payment's `amount`.
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    tip_amount = models.DecimalField(max_digits=10, decimal_places=2, db_default=0)
    reason = models.TextField(null=True, blank=True)
    status = models.CharField(max_length=50, choices=RefundStatus.choices, db_default="pending")
    processed_by = models.ForeignKey(
        "tenants.User", null=True, blank=True, on_delete=models.SET_NULL, db_column="processed_by", related_name="+"
    )
    # The cash drawer a cash refund was paid out of.
    drawer_session = models.ForeignKey(
        "DrawerSession", null=True, blank=True, on_delete=models.PROTECT, db_column="drawer_session_id",
        related_name="refunds",
    )
    # The Z report that counted it (null: not yet; the next Z will).
    z_report = models.ForeignKey(
        "ZReport", null=True, blank=True, on_delete=models.PROTECT, db_column="z_report_id", related_name="+"
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "refunds"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refunds_amount_positive"),
            models.CheckConstraint(condition=Q(tip_amount__gte=0), name="refunds_tip_amount_nonneg"),
            models.CheckConstraint(condition=Q(tip_amount__lte=F("amount")), name="refunds_tip_amount_within_amount"),
            models.CheckConstraint(condition=Q(status__in=RefundStatus.values), name="refunds_status_valid"),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} on order {self.order_id}"

    @property
    def payment_amount(self):
        """The part of the refund that comes off the payment's amount (the rest was its tip)."""
        return self.amount - self.tip_amount


class DailyReport(RestaurantScopedModel):
    """One restaurant's figures for one day, cached."""

    report_date = models.DateField()
    total_sales = models.DecimalField(max_digits=10, decimal_places=2, db_default=0)
    total_orders = models.IntegerField(db_default=0)
    average_ticket = models.DecimalField(max_digits=10, decimal_places=2, db_default=0)
    total_items = models.IntegerField(db_default=0)
    payment_breakdown = models.JSONField(null=True, blank=True)
    top_products = models.JSONField(null=True, blank=True)
    staff_performance = models.JSONField(null=True, blank=True)
    tax_breakdown = models.JSONField(null=True, blank=True)
    tips = models.JSONField(null=True, blank=True)
    # Orders of the day sold offline beyond the stock: [{"order_id", "order_number"}].
    oversold_offline = models.JSONField(null=True, blank=True)
    generated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "daily_reports"
        constraints = [
            models.UniqueConstraint(fields=["restaurant", "report_date"], name="daily_reports_restaurant_date_uniq"),
        ]

    def __str__(self) -> str:
        return f"Report for {self.report_date}"


class OrderNumberCounter(RestaurantScopedModel):
    """The last order number handed out to one restaurant on one (local) day."""

    day = models.DateField()
    last_number = models.IntegerField()

    class Meta:
        db_table = "order_number_counters"
        constraints = [
            models.UniqueConstraint(fields=["restaurant", "day"], name="order_number_counters_restaurant_day_uniq"),
            models.CheckConstraint(condition=Q(last_number__gt=0), name="order_number_counters_last_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.day}: {self.last_number}"


class IdempotencyRecord(RestaurantScopedModel):
    """A write sent with an `Idempotency-Key`: its request's hash and first response, replayed to retries."""

    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.IntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "idempotency_keys"
        constraints = [
            models.UniqueConstraint(fields=["restaurant", "key"], name="idempotency_keys_restaurant_key_uniq"),
        ]

    def __str__(self) -> str:
        return self.key


class DrawerStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class DrawerSession(RestaurantScopedModel):
    """One till's cash drawer from opening (with a float) to closing (counted): what it should
    hold is the float, plus cash taken, less cash refunded, plus paid in, less paid out."""

    device_id = models.CharField(max_length=100, help_text="The till: its device id or name.")
    status = models.CharField(max_length=20, choices=DrawerStatus.choices, db_default="open")
    opening_float = models.DecimalField(max_digits=10, decimal_places=2)
    opened_by = models.ForeignKey(
        "tenants.User", null=True, blank=True, on_delete=models.SET_NULL, db_column="opened_by", related_name="+"
    )
    opened_at = models.DateTimeField(db_default=Now())
    closed_by = models.ForeignKey(
        "tenants.User", null=True, blank=True, on_delete=models.SET_NULL, db_column="closed_by", related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    # Kept at closing: what the drawer should have held, what was counted, counted - expected.
    expected_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    counted_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    difference = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    # The Z report that counted it (null: not yet; the next Z will).
    z_report = models.ForeignKey(
        "ZReport", null=True, blank=True, on_delete=models.PROTECT, db_column="z_report_id", related_name="+"
    )
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "drawer_sessions"
        constraints = [
            models.UniqueConstraint(
                fields=["restaurant", "device_id"], condition=Q(status="open"), name="drawer_sessions_one_open_per_till"
            ),
            models.CheckConstraint(condition=Q(status__in=DrawerStatus.values), name="drawer_sessions_status_valid"),
            models.CheckConstraint(condition=Q(opening_float__gte=0), name="drawer_sessions_opening_float_nonneg"),
            models.CheckConstraint(condition=Q(counted_amount__gte=0), name="drawer_sessions_counted_amount_nonneg"),
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True, counted_amount__isnull=True)
                | Q(status="closed", closed_at__isnull=False, counted_amount__isnull=False,
                    expected_amount__isnull=False, difference__isnull=False),
                name="drawer_sessions_closed_when_counted",
            ),
        ]
        indexes = [
            models.Index(fields=["restaurant", "device_id", "opened_at"], name="idx_drawer_sessions_till"),
        ]

    def __str__(self) -> str:
        return f"Drawer of {self.device_id} opened {self.opened_at:%Y-%m-%d %H:%M}"


class DrawerEntryType(models.TextChoices):
    PAID_IN = "paid_in", "Paid in"
    PAID_OUT = "paid_out", "Paid out"
    NO_SALE = "no_sale", "No sale"


class DrawerEntry(RestaurantScopedModel):
    """Cash put in or taken out of a drawer outside a sale (with its reason), or the drawer opened
    without one (no sale)."""

    session = models.ForeignKey(DrawerSession, on_delete=models.CASCADE, db_column="session_id", related_name="entries")
    entry_type = models.CharField(max_length=20, choices=DrawerEntryType.choices)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    reason = models.TextField(null=True, blank=True)
    created_by = models.ForeignKey(
        "tenants.User", null=True, blank=True, on_delete=models.SET_NULL, db_column="created_by", related_name="+"
    )
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "drawer_entries"
        constraints = [
            models.CheckConstraint(
                condition=Q(entry_type="no_sale", amount=0)
                | Q(entry_type__in=["paid_in", "paid_out"], amount__gt=0),
                name="drawer_entries_amount_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entry_type} {self.amount}"


class ZReport(RestaurantScopedModel):
    """The end of a business day, numbered per restaurant, never changed once written (a trigger
    refuses every UPDATE). It counts what no earlier Z counted: the day's finished orders, the
    payments and refunds, the drawers closed; orders dated inside an earlier Z's day that arrived
    since (offline) are listed as late for their date."""

    number = models.IntegerField()
    business_date = models.DateField()
    period_start = models.DateTimeField(null=True, blank=True, help_text="The previous Z (null: the first).")
    generated_at = models.DateTimeField(db_default=Now())
    generated_by = models.ForeignKey(
        "tenants.User", null=True, blank=True, on_delete=models.SET_NULL, db_column="generated_by", related_name="+"
    )
    figures = models.JSONField(encoder=DjangoJSONEncoder)
    drawers = models.JSONField(encoder=DjangoJSONEncoder)
    late_orders = models.JSONField(encoder=DjangoJSONEncoder)

    class Meta:
        db_table = "z_reports"
        constraints = [
            models.UniqueConstraint(fields=["restaurant", "number"], name="z_reports_restaurant_number_uniq"),
            models.CheckConstraint(condition=Q(number__gt=0), name="z_reports_number_positive"),
        ]

    def __str__(self) -> str:
        return f"Z {self.number} of {self.business_date}"
