"""`manage.py rewrite_storage_urls`: prefix-anchored, exact host, dry run, object check in a
real S3-compatible server (moto in server mode), undo log, idempotent, as the owner role."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from fynlo.cutover.storage_urls import Prefix, TextRewriter, prefix_parse, url_columns
from inventory.models import Product
from pos.models import Order
from tenants.context import tenant_context
from tenants.models import PlatformSetting, Restaurant, RestaurantSetting, User
from tests.s3 import CDN_DOMAIN, s3_server, spaces_cdn_settings, spaces_settings  # noqa: F401
from tests.tenants.factories import PlatformFactory, RestaurantFactory, UserFactory

OLD = "https://old-storage-domain.com"
NEW = "https://cdn.fynlo.test/"

# (stored value, value after `--from https://old-storage-domain.com --to https://cdn.fynlo.test/`)
COLUMN_CASES = [
    (f"{OLD}/a.png", "https://cdn.fynlo.test/a.png"),
    (f"{OLD}/restaurants/1/products/x%20y.png?v=2", "https://cdn.fynlo.test/restaurants/1/products/x%20y.png?v=2"),
    ("https://OLD-Storage-Domain.COM/Menu/B.PNG", "https://cdn.fynlo.test/Menu/B.PNG"),  # host in any case
    ("HTTPS://old-storage-domain.com/c.png", "https://cdn.fynlo.test/c.png"),  # scheme in any case
    (OLD, "https://cdn.fynlo.test"),  # the bare prefix
    (f"{OLD}/", "https://cdn.fynlo.test/"),
    (f"{OLD}/a.png?next={OLD}/b.png", f"https://cdn.fynlo.test/a.png?next={OLD}/b.png"),  # only the prefix
    (f'{OLD}/é "quoted", comma\nnew line\r\\.png', 'https://cdn.fynlo.test/é "quoted", comma\nnew line\r\\.png'),
    ("https://old-storage-domain.com.evil.net/a.png", None),  # another host
    ("https://old-storage-domain.community/a.png", None),
    ("https://old-storage-domain.com:8443/a.png", None),  # another port
    ("https://user@old-storage-domain.com/a.png", None),
    (f"https://cdn.example.com/?u={OLD}/a.png", None),  # the prefix inside another URL
    (f" {OLD}/a.png", None),  # not at the start
    ("http://old-storage-domain.com/a.png", None),  # http was not given
    ("https://cdn.fynlo.test/a.png", None),  # already rewritten
    ("", None),
]


def run(*args: str) -> str:
    out = StringIO()
    call_command("rewrite_storage_urls", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def lines(out: str) -> list[str]:
    """The output's lines with runs of spaces collapsed (the summary aligns its columns)."""
    return [" ".join(line.split()) for line in out.splitlines()]


def run_failing(*args: str) -> CommandError:
    with pytest.raises(CommandError) as raised:
        run(*args)
    return raised.value


def all_urls() -> dict[tuple[str, int], str | None]:
    """Every URL column and settings value, by (label, pk)."""
    values = {}
    with tenant_context(all_tenants=True):
        for model, name in [(User, "profile_image_url"), (Restaurant, "logo_url"), (Product, "image_url"),
                            (Order, "receipt_url"), (PlatformSetting, "setting_value"),
                            (RestaurantSetting, "setting_value")]:
            for pk, value in model.objects.values_list("pk", name):
                values[(f"{model._meta.db_table}.{name}", pk)] = value
    return values


class Shop:
    """One platform and restaurant; makes rows with URLs in each URL column and in settings."""

    def __init__(self):
        self.platform = PlatformFactory()
        self.restaurant = RestaurantFactory(platform=self.platform)
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def product(self, url: str | None) -> int:
        with tenant_context(all_tenants=True):
            return Product.objects.create(restaurant=self.restaurant, name=f"P{self._next()}", price=Decimal("1.00"),
                                          image_url=url).pk

    def order(self, url: str | None) -> int:
        with tenant_context(all_tenants=True):
            number = f"ST-{self.restaurant.pk}-{self._next()}"
            return Order.objects.create(restaurant=self.restaurant, order_number=number, receipt_url=url).pk

    def user(self, url: str | None) -> int:
        return UserFactory(restaurant=self.restaurant, profile_image_url=url).pk

    def logo(self, url: str | None) -> int:
        with tenant_context(all_tenants=True):
            Restaurant.objects.filter(pk=self.restaurant.pk).update(logo_url=url)
        return self.restaurant.pk

    def restaurant_setting(self, value: str) -> int:
        with tenant_context(all_tenants=True):
            return RestaurantSetting.objects.create(restaurant=self.restaurant, setting_key=f"k{self._next()}",
                                                    setting_value=value).pk

    def platform_setting(self, value: str) -> int:
        with tenant_context(all_tenants=True):
            return PlatformSetting.objects.create(platform=self.platform, setting_key=f"k{self._next()}",
                                                  setting_value=value).pk


