"""Model fields shared by the apps."""

from django import forms
from django.core.validators import URLValidator
from django.db import models


class URLTextField(models.TextField):
    """A URL stored as TEXT (the guide's type, no length cap), validated as a URL.

    Declaring a column with this type is what makes it a URL column: the storage URL
    rewrite finds every such field from the models.
    """

    default_validators = [URLValidator()]

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": forms.URLField, "assume_scheme": "https", **kwargs})
