"""Platforms, restaurants, their settings, users and permissions; the tenant-scoped bases.

Every model declares its tenant scope with the class attribute `tenant_scope`:

- "restaurant": the row belongs to one restaurant (`restaurant_id`); most tables.
- "platform": the row belongs to one platform (`platform_id`).
- "platform_row": the platforms table itself (scoped by its own id).
- "restaurant_row": the restaurants table itself (its own id, or its platform).
- "user": the users table (its restaurant, or its platform for platform owners).

A model without a scope must be listed in `tenants.scope.GLOBAL_TABLES`; a test fails
otherwise. The row-level security policies for each scope live in `tenants.rls`.
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower, Now

from fynlo.core.fields import URLTextField


class TenantScope:
    RESTAURANT = "restaurant"
    PLATFORM = "platform"
    PLATFORM_ROW = "platform_row"
    RESTAURANT_ROW = "restaurant_row"
    USER = "user"


class RestaurantScopedModel(models.Model):
    """A row that belongs to one restaurant; RLS keeps it inside that restaurant."""

    tenant_scope = TenantScope.RESTAURANT

    restaurant = models.ForeignKey(
        "tenants.Restaurant", on_delete=models.CASCADE, db_column="restaurant_id", related_name="+"
    )

    class Meta:
        abstract = True


class PlatformScopedModel(models.Model):
    """A row that belongs to one platform; RLS keeps it inside that platform."""

    tenant_scope = TenantScope.PLATFORM

    platform = models.ForeignKey(
        "tenants.Platform", on_delete=models.CASCADE, db_column="platform_id", related_name="+"
    )

    class Meta:
        abstract = True


class SettingType(models.TextChoices):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    JSON = "json"


class Platform(models.Model):
    tenant_scope = TenantScope.PLATFORM_ROW

    name = models.CharField(max_length=255)
    slug = models.CharField(max_length=100, unique=True)
    owner_email = models.CharField(max_length=255)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())
    is_active = models.BooleanField(db_default=True)
    total_restaurants = models.IntegerField(db_default=0)
    monthly_revenue = models.DecimalField(max_digits=12, decimal_places=2, db_default=0)

    class Meta:
        db_table = "platforms"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class PlatformSetting(PlatformScopedModel):
    setting_key = models.CharField(max_length=100)
    setting_value = models.TextField(null=True, blank=True)
    setting_type = models.CharField(max_length=50, choices=SettingType.choices, db_default="string")
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "platform_settings"
        constraints = [
            models.UniqueConstraint(fields=["platform", "setting_key"], name="platform_settings_platform_key_uniq"),
        ]

    def __str__(self) -> str:
        return self.setting_key


class Restaurant(models.Model):
    tenant_scope = TenantScope.RESTAURANT_ROW

    platform = models.ForeignKey(
        Platform, on_delete=models.CASCADE, db_column="platform_id", related_name="restaurants", db_index=False
    )
    name = models.CharField(max_length=255)
    slug = models.CharField(max_length=100)
    business_type = models.CharField(max_length=100, db_default="restaurant")
    address = models.TextField(null=True, blank=True)
    phone = models.CharField(max_length=50, null=True, blank=True)
    email = models.CharField(max_length=255, null=True, blank=True)
    tax_number = models.CharField(max_length=100, null=True, blank=True)
    logo_url = URLTextField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())
    is_active = models.BooleanField(db_default=True)
    subscription_tier = models.CharField(max_length=50, db_default="basic")
    monthly_revenue = models.DecimalField(max_digits=12, decimal_places=2, db_default=0)
    last_activity = models.DateTimeField(null=True, blank=True, db_default=Now())

    class Meta:
        db_table = "restaurants"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "slug"], name="restaurants_platform_slug_uniq"),
        ]
        indexes = [
            models.Index(fields=["platform"], name="idx_restaurants_platform_id"),
            models.Index(fields=["is_active"], name="idx_restaurants_active"),
        ]

    def __str__(self) -> str:
        return self.name


class RestaurantSetting(RestaurantScopedModel):
    setting_key = models.CharField(max_length=100)
    setting_value = models.TextField(null=True, blank=True)
    setting_type = models.CharField(max_length=50, choices=SettingType.choices, db_default="string")
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "restaurant_settings"
        constraints = [
            models.UniqueConstraint(
                fields=["restaurant", "setting_key"], name="restaurant_settings_restaurant_key_uniq"
            ),
        ]

    def __str__(self) -> str:
        return self.setting_key


class UserRole(models.TextChoices):
    PLATFORM_OWNER = "platform_owner", "Platform owner"
    RESTAURANT_OWNER = "restaurant_owner", "Restaurant owner"
    MANAGER = "manager", "Manager"
    CASHIER = "cashier", "Cashier"
    SERVER = "server", "Server"
    COOK = "cook", "Cook"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        if not email:
            raise ValueError("users need an email")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.setdefault("role", UserRole.PLATFORM_OWNER)
        fields.setdefault("first_name", "Operations")
        fields.setdefault("last_name", "Staff")
        fields["is_superuser"] = True
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser):
    """A person who signs in: platform owner, restaurant staff, or operations (superuser)."""

    tenant_scope = TenantScope.USER

    restaurant = models.ForeignKey(
        Restaurant,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        db_column="restaurant_id",
        related_name="users",
        db_index=False,  # the guide's idx_users_restaurant_id is the index
    )
    platform = models.ForeignKey(
        Platform, null=True, blank=True, on_delete=models.CASCADE, db_column="platform_id", related_name="users"
    )
    email = models.CharField(max_length=255, unique=True)
    password = models.CharField(max_length=255, db_column="password_hash")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    phone = models.CharField(max_length=50, null=True, blank=True)
    role = models.CharField(max_length=50, choices=UserRole.choices)
    is_active = models.BooleanField(db_default=True)
    is_superuser = models.BooleanField(db_default=False)
    profile_image_url = URLTextField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        db_table = "users"
        ordering = ["id"]
        constraints = [
            # emails are compared case-insensitively at login, so they must be unique that way
            models.UniqueConstraint(Lower("email"), name="users_email_ci_uniq"),
            models.CheckConstraint(
                condition=(Q(role="platform_owner") & Q(restaurant__isnull=True))
                | (~Q(role="platform_owner") & Q(restaurant__isnull=False)),
                name="users_tenant_check",
            ),
        ]
        indexes = [
            models.Index(fields=["restaurant"], name="idx_users_restaurant_id"),
            models.Index(fields=["created_at"], name="idx_users_created_at"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_staff(self) -> bool:
        """Admin access: operations staff and platform owners."""
        return self.is_active and (self.is_superuser or self.role == UserRole.PLATFORM_OWNER)

    @property
    def is_platform_owner(self) -> bool:
        return self.role == UserRole.PLATFORM_OWNER and not self.is_superuser

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name

    def has_perm(self, perm: str, obj=None) -> bool:
        if not self.is_active:
            return False
        if self.is_superuser:
            return True
        from tenants.permissions import platform_owner_has_perm

        return self.role == UserRole.PLATFORM_OWNER and platform_owner_has_perm(perm)

    def has_perms(self, perm_list, obj=None) -> bool:
        return all(self.has_perm(perm, obj) for perm in perm_list)

    def has_module_perms(self, app_label: str) -> bool:
        if not self.is_active:
            return False
        if self.is_superuser:
            return True
        from tenants.permissions import platform_owner_has_module

        return self.role == UserRole.PLATFORM_OWNER and platform_owner_has_module(app_label)

    def check_password(self, raw_password: str) -> bool:
        """Check a password; a legacy bcrypt hash ($2a$/$2b$/$2y$) is verified and upgraded."""
        from tenants.passwords import is_legacy_bcrypt, verify_legacy_bcrypt

        if is_legacy_bcrypt(self.password):
            if not verify_legacy_bcrypt(raw_password, self.password):
                return False
            self.set_password(raw_password)
            if self.pk:
                self.save(update_fields=["password"])
            return True
        return super().check_password(raw_password)


class UserPermission(RestaurantScopedModel):
    """A named permission (`inventory.read`, `employees.write`) granted to a restaurant user."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, db_column="user_id", related_name="permissions")
    permission = models.CharField(max_length=100)
    granted_at = models.DateTimeField(db_default=Now())
    granted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, db_column="granted_by", related_name="+"
    )

    class Meta:
        db_table = "user_permissions"
        constraints = [
            models.UniqueConstraint(fields=["user", "permission"], name="user_permissions_user_permission_uniq"),
        ]

    def __str__(self) -> str:
        return self.permission


class ApiToken(models.Model):
    """One API sign-in (a till, a phone): a user holds one per login, and logging out ends
    only that one. Only the SHA-256 of the key is stored; the key is shown once, at login.

    A global table (tenants.scope.GLOBAL_TABLES): a key is looked up before any tenant is
    known, through the identity path's SECURITY DEFINER function, and otherwise tokens are
    read and revoked only as the signed-in user's own (by user_id)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, db_column="user_id", related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    device = models.CharField(max_length=100, blank=True, db_default="")
    created_at = models.DateTimeField(db_default=Now())
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "api_tokens"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.device or 'token'} {self.pk}"