transactional = pytest.mark.django_db(transaction=True, databases=["default", "owner"])


@pytest.fixture
def shop():
    return Shop()


@pytest.fixture
def undo_log(tmp_path) -> Path:
    return tmp_path / "undo.csv"


# --- where ------------------------------------------------------------------------------------


def test_the_url_columns_are_found_from_the_models():
    assert {c.label for c in url_columns()} == {
        "users.profile_image_url", "restaurants.logo_url", "products.image_url", "orders.receipt_url",
    }


# --- what matches: columns ---------------------------------------------------------------------


@transactional
@pytest.mark.parametrize("old", [OLD, OLD + "/", "HTTPS://Old-Storage-Domain.com"])
def test_url_columns_change_only_where_the_prefix_and_exact_host_match(shop, undo_log, old):
    # given every case in products, and one rewritable URL in each other URL column
    products = {shop.product(value): expected or value for value, expected in COLUMN_CASES}
    others = {("users.profile_image_url", shop.user(f"{OLD}/u.png")): "https://cdn.fynlo.test/u.png",
              ("restaurants.logo_url", shop.logo(f"{OLD}/logo.png")): "https://cdn.fynlo.test/logo.png",
              ("orders.receipt_url", shop.order(f"{OLD}/r.pdf")): "https://cdn.fynlo.test/r.pdf"}
    null_product = shop.product(None)

    # when
    out = run("--from", old, "--to", NEW, "--undo-log", str(undo_log))

    # then
    urls = all_urls()
    assert {pk: urls[("products.image_url", pk)] for pk in products} == products
    assert urls[("products.image_url", null_product)] is None
    assert {key: urls[key] for key in others} == others
    changed = sum(1 for _, expected in COLUMN_CASES if expected)
    assert f"products.image_url rewritten {changed}" in lines(out)
    assert f"Rewrote {changed + 3} URLs from https://old-storage-domain.com/ to {NEW}" in out


@transactional
def test_http_and_https_both_change_when_both_are_given(shop, undo_log):
    https, http = shop.product(f"{OLD}/a.png"), shop.product("http://old-storage-domain.com/b.png")
    other = shop.product("ftp://old-storage-domain.com/c.png")

    run("--from", OLD, "--from", "http://old-storage-domain.com/", "--to", NEW, "--undo-log", str(undo_log))

    urls = all_urls()
    assert urls[("products.image_url", https)] == "https://cdn.fynlo.test/a.png"
    assert urls[("products.image_url", http)] == "https://cdn.fynlo.test/b.png"
    assert urls[("products.image_url", other)] == "ftp://old-storage-domain.com/c.png"


@transactional
def test_a_prefix_with_a_path_matches_that_path_exactly_and_the_longest_prefix_wins(shop, undo_log):
    cases = {
        shop.product(f"{OLD}/media/a.png"): "https://cdn.fynlo.test/media-new/a.png",
        shop.product(f"{OLD}/media"): "https://cdn.fynlo.test/media-new",
        shop.product(f"{OLD}/Media/a.png"): "https://cdn.fynlo.test/Media/a.png",  # the shorter prefix
        shop.product(f"{OLD}/mediax/a.png"): "https://cdn.fynlo.test/mediax/a.png",
        shop.product("https://OLD-storage-domain.com/media/b.png"): "https://cdn.fynlo.test/media-new/b.png",
        shop.product("https://elsewhere.com/media/a.png"): "https://elsewhere.com/media/a.png",
    }

    # a path prefix matches its path exactly (case-sensitive); a wider second run takes the rest
    run("--from", f"{OLD}/media", "--to", "https://cdn.fynlo.test/media-new", "--undo-log", str(undo_log))
    run("--from", OLD, "--to", NEW, "--undo-log", str(undo_log.with_name("second.csv")))

    urls = all_urls()
    assert {pk: urls[("products.image_url", pk)] for pk in cases} == cases


