"""One error, three front ends: a message names a setting the user can change as each
front end spells it. A script calling ``StyleJob(...).run()`` was told 'use --overwrite',
'--start 9 is after --end 4' or '--format ffv1', and Blender's sidebar said the same."""

from __future__ import annotations

import argparse
import ast
import pickle
import re
from pathlib import Path

import pytest

from restyle.core import errors
from restyle.core.cli import build_parser, main
from restyle.core.errors import COMMAND_LINE, RestyleError, setting
from restyle.core.job import StyleJob
from restyle.operators.runner import blender_message

ROOT = Path(__file__).resolve().parents[1]


def refusal(call) -> RestyleError:
    with pytest.raises(RestyleError) as error:
        call()
    return error.value


def test_a_range_error_names_the_bounds_in_each_front_ends_words(
    library, index_clip_h264, tmp_path, capsys
):
    job = StyleJob(index_clip_h264, tmp_path / "out", "comic-ink", start=9, end=4, library=library)
    error = refusal(job.validate)
    assert str(error) == "start=9 is after end=4"
    assert error.said(COMMAND_LINE) == "--start 9 is after --end 4"
    assert blender_message(error) == "first source frame 9 is after last source frame 4"
    argv = ["stylize", str(index_clip_h264), "-o", str(tmp_path / "o"), "-s", "comic-ink"]
    assert main([*argv, "--start", "9", "--end", "4", "--library", str(library.root)]) == 2
    assert capsys.readouterr().err == "restyle: error: --start 9 is after --end 4\n"
    assert not (tmp_path / "out").exists() and not (tmp_path / "o").exists()


RANGED = [
    # (job, keyword, value, Python's words, the command line's, Blender's)
    ("style", "strength", 2.0, "strength=2.0", "--strength 2.0", "Strength 2.0"),
    ("style", "temporal", 2.0, "temporal=2.0", "--temporal 2.0", "Temporal Coherence 2.0"),
    ("style", "max_side", 10, "max_side=10", "--max-side 10", "Longest Side 10"),
    ("style", "scale", 9.0, "scale=9.0", "--scale 9.0", "Scale 9.0"),
    ("style", "carry", 3.0, "carry=3.0", "--carry 3.0", "Carry Keyframes 3.0"),
    ("style", "batch_size", 0, "batch_size=0", "--batch 0", "batch_size=0"),
    ("stabilize", "crop", 0.9, "crop=0.9", "--crop 0.9", "Crop 0.9"),
    ("stabilize", "smoothness", 2.0, "smoothness=2.0", "--smoothness 2.0", "Smoothness 2.0"),
    # its slider is Stabilize Strength: the style's Strength is a slider in the same sidebar
    ("stabilize", "strength", 2.0, "strength=2.0", "--strength 2.0", "Stabilize Strength 2.0"),
    ("matte", "temporal", 3.0, "temporal=3.0", "--temporal 3.0", "Temporal Coherence 3.0"),
]


@pytest.mark.parametrize(("kind", "keyword", "value", "python", "command_line", "blender"), RANGED)
def test_an_out_of_range_setting_is_named_in_each_front_ends_words(
    library, index_clip_h264, tmp_path, kind, keyword, value, python, command_line, blender
):
    """Walkthrough: 'strength must be between 0 and 1, got 2.0' named no flag or keyword."""
    from restyle.core.mappings.matte_job import MatteJob
    from restyle.core.mappings.stabilize_job import StabilizeJob

    job_type = {"style": StyleJob, "stabilize": StabilizeJob, "matte": MatteJob}[kind]
    style = {"style": ("comic-ink",), "stabilize": (), "matte": ()}[kind]
    job = job_type(index_clip_h264, tmp_path / "out", *style, library=library, **{keyword: value})
    error = refusal(job.validate)
    assert str(error).startswith(f"{python} is out of range ")
    assert error.said(COMMAND_LINE).startswith(f"{command_line} is out of range ")
    assert blender_message(error).startswith(f"{blender} is out of range ")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("command", "words"),
    [
        (["stylize", "-s", "comic-ink", "--max-side", "5"], "--max-side 5 is out of range 32..16384"),
        (["stylize", "-s", "comic-ink", "--strength", "2"], "--strength 2.0 is out of range 0..1"),
        (["stabilize", "--crop", "0.9"], "--crop 0.9 is out of range 0..0.5"),
        (["matte", "--temporal", "3"], "--temporal 3.0 is out of range 0..1"),
    ],
)  # fmt: skip
def test_the_command_line_names_the_flag_out_of_range(
    library, index_clip_h264, tmp_path, capsys, command, words
):
    argv = [command[0], str(index_clip_h264), "-o", str(tmp_path / "o"), *command[1:]]
    assert main([*argv, "--library", str(library.root)]) == 2
    assert capsys.readouterr().err == f"restyle: error: {words}\n"


