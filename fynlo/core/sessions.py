"""Sessions on Valkey that fail loudly: Django's cache session store treats an unreachable
cache as "no session", so a signed-in user would silently become anonymous. Here it is a
`CacheUnavailable` error, which the tenant middleware and the API's error handler turn into
a quick 503 (fynlo.core.api.CACHE_UNAVAILABLE)."""

from __future__ import annotations

from django.contrib.sessions.backends.cache import SessionStore as CacheSessionStore
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

CACHE_ERRORS = (RedisConnectionError, RedisTimeoutError)


class CacheUnavailable(Exception):
    """Valkey (cache and sessions) did not answer."""


class SessionStore(CacheSessionStore):
    def load(self):
        try:
            session_data = self._cache.get(self.cache_key)
        except CACHE_ERRORS as error:
            raise CacheUnavailable(str(error)) from error
        except Exception:
            session_data = None  # e.g. an invalid key: reset the session, as Django does
        if session_data is not None:
            return session_data
        self._session_key = None
        return {}
