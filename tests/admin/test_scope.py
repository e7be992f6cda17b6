"""A platform owner sees their own platform only; another platform's object is a 404; orders
and payments are read-only; operations staff see everything."""

from __future__ import annotations

import pytest
from django.urls import reverse

from billing.models import CommissionRecord, SubscriptionPlan
from pos.models import Order, Payment
from tenants.context import tenant_context
from tenants.models import Restaurant, User

pytestmark = pytest.mark.django_db

CHANGELISTS = {
    "restaurants": "admin:tenants_restaurant_changelist",
    "users": "admin:tenants_user_changelist",
    "orders": "admin:pos_order_changelist",
    "payments": "admin:pos_payment_changelist",
    "commission records": "admin:billing_commissionrecord_changelist",
    "plans": "admin:billing_subscriptionplan_changelist",
    "subscriptions": "admin:billing_restaurantsubscription_changelist",
}


def listed(client, url_name: str, query: str = "") -> set[int]:
    response = client.get(reverse(url_name) + query)
    assert response.status_code == 200, (url_name, response.status_code)
    return {obj.pk for obj in response.context["cl"].result_list}


def _reload(model, pk):
    with tenant_context(all_tenants=True):
        return model.objects.get(pk=pk)


def test_a_platform_owner_lists_only_their_platforms_rows(world, admin_client_for):
    client = admin_client_for(world.owner1)

    assert listed(client, CHANGELISTS["restaurants"]) == {world.tacos.pk, world.burgers.pk}
    assert listed(client, CHANGELISTS["users"]) == {world.owner1.pk, world.cashier1.pk}
    assert listed(client, CHANGELISTS["orders"]) == {world.tacos_order.pk}
    assert listed(client, CHANGELISTS["payments"]) == {world.tacos_payment.pk}
    assert listed(client, CHANGELISTS["commission records"]) == {world.tacos_commission.pk}
    assert listed(client, CHANGELISTS["plans"]) == {world.basic.pk, world.premium.pk}
    assert len(listed(client, CHANGELISTS["subscriptions"])) == 1


def test_the_other_platform_owner_lists_only_theirs(world, admin_client_for):
    client = admin_client_for(world.owner2)

    assert listed(client, CHANGELISTS["restaurants"]) == {world.sushi.pk}
    assert listed(client, CHANGELISTS["users"]) == {world.owner2.pk, world.cashier2.pk}
    assert listed(client, CHANGELISTS["orders"]) == {world.sushi_order.pk}
    assert listed(client, CHANGELISTS["payments"]) == {world.sushi_payment.pk}
    assert listed(client, CHANGELISTS["commission records"]) == {world.sushi_commission.pk}


def test_operations_staff_see_every_platform(world, admin_client_for):
    client = admin_client_for(world.operations)

    assert listed(client, CHANGELISTS["restaurants"]) == {world.tacos.pk, world.burgers.pk, world.sushi.pk}
    assert {world.owner1.pk, world.owner2.pk, world.cashier1.pk, world.cashier2.pk, world.operations.pk} <= listed(
        client, CHANGELISTS["users"]
    )
    assert listed(client, CHANGELISTS["orders"]) == {world.tacos_order.pk, world.sushi_order.pk}
    assert listed(client, CHANGELISTS["payments"]) == {world.tacos_payment.pk, world.sushi_payment.pk}
    assert listed(client, CHANGELISTS["commission records"]) == {world.tacos_commission.pk, world.sushi_commission.pk}


def _other_platform_urls(world) -> list[str]:
    return [
        reverse("admin:tenants_restaurant_change", args=[world.sushi.pk]),
        reverse("admin:tenants_restaurant_history", args=[world.sushi.pk]),
        reverse("admin:tenants_platform_change", args=[world.p2.pk]),
        reverse("admin:tenants_user_change", args=[world.cashier2.pk]),
        reverse("admin:tenants_user_change", args=[world.owner2.pk]),
        reverse("admin:auth_user_password_change", args=[world.cashier2.pk]),
        reverse("admin:pos_order_change", args=[world.sushi_order.pk]),
        reverse("admin:pos_payment_change", args=[world.sushi_payment.pk]),
        reverse("admin:billing_commissionrecord_change", args=[world.sushi_commission.pk]),
        reverse("admin:billing_subscriptionplan_change", args=[world.gold.pk]),
        reverse("admin:tenants_restaurant_change", args=["not-a-number"]),
    ]


