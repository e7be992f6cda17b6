from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "fynlo.core"
    label = "core"
    verbose_name = "Fynlo core"
