"""Round 23 (keys13): issue 13's keyframe styles — one table of span-guide names."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from restyle.core.cli import main
from restyle.core.media import decode_range
from restyle.core.train import trainer
from restyle.core.train.artifact import load_generator, write_trained_style
from restyle.core.train.trainer import TrainConfig, train_style
from restyle.models import registry
from restyle.models.registry import ARCHS

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


# --- the long log span is the default guide of new keyframe styles (round 23) ---------------

torch = pytest.importorskip("torch")
from restyle.models.fewshot import FewShotGenerator  # noqa: E402
from restyle.models.fewshot_spans import SpanGenerator  # noqa: E402


def _tiny(**settings) -> TrainConfig:
    """A 4-wide generator, a few steps on 16-pixel patches (seconds, not a real style)."""
    return TrainConfig(
        threads=1,
        time_budget_s=60,
        clock="cpu",
        max_iterations=4,
        patch_size=16,
        generator_width=4,
        generator_blocks=1,
        val_every=2,
        **settings,
    )


def _pairs() -> list:
    rng = np.random.default_rng(3)
    frames = [
        np.repeat(np.repeat(rng.integers(0, 256, (6, 8, 3), np.uint8), 8, 0), 8, 1)
        for _ in range(2)
    ]
    return [(f, 255 - f) for f in frames]


def _saved(result, folder: Path) -> Path:
    kept = dict(source="clip.mp4", keyframes=[0, 1], thumbnail=np.zeros((16, 16, 3), np.uint8))
    return write_trained_style(folder, result, name="Style", **kept)


def test_new_keyframe_styles_learn_the_long_log_span(tmp_path):
    assert TrainConfig().generator_guides == "spans-128-log"
    result = train_style(_pairs(), config=_tiny())
    assert result.arch_config["guides"] == "spans-128-log"
    generator = load_generator(_saved(result, tmp_path / "new"))
    assert isinstance(generator, SpanGenerator) and generator.guides_kind == "spans-128-log"
    # the round-19 switch still names its own ladder over the default
    assert train_style(_pairs(), config=_tiny(generator_spans=True)).arch_config["guides"] == (
        "spans"
    )


def test_styles_saved_with_the_old_default_load_as_before(tmp_path):
    result = train_style(_pairs(), config=_tiny(generator_guides="multiscale"))
    folder = _saved(result, tmp_path / "old")
    assert json.loads((folder / "style.json").read_text())["arch_config"]["guides"] == (
        "multiscale"
    )
    generator = load_generator(folder)
    assert type(generator) is FewShotGenerator and generator.guides_kind == "multiscale"
    image = torch.from_numpy(_pairs()[0][0].transpose(2, 0, 1)[None].astype(np.float32) / 255)
    built = FewShotGenerator(**result.arch_config)
    built.load_state_dict({k: torch.from_numpy(v) for k, v in result.state_dict.items()})
    with torch.inference_mode():
        assert torch.equal(generator(image), built.eval()(image))
    # and they keep bf16 where the CPU has it; the span styles run fp32
    assert ARCHS["fewshot"].allows_half({"guides": "multiscale"})
    assert not ARCHS["fewshot"].allows_half({"guides": "spans-128-log"})


def test_the_command_line_trains_the_default_guides(pan_clip, tmp_path):
    painted = []
    for f in (2, 20):
        frame = next(iter(decode_range(pan_clip, f, f)))
        path = tmp_path / f"{f:04d}.png"
        cv2.imwrite(str(path), cv2.cvtColor(255 - frame[..., :3], cv2.COLOR_RGB2BGR))
        painted += ["--keyframe", f"{f}={path}"]
    library = tmp_path / "library"
    argv = ["train", str(pan_clip), *painted, "--name", "Negative", "--library", str(library)]
    assert main([*argv, "--time-budget", "3", "-q"]) == 0
    (style,) = library.glob("**/style.json")
    assert json.loads(style.read_text())["arch_config"]["guides"] == "spans-128-log"


def test_blenders_train_button_leaves_the_guides_to_the_trainer():
    """TrainJob.run (operators/train_style.py, bpy only at its top) builds its TrainConfig
    from the budget alone, so Blender's Train gets the trainer's default guides as the
    command line does."""
    tree = ast.parse((ROOT / "operators" / "train_style.py").read_text())
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "TrainConfig"
    ]
    assert calls and all(
        {k.arg for k in call.keywords} <= {"time_budget_s", "budget_from"} for call in calls
    )


def test_matte_training_keeps_the_guides_it_was_measured_with(monkeypatch):
    from restyle.core.mappings.matte import KeyframeCorrector

    seen = []

    def record(pairs, config, **kwargs):
        seen.append(config)
        raise RuntimeError("recorded")

    monkeypatch.setattr(trainer, "train_style", record)
    with pytest.raises(RuntimeError, match="recorded"):
        KeyframeCorrector.train([], seconds=5)
    assert seen[0].generator_guides == "multiscale"
