"""Behind PgBouncer in transaction mode: what it refuses (session state, startup options,
server-side prepared statements and cursors, LISTEN, session advisory locks) the project
avoids, its settings say so, and a system check refuses a configuration that would not."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from fynlo.core.db import check_pooler_settings, pooler_messages
from fynlo.env import detect_pooler
from tests.core.test_settings import production_env, settings_in_fresh_process

ROOT = Path(settings.BASE_DIR)
# What the web process runs (the cutover tooling keeps a direct owner connection: DATABASE_OWNER_URL).
RUNTIME_CODE = ["fynlo/core", "fynlo/demo", "fynlo/home.py", "fynlo/urls.py", "tenants", "billing", "inventory", "staff", "pos"]
REFUSED = {
    "a session-level SET": re.compile(r"""["']\s*SET\s+(SESSION\s+)?(?!CONSTRAINTS|LOCAL|TRANSACTION)[\w.]+\s*(=|TO\b)"""),
    "a session-level set_config": re.compile(r"set_config\([^)]*,\s*false\s*\)", re.IGNORECASE),
    "a session advisory lock": re.compile(r"pg_advisory_lock|pg_try_advisory_lock\b", re.IGNORECASE),
    "LISTEN": re.compile(r"""["']\s*LISTEN\s""", re.IGNORECASE),
    "a server-side cursor (QuerySet.iterator)": re.compile(r"\.iterator\("),
    "prepared statements": re.compile(r"prepare_threshold[\"']?\s*[=:]\s*\d|\bPREPARE\s+\w", re.IGNORECASE),
}


def _runtime_files():
    for entry in RUNTIME_CODE:
        path = ROOT / entry
        yield from ([path] if path.is_file() else sorted(path.rglob("*.py")))


def test_the_web_process_keeps_no_session_state_that_pgbouncer_would_hand_to_another_client():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {what}"
        for path in _runtime_files()
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        for what, pattern in REFUSED.items()
        if pattern.search(line) and "SECURITY DEFINER" not in line
    ]
    assert found == []


def test_the_scan_above_finds_what_it_looks_for():
    samples = {
        "a session-level SET": 'cursor.execute("SET lock_timeout = 5")',
        "a session-level set_config": "SELECT set_config('app.current_restaurant_id', '1', false)",
        "a session advisory lock": "SELECT pg_advisory_lock(1)",
        "LISTEN": 'conn.execute("LISTEN orders")',
        "a server-side cursor (QuerySet.iterator)": "for order in Order.objects.iterator():",
        "prepared statements": '"prepare_threshold": 5',
    }
    assert {what for what, line in samples.items() if REFUSED[what].search(line)} == set(REFUSED)
    assert not REFUSED["a session-level SET"].search('"SET CONSTRAINTS ALL DEFERRED"')
    assert not REFUSED["a session advisory lock"].search("pg_advisory_xact_lock(hashtext('x'))")


@pytest.mark.parametrize(
    ("url", "explicit", "expected"),
    [
        ("postgresql://app@db.example.com:25061/pool", None, "pgbouncer"),  # DigitalOcean's pool port
        ("postgresql://app@db.example.com:25060/defaultdb", None, None),  # its direct port
        ("postgresql://app@127.0.0.1:6432/fynlo", "pgbouncer", "pgbouncer"),
        ("postgresql://app@db.example.com:25061/pool", "none", None),
        ("postgresql://app@db.example.com:25061/pool", "PgBouncer", "pgbouncer"),
    ],
)
def test_a_pooler_is_named_or_detected(url, explicit, expected):
    assert detect_pooler(url, explicit) == expected


def test_an_unknown_pooler_is_refused():
    with pytest.raises(ImproperlyConfigured, match="DATABASE_POOLER='pgpool'"):
        detect_pooler("postgresql://app@db:5432/fynlo", "pgpool")


def test_behind_a_pooler_the_runtime_connections_use_no_server_side_cursors_or_prepares():
    env = production_env(DATABASE_POOLER="pgbouncer", DATABASE_REPLICA_URLS="postgresql://app@replica.example.com:25061/pool")

    loaded = settings_in_fresh_process(["DATABASES", "DATABASE_POOLER", "DATABASE_REPLICAS"], env)

    assert loaded["DATABASE_POOLER"] == "pgbouncer"
    assert loaded["DATABASE_REPLICAS"] == ["replica_1"]
    for alias in ("default", "replica_1"):
        assert loaded["DATABASES"][alias]["DISABLE_SERVER_SIDE_CURSORS"] is True
        assert loaded["DATABASES"][alias]["OPTIONS"]["prepare_threshold"] is None
    assert loaded["DATABASES"]["replica_1"]["HOST"] == "replica.example.com"
    assert "DISABLE_SERVER_SIDE_CURSORS" not in loaded["DATABASES"]["owner"]  # the owner's is direct


def _ids(messages) -> set[str]:
    return {message.id for message in messages}


def test_the_check_is_silent_without_a_pooler(settings):
    settings.DATABASE_POOLER = None
    assert check_pooler_settings() == []
    assert pooler_messages(settings.DATABASES, pooler=None, replicas=[]) == []


def test_the_check_refuses_server_side_cursors_and_prepares_behind_a_pooler():
    databases = copy.deepcopy(settings.DATABASES)
    databases["default"]["DISABLE_SERVER_SIDE_CURSORS"] = False
    databases["default"]["OPTIONS"]["prepare_threshold"] = 5
    databases["owner"].update(HOST="db.example.com", PORT="25060")

    messages = pooler_messages(databases, pooler="pgbouncer", replicas=[])

    assert _ids(messages) == {"fynlo.I101", "fynlo.E102", "fynlo.E103"}


def test_the_check_warns_when_the_owner_goes_through_the_pool():
    databases = copy.deepcopy(settings.DATABASES)
    for alias in ("default", "owner"):
        databases[alias].update(HOST="db.example.com", PORT="25061")
    databases["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    databases["default"]["OPTIONS"]["prepare_threshold"] = None

    messages = pooler_messages(databases, pooler="pgbouncer", replicas=[])

    assert _ids(messages) == {"fynlo.I101", "fynlo.W104"}
    assert "25060" in next(m.hint for m in messages if m.id == "fynlo.W104")
