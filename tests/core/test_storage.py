"""Uploads land in Spaces (a real S3-compatible server: moto in server mode) or on the local
filesystem, under tenant-aware keys, with their public URL returned for the model's field."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from fynlo.core.api import ApiError
from fynlo.core.storage import MB, file_store
from tests.s3 import CDN_DOMAIN, s3_server, spaces_cdn_settings, spaces_settings  # noqa: F401

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(32))
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(32)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
HEX32 = "[0-9a-f]{32}"


def upload(content: bytes, name: str = "photo.png", content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def test_an_upload_lands_in_the_bucket_and_its_url_is_on_the_cdn(spaces_cdn_settings):
    # given a PNG whose client claims it is HTML
    photo = upload(PNG, name="menu.html", content_type="text/html")

    # when
    url = file_store(file=photo, folder="products", restaurant_id=42)

    # then the URL is https://<cdn>/<key>, the key is the restaurant's, and the object holds the bytes
    match = re.fullmatch(rf"https://{re.escape(CDN_DOMAIN)}/(restaurants/42/products/{HEX32}\.png)", url)
    assert match, url
    key = match.group(1)
    client = spaces_cdn_settings.client()
    stored = client.get_object(Bucket=spaces_cdn_settings.bucket, Key=key)
    assert stored["Body"].read() == PNG
    assert stored["ContentType"] == "image/png"  # from the bytes, not from the client
    grants = client.get_object_acl(Bucket=spaces_cdn_settings.bucket, Key=key)["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("/global/AllUsers") and g["Permission"] == "READ" for g in grants)
    assert spaces_cdn_settings.keys() == [key]


def test_without_a_cdn_the_url_is_the_buckets_public_url(spaces_settings):
    url = file_store(file=upload(JPEG, "me.jpg", "image/jpeg"), folder="profiles", restaurant_id=7)

    key = spaces_settings.keys()[0]
    assert re.fullmatch(rf"restaurants/7/profiles/{HEX32}\.jpg", key)
    assert url == f"{spaces_settings.endpoint}/{spaces_settings.bucket}/{key}"
    with urllib.request.urlopen(url, timeout=10) as response:  # no credentials: the object is public
        assert response.read() == JPEG


def test_receipts_take_pdfs_and_images(spaces_settings):
    pdf_url = file_store(file=upload(PDF, "r.pdf", "application/pdf"), folder="receipts", restaurant_id=3)
    png_url = file_store(file=upload(PNG), folder="receipts", restaurant_id=3)

    assert pdf_url.endswith(".pdf") and png_url.endswith(".png")
    assert len(spaces_settings.keys()) == 2
    assert all(k.startswith("restaurants/3/receipts/") for k in spaces_settings.keys())


def test_a_file_of_no_restaurant_goes_under_platform(spaces_settings):
    file_store(file=upload(WEBP, "me.webp", "image/webp"), folder="profiles", restaurant_id=None)

    assert re.fullmatch(rf"platform/profiles/{HEX32}\.webp", spaces_settings.keys()[0])


@pytest.mark.parametrize(
    ("content", "folder", "code"),
    [
        (PDF, "products", "file_type_not_allowed"),  # a PDF is no product image
        (b"<html><script>alert(1)</script></html>", "logos", "file_type_not_allowed"),
        (b"GIF8" + bytes(10), "logos", "file_type_not_allowed"),  # a truncated signature
        (b"", "products", "file_empty"),
        (PNG + bytes(5 * MB), "products", "file_too_large"),
        (PDF + bytes(10 * MB), "receipts", "file_too_large"),
    ],
)
def test_bad_files_are_refused_with_the_field_and_nothing_is_stored(spaces_settings, content, folder, code):
    with pytest.raises(ApiError) as raised:
        file_store(file=upload(content), folder=folder, restaurant_id=1, field="image")

    assert raised.value.code == code
    assert raised.value.status == 400
    assert list(raised.value.fields) == ["image"]
    assert spaces_settings.keys() == []


def test_the_largest_allowed_image_is_stored(spaces_settings):
    file_store(file=upload(PNG + bytes(5 * MB - len(PNG))), folder="products", restaurant_id=1)

    assert len(spaces_settings.keys()) == 1


def test_an_unreachable_bucket_is_a_503_not_a_crash(spaces_settings):
    spaces_settings.client().delete_bucket(Bucket=spaces_settings.bucket)

    with pytest.raises(ApiError) as raised:
        file_store(file=upload(PNG), folder="products", restaurant_id=1)

    assert (raised.value.code, raised.value.status) == ("storage_unavailable", 503)
    assert spaces_settings.bucket not in raised.value.message


def test_unknown_folders_and_bad_restaurant_ids_are_programming_errors():
    with pytest.raises(ValueError, match="unknown upload folder"):
        file_store(file=upload(PNG), folder="../etc", restaurant_id=1)
    with pytest.raises(ValueError, match="restaurant_id"):
        file_store(file=upload(PNG), folder="products", restaurant_id=0)


def test_without_spaces_files_go_to_the_local_filesystem(tmp_path):
    storages = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    with override_settings(STORAGES=storages, MEDIA_ROOT=tmp_path, MEDIA_URL="/media/"):
        url = file_store(file=upload(PNG), folder="logos", restaurant_id=5)

    match = re.fullmatch(rf"/media/(restaurants/5/logos/{HEX32}\.png)", url)
    assert match, url
    assert (tmp_path / match.group(1)).read_bytes() == PNG


# --- fynlo/settings.py's own storage configuration, as a fresh process loads it -------------------


def _fresh_process(code: str, **spaces: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPACES_", "PYTEST_"))}
    env.update(DJANGO_SETTINGS_MODULE="fynlo.settings", FYNLO_TESTING="true", **spaces)
    script = "import json, django; django.setup()\n" + code
    result = subprocess.run([sys.executable, "-c", script], cwd=settings.BASE_DIR, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_settings_store_uploads_in_spaces_with_cdn_urls(s3_server):
    # given the settings' Spaces variables pointing at the test server
    bucket = s3_server.new_bucket()

    # when a fresh process stores a file through the settings it loads
    out = _fresh_process(
        "from django.core.files.uploadedfile import SimpleUploadedFile\n"
        "from fynlo.core.storage import file_store\n"
        f"url = file_store(file=SimpleUploadedFile('a.png', {PNG!r}), folder='logos', restaurant_id=9)\n"
        "print(json.dumps({'url': url}))",
        SPACES_BUCKET=bucket.bucket, SPACES_ENDPOINT_URL=bucket.endpoint, SPACES_REGION=bucket.region,
        SPACES_ACCESS_KEY_ID=bucket.access_key, SPACES_SECRET_ACCESS_KEY=bucket.secret_key,
        SPACES_CDN_DOMAIN=CDN_DOMAIN,
    )

    # then
    [key] = bucket.keys()
    assert out["url"] == f"https://{CDN_DOMAIN}/{key}"
    assert key.startswith("restaurants/9/logos/")


def test_the_settings_give_the_spaces_url_when_no_cdn_is_set():
    out = _fresh_process(
        "from django.core.files.storage import default_storage\n"
        "print(json.dumps({'url': default_storage.url('restaurants/1/logos/a b.png')}))",
        SPACES_BUCKET="fynlo-pos-storage", SPACES_REGION="lon1", SPACES_ACCESS_KEY_ID="key",
        SPACES_SECRET_ACCESS_KEY="secret",
    )

    assert out["url"] == "https://fynlo-pos-storage.lon1.digitaloceanspaces.com/restaurants/1/logos/a%20b.png"


def test_the_settings_use_the_local_filesystem_without_spaces():
    out = _fresh_process(
        "from django.core.files.storage import default_storage\n"
        "url = default_storage.url('a.png')\n"
        "print(json.dumps({'url': url, 'backend': type(default_storage._wrapped).__name__}))"
    )

    assert out == {"url": "/media/a.png", "backend": "FileSystemStorage"}
