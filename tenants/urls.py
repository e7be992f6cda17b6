from django.urls import path

from tenants.apis import LoginApi, LogoutApi, MeApi, RestaurantDetailApi, RestaurantListApi

urlpatterns = [
    path("auth/login", LoginApi.as_view(), name="auth-login"),
    path("auth/logout", LogoutApi.as_view(), name="auth-logout"),
    path("auth/me", MeApi.as_view(), name="auth-me"),
    path("restaurants/", RestaurantListApi.as_view(), name="restaurant-list"),
    path("restaurants/<int:restaurant_id>/", RestaurantDetailApi.as_view(), name="restaurant-detail"),
]
