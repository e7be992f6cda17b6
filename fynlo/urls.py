from django.contrib import admin
from django.urls import include, path, re_path

from fynlo.core.health import health

urlpatterns = [
    re_path(r"^health/?$", health, name="health"),
    path("api/v1/", include("tenants.urls")),
    path("admin/", admin.site.urls),
]
