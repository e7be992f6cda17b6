"""WSGI entry point. Refuses to start when the runtime role could bypass row-level security."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fynlo.settings")

application = get_wsgi_application()

from fynlo.core.startup import refuse_unsafe_runtime_role  # noqa: E402

refuse_unsafe_runtime_role()
