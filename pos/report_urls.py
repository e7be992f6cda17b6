from django.urls import path

from pos.report_apis import DailyReportApi

urlpatterns = [
    path("reports/daily/", DailyReportApi.as_view(), name="report-daily"),
]
