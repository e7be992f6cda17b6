from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Platforms and restaurants"

    def ready(self):
        from django.contrib.auth import user_logged_in
        from django.contrib.auth.models import update_last_login

        from tenants import checks, schema  # noqa: F401  (register the check and the OpenAPI schemes)
        from tenants.signals import update_last_login_in_tenant

        # Django's own handler saves the user with no tenant set, which RLS turns into
        # "no rows updated"; ours sets the signed-in user's tenant first.
        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
        user_logged_in.connect(update_last_login_in_tenant, dispatch_uid="fynlo_update_last_login")