def test_another_platforms_object_opened_by_url_is_404(world, admin_client_for):
    client = admin_client_for(world.owner1)

    statuses = {url: client.get(url).status_code for url in _other_platform_urls(world)}

    assert set(statuses.values()) == {404}, statuses


def test_posting_to_another_platforms_object_is_404_and_changes_nothing(world, admin_client_for):
    client = admin_client_for(world.owner1)
    name = world.sushi.name

    change = client.post(reverse("admin:tenants_restaurant_change", args=[world.sushi.pk]), {"name": "Taken over"})
    password = client.post(
        reverse("admin:auth_user_password_change", args=[world.cashier2.pk]),
        {"password1": "a-new-Passw0rd!", "password2": "a-new-Passw0rd!"},
    )

    assert (change.status_code, password.status_code) == (404, 404)
    assert _reload(Restaurant, world.sushi.pk).name == name
    assert not _reload(User, world.cashier2.pk).check_password("a-new-Passw0rd!")


def test_operations_staff_open_any_platforms_objects(world, admin_client_for):
    client = admin_client_for(world.operations)

    assert client.get(reverse("admin:tenants_restaurant_change", args=[world.sushi.pk])).status_code == 200
    assert client.get(reverse("admin:pos_order_change", args=[world.sushi_order.pk])).status_code == 200


@pytest.mark.parametrize("model_name, attribute", [("order", "tacos_order"), ("payment", "tacos_payment")])
def test_orders_and_payments_are_read_only(world, admin_client_for, model_name, attribute):
    client = admin_client_for(world.owner1)
    obj = getattr(world, attribute)

    add = client.get(reverse(f"admin:pos_{model_name}_add"))
    view = client.get(reverse(f"admin:pos_{model_name}_change", args=[obj.pk]))
    post = client.post(reverse(f"admin:pos_{model_name}_change", args=[obj.pk]), {"status": "cancelled"})
    delete = client.post(reverse(f"admin:pos_{model_name}_delete", args=[obj.pk]), {"post": "yes"})

    assert add.status_code == 403
    assert view.status_code == 200 and view.context["has_change_permission"] is False
    assert post.status_code == 403
    assert delete.status_code == 403
    model = {"order": Order, "payment": Payment}[model_name]
    assert _reload(model, obj.pk).status == "completed"


def test_commission_records_and_subscriptions_are_read_only(world, admin_client_for):
    client = admin_client_for(world.owner1)

    assert client.get(reverse("admin:billing_commissionrecord_add")).status_code == 403
    assert client.get(reverse("admin:billing_restaurantsubscription_add")).status_code == 403
    response = client.post(
        reverse("admin:billing_commissionrecord_change", args=[world.tacos_commission.pk]), {"gross_amount": "1.00"}
    )
    assert response.status_code == 403
    assert _reload(CommissionRecord, world.tacos_commission.pk).gross_amount == world.tacos_commission.gross_amount


def test_a_platform_owner_sees_only_their_apps_in_the_index(world, admin_client_for):
    response = admin_client_for(world.owner1).get(reverse("admin:index"))

    apps = {app["app_label"]: {model["object_name"] for model in app["models"]} for app in response.context["app_list"]}
    assert apps == {
        "tenants": {"Platform", "PlatformSetting", "Restaurant", "RestaurantSetting", "User"},
        "billing": {"SubscriptionPlan", "RestaurantSubscription", "CommissionRecord"},
        "pos": {"Order", "Payment", "ZReport"},
    }
    assert b"Platform: Alpha Platform" in response.content


# --- Filters and autocomplete leak nothing --------------------------------------------------


def _filter_choices(response) -> dict[str, set[str]]:
    choices = {}
    for spec in response.context["cl"].filter_specs:
        choices[str(spec.title)] = {str(choice["display"]) for choice in spec.choices(response.context["cl"])}
    return choices


