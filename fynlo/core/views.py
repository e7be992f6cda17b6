"""The API's base views and their input helpers, shared by every app's apis.py.

Kept apart from fynlo.core.api on purpose: importing DRF's views loads the authentication
classes named in settings (tenants.authentication), which themselves stand on fynlo.core.api.
"""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.views import APIView

from fynlo.core.api import JSONParser, validated


def filters(serializer_class, request) -> dict:
    """Query parameters through a serializer (as a plain dict: an absent boolean stays absent)."""
    return validated(serializer_class, request.query_params.dict())


# The base views carry no docstring: drf-spectacular would show it on every operation.
class JsonApi(APIView):
    parser_classes = [JSONParser]


class JsonListApi(GenericAPIView):
    parser_classes = [JSONParser]


class UploadApi(APIView):
    parser_classes = [MultiPartParser]


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False)


def uploaded_file(request):
    """The request's multipart `file` (400 naming the field when it is missing)."""
    return validated(UploadSerializer, request.data)["file"]