def test_an_existing_movie_names_overwrite_as_a_keyword_in_python(
    library, index_clip_h264, tmp_path, capsys
):
    out = tmp_path / "styled.mp4"
    out.write_bytes(b"the user's movie")
    job = StyleJob(index_clip_h264, out, "comic-ink", end=1, library=library)
    error = refusal(job.run)
    why = "but cannot be read as a movie (damaged, truncated, or not a movie)"  # its bytes
    assert str(error) == f"output {out} exists {why}; use overwrite=True to replace it"
    assert error.said(COMMAND_LINE) == f"output {out} exists {why}; use --overwrite to replace it"
    assert blender_message(error) == str(error)  # no Blender control: Python's words
    argv = ["stylize", str(index_clip_h264), "-o", str(out), "-s", "comic-ink", "--end", "1"]
    assert main([*argv, "--library", str(library.root)]) == 2
    assert "use --overwrite to replace it" in capsys.readouterr().err
    assert out.read_bytes() == b"the user's movie"


def test_a_suffix_no_format_chooses_names_the_format_setting(tmp_path, capsys):
    from restyle.core.writers import format_for_output

    error = refusal(lambda: format_for_output(tmp_path / "out.avi"))
    assert "without format='ffv1':" in str(error) and "; format chooses)" in str(error)
    assert "without --format ffv1:" in error.said(COMMAND_LINE)
    assert "; --format chooses)" in error.said(COMMAND_LINE)
    assert "without Format 'FFV1 Movie':" in blender_message(error)
    assert "--" not in str(error) and "--" not in blender_message(error)


@pytest.mark.parametrize(
    ("device", "python", "command_line", "blender"),
    [
        ("mps", "device='mps' is PyTorch's: use backend='torch'", "--device mps is PyTorch's: use --backend torch", "Device 'Metal' is PyTorch's: use Backend 'PyTorch'"),
        ("npu", "use backend='openvino'", "use --backend openvino", "use Backend 'OpenVINO'"),
    ],
)  # fmt: skip
def test_another_engines_device_names_its_backend(device, python, command_line, blender):
    from restyle.core.engines import onnx_engine

    error = refusal(lambda: onnx_engine.providers_for(device))
    assert python in str(error) and "--" not in str(error)
    assert command_line in error.said(COMMAND_LINE)
    assert blender in blender_message(error)


def test_a_taken_style_name_names_overwrite(library, tmp_path):
    from restyle.core.style_install import _move_into_place

    taken = tmp_path / "taken"
    taken.mkdir()
    error = refusal(lambda: _move_into_place(tmp_path / "new", taken, False, "Ink"))
    assert str(error) == "a style named 'Ink' already exists; overwrite=True replaces it"
    assert error.said(COMMAND_LINE).endswith("; --overwrite replaces it")


