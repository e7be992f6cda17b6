"""Login throttles: per client address and per email (429 past the rate)."""

from rest_framework.throttling import SimpleRateThrottle


class LoginClientThrottle(SimpleRateThrottle):
    scope = "login_client"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginEmailThrottle(SimpleRateThrottle):
    scope = "login_email"

    def get_cache_key(self, request, view):
        email = str(request.data.get("email", "")).strip().lower() if hasattr(request, "data") else ""
        if not email:
            return None
        return self.cache_format % {"scope": self.scope, "ident": email}
