"""Round 20's small core fixes.

1. scripts/build_extension.py in a tree without git (a ``git archive`` export): it failed
   with ``git ls-files`` exit 128, and only after converting the styles and downloading
   every wheel. It lists the tree first, by .gitignore and the manifest's excludes, and
   refuses at once a tree it cannot list.
2. A strip grade out of Blender's range in one wording from one place (fields.grade_refusal),
   each front end's spelling: Python said "strip_color saturation 30 is outside Blender's
   range for a strip's Saturation, 0 to 20", the command line "--saturation 30 is out of
   range 0..20".
3. media.probe(fps=0) said "frame rate must be positive, not 0" (inf: OverflowError), the
   jobs "fps=0 is out of range: give frames/s above 0".
"""

from __future__ import annotations

import importlib.util
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from restyle.core import cli
from restyle.core.errors import COMMAND_LINE, RestyleError
from restyle.core.fields import rate_refusal
from restyle.core.job import StyleJob
from restyle.core.media import probe
from restyle.core.strip_frames import StripColor

pytestmark = pytest.mark.usefixtures("private_home")
ROOT = Path(__file__).resolve().parent.parent
# What setup and builds leave in a tree (git ignores them, the zip must not carry them)
LEFT_BY_BUILDS = (
    ".venv/lib/site.py",
    "models/builtin/comic-ink.onnx",
    "core/__pycache__/job.cpython-311.pyc",
    "wheels/linux-x64/av-1.0-cp311-abi3-manylinux_2_28_x86_64.whl",
    "build/extension/core/job.py",
    "dist/restyle-0.1.0-linux_x64.zip",
    "restyle.egg-info/PKG-INFO",
)


def tracked() -> list[str]:
    try:
        listing = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("needs a git checkout to copy from")
    return [p for p in listing.split("\0") if p and (ROOT / p).is_file()]


def exported(tmp_path: Path, monkeypatch, *, gitignore: bool = True) -> Path:
    """A copy of the repository's files without .git, as ``git archive`` makes it (the
    working tree's files: this script as it is now), and what builds leave beside them."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # no repository above it
    tree = tmp_path / "restyle-0.1.0"
    for rel in tracked():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, tree / rel)
    for rel in LEFT_BY_BUILDS:
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes(b"made by a build")
    if not gitignore:
        (tree / ".gitignore").unlink()
    return tree


def build_script(tree: Path):
    """The copy's scripts/build_extension.py, loaded as itself (its ROOT is the copy)."""
    spec = importlib.util.spec_from_file_location(
        f"build_extension_{abs(hash(tree))}", tree / "scripts" / "build_extension.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.ROOT == tree
    return module


def shipped(files) -> set[str]:
    """The files the zip carries (the manifest's paths_exclude_pattern, written out)."""
    left_out = {"tests", "benchmarks", "scripts", "docs", "requirements", "build", "dist"}
    return {
        f
        for f in map(str, files)
        if f.split("/")[0] not in left_out
        and not any(part.startswith(".") or part == "__pycache__" for part in f.split("/"))
        and f != "pyproject.toml"
    }


def test_a_tree_without_git_lists_its_sources_and_nothing_builds_left(tmp_path, monkeypatch):
    tree = exported(tmp_path, monkeypatch)
    listed = {p.as_posix() for p in build_script(tree).source_files()}
    copied = set(tracked())
    assert listed <= copied, sorted(listed - copied)  # nothing that builds leave
    assert shipped(copied) <= listed, sorted(shipped(copied) - listed)  # every file it ships
    assert {"__init__.py", "blender_manifest.toml", "core/job.py", "models/fewshot.py"} <= listed


def test_the_walk_lists_what_git_lists_in_a_checkout():
    """The rule without git is git's: in this checkout, the files the zip would carry are
    the same both ways (untracked ones included)."""
    script = build_script(ROOT)
    by_git = {p.as_posix() for p in script.source_files()}
    walked = {p.as_posix() for p in script._walked_files("compared")}
    assert shipped(walked) == shipped(by_git)


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        ("no .gitignore", "build from a git clone, or put the repository's .gitignore back"),
        ("a .git git cannot read", "fix the checkout (or install git), or build from a copy"),
    ],
)
def test_a_tree_it_cannot_list_is_refused_before_any_build(tmp_path, monkeypatch, damage, words):
    """Refused at once: no styles converted, no wheel downloaded (both were done first)."""
    tree = exported(tmp_path, monkeypatch, gitignore=damage != "no .gitignore")
    if damage == "a .git git cannot read":
        (tree / ".git").mkdir()
    models, wheels = tmp_path / "models", tmp_path / "wheels"
    argv = ["--platform", "linux-x64", "--models", str(models), "--wheel-cache", str(wheels)]
    with pytest.raises(SystemExit) as refused:
        build_script(tree).main(argv)
    assert words in str(refused.value)
    assert str(refused.value).startswith("build_extension: ")
    assert not models.exists() and not wheels.exists()


