"""Reports: GET reports/daily/ (a restaurant's day in figures), GET reports/x/ (the till's running
figures), POST and GET reports/z/ (closing the business day; pos.zreports)."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from fynlo.core.api import money_field
from fynlo.core.views import filters
from pos import selectors
from pos.models import DailyReport, ZReport
from pos.reports import daily_report_get
from pos.zreports import x_report, x_report_of_drawer, z_report_run
from tenants.permissions import CASHIER, MANAGERS, roles
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


RESTAURANT_PARAMETER = OpenApiParameter(
    "X-Restaurant-Id", int, OpenApiParameter.HEADER, required=False, description="Required for a platform owner",
)


class MethodFiguresSerializer(serializers.Serializer):
    amount = money_field(max_digits=12)
    tips = money_field(max_digits=12)
    count = serializers.IntegerField()


class RefundFiguresSerializer(serializers.Serializer):
    amount = money_field(max_digits=12)
    tips = money_field(max_digits=12)
    by_method = serializers.DictField(child=MethodFiguresSerializer(), help_text="payment method -> refunds")


class CancelledFiguresSerializer(serializers.Serializer):
    orders = serializers.IntegerField()
    total = money_field(max_digits=12)


class ZFiguresSerializer(serializers.Serializer):
    orders = serializers.IntegerField(help_text="Completed orders")
    sales = money_field(max_digits=12)
    vat = money_field(max_digits=12)
    service_charge = money_field(max_digits=12)
    discounts = money_field(max_digits=12)
    tips = money_field(max_digits=12, help_text="Less tips refunded")
    payments_by_method = serializers.DictField(child=MethodFiguresSerializer(), help_text="payment method -> taken")
    refunds = RefundFiguresSerializer()
    cancelled = CancelledFiguresSerializer(help_text="Voids and cancellations")
    first_order_number = serializers.CharField(allow_null=True)
    last_order_number = serializers.CharField(allow_null=True)
    drawer_difference = money_field(max_digits=12, help_text="Counted - expected, over the drawers closed")


class ZDrawerSerializer(serializers.Serializer):
    drawer_id = serializers.IntegerField()
    device_id = serializers.CharField()
    opening_float = money_field()
    expected = money_field()
    counted = money_field()
    difference = money_field()
    closed_at = serializers.DateTimeField()


class LateOrderSerializer(serializers.Serializer):
    order_id = serializers.IntegerField()
    order_number = serializers.CharField()
    status = serializers.CharField()
    total_amount = money_field()
    created_at = serializers.DateTimeField(help_text="Its business time, inside an earlier Z's day")
    received_at = serializers.DateTimeField()


class LateDaySerializer(serializers.Serializer):
    label = serializers.CharField(help_text='"late for <date>"')
    date = serializers.DateField()
    orders = LateOrderSerializer(many=True)


class ZReportSerializer(serializers.ModelSerializer):
    restaurant_id = serializers.IntegerField(read_only=True)
    generated_by_id = serializers.IntegerField(read_only=True, allow_null=True)
    figures = ZFiguresSerializer()
    drawers = ZDrawerSerializer(many=True)
    late_orders = LateDaySerializer(many=True, help_text="Orders dated inside an earlier Z's day, sent since")

    class Meta:
        model = ZReport
        fields = [
            "id", "restaurant_id", "number", "business_date", "period_start", "generated_at", "generated_by_id",
            "figures", "drawers", "late_orders",
        ]
        read_only_fields = fields


class XReportSerializer(serializers.Serializer):
    since = serializers.DateTimeField(allow_null=True, help_text="The last Z (null: none yet)")
    at = serializers.DateTimeField()
    figures = ZFiguresSerializer()
    drawers = ZDrawerSerializer(many=True, help_text="Drawers closed since the last Z")
    late_orders = LateDaySerializer(many=True)


class XDrawerReportSerializer(serializers.Serializer):
    drawer_id = serializers.IntegerField()
    device_id = serializers.CharField()
    status = serializers.CharField()
    opening_float = money_field()
    cash_taken = money_field()
    cash_refunded = money_field()
    paid_in = money_field()
    paid_out = money_field()
    no_sales = serializers.IntegerField()
    expected = money_field()
    payments_by_method = serializers.DictField(child=MethodFiguresSerializer())


class XReportQuerySerializer(serializers.Serializer):
    drawer = serializers.IntegerField(required=False, min_value=1, help_text="One drawer session's figures")


class XReportApi(APIView):
    permission_classes = [roles(read=MANAGERS | {CASHIER}, write=MANAGERS)]

    @extend_schema(
        parameters=[XReportQuerySerializer, RESTAURANT_PARAMETER],
        responses={200: PolymorphicProxySerializer(
            component_name="XReportOrDrawer", serializers=[XReportSerializer, XDrawerReportSerializer],
            resource_type_field_name=None,
        )},
        summary="X report: what the next Z would count now, or one drawer's running figures (?drawer=)",
    )
    @reads_from_replica  # running figures may lag a few seconds
    def get(self, request):
        restaurant_id = acting_restaurant_id(request)
        query = filters(XReportQuerySerializer, request)
        if "drawer" in query:
            session = selectors.drawer_get(tenant=request.tenant, drawer_id=query["drawer"])
            return Response(XDrawerReportSerializer(x_report_of_drawer(session=session)).data)
        return Response(XReportSerializer(x_report(restaurant_id=restaurant_id)).data)


class ZReportListApi(APIView):
    permission_classes = [roles(read=MANAGERS, write=MANAGERS)]

    @extend_schema(parameters=[RESTAURANT_PARAMETER], responses=ZReportSerializer(many=True),
                   summary="Z reports, newest first")
    def get(self, request):
        reports = selectors.z_report_list(tenant=request.tenant)[:200]
        return Response(ZReportSerializer(reports, many=True).data)

    @extend_schema(request=None, parameters=[RESTAURANT_PARAMETER], responses={201: ZReportSerializer},
                   summary="Z report: close the business day (every drawer closed first); stored, never changed")
    def post(self, request):
        report = z_report_run(restaurant_id=acting_restaurant_id(request), user=request.user)
        return Response(ZReportSerializer(report).data, status=201)


class ZReportDetailApi(APIView):
    permission_classes = [roles(read=MANAGERS, write=MANAGERS)]

    @extend_schema(parameters=[RESTAURANT_PARAMETER], responses=ZReportSerializer, summary="A Z report")
    def get(self, request, z_report_id: int):
        return Response(ZReportSerializer(selectors.z_report_get(tenant=request.tenant, z_report_id=z_report_id)).data)