def test_an_existing_movie_file_names_overwrite(tmp_path):
    from restyle.core.writers import MovieWriter

    out = tmp_path / "styled.mkv"
    out.write_bytes(b"the user's movie")
    error = refusal(lambda: MovieWriter(out, codec="ffv1", fps=24, width=16, height=16))
    assert str(error).endswith("choose another name or use overwrite=True")
    assert error.said(COMMAND_LINE).endswith("choose another name or use --overwrite")
    assert blender_message(error) == str(error)  # Blender writes a new folder: no control
    assert out.read_bytes() == b"the user's movie"


def test_a_taken_name_for_training_names_blenders_replace_existing(tiny_style, tmp_path):
    """Blender's Train Style has a control for it (the sidebar's Replace Existing). A real
    style takes the name (an empty folder is no style: it is said to be a stray one)."""
    from restyle.core.styles import StyleLibrary
    from restyle.core.train.keyframes import train_from_keyframes

    library = StyleLibrary(tiny_style, bundled=None)
    keyframes = {0: tmp_path / "0.png"}
    error = refusal(lambda: train_from_keyframes(tmp_path / "clip.mp4", keyframes, "Tiny", library))
    assert str(error) == "a style named 'Tiny' already exists; use another name or overwrite=True"
    assert error.said(COMMAND_LINE).endswith("use another name or --overwrite")
    assert blender_message(error).endswith("use another name or Replace Existing")


def test_an_openvino_device_not_here_names_the_cpu_device():
    from restyle.core.engines.openvino_engine import ov_device

    error = refusal(lambda: ov_device("gpu", ["CPU"]))
    assert str(error).endswith("(found: CPU); use device='cpu'")
    assert error.said(COMMAND_LINE).endswith("; use --device cpu")
    assert blender_message(error).endswith("; use Device 'CPU'")


@pytest.mark.parametrize(
    ("gpus", "python", "command_line", "blender"),
    [
        (0, "use device='cpu' or device='auto'", "use --device cpu or --device auto", "use Device 'CPU' or Device 'Automatic'"),
        (1, "use device='cuda', device='cpu' or", "use --device cuda, --device cpu or", "use Device 'CUDA', Device 'CPU' or"),
    ],
)  # fmt: skip
def test_no_mps_names_the_devices_to_use(monkeypatch, gpus, python, command_line, blender):
    """The reason is a plain string put in the error later: its settings stay marked."""
    torch = pytest.importorskip("torch")
    from restyle.core.engines import torch_engine

    monkeypatch.setattr(torch_engine.sys, "platform", "linux")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpus > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    error = RestyleError(f"device 'mps' cannot be used: {torch_engine.why_no_mps()}")
    assert python in str(error) and "--" not in str(error)
    assert command_line in error.said(COMMAND_LINE)
    assert blender in blender_message(error)


def test_an_empty_background_names_replace(tmp_path):
    from restyle.core.mappings.matte_job import MatteJob

    error = refusal(MatteJob(tmp_path / "clip.mkv", tmp_path / "out", replace=" ").validate)
    assert str(error).startswith("replace is empty: give a picture")
    assert error.said(COMMAND_LINE).startswith("--replace is empty: give a picture")


def test_an_error_sent_between_processes_keeps_its_settings():
    """A Ray task's error reaches the driver pickled; the command line still names flags."""
    error = pickle.loads(pickle.dumps(RestyleError(f"use {setting('device', 'cpu')}")))
    assert (str(error), error.said(COMMAND_LINE)) == ("use device='cpu'", "use --device cpu")
    assert type(pickle.loads(pickle.dumps(errors.Cancelled("stopped")))) is errors.Cancelled


def test_a_message_without_settings_reads_the_same_everywhere():
    error = RestyleError("no sequencer scene")
    assert str(error) == error.said(COMMAND_LINE) == blender_message(error) == "no sequencer scene"
    assert blender_message(ValueError("bad\nmore")) == "ValueError: bad"  # not a RestyleError


def test_an_unknown_setting_fails_where_it_is_written():
    with pytest.raises(KeyError, match="no setting 'overwritee'"):
        setting("overwritee", True)


