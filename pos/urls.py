from django.urls import path

from pos import apis

urlpatterns = [
    path("orders/", apis.OrderListApi.as_view(), name="order-list"),
    path("orders/sync/", apis.OrderSyncApi.as_view(), name="order-sync"),
    path("orders/<int:order_id>/", apis.OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<int:order_id>/status/", apis.OrderStatusApi.as_view(), name="order-status"),
    path("orders/<int:order_id>/receipt", apis.OrderReceiptApi.as_view(), name="order-receipt"),
    path("orders/<int:order_id>/payments/", apis.OrderPaymentApi.as_view(), name="order-payments"),
    path("payments/<int:payment_id>/refunds/", apis.PaymentRefundApi.as_view(), name="payment-refunds"),
]
