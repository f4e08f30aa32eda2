"""Round 23 (keys13): issue 13's keyframe styles — one table of span-guide names."""

from __future__ import annotations

import ast
from pathlib import Path

from restyle.core.train import trainer
from restyle.models import registry

ROOT = Path(__file__).resolve().parents[1]


def test_the_span_guides_are_named_in_one_table():
    # The trainer's settings check and the registry's fp32 rule read the same tuple: a ladder
    # added to one could not be missing from the other.
    assert trainer.SPAN_GUIDES is registry.SPAN_GUIDES
    tree = ast.parse((ROOT / "core" / "train" / "trainer.py").read_text())
    assigned = [
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    ]
    assert "SPAN_GUIDES" not in assigned
