"""Orders, their items, payments, refunds and the daily reports cache."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
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
    created_at = models.DateTimeField(db_default=Now())
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
        ]
        indexes = [
            models.Index(fields=["restaurant"], name="idx_orders_restaurant_id"),
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
    # A snapshot of the chosen modifiers, so history survives menu edits (DESIGN.md): a list of
    # {"group", "option", "price" (two places, per unit), "quantity", "option_id"}.
    modifiers = models.JSONField(default=list, db_default=[], blank=True)
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
    commission_rate = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    commission_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    transaction_id = models.CharField(max_length=255, null=True, blank=True)
    processor_response = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=50, choices=PaymentStatus.choices, db_default="pending")
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
            models.CheckConstraint(condition=Q(commission_amount__gte=0), name="payments_commission_amount_nonneg"),
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
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    reason = models.TextField(null=True, blank=True)
    status = models.CharField(max_length=50, choices=RefundStatus.choices, db_default="pending")
    processed_by = models.ForeignKey(
        "tenants.User", null=True, blank=True, on_delete=models.SET_NULL, db_column="processed_by", related_name="+"
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "refunds"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refunds_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=RefundStatus.values), name="refunds_status_valid"),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} on order {self.order_id}"


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
