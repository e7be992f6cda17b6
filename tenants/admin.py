"""Admin of platforms, their settings, users and permissions; the bases of every Fynlo ModelAdmin.

Platform owners and operations staff share one admin (`tenants.admin_site.site`). Three
walls keep a platform owner inside their platform:

1. row-level security: their requests run under their platform's tenant (tenants.middleware);
2. `scope_for_user`: every admin queryset, foreign-key choice and list filter is also
   filtered to their platform in code;
3. another platform's object does not exist: opening it by URL is a 404, not the admin's
   usual "perhaps it was deleted?" redirect.

The restaurants' admin is billing's (billing/admin.py): its list shows plans, revenue and
commission, and its actions change plans and suspend restaurants through billing.services.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import forms as auth_forms
from django.http import Http404
from django.utils import timezone

from tenants.admin_site import site
from tenants.identity import identify_by_email
from tenants.models import Platform, PlatformSetting, Restaurant, RestaurantSetting, User, UserPermission, UserRole
from tenants.permissions import scope_for_user
from tenants.selectors import SETTING_KEYS, parse_setting


class TenantScopedAdmin(admin.ModelAdmin):
    """A ModelAdmin that shows each user only their scope and answers 404 for the rest."""

    def get_queryset(self, request):
        return scope_for_user(super().get_queryset(request), request.user)

    def get_object(self, request, object_id, from_field=None):
        # Django redirects to the index with "perhaps it was deleted?" when the object is
        # missing; another platform's object is missing, and that must be a plain 404.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with this ID.")
        return obj

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        user = request.user
        queryset = kwargs.get("queryset")
        if queryset is None:
            queryset = self.get_field_queryset(None, db_field, request)
        if queryset is None:
            queryset = db_field.remote_field.model._default_manager.all()
        kwargs["queryset"] = scope_for_user(queryset, user)
        if db_field.name == "platform" and db_field.related_model is Platform and not user.is_superuser:
            # A platform owner's rows belong to their platform: shown, never chosen.
            kwargs["disabled"] = True
            kwargs["initial"] = user.platform_id
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change and any(field.name == "updated_at" for field in obj._meta.concrete_fields):
            obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)

    def get_list_display(self, request):
        """`platform` columns are for operations staff; a platform owner has one platform."""
        columns = super().get_list_display(request)
        if request.user.is_superuser:
            return columns
        return [column for column in columns if column != "platform"]

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if request.user.is_superuser:
            return filters
        return [f for f in filters if f != "platform" and not (isinstance(f, tuple) and f[0] == "platform")]


class ReadOnlyAdmin(TenantScopedAdmin):
    """Rows written only by the application (orders, payments, ledgers): view, never edit."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request):
        return scope_for_user(super().get_queryset(request), request.user)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ScopedChoiceFilter(admin.SimpleListFilter):
    """A list filter over the `model` rows the user may see (never another platform's), by name,
    with the platform beside it for operations staff; it filters on `field`."""

    model = None
    field = ""

    def lookups(self, request, model_admin):
        rows = scope_for_user(self.model.objects.select_related("platform"), request.user).order_by("name", "pk")
        if request.user.is_superuser:
            return [(row.pk, f"{row.name} ({row.platform.name})") for row in rows]
        return [(row.pk, row.name) for row in rows]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{self.field: self.value()})
        return queryset


class RestaurantFilter(ScopedChoiceFilter):
    """The restaurants the user may see, for restaurant-scoped lists."""

    title = "restaurant"
    parameter_name = "restaurant"
    model = Restaurant
    field = "restaurant_id"


# --- Platforms and their settings ----------------------------------------------------------


