"""Input and output shapes of the orders, payments and refunds API. Money is a string with
two places; every object carries its `restaurant_id`. Totals sent by a client are not
fields of any input here: the server computes them."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from fynlo.core.api import money_field
from fynlo.core.money import money_text
from pos.models import (
    TAKEN_PAYMENT_STATUSES,
    Order,
    OrderItem,
    OrderStatus,
    OrderType,
    Payment,
    PaymentMethod,
    Refund,
    RefundStatus,
)

MAX_ITEMS = 100


# --- Output --------------------------------------------------------------------------------


class OrderItemSerializer(serializers.ModelSerializer):
    restaurant_id = serializers.IntegerField(read_only=True)
    product_id = serializers.IntegerField(read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)

    class Meta:
        model = OrderItem
        fields = [
            "id", "restaurant_id", "product_id", "product_name", "quantity", "unit_price", "total_price",
            "special_instructions",
        ]
        read_only_fields = fields


class RefundSerializer(serializers.ModelSerializer):
    restaurant_id = serializers.IntegerField(read_only=True)
    order_id = serializers.IntegerField(read_only=True)
    payment_id = serializers.IntegerField(read_only=True, allow_null=True)
    processed_by_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Refund
        fields = [
            "id", "restaurant_id", "order_id", "payment_id", "amount", "reason", "status", "processed_by_id",
            "processed_at", "created_at",
        ]
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer):
    restaurant_id = serializers.IntegerField(read_only=True)
    order_id = serializers.IntegerField(read_only=True)
    refunds = RefundSerializer(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id", "restaurant_id", "order_id", "payment_method", "amount", "commission_rate", "commission_amount",
            "transaction_id", "status", "processed_at", "created_at", "refunds",
        ]
        read_only_fields = fields


def _sum(values) -> str:
    return money_text(sum(values, Decimal("0")))


class OrderSerializer(serializers.ModelSerializer):
    """An order with its items, payments and refunds (prefetched by pos.selectors)."""

    restaurant_id = serializers.IntegerField(read_only=True)
    served_by_id = serializers.IntegerField(read_only=True, allow_null=True)
    created_by_id = serializers.IntegerField(read_only=True, allow_null=True)
    items = OrderItemSerializer(many=True, read_only=True)
    payments = PaymentSerializer(many=True, read_only=True)
    amount_paid = serializers.SerializerMethodField()
    amount_refunded = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id", "restaurant_id", "order_number", "order_type", "status", "table_number", "customer_name",
            "items", "items_count", "subtotal", "discount_amount", "tax_amount", "service_charge", "total_amount",
            "amount_paid", "amount_refunded", "payments", "served_by_id", "created_by_id", "receipt_url",
            "created_at", "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(money_field(help_text="What the payments took, refunds not deducted."))
    def get_amount_paid(self, order: Order) -> str:
        return _sum(payment.amount for payment in order.payments.all() if payment.status in TAKEN_PAYMENT_STATUSES)

    @extend_schema_field(money_field())
    def get_amount_refunded(self, order: Order) -> str:
        return _sum(
            refund.amount
            for payment in order.payments.all()
            for refund in payment.refunds.all()
            if refund.status == RefundStatus.COMPLETED
        )


class OrderBalanceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    restaurant_id = serializers.IntegerField()
    order_number = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
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


class OrderLineInputSerializer(serializers.Serializer):
    product_id = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1, max_value=1000)
    special_instructions = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=1000)


class OrderCreateSerializer(serializers.Serializer):
    order_type = serializers.ChoiceField(choices=OrderType.choices, default=OrderType.DINE_IN)
    table_number = serializers.CharField(max_length=50, required=False, allow_null=True, allow_blank=True)
    customer_name = serializers.CharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    items = OrderLineInputSerializer(many=True, allow_empty=False, max_length=MAX_ITEMS)
    discount_amount = money_field(min_value=Decimal("0"), default=Decimal("0.00"))


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
    tendered = money_field(min_value=Decimal("0.01"), required=False, allow_null=True,
                     help_text="Cash handed over; the change is what exceeds the amount due.")
    transaction_id = serializers.CharField(max_length=255, required=False, allow_null=True, allow_blank=True,
                                           help_text="The card terminal's reference.")


class RefundInputSerializer(serializers.Serializer):
    amount = money_field(min_value=Decimal("0.01"))
    reason = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=2000)
    restock = serializers.BooleanField(default=False, help_text="Put the order's products back in stock.")
