"""Every endpoint parses JSON bodies with the project's parser: a body that is not JSON, or
JSON nested deeper than Python's parser can follow, is a 400 `parse_error` in the error shape."""

from __future__ import annotations

import pytest

from tests.tenants.factories import make_shop

pytestmark = pytest.mark.django_db

DEEPLY_NESTED = '{"items": [' * 2000


@pytest.fixture
def cashier_client(api_client_for):
    return api_client_for(make_shop()["cashier"])


@pytest.mark.parametrize("body", [DEEPLY_NESTED, DEEPLY_NESTED + "]}" * 2000, '{"items": [}', "not json"])
@pytest.mark.parametrize("path", ["/api/v1/orders/", "/api/v1/auth/login"])
def test_a_body_that_cannot_be_parsed_is_a_400_parse_error(cashier_client, path, body):
    response = cashier_client.post(path, data=body, content_type="application/json")

    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "parse_error"
    assert error["message"].startswith("JSON parse error")
    assert error["fields"] == {}


def _api_views(patterns, prefix=""):
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            yield from _api_views(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            view = getattr(pattern.callback, "cls", None)
            if view is not None:
                yield prefix + str(pattern.pattern), view


def test_no_endpoint_parses_json_with_drfs_parser_directly():
    from django.urls import get_resolver
    from rest_framework import parsers

    from fynlo.core.api import JSONParser

    views = dict(_api_views(get_resolver().url_patterns))
    assert "api/v1/orders/" in views
    drf_json = {
        path: view.__name__ for path, view in views.items()
        if any(parser is parsers.JSONParser for parser in view.parser_classes)
    }
    assert drf_json == {}, "use fynlo.core.api.JSONParser"
    assert all(
        JSONParser in view.parser_classes for view in views.values()
        if any(issubclass(parser, parsers.JSONParser) for parser in view.parser_classes)
    )


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/json; indent=4", "text/html",
                                    "*/*;q=0.8", "application/*", "text/html, */*", "application/xml"])
@pytest.mark.parametrize("query", ["", "format=json", "format=api", "page_size=3"])
def test_the_content_negotiation_answers_as_drfs_own(accept, query):
    from django.http import Http404
    from rest_framework.exceptions import NotAcceptable
    from rest_framework.negotiation import DefaultContentNegotiation
    from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from fynlo.core.api import ContentNegotiation

    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(f"/api/v1/orders/{'?' + query if query else ''}", **headers))
    for renderers in ([JSONRenderer()], [JSONRenderer(), BrowsableAPIRenderer()], [BrowsableAPIRenderer(), JSONRenderer()]):
        answers = []
        for negotiator in (DefaultContentNegotiation(), ContentNegotiation()):
            try:
                renderer, media_type = negotiator.select_renderer(request, renderers)
                answers.append((renderer, media_type))
            except NotAcceptable as refused:
                answers.append(("406", str(refused.detail)))
            except Http404:
                answers.append("404")
        assert answers[0] == answers[1], (accept, query, renderers)
