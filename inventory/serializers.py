"""Input and output shapes of the menu and stock API. Money is a string with two places;
every object carries its `restaurant_id`."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from fynlo.core.api import money_field
from inventory.models import (
    Category,
    InventoryItem,
    ModifierGroup,
    ModifierOption,
    MovementType,
    Product,
    RestockOrder,
    RestockOrderItem,
    RestockStatus,
    StockMovement,
    Supplier,
)


def stock(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=10, decimal_places=3, **kwargs)


# --- Menu ----------------------------------------------------------------------------------


class CategorySerializer(serializers.ModelSerializer):
    restaurant_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Category
        fields = ["id", "restaurant_id", "name", "icon", "display_order", "is_active", "created_at"]
        read_only_fields = fields


class CategoryInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    icon = serializers.CharField(max_length=10, required=False, allow_null=True, allow_blank=True)
    display_order = serializers.IntegerField(required=False, min_value=0, max_value=1_000_000)
    is_active = serializers.BooleanField(required=False)


class CategoryFilterSerializer(serializers.Serializer):
    is_active = serializers.BooleanField(required=False, help_text="Only active (true) or inactive (false) ones.")


class ModifierOptionSerializer(serializers.ModelSerializer):
    restaurant_id = serializers.IntegerField(read_only=True)
    group_id = serializers.IntegerField(read_only=True)
    inventory_item_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = ModifierOption
        fields = [
            "id", "restaurant_id", "group_id", "name", "price_change", "display_order", "is_active",
            "inventory_item_id", "created_at", "updated_at",
        ]
        read_only_fields = fields


class MenuModifierOptionSerializer(serializers.ModelSerializer):
    """An option as the till offers it with a product."""

    inventory_item_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = ModifierOption
        fields = ["id", "name", "price_change", "display_order", "inventory_item_id"]
        read_only_fields = fields


class MenuModifierGroupSerializer(serializers.ModelSerializer):
    """A product's active modifier group with its active options (prefetched by inventory.selectors)."""

    options = MenuModifierOptionSerializer(source="active_options", many=True, read_only=True)

    class Meta:
        model = ModifierGroup
        fields = ["id", "name", "min_selected", "max_selected", "allow_repeat", "display_order", "options"]
        read_only_fields = fields


class ModifierGroupSerializer(serializers.ModelSerializer):
    """A modifier group with every option (active or not) and the products that offer it."""

    restaurant_id = serializers.IntegerField(read_only=True)
    options = ModifierOptionSerializer(many=True, read_only=True)
    product_ids = serializers.SerializerMethodField()

    class Meta:
        model = ModifierGroup
        fields = [
            "id", "restaurant_id", "name", "min_selected", "max_selected", "allow_repeat", "display_order",
            "is_active", "options", "product_ids", "created_at", "updated_at",
        ]
        read_only_fields = fields

    def get_product_ids(self, group: ModifierGroup) -> list[int]:
        return [link.product_id for link in group.product_links.all()]


class ModifierGroupInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    min_selected = serializers.IntegerField(required=False, min_value=0, max_value=100)
    max_selected = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=100, help_text="null: no limit."
    )
    allow_repeat = serializers.BooleanField(required=False, help_text="An option may be chosen more than once.")
    display_order = serializers.IntegerField(required=False, min_value=0, max_value=1_000_000)
    is_active = serializers.BooleanField(required=False)


class ModifierOptionInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    price_change = money_field(
        required=False, min_value=Decimal("-99999999.99"),
        help_text='Added to the unit price of the line; may be 0 or negative ("no cheese": "-0.50").',
    )
    display_order = serializers.IntegerField(required=False, min_value=0, max_value=1_000_000)
    is_active = serializers.BooleanField(required=False)
    inventory_item_id = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="Each one sold takes one unit of this stock."
    )


class ProductSerializer(serializers.ModelSerializer):
    restaurant_id = serializers.IntegerField(read_only=True)
    category_id = serializers.IntegerField(read_only=True, allow_null=True)
    modifier_groups = MenuModifierGroupSerializer(
        source="active_modifier_groups", many=True, read_only=True,
        help_text="The active modifier groups offered with the product, with their active options.",
    )

    class Meta:
        model = Product
        fields = [
            "id", "restaurant_id", "category_id", "name", "description", "price", "cost", "sku", "image_url",
            "is_active", "available_in_pos", "track_inventory", "modifier_groups", "created_at", "updated_at",
        ]
        read_only_fields = fields


class ProductInputSerializer(serializers.Serializer):
    category_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    name = serializers.CharField(max_length=255)
    description = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=5000)
    price = money_field(min_value=0)
    cost = money_field(min_value=0, required=False, allow_null=True)
    sku = serializers.CharField(max_length=100, required=False, allow_null=True, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    available_in_pos = serializers.BooleanField(required=False)
    track_inventory = serializers.BooleanField(required=False)
    modifier_group_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=50,
        help_text="The modifier groups the product offers (replaces the list).",
    )

    def validate_sku(self, value):
        return value or None  # "" would collide with every other product without a SKU


class ModifierGroupFilterSerializer(serializers.Serializer):
    is_active = serializers.BooleanField(required=False)


class ProductFilterSerializer(serializers.Serializer):
    category = serializers.IntegerField(required=False, min_value=1, help_text="A category id.")
    is_active = serializers.BooleanField(required=False)
    available_in_pos = serializers.BooleanField(required=False)


# --- Stock ---------------------------------------------------------------------------------


