"""ASGI entry point. Refuses to start when the runtime role could bypass row-level security."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fynlo.settings")

application = get_asgi_application()

from fynlo.core.startup import refuse_unsafe_runtime_role  # noqa: E402

refuse_unsafe_runtime_role()
