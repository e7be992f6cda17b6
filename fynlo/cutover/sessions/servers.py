"""Connecting to the source Redis and the target Valkey: URLs, TLS, one-line errors."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from fynlo.cutover.common import CutoverError, first_line

CONNECT_TIMEOUT = 5.0
# long enough for one pipelined batch of large values; a dead server still fails the move
SOCKET_TIMEOUT = 30.0

_SCHEMES = ("redis", "rediss", "unix")
# redis-py says "Error 111 connecting to host:port. Connection refused." -- keep the reason
_CONNECT_PREFIX = re.compile(r"^Error -?\d+ (?:connecting to|while reading from|while writing to) [^ ]+?\.? ")


def url_redacted(url: str) -> str:
    """The URL with its password replaced by ***, for messages and reports."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _reason(error: BaseException) -> str:
    text = first_line(error).rstrip(".")
    return _CONNECT_PREFIX.sub("", text) or text


def server_connect(*, url: str, role: str, ca_file: str | None = None) -> redis.Redis:
    """A checked client for `url` (`role`: "source" or "target"); CutoverError when it cannot be used.

    A CA file for TLS comes from the URL (`?ssl_ca_certs=/path`) or from `ca_file`."""
    shown = url_redacted(url)
    scheme = urlsplit(url).scheme
    if scheme not in _SCHEMES:
        raise CutoverError(f"the {role} URL {shown} must start with redis://, rediss:// or unix://")
    options = {}
    if scheme == "rediss" and ca_file and "ssl_ca_certs" not in parse_qs(urlsplit(url).query):
        options["ssl_ca_certs"] = ca_file
    try:
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=SOCKET_TIMEOUT,
            retry=Retry(NoBackoff(), 0),  # one attempt: a wrong host or password fails at once
            protocol=2,  # what wire.Wire parses (redis-py 8 would otherwise say HELLO 3)
            **options,
        )
    except (ValueError, TypeError) as error:
        raise CutoverError(f"the {role} URL {shown} is not valid: {first_line(error)}") from error
    try:
        client.ping()
    except (redis.RedisError, OSError) as error:
        client.close()
        raise CutoverError(f"cannot connect to the {role} {shown}: {_reason(error)}") from error
    return client


def server_identity(client: redis.Redis) -> tuple[str, int]:
    """(run id, database number): equal for two URLs that reach the same keyspace."""
    info = client.info("server")
    return str(info.get("run_id", "")), int(client.connection_pool.connection_kwargs.get("db", 0) or 0)


def server_name(client: redis.Redis) -> str:
    """"Redis 7.0.15" or "Valkey 9.1.2", for the report."""
    info = client.info("server")
    if info.get("valkey_version"):
        return f"Valkey {info['valkey_version']}"
    if info.get("server_name"):
        return f"{str(info['server_name']).capitalize()} {info.get('redis_version', '')}".strip()
    return f"Redis {info.get('redis_version', '?')}"
