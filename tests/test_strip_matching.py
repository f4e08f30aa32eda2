"""One function matches a Blender strip to a file (``operators/output_strip.shows_file``):
the source found during a run (``strip_job.source_strip``) and a styled strip's source
(``output_strip._is_source``) compared paths each their own way before."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _calls(path: Path, function: str) -> set[str]:
    """The names ``function`` in ``path`` calls."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    (found,) = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function]
    return {
        node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        for node in ast.walk(found)
        if isinstance(node, ast.Call)
    }


def test_both_callers_match_a_strip_to_a_file_by_one_function():
    for path, function in (
        (ROOT / "operators" / "strip_job.py", "source_strip"),
        (ROOT / "operators" / "output_strip.py", "_is_source"),
    ):
        calls = _calls(path, function)
        assert "shows_file" in calls, (function, calls)
        assert not calls & {"strip_media", "_stored_media", "normpath"}, (function, calls)
