"""The module structure the code review asked for, checked so it stays that way."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _relative_imports(path: Path) -> set[str]:
    """Every module ``path`` imports relatively (at any depth, lazy imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            found.add(node.module or "")
    return found


def test_preferences_do_not_import_the_scene_properties():
    """props reads the preferences (library folder); the other way round was a cycle."""
    assert "props" not in _relative_imports(ROOT / "prefs.py")
    assert "prefs" in _relative_imports(ROOT / "props.py")


def test_compat_imports_no_operator():
    assert not any(m.startswith("operators") for m in _relative_imports(ROOT / "compat.py"))


def _lists_pictures(node: ast.AST) -> bool:
    """A tuple, list or set literal naming both .png and .jpg, or a text listing both as
    words ('.png .jpg .tif'.split()): a table of picture suffixes."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        names = {e.value for e in node.elts if isinstance(e, ast.Constant)}
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        names = set(node.value.replace(",", " ").split())
    else:
        return False
    return {".png", ".jpg"} <= names


def test_one_table_of_image_suffixes():
    """Image suffixes are listed once (core/formats.py, a table without numpy so the command
    line's help reads it) and imported everywhere else (the sheet's were a second list)."""
    sources = [*ROOT.glob("*.py")]
    for folder in ("core", "operators", "panels", "models", "scripts"):
        sources += (ROOT / folder).rglob("*.py")
    holders = sorted(
        p.relative_to(ROOT).as_posix()
        for p in sources
        if any(map(_lists_pictures, ast.walk(ast.parse(p.read_text(encoding="utf-8")))))
    )
    assert holders == ["core/formats.py"]


def _import_graph() -> dict[str, set[str]]:
    """Module → the add-on modules it imports relatively (lazy imports included)."""
    files = [*ROOT.glob("*.py")]
    for folder in ("core", "operators", "panels", "models"):
        files += (ROOT / folder).rglob("*.py")
    modules = {}
    for path in files:
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = (path, parts[:-1])  # the module, and the package it resolves from
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, (path, package) in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and node.level):
                continue
            base = package[: len(package) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                for candidate in (f"{target}.{alias.name}".strip("."), target):
                    if candidate in modules and candidate != name:
                        graph[name].add(candidate)
                        break
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while not group or group[-1] != v:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(frozenset(group))

    for v in graph:
        if v not in index:
            visit(v)
    return found


# Cycles that exist and are to be broken by their owners; a new one fails the test below.
KNOWN_CYCLES: set[frozenset[str]] = set()  # none left


def test_no_new_import_cycles():
    assert set(_cycles(_import_graph())) <= KNOWN_CYCLES
