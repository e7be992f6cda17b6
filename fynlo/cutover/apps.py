from django.apps import AppConfig


class CutoverConfig(AppConfig):
    name = "fynlo.cutover"
    label = "cutover"
    verbose_name = "Cutover tooling"
