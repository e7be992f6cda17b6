"""The menu and stock API: categories, products, inventory items, suppliers, restock orders.

Views are thin: validate input, call one selector or service, serialize. Rows of another
tenant are invisible under row-level security, so they are 404; the selectors also filter
by the request's restaurant as a second wall.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from fynlo.core.api import CursorPages, validated
from fynlo.core.storage import file_store
from fynlo.core.sync import UPDATED_SINCE, wants_changes
from fynlo.core.views import JsonApi, JsonListApi, UploadApi, UploadSerializer, filters, uploaded_file
from inventory import selectors, services
from inventory.serializers import (
    CategoryFilterSerializer,
    CategoryInputSerializer,
    CategorySerializer,
    InventoryItemFilterSerializer,
    InventoryItemInputSerializer,
    InventoryItemSerializer,
    ModifierGroupFilterSerializer,
    ModifierGroupInputSerializer,
    ModifierGroupSerializer,
    ModifierOptionInputSerializer,
    ModifierOptionSerializer,
    ProductFilterSerializer,
    ProductInputSerializer,
    ProductSerializer,
    RestockOrderFilterSerializer,
    RestockOrderInputSerializer,
    RestockOrderSerializer,
    RestockReceiveSerializer,
    StockAdjustmentSerializer,
    StockMovementSerializer,
    SupplierFilterSerializer,
    SupplierInputSerializer,
    SupplierSerializer,
)
from tenants.permissions import ALL_ROLES, MANAGERS, roles, user_role
from tenants.replicas import changes_from_replica
from tenants.request import acting_restaurant_id, acting_tenant

# The README's roles table, for this app.
MENU_ROLES = roles(read=ALL_ROLES, write=MANAGERS)
STOCK_ROLES = roles(read=ALL_ROLES, write=MANAGERS)
PURCHASING_ROLES = roles(read=MANAGERS, write=MANAGERS)


# --- Menu ----------------------------------------------------------------------------------


class CategoryListApi(JsonApi):
    permission_classes = [MENU_ROLES]

    @extend_schema(parameters=[CategoryFilterSerializer, UPDATED_SINCE], responses=CategorySerializer(many=True),
                   summary="Menu categories, or what changed since updated_since")
    def get(self, request):
        wanted = filters(CategoryFilterSerializer, request)
        categories = selectors.category_list(tenant=request.tenant, **wanted)
        if wants_changes(request):
            return changes_from_replica(request, categories, lambda rows: CategorySerializer(rows, many=True).data)
        return Response(CategorySerializer(categories, many=True).data)

    @extend_schema(request=CategoryInputSerializer, responses={201: CategorySerializer}, summary="Add a category")
    def post(self, request):
        data = validated(CategoryInputSerializer, request.data)
        category = services.category_create(restaurant_id=acting_restaurant_id(request), **data)
        return Response(CategorySerializer(category).data, status=status.HTTP_201_CREATED)


class CategoryDetailApi(JsonApi):
    permission_classes = [MENU_ROLES]

    @extend_schema(responses=CategorySerializer, summary="A category")
    def get(self, request, category_id: int):
        category = selectors.category_get(tenant=request.tenant, category_id=category_id)
        return Response(CategorySerializer(category).data)

    @extend_schema(request=CategoryInputSerializer(partial=True), responses=CategorySerializer, summary="Change a category")
    def patch(self, request, category_id: int):
        category = selectors.category_get(tenant=acting_tenant(request), category_id=category_id)
        data = validated(CategoryInputSerializer, request.data, partial=True)
        return Response(CategorySerializer(services.category_update(category=category, data=data)).data)


class ProductListApi(JsonApi):
    permission_classes = [MENU_ROLES]

    @extend_schema(parameters=[ProductFilterSerializer, UPDATED_SINCE], responses=ProductSerializer(many=True),
                   summary="Products, or what changed since updated_since")
    def get(self, request):
        wanted = filters(ProductFilterSerializer, request)
        products = selectors.product_list(
            tenant=request.tenant,
            category_id=wanted.get("category"),
            is_active=wanted.get("is_active"),
            available_in_pos=wanted.get("available_in_pos"),
        )
        if wants_changes(request):
            return changes_from_replica(request, products, lambda rows: ProductSerializer(rows, many=True).data)
        return Response(ProductSerializer(products, many=True).data)

    @extend_schema(request=ProductInputSerializer, responses={201: ProductSerializer}, summary="Add a product")
    def post(self, request):
        data = validated(ProductInputSerializer, request.data)
        product = services.product_create(restaurant_id=acting_restaurant_id(request), data=data)
        product = selectors.product_get(tenant=request.tenant, product_id=product.pk)
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)


class ProductDetailApi(JsonApi):
    permission_classes = [MENU_ROLES]

    @extend_schema(responses=ProductSerializer, summary="A product")
    def get(self, request, product_id: int):
        product = selectors.product_get(tenant=request.tenant, product_id=product_id)
        return Response(ProductSerializer(product).data)

    @extend_schema(request=ProductInputSerializer(partial=True), responses=ProductSerializer, summary="Change a product")
    def patch(self, request, product_id: int):
        product = selectors.product_get(tenant=acting_tenant(request), product_id=product_id)
        data = validated(ProductInputSerializer, request.data, partial=True)
        services.product_update(product=product, data=data)
        return Response(ProductSerializer(selectors.product_get(tenant=request.tenant, product_id=product_id)).data)

    @extend_schema(request=None, responses=ProductSerializer, summary="Deactivate a product (it stays on past orders)")
    def delete(self, request, product_id: int):
        product = selectors.product_get(tenant=acting_tenant(request), product_id=product_id)
        services.product_deactivate(product=product)
        return Response(ProductSerializer(selectors.product_get(tenant=request.tenant, product_id=product_id)).data)


class ProductImageApi(UploadApi):
    permission_classes = [MENU_ROLES]

    @extend_schema(request={"multipart/form-data": UploadSerializer}, responses=ProductSerializer,
                   summary="Upload a product's image (JPEG, PNG, WebP or GIF, at most 5 MB)")
    def post(self, request, product_id: int):
        restaurant_id = acting_restaurant_id(request)
        product = selectors.product_get(tenant=request.tenant, product_id=product_id)
        url = file_store(file=uploaded_file(request), folder="products", restaurant_id=restaurant_id)
        return Response(ProductSerializer(services.product_set_image(product=product, image_url=url)).data)


class ModifierGroupListApi(JsonApi):
    permission_classes = [MENU_ROLES]

    @extend_schema(parameters=[ModifierGroupFilterSerializer, UPDATED_SINCE], responses=ModifierGroupSerializer(many=True),
                   summary="Modifier groups with their options and products, or what changed since updated_since")
    def get(self, request):
        wanted = filters(ModifierGroupFilterSerializer, request)
        if wants_changes(request):
            groups = selectors.modifier_group_list(tenant=request.tenant, **wanted)
            return changes_from_replica(request, groups, lambda rows: ModifierGroupSerializer(rows, many=True).data)
        return Response(ModifierGroupSerializer(selectors.modifier_group_list(tenant=request.tenant, **wanted), many=True).data)

    @extend_schema(request=ModifierGroupInputSerializer, responses={201: ModifierGroupSerializer},
                   summary="Add a modifier group")
    def post(self, request):
        data = validated(ModifierGroupInputSerializer, request.data)
        group = services.modifier_group_create(restaurant_id=acting_restaurant_id(request), data=data)
        group = selectors.modifier_group_get(tenant=request.tenant, group_id=group.pk)
        return Response(ModifierGroupSerializer(group).data, status=status.HTTP_201_CREATED)


class ModifierGroupDetailApi(JsonApi):
    permission_classes = [MENU_ROLES]

    @extend_schema(responses=ModifierGroupSerializer, summary="A modifier group")
    def get(self, request, group_id: int):
        return Response(ModifierGroupSerializer(selectors.modifier_group_get(tenant=request.tenant, group_id=group_id)).data)

    @extend_schema(request=ModifierGroupInputSerializer(partial=True), responses=ModifierGroupSerializer,
                   summary="Change a modifier group")
    def patch(self, request, group_id: int):
        group = selectors.modifier_group_get(tenant=acting_tenant(request), group_id=group_id)
        data = validated(ModifierGroupInputSerializer, request.data, partial=True)
        services.modifier_group_update(group=group, data=data)
        return Response(ModifierGroupSerializer(selectors.modifier_group_get(tenant=request.tenant, group_id=group_id)).data)

    @extend_schema(request=None, responses=ModifierGroupSerializer,
                   summary="Deactivate a modifier group (past orders keep what they sold)")
    def delete(self, request, group_id: int):
        group = selectors.modifier_group_get(tenant=acting_tenant(request), group_id=group_id)
        services.modifier_group_update(group=group, data={"is_active": False})
        return Response(ModifierGroupSerializer(selectors.modifier_group_get(tenant=request.tenant, group_id=group_id)).data)


class ModifierGroupOptionsApi(JsonApi):
    permission_classes = [MENU_ROLES]

    @extend_schema(request=ModifierOptionInputSerializer, responses={201: ModifierOptionSerializer},
                   summary="Add an option to a modifier group")
    def post(self, request, group_id: int):
        group = selectors.modifier_group_get(tenant=acting_tenant(request), group_id=group_id)
        data = validated(ModifierOptionInputSerializer, request.data)
        option = services.modifier_option_create(group=group, data=data)
        return Response(ModifierOptionSerializer(option).data, status=status.HTTP_201_CREATED)


class ModifierOptionDetailApi(JsonApi):
    permission_classes = [MENU_ROLES]

    @extend_schema(responses=ModifierOptionSerializer, summary="A modifier option")
    def get(self, request, option_id: int):
        return Response(ModifierOptionSerializer(selectors.modifier_option_get(tenant=request.tenant, option_id=option_id)).data)

    @extend_schema(request=ModifierOptionInputSerializer(partial=True), responses=ModifierOptionSerializer,
                   summary="Change a modifier option")
    def patch(self, request, option_id: int):
        option = selectors.modifier_option_get(tenant=acting_tenant(request), option_id=option_id)
        data = validated(ModifierOptionInputSerializer, request.data, partial=True)
        return Response(ModifierOptionSerializer(services.modifier_option_update(option=option, data=data)).data)

    @extend_schema(request=None, responses=ModifierOptionSerializer,
                   summary="Deactivate a modifier option (past orders keep what they sold)")
    def delete(self, request, option_id: int):
        option = selectors.modifier_option_get(tenant=acting_tenant(request), option_id=option_id)
        return Response(ModifierOptionSerializer(services.modifier_option_update(option=option, data={"is_active": False})).data)


# --- Stock ---------------------------------------------------------------------------------


class InventoryItemListApi(JsonApi):
    permission_classes = [STOCK_ROLES]

    @extend_schema(
        parameters=[InventoryItemFilterSerializer, UPDATED_SINCE], responses=InventoryItemSerializer(many=True),
        summary="Stock levels, or what changed since updated_since",
    )
    def get(self, request):
        wanted = filters(InventoryItemFilterSerializer, request)
        if wanted.get("oversold") and user_role(request.user) not in MANAGERS:
            raise PermissionDenied("Only owners and managers see what was oversold.")
        items = selectors.inventory_item_list(tenant=request.tenant, **wanted)
        if wants_changes(request):
            return changes_from_replica(request, items, lambda rows: InventoryItemSerializer(rows, many=True).data)
        return Response(InventoryItemSerializer(items, many=True).data)


class InventoryItemDetailApi(JsonApi):
    permission_classes = [STOCK_ROLES]

    @extend_schema(responses=InventoryItemSerializer, summary="One item's stock")
    def get(self, request, item_id: int):
        item = selectors.inventory_item_get(tenant=request.tenant, item_id=item_id)
        return Response(InventoryItemSerializer(item).data)

    @extend_schema(
        request=InventoryItemInputSerializer(partial=True), responses=InventoryItemSerializer,
        summary="Change an item's supplier, thresholds, cost or unit",
    )
    def patch(self, request, item_id: int):
        item = selectors.inventory_item_get(tenant=acting_tenant(request), item_id=item_id)
        data = validated(InventoryItemInputSerializer, request.data, partial=True)
        return Response(InventoryItemSerializer(services.inventory_item_update(item=item, data=data)).data)


class InventoryItemAdjustApi(JsonApi):
    permission_classes = [roles(read=MANAGERS, write=MANAGERS)]

    @extend_schema(
        request=StockAdjustmentSerializer, responses={201: StockMovementSerializer},
        summary="Adjust stock by a signed quantity (waste or a count correction)",
    )
    def post(self, request, item_id: int):
        data = validated(StockAdjustmentSerializer, request.data)
        movement = services.stock_adjust(
            restaurant_id=acting_restaurant_id(request), item_id=item_id, user=request.user, **data
        )
        return Response(StockMovementSerializer(movement).data, status=status.HTTP_201_CREATED)


# --- Suppliers and restock orders ----------------------------------------------------------


class SupplierListApi(JsonApi):
    permission_classes = [PURCHASING_ROLES]

    @extend_schema(parameters=[SupplierFilterSerializer], responses=SupplierSerializer(many=True), summary="Suppliers")
    def get(self, request):
        wanted = filters(SupplierFilterSerializer, request)
        suppliers = selectors.supplier_list(tenant=request.tenant, **wanted)
        return Response(SupplierSerializer(suppliers, many=True).data)

    @extend_schema(request=SupplierInputSerializer, responses={201: SupplierSerializer}, summary="Add a supplier")
    def post(self, request):
        data = validated(SupplierInputSerializer, request.data)
        supplier = services.supplier_create(restaurant_id=acting_restaurant_id(request), data=data)
        return Response(SupplierSerializer(supplier).data, status=status.HTTP_201_CREATED)


class SupplierDetailApi(JsonApi):
    permission_classes = [PURCHASING_ROLES]

    @extend_schema(responses=SupplierSerializer, summary="A supplier")
    def get(self, request, supplier_id: int):
        supplier = selectors.supplier_get(tenant=request.tenant, supplier_id=supplier_id)
        return Response(SupplierSerializer(supplier).data)

    @extend_schema(request=SupplierInputSerializer(partial=True), responses=SupplierSerializer, summary="Change a supplier")
    def patch(self, request, supplier_id: int):
        supplier = selectors.supplier_get(tenant=acting_tenant(request), supplier_id=supplier_id)
        data = validated(SupplierInputSerializer, request.data, partial=True)
        return Response(SupplierSerializer(services.supplier_update(supplier=supplier, data=data)).data)


class RestockOrderListApi(JsonListApi):
    permission_classes = [PURCHASING_ROLES]
    pagination_class = CursorPages
    serializer_class = RestockOrderSerializer

    @extend_schema(parameters=[RestockOrderFilterSerializer], responses=RestockOrderSerializer(many=True),
                   summary="Restock orders, newest first")
    def get(self, request):
        wanted = filters(RestockOrderFilterSerializer, request)
        orders = selectors.restock_order_list(tenant=request.tenant, **wanted)
        page = self.paginate_queryset(orders)
        return self.get_paginated_response(RestockOrderSerializer(page, many=True).data)

    @extend_schema(request=RestockOrderInputSerializer, responses={201: RestockOrderSerializer},
                   summary="Order stock from a supplier")
    def post(self, request):
        restaurant_id = acting_restaurant_id(request)
        data = validated(RestockOrderInputSerializer, request.data)
        order = services.restock_order_create(restaurant_id=restaurant_id, user=request.user, **data)
        order = selectors.restock_order_get(tenant=request.tenant, restock_order_id=order.pk)
        return Response(RestockOrderSerializer(order).data, status=status.HTTP_201_CREATED)


class RestockOrderDetailApi(JsonApi):
    permission_classes = [PURCHASING_ROLES]

    @extend_schema(responses=RestockOrderSerializer, summary="A restock order")
    def get(self, request, restock_order_id: int):
        order = selectors.restock_order_get(tenant=request.tenant, restock_order_id=restock_order_id)
        return Response(RestockOrderSerializer(order).data)


class RestockOrderReceiveApi(JsonApi):
    permission_classes = [PURCHASING_ROLES]

    @extend_schema(request=RestockReceiveSerializer, responses=RestockOrderSerializer,
                   summary="Receive a delivery: raise the stock and close the order")
    def post(self, request, restock_order_id: int):
        restaurant_id = acting_restaurant_id(request)
        data = validated(RestockReceiveSerializer, request.data)
        received = None
        if "items" in data:
            received = {line["id"]: line["quantity_received"] for line in data["items"]}
        services.restock_order_receive(
            restaurant_id=restaurant_id, restock_order_id=restock_order_id, received=received, user=request.user
        )
        order = selectors.restock_order_get(tenant=request.tenant, restock_order_id=restock_order_id)
        return Response(RestockOrderSerializer(order).data)
