"""POST /api/v1/products/{id}/image and /api/v1/orders/{id}/receipt: stored through
fynlo.core.storage on a real S3-compatible server (moto) or the local MEDIA_ROOT."""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO

import pytest

from inventory.models import Product
from pos.models import Order
from tenants.context import tenant_context
from tests.inventory.factories import ProductFactory
from tests.pos.helpers import place
from tests.s3 import s3_server, spaces_settings  # noqa: F401

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"0" * 64


def upload(name: str, content: bytes) -> BytesIO:
    file = BytesIO(content)
    file.name = name
    return file


@pytest.fixture
def product(shop):
    return ProductFactory(restaurant=shop.restaurant, price=Decimal("2.00"))


def test_a_manager_uploads_a_product_image_to_spaces(api, shop, product, spaces_settings):
    response = api("manager").post(f"/api/v1/products/{product.pk}/image", {"file": upload("dish.png", PNG)},
                                   format="multipart")

    assert response.status_code == 200, response.json()
    url = response.json()["image_url"]
    prefix = f"{spaces_settings.endpoint}/{spaces_settings.bucket}/restaurants/{shop.restaurant.pk}/products/"
    assert url.startswith(prefix) and url.endswith(".png")
    assert spaces_settings.keys() == [url.removeprefix(f"{spaces_settings.endpoint}/{spaces_settings.bucket}/")]
    with tenant_context(all_tenants=True):
        assert Product.objects.get(pk=product.pk).image_url == url


def test_a_receipt_is_stored_locally_without_spaces(api, shop, product, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    order = place(api(), [(product, 1)]).json()

    response = api("cashier").post(f"/api/v1/orders/{order['id']}/receipt", {"file": upload("r.pdf", PDF)},
                                   format="multipart")

    assert response.status_code == 200, response.json()
    url = response.json()["receipt_url"]
    assert url.startswith(f"/media/restaurants/{shop.restaurant.pk}/receipts/") and url.endswith(".pdf")
    assert (tmp_path / url.removeprefix("/media/")).read_bytes() == PDF
    with tenant_context(all_tenants=True):
        assert Order.objects.get(pk=order["id"]).receipt_url == url


def test_a_product_image_stored_locally_is_served_at_its_url(api, shop, product, settings, tmp_path, client):
    # given: no Spaces, files under MEDIA_ROOT
    settings.MEDIA_ROOT = tmp_path
    # when
    url = api("manager").post(f"/api/v1/products/{product.pk}/image", {"file": upload("dish.png", PNG)},
                              format="multipart").json()["image_url"]
    response = client.get(url)
    # then: what was uploaded can be seen, by anyone who has its URL (as on Spaces)
    assert url.startswith(f"/media/restaurants/{shop.restaurant.pk}/products/")
    assert response.status_code == 200
    assert (response["Content-Type"], b"".join(response.streaming_content)) == ("image/png", PNG)


def test_a_disguised_file_is_refused(api, product, spaces_settings):
    response = api("manager").post(f"/api/v1/products/{product.pk}/image",
                                   {"file": upload("dish.png", b"<html>not an image</html>")}, format="multipart")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "file_type_not_allowed"
    assert spaces_settings.keys() == []


def test_a_missing_file_names_the_field(api, product):
    response = api("manager").post(f"/api/v1/products/{product.pk}/image", {}, format="multipart")

    assert response.status_code == 400
    assert "file" in response.json()["error"]["fields"]


def test_staff_may_not_change_product_images(api, product):
    response = api("cashier").post(f"/api/v1/products/{product.pk}/image", {"file": upload("d.png", PNG)},
                                   format="multipart")

    assert response.status_code == 403


def test_another_restaurants_product_or_order_is_404_and_nothing_is_stored(
    api, rival, api_client_for, spaces_settings
):
    theirs = ProductFactory(restaurant=rival.restaurant)
    order = place(api_client_for(rival["cashier"]), [(theirs, 1)]).json()

    image = api("restaurant_owner").post(f"/api/v1/products/{theirs.pk}/image", {"file": upload("d.png", PNG)},
                                         format="multipart")
    receipt = api("restaurant_owner").post(f"/api/v1/orders/{order['id']}/receipt",
                                           {"file": upload("r.pdf", PDF)}, format="multipart")

    assert (image.status_code, receipt.status_code) == (404, 404)
    assert spaces_settings.keys() == []
