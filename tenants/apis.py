from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.errors import TenantsError
from tenants.serializers import LoginSerializer, UserSerializer
from tenants.services import user_login, user_logout


class LoginApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def post(self, request):
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            user, token = user_login(request=request._request, **serializer.validated_data)
        except TenantsError as error:
            return Response({"code": error.code, "detail": error.message}, status=error.status)
        return Response({"token": token.key, "user": UserSerializer(user).data})


class LogoutApi(APIView):
    permission_classes = [IsAuthenticated]

    def post(self, request):
        if request.auth:
            user_logout(token_key=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response(UserSerializer(request.user).data)
