"""Debian packages the tests need (Chromium, PgBouncer): installed with apt-get when missing and
running as root, as on CI; otherwise the reason they cannot be had, for a skip that says why."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable

APT_TIMEOUT = 900  # seconds, for update + install on a fresh machine


def _apt(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["apt-get", *args],
        capture_output=True,
        text=True,
        timeout=APT_TIMEOUT,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        check=False,
    )


def apt_unavailable(packages: tuple[str, ...], ready: Callable[[], bool], what: str) -> str | None:
    """None when `ready()` (installing `packages` first if not, as root); otherwise why `what`
    (e.g. "/usr/sbin/pgbouncer") is missing."""
    if ready():
        return None
    if os.geteuid() != 0:
        return f"{what} is missing and installing {' '.join(packages)} needs root"
    if shutil.which("apt-get") is None:
        return f"{what} is missing and there is no apt-get to install {' '.join(packages)}"
    try:
        for args in (("update", "-qq"), ("install", "-y", "-qq", *packages)):
            done = _apt(*args)
            if done.returncode != 0:
                last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
                return f"`apt-get {' '.join(args)}` failed ({done.returncode}): {last[0]}"
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"installing {' '.join(packages)} failed: {error}"
    if not ready():
        return f"{' '.join(packages)} installed, yet {what} is missing"
    return None
