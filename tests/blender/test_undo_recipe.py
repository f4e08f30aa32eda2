"""The README's undo recipe for scripts in background mode works, and what it says happens
without each half of it is what Blender says (measured in a fresh Blender, where undo is off
until a script turns it on)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from vse import ROOT

pytestmark = pytest.mark.blender


def _undo_bullet() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    contract = readme.split("### Scripting contract", 1)[1].split("\n### ", 1)[0]
    (bullet,) = re.findall(r"^- Undo:.*?(?=^- |\Z)", contract, re.M | re.S)
    return " ".join(bullet.split())


def test_the_readmes_undo_recipe_is_what_blender_needs(extension_zip, tmp_path):
    bullet = _undo_bullet()
    assert 'bpy.ops.ed.undo_push(message="before Restyle")' in bullet
    assert 'bpy.ops.restyle.apply_style("EXEC_DEFAULT", True, strip="NAME", ...)' in bullet
    no_push, no_true = re.findall(r'fails \("([^"]+)"\)', bullet)

    env = {**os.environ, "RESTYLE_HOME": str(tmp_path / "home")}
    child = ROOT / "tests" / "blender" / "undo_recipe_child.py"
    try:
        run = subprocess.run(
            [sys.executable, str(child), str(extension_zip), str(tmp_path)],
            capture_output=True, text=True, timeout=600, env=env,
        )  # fmt: skip
    finally:  # the child's Blender user folder holds a ~660 MB install of the extension
        shutil.rmtree(tmp_path / "blender-user", ignore_errors=True)
    cases = {
        case["case"]: case
        for line in run.stdout.splitlines()
        if line.startswith("{") and (case := json.loads(line))
    }
    assert set(cases) == {"no push", "no True", "recipe"}, run.stdout + run.stderr
    for case in cases.values():
        assert case["result"] == ["FINISHED"] and len(case["made"]) == len(case["before"]) + 1
    assert no_push in cases["no push"]["said"]
    assert no_true in cases["no True"]["said"]
    for case in ("no push", "no True"):
        assert cases[case]["after_undo"] == cases[case]["made"]  # the strip stays
    recipe = cases["recipe"]
    assert recipe["said"] == "" and recipe["after_undo"] == recipe["before"]
