"""A restaurant's menu (categories, products), suppliers, stock and restock orders."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now

from fynlo.core.fields import URLTextField

from tenants.models import RestaurantScopedModel


class MovementType(models.TextChoices):
    RESTOCK = "restock", "Restock"
    SALE = "sale", "Sale"
    WASTE = "waste", "Waste"
    ADJUSTMENT = "adjustment", "Adjustment"


class MovementReferenceType(models.TextChoices):
    ORDER = "order", "Order"
    RESTOCK = "restock", "Restock"
    ADJUSTMENT = "adjustment", "Adjustment"


class RestockStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ORDERED = "ordered", "Ordered"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"


class Category(RestaurantScopedModel):
    name = models.CharField(max_length=100)
    icon = models.CharField(max_length=10, null=True, blank=True)
    display_order = models.IntegerField(db_default=0)
    is_active = models.BooleanField(db_default=True)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "categories"
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["restaurant", "name"], name="categories_restaurant_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.name


class Product(RestaurantScopedModel):
    """A menu item (the guide's `menu_items`)."""

    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_column="category_id",
        related_name="products",
    )
    name = models.CharField(max_length=255)
    description = models.TextField(null=True, blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    cost = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    sku = models.CharField(max_length=100, null=True, blank=True)
    image_url = URLTextField(null=True, blank=True)
    is_active = models.BooleanField(db_default=True)
    available_in_pos = models.BooleanField(db_default=True)
    track_inventory = models.BooleanField(db_default=False)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "products"
        constraints = [
            models.UniqueConstraint(fields=["restaurant", "sku"], name="products_restaurant_sku_uniq"),
            models.CheckConstraint(condition=Q(price__gte=0), name="products_price_nonneg"),
            models.CheckConstraint(condition=Q(cost__gte=0), name="products_cost_nonneg"),
        ]
        indexes = [
        ]

    def __str__(self) -> str:
        return self.name


class Supplier(RestaurantScopedModel):
    name = models.CharField(max_length=255)
    contact_person = models.CharField(max_length=255, null=True, blank=True)
    email = models.CharField(max_length=255, null=True, blank=True)
    phone = models.CharField(max_length=50, null=True, blank=True)
    address = models.TextField(null=True, blank=True)
    payment_terms = models.CharField(max_length=100, null=True, blank=True)
    is_active = models.BooleanField(db_default=True)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "suppliers"

    def __str__(self) -> str:
        return self.name


class InventoryItem(RestaurantScopedModel):
    """The stock level of one product, or of one ingredient (no product, a name: flour, oil), in one
    restaurant.

    `current_stock` may be below zero, and only by an offline sale (a sale that happened while
    the till was offline happened; its movement is flagged `oversold_offline`): every other
    write refuses to take stock below zero (inventory.services), online orders with 409
    insufficient_stock."""

    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.CASCADE, db_column="product_id",
        related_name="inventory_items",
    )
    # An ingredient's name (an item of a product is named by its product).
    name = models.CharField(max_length=255, null=True, blank=True)
    supplier = models.ForeignKey(
        Supplier,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_column="supplier_id",
        related_name="inventory_items",
    )
    current_stock = models.DecimalField(max_digits=10, decimal_places=3, db_default=0)
    minimum_stock = models.DecimalField(max_digits=10, decimal_places=3, db_default=0)
    maximum_stock = models.DecimalField(max_digits=10, decimal_places=3, db_default=0)
    reorder_point = models.DecimalField(max_digits=10, decimal_places=3, db_default=0)
    unit_cost = models.DecimalField(max_digits=10, decimal_places=2, db_default=0)
    unit_measure = models.CharField(max_length=50, db_default="each")
    last_restocked = models.DateTimeField(null=True, blank=True)
    turnover_rate = models.DecimalField(max_digits=8, decimal_places=4, db_default=0)
    wastage_rate = models.DecimalField(max_digits=5, decimal_places=2, db_default=0)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "inventory_items"
        constraints = [
            models.UniqueConstraint(fields=["restaurant", "product"], name="inventory_items_restaurant_product_uniq"),
            models.CheckConstraint(condition=Q(minimum_stock__gte=0), name="inventory_items_minimum_stock_nonneg"),
            models.CheckConstraint(condition=Q(maximum_stock__gte=0), name="inventory_items_maximum_stock_nonneg"),
            models.CheckConstraint(
                condition=Q(product__isnull=False) | Q(name__isnull=False), name="inventory_items_product_or_name"
            ),
        ]

    def __str__(self) -> str:
        if self.product_id is None:
            return f"{self.current_stock} {self.unit_measure} of {self.name}"
        return f"{self.current_stock} {self.unit_measure} of product {self.product_id}"


