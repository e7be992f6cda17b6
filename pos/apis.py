"""The orders API: orders, their status, payments and refunds.

The three money-moving POSTs (order, payment, refund) honour an `Idempotency-Key` header
(pos.idempotency): a retry of the same request returns the first response and
creates nothing.
"""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.response import Response

from fynlo.core.api import (
    ApiError,
    CursorPages,
    error_body,
    exception_handler,
    represented,
    set_rollback,
    validated,
)
from fynlo.core.storage import file_store
from fynlo.core.sync import UPDATED_SINCE, wants_changes
from fynlo.core.views import JsonApi, JsonListApi, UploadApi, UploadSerializer, filters, uploaded_file
from pos import selectors, services
from pos.errors import VersionConflict
from pos.idempotency import HEADER as IDEMPOTENCY_HEADER
from pos.idempotency import REPLAYED_HEADER, idempotent
from pos.serializers import (
    OfflineOrderSerializer,
    OfflinePaymentSerializer,
    OrderCreateSerializer,
    OrderEditSerializer,
    OrderFilterSerializer,
    OrderSerializer,
    OrderStatusSerializer,
    PaymentInputSerializer,
    PaymentSerializer,
    PaymentTakenSerializer,
    RefundInputSerializer,
    RefundIssuedSerializer,
    RefundSerializer,
    SyncBatchSerializer,
    SyncResultSerializer,
)
from tenants.permissions import ALL_ROLES, CASHIER, COOK, MANAGERS, SERVER, roles, user_role
from tenants.replicas import changes_from_replica
from tenants.request import acting_restaurant_id

# The README's roles table, for this app.
ORDER_ROLES = roles(read=ALL_ROLES, write=MANAGERS | {CASHIER, SERVER})
ORDER_STATUS_ROLES = roles(read=ALL_ROLES, write=ALL_ROLES)  # cooks: preparing and ready only (below)
PAYMENT_ROLES_WRITE = MANAGERS | {CASHIER}
PAYMENT_ROLES = roles(read=MANAGERS | {CASHIER}, write=PAYMENT_ROLES_WRITE)
REFUND_ROLES = roles(read=MANAGERS, write=MANAGERS)

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="A unique key per request (e.g. a UUID). A retry with the same key and body returns the first "
    "response and creates nothing; the same key with another body is 409.",
)


IF_MATCH_PARAMETER = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description='The order\'s version as read (its ETag, e.g. "3"); or send `version` in the body.',
)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class VersionConflictSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()
    order = OrderSerializer(help_text="The order as it is now.")


def order_response(order, *, status_code: int = status.HTTP_200_OK) -> Response:
    """An order, with its version as the ETag."""
    return Response(represented(OrderSerializer, order), status=status_code, headers={"ETag": f'"{order.version}"'})


def sent_version(request, body_version: int | None) -> int:
    """The version the client read: If-Match or the body's `version` (428 when neither, 400 when they differ)."""
    header = request.headers.get("If-Match")
    version = None
    if header is not None:
        text = header.strip().removeprefix("W/").strip('"')
        if not text.isdigit():
            message = 'Expected the order\'s version as its ETag, e.g. "3".'
            raise ApiError("invalid", message, fields={"If-Match": [message]})
        version = int(text)
    if version is not None and body_version is not None and version != body_version:
        message = "If-Match and version name different versions."
        raise ApiError("invalid", message, fields={"version": [message]})
    version = version if version is not None else body_version
    if version is None:
        raise ApiError(
            "version_required", "Send the version of the order you read (If-Match or `version`).", status=428
        )
    return version


