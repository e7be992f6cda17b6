import re

from django.conf import settings
from django.urls import include, path, re_path

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from tenants.admin_site import site as admin_site
from fynlo.core.health import health
from fynlo.core.media import media_file
from fynlo.home import home

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
    path("", home, name="home"),
    re_path(r"^health/?$", health, name="health"),
    path("api/v1/", include(api_v1)),
    path("admin/", admin_site.urls),
]
if settings.MEDIA_URL.startswith("/"):
    # uploads kept under MEDIA_ROOT (no Spaces); the view answers 404 when Spaces holds them
    urlpatterns.append(
        re_path(rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}(?P<name>.+)$", media_file, name="media-file")
    )

handler404 = "fynlo.core.api.not_found"
handler500 = "fynlo.core.api.server_error"
