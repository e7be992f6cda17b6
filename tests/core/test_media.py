"""MEDIA_URL without Spaces: the app serves the uploads file_store made, and nothing else under
MEDIA_ROOT; with Spaces, nothing at all."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fynlo.core.storage import file_store
from tests.s3 import s3_server, spaces_settings  # noqa: F401

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
KEY = "restaurants/7/receipts/" + "ab" * 16 + ".pdf"


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


def test_a_stored_file_is_served_with_the_type_its_bytes_were_checked_to_be(media_root, client):
    url = file_store(file=SimpleUploadedFile("r.pdf", PDF, "text/html"), folder="receipts", restaurant_id=7)

    response = client.get(url)
    head = client.head(url)

    assert response.status_code == 200 and head.status_code == 200
    assert (response["Content-Type"], b"".join(response.streaming_content)) == ("application/pdf", PDF)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert client.post(url).status_code == 405


@pytest.mark.parametrize("path", [
    "/media/secret.txt",                                  # a file under MEDIA_ROOT that no upload made
    "/media/restaurants/7/receipts/",                     # no listing
    "/media/restaurants/7/receipts/../../secret.txt",
    "/media/restaurants/7/receipts/..%2f..%2fsecret.txt",
    "/media/%2e%2e/outside.txt",                          # MEDIA_ROOT's parent
    "/media/restaurants/7/receipts/" + "cd" * 16 + ".pdf",  # well formed, not stored
    "/media/" + KEY.replace(".pdf", ".html"),
])
def test_nothing_but_an_upload_is_served(media_root, client, path):
    (media_root / "secret.txt").write_text("not an upload")
    (media_root.parent / "outside.txt").write_text("outside MEDIA_ROOT")
    (media_root / KEY).parent.mkdir(parents=True)
    (media_root / KEY).write_bytes(PDF)
    (media_root / KEY.replace(".pdf", ".html")).write_bytes(b"<script>alert(1)</script>")

    assert client.get("/media/" + KEY).status_code == 200  # the fixture's file is reachable
    assert client.get(path).status_code == 404


def test_with_spaces_configured_no_local_file_is_served(media_root, client, spaces_settings):
    (media_root / KEY).parent.mkdir(parents=True)
    (media_root / KEY).write_bytes(PDF)

    assert client.get("/media/" + KEY).status_code == 404