class StockMovement(RestaurantScopedModel):
    """One change to an inventory item's stock; `reference_id` points at the order or restock order."""

    inventory_item = models.ForeignKey(
        InventoryItem, on_delete=models.CASCADE, db_column="inventory_item_id", related_name="movements"
    )
    movement_type = models.CharField(max_length=50, choices=MovementType.choices)
    quantity = models.DecimalField(max_digits=10, decimal_places=3)
    unit_cost = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    total_cost = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    reference_id = models.IntegerField(null=True, blank=True)
    reference_type = models.CharField(
        max_length=50, choices=MovementReferenceType.choices, null=True, blank=True
    )
    # An offline sale that took the item below zero.
    oversold_offline = models.BooleanField(db_default=False)
    notes = models.TextField(null=True, blank=True)
    created_by = models.ForeignKey(
        "tenants.User", null=True, blank=True, on_delete=models.SET_NULL, db_column="created_by", related_name="+"
    )
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "stock_movements"
        constraints = [
            models.CheckConstraint(
                condition=Q(movement_type__in=MovementType.values), name="stock_movements_movement_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(reference_type__isnull=True) | Q(reference_type__in=MovementReferenceType.values),
                name="stock_movements_reference_type_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.movement_type} {self.quantity}"


class RestockOrder(RestaurantScopedModel):
    supplier = models.ForeignKey(
        Supplier, on_delete=models.CASCADE, db_column="supplier_id", related_name="restock_orders"
    )
    order_number = models.CharField(max_length=100, unique=True)
    order_date = models.DateField()
    expected_delivery = models.DateField(null=True, blank=True)
    actual_delivery = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=50, choices=RestockStatus.choices, db_default="pending")
    total_amount = models.DecimalField(max_digits=10, decimal_places=2, db_default=0)
    notes = models.TextField(null=True, blank=True)
    created_by = models.ForeignKey(
        "tenants.User", null=True, blank=True, on_delete=models.SET_NULL, db_column="created_by", related_name="+"
    )
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "restock_orders"
        constraints = [
            models.CheckConstraint(condition=Q(status__in=RestockStatus.values), name="restock_orders_status_valid"),
        ]

    def __str__(self) -> str:
        return self.order_number


class RestockOrderItem(RestaurantScopedModel):
    restock_order = models.ForeignKey(
        RestockOrder, on_delete=models.CASCADE, db_column="restock_order_id", related_name="items"
    )
    inventory_item = models.ForeignKey(
        InventoryItem, on_delete=models.CASCADE, db_column="inventory_item_id", related_name="restock_items"
    )
    quantity_ordered = models.DecimalField(max_digits=10, decimal_places=3)
    quantity_received = models.DecimalField(max_digits=10, decimal_places=3, db_default=0)
    unit_cost = models.DecimalField(max_digits=10, decimal_places=2)
    total_cost = models.DecimalField(max_digits=10, decimal_places=2)
    notes = models.TextField(null=True, blank=True)

    class Meta:
        db_table = "restock_order_items"
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity_ordered__gt=0), name="restock_order_items_quantity_ordered_positive"
            ),
            models.CheckConstraint(
                condition=Q(quantity_received__gte=0), name="restock_order_items_quantity_received_nonneg"
            ),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="restock_order_items_unit_cost_nonneg"),
            models.CheckConstraint(condition=Q(total_cost__gte=0), name="restock_order_items_total_cost_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity_ordered} of inventory item {self.inventory_item_id}"


class ModifierGroup(RestaurantScopedModel):
    """A choice offered with some products ("Salsa", "Extras"): how many of its options a line
    must and may take, and whether one option may be taken more than once."""

    name = models.CharField(max_length=100)
    min_selected = models.IntegerField(db_default=0)
    max_selected = models.IntegerField(null=True, blank=True, help_text="Empty: no limit.")
    allow_repeat = models.BooleanField(db_default=False)
    display_order = models.IntegerField(db_default=0)
    is_active = models.BooleanField(db_default=True)
    products = models.ManyToManyField(
        Product, through="ProductModifierGroup", related_name="modifier_groups", blank=True
    )
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "modifier_groups"
        constraints = [
            models.UniqueConstraint(fields=["restaurant", "name"], name="modifier_groups_restaurant_name_uniq"),
            models.CheckConstraint(condition=Q(min_selected__gte=0), name="modifier_groups_min_selected_nonneg"),
            models.CheckConstraint(
                condition=Q(max_selected__isnull=True) | (Q(max_selected__gte=1) & Q(max_selected__gte=F("min_selected"))),
                name="modifier_groups_max_selected_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ModifierOption(RestaurantScopedModel):
    """One choice of a group, with what it adds to (or takes off) the line's unit price; linked to
    an inventory item, each one sold takes one of it out of stock."""

    group = models.ForeignKey(ModifierGroup, on_delete=models.CASCADE, db_column="group_id", related_name="options")
    name = models.CharField(max_length=100)
    price_change = models.DecimalField(max_digits=10, decimal_places=2, db_default=0)
    display_order = models.IntegerField(db_default=0)
    is_active = models.BooleanField(db_default=True)
    inventory_item = models.ForeignKey(
        InventoryItem,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_column="inventory_item_id",
        related_name="modifier_options",
    )
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "modifier_options"
        constraints = [
            models.UniqueConstraint(fields=["group", "name"], name="modifier_options_group_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.name


class ProductModifierGroup(RestaurantScopedModel):
    """A modifier group offered with a product (a group serves many products)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, db_column="product_id", related_name="+")
    group = models.ForeignKey(
        ModifierGroup, on_delete=models.CASCADE, db_column="group_id", related_name="product_links"
    )

    class Meta:
        db_table = "product_modifier_groups"
        constraints = [
            models.UniqueConstraint(fields=["product", "group"], name="product_modifier_groups_product_group_uniq"),
        ]

    def __str__(self) -> str:
        return f"group {self.group_id} on product {self.product_id}"
