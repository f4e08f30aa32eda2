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


def test_one_table_of_image_suffixes():
    """Image suffixes are listed once (core/media.py) and imported everywhere else."""
    listing = '".png", ".jpg", ".jpeg"'
    sources = [*ROOT.glob("*.py")]
    for folder in ("core", "operators", "panels", "models", "scripts"):
        sources += (ROOT / folder).rglob("*.py")
    holders = [
        p.relative_to(ROOT).as_posix()
        for p in sources
        if listing in p.read_text(encoding="utf-8", errors="replace")
    ]
    assert holders == ["core/media.py"]