@transactional
def test_of_two_matching_prefixes_the_longer_one_rewrites(shop, undo_log):
    deep, shallow = shop.product(f"{OLD}/media/a.png"), shop.product(f"{OLD}/b.png")

    run("--from", OLD, "--from", f"{OLD}/media/", "--to", NEW, "--undo-log", str(undo_log))

    urls = all_urls()
    assert urls[("products.image_url", deep)] == "https://cdn.fynlo.test/a.png"
    assert urls[("products.image_url", shallow)] == "https://cdn.fynlo.test/b.png"


@transactional
def test_small_batches_cover_every_row(shop, undo_log):
    pks = [shop.product(f"{OLD}/{i}.png" if i % 3 else f"https://OLD-storage-domain.com/{i}.png") for i in range(11)]

    out = run("--from", OLD, "--to", NEW, "--batch-size", "2", "--undo-log", str(undo_log))

    urls = all_urls()
    assert [urls[("products.image_url", pk)] for pk in pks] == [f"https://cdn.fynlo.test/{i}.png" for i in range(11)]
    assert "products.image_url rewritten 11" in lines(out)


# --- what matches: settings values -------------------------------------------------------------

ESC_OLD = OLD.replace("/", "\\/")
SETTINGS_CASES = [
    (f"{OLD}/logo.png", "https://cdn.fynlo.test/logo.png"),
    (f"{OLD}", "https://cdn.fynlo.test"),
    (f'{{"logo": "{OLD}/a.png", "size": 3}}', '{"logo": "https://cdn.fynlo.test/a.png", "size": 3}'),
    (f'{{"logo":"{ESC_OLD}\\/a.png"}}', '{"logo":"https:\\/\\/cdn.fynlo.test\\/a.png"}'),  # JSON-escaped
    (f'["{OLD}/a.png", "{OLD}/b.png", "x"]', '["https://cdn.fynlo.test/a.png", "https://cdn.fynlo.test/b.png", "x"]'),
    (f'"{OLD}/a.png"', '"https://cdn.fynlo.test/a.png"'),
    (f'{{"{OLD}/k.png": 1}}', '{"https://cdn.fynlo.test/k.png": 1}'),
    ('{"a": {"b": ["https://Old-Storage-Domain.com/deep.png"]}}', '{"a": {"b": ["https://cdn.fynlo.test/deep.png"]}}'),
    (f'{{"u": "https://cdn.example.com/?u={OLD}/a.png"}}', None),
    (f'{{"u": "https:\\/\\/cdn.example.com\\/?u={ESC_OLD}\\/a.png"}}', None),
    (f'{{"html": "<img src=\\"{OLD}/a.png\\">"}}', None),  # inside a string, not at its start
    (f"see {OLD}/a.png", None),
    ('{"logo": "https://old-storage-domain.com.evil.net/a.png"}', None),
    (f"{{{OLD}/a.png}}", None),  # not JSON, and not at the start
    (f'{{"logo": "{OLD}/a.png"', None),  # broken JSON: only the start of the value counts
    ("https://cdn.fynlo.test/a.png", None),
]


@pytest.mark.parametrize(("value", "expected"), SETTINGS_CASES)
def test_settings_values_change_only_at_a_string_boundary(value, expected):
    rewriter = TextRewriter([prefix_parse(OLD, option="--from")], prefix_parse(NEW, option="--to"))

    assert rewriter.rewrite(value)[0] == (expected or value)


@transactional
def test_settings_tables_are_rewritten_by_those_rules(shop, undo_log):
    restaurant = {shop.restaurant_setting(value): expected or value for value, expected in SETTINGS_CASES}
    platform = {shop.platform_setting(value): expected or value for value, expected in SETTINGS_CASES[:4]}

    out = run("--from", OLD, "--to", NEW, "--undo-log", str(undo_log))

    urls = all_urls()
    assert {pk: urls[("restaurant_settings.setting_value", pk)] for pk in restaurant} == restaurant
    assert {pk: urls[("platform_settings.setting_value", pk)] for pk in platform} == platform
    assert f"restaurant_settings.setting_value rewritten {sum(1 for _, e in SETTINGS_CASES if e)}" in lines(out)