def test_list_filters_offer_only_the_platforms_restaurants_and_plans(world, admin_client_for):
    client = admin_client_for(world.owner1)

    restaurants = _filter_choices(client.get(reverse(CHANGELISTS["restaurants"])))
    orders = _filter_choices(client.get(reverse(CHANGELISTS["orders"])))
    users = _filter_choices(client.get(reverse(CHANGELISTS["users"])))

    assert restaurants["plan"] == {"All", "basic", "premium"}
    assert "platform" not in restaurants
    assert orders["restaurant"] == {"All", "Alpha Tacos", "Alpha Burgers"}
    assert users["restaurant"] == {"All", "Alpha Tacos", "Alpha Burgers"}
    assert "platform" not in users


def test_filtering_by_another_platforms_restaurant_finds_nothing(world, admin_client_for):
    client = admin_client_for(world.owner1)

    assert listed(client, CHANGELISTS["orders"], f"?restaurant={world.sushi.pk}") == set()
    assert listed(client, CHANGELISTS["orders"], f"?restaurant={world.tacos.pk}") == {world.tacos_order.pk}


def test_restaurant_autocomplete_offers_only_the_platforms_restaurants(world, admin_client_for):
    client = admin_client_for(world.owner1)

    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "tenants", "model_name": "user", "field_name": "restaurant", "term": ""},
    )
    searched = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "tenants", "model_name": "user", "field_name": "restaurant", "term": "Sushi"},
    )

    assert response.status_code == 200
    assert {item["text"] for item in response.json()["results"]} == {"Alpha Tacos", "Alpha Burgers"}
    assert searched.json()["results"] == []


def test_a_new_restaurant_belongs_to_the_owners_platform(world, admin_client_for):
    response = admin_client_for(world.owner1).get(reverse("admin:tenants_restaurant_add"))

    assert response.context["adminform"].form.fields["platform"].disabled
    assert b"Alpha Platform" in response.content
    assert b"Beta" not in response.content


# --- Users ---------------------------------------------------------------------------------


