"""The till's endpoints (modifiers, order edits, tips) are in the OpenAPI schema, which validates
without a warning (`manage.py spectacular --validate --fail-on-warn`)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.fixture(scope="module")
def schema():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def test_the_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"),
                 stdout=StringIO(), stderr=StringIO())

    assert (tmp_path / "schema.yml").stat().st_size > 0


def test_modifiers_edits_and_tips_are_documented(schema):
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/modifier-groups/"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/modifier-groups/{group_id}/"])
    assert {"post"} <= set(paths["/api/v1/modifier-groups/{group_id}/options/"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/modifier-options/{option_id}/"])
    edit = paths["/api/v1/orders/{order_id}/"]["patch"]
    assert sorted(p["name"] for p in edit["parameters"] if p["in"] == "header") == ["Idempotency-Key", "If-Match"]
    assert set(edit["responses"]) >= {"200", "409"}
    components = schema["components"]["schemas"]
    assert set(components["PatchedOrderEdit"]["properties"]) == {
        "version", "add_items", "update_items", "remove_items", "discount_amount", "table_number", "customer_name",
    }
    assert "modifiers" in components["OrderLineInput"]["properties"]
    assert "tip_amount" in components["PaymentInput"]["properties"]
    assert "tip_amount" in components["RefundInput"]["properties"]
    assert "modifier_groups" in components["Product"]["properties"]
