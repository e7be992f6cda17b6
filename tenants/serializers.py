from rest_framework import serializers

from tenants.models import User


class LoginSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, write_only=True)


class UserSerializer(serializers.ModelSerializer):
    restaurant_id = serializers.IntegerField(read_only=True)
    platform_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "role", "restaurant_id", "platform_id"]
        read_only_fields = fields
