"""GET/PATCH /api/v1/restaurants/: a tenant's restaurants, their profile and settings."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tenants.context import tenant_context
from tenants.models import RestaurantSetting, UserRole
from tenants.selectors import restaurant_settings
from tests.tenants.factories import RestaurantFactory, UserFactory

DEFAULT_SETTINGS = {
    "vat_rate": "20.00", "service_charge_rate": "12.50", "currency": "GBP", "opening_hours": {},
    "overtime_after_hours": "8.00", "prices_include_vat": False,
}


@pytest.fixture
def world(world):
    a = world["a"]
    return {
        **world,
        "owner_a": UserFactory(restaurant=a, role=UserRole.RESTAURANT_OWNER),
        "manager_a": UserFactory(restaurant=a, role=UserRole.MANAGER),
        "cook_a": UserFactory(restaurant=a, role=UserRole.COOK),
    }


def _setting(restaurant, key, value, kind="number"):
    with tenant_context(all_tenants=True):
        RestaurantSetting.objects.create(restaurant=restaurant, setting_key=key, setting_value=value, setting_type=kind)


def _stored(restaurant) -> dict:
    with tenant_context(all_tenants=True):
        return {
            row.setting_key: (row.setting_value, row.setting_type)
            for row in RestaurantSetting.objects.filter(restaurant=restaurant)
        }


def test_staff_see_their_own_restaurant_with_default_settings(world, api_client_for):
    response = api_client_for(world["cook_a"]).get("/api/v1/restaurants/")

    assert response.status_code == 200, response.content
    [restaurant] = response.json()
    assert restaurant["id"] == restaurant["restaurant_id"] == world["a"].pk
    assert restaurant["platform_id"] == world["p1"].pk
    assert restaurant["settings"] == DEFAULT_SETTINGS


def test_a_platform_owner_sees_their_platforms_restaurants_and_can_narrow(world, api_client_for):
    api = api_client_for(world["platform_owner"])

    everything = api.get("/api/v1/restaurants/").json()
    narrowed = api.get("/api/v1/restaurants/", HTTP_X_RESTAURANT_ID=str(world["b"].pk)).json()

    assert [r["id"] for r in everything] == [world["a"].pk, world["b"].pk]
    assert [r["id"] for r in narrowed] == [world["b"].pk]


def test_stored_settings_are_shown_and_an_unreadable_one_falls_back_to_its_default(world, api_client_for):
    _setting(world["a"], "vat_rate", "5")
    _setting(world["a"], "service_charge_rate", "10%")
    _setting(world["a"], "currency", "euro", "string")
    _setting(world["a"], "opening_hours", '{"monday": ["09:00-17:00"]}', "json")

    body = api_client_for(world["manager_a"]).get(f"/api/v1/restaurants/{world['a'].pk}/").json()

    assert body["settings"] == {
        **DEFAULT_SETTINGS, "vat_rate": "5.00", "service_charge_rate": "10.00",
        "opening_hours": {"monday": ["09:00-17:00"]},
    }


@pytest.mark.parametrize("value", ["ten percent", "-1", "101", "NaN"])
def test_an_unreadable_rate_is_shown_as_null_not_as_the_default(world, api_client_for, value):
    # the till refuses orders with such a rate (pos.pricing); showing 12.50 would hide why
    _setting(world["a"], "service_charge_rate", value)

    body = api_client_for(world["manager_a"]).get(f"/api/v1/restaurants/{world['a'].pk}/").json()

    assert body["settings"] == {**DEFAULT_SETTINGS, "service_charge_rate": None}


def test_another_tenants_restaurant_is_404(world, api_client_for):
    staff, owner = api_client_for(world["owner_a"]), api_client_for(world["platform_owner"])
    other_platform = world["c"].pk

    assert staff.get(f"/api/v1/restaurants/{world['b'].pk}/").status_code == 404
    assert owner.get(f"/api/v1/restaurants/{other_platform}/").status_code == 404
    assert owner.patch(f"/api/v1/restaurants/{other_platform}/", {"name": "x"}, format="json").status_code == 404
    assert staff.patch(f"/api/v1/restaurants/{world['b'].pk}/", {"name": "x"}, format="json").status_code == 404
    body = staff.get("/api/v1/restaurants/999999/").json()
    assert body == {"error": {"code": "not_found", "message": "No such restaurant.", "fields": {}}}


def test_an_owner_changes_the_profile_and_settings(world, api_client_for):
    # given
    api = api_client_for(world["owner_a"])
    _setting(world["a"], "currency", "EUR", "string")
    # when
    response = api.patch(f"/api/v1/restaurants/{world['a'].pk}/", {
        "name": "Casa Fynlo", "phone": "+44 20 7946 0000", "email": "hello@casa.test", "tax_number": "GB123",
        "logo_url": "https://cdn.example.com/logo.png",
        "settings": {"vat_rate": "17.5", "service_charge_rate": 0, "opening_hours": {
            "friday": ["12:00-15:00", "18:00-02:00"], "monday": [],
        }},
    }, format="json")
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "Casa Fynlo" and body["email"] == "hello@casa.test" and body["tax_number"] == "GB123"
    assert body["settings"] == {
        "vat_rate": "17.50", "service_charge_rate": "0.00", "currency": "EUR",
        "opening_hours": {"monday": [], "friday": ["12:00-15:00", "18:00-02:00"]}, "overtime_after_hours": "8.00",
        "prices_include_vat": False,
    }
    stored = _stored(world["a"])
    assert stored["vat_rate"] == ("17.50", "number")
    assert stored["service_charge_rate"] == ("0.00", "number")
    assert stored["currency"] == ("EUR", "string")  # untouched
    assert json.loads(stored["opening_hours"][0]) == {"monday": [], "friday": ["12:00-15:00", "18:00-02:00"]}
    assert stored["opening_hours"][1] == "json"


def test_a_platform_owner_changes_one_of_their_restaurants(world, api_client_for):
    api = api_client_for(world["platform_owner"])

    response = api.patch(
        f"/api/v1/restaurants/{world['b'].pk}/", {"settings": {"currency": "USD", "overtime_after_hours": "7.5"}},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["settings"]["currency"] == "USD"
    assert response.json()["settings"]["overtime_after_hours"] == "7.50"
    assert _stored(world["b"]) == {"currency": ("USD", "string"), "overtime_after_hours": ("7.50", "number")}
    assert _stored(world["a"]) == {}


@pytest.mark.parametrize("role", ["manager_a", "cook_a"])
def test_only_owners_may_change_a_restaurant(world, api_client_for, role):
    response = api_client_for(world[role]).patch(
        f"/api/v1/restaurants/{world['a'].pk}/", {"name": "Mine now"}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    with tenant_context(all_tenants=True):
        world["a"].refresh_from_db()
    assert world["a"].name != "Mine now"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"settings": {"vat_rate": "100.01"}}, "settings.vat_rate"),
        ({"settings": {"vat_rate": "-1"}}, "settings.vat_rate"),
        ({"settings": {"service_charge_rate": "12.345"}}, "settings.service_charge_rate"),
        ({"settings": {"service_charge_rate": "lots"}}, "settings.service_charge_rate"),
        ({"settings": {"service_charge_rate": "101%"}}, "settings.service_charge_rate"),
        ({"settings": {"currency": "gbp"}}, "settings.currency"),
        ({"settings": {"currency": "POUND"}}, "settings.currency"),
        ({"settings": {"opening_hours": {"funday": ["09:00-17:00"]}}}, "settings.opening_hours"),
        ({"settings": {"opening_hours": {"monday": ["9-5"]}}}, "settings.opening_hours"),
        ({"settings": {"opening_hours": {"monday": ["09:00-25:00"]}}}, "settings.opening_hours"),
        ({"settings": {"opening_hours": {"monday": ["09:00-09:00"]}}}, "settings.opening_hours"),
        ({"settings": {"opening_hours": {"monday": "09:00-17:00"}}}, "settings.opening_hours"),
        ({"settings": {"opening_hours": ["09:00-17:00"]}}, "settings.opening_hours"),
        ({"settings": {"overtime_after_hours": "25"}}, "settings.overtime_after_hours"),
        ({"email": "not-an-email"}, "email"),
        ({"name": ""}, "name"),
        ({"logo_url": "not a url"}, "logo_url"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(world, api_client_for, payload, field):
    response = api_client_for(world["owner_a"]).patch(f"/api/v1/restaurants/{world['a'].pk}/", payload, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid"
    assert list(response.json()["error"]["fields"]) == [field]
    assert _stored(world["a"]) == {}


def test_unauthenticated_is_401(world, client):
    response = client.get("/api/v1/restaurants/")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_the_list_runs_a_constant_number_of_queries(world, api_client_for, django_assert_num_queries, count_queries):
    # given: a platform owner's list with two restaurants, measured
    api = api_client_for(world["platform_owner"])
    baseline = count_queries(lambda: api.get("/api/v1/restaurants/"))
    # when the platform has four more restaurants, each with settings
    for _ in range(4):
        restaurant = RestaurantFactory(platform=world["p1"])
        _setting(restaurant, "vat_rate", "5.00")
        _setting(restaurant, "currency", "EUR", "string")
    # then the count is the same
    with django_assert_num_queries(baseline):
        assert len(api.get("/api/v1/restaurants/").json()) == 6


def test_the_detail_runs_a_constant_number_of_queries(world, api_client_for, django_assert_num_queries, count_queries):
    api = api_client_for(world["manager_a"])
    url = f"/api/v1/restaurants/{world['a'].pk}/"
    baseline = count_queries(lambda: api.get(url))
    for key, value in (("vat_rate", "5"), ("service_charge_rate", "10"), ("overtime_after_hours", "9")):
        _setting(world["a"], key, value)

    with django_assert_num_queries(baseline):
        assert api.get(url).json()["settings"]["overtime_after_hours"] == "9.00"


def test_settings_read_under_the_tenant(world):
    _setting(world["b"], "vat_rate", "5.00")

    with tenant_context(restaurant=world["b"]):
        assert restaurant_settings(restaurant_id=world["b"].pk).vat_rate == Decimal("5.00")
    # under another restaurant's tenant, RLS hides the rows: the defaults apply
    with tenant_context(restaurant=world["a"]):
        assert restaurant_settings(restaurant_id=world["b"].pk).vat_rate == Decimal("20.00")
