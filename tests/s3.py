"""A real S3-compatible HTTP server for the tests: moto in server mode, reached through boto3.

Import the fixtures into a test module (pytest allows `pytest_plugins` only in the root
conftest):

    from tests.s3 import s3_server, spaces_settings  # noqa: F401

- `s3_server` (session): one moto server on a free local port, with a bucket made for the
  session; yields an `S3Server` (endpoint, bucket, region, keys, `client()`).
- `spaces_settings` (function): a fresh bucket on that server, and Django's default storage
  pointed at it exactly as fynlo/settings.py configures Spaces (S3 backend, public-read, no
  query-string auth), without a CDN domain; yields the `S3Server` of that bucket.
- `spaces_cdn_settings` (function): the same with SPACES_CDN_DOMAIN = `CDN_DOMAIN`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace

import boto3
import pytest
from botocore.config import Config
from django.conf import settings
from django.test import override_settings
from moto.server import ThreadedMotoServer

REGION = "lon1"
ACCESS_KEY = "fynlo-test-access-key"
SECRET_KEY = "fynlo-test-secret-key"
CDN_DOMAIN = "cdn.fynlo.test"


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str
    region: str = REGION
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY

    def client(self):
        """A boto3 S3 client for this server (signed with the test keys)."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(retries={"max_attempts": 1}),
        )

    def new_bucket(self) -> S3Server:
        """This server with a new, empty bucket."""
        bucket = f"fynlo-test-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": self.region})
        return replace(self, bucket=bucket)

    def put(self, key: str, body: bytes = b"x", content_type: str = "image/png") -> None:
        self.client().put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def keys(self) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=self.bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))


def spaces_storages(server: S3Server, *, cdn_domain: str | None = None) -> dict:
    """settings.STORAGES with the default storage on `server`, shaped like fynlo/settings.py's."""
    return {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": server.bucket,
                "region_name": server.region,
                "endpoint_url": server.endpoint,
                "access_key": server.access_key,
                "secret_key": server.secret_key,
                "custom_domain": cdn_domain,
                "default_acl": "public-read",
                "querystring_auth": False,
                "file_overwrite": False,
            },
        },
    }


def _spaces(server: S3Server, cdn_domain: str | None) -> Iterator[S3Server]:
    bucket = server.new_bucket()
    with override_settings(
        STORAGES=spaces_storages(bucket, cdn_domain=cdn_domain),
        SPACES_BUCKET=bucket.bucket,
        SPACES_REGION=bucket.region,
        SPACES_ENDPOINT_URL=bucket.endpoint,
        SPACES_CDN_DOMAIN=cdn_domain,
    ):
        yield bucket


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request in test output
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    session = S3Server(endpoint=f"http://{host}:{port}", bucket="").new_bucket()
    yield session
    server.stop()


@pytest.fixture
def spaces_settings(s3_server: S3Server) -> Iterator[S3Server]:
    yield from _spaces(s3_server, None)


@pytest.fixture
def spaces_cdn_settings(s3_server: S3Server) -> Iterator[S3Server]:
    yield from _spaces(s3_server, CDN_DOMAIN)
