"""Legacy password hashes: bare bcrypt ($2a$, $2b$, $2y$) as the old backend stored them."""

from __future__ import annotations

import re

import bcrypt

_LEGACY_BCRYPT = re.compile(r"^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$")


def is_legacy_bcrypt(encoded: str | None) -> bool:
    return bool(encoded) and bool(_LEGACY_BCRYPT.match(encoded))


def verify_legacy_bcrypt(raw_password: str, encoded: str) -> bool:
    """Check a password against a bare bcrypt hash (bcrypt reads at most 72 bytes)."""
    if raw_password is None:
        return False
    candidate = raw_password.encode("utf-8")[:72]
    stored = encoded.encode("ascii")
    if stored.startswith(b"$2y$"):
        stored = b"$2b$" + stored[4:]  # same algorithm, PHP's name for it
    try:
        return bcrypt.checkpw(candidate, stored)
    except ValueError:
        return False
