"""Test-only views that forget to filter by restaurant, as buggy code would."""

from django.db import connection
from django.http import JsonResponse
from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from fynlo.urls import handler404, handler500  # noqa: F401  (the project's error pages)
from inventory.models import Product


def _state():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('app.current_restaurant_id', true), pg_backend_pid()")
        setting, pid = cursor.fetchone()
    return {"products": sorted(Product.objects.values_list("id", flat=True)), "setting": setting or "", "pid": pid}


class UnfilteredProductsApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        return Response(_state())


class FailingApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        Product.objects.count()
        raise RuntimeError("boom, midway through the request")


def unfiltered_products_view(request):
    return JsonResponse(_state())


urlpatterns = [
    path("t/api/products", UnfilteredProductsApi.as_view()),
    path("t/api/fail", FailingApi.as_view()),
    path("api/v1/t/fail", FailingApi.as_view()),
    path("t/products", unfiltered_products_view),
    path("", include("fynlo.urls")),
]
