"""Staff rows reference only their own restaurant's rows (tenants.references)."""

from django.db import migrations

from tenants.references import RestaurantKey, SameRestaurant


class Migration(migrations.Migration):

    dependencies = [
        ('staff', '0002_row_level_security'),
    ]

    operations = [
        RestaurantKey('employee_roles'),
        RestaurantKey('employees'),
        RestaurantKey('schedules'),
        RestaurantKey('shifts'),
        SameRestaurant('employees', 'role_id', 'employee_roles'),
        SameRestaurant('performance_metrics', 'employee_id', 'employees'),
        SameRestaurant('shifts', 'schedule_id', 'schedules'),
        SameRestaurant('shifts', 'employee_id', 'employees'),
        SameRestaurant('time_tracking', 'employee_id', 'employees'),
        SameRestaurant('time_tracking', 'shift_id', 'shifts'),
    ]
