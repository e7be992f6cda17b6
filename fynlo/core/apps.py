from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "fynlo.core"
    label = "core"
    verbose_name = "Fynlo core"

    def ready(self):
        from fynlo.core import db  # noqa: F401  (registers the pooler check)
