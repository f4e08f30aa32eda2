"""The command line's words as a walkthrough met them: --json's error event carries no control
characters, -q silences --json's progress events, the GPU install is said per front end, Ray's
own sentence is not punctuated twice, a style suggestion pastes into a shell, `restyle shots`
suggests no keyframe on a blank frame, and the --json record says the output's frame rate
apart from its throughput."""

from __future__ import annotations

import json
from fractions import Fraction

import cv2
import numpy as np
import pytest

from restyle.core import cli, errors, ray_runner, ray_submit
from restyle.core.engines import onnx_engine, torch_engine
from restyle.core.errors import BLENDER, COMMAND_LINE, RestyleError
from restyle.core.shots import analyze_shots, frame_features, suggest_keyframes
from restyle.core.styles import _did_you_mean


@pytest.fixture
def shot(tmp_path):
    folder = tmp_path / "shot"
    folder.mkdir()
    rng = np.random.default_rng(5)
    for i in range(3):
        cv2.imwrite(str(folder / f"f_{i:04d}.png"), rng.integers(0, 256, (48, 64, 3), np.uint8))
    return folder


def run(library, *words: str, capsys):
    code = cli.main([*words, "--library", str(library.root)])
    said = capsys.readouterr()
    return code, said.out, said.err


# -- 3: the error event's neutral text --------------------------------------------------
def test_the_json_error_events_neutral_text_is_printable(library, shot, tmp_path, capsys):
    out = tmp_path / "mine.mp4"
    out.write_bytes(b"the user's own movie")
    code, _, err = run(library, "stylize", str(shot), "-o", str(out), "-s", "comic-ink", "--json",
                       capsys=capsys)  # fmt: skip
    assert code == 2
    event = json.loads(err.splitlines()[0])
    assert event["event"] == "error" and "use --overwrite" in event["error"]
    assert event["neutral"].isprintable(), repr(event["neutral"])
    assert "{{overwrite=true}}" in event["neutral"]
    # Blender's Run on: Ray words it again from there, in its own words
    marked = ray_submit.error_from_logs(err)
    assert marked is not None and errors.say(marked, COMMAND_LINE) == event["error"]
    assert errors.say(marked, BLENDER) == event["error"].replace("--overwrite", "overwrite=True")


def test_a_message_with_braces_of_its_own_falls_back_to_the_nodes_words():
    said = "cannot read {{start}}.png"
    event = {"event": "error", "error": said, "neutral": said}
    assert ray_submit.error_from_logs(f"{json.dumps(event)}\nrestyle: error: {said}\n") is None


def test_plain_and_marked_round_trip():
    text = f"use {errors.setting('overwrite', True)} or {errors.setting('format', 'ffv1')}"
    text += f", {errors.setting('device')}; {errors.remedy('gpu_support')}"
    assert errors.plain(text).isprintable() and errors.marked(errors.plain(text)) == text


# -- 4: -q with --json -------------------------------------------------------------------
def test_quiet_json_prints_no_progress_events(library, shot, tmp_path, capsys):
    words = ["stylize", str(shot), "-o", str(tmp_path / "out"), "-s", "comic-ink", "--json"]
    code, out, err = run(library, *words, capsys=capsys)
    assert code == 0 and '"event": "progress"' in err  # without -q: the events
    words[3] = str(tmp_path / "quiet")
    code, out, err = run(library, *words, "-q", capsys=capsys)
    assert code == 0 and err == "", err
    assert json.loads(out)["written"] == 3  # the record still comes


# -- 5: the GPU install, per front end ---------------------------------------------------
def test_cuda_missing_names_each_front_ends_install(library, monkeypatch):
    from restyle.core.engines import ModelFiles, create_engine
    from restyle.models.registry import ARCHS

    files = ModelFiles(
        ARCHS["multistyle26"],
        library.builtin_file("multistyle26", ".onnx"),
        library.builtin_file("multistyle26", ".safetensors"),
    )
    monkeypatch.setattr(onnx_engine, "available_devices", lambda: ["cpu"])
    with pytest.raises(RestyleError) as error:
        create_engine(files, "onnx", "cuda")
    command_line, blender = error.value.said(COMMAND_LINE), error.value.said(BLENDER)
    assert "pip install onnxruntime-gpu" in command_line and "preferences" not in command_line
    assert "Install GPU Support in the add-on preferences" in blender and "pip" not in blender