def test_every_setting_is_a_flag_of_the_command_line_and_a_job_keyword():
    """The table's words are the real ones: a flag some command takes, a keyword a job
    (or install, or contact_sheet: the sheet's tile_width) takes."""
    import dataclasses
    import inspect

    from restyle.core.contact_sheet import contact_sheet
    from restyle.core.mappings.matte_job import MatteJob
    from restyle.core.style_install import install
    from restyle.core.train.trainer import TrainConfig

    parser = build_parser()
    flags = {
        flag
        for action in parser._subparsers._group_actions
        for sub in action.choices.values()
        for flag in sub._option_string_actions
    }
    from restyle.core.mappings.stabilize_job import StabilizeJob

    jobs = (StyleJob, MatteJob, StabilizeJob, TrainConfig)  # TrainConfig: time_budget_s
    keywords = {f.name for job in jobs for f in dataclasses.fields(job)}
    keywords |= set(inspect.signature(install).parameters)
    keywords |= set(inspect.signature(contact_sheet).parameters)
    for key, row in errors.SETTINGS.items():
        assert row.flag in flags, f"{key}: no command takes {row.flag}"
        assert row.keyword in keywords, f"{key}: no job takes {row.keyword}="


# Modules only the command line runs (``--ray``: Blender submits a command line to the
# cluster).
COMMAND_LINE_ONLY = {"core/cli.py", "core/ray_runner.py"}
FLAG = re.compile(r"(?<![\w-])--[a-z][\w-]*")


def restyle_flags() -> set[str]:
    """Restyle's own flags, its subcommands' included: another tool's flag ('ray start
    --head' in a hint on starting a cluster) is that tool's words, in every front end."""
    parsers, flags = [build_parser()], set()
    while parsers:
        parser = parsers.pop()
        for action in parser._actions:
            flags.update(o for o in action.option_strings if o.startswith("--"))
            if isinstance(action, argparse._SubParsersAction):
                parsers.extend(action.choices.values())
    return flags


RESTYLE_FLAGS = restyle_flags()


