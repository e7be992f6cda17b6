from django.urls import path

from tenants.apis import (
    LoginApi,
    LogoutApi,
    MeApi,
    RestaurantDetailApi,
    RestaurantListApi,
    TokenDetailApi,
    TokenListApi,
)

urlpatterns = [
    path("auth/login", LoginApi.as_view(), name="auth-login"),
    path("auth/logout", LogoutApi.as_view(), name="auth-logout"),
    path("auth/me", MeApi.as_view(), name="auth-me"),
    path("auth/tokens/", TokenListApi.as_view(), name="auth-token-list"),
    path("auth/tokens/<int:token_id>/", TokenDetailApi.as_view(), name="auth-token-detail"),
    path("restaurants/", RestaurantListApi.as_view(), name="restaurant-list"),
    path("restaurants/<int:restaurant_id>/", RestaurantDetailApi.as_view(), name="restaurant-detail"),
]
