"""A real PgBouncer in transaction mode (Debian's `pgbouncer`, as DigitalOcean's connection pools
run it), started by the tests on a free port in front of the test database.

When /usr/sbin/pgbouncer is missing it is installed with apt-get (as root, as on CI); where it
cannot be had, the tests that need it are skipped saying why. PgBouncer refuses to run as root:
as root it is started as the `postgres` user (else `nobody`).

- `running_pgbouncer(pool_size=...)`: a PgBouncer in front of the test database's server;
- `routed_through(bouncer)`: the runtime role's connections (alias `default`) go through it
  for a block (the owner's stay direct, as in production);
- `FYNLO_TEST_PGBOUNCER=1` (`make test-pgbouncer`): the whole run's `default` goes through one.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Iterator

from django.db import connections

from tests.apt import apt_unavailable

PGBOUNCER = Path("/usr/sbin/pgbouncer")
APT_PACKAGES = ("pgbouncer",)
POOL_SIZE = 4  # server connections per (database, role): fewer than the tests' threads
START_SECONDS = 15


@cache
def pgbouncer_unavailable() -> str | None:
    """None when PgBouncer is there (installed first if missing and root); else why not."""
    return apt_unavailable(APT_PACKAGES, PGBOUNCER.exists, str(PGBOUNCER))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, seconds: float, process: subprocess.Popen | None = None) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def run_as_user() -> pwd.struct_passwd | None:
    """The unprivileged user a root test run starts servers as (PgBouncer and PostgreSQL refuse root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root, and there is neither a postgres nor a nobody user to run servers as")


def hand_over(path: Path, user: pwd.struct_passwd | None) -> None:
    """Give a private folder (and what is in it) to the user a server runs as."""
    if user is None:
        return
    for item in [path, *path.rglob("*")]:
        os.chown(item, user.pw_uid, user.pw_gid)


@dataclass
class PgBouncer:
    port: int
    pool_size: int
    workdir: Path
    process: subprocess.Popen
    host: str = "127.0.0.1"

    def log(self) -> str:
        path = self.workdir / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextmanager
def running_pgbouncer(*, pool_size: int = POOL_SIZE) -> Iterator[PgBouncer]:
    """A PgBouncer in transaction mode in front of the test database's server, on a free port.

    Clients are trusted (it listens on 127.0.0.1 only); it logs in to PostgreSQL with the
    passwords the settings hold for the runtime and owner roles."""
    reason = pgbouncer_unavailable()
    if reason:
        raise PgBouncerUnavailable(reason)
    server = connections["owner"].settings_dict
    users = {
        config["USER"]: config["PASSWORD"] or ""
        for config in (connections["default"].settings_dict, server) if config["USER"]
    }
    workdir = Path(tempfile.mkdtemp(prefix="fynlo-pgbouncer-"))
    port = free_port()
    (workdir / "userlist.txt").write_text(
        "".join(f'"{user}" "{password}"\n' for user, password in users.items())
    )
    (workdir / "pgbouncer.ini").write_text(f"""\
[databases]
* = host={server["HOST"] or "127.0.0.1"} port={server["PORT"] or 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {workdir / "userlist.txt"}
pool_mode = transaction
default_pool_size = {pool_size}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 500
max_db_connections = 0
server_login_retry = 1
query_wait_timeout = 60
logfile = {workdir / "pgbouncer.log"}
""")
    user = run_as_user()
    hand_over(workdir, user)
    command = [str(PGBOUNCER), str(workdir / "pgbouncer.ini")]
    if user is not None:
        command[1:1] = ["-u", user.pw_name]
    # Its stderr goes to a file, not a pipe: it logs every login there as well as to its logfile,
    # and a pipe nobody reads fills after some two hundred connections, its next write blocks, and with it
    # the whole single-process PgBouncer (every client then waits, new ones time out).
    with open(workdir / "stderr.log", "wb") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
    bouncer = PgBouncer(port=port, pool_size=pool_size, workdir=workdir, process=process)
    try:
        if not wait_for_port(port, seconds=START_SECONDS, process=process):
            process.kill()
            process.wait(timeout=5)
            output = (workdir / "stderr.log").read_text(errors="replace") + bouncer.log()
            last = output.strip().splitlines()[-1:] or ["no output"]
            raise PgBouncerUnavailable(f"pgbouncer did not start on port {port}: {last[0]}")
        yield bouncer
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


class PgBouncerUnavailable(RuntimeError):
    pass


@contextmanager
def routed_through(bouncer: PgBouncer, alias: str = "default") -> Iterator[PgBouncer]:
    """New connections of `alias` (in every thread) go through the PgBouncer for the block, with
    the settings the project uses behind a pooler (DATABASE_POOLER)."""
    config = connections[alias].settings_dict
    saved = {key: config.get(key) for key in ("HOST", "PORT", "DISABLE_SERVER_SIDE_CURSORS")}
    connections[alias].close()
    config.update(HOST=bouncer.host, PORT=str(bouncer.port), DISABLE_SERVER_SIDE_CURSORS=True)
    try:
        yield bouncer
    finally:
        connections[alias].close()
        config.update(saved)