# --- dry run, idempotence, undo ----------------------------------------------------------------


def populate(shop: Shop) -> None:
    for value, _ in COLUMN_CASES:
        shop.product(value)
    shop.user("https://OLD-storage-domain.com/u.png")
    shop.user(None)
    shop.logo(OLD)
    shop.order(f"{OLD}/receipts/1.pdf")
    for value, _ in SETTINGS_CASES:
        shop.restaurant_setting(value)
        shop.platform_setting(value)


@transactional
def test_the_dry_run_shows_counts_and_pairs_and_writes_nothing(shop, undo_log, tmp_path):
    # given
    populate(shop)
    before = all_urls()

    # when
    out = run("--from", OLD, "--to", NEW, "--dry-run", "--undo-log", str(undo_log),
              "--report", str(tmp_path / "r.json"))

    # then nothing changed and no undo log was written
    assert all_urls() == before
    assert not undo_log.exists()
    changed = sum(1 for _, expected in COLUMN_CASES if expected)
    assert f"products.image_url would rewrite {changed}" in lines(out)
    first = min(pk for (label, pk) in before if label == "products.image_url")
    assert f"{first}: {OLD}/a.png -> https://cdn.fynlo.test/a.png" in lines(out)
    assert "nothing was written" in out
    report = json.loads((tmp_path / "r.json").read_text())
    products = next(c for c in report["columns"] if c["table"] == "products")
    assert report["dry_run"] is True and products["matched"] == changed and products["rewritten"] == 0
    assert [s["after"] for s in products["samples"]] == [e for _, e in COLUMN_CASES if e][:5]


@transactional
def test_a_second_run_changes_nothing(shop, undo_log):
    populate(shop)
    run("--from", OLD, "--to", NEW, "--undo-log", str(undo_log))
    after_first = all_urls()

    out = run("--from", OLD, "--to", NEW, "--undo-log", str(undo_log.with_name("again.csv")))

    assert all_urls() == after_first
    assert "Rewrote 0 URLs" in out
    assert undo_log.with_name("again.csv").read_text() == "table,pk,column,old,new\n"
    run("--from", OLD, "--to", NEW, "--undo-log", str(undo_log.with_name("again.csv")))  # nothing in it to keep


@transactional
def test_the_undo_log_restores_every_byte(shop, undo_log):
    # given
    populate(shop)
    original = all_urls()
    run("--from", OLD, "--from", "http://old-storage-domain.com", "--to", NEW, "--undo-log", str(undo_log))
    rewritten = all_urls()
    changed = {key for key in original if original[key] != rewritten[key]}
    assert len(changed) > 20

    # the log holds exactly the changes: table, pk, column, old, new
    with open(undo_log, newline="", encoding="utf-8") as log:
        lines = list(csv.DictReader(log))
    assert {(f"{row['table']}.{row['column']}", int(row["pk"])) for row in lines} == changed
    assert all(row["old"] == original[(f"{row['table']}.{row['column']}", int(row["pk"]))] for row in lines)
    assert all(row["new"] == rewritten[(f"{row['table']}.{row['column']}", int(row["pk"]))] for row in lines)

    # when
    out = run("--undo", str(undo_log))

    # then
    assert all_urls() == original
    assert f"Restored {len(changed)} values" in out


@transactional
def test_undo_leaves_values_changed_since_alone_and_exits_1(shop, undo_log, tmp_path):
    kept, edited = shop.product(f"{OLD}/a.png"), shop.product(f"{OLD}/b.png")
    run("--from", OLD, "--to", NEW, "--undo-log", str(undo_log))
    with tenant_context(all_tenants=True):
        Product.objects.filter(pk=edited).update(image_url="https://cdn.fynlo.test/edited.png")

    error = run_failing("--undo", str(undo_log), "--report", str(tmp_path / "undo.json"))

    assert error.returncode == 1
    assert "1 values were changed since the run" in str(error)
    urls = all_urls()
    assert urls[("products.image_url", kept)] == f"{OLD}/a.png"
    assert urls[("products.image_url", edited)] == "https://cdn.fynlo.test/edited.png"
    report = json.loads((tmp_path / "undo.json").read_text())
    assert report["conflicts"] == [{"table": "products", "column": "image_url", "pk": str(edited),
                                    "old": f"{OLD}/b.png", "new": "https://cdn.fynlo.test/b.png",
                                    "current": "https://cdn.fynlo.test/edited.png"}]


