"""DESIGN.md's dependency rules: tenants is the floor; billing, inventory and staff know nothing
of orders; no app (and nothing in fynlo/core) imports the one-night cutover tooling."""

from __future__ import annotations

import ast
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
