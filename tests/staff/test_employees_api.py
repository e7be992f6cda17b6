"""/api/v1/staff/employees/: list, detail, create (with or without a new user), change, deactivate."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from staff.models import Employee
from tenants.context import tenant_context
from tenants.models import User, UserRole
from tests.staff.factories import EmployeeFactory, EmployeeRoleFactory
from tests.tenants.factories import UserFactory

URL = "/api/v1/staff/employees/"


def _detail(employee) -> str:
    return f"{URL}{employee.pk}/"


def _new_employee(**overrides) -> dict:
    return {
        "user": {
            "email": "Nina@Casa.test", "password": "a long enough passphrase", "first_name": "Nina",
            "last_name": "Rossi", "role": "server",
        },
        "employee_number": "S-100", "job_title": "Server", "hourly_rate": "11.50", "employment_type": "full_time",
        **overrides,
    }


def _employee(pk) -> Employee:
    with tenant_context(all_tenants=True):
        return Employee.objects.select_related("user").get(pk=pk)


def test_a_manager_lists_the_restaurants_employees(world, api_client_for):
    response = api_client_for(world["manager_a"].user).get(URL)

    assert response.status_code == 200, response.content
    body = response.json()
    assert [e["id"] for e in body] == [world["manager_a"].pk, world["cashier_a"].pk]
    cashier = body[1]
    assert cashier["restaurant_id"] == world["a"].pk
    assert cashier["user"]["restaurant_id"] == world["a"].pk
    assert cashier["user"]["role"] == "cashier"
    assert cashier["hourly_rate"] == "12.00"
    assert cashier["is_active"] is True


def test_other_staff_see_only_their_own_record(world, api_client_for):
    api = api_client_for(world["cashier_a"].user)

    listed = api.get(URL).json()

    assert [e["id"] for e in listed] == [world["cashier_a"].pk]
    assert api.get(_detail(world["cashier_a"])).status_code == 200
    assert api.get(_detail(world["manager_a"])).status_code == 404


def test_a_platform_owner_sees_the_platform_and_narrows_to_a_restaurant(world, api_client_for):
    api = api_client_for(world["platform_owner"])

    everything = [e["id"] for e in api.get(URL).json()]
    narrowed = [e["id"] for e in api.get(URL, HTTP_X_RESTAURANT_ID=str(world["b"].pk)).json()]

    assert everything == sorted([world["manager_a"].pk, world["cashier_a"].pk, world["manager_b"].pk])
    assert narrowed == [world["manager_b"].pk]


def test_the_active_filter(world, api_client_for):
    EmployeeFactory(restaurant=world["a"], is_active=False)
    api = api_client_for(world["manager_a"].user)

    assert len(api.get(URL).json()) == 3
    assert len(api.get(URL, {"active": "true"}).json()) == 2
    assert len(api.get(URL, {"active": "false"}).json()) == 1
    assert api.get(URL, {"active": "perhaps"}).status_code == 400


def test_another_tenants_employee_is_404_everywhere(world, api_client_for):
    api = api_client_for(world["manager_a"].user)
    other = world["manager_b"]

    assert api.get(_detail(other)).status_code == 404
    assert api.patch(_detail(other), {"job_title": "x"}, format="json").status_code == 404
    assert api.post(f"{_detail(other)}deactivate/").status_code == 404
    assert _employee(other.pk).is_active


def test_a_manager_adds_an_employee_with_a_new_user_who_can_sign_in(world, api_client_for):
    # given
    api = api_client_for(world["manager_a"].user)
    role = EmployeeRoleFactory(restaurant=world["a"], name="Floor")
    # when
    response = api.post(URL, _new_employee(role_id=role.pk), format="json")
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["restaurant_id"] == world["a"].pk
    assert body["user"]["email"] == "nina@casa.test" and body["user"]["role"] == "server"
    assert body["role_id"] == role.pk and body["role_name"] == "Floor"
    assert body["hourly_rate"] == "11.50" and body["hire_date"] == timezone.localdate().isoformat()
    login = APIClient().post(
        "/api/v1/auth/login", {"email": "nina@casa.test", "password": "a long enough passphrase"}, format="json"
    )
    assert login.status_code == 200, login.content
    assert login.json()["user"]["restaurant_id"] == world["a"].pk


def test_an_employee_of_an_existing_user(world, api_client_for):
    user = UserFactory(restaurant=world["a"], role=UserRole.COOK)
    api = api_client_for(world["manager_a"].user)

    response = api.post(URL, {"user_id": user.pk, "hire_date": "2025-01-06"}, format="json")
    again = api.post(URL, {"user_id": user.pk}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["user"]["id"] == user.pk and response.json()["hire_date"] == "2025-01-06"
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "employee_exists"


def test_a_manager_may_not_hire_a_manager_but_an_owner_may(world, api_client_for):
    payload = _new_employee(user={**_new_employee()["user"], "role": "manager"})

    refused = api_client_for(world["manager_a"].user).post(URL, payload, format="json")
    accepted = api_client_for(world["owner_a"]).post(URL, payload, format="json")

    assert refused.status_code == 400
    assert list(refused.json()["error"]["fields"]) == ["user.role"]
    assert accepted.status_code == 201, accepted.content


def test_a_platform_owner_names_the_restaurant_to_hire_in(world, api_client_for):
    api = api_client_for(world["platform_owner"])

    without = api.post(URL, _new_employee(), format="json")
    within = api.post(URL, _new_employee(), format="json", HTTP_X_RESTAURANT_ID=str(world["b"].pk))

    assert without.status_code == 400
    assert without.json()["error"]["code"] == "restaurant_required"
    assert within.status_code == 201, within.content
    assert within.json()["restaurant_id"] == world["b"].pk


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"user": None}, "user"),
        ({"user_id": 1}, "user"),
        ({"hourly_rate": "-1.00"}, "hourly_rate"),
        ({"hourly_rate": "9.999"}, "hourly_rate"),
        ({"employment_type": "forever"}, "employment_type"),
        ({"hire_date": "2025-02-30"}, "hire_date"),
        ({"hire_date": "2025-03-01", "termination_date": "2025-02-01"}, "termination_date"),
        ({"user": {**_new_employee()["user"], "role": "platform_owner"}}, "user.role"),
        ({"user": {**_new_employee()["user"], "password": "short"}}, "user.password"),
        ({"user": {**_new_employee()["user"], "email": "nope"}}, "user.email"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(world, api_client_for, change, field):
    payload = {key: value for key, value in {**_new_employee(), **change}.items() if value is not None}

    response = api_client_for(world["manager_a"].user).post(URL, payload, format="json")

    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == [field]
    with tenant_context(all_tenants=True):
        assert not User.objects.filter(email="nina@casa.test").exists()


def test_references_outside_the_restaurant_are_400(world, api_client_for):
    api = api_client_for(world["manager_a"].user)
    user_b = UserFactory(restaurant=world["b"], role=UserRole.COOK)
    role_b = EmployeeRoleFactory(restaurant=world["b"])

    other_user = api.post(URL, {"user_id": user_b.pk}, format="json")
    other_role = api.post(URL, _new_employee(role_id=role_b.pk), format="json")

    assert other_user.status_code == 400 and list(other_user.json()["error"]["fields"]) == ["user_id"]
    assert other_role.status_code == 400 and list(other_role.json()["error"]["fields"]) == ["role_id"]


def test_a_taken_email_or_employee_number_is_400(world, api_client_for):
    api = api_client_for(world["manager_a"].user)
    elsewhere = UserFactory(restaurant=world["c"])  # another platform's user: the email is still taken

    taken_email = api.post(URL, _new_employee(user={**_new_employee()["user"], "email": elsewhere.email}), format="json")
    taken_number = api.post(URL, _new_employee(employee_number=world["cashier_a"].employee_number), format="json")

    assert taken_email.status_code == 400 and list(taken_email.json()["error"]["fields"]) == ["user.email"]
    assert taken_number.status_code == 400 and list(taken_number.json()["error"]["fields"]) == ["employee_number"]


def test_a_cashier_may_not_add_change_or_deactivate(world, api_client_for):
    api = api_client_for(world["cashier_a"].user)

    assert api.post(URL, _new_employee(), format="json").status_code == 403
    assert api.patch(_detail(world["cashier_a"]), {"hourly_rate": "99.00"}, format="json").status_code == 403
    assert api.post(f"{_detail(world['manager_a'])}deactivate/").status_code == 403


def test_a_manager_changes_an_employee_and_their_user(world, api_client_for):
    api = api_client_for(world["manager_a"].user)

    response = api.patch(_detail(world["cashier_a"]), {
        "job_title": "Head cashier", "hourly_rate": "13.25", "user": {"first_name": "Ana", "role": "server"},
    }, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["job_title"] == "Head cashier" and body["hourly_rate"] == "13.25"
    assert body["user"]["first_name"] == "Ana" and body["user"]["role"] == "server"
    stored = _employee(world["cashier_a"].pk)
    assert stored.hourly_rate == stored.hourly_rate.__class__("13.25") and stored.user.role == "server"


def test_a_manager_may_not_change_another_manager_or_promote(world, api_client_for):
    other_manager = EmployeeFactory(restaurant=world["a"], user__role=UserRole.MANAGER)
    api = api_client_for(world["manager_a"].user)

    peer = api.patch(_detail(other_manager), {"job_title": "x"}, format="json")
    promote = api.patch(_detail(world["cashier_a"]), {"user": {"role": "restaurant_owner"}}, format="json")

    assert peer.status_code == 403
    assert promote.status_code == 400 and list(promote.json()["error"]["fields"]) == ["user.role"]
    assert _employee(world["cashier_a"].pk).user.role == "cashier"


def test_deactivation_ends_the_employment_and_the_sign_in(world, api_client_for):
    # given a cashier with a working token
    cashier_api = api_client_for(world["cashier_a"].user)
    assert cashier_api.get("/api/v1/auth/me").status_code == 200
    # when a manager deactivates them
    response = api_client_for(world["manager_a"].user).post(f"{_detail(world['cashier_a'])}deactivate/")
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["is_active"] is False and body["user"]["is_active"] is False
    assert body["termination_date"] == timezone.localdate().isoformat()
    assert cashier_api.get("/api/v1/auth/me").status_code == 401


def test_nobody_deactivates_themselves(world, api_client_for):
    response = api_client_for(world["manager_a"].user).post(f"{_detail(world['manager_a'])}deactivate/")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "cannot_deactivate_self"


def test_list_and_detail_run_a_constant_number_of_queries(
    world, api_client_for, django_assert_num_queries, count_queries
):
    api = api_client_for(world["manager_a"].user)
    list_baseline = count_queries(lambda: api.get(URL))
    detail_baseline = count_queries(lambda: api.get(_detail(world["cashier_a"])))
    role = EmployeeRoleFactory(restaurant=world["a"])
    for _ in range(5):
        EmployeeFactory(restaurant=world["a"], role=role)

    with django_assert_num_queries(list_baseline):
        assert len(api.get(URL).json()) == 7
    with django_assert_num_queries(detail_baseline):
        api.get(_detail(world["cashier_a"]))
