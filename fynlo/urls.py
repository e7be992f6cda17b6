from django.urls import include, path, re_path

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from tenants.admin_site import site as admin_site
from fynlo.core.health import health

api_v1 = [
    path("", include("tenants.urls")),
    path("", include("inventory.urls")),
    path("", include("pos.urls")),
    path("", include("pos.report_urls")),
    path("", include("staff.urls")),
    path("", include("billing.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    re_path(r"^health/?$", health, name="health"),
    path("api/v1/", include(api_v1)),
    path("admin/", admin_site.urls),
]

handler404 = "fynlo.core.api.not_found"
handler500 = "fynlo.core.api.server_error"
