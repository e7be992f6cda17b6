"""The cash drawers API: open a till's drawer with a float, paid in / paid out / no sale, close it
with the cash counted (pos.drawers)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from fynlo.core.api import validated
from fynlo.core.views import JsonApi, filters
from pos import drawers, selectors
from pos.serializers import (
    DrawerCloseSerializer,
    DrawerEntryInputSerializer,
    DrawerEntrySerializer,
    DrawerFilterSerializer,
    DrawerOpenSerializer,
    DrawerSerializer,
)
from tenants.permissions import CASHIER, MANAGERS, roles
from tenants.request import acting_restaurant_id

# The README's roles table, for this app.
DRAWER_ROLES = roles(read=MANAGERS | {CASHIER}, write=MANAGERS | {CASHIER})


def drawer_response(request, drawer_id: int, *, status_code: int = status.HTTP_200_OK) -> Response:
    session = selectors.drawer_get(tenant=request.tenant, drawer_id=drawer_id)
    figures = drawers.drawer_figures([session])
    return Response(DrawerSerializer(session, context={"figures": figures}).data, status=status_code)


class DrawerListApi(JsonApi):
    permission_classes = [DRAWER_ROLES]

    @extend_schema(parameters=[DrawerFilterSerializer], responses=DrawerSerializer(many=True),
                   summary="Cash drawer sessions, newest first, with their running figures")
    def get(self, request):
        wanted = filters(DrawerFilterSerializer, request)
        sessions = list(selectors.drawer_list(tenant=request.tenant, **wanted)[:200])
        figures = drawers.drawer_figures(sessions)
        return Response(DrawerSerializer(sessions, many=True, context={"figures": figures}).data)

    @extend_schema(request=DrawerOpenSerializer, responses={201: DrawerSerializer},
                   summary="Open a till's drawer with its float (one open drawer per till)")
    def post(self, request):
        data = validated(DrawerOpenSerializer, request.data)
        session = drawers.drawer_open(restaurant_id=acting_restaurant_id(request), user=request.user, **data)
        return drawer_response(request, session.pk, status_code=status.HTTP_201_CREATED)


class DrawerDetailApi(JsonApi):
    permission_classes = [DRAWER_ROLES]

    @extend_schema(responses=DrawerSerializer, summary="A drawer session with its figures and entries")
    def get(self, request, drawer_id: int):
        return drawer_response(request, drawer_id)


class DrawerCloseApi(JsonApi):
    permission_classes = [DRAWER_ROLES]

    @extend_schema(request=DrawerCloseSerializer, responses=DrawerSerializer,
                   summary="Close a drawer with the cash counted: keeps expected, counted and the difference")
    def post(self, request, drawer_id: int):
        data = validated(DrawerCloseSerializer, request.data)
        drawers.drawer_close(restaurant_id=acting_restaurant_id(request), drawer_id=drawer_id, user=request.user, **data)
        return drawer_response(request, drawer_id)


class DrawerEntryApi(JsonApi):
    permission_classes = [DRAWER_ROLES]

    @extend_schema(request=DrawerEntryInputSerializer, responses={201: DrawerEntrySerializer},
                   summary="Cash paid in or out of an open drawer (with a reason), or a no sale")
    def post(self, request, drawer_id: int):
        data = validated(DrawerEntryInputSerializer, request.data)
        entry = drawers.drawer_entry_add(
            restaurant_id=acting_restaurant_id(request), drawer_id=drawer_id, user=request.user, **data
        )
        return Response(DrawerEntrySerializer(entry).data, status=status.HTTP_201_CREATED)