class OrderListApi(JsonListApi):
    permission_classes = [ORDER_ROLES]
    pagination_class = CursorPages
    serializer_class = OrderSerializer

    @extend_schema(parameters=[OrderFilterSerializer, UPDATED_SINCE], responses=OrderSerializer(many=True),
                   summary="Orders, newest first (cursor pages), or what changed since updated_since")
    def get(self, request):
        wanted = filters(OrderFilterSerializer, request)
        orders = selectors.order_list(tenant=request.tenant, **wanted)
        if wants_changes(request):
            return changes_from_replica(request, orders, lambda rows: OrderSerializer(rows, many=True).data)
        page = self.paginate_queryset(orders)
        return self.get_paginated_response(OrderSerializer(page, many=True).data)

    @extend_schema(request=OrderCreateSerializer, responses={201: OrderSerializer}, parameters=[IDEMPOTENCY_PARAMETER],
                   summary="Place an order (priced by the server)")
    def post(self, request):
        restaurant_id = acting_restaurant_id(request)

        def create() -> Response:
            data = validated(OrderCreateSerializer, request.data)
            if "client_reference" in data:
                order, created = services.order_create_once(restaurant_id=restaurant_id, user=request.user, **data)
            else:
                order, created = services.order_create(restaurant_id=restaurant_id, user=request.user, **data), True
            if created:
                return order_response(order, status_code=status.HTTP_201_CREATED)  # as written: no re-read
            # answered like a retry: the order the first request made, as it is now
            response = order_response(
                selectors.order_get(tenant=request.tenant, order_id=order.pk), status_code=status.HTTP_201_CREATED
            )
            response[REPLAYED_HEADER] = "true"
            return response

        return idempotent(request, restaurant_id=restaurant_id, handler=create)


class OrderDetailApi(JsonApi):
    permission_classes = [ORDER_ROLES]

    @extend_schema(responses=OrderSerializer, summary="An order with its items and payments (ETag: its version)")
    def get(self, request, order_id: int):
        return order_response(selectors.order_get(tenant=request.tenant, order_id=order_id))

    @extend_schema(
        request=OrderEditSerializer, responses={200: OrderSerializer, 409: VersionConflictSerializer},
        parameters=[IF_MATCH_PARAMETER, IDEMPOTENCY_PARAMETER],
        summary="Edit an open order: add, change and remove lines (re-priced by the server)",
    )
    def patch(self, request, order_id: int):
        restaurant_id = acting_restaurant_id(request)

        def edit() -> Response:
            data = validated(OrderEditSerializer, request.data)
            version = sent_version(request, data.pop("version", None))
            lines = {key: data.pop(key, []) for key in ("add_items", "update_items", "remove_items")}
            try:
                services.order_edit(
                    restaurant_id=restaurant_id, order_id=order_id, version=version, changes=data, user=request.user,
                    **lines,
                )
            except VersionConflict as conflict:
                current = selectors.order_get(tenant=request.tenant, order_id=order_id)
                body = {**error_body(conflict.code, conflict.message), "order": OrderSerializer(current).data}
                set_rollback()  # nothing was written; an error response never keeps a write
                return Response(body, status=conflict.status, headers={"ETag": f'"{current.version}"'})
            return order_response(selectors.order_get(tenant=request.tenant, order_id=order_id))

        return idempotent(request, restaurant_id=restaurant_id, handler=edit)


class OrderStatusApi(JsonApi):
    permission_classes = [ORDER_STATUS_ROLES]

    @extend_schema(request=OrderStatusSerializer, responses=OrderSerializer, summary="Move an order to a new status")
    def post(self, request, order_id: int):
        restaurant_id = acting_restaurant_id(request)
        data = validated(OrderStatusSerializer, request.data)
        if user_role(request.user) == COOK and data["status"] not in services.KITCHEN_STATUSES:
            selectors.order_get(tenant=request.tenant, order_id=order_id)  # another tenant's order stays 404
            raise PermissionDenied("A cook may only set an order preparing or ready.")
        services.order_set_status(restaurant_id=restaurant_id, order_id=order_id, user=request.user, **data)
        return order_response(selectors.order_get(tenant=request.tenant, order_id=order_id))


class OrderReceiptApi(UploadApi):
    permission_classes = [ORDER_ROLES]

    @extend_schema(request={"multipart/form-data": UploadSerializer}, responses=OrderSerializer,
                   summary="Upload an order's receipt (PDF or image, at most 10 MB)")
    def post(self, request, order_id: int):
        restaurant_id = acting_restaurant_id(request)
        order = selectors.order_get(tenant=request.tenant, order_id=order_id)
        url = file_store(file=uploaded_file(request), folder="receipts", restaurant_id=restaurant_id)
        return Response(OrderSerializer(services.order_attach_receipt(order=order, receipt_url=url)).data)


