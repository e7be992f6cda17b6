"""GET /api/v1/reports/daily/: a restaurant's day in figures (managers and owners)."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from fynlo.core.api import money_field
from fynlo.core.views import filters
from pos.models import DailyReport
from pos.reports import daily_report_get
from tenants.permissions import MANAGERS, roles
from tenants.replicas import reads_from_replica
from tenants.request import acting_restaurant_id


class DailyReportQuerySerializer(serializers.Serializer):
    date = serializers.DateField(required=False, help_text="The local day (YYYY-MM-DD); today by default")
    refresh = serializers.BooleanField(required=False, default=False, help_text="Recompute a stored past day")

    def validate_date(self, value):
        if value > timezone.localdate():
            raise serializers.ValidationError("The day has not happened yet.")
        return value


class TopProductSerializer(serializers.Serializer):
    product_id = serializers.IntegerField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    revenue = money_field(max_digits=12)


class StaffPerformanceSerializer(serializers.Serializer):
    employee_id = serializers.IntegerField()
    name = serializers.CharField()
    orders = serializers.IntegerField()
    sales = money_field(max_digits=12)


class DailyReportSerializer(serializers.ModelSerializer):
    restaurant_id = serializers.IntegerField(read_only=True)
    payment_breakdown = serializers.DictField(
        child=money_field(max_digits=12), help_text="payment method -> amount"
    )
    top_products = TopProductSerializer(many=True)
    staff_performance = StaffPerformanceSerializer(many=True)

    class Meta:
        model = DailyReport
        fields = [
            "id", "restaurant_id", "report_date", "total_sales", "total_orders", "average_ticket", "total_items",
            "payment_breakdown", "top_products", "staff_performance", "generated_at",
        ]
        read_only_fields = fields


class DailyReportApi(APIView):
    permission_classes = [roles(read=MANAGERS, write=MANAGERS)]

    @extend_schema(
        parameters=[
            DailyReportQuerySerializer,
            OpenApiParameter(
                "X-Restaurant-Id", int, OpenApiParameter.HEADER, required=False,
                description="Required for a platform owner",
            ),
        ],
        responses={200: DailyReportSerializer},
        summary="A day's sales, orders, average ticket, items, payments, top products and staff performance",
    )
    @reads_from_replica  # figures may lag a few seconds; the stored report is written on the primary
    def get(self, request):
        restaurant_id = acting_restaurant_id(request)
        query = filters(DailyReportQuerySerializer, request)
        report = daily_report_get(
            restaurant_id=restaurant_id,
            report_date=query.get("date") or timezone.localdate(),
            refresh=query["refresh"],
        )
        return Response(DailyReportSerializer(report).data)