@admin.register(Platform, site=site)
class PlatformAdmin(TenantScopedAdmin):
    list_display = ("name", "slug", "owner_email", "is_active", "total_restaurants", "created_at")
    list_filter = ("is_active", ("created_at", admin.DateFieldListFilter))
    search_fields = ("name", "slug", "owner_email")
    readonly_fields = ("created_at", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return self.readonly_fields
        return ("slug", "is_active", "total_restaurants", "monthly_revenue", *self.readonly_fields)


@admin.register(PlatformSetting, site=site)
class PlatformSettingAdmin(TenantScopedAdmin):
    list_display = ("setting_key", "setting_value", "setting_type", "platform", "updated_at")
    list_filter = ("setting_type", "platform")
    search_fields = ("setting_key", "setting_value")
    list_select_related = ("platform",)
    fields = ("platform", "setting_key", "setting_value", "setting_type", "created_at", "updated_at")
    readonly_fields = ("created_at", "updated_at")


class RestaurantSettingForm(forms.ModelForm):
    """A setting the restaurants API knows is stored only with a value the API and the till can read."""

    def clean(self):
        cleaned = super().clean()
        key, text = cleaned.get("setting_key"), cleaned.get("setting_value")
        if key in SETTING_KEYS and text and text.strip():
            try:
                parse_setting(key, text)
            except ValueError as error:
                self.add_error("setting_value", str(error))
        return cleaned


@admin.register(RestaurantSetting, site=site)
class RestaurantSettingAdmin(TenantScopedAdmin):
    form = RestaurantSettingForm
    list_display = ("setting_key", "setting_value", "setting_type", "restaurant", "updated_at")
    list_filter = ("setting_type", RestaurantFilter)
    search_fields = ("setting_key", "setting_value", "restaurant__name")
    list_select_related = ("restaurant",)
    autocomplete_fields = ("restaurant",)
    readonly_fields = ("created_at", "updated_at")


# --- Users -----------------------------------------------------------------------------------


class _UserRules:
    """Checks shared by the add and change forms (the database would refuse these with a 500)."""

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"]).strip().lower()
        # Emails are unique across every platform, and another platform's users are invisible
        # here: ask the identity path, which sees them all (and tells only that one exists).
        identity = identify_by_email(email)
        if identity is not None and identity.id != self.instance.pk:
            raise forms.ValidationError("A user with this email already exists.")
        return email

    def clean(self):
        cleaned = super().clean()
        role = cleaned.get("role")
        restaurant = cleaned.get("restaurant")
        platform = cleaned.get("platform")
        if role == UserRole.PLATFORM_OWNER and restaurant is not None:
            self.add_error("restaurant", "A platform owner belongs to a platform, not to a restaurant.")
        elif role and role != UserRole.PLATFORM_OWNER and restaurant is None:
            self.add_error("restaurant", "Restaurant staff need their restaurant.")
        if restaurant is not None:
            if platform is None and "platform" in self.fields and not self.fields["platform"].disabled:
                cleaned["platform"] = restaurant.platform
            elif platform is not None and restaurant.platform_id != platform.pk:
                self.add_error("restaurant", "This restaurant belongs to another platform.")
        elif role == UserRole.PLATFORM_OWNER and platform is None:
            self.add_error("platform", "A platform owner needs their platform.")
        return cleaned


class UserChangeForm(_UserRules, auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes: dict = {}


class UserCreationForm(_UserRules, auth_forms.BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "first_name", "last_name", "phone", "role", "platform", "restaurant")
        field_classes: dict = {}


@admin.register(User, site=site)
class UserAdmin(TenantScopedAdmin, auth_admin.UserAdmin):
    """Users of the platform's restaurants and its owners. Passwords change only through the
    admin's password form; only operations staff make superusers."""

    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ("email", "first_name", "last_name", "role", "restaurant", "platform", "is_active", "last_login")
    list_filter = ("role", "is_active", RestaurantFilter, "platform", ("created_at", admin.DateFieldListFilter))
    list_select_related = ("restaurant", "platform")
    search_fields = ("email", "first_name", "last_name", "phone")
    ordering = ("email",)
    filter_horizontal = ()
    autocomplete_fields = ("restaurant",)
    readonly_fields = ("last_login", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "phone", "profile_image_url")}),
        ("Where they work", {"fields": ("role", "platform", "restaurant")}),
        ("Access", {"fields": ("is_active", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "created_at", "updated_at")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "email", "first_name", "last_name", "phone", "role", "platform", "restaurant",
                    "password1", "password2",
                ),
            },
        ),
    )

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return self.readonly_fields
        # Only operations staff make superusers.
        return (*self.readonly_fields, "is_superuser")


@admin.register(UserPermission, site=site)
class UserPermissionAdmin(ReadOnlyAdmin):
    list_display = ("permission", "user", "restaurant", "granted_at", "granted_by")
    list_filter = (RestaurantFilter,)
    search_fields = ("permission", "user__email")
    list_select_related = ("user", "restaurant", "granted_by")
