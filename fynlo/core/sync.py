"""What changed since T: `?updated_since=` on the lists a till keeps a copy of.

The rule, for a device that keeps its copy by asking again and again:

- a pass answers every row whose `updated_at` is at or after `updated_since` (created or changed
  then, deactivations and status changes included: every write bumps `updated_at`), in
  (updated_at, id) order, in pages (`page_size`, default 100, at most 500) linked by `next`;
- the cursor is a keyset on (updated_at, id), never an offset: however many rows share one
  timestamp, a page starts right after the last row of the one before, so nothing is skipped
  or repeated within a pass. A row changed while the device pages gets a later `updated_at` and
  comes again at the end of the pass (the device applies rows by id: the last one wins);
- every page carries `next_since`, the same for the whole pass: the database's time when the
  pass began (on a replica, the time of the last transaction it replayed, if earlier) less
  SYNC_MARGIN_SECONDS. A write transaction that began before it and committed after it
  (`updated_at` is set when the row is written, visible only at commit) is still caught by the
  next pass, as long as it lasted less than the margin. The price: the next pass answers again
  the rows of the margin's last seconds.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Callable

from django.conf import settings
from django.db import connections
from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from fynlo.core.api import validated

PAGE_SIZE = 100
MAX_PAGE_SIZE = 500


class SyncQuerySerializer(serializers.Serializer):
    updated_since = serializers.DateTimeField(
        help_text="Rows created or changed at or after this instant, oldest change first; ask next time with the "
        "response's next_since (SYNC_MARGIN_SECONDS: a few rows may come again, apply them by id).",
    )
    cursor = serializers.CharField(required=False, help_text="The `next` link's cursor.")
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE, default=PAGE_SIZE)


def wants_changes(request) -> bool:
    return "updated_since" in request.query_params


def _pass_time(queryset: QuerySet) -> datetime:
    """The database's time for this pass's next_since (see the module's rule)."""
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(
            "SELECT LEAST(now(), COALESCE(pg_last_xact_replay_timestamp(), now())) - make_interval(secs => %s)",
            [settings.SYNC_MARGIN_SECONDS],
        )
        return cursor.fetchone()[0]


def _encode(values: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def _decode(cursor: str) -> tuple[datetime, int, datetime]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(values["t"]), int(values["i"]), datetime.fromisoformat(values["s"])
    except (ValueError, KeyError, TypeError):
        raise exceptions.ValidationError({"cursor": [
            "Not a cursor this list gave out: follow the `next` link as it is."
        ]}) from None


def changes_page(request, queryset: QuerySet, serialize: Callable[[list], list]) -> Response:
    """One page of the rows of `queryset` changed since `updated_since` (the module's rule):
    `{"results", "next", "next_since"}`."""
    query = validated(SyncQuerySerializer, request.query_params.dict())
    rows = queryset.filter(updated_at__gte=query["updated_since"])
    if "cursor" in query:
        after, after_id, next_since = _decode(query["cursor"])
        rows = rows.filter(Q(updated_at__gt=after) | Q(updated_at=after, id__gt=after_id))
    else:
        next_since = _pass_time(queryset)
    size = query["page_size"]
    page = list(rows.order_by("updated_at", "id")[: size + 1])
    more = len(page) > size
    page = page[:size]
    link = None
    if more:
        last = page[-1]
        cursor = _encode({"t": last.updated_at.isoformat(), "i": last.pk, "s": next_since.isoformat()})
        link = replace_query_param(request.build_absolute_uri(), "cursor", cursor)
    return Response({"results": serialize(page), "next": link, "next_since": next_since})


# The query parameter as the OpenAPI schema shows it on each list that takes it.
UPDATED_SINCE = OpenApiParameter(
    "updated_since", OpenApiTypes.DATETIME, OpenApiParameter.QUERY,
    description="What changed since: rows created or changed at or after this instant, in (updated_at, id) order. "
    "The answer is then a page {results, next, next_since} (page_size up to 500; follow next; ask next time with "
    "next_since).",
)
