from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from fynlo.core.api import ApiError
from tenants.errors import TenantsError
from tenants.throttles import LoginClientThrottle, LoginEmailThrottle
from tenants.serializers import LoginSerializer, UserSerializer
from tenants.services import user_login, user_logout


class LoginResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    user = UserSerializer()


class LoginApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginClientThrottle, LoginEmailThrottle]

    @extend_schema(request=LoginSerializer, responses={200: LoginResponseSerializer}, summary="Sign in")
    def post(self, request):
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            user, token = user_login(request=request._request, **serializer.validated_data)
        except TenantsError as error:
            raise ApiError(error.code, error.message, status=error.status) from error
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