def _user_form(user, **changes) -> dict:
    data = {
        "email": user.email, "first_name": user.first_name, "last_name": user.last_name, "phone": "",
        "profile_image_url": "", "role": user.role, "platform": user.platform_id or "",
        "restaurant": user.restaurant_id or "", "is_active": "on",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_a_platform_owner_cannot_make_anyone_a_superuser(world, admin_client_for):
    client = admin_client_for(world.owner1)

    response = client.post(
        reverse("admin:tenants_user_change", args=[world.cashier1.pk]),
        _user_form(world.cashier1, is_superuser="on", first_name="Renamed"),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    cashier = _reload(User, world.cashier1.pk)
    assert cashier.first_name == "Renamed" and not cashier.is_superuser


def test_a_platform_owner_cannot_move_a_user_to_another_platform(world, admin_client_for):
    client = admin_client_for(world.owner1)

    to_platform = client.post(
        reverse("admin:tenants_user_change", args=[world.cashier1.pk]), _user_form(world.cashier1, platform=world.p2.pk)
    )
    to_restaurant = client.post(
        reverse("admin:tenants_user_change", args=[world.cashier1.pk]),
        _user_form(world.cashier1, restaurant=world.sushi.pk),
    )

    # the platform field is shown, never taken from the form; another platform's restaurant is no choice
    assert to_platform.status_code == 302
    assert to_restaurant.status_code == 200
    assert "restaurant" in to_restaurant.context["adminform"].form.errors
    cashier = _reload(User, world.cashier1.pk)
    assert (cashier.platform_id, cashier.restaurant_id) == (world.p1.pk, world.tacos.pk)


def test_a_platform_owner_adds_a_user_to_their_restaurant(world, admin_client_for):
    client = admin_client_for(world.owner1)

    response = client.post(reverse("admin:tenants_user_add"), {
        "email": "New.Cook@Alpha.test", "first_name": "New", "last_name": "Cook", "role": "cook",
        "restaurant": world.burgers.pk, "password1": "a-long-Passw0rd!", "password2": "a-long-Passw0rd!",
    })

    assert response.status_code == 302, response.context["adminform"].form.errors
    with tenant_context(all_tenants=True):
        cook = User.objects.get(email="new.cook@alpha.test")
    assert (cook.platform_id, cook.restaurant_id, cook.is_superuser) == (world.p1.pk, world.burgers.pk, False)
    assert cook.check_password("a-long-Passw0rd!")


def test_an_email_taken_on_another_platform_is_a_form_error_not_a_crash(world, admin_client_for):
    client = admin_client_for(world.owner1)

    response = client.post(reverse("admin:tenants_user_add"), {
        "email": world.cashier2.email.upper(), "first_name": "Copy", "last_name": "Cat", "role": "cook",
        "restaurant": world.burgers.pk, "password1": "a-long-Passw0rd!", "password2": "a-long-Passw0rd!",
    })

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["email"] == ["A user with this email already exists."]


def test_a_platform_owner_cannot_give_a_platform_owner_a_restaurant(world, admin_client_for):
    client = admin_client_for(world.owner1)

    response = client.post(reverse("admin:tenants_user_add"), {
        "email": "co-owner@alpha.test", "first_name": "Co", "last_name": "Owner", "role": "platform_owner",
        "restaurant": world.tacos.pk, "password1": "a-long-Passw0rd!", "password2": "a-long-Passw0rd!",
    })

    assert response.status_code == 200
    assert "restaurant" in response.context["adminform"].form.errors


def test_passwords_change_through_the_admins_password_form(world, admin_client_for):
    client = admin_client_for(world.owner1)
    url = reverse("admin:auth_user_password_change", args=[world.cashier1.pk])

    form = client.get(url)
    response = client.post(url, {"password1": "Fresh-Passw0rd-2025", "password2": "Fresh-Passw0rd-2025"})

    assert form.status_code == 200
    assert response.status_code == 302
    assert _reload(User, world.cashier1.pk).check_password("Fresh-Passw0rd-2025")


def test_the_user_change_form_has_no_password_input(world, admin_client_for):
    response = admin_client_for(world.owner1).get(reverse("admin:tenants_user_change", args=[world.cashier1.pk]))

    form = response.context["adminform"].form
    assert "is_superuser" not in form.fields
    assert form.fields["platform"].disabled
    assert reverse("admin:auth_user_password_change", args=[world.cashier1.pk]).encode() in response.content or (
        b"../password/" in response.content
    )


def test_a_platform_owner_adds_a_plan_to_their_own_platform_only(world, admin_client_for):
    client = admin_client_for(world.owner1)

    response = client.post(reverse("admin:billing_subscriptionplan_add"), {
        "platform": world.p2.pk, "name": "sneaky", "commission_rate": "1.00", "service_fee_rate": "0.00",
        "monthly_fee": "0.00", "features": "{}", "is_active": "on",
    })

    assert response.status_code == 302, response.context["adminform"].form.errors
    with tenant_context(all_tenants=True):
        assert SubscriptionPlan.objects.get(name="sneaky").platform_id == world.p1.pk


def test_the_code_scopes_admin_querysets_even_where_rls_would_let_everything_through(world):
    # given: an operations-wide database context, where RLS hides nothing
    from tenants.permissions import scope_for_user

    with tenant_context(all_tenants=True):
        # when / then: the second wall still keeps a platform owner on their platform
        assert set(scope_for_user(Restaurant.objects.all(), world.owner1)) == {world.tacos, world.burgers}
        assert set(scope_for_user(User.objects.all(), world.owner1)) == {world.owner1, world.cashier1}
        assert set(scope_for_user(Order.objects.all(), world.owner2)) == {world.sushi_order}
        assert set(scope_for_user(SubscriptionPlan.objects.all(), world.owner2)) == {world.gold}
        assert not scope_for_user(Restaurant.objects.all(), world.cashier1).exists()
        assert scope_for_user(Restaurant.objects.all(), world.operations).count() == 3


def test_a_platform_owner_changes_their_own_password(world, admin_client_for):
    client = admin_client_for(world.owner1)

    response = client.post(reverse("admin:password_change"), {
        "old_password": "correct horse battery staple",
        "new_password1": "Owner-Passw0rd-2026", "new_password2": "Owner-Passw0rd-2026",
    })

    assert response.status_code == 302, response.context["form"].errors
    assert _reload(User, world.owner1.pk).check_password("Owner-Passw0rd-2026")
    assert client.get(reverse("admin:index")).status_code == 200  # still signed in
