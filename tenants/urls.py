from django.urls import path

from tenants.apis import LoginApi, LogoutApi, MeApi

urlpatterns = [
    path("auth/login", LoginApi.as_view(), name="auth-login"),
    path("auth/logout", LogoutApi.as_view(), name="auth-logout"),
    path("auth/me", MeApi.as_view(), name="auth-me"),
]
