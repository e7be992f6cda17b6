"""GET /: where a newcomer lands at the printed URL — links to the admin, the API docs and /health,
and, on a demo (DEMO_SHOW_LOGINS), one login per demo role."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_safe

from fynlo.demo.seed import demo_logins, demo_password


@require_safe
def home(request):
    context = {"show_logins": settings.DEMO_SHOW_LOGINS, "logins": []}
    if settings.DEMO_SHOW_LOGINS:
        context["logins"] = demo_logins(password=demo_password())
    return render(request, "home.html", context)
