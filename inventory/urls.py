from django.urls import path

from inventory import apis

urlpatterns = [
    path("categories/", apis.CategoryListApi.as_view(), name="category-list"),
    path("categories/<int:category_id>/", apis.CategoryDetailApi.as_view(), name="category-detail"),
    path("products/", apis.ProductListApi.as_view(), name="product-list"),
    path("products/<int:product_id>/", apis.ProductDetailApi.as_view(), name="product-detail"),
    path("products/<int:product_id>/image", apis.ProductImageApi.as_view(), name="product-image"),
    path("modifier-groups/", apis.ModifierGroupListApi.as_view(), name="modifier-group-list"),
    path("modifier-groups/<int:group_id>/", apis.ModifierGroupDetailApi.as_view(), name="modifier-group-detail"),
    path(
        "modifier-groups/<int:group_id>/options/", apis.ModifierGroupOptionsApi.as_view(), name="modifier-group-options"
    ),
    path("modifier-options/<int:option_id>/", apis.ModifierOptionDetailApi.as_view(), name="modifier-option-detail"),
    path("inventory/items/", apis.InventoryItemListApi.as_view(), name="inventory-item-list"),
    path("inventory/items/<int:item_id>/", apis.InventoryItemDetailApi.as_view(), name="inventory-item-detail"),
    path("inventory/items/<int:item_id>/adjust/", apis.InventoryItemAdjustApi.as_view(), name="inventory-item-adjust"),
    path("inventory/suppliers/", apis.SupplierListApi.as_view(), name="supplier-list"),
    path("inventory/suppliers/<int:supplier_id>/", apis.SupplierDetailApi.as_view(), name="supplier-detail"),
    path("inventory/restock-orders/", apis.RestockOrderListApi.as_view(), name="restock-order-list"),
    path(
        "inventory/restock-orders/<int:restock_order_id>/",
        apis.RestockOrderDetailApi.as_view(),
        name="restock-order-detail",
    ),
    path(
        "inventory/restock-orders/<int:restock_order_id>/receive/",
        apis.RestockOrderReceiveApi.as_view(),
        name="restock-order-receive",
    ),
]