@pytest.mark.parametrize(
    ("color", "python", "command_line"),
    [
        (StripColor(30.0, 1.0), "strip_color.saturation=30", "--saturation 30"),
        (StripColor(1.0, 20.5), "strip_color.multiply=20.5", "--multiply 20.5"),
        (StripColor(math.nan, 1.0), "strip_color.saturation=nan", "--saturation nan"),
        (StripColor(1.0, -0.5), "strip_color.multiply=-0.5", "--multiply -0.5"),
        (StripColor(1.0, 1e300), "strip_color.multiply=1e+300", "--multiply 1e+300"),
    ],
)
def test_a_grade_out_of_range_is_said_alike(
    index_clip_h264, tmp_path, library, capsys, color, python, command_line
):
    job = StyleJob(
        index_clip_h264, tmp_path / "out", "comic-ink", library=library, strip_color=color
    )
    with pytest.raises(RestyleError) as refused:
        job.validate()
    assert str(refused.value) == f"{python} is out of range 0..20"
    assert refused.value.said(COMMAND_LINE) == f"{command_line} is out of range 0..20"
    flag, value = command_line.split()
    argv = ["stylize", str(index_clip_h264), "-s", "comic-ink", "-o", str(tmp_path / "cli")]
    assert cli.main([*argv, "--library", str(library.root), flag, value]) == cli.EXIT_BAD_INPUT
    assert f"restyle: error: {command_line} is out of range 0..20\n" in capsys.readouterr().err


def test_the_opacity_is_said_as_the_other_grade_options(index_clip_h264, tmp_path, library, capsys):
    argv = ["stylize", str(index_clip_h264), "-s", "comic-ink", "-o", str(tmp_path / "o")]
    assert cli.main([*argv, "--library", str(library.root), "--opacity", "2"]) == cli.EXIT_BAD_INPUT
    assert "restyle: error: --opacity 2 is out of range 0..1\n" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("fps", "said"),
    [
        (0, "0"),
        (-5, "-5"),
        ("0", "0"),
        (math.inf, "inf"),
        (math.nan, "nan"),
        (-0.5, "-0.5"),
        (np.float32(0), "0"),
        (-1e300, "-1e+300"),  # not its 301 digits (rate_refusal said int(-1e300))
    ],
)
def test_probe_refuses_a_rate_in_the_jobs_words(index_clip_h264, fps, said):
    with pytest.raises(RestyleError) as refused:
        probe(index_clip_h264, fps=fps)
    assert str(refused.value) == f"fps={said} is out of range 1..1000 frames/s"


def test_a_huge_refused_number_is_said_short():
    """rate_refusal said fps=-1e300 as its 301 digits; the grade's words say it as written."""
    said = RestyleError(rate_refusal(-1e300)).said(COMMAND_LINE)
    assert said == "--fps -1e+300 is out of range 1..1000 frames/s"