class OrderPaymentApi(JsonApi):
    permission_classes = [PAYMENT_ROLES]

    @extend_schema(request=PaymentInputSerializer, responses={201: PaymentTakenSerializer},
                   parameters=[IDEMPOTENCY_PARAMETER], summary="Take a payment on an order")
    def post(self, request, order_id: int):
        restaurant_id = acting_restaurant_id(request)

        def pay() -> Response:
            data = validated(PaymentInputSerializer, request.data)
            taken = services.payment_take(restaurant_id=restaurant_id, order_id=order_id, user=request.user, **data)
            return Response(PaymentTakenSerializer(taken).data, status=status.HTTP_201_CREATED)

        return idempotent(request, restaurant_id=restaurant_id, handler=pay)


class PaymentRefundApi(JsonApi):
    permission_classes = [REFUND_ROLES]

    @extend_schema(request=RefundInputSerializer, responses={201: RefundIssuedSerializer},
                   parameters=[IDEMPOTENCY_PARAMETER], summary="Refund part or all of a payment")
    def post(self, request, payment_id: int):
        restaurant_id = acting_restaurant_id(request)

        def refund() -> Response:
            data = validated(RefundInputSerializer, request.data)
            issued = services.refund_take(
                restaurant_id=restaurant_id, payment_id=payment_id, user=request.user, **data
            )
            body = {**RefundSerializer(issued.refund).data, "restocked_items": issued.restocked_items}
            return Response(body, status=status.HTTP_201_CREATED)

        return idempotent(request, restaurant_id=restaurant_id, handler=refund)


def _each_on_its_own(elements: list, handle) -> list[dict]:
    """`handle(element)` for each element in a savepoint of its own: an element that fails is
    undone alone and answered with its error, the others are kept."""
    results = []
    for element in elements:
        reference = element.get("client_reference") if isinstance(element, dict) else None
        with transaction.atomic():
            try:
                results.append(handle(element))
            except (ApiError, APIException) as error:
                response = exception_handler(error, {})  # also rolls this element's savepoint back
                results.append({"client_reference": reference, "status": "error", "error": response.data["error"]})
    return results


class OrderSyncApi(JsonApi):
    permission_classes = [ORDER_ROLES]

    @extend_schema(
        request=SyncBatchSerializer, responses={200: SyncResultSerializer},
        summary="Send orders and payments taken offline: each applied once, each answered on its own",
    )
    def post(self, request):
        restaurant_id = acting_restaurant_id(request)
        batch = validated(SyncBatchSerializer, request.data)
        if batch["payments"] and user_role(request.user) not in PAYMENT_ROLES_WRITE:
            raise PermissionDenied("Your role may not take payments.")

        def order(element) -> dict:
            data = validated(OfflineOrderSerializer, element)
            made, created = services.order_create_once(
                restaurant_id=restaurant_id, user=request.user, offline=True, **data
            )
            return {"client_reference": str(data["client_reference"]),
                    "status": "created" if created else "already_present", "order_id": made.pk}

        def payment(element) -> dict:
            data = validated(OfflinePaymentSerializer, element)
            data["at"] = data.pop("client_created_at")
            taken, created = services.payment_record_once(restaurant_id=restaurant_id, user=request.user, **data)
            return {"client_reference": str(data["client_reference"]),
                    "status": "created" if created else "already_present", "payment_id": taken.pk}

        orders = _each_on_its_own(batch["orders"], order)
        payments = _each_on_its_own(batch["payments"], payment)
        order_rows = selectors.orders_by_id(
            tenant=request.tenant, order_ids=[row["order_id"] for row in orders if "order_id" in row]
        )
        payment_rows = selectors.payments_by_id(
            tenant=request.tenant, payment_ids=[row["payment_id"] for row in payments if "payment_id" in row]
        )
        for row in orders:
            if "order_id" in row:
                row["order"] = OrderSerializer(order_rows[row.pop("order_id")]).data
        for row in payments:
            if "payment_id" in row:
                row["payment"] = PaymentSerializer(payment_rows[row.pop("payment_id")]).data
        return Response({"orders": orders, "payments": payments})
