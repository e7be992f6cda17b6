"""The README's API examples are scripts/api_examples.sh: the README shows its blocks verbatim, and
the script runs against a served demo (the legacy import and seed_demo, as `make demo` loads them,
behind a real HTTP server), every step answering what the README says."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command

ROOT = Path(settings.BASE_DIR)
SCRIPT = ROOT / "scripts" / "api_examples.sh"
BLOCK_IN_README = re.compile(r"^<!-- scripts/api_examples\.sh: (\w+) -->\n```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)
BLOCK_IN_SCRIPT = re.compile(r"^# == (\w+)\n", re.MULTILINE)
# curl reads CURL_HOME/.curlrc: every request of the script reports its method, address and status.
CURLRC = 'write-out = "%{stderr}step: %{method} %{url_effective} %{http_code}\\n"\n'

EXPECTED_STEPS = [
    "POST /api/v1/auth/login 200",
    "GET /api/v1/auth/me 200",
    "POST /api/v1/auth/login 200",
    "POST /api/v1/auth/login 200",
    "POST /api/v1/auth/login 200",
    "POST /api/v1/auth/logout 204",
    "GET /api/v1/auth/tokens/ 200",
    "GET /api/v1/auth/tokens/ 200",
    "DELETE /api/v1/auth/tokens/{id}/ 204",
    "POST /api/v1/auth/logout?all=true 204",
    "GET /api/v1/products/?available_in_pos=true 200",
    "POST /api/v1/orders/ 201",
    "POST /api/v1/orders/ 201",  # the retry, answered from the first response
    "POST /api/v1/auth/login 200",
    "POST /api/v1/orders/{id}/status/ 200",
    "POST /api/v1/orders/{id}/status/ 200",
    "POST /api/v1/orders/{id}/payments/ 201",
    "POST /api/v1/payments/{id}/refunds/ 201",
    "GET /api/v1/inventory/items/?low_stock=true 200",
    "GET /api/v1/inventory/items/ 200",
    "POST /api/v1/inventory/items/{id}/adjust/ 201",
    "POST /api/v1/products/{id}/image 200",
    "GET /media/restaurants/{id}/products/{key}.png 200",
    "POST /api/v1/auth/login 200",
    "GET /api/v1/restaurants/ 200",
    "PATCH /api/v1/restaurants/{id}/ 200",
    "POST /api/v1/staff/employees/ 201",
    "POST /api/v1/staff/schedules/ 201",
    "POST /api/v1/staff/shifts/ 201",
    "POST /api/v1/auth/login 200",
    "POST /api/v1/staff/clock-in/ 201",
    "POST /api/v1/staff/break-start/ 200",
    "POST /api/v1/staff/break-end/ 200",
    "POST /api/v1/staff/clock-out/ 200",
    "GET /api/v1/reports/daily/?date={date} 200",
    "GET /api/v1/products/?available_in_pos=true 200",
    "GET /api/v1/products/?available_in_pos=true 200",
    "GET /api/v1/products/?available_in_pos=true 200",
    "GET /api/v1/products/?available_in_pos=true 200",
    "POST /api/v1/auth/login 200",
    "POST /api/v1/orders/ 201",
    "PATCH /api/v1/orders/{id}/ 200",
    "PATCH /api/v1/orders/{id}/ 409",
    "GET /api/v1/orders/{id}/ 200",
    "POST /api/v1/orders/{id}/payments/ 201",
    "PATCH /api/v1/restaurants/{id}/ 200",
    "POST /api/v1/orders/ 201",
    "PATCH /api/v1/restaurants/{id}/ 200",
    "GET /api/v1/reports/daily/ 200",
    "POST /api/v1/auth/login 200",
    "POST /api/v1/drawers/ 201",
    "POST /api/v1/orders/sync/ 200",
    "POST /api/v1/orders/sync/ 200",  # sent again: already present
    "GET /api/v1/orders/?updated_since={since}&page_size=1 200",
    "GET /api/v1/orders/?cursor={cursor}&page_size=1&updated_since={since} 200",
    "POST /api/v1/drawers/{id}/entries/ 201",
    "POST /api/v1/drawers/{id}/entries/ 201",
    "GET /api/v1/reports/x/?drawer={id} 200",
    "POST /api/v1/drawers/{id}/close/ 200",
    "POST /api/v1/reports/z/ 201",
]


def script_blocks() -> dict[str, str]:
    header, *parts = BLOCK_IN_SCRIPT.split(SCRIPT.read_text())
    assert all(line.startswith("#") or line in ("", "set -euo pipefail") for line in header.splitlines()), header
    return {name: body.strip("\n") + "\n" for name, body in zip(parts[::2], parts[1::2])}


def test_the_readme_shows_every_block_of_the_script_verbatim():
    readme = {name: body for name, body in BLOCK_IN_README.findall((ROOT / "README.md").read_text())}
    script = script_blocks()

    assert list(script) == ["setup", "auth", "orders", "restaurants", "till", "till_day"]
    assert readme == script


@pytest.fixture
def served_demo(live_server, settings, tmp_path, monkeypatch):
    """The demo as `make demo` loads it: a generated legacy export imported first, then seed_demo."""
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.delete_pattern("throttle_login_*")
    quiet = {"stdout": StringIO(), "stderr": StringIO()}
    call_command("generate_legacy_export", str(tmp_path / "export"), "--orders", "20", "--seed", "7", **quiet)
    call_command("migrate_legacy", str(tmp_path / "export"), "--timezone", "UTC",
                 "--rejects", str(tmp_path / "rejects"), **quiet)
    call_command("seed_demo", **quiet)
    return live_server.url


def run_script(base_url: str, home: Path) -> subprocess.CompletedProcess:
    (home / ".curlrc").write_text(CURLRC)
    env = {key: value for key, value in os.environ.items() if key != "DEMO_PASSWORD"}
    env.update(FYNLO_URL=base_url, CURL_HOME=str(home), TMPDIR=str(home))
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=180)


def steps(stderr: str, base_url: str) -> list[str]:
    found = []
    for line in stderr.splitlines():
        if line.startswith("step: "):
            step = line.removeprefix("step: ").replace(base_url, "")
            step = re.sub(r"/[0-9a-f]{32}\.", "/{key}.", step)
            step = re.sub(r"date=\d{4}-\d{2}-\d{2}", "date={date}", step)
            step = re.sub(r"updated_since=[^&\s]+", "updated_since={since}", step)
            step = re.sub(r"cursor=[^&\s]+", "cursor={cursor}", step)
            step = re.sub(r"drawer=\d+", "drawer={id}", step)
            found.append(re.sub(r"/\d+/", "/{id}/", re.sub(r"/\d+/image", "/{id}/image", step)))
    return found


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed (Debian: apt-get install curl)")
@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
def test_the_examples_run_against_the_served_demo(served_demo, tmp_path):
    result = run_script(served_demo, tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert steps(result.stderr, served_demo) == EXPECTED_STEPS, result.stderr
    # the amounts the README's comments show are the demo's
    order = re.search(r'^\{"id":\d+.*?"subtotal":"([\d.]+)".*?"total_amount":"([\d.]+)"', result.stdout, re.M)
    assert order and order.groups() == ("12.50", "16.56"), result.stdout
    assert '"tendered":"20.00","change":"3.44"' in result.stdout, result.stdout
    # the till's: a tab with modifiers, edited, tipped; an order with VAT included
    tab = re.search(r'^\{"id":\d+.*?"Extra guacamole","price":"1.50","quantity":2.*$', result.stdout, re.M)
    assert tab and re.search(r'"subtotal":"22.00","discount_amount":"0.00","tax_amount":"4.40","vat_label":"VAT",'
                             r'"service_charge":"2.75","total_amount":"29.15"', tab.group(0)), result.stdout
    assert re.search(r'"amount":"33.79","tip_amount":"4.00",.*"commission_amount":"2.70"', result.stdout), result.stdout
    assert re.search(r'"subtotal":"8.00","discount_amount":"0.80","tax_amount":"1.20","vat_label":"VAT included",'
                     r'"service_charge":"0.75","total_amount":"7.95"', result.stdout), result.stdout
