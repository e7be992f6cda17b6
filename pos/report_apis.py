"""GET /api/v1/reports/daily/: a restaurant's day in figures (managers and owners)."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
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


class EmployeeTipsSerializer(serializers.Serializer):
    employee_id = serializers.IntegerField()
    name = serializers.CharField()
    tips = money_field(max_digits=12)


class TipsSerializer(serializers.Serializer):
    total = money_field(max_digits=12)
    by_method = serializers.DictField(child=money_field(max_digits=12), help_text="payment method -> tips")
    by_employee = EmployeeTipsSerializer(many=True, help_text="By the employee who served the order")


class OversoldOrderSerializer(serializers.Serializer):
    order_id = serializers.IntegerField()
    order_number = serializers.CharField()


EMPTY_TIPS = {"total": "0.00", "by_method": {}, "by_employee": []}


class DailyReportSerializer(serializers.ModelSerializer):
    restaurant_id = serializers.IntegerField(read_only=True)
    payment_breakdown = serializers.DictField(
        child=money_field(max_digits=12), help_text="payment method -> amount"
    )
    top_products = TopProductSerializer(many=True)
    staff_performance = StaffPerformanceSerializer(many=True)
    tax_breakdown = serializers.DictField(
        child=money_field(max_digits=12),
        help_text='"VAT included" (prices were gross) or "VAT" (added to the prices) -> tax of the day\'s orders',
    )
    tips = serializers.SerializerMethodField()
    oversold_offline = serializers.SerializerMethodField()

    class Meta:
        model = DailyReport
        fields = [
            "id", "restaurant_id", "report_date", "total_sales", "total_orders", "average_ticket", "total_items",
            "payment_breakdown", "tax_breakdown", "tips", "top_products", "staff_performance", "oversold_offline",
            "generated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(TipsSerializer(help_text="Tips (not part of sales), less tips refunded"))
    def get_tips(self, report: DailyReport) -> dict:
        return TipsSerializer(report.tips or EMPTY_TIPS).data

    @extend_schema_field(OversoldOrderSerializer(
        many=True, help_text="Orders sold offline beyond the stock (see inventory/items/?oversold=true)"
    ))
    def get_oversold_offline(self, report: DailyReport) -> list:
        return report.oversold_offline or []

    def to_representation(self, report):
        data = super().to_representation(report)
        data["tax_breakdown"] = data["tax_breakdown"] or {}
        return data


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