class InventoryItemSerializer(serializers.ModelSerializer):
    restaurant_id = serializers.IntegerField(read_only=True)
    product_id = serializers.IntegerField(read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True, allow_null=True)
    name = serializers.CharField(read_only=True, allow_null=True, help_text="An ingredient's name (no product).")
    supplier_id = serializers.IntegerField(read_only=True, allow_null=True)
    is_low = serializers.SerializerMethodField(help_text="The stock is at or below the reorder point.")

    class Meta:
        model = InventoryItem
        fields = [
            "id", "restaurant_id", "product_id", "product_name", "name", "supplier_id", "current_stock", "minimum_stock",
            "maximum_stock", "reorder_point", "is_low", "unit_cost", "unit_measure", "last_restocked", "updated_at",
        ]
        read_only_fields = fields

    def get_is_low(self, item: InventoryItem) -> bool:
        return item.current_stock <= item.reorder_point


class InventoryItemInputSerializer(serializers.Serializer):
    supplier_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    minimum_stock = stock(min_value=0, required=False)
    maximum_stock = stock(min_value=0, required=False)
    reorder_point = stock(min_value=0, required=False)
    unit_cost = money_field(min_value=0, required=False)
    unit_measure = serializers.CharField(max_length=50, required=False)


class InventoryItemFilterSerializer(serializers.Serializer):
    low_stock = serializers.BooleanField(
        required=False, help_text="true: only items at or below their reorder point; false: only the others."
    )
    oversold = serializers.BooleanField(
        required=False,
        help_text="true (owners, manager): only items below zero, sold offline beyond the stock; false: the others.",
    )


class StockAdjustmentSerializer(serializers.Serializer):
    quantity = stock(help_text="The signed change: -3 takes three away, 5 adds five.")
    movement_type = serializers.ChoiceField(choices=[MovementType.WASTE, MovementType.ADJUSTMENT])
    notes = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=1000)


class StockMovementSerializer(serializers.ModelSerializer):
    restaurant_id = serializers.IntegerField(read_only=True)
    inventory_item_id = serializers.IntegerField(read_only=True)
    current_stock = serializers.DecimalField(
        source="inventory_item.current_stock", max_digits=10, decimal_places=3, read_only=True,
        help_text="The item's stock after this movement.",
    )

    class Meta:
        model = StockMovement
        fields = [
            "id", "restaurant_id", "inventory_item_id", "movement_type", "quantity", "unit_cost", "total_cost",
            "reference_type", "reference_id", "notes", "current_stock", "created_at",
        ]
        read_only_fields = fields


# --- Suppliers and restock orders ----------------------------------------------------------


class SupplierSerializer(serializers.ModelSerializer):
    restaurant_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Supplier
        fields = [
            "id", "restaurant_id", "name", "contact_person", "email", "phone", "address", "payment_terms",
            "is_active", "created_at", "updated_at",
        ]
        read_only_fields = fields


class SupplierInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    contact_person = serializers.CharField(max_length=255, required=False, allow_null=True, allow_blank=True)
    email = serializers.EmailField(max_length=255, required=False, allow_null=True, allow_blank=True)
    phone = serializers.CharField(max_length=50, required=False, allow_null=True, allow_blank=True)
    address = serializers.CharField(max_length=2000, required=False, allow_null=True, allow_blank=True)
    payment_terms = serializers.CharField(max_length=100, required=False, allow_null=True, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class SupplierFilterSerializer(serializers.Serializer):
    is_active = serializers.BooleanField(required=False)


class RestockOrderItemSerializer(serializers.ModelSerializer):
    restaurant_id = serializers.IntegerField(read_only=True)
    inventory_item_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = RestockOrderItem
        fields = [
            "id", "restaurant_id", "inventory_item_id", "quantity_ordered", "quantity_received", "unit_cost", "total_cost", "notes",
        ]
        read_only_fields = fields


class RestockOrderSerializer(serializers.ModelSerializer):
    restaurant_id = serializers.IntegerField(read_only=True)
    supplier_id = serializers.IntegerField(read_only=True)
    created_by_id = serializers.IntegerField(read_only=True, allow_null=True)
    items = RestockOrderItemSerializer(many=True, read_only=True)

    class Meta:
        model = RestockOrder
        fields = [
            "id", "restaurant_id", "supplier_id", "order_number", "order_date", "expected_delivery",
            "actual_delivery", "status", "total_amount", "notes", "items", "created_by_id", "created_at", "updated_at",
        ]
        read_only_fields = fields


class RestockLineInputSerializer(serializers.Serializer):
    inventory_item_id = serializers.IntegerField(min_value=1)
    quantity_ordered = stock(min_value=Decimal("0.001"))
    unit_cost = money_field(min_value=0)
    notes = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=1000)


class RestockOrderInputSerializer(serializers.Serializer):
    supplier_id = serializers.IntegerField(min_value=1)
    expected_delivery = serializers.DateField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=2000)
    items = RestockLineInputSerializer(many=True, allow_empty=False, max_length=500)


class RestockOrderFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RestockStatus.choices, required=False)


class ReceivedLineSerializer(serializers.Serializer):
    id = serializers.IntegerField(min_value=1, help_text="A line of the restock order.")
    quantity_received = stock(min_value=0)


class RestockReceiveSerializer(serializers.Serializer):
    items = ReceivedLineSerializer(
        many=True, required=False,
        help_text="What arrived, per line; omit to receive every line as ordered (lines not named: nothing).",
    )
