"""Round 19's time-budget review: one setting in each front end's words (the command line's
--time-budget, Python's time_budget_s / train_seconds, Blender's Time Budget), refused before
anything starts; matte's record says the time it trained as ``training_seconds`` (its
``train_seconds`` is the budget); the range lives in a light module props.py reads."""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_matte_cli import pan_movie  # noqa: F401 - the fixture

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


# -- 1. one setting, each front end's words, refused before anything starts -------------------
def test_the_time_budget_is_one_setting_of_the_error_table():
    from restyle.core.errors import SETTINGS

    row = SETTINGS["time_budget"]
    assert (row.flag, row.keyword, row.label) == ("--time-budget", "time_budget_s", "Time Budget")
    # MatteJob's Python name for it: the same flag
    assert (SETTINGS["train_seconds"].flag, SETTINGS["train_seconds"].keyword) == (
        "--time-budget",
        "train_seconds",
    )


@pytest.mark.parametrize("seconds", [1e6, 0.001, -5.0])
def test_train_configs_refusal_is_said_in_each_front_ends_words(seconds):
    """TrainConfig's refusal said 'time_budget_s is out of range' in every front end: Blender's
    Train Style, which builds it in its worker, named the Python field."""
    from restyle.core.errors import BLENDER, COMMAND_LINE, PYTHON, RestyleError
    from restyle.core.train.trainer import TrainConfig

    with pytest.raises(RestyleError) as refused:
        TrainConfig(time_budget_s=seconds)
    said = {
        front_end: refused.value.said(front_end) for front_end in (BLENDER, COMMAND_LINE, PYTHON)
    }
    assert said == {
        BLENDER: f"Invalid training settings: Time Budget {seconds!r} is out of range 0.01..86400 (24 h)",
        COMMAND_LINE: f"Invalid training settings: --time-budget {seconds!r} is out of range 0.01..86400 (24 h)",
        PYTHON: f"Invalid training settings: time_budget_s={seconds!r} is out of range 0.01..86400 (24 h)",
    }
    assert str(refused.value) == said[PYTHON]


@pytest.mark.parametrize(
    ("key", "keyword"), [("time_budget", "time_budget_s"), ("train_seconds", "train_seconds")]
)
def test_the_command_lines_refusal_names_the_setting_through_the_table(key, keyword):
    """The command line wrote its own '--time-budget {budget}' text, where MatteJob went
    through errors.setting: now one wording, each front end's."""
    from restyle.core.cli import _time_budget
    from restyle.core.errors import COMMAND_LINE, RestyleError, plain

    with pytest.raises(RestyleError) as refused:
        _time_budget(argparse.Namespace(time_budget=90000.0), 60.0, key)
    assert (
        plain(refused.value.neutral) == f"{{{{{key}=90000.0}}}} is out of range 0.01..86400 (24 h)"
    )
    assert refused.value.said(COMMAND_LINE).startswith("--time-budget 90000.0 is out of range")
    assert str(refused.value).startswith(f"{keyword}=90000.0 is out of range")


def test_matte_jobs_refusal_names_its_own_python_field(pan_movie, tmp_path):  # noqa: F811
    """MatteJob's budget is train_seconds in Python, --time-budget on the command line."""
    from restyle.core.errors import COMMAND_LINE, RestyleError
    from restyle.core.mappings.matte_job import MatteJob

    pytest.importorskip("torch")  # MatteJob says it needs torch before it checks the budget
    painted = tmp_path / "mask.png"
    job = MatteJob(pan_movie, tmp_path / "o", keyframes={0: painted}, train_seconds=1e6)
    with pytest.raises(RestyleError) as refused:
        job.validate()
    rest = " is out of range 0.01..86400 (24 h)"
    assert str(refused.value) == f"train_seconds=1000000.0{rest}"
    assert refused.value.said(COMMAND_LINE) == f"--time-budget 1000000.0{rest}"


def test_train_styles_time_budget_is_refused_in_prepare_and_not_clamped():
    """Train Style's Time Budget had a hard min=0 and no max, and prepare did not check it:
    the worker's TrainConfig refused it. A hard max would clamp a script's 1e6 to 24 h
    without a word (bpy 5.0.1 clamps operator keywords to hard limits): soft limits, and
    prepare refuses what is out of the one range."""
    from restyle.core.train.budget import TIME_BUDGET

    operator = time_budget_control("operators/train_style.py", "RESTYLE_OT_train_style")
    assert "min" not in operator and "max" not in operator
    assert (operator["soft_min"], operator["soft_max"]) == (0.0, TIME_BUDGET[1])  # 0: sidebar's
    tree = ast.parse((ROOT / "operators/train_style.py").read_text(encoding="utf-8"))
    prepare = next(
        n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "prepare"
    )
    calls = {
        n.func.id
        for n in ast.walk(prepare)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }
    assert "time_budget_refusal" in calls


# -- 2. matte's record: the time it trained is training_seconds -----------------------------
def test_mattes_record_says_the_time_it_trained_as_training_seconds(
    matte_library,
    pan_movie,  # noqa: F811
    tmp_path,
    capsys,
    monkeypatch,
):
    """--json's record said the time it trained as 'train_seconds', MatteJob's name for the
    budget (train_seconds=60 on the Python API)."""
    from restyle.core.cli import main

    monkeypatch.setenv("RESTYLE_HOME", str(matte_library.root))
    args = ["matte", str(pan_movie), "-o", str(tmp_path / "out"), "--end", "0", "--json"]
    assert main(args) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "train_seconds" not in record
    assert record["training_seconds"] is None  # no keyframes: nothing learned