@transactional
def test_undo_dry_run_writes_nothing(shop, undo_log):
    pk = shop.product(f"{OLD}/a.png")
    run("--from", OLD, "--to", NEW, "--undo-log", str(undo_log))

    out = run("--undo", str(undo_log), "--dry-run")

    assert all_urls()[("products.image_url", pk)] == "https://cdn.fynlo.test/a.png"
    assert "products.image_url would restore 1 of 1, already as before 0, changed since 0" in lines(out)


# --- --verify-objects against a real S3-compatible server ---------------------------------------


@transactional
def test_verify_objects_rewrites_only_urls_whose_object_is_in_the_bucket(shop, undo_log, tmp_path,
                                                                           spaces_cdn_settings):
    # given objects for some URLs in the bucket (and --to defaulting to the CDN base URL)
    spaces_cdn_settings.put("restaurants/1/a.png")
    spaces_cdn_settings.put("restaurants/1/with space.png")
    spaces_cdn_settings.put("receipts/1.pdf", content_type="application/pdf")
    present = shop.product(f"{OLD}/restaurants/1/a.png")
    encoded = shop.product(f"{OLD}/restaurants/1/with%20space.png?v=3")
    missing = shop.product(f"{OLD}/restaurants/1/gone.png")
    receipt = shop.order(f"{OLD}/receipts/1.pdf")
    setting = shop.restaurant_setting(f'{{"a": "{OLD}/restaurants/1/a.png", "b": "{ESC_OLD}\\/nope.png"}}')

    # when
    error = run_failing("--from", OLD, "--verify-objects", "--undo-log", str(undo_log), "--report",
                        str(tmp_path / "r.json"))

    # then
    assert error.returncode == 1
    assert "2 URLs were not rewritten: their objects are missing" in str(error)
    cdn = f"https://{CDN_DOMAIN}/"
    urls = all_urls()
    assert urls[("products.image_url", present)] == cdn + "restaurants/1/a.png"
    assert urls[("products.image_url", encoded)] == cdn + "restaurants/1/with%20space.png?v=3"
    assert urls[("products.image_url", missing)] == f"{OLD}/restaurants/1/gone.png"
    assert urls[("orders.receipt_url", receipt)] == cdn + "receipts/1.pdf"
    assert urls[("restaurant_settings.setting_value", setting)] == (
        f'{{"a": "{cdn}restaurants/1/a.png", "b": "{ESC_OLD}\\/nope.png"}}'
    )
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["exit_code"] == 1 and report["bucket"] == spaces_cdn_settings.bucket
    assert sorted((m["table"], m["key"], m["url"]) for m in report["missing_objects"]) == [
        ("products", "restaurants/1/gone.png", f"{OLD}/restaurants/1/gone.png"),
        ("restaurant_settings", "nope.png", f"{OLD}/nope.png"),
    ]


@transactional
def test_verify_objects_in_a_dry_run_reports_and_writes_nothing(shop, undo_log, spaces_settings):
    spaces_settings.put("a.png")
    shop.product(f"{OLD}/a.png")
    shop.product(f"{OLD}/b.png")
    before = all_urls()

    error = run_failing("--from", OLD, "--verify-objects", "--dry-run")

    assert error.returncode == 1
    assert all_urls() == before
    assert "1 URLs were not rewritten" in str(error)


@transactional
def test_verify_objects_on_the_bucket_url_without_a_cdn(shop, undo_log, spaces_settings):
    spaces_settings.put("restaurants/2/a.png")
    pk = shop.product(f"{OLD}/restaurants/2/a.png")

    out = run("--from", OLD, "--verify-objects", "--undo-log", str(undo_log))

    base = f"{spaces_settings.endpoint}/{spaces_settings.bucket}/"
    assert all_urls()[("products.image_url", pk)] == base + "restaurants/2/a.png"
    assert f"to {base}" in out


