"""A real headless Chromium for browser tests: Selenium driving Debian's chromium and chromedriver.

Import the fixtures into a test module (`from tests.browser import browser, chromium  # noqa: F401`)
and mark the tests `@pytest.mark.browser`. When /usr/bin/chromium or /usr/bin/chromedriver is
missing, the first browser test installs them (`apt-get update && apt-get install -y chromium
chromium-driver`, as root, as on CI). Where no Chromium can be had, the tests are skipped with
a message that says why: never passed without a browser.

Screenshots go to `artifacts/` (git-ignored) at the top of the checkout.
"""

from __future__ import annotations

import shutil
import tempfile
from functools import cache
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests.apt import apt_unavailable

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(django_settings.BASE_DIR) / "artifacts"
APT_PACKAGES = ("chromium", "chromium-driver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
)
WAIT_SECONDS = 15


def _ready() -> bool:
    return CHROMIUM.exists() and CHROMEDRIVER.exists()


@cache
def chromium_unavailable() -> str | None:
    """None when Chromium and its driver are there (installing them if missing and root);
    otherwise the reason there is no browser."""
    return apt_unavailable(APT_PACKAGES, _ready, f"{CHROMIUM} or {CHROMEDRIVER}")


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the session (a new, empty profile)."""
    reason = chromium_unavailable()
    if reason:
        pytest.skip(f"no Chromium for the browser tests: {reason}")
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("no Chromium for the browser tests: the selenium package is not installed")

    profile = tempfile.mkdtemp(prefix="fynlo-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    try:
        driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    except WebDriverException as error:
        shutil.rmtree(profile, ignore_errors=True)
        message = (error.msg or str(error)).strip().splitlines()[0]
        pytest.skip(f"no Chromium for the browser tests: it would not start: {message}")
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def browser(chromium, settings):
    """The session's Chromium with no cookies, against plain-HTTP test servers."""
    from django.db import connections

    # The live server speaks HTTP: cookies must not be Secure-only, nothing may redirect to HTTPS.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_SSL_REDIRECT = False
    # The live server's request threads live as long as the browser's keep-alive sockets; their
    # database connections must close with each request, or they outlive the test database.
    max_ages = {alias: connections.settings[alias].get("CONN_MAX_AGE", 0) for alias in connections.settings}
    for alias in max_ages:
        connections.settings[alias]["CONN_MAX_AGE"] = 0
    chromium.delete_all_cookies()
    try:
        yield chromium
    finally:
        chromium.delete_all_cookies()
        for alias, max_age in max_ages.items():
            connections.settings[alias]["CONN_MAX_AGE"] = max_age


def wait_for(driver, css: str, *, seconds: float = WAIT_SECONDS):
    """The first element matching `css`, once it is there."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def screenshot(driver, name: str) -> Path:
    """Save a PNG of the page under artifacts/ and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if not driver.save_screenshot(str(path)):
        raise AssertionError(f"Chromium did not save the screenshot {path}")
    return path
