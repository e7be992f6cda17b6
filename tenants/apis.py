from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from fynlo.core.api import validated
from tenants.permissions import ALL_ROLES, OWNERS, roles
from tenants.selectors import restaurant_get, restaurant_list
from tenants.serializers import (
    LoginSerializer,
    RestaurantSerializer,
    RestaurantUpdateSerializer,
    UserSerializer,
)
from tenants.services import restaurant_update, user_login, user_logout
from tenants.throttles import LoginClientThrottle, LoginEmailThrottle


class LoginResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    user = UserSerializer()


class LoginApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginClientThrottle, LoginEmailThrottle]

    @extend_schema(request=LoginSerializer, responses={200: LoginResponseSerializer}, summary="Sign in")
    def post(self, request):
        credentials = validated(LoginSerializer, request.data)
        user, token = user_login(request=request._request, **credentials)
        return Response({"token": token.key, "user": UserSerializer(user).data})


class LogoutApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None}, summary="Revoke the token")
    def post(self, request):
        if request.auth:
            user_logout(token_key=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: UserSerializer}, summary="The signed-in user")
    def get(self, request):
        return Response(UserSerializer(request.user).data)


class RestaurantListApi(APIView):
    permission_classes = [roles(read=ALL_ROLES, write=OWNERS)]

    @extend_schema(
        responses={200: RestaurantSerializer(many=True)},
        summary="Restaurants: a platform owner's platform, or the signed-in staff member's own",
    )
    def get(self, request):
        return Response(RestaurantSerializer(restaurant_list(tenant=request.tenant), many=True).data)


class RestaurantDetailApi(APIView):
    permission_classes = [roles(read=ALL_ROLES, write=OWNERS)]

    @extend_schema(responses={200: RestaurantSerializer}, summary="One restaurant, with its settings")
    def get(self, request, restaurant_id: int):
        return Response(RestaurantSerializer(restaurant_get(tenant=request.tenant, restaurant_id=restaurant_id)).data)

    @extend_schema(
        request=RestaurantUpdateSerializer, responses={200: RestaurantSerializer},
        summary="Change a restaurant's profile and settings (owners)",
    )
    def patch(self, request, restaurant_id: int):
        restaurant = restaurant_get(tenant=request.tenant, restaurant_id=restaurant_id)
        values = validated(RestaurantUpdateSerializer, request.data)
        restaurant_update(restaurant=restaurant, new_settings=values.pop("settings", {}), profile=values)
        restaurant = restaurant_get(tenant=request.tenant, restaurant_id=restaurant_id)
        return Response(RestaurantSerializer(restaurant).data)
