from django.contrib import admin
from django.urls import path, re_path

from fynlo.core.health import health

urlpatterns = [
    re_path(r"^health/?$", health, name="health"),
    path("admin/", admin.site.urls),
]
