"""The Django admin of platform owners and operations staff.

One admin site for both: a platform owner's requests run under their platform's row-level
security context (tenants.middleware), operations staff (superusers) see every tenant. Each
app's admin.py registers its models on `site`, and may add a page of its own with
`site.register_page(...)` (billing's dashboard does); `fynlo/urls.py` serves it at /admin/.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.urls import path, reverse

from tenants.models import Platform


@dataclass(frozen=True)
class AdminPage:
    """A page of the admin that is not a model's: shown to those holding `permission`."""

    name: str
    route: str
    view: Callable
    permission: str

    def allows(self, user) -> bool:
        return bool(user and user.is_active and user.is_staff and user.has_perm(self.permission))


class FynloAdminSite(admin.AdminSite):
    site_header = "Fynlo administration"
    site_title = "Fynlo admin"
    index_title = "Platform administration"
    index_template = "admin/fynlo/index.html"
    site_url = None  # the backend has no public site to link to

    def __init__(self, name: str = "admin"):
        super().__init__(name)
        self._pages: dict[str, AdminPage] = {}

    def register_page(self, *, name: str, route: str, view: Callable, permission: str) -> None:
        """Serve `view(site, request)` at /admin/<route> as `admin:<name>`, for users with `permission`."""
        self._pages[name] = AdminPage(name=name, route=route, view=view, permission=permission)

    def each_context(self, request):
        context = super().each_context(request)
        user = getattr(request, "user", None)
        context["fynlo_scope"] = self._scope_label(user)
        context["page_urls"] = {
            page.name: reverse(f"admin:{page.name}", current_app=self.name)
            for page in self._pages.values() if page.allows(user)
        }
        context["dashboard_url"] = context["page_urls"].get("dashboard")
        return context

    def get_log_entries(self, request):
        # django_admin_log is not tenant-scoped: show each person only their own entries.
        return super().get_log_entries(request).filter(user_id=request.user.pk)

    def get_urls(self):
        pages = [
            path(page.route, self.admin_view(self._page_view(page)), name=page.name)
            for page in self._pages.values()
        ]
        return pages + super().get_urls()

    def _page_view(self, page: AdminPage):
        def view(request, *args, **kwargs):
            if not page.allows(request.user):
                raise PermissionDenied
            request.current_app = self.name
            return page.view(self, request, *args, **kwargs)

        return view

    @staticmethod
    def _scope_label(user) -> str | None:
        if not getattr(user, "is_authenticated", False):
            return None
        if user.is_superuser:
            return "Operations: every platform"
        platform = Platform.objects.filter(pk=user.platform_id).first() if user.platform_id else None
        return f"Platform: {platform.name}" if platform else None


site = FynloAdminSite(name="admin")
