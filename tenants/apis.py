from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from fynlo.core.api import validated
from tenants.identity import ApiCredential
from tenants.permissions import ALL_ROLES, OWNERS, roles
from tenants.selectors import api_token_list, restaurant_get, restaurant_list
from tenants.serializers import (
    ApiTokenSerializer,
    LoginSerializer,
    LogoutFilterSerializer,
    RestaurantSerializer,
    RestaurantUpdateSerializer,
    UserSerializer,
)
from tenants.services import api_token_revoke, restaurant_update, user_login, user_logout
from tenants.throttles import LoginClientThrottle, LoginEmailThrottle


def _token_id(request) -> int | None:
    """The id of the API token a request signed in with (None for a session)."""
    return request.auth.token_id if isinstance(request.auth, ApiCredential) else None


class LoginResponseSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="This login's key: shown once, only its hash is kept.")
    user = UserSerializer()


class LoginApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginClientThrottle, LoginEmailThrottle]

    @extend_schema(request=LoginSerializer, responses={200: LoginResponseSerializer}, summary="Sign in")
    def post(self, request):
        credentials = validated(LoginSerializer, request.data)
        user, key = user_login(request=request._request, **credentials)
        return Response({"token": key, "user": UserSerializer(user).data})


class LogoutApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None, parameters=[LogoutFilterSerializer], responses={204: None},
        summary="Revoke this login's token (?all=true: every token of the user)",
    )
    def post(self, request):
        everywhere = validated(LogoutFilterSerializer, request.query_params.dict())["all"]
        user_logout(user=request.user, token_id=_token_id(request), everywhere=everywhere)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenListApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: ApiTokenSerializer(many=True)}, summary="Your API tokens: one per login")
    def get(self, request):
        tokens = api_token_list(user=request.user)
        return Response(ApiTokenSerializer(tokens, many=True, context={"current_token_id": _token_id(request)}).data)


class TokenDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None}, summary="Revoke one of your API tokens (another device)")
    def delete(self, request, token_id: int):
        api_token_revoke(user=request.user, token_id=token_id)
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
