"""The packages import downwards only (README, "Where things are").

Layers, lowest first: the domain; adapters (storage, gateway, clock, configuration); services
(the use cases, audit); read models (projections, presenters, the report); the worker's
runtime (``scheduler``); entry points (the CLI, the HTTP API); and ``ledger.bootstrap``, the
one place that wires them. A module may import its own layer or lower ones; entry points
never import each other. Imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS: list[tuple[str, ...]] = [
    ("ledger.domain",),
    ("ledger.adapters",),
    ("ledger.services",),
    ("ledger.read", "projections"),
    ("scheduler",),
    ("ledger.cli", "api"),
    ("ledger.bootstrap",),
]
ENTRY_POINTS = ("ledger.cli", "api")


def layer_of(module: str) -> int | None:
    for level, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return level
    return None


def entry_point_of(module: str) -> str | None:
    return next((p for p in ENTRY_POINTS if module == p or module.startswith(p + ".")), None)


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in ("ledger", "projections", "scheduler", "api"):
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_every_module_of_the_project_belongs_to_a_layer() -> None:
    unplaced = [m for m in modules() if m not in ("ledger",) and layer_of(m) is None]
    assert unplaced == []


def test_packages_import_only_their_own_layer_or_lower_ones() -> None:
    known = modules()
    upward: list[str] = []
    for module, path in known.items():
        own = layer_of(module)
        if own is None:
            continue
        for imported in imports_of(path):
            if imported not in known:
                continue  # the standard library or a dependency
            level = layer_of(imported)
            if level is not None and level > own:
                upward.append(f"{module} -> {imported}")
    assert upward == []


def test_entry_points_never_import_each_other() -> None:
    crossing: list[str] = []
    for module, path in modules().items():
        mine = entry_point_of(module)
        if mine is None:
            continue
        for imported in imports_of(path):
            theirs = entry_point_of(imported)
            if theirs is not None and theirs != mine:
                crossing.append(f"{module} -> {imported}")
    assert crossing == []


LONGEST = 420  # "about 400"


def test_no_module_is_much_over_400_lines() -> None:
    long = {
        name: length
        for name, path in modules().items()
        if (length := len(path.read_text().splitlines())) > LONGEST
    }
    assert long == {}
