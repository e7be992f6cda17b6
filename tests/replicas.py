"""A real streaming replica for the tests: a primary PostgreSQL started from the machine's
binaries (Debian's /usr/lib/postgresql/<version>/bin, else the ones pgserver bundles) in a
temporary folder on a free port, the project migrated on it by the owner role, and a hot
standby made from it with `pg_basebackup -R` on another free port, streaming from it.

Both run as the `postgres` user when the tests run as root (PostgreSQL refuses root), listen
on 127.0.0.1 only and trust local logins (throwaway servers). Where no binaries are found or
the servers do not start, `replica_pair_unavailable` says why, for the skip.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Iterator

import psycopg
from django.conf import settings

from tests.pgbouncer import free_port, hand_over, run_as_user
from tests.processes import command_env

OWNER, RUNTIME, DATABASE = "fynlo_owner", "fynlo_app", "fynlo"
PRIMARY_CONFIG = """
listen_addresses = '127.0.0.1'
unix_socket_directories = '{socket_dir}'
wal_level = replica
max_wal_senders = 4
hot_standby = on
fsync = off
full_page_writes = off
shared_buffers = 32MB
max_connections = 40
"""


@cache
def postgres_bin() -> Path | None:
    """The folder of initdb, pg_ctl and pg_basebackup: the machine's newest, else pgserver's."""
    tools = ("initdb", "pg_ctl", "pg_basebackup", "postgres")
    machine = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    for folder in machine:
        if all((folder / tool).exists() for tool in tools):
            return folder
    try:
        import pgserver
    except ImportError:
        return None
    folder = Path(pgserver.__file__).parent / "pginstall" / "bin"
    return folder if all((folder / tool).exists() for tool in tools) else None


class ReplicaUnavailable(RuntimeError):
    pass


@dataclass
class ReplicaPair:
    bin: Path
    workdir: Path
    primary_port: int
    replica_port: int

    def url(self, role: str, *, replica: bool = False) -> str:
        port = self.replica_port if replica else self.primary_port
        return f"postgresql://{role}@127.0.0.1:{port}/{DATABASE}"

    def database(self, role: str, *, replica: bool = False) -> dict:
        """The parts of a Django DATABASES entry that say where and who."""
        return {
            "HOST": "127.0.0.1", "PORT": str(self.replica_port if replica else self.primary_port),
            "NAME": DATABASE, "USER": role, "PASSWORD": "",
        }

    def superuser(self, *, replica: bool = False) -> psycopg.Connection:
        port = self.replica_port if replica else self.primary_port
        return psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname=DATABASE, autocommit=True)

    def wait_for_replay(self, *, seconds: float = 15) -> None:
        """Until the replica has replayed everything the primary has written so far."""
        with self.superuser() as primary, self.superuser(replica=True) as replica:
            target = primary.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                if replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]).fetchone()[0]:
                    return
                time.sleep(0.02)
        raise AssertionError(f"the replica did not replay up to {target} within {seconds}s")

    def wait_for_receipt(self, *, seconds: float = 15) -> None:
        """Until the replica has received (not necessarily replayed) everything written so far."""
        with self.superuser() as primary, self.superuser(replica=True) as replica:
            target = primary.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                if replica.execute("SELECT pg_last_wal_receive_lsn() >= %s::pg_lsn", [target]).fetchone()[0]:
                    return
                time.sleep(0.02)
        raise AssertionError(f"the replica did not receive up to {target} within {seconds}s")

    @contextmanager
    def replay_paused(self) -> Iterator[None]:
        """The replica keeps receiving WAL but applies none of it: it falls behind."""
        with self.superuser(replica=True) as replica:
            replica.execute("SELECT pg_wal_replay_pause()")
            try:
                yield
            finally:
                replica.execute("SELECT pg_wal_replay_resume()")


def _run(command: list[str], *, user, what: str, timeout: float = 120, env: dict | None = None) -> None:
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=env,
        user=user.pw_uid if user else None, group=user.pw_gid if user else None, check=False,
    )
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ReplicaUnavailable(f"{what} failed ({done.returncode}): {last[0]}")


def _migrate(pair: ReplicaPair) -> None:
    """The project's migrations on the primary, as the owner (the runtime role gets its grants)."""
    env = command_env(DATABASE_URL=pair.url(RUNTIME), DATABASE_OWNER_URL=pair.url(OWNER))
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"migrate on the test primary failed:\n{done.stdout}\n{done.stderr}")


@contextmanager
def running_replica_pair() -> Iterator[ReplicaPair]:
    """A migrated primary and its streaming hot standby, stopped and removed afterwards."""
    folder = postgres_bin()
    if folder is None:
        raise ReplicaUnavailable("no PostgreSQL binaries (initdb, pg_ctl, pg_basebackup) in /usr/lib/postgresql/*/bin or pgserver")
    user = run_as_user()
    workdir = Path(tempfile.mkdtemp(prefix="fynlo-replica-"))
    primary, replica = workdir / "primary", workdir / "replica"
    pair = ReplicaPair(bin=folder, workdir=workdir, primary_port=free_port(), replica_port=free_port())
    started: list[Path] = []
    try:
        hand_over(workdir, user)
        _run([str(folder / "initdb"), "-D", str(primary), "-U", "postgres", "--auth=trust", "--no-sync",
              "-E", "UTF8", "--locale=C"], user=user, what="initdb")
        with open(primary / "postgresql.conf", "a") as conf:
            conf.write(PRIMARY_CONFIG.format(socket_dir=workdir))
        _run([str(folder / "pg_ctl"), "-D", str(primary), "-l", str(workdir / "primary.log"), "-w",
              "-o", f"-p {pair.primary_port}", "start"], user=user, what="starting the primary")
        started.append(primary)
        with psycopg.connect(host="127.0.0.1", port=pair.primary_port, user="postgres", dbname="postgres",
                             autocommit=True) as admin:
            admin.execute(f"CREATE ROLE {OWNER} LOGIN")
            admin.execute(f"CREATE ROLE {RUNTIME} LOGIN NOSUPERUSER NOBYPASSRLS")
            admin.execute(f"CREATE DATABASE {DATABASE} OWNER {OWNER}")
        _migrate(pair)
        _run([str(folder / "pg_basebackup"), "-D", str(replica), "-R", "-X", "stream", "--checkpoint=fast", "--no-sync",
              "-h", "127.0.0.1", "-p", str(pair.primary_port), "-U", "postgres"], user=user, what="pg_basebackup")
        _run([str(folder / "pg_ctl"), "-D", str(replica), "-l", str(workdir / "replica.log"), "-w",
              "-o", f"-p {pair.replica_port}", "start"], user=user, what="starting the replica")
        started.append(replica)
        yield pair
    finally:
        for data in reversed(started):
            subprocess.run(
                [str(folder / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True, timeout=60, check=False,
                user=user.pw_uid if user else None, group=user.pw_gid if user else None,
            )
        shutil.rmtree(workdir, ignore_errors=True)
