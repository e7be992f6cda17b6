"""Orders, their items, payments and refunds reference only their own restaurant's rows (tenants.references)."""

from django.db import migrations

from tenants.references import RestaurantKey, SameRestaurant


class Migration(migrations.Migration):

    dependencies = [
        ('pos', '0003_idempotency_keys_order_number_counters'),
        ('inventory', '0003_same_restaurant_references'),
        ('staff', '0003_same_restaurant_references'),
    ]

    operations = [
        RestaurantKey('orders'),
        RestaurantKey('payments'),
        SameRestaurant('orders', 'served_by', 'employees'),
        SameRestaurant('order_items', 'order_id', 'orders'),
        SameRestaurant('order_items', 'product_id', 'products'),
        SameRestaurant('payments', 'order_id', 'orders'),
        SameRestaurant('refunds', 'order_id', 'orders'),
        SameRestaurant('refunds', 'payment_id', 'payments'),
    ]
