"""Stock, menu and purchasing rows reference only their own restaurant's rows (tenants.references)."""

from django.db import migrations

from tenants.references import RestaurantKey, SameRestaurant


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0002_row_level_security'),
    ]

    operations = [
        RestaurantKey('categories'),
        RestaurantKey('products'),
        RestaurantKey('suppliers'),
        RestaurantKey('inventory_items'),
        RestaurantKey('restock_orders'),
        SameRestaurant('products', 'category_id', 'categories'),
        SameRestaurant('inventory_items', 'product_id', 'products'),
        SameRestaurant('inventory_items', 'supplier_id', 'suppliers'),
        SameRestaurant('restock_orders', 'supplier_id', 'suppliers'),
        SameRestaurant('restock_order_items', 'restock_order_id', 'restock_orders'),
        SameRestaurant('restock_order_items', 'inventory_item_id', 'inventory_items'),
        SameRestaurant('stock_movements', 'inventory_item_id', 'inventory_items'),
    ]
