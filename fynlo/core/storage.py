"""Uploaded files: product images, restaurant logos, profile images and receipts.

Files go through Django's default storage (settings.STORAGES): DigitalOcean Spaces through
django-storages' S3 backend when SPACES_BUCKET is set (public-read, the CDN domain in URLs
when SPACES_CDN_DOMAIN is set), the local filesystem under MEDIA_ROOT otherwise. The caller
saves the returned URL in the model's URL field (`fynlo.core.fields.URLTextField`).

Keys are tenant-aware and unguessable: `restaurants/<id>/<folder>/<uuid>.<ext>`, or
`platform/<folder>/<uuid>.<ext>` for a file that belongs to no restaurant (a platform
owner's profile image). A key is never reused, so a CDN may cache an object forever.

The file's type is read from its first bytes, never from the client's file name or
Content-Type: the extension and the stored Content-Type come from what the bytes are, so an
HTML page sent as "logo.png" is refused rather than served from the CDN.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError
from django.core.files import File
from django.core.files.storage import default_storage

from fynlo.core.api import ApiError

logger = logging.getLogger(__name__)

MB = 1024 * 1024

IMAGE_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}
PDF_TYPES = {"application/pdf": "pdf"}


@dataclass(frozen=True)
class FileKind:
    """What a folder accepts: content types (with their extension) and a size limit."""

    types: dict[str, str]
    max_bytes: int
    label: str


IMAGE = FileKind(IMAGE_TYPES, 5 * MB, "a JPEG, PNG, WebP or GIF image")
RECEIPT = FileKind({**PDF_TYPES, **IMAGE_TYPES}, 10 * MB, "a PDF or a JPEG, PNG, WebP or GIF image")

# folder -> what it accepts. The API's upload endpoints pick one of these.
FOLDERS: dict[str, FileKind] = {
    "products": IMAGE,
    "logos": IMAGE,
    "profiles": IMAGE,
    "receipts": RECEIPT,
}


# Every name `_file_key` makes, and nothing else (the media view answers only these).
KEY_PATTERN = re.compile(
    r"(?:restaurants/[1-9][0-9]*|platform)/(?:%s)/[0-9a-f]{32}\.(?P<extension>%s)" % (
        "|".join(map(re.escape, FOLDERS)),
        "|".join(sorted({re.escape(ext) for kind in FOLDERS.values() for ext in kind.types.values()})),
    )
)
CONTENT_TYPES = {ext: content_type for kind in FOLDERS.values() for content_type, ext in kind.types.items()}


def _sniff(head: bytes) -> str | None:
    """The content type that a file's first bytes announce (None when not one we store)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def _invalid(code: str, message: str, field: str) -> ApiError:
    return ApiError(code, message, status=400, fields={field: [message]})


def _file_key(*, folder: str, restaurant_id: int | None, extension: str) -> str:
    """A new, unguessable storage key under the tenant's folder."""
    owner = f"restaurants/{restaurant_id}" if restaurant_id is not None else "platform"
    return f"{owner}/{folder}/{uuid.uuid4().hex}.{extension}"


def file_store(*, file, folder: str, restaurant_id: int | None, field: str = "file") -> str:
    """Validate an uploaded image or PDF, save it under a tenant-aware key, return its public URL."""
    kind = FOLDERS.get(folder)
    if kind is None:
        raise ValueError(f"unknown upload folder {folder!r}; one of {', '.join(sorted(FOLDERS))}")
    if restaurant_id is not None and (type(restaurant_id) is not int or restaurant_id <= 0):
        raise ValueError(f"restaurant_id must be a positive integer or None, not {restaurant_id!r}")

    if file is None:
        raise _invalid("file_required", "No file was sent.", field)
    size = file.size
    if not size:
        raise _invalid("file_empty", "The file is empty.", field)
    if size > kind.max_bytes:
        raise _invalid(
            "file_too_large",
            f"The file is {size / MB:.1f} MB; the limit is {kind.max_bytes // MB} MB.",
            field,
        )
    file.seek(0)
    content_type = _sniff(file.read(16))
    file.seek(0)
    if content_type not in kind.types:
        raise _invalid("file_type_not_allowed", f"The file must be {kind.label}.", field)

    key = _file_key(folder=folder, restaurant_id=restaurant_id, extension=kind.types[content_type])
    content = File(file, name=key)
    # The S3 backend stores `content.content_type` as the object's Content-Type; the client's
    # claim (an UploadedFile's content_type) must not reach the CDN.
    content.content_type = content_type
    try:
        name = default_storage.save(key, content)
        return default_storage.url(name)
    except (BotoCoreError, ClientError, OSError) as error:
        # The client learns that storage failed, not where it lives; the log has the detail.
        logger.warning("storing %s failed: %s", key, error)
        raise ApiError("storage_unavailable", "The file could not be stored; try again.", status=503) from error
