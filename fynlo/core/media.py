"""GET MEDIA_URL<key>: uploaded files kept on the local filesystem (no Spaces), served by the app.

Without SPACES_BUCKET, `fynlo.core.storage.file_store` saves uploads under MEDIA_ROOT and hands
out a MEDIA_URL address; gunicorn serves no files of its own, so this view does, for exactly the
names file_store makes (`restaurants/<id>/<folder>/<32 hex>.<ext>`, `platform/<folder>/...`):
no `..`, no directory listing, nothing else that lies under MEDIA_ROOT. Like the public-read
objects on Spaces, a file is public to whoever has its unguessable URL. With Spaces configured
every address here is a 404: the files live in the bucket.
"""

from __future__ import annotations

from django.core.files.storage import FileSystemStorage, storages
from django.http import FileResponse, Http404
from django.views.decorators.http import require_safe

from fynlo.core.storage import CONTENT_TYPES, KEY_PATTERN


@require_safe
def media_file(request, name: str):
    """One locally stored upload, with the content type its bytes were checked to be."""
    storage = storages["default"]
    match = KEY_PATTERN.fullmatch(name)
    if match is None or not isinstance(storage, FileSystemStorage):
        raise Http404("No such file.")
    try:
        file = storage.open(name, "rb")
    except (FileNotFoundError, IsADirectoryError):
        raise Http404("No such file.") from None
    response = FileResponse(file, content_type=CONTENT_TYPES[match["extension"]])
    # A key is never reused (storage.py), so the file behind a URL never changes.
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