def flag_naming_raises(path: Path) -> set[str]:
    """The functions (qualified names) of ``path`` that raise a RestyleError whose own text
    names a command-line flag."""
    found: set[str] = set()

    def visit(node: ast.AST, scope: tuple[str, ...]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scope = (*scope, node.name)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "RestyleError":
            texts = [n.value for a in node.args for n in ast.walk(a) if isinstance(n, ast.Constant)]
            if any(isinstance(t, str) and FLAG.search(t) for t in texts):
                found.add(".".join(scope))
        for child in ast.iter_child_nodes(node):
            visit(child, scope)

    visit(ast.parse(path.read_text(encoding="utf-8")), ())
    return found


def flag_naming_words(path: Path) -> set[str]:
    """The lines of ``path`` holding words (a string with a space, not a docstring) that
    name a flag: a reason returned and put in an error later ('use --device cpu')."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return {
        f"line {node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and " " in node.value
        if id(node) not in docstrings and set(FLAG.findall(node.value)) & RESTYLE_FLAGS
    }


def shared_modules() -> list[Path]:
    return [
        path
        for path in sorted((ROOT / "core").rglob("*.py"))
        if str(path.relative_to(ROOT)) not in COMMAND_LINE_ONLY
    ]


def test_no_shared_code_names_a_flag_in_an_error():
    named = {
        (str(p.relative_to(ROOT)), where)
        for p in shared_modules()
        for where in flag_naming_raises(p)
    }
    assert not named, f"name these with errors.setting(): {sorted(named)}"


# A range check that names no setting: 'must be between 0 and 1', 'out of range 0..1'.
RANGE = re.compile(r"must be (between|at least|in \[|\d)|out of range")
# Range checks of values no front end lets a user set: the chunk plan's (the command line
# checks --chunk-frames itself), StyleSettings.tile and .flat_contrast (no flag, no job keyword).
UNSET_BY_USERS = {
    ("core/plan.py", "plan_chunks: chunk length must be at least 1 frame, got "),
    ("core/plan.py", "plan_chunks: warm-up must be 0 or more frames, got "),
    ("core/stylizer.py", "StyleSettings.check: tile size must be at least 128, got "),
    ("core/stylizer.py", "StyleSettings.check: flat_contrast  is out of range 0..1"),
}


def unmarked_range_raises(path: Path) -> set[str]:
    """'function: text' for each RestyleError of ``path`` that states a range but marks no
    setting (``errors.setting``): the user is not told which control is out of range."""
    found: set[str] = set()

    def visit(node: ast.AST, scope: tuple[str, ...]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scope = (*scope, node.name)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "RestyleError":
            inner = [n for a in node.args for n in ast.walk(a)]
            texts = [n.value for n in inner if isinstance(n, ast.Constant)]
            marked = any(getattr(getattr(n, "func", None), "id", None) == "setting" for n in inner)
            words = "".join(t for t in texts if isinstance(t, str))
            if not marked and RANGE.search(words):
                found.add(f"{'.'.join(scope)}: {words}")
        for child in ast.iter_child_nodes(node):
            visit(child, scope)

    visit(ast.parse(path.read_text(encoding="utf-8")), ())
    return found


def test_no_shared_code_states_a_range_without_naming_its_setting():
    named = {
        (str(p.relative_to(ROOT)), where)
        for p in shared_modules()
        for where in unmarked_range_raises(p)
    }
    assert named <= UNSET_BY_USERS, f"name these with errors.setting(): {sorted(named)}"


def test_no_shared_code_names_a_flag_in_words_an_error_may_say():
    """why_no_mps returned 'use --device cpu or auto' for an error to say in Blender too."""
    named = {
        (str(p.relative_to(ROOT)), at) for p in shared_modules() for at in flag_naming_words(p)
    }
    assert not named, f"name these with errors.setting(): {sorted(named)}"


# Add-on code that says a caught RestyleError in Python's words, owned by others: the GPU
# pack's plan (the lead's gpu_support.py; its errors name no setting today).
SAID_AS_PYTHON = {
    ("gpu_support.py", "RESTYLE_OT_install_gpu.execute"),
    ("gpu_support.py", "draw"),
}


def python_worded_catches(path: Path) -> set[str]:
    """The functions of ``path`` that catch a RestyleError and say it as ``str(exc)`` or
    ``f"{exc}"`` (Python's wording) rather than through runner.blender_message."""
    found: set[str] = set()

    def catches_ours(handler: ast.ExceptHandler) -> bool:
        return handler.name is not None and any(
            getattr(n, "id", None) == "RestyleError" for n in ast.walk(handler.type)
        )

    def said_raw(node: ast.AST, name: str) -> bool:
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "str":
            return any(getattr(a, "id", None) == name for a in node.args)
        return isinstance(node, ast.FormattedValue) and getattr(node.value, "id", None) == name

    def visit(node: ast.AST, scope: tuple[str, ...]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scope = (*scope, node.name)
        if isinstance(node, ast.ExceptHandler) and catches_ours(node):
            body = [n for statement in node.body for n in ast.walk(statement)]
            if any(said_raw(n, node.name) for n in body):
                found.add(".".join(scope))
        for child in ast.iter_child_nodes(node):
            visit(child, scope)

    visit(ast.parse(path.read_text(encoding="utf-8")), ())
    return found


def test_blender_says_every_error_it_catches_in_its_own_words():
    """An operator's refusal in prepare() (job.validate()) said 'end=11' where the sidebar
    says 'End': every add-on module says a caught RestyleError with blender_message."""
    files = [
        *ROOT.glob("*.py"),
        *(ROOT / "operators").glob("*.py"),
        *(ROOT / "panels").glob("*.py"),
    ]
    raw = {
        (str(path.relative_to(ROOT)), where)
        for path in sorted(files)
        for where in python_worded_catches(path)
    }
    assert raw <= SAID_AS_PYTHON, (
        f"say these with runner.report_error: {sorted(raw - SAID_AS_PYTHON)}"
    )
