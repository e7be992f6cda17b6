"""Every page of the admin opens, for operations staff and for a platform owner (who gets a
403 where their permissions stop)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tenants.admin_site import site
from tenants.context import tenant_context
from tenants.models import Platform, Restaurant, RestaurantSetting
from tenants.permissions import platform_owner_has_perm
from tests.rows import RowMaker

pytestmark = pytest.mark.django_db

MODELS = sorted(site._registry, key=lambda model: model._meta.label)


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _row(model, world):
    if model is Platform:
        return world.p1
    if model is Restaurant:
        return world.tacos
    return RowMaker().row(model, world.tacos)


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_operations_staff_open_every_list_and_object(world, admin_client_for, model):
    client = admin_client_for(world.operations)
    obj = _row(model, world)

    listing = client.get(_url(model, "changelist"))
    detail = client.get(_url(model, "change", obj.pk))
    searched = client.get(_url(model, "changelist") + "?q=x")

    assert (listing.status_code, detail.status_code, searched.status_code) == (200, 200, 200)
    assert obj.pk in {row.pk for row in listing.context["cl"].result_list}


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_a_platform_owner_opens_what_their_permissions_allow(world, admin_client_for, model):
    client = admin_client_for(world.owner1)
    obj = _row(model, world)
    may_view = platform_owner_has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}")

    listing = client.get(_url(model, "changelist"))
    detail = client.get(_url(model, "change", obj.pk))

    expected = 200 if may_view else 403
    assert (listing.status_code, detail.status_code) == (expected, expected)


@pytest.mark.parametrize(("value", "stored"), [("10%", True), ("abc", False), ("101", False)])
def test_a_restaurant_rate_is_stored_only_when_the_till_can_read_it(world, admin_client_for, value, stored):
    client = admin_client_for(world.operations)

    response = client.post(reverse("admin:tenants_restaurantsetting_add"), {
        "restaurant": world.tacos.pk, "setting_key": "vat_rate", "setting_value": value, "setting_type": "number",
    })

    assert response.status_code == (302 if stored else 200)
    with tenant_context(all_tenants=True):
        assert RestaurantSetting.objects.filter(restaurant=world.tacos, setting_key="vat_rate").exists() == stored
