from django.urls import path

from pos.report_apis import DailyReportApi, XReportApi, ZReportDetailApi, ZReportListApi

urlpatterns = [
    path("reports/daily/", DailyReportApi.as_view(), name="report-daily"),
    path("reports/x/", XReportApi.as_view(), name="report-x"),
    path("reports/z/", ZReportListApi.as_view(), name="report-z-list"),
    path("reports/z/<int:z_report_id>/", ZReportDetailApi.as_view(), name="report-z-detail"),
]
