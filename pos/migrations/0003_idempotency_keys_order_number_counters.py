"""Idempotency records of the API's writes, and the per-restaurant, per-day order number counters."""

import django.core.serializers.json
import django.db.models.deletion
import django.db.models.functions.datetime
from django.db import migrations, models

from tenants.rls import EnableRLS


class Migration(migrations.Migration):

    dependencies = [
        ('pos', '0002_row_level_security'),
        ('tenants', '0002_row_level_security'),
    ]

    operations = [
        migrations.CreateModel(
            name='IdempotencyRecord',
            fields=[
                ('id', models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=255)),
                ('request_hash', models.CharField(max_length=64)),
                ('response_status', models.IntegerField(blank=True, null=True)),
                ('response_body', models.JSONField(blank=True, encoder=django.core.serializers.json.DjangoJSONEncoder, null=True)),
                ('created_at', models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
                ('restaurant', models.ForeignKey(db_column='restaurant_id', on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.restaurant')),
            ],
            options={
                'db_table': 'idempotency_keys',
                'constraints': [models.UniqueConstraint(fields=('restaurant', 'key'), name='idempotency_keys_restaurant_key_uniq')],
            },
        ),
        migrations.CreateModel(
            name='OrderNumberCounter',
            fields=[
                ('id', models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('last_number', models.IntegerField()),
                ('restaurant', models.ForeignKey(db_column='restaurant_id', on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.restaurant')),
            ],
            options={
                'db_table': 'order_number_counters',
                'constraints': [models.UniqueConstraint(fields=('restaurant', 'day'), name='order_number_counters_restaurant_day_uniq'), models.CheckConstraint(condition=models.Q(('last_number__gt', 0)), name='order_number_counters_last_number_positive')],
            },
        ),
        EnableRLS(table="idempotency_keys", scope="restaurant"),
        EnableRLS(table="order_number_counters", scope="restaurant"),
    ]