# --- errors: one line, exit 2 ------------------------------------------------------------------


@pytest.mark.django_db(databases=["default", "owner"])
@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give --from OLD_PREFIX"),
        (("--from", "old-storage-domain.com", "--to", NEW), "is not an http(s) URL prefix"),
        (("--from", "ftp://old-storage-domain.com/", "--to", NEW), "is not an http(s) URL prefix"),
        (("--from", f"{OLD}/?x=1", "--to", NEW), "must be a scheme, a host and an optional path"),
        (("--from", OLD, "--to", "cdn"), "--to 'cdn' is not an http(s) URL prefix"),
        (("--from", OLD, "--to", f"{OLD}/new/"), "overlap"),
        (("--from", "https://cdn.fynlo.test/old/", "--to", NEW), "overlap"),
        (("--from", OLD), "--to is required: Spaces is not configured"),
        (("--from", OLD, "--to", NEW, "--verify-objects"), "--verify-objects needs Spaces"),
        (("--from", OLD, "--to", NEW, "--batch-size", "0"), "--batch-size must be a positive number"),
        (("--undo", "/nonexistent/undo.csv"), "does not exist"),
        (("--undo", "x.csv", "--from", OLD), "--undo takes no --from"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args, message, tmp_path):
    storages = {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with override_settings(STORAGES=storages):
        if "--undo" in args:
            error = run_failing(*args)
        else:
            error = run_failing(*args, "--undo-log", str(tmp_path / "u.csv"))

    assert error.returncode == 2
    assert message in str(error)
    assert "\n" not in str(error)
    assert not (tmp_path / "u.csv").exists()


@transactional
def test_an_existing_undo_log_is_never_overwritten(shop, undo_log):
    undo_log.write_text("table,pk,column,old,new\nproducts,1,image_url,a,b\n")

    error = run_failing("--from", OLD, "--to", NEW, "--undo-log", str(undo_log))

    assert error.returncode == 2 and "already exists" in str(error)
    assert undo_log.read_text() == "table,pk,column,old,new\nproducts,1,image_url,a,b\n"


@transactional
@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not,an,undo,log\n", "is not an undo log"),
        ('table,pk,column,old,new\nproducts,1,name,a,b\n', "names products.name, which rewrite_storage_urls never"),
        ('table,pk,column,old,new\nproducts,x,image_url,a,b\n', "not valid"),
    ],
)
def test_a_file_that_is_not_an_undo_log_is_refused(shop, tmp_path, content, message):
    pk = shop.product("https://cdn.fynlo.test/a.png")
    path = tmp_path / "bad.csv"
    path.write_text(content)

    error = run_failing("--undo", str(path))

    assert error.returncode == 2 and message in str(error)
    assert all_urls()[("products.image_url", pk)] == "https://cdn.fynlo.test/a.png"


@transactional
def test_an_unusable_bucket_exits_2_before_anything_changes(shop, undo_log, spaces_settings):
    pk = shop.product(f"{OLD}/a.png")
    spaces_settings.client().delete_bucket(Bucket=spaces_settings.bucket)

    error = run_failing("--from", OLD, "--verify-objects", "--undo-log", str(undo_log))

    assert error.returncode == 2 and f"cannot use the Spaces bucket '{spaces_settings.bucket}'" in str(error)
    assert all_urls()[("products.image_url", pk)] == f"{OLD}/a.png"


@transactional
def test_the_report_goes_to_stdout_with_dash(shop):
    shop.product(f"{OLD}/a.png")

    out = run("--from", OLD, "--to", NEW, "--dry-run", "--report", "-")

    report = json.loads(out)
    assert report["from"] == ["https://old-storage-domain.com/"] and report["to"] == NEW
    assert report["matched"] == 1 and report["rewritten"] == 0


def test_prefixes_are_normalised():
    assert prefix_parse("HTTPS://Old.COM", option="--from") == Prefix("https://old.com", "/")
    assert prefix_parse("https://old.com/", option="--from") == Prefix("https://old.com", "/")
    assert prefix_parse("https://old.com:8443/Media", option="--from") == Prefix("https://old.com:8443", "/Media/")
