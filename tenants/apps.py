from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Platforms and restaurants"

    def ready(self):
        from tenants import checks  # noqa: F401  (registers the runtime-role check)
