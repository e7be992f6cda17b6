"""DESIGN.md's dependency rules: tenants is the floor; billing, inventory and staff know nothing
of orders; no app (and nothing in fynlo/core) imports the one-night cutover tooling. And the
repository is self-contained: nothing in it names a place outside it."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
FORBIDDEN = {
    "tenants": {"billing", "inventory", "staff", "pos", "fynlo.cutover"},
    "billing": {"pos", "fynlo.cutover"},
    "inventory": {"pos", "fynlo.cutover"},
    "staff": {"pos", "fynlo.cutover"},
    "pos": {"fynlo.cutover"},
    "fynlo/core": {"fynlo.cutover"},
}


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_only_what_stands_below_it(package):
    offending = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for module in imported_modules(path):
            if any(module == banned or module.startswith(banned + ".") for banned in FORBIDDEN[package]):
                offending.append(f"{path.relative_to(ROOT)} imports {module}")

    assert (ROOT / package).is_dir()
    assert not offending, "\n".join(offending)


# Places outside the repository that a file of it could name (each would be missing in a fresh
# clone): the machine's checkout root, the reference folder that sits beside the checkout here
# (written relatively), and the parent of BASE_DIR (whatever is joined to it). The character
# classes keep this file from matching itself.
OUTSIDE_THE_REPOSITORY = re.compile(
    r"/wor[k]/"
    r"|\.\.[/\\]share[d]\b"
    r"|BASE_DI[R]\)?\.parent\b"
)


def test_no_file_of_the_repository_names_a_path_outside_it():
    # given every tracked file that is text (a NUL byte in its first 8 KiB marks it binary, as git does)
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    offending = []
    for name in sorted(filter(None, names.decode().split("\0"))):
        path = ROOT / name
        if not path.is_file():
            continue
        content = path.read_bytes()
        if b"\0" in content[:8192]:
            continue
        # then none names a path that a fresh clone (with nothing beside it) does not have
        for number, line in enumerate(content.decode("utf-8", "replace").splitlines(), start=1):
            if OUTSIDE_THE_REPOSITORY.search(line):
                offending.append(f"{name}:{number}: {line.strip()}")

    assert len(names) > 0
    assert offending == []
