"""DESIGN.md's dependency rules, followed through every import (transitively, deferred imports
inside functions included, and model labels named as strings):

- fynlo/core is the floor: it imports no app;
- tenants stands on core alone;
- billing, inventory and staff know nothing of orders (never pos);
- nothing but the cutover tooling (and the tests and benchmarks) imports fynlo/cutover;
- no app imports the demo (fynlo/demo), and the demo does not need the cutover tooling.

And the repository is self-contained: nothing in it names a place outside it.
"""

from __future__ import annotations

import ast
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
APPS = ("tenants", "billing", "inventory", "staff", "pos")
CUTOVER = "fynlo.cutover"
DEMO = "fynlo.demo"  # the guide's demo restaurant: the landing page may show its logins, no app needs it
# What each part of the project must never reach, however indirectly.
FORBIDDEN = {
    "fynlo.core": {*APPS, CUTOVER, DEMO},
    "tenants": {"billing", "inventory", "staff", "pos", CUTOVER, DEMO},
    "billing": {"pos", CUTOVER, DEMO},
    "inventory": {"pos", CUTOVER, DEMO},
    "staff": {"pos", CUTOVER, DEMO},
    "pos": {CUTOVER, DEMO},
    "fynlo.demo": {CUTOVER},
    "fynlo.settings": {CUTOVER},
    "fynlo.urls": {CUTOVER},
    "fynlo.wsgi": {CUTOVER},
    "fynlo.asgi": {CUTOVER},
    "fynlo.env": {*APPS, CUTOVER},
}
# "pos.IdempotencyRecord": a model named by its label, as apps.get_model() takes it.
MODEL_LABEL = re.compile(rf"^({'|'.join(APPS)})\.[A-Z][A-Za-z0-9]*$")
SKIPPED_DIRS = {".venv", ".local", "tests", "bench", "scripts", "node_modules", "staticfiles", "media"}


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def project_modules(root: Path = ROOT) -> dict[str, Path]:
    found = {}
    for path in root.rglob("*.py"):
        relative = path.relative_to(root)
        if relative.parts[0] in SKIPPED_DIRS or len(relative.parts) == 1:
            continue
        found[_module_name(root, path)] = path
    return found


def _resolve(root: Path, name: str) -> str | None:
    """The project module an import name stands for (its longest existing prefix)."""
    modules = project_modules(root)
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def _with_parents(name: str) -> set[str]:
    """Importing a.b.c runs a/__init__ and a/b/__init__ too."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


@cache
def direct_imports(module: str, root: Path = ROOT) -> frozenset[str]:
    path = project_modules(root)[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and MODEL_LABEL.match(node.value):
            names.add(node.value.split(".")[0] + ".models")
    resolved = set()
    for name in names:
        target = _resolve(root, name)
        if target:
            resolved.update(parent for parent in _with_parents(target) if parent in project_modules(root))
    resolved.discard(module)
    return frozenset(resolved)


def import_chain(start: str, banned: set[str], root: Path = ROOT) -> list[str] | None:
    """The first chain of imports from `start` to a module under one of `banned`, if any."""
    seen = {start}
    stack = [[start]]
    while stack:
        chain = stack.pop()
        for target in sorted(direct_imports(chain[-1], root)):
            if target in seen:
                continue
            if any(target == b or target.startswith(b + ".") for b in banned):
                return [*chain, target]
            seen.add(target)
            stack.append([*chain, target])
    return None


def _in(module: str, part: str) -> bool:
    return module == part or module.startswith(part + ".")


@pytest.mark.parametrize("part", sorted(FORBIDDEN))
def test_a_part_reaches_only_what_stands_below_it(part):
    modules = [name for name in sorted(project_modules()) if _in(name, part)]
    offending = []
    for module in modules:
        chain = import_chain(module, FORBIDDEN[part])
        if chain:
            offending.append(" -> ".join(chain))

    assert modules, f"no module found under {part}"
    assert not offending, "\n".join(offending)


def test_nothing_but_the_cutover_tooling_imports_it():
    outside = [name for name in project_modules() if not _in(name, CUTOVER) and not _in(name, "fynlo.core")]
    offending = [" -> ".join(chain) for name in sorted(outside) if (chain := import_chain(name, {CUTOVER}))]

    assert not offending, "\n".join(offending)


def test_the_checker_follows_deferred_imports_and_model_labels(tmp_path):
    # given: a floor module that reaches an app only inside a function, and one naming a model
    for name, text in {
        "fynlo/__init__.py": "",
        "fynlo/core/__init__.py": "",
        "fynlo/core/later.py": "def later():\n    from fynlo.core import helper\n",
        "fynlo/core/helper.py": "from tenants.context import tenant_context\n",
        "fynlo/core/label.py": "MODEL = 'pos.Order'\n",
        "tenants/__init__.py": "",
        "tenants/context.py": "",
        "pos/__init__.py": "",
        "pos/models.py": "",
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)

    # when
    deferred = import_chain("fynlo.core.later", FORBIDDEN["fynlo.core"], tmp_path)
    labelled = import_chain("fynlo.core.label", FORBIDDEN["fynlo.core"], tmp_path)

    # then
    assert deferred == ["fynlo.core.later", "fynlo.core.helper", "tenants"]
    assert labelled == ["fynlo.core.label", "pos"]


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
