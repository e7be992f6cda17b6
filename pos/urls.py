from django.urls import path

from pos import apis, drawer_apis

urlpatterns = [
    path("orders/", apis.OrderListApi.as_view(), name="order-list"),
    path("orders/sync/", apis.OrderSyncApi.as_view(), name="order-sync"),
    path("orders/<int:order_id>/", apis.OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<int:order_id>/status/", apis.OrderStatusApi.as_view(), name="order-status"),
    path("orders/<int:order_id>/receipt", apis.OrderReceiptApi.as_view(), name="order-receipt"),
    path("orders/<int:order_id>/payments/", apis.OrderPaymentApi.as_view(), name="order-payments"),
    path("payments/<int:payment_id>/refunds/", apis.PaymentRefundApi.as_view(), name="payment-refunds"),
    path("drawers/", drawer_apis.DrawerListApi.as_view(), name="drawer-list"),
    path("drawers/<int:drawer_id>/", drawer_apis.DrawerDetailApi.as_view(), name="drawer-detail"),
    path("drawers/<int:drawer_id>/close/", drawer_apis.DrawerCloseApi.as_view(), name="drawer-close"),
    path("drawers/<int:drawer_id>/entries/", drawer_apis.DrawerEntryApi.as_view(), name="drawer-entries"),
]
