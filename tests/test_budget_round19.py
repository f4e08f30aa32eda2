"""Round 19's time-budget review: one setting in each front end's words (the command line's
--time-budget, Python's time_budget_s / train_seconds, Blender's Time Budget), refused before
anything starts; matte's record says the time it trained as ``training_seconds`` (its
``train_seconds`` is the budget); the range lives in a light module props.py reads."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# -- 3. the range in a light module ---------------------------------------------------------
def test_props_reads_the_time_budget_from_the_light_module():
    """props.py imported core.train.trainer for TIME_BUDGET: the trainer's engine modules
    (torch_engine, models.registry, ...) loaded when the add-on registered."""
    tree = ast.parse((ROOT / "props.py").read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level}
    assert "core.train.budget" in imported
    assert "core.train.trainer" not in imported


def test_the_budget_module_imports_no_numpy_torch_or_engine():
    code = (
        "import sys; import restyle.core.train.budget as b; "
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('numpy', 'torch') "
        "or m.startswith(('restyle.core.engines', 'restyle.models', 'restyle.core.train.trainer'))]; "
        "print(heavy, b.TIME_BUDGET)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] (0.01, 86400.0)", out.stdout + out.stderr


def test_the_trainer_uses_the_one_range():
    from restyle.core.train import budget, trainer

    assert trainer.time_budget_refusal is budget.time_budget_refusal


def time_budget_control(path: str, cls: str) -> dict:
    """The keywords of class ``cls``'s ``time_budget: FloatProperty(...)`` in ``path``."""
    from restyle.core.train.budget import TIME_BUDGET

    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    body = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == cls)
    call = next(
        n.annotation
        for n in body.body
        if isinstance(n, ast.AnnAssign) and getattr(n.target, "id", None) == "time_budget"
    )
    scope = {"TIME_BUDGET": TIME_BUDGET}
    return {
        k.arg: eval(compile(ast.Expression(k.value), path, "eval"), scope) for k in call.keywords
    }


def test_the_sidebars_time_budget_agrees_with_the_range():
    """The sidebar's Time Budget asked 1 s or more (min=1.0), where the rule (and Train
    Style's own Time Budget) take 0.01."""
    from restyle.core.train.budget import TIME_BUDGET

    sidebar = time_budget_control("props.py", "RESTYLE_PG_settings")
    assert (sidebar["min"], sidebar["max"]) == TIME_BUDGET
