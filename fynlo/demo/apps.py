from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "fynlo.demo"
    label = "demo"
    verbose_name = "The guide's demo restaurant"