def test_a_cpu_only_torch_names_each_front_ends_install(monkeypatch):
    import torch

    monkeypatch.setattr(torch.version, "cuda", None)
    error = RestyleError(f"CUDA could not start in PyTorch: {torch_engine.why_no_torch_cuda()}")
    assert "preferences" not in error.said(COMMAND_LINE)
    assert error.said(COMMAND_LINE).endswith("has no CUDA: pip install onnxruntime-gpu "
                                             "(ONNX Runtime with CUDA)")  # fmt: skip
    assert "pip" not in error.said(BLENDER) and "add-on preferences" in error.said(BLENDER)


# -- 6: Ray's sentence, once punctuated ----------------------------------------------------
def test_a_ray_connection_error_is_punctuated_once(monkeypatch):
    class NoCluster:
        @staticmethod
        def is_initialized():
            return False

        @staticmethod
        def init(**_):
            raise ConnectionError(
                "Could not find any running Ray instance. Please specify the one to connect "
                "to by setting the `RAY_ADDRESS` environment variable."
            )

    monkeypatch.setattr(ray_runner, "import_ray", lambda: NoCluster)
    monkeypatch.setattr(ray_runner, "_check_auto_reachable", lambda: None)
    with pytest.raises(RestyleError) as error:
        ray_runner.connect("auto")
    said = str(error.value)
    assert ".;" not in said and "environment variable; start the head there" in said


# -- 7: a suggestion pastes into a shell ---------------------------------------------------
def test_a_suggested_name_is_quoted_for_the_shell():
    assert _did_you_mean("MY PAINT", ["comic-ink", "My Paint"]) == " (did you mean 'My Paint'?)"
    assert _did_you_mean("COMIC-INK", ["comic-ink", "My Paint"]) == " (did you mean comic-ink?)"


# -- 8: no keyframe on a blank frame -------------------------------------------------------
def scene(seed: int, shift: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (9, 16, 3), np.uint8)
    return np.roll(cv2.resize(small, (160, 90), interpolation=cv2.INTER_LINEAR), shift, axis=1)


def spliced() -> list[np.ndarray]:
    """Two panning shots with ten black frames between them (a fade's black slug)."""
    black = np.zeros((90, 160, 3), np.uint8)
    return [scene(1, i) for i in range(10)] + [black] * 10 + [scene(2, i) for i in range(10)]


def test_a_blank_shot_gets_no_keyframe_and_is_said_blank():
    frames = spliced()
    features = frame_features(frames)
    keyframes = suggest_keyframes(features, [10, 20])
    assert not any(10 <= k < 20 for k in keyframes) and len(keyframes) == 2
    shots = analyze_shots(frames)
    assert [(s.start, s.end) for s in shots] == [(0, 10), (10, 20), (20, 30)]
    blank = [s for s in shots if s.blank]
    assert blank and all(s.keyframes == () for s in blank)
    assert all(s.keyframes for s in shots if not s.blank)
    assert not any(frames[k].max() == 0 for s in shots for k in s.keyframes)


def test_a_stretch_with_black_frames_suggests_a_frame_that_shows_something():
    black = np.zeros((90, 160, 3), np.uint8)
    frames = [black] * 5 + [scene(3)]  # most of the shot black: the mean look is near black
    assert suggest_keyframes(frame_features(frames), []) == [5]


def test_shots_says_a_blank_shot(tmp_path, capsys):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(spliced()):
        cv2.imwrite(str(folder / f"f_{i:04d}.png"), cv2.resize(frame, (160, 96)))
    assert cli.main(["shots", str(folder), "--json"]) == 0
    shots = json.loads(capsys.readouterr().out)["shots"]
    assert [s["blank"] for s in shots] == [False, True, False]
    assert shots[1]["keyframes"] == [] and shots[0]["keyframes"] and shots[2]["keyframes"]
    assert cli.main(["shots", str(folder)]) == 0
    assert "blank (one flat color): no keyframe" in capsys.readouterr().out


# -- 9: the output's frame rate ------------------------------------------------------------
def test_the_record_says_the_output_frame_rate_apart_from_throughput(library, tmp_path, capsys):
    from clips import make_index_clip

    clip = make_index_clip(tmp_path / "clip.mp4", 3, fps=Fraction(24000, 1001))
    words = ["stylize", str(clip), "-o", str(tmp_path / "out.mkv"), "-s", "comic-ink"]
    code, out, err = run(library, *words, "--json", capsys=capsys)
    assert code == 0, err
    record = json.loads(out)
    assert record["frame_rate"] == pytest.approx(24000 / 1001, abs=1e-9)
    assert "fps" in record and record["fps"] != record["frame_rate"]
