"""A style learned from keyframes is a style like any other: CLI, library, both engines."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import cv2
import numpy as np
import pytest

from restyle.core.cli import main
from restyle.core.errors import RestyleError
from restyle.core.job import StyleJob
from restyle.core.media import decode_range
from restyle.core.style_install import install
from restyle.core.styles import StyleLibrary

pytest.importorskip("torch")


def invert(frame: np.ndarray) -> np.ndarray:
    return 255 - frame[..., :3]


@pytest.fixture(scope="module")
def trained(pan_clip, tmp_path_factory):
    """Train 'Negative' on two inverted keyframes of a panning clip (24 s of wall time: on
    a busy shared machine that is only a few CPU seconds)."""
    root = tmp_path_factory.mktemp("trained-library")
    paint = tmp_path_factory.mktemp("paint")
    args = []
    for f in (2, 20):
        frame = next(iter(decode_range(pan_clip, f, f)))
        path = paint / f"{f:04d}.png"
        cv2.imwrite(str(path), cv2.cvtColor(invert(frame), cv2.COLOR_RGB2BGR))
        args += ["--keyframe", f"{f}={path}"]
    code = main(
        [
            "train",
            str(pan_clip),
            *args,
            "--name",
            "Negative",
            "--time-budget",
            "24",
            "--library",
            str(root),
            "-q",
        ]
    )
    assert code == 0
    return StyleLibrary(root, bundled=None)


def test_trained_style_is_listed(trained, capsys):
    assert main(["styles", "--json", "--library", str(trained.root)]) == 0
    styles = {s["id"]: s for s in json.loads(capsys.readouterr().out)}
    assert styles["Negative"]["kind"] == "trained" and styles["Negative"]["thumbnail"]


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_trained_style_beats_identity_on_held_out_frames(trained, pan_clip, tmp_path, backend):
    out = tmp_path / backend
    result = StyleJob(
        pan_clip, out, "Negative", start=8, end=14, backend=backend, library=trained
    ).run()
    assert result.written == 7 and result.backend == backend
    for f, frame in zip(result.frame_files, decode_range(pan_clip, 8, 14), strict=True):
        styled = cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB).astype(int)
        truth = invert(frame).astype(int)
        identity = np.abs(frame.astype(int) - truth).mean()
        assert np.abs(styled - truth).mean() < identity / 3


def test_rename_pack_install_delete(trained, tmp_path):
    lib = trained
    lib.rename("Negative", "Film Negative")
    assert lib.resolve("Film Negative").kind == "trained"
    packed = lib.pack("Film Negative", tmp_path / "negative.restyle")
    other = StyleLibrary(tmp_path / "other", bundled=None)
    assert install(other, packed).name == "Film Negative"
    with pytest.raises(RestyleError, match="already exists"):
        install(other, packed)
    other.delete("Film Negative")
    assert not other.trained()
    lib.rename("Film Negative", "Negative")


def test_bad_keyframes_fail_clearly(pan_clip, tmp_path, capsys):
    root = str(tmp_path / "lib")
    assert main(["train", str(pan_clip), "-k", "5=missing.png", "-n", "X", "--library", root]) == 2
    assert "not found" in capsys.readouterr().err
    assert (
        main(["train", str(pan_clip), "-k", "500=missing.png", "-n", "X", "--library", root]) == 2
    )
    assert "outside" in capsys.readouterr().err
    assert main(["train", str(pan_clip), "-k", "five", "-n", "X", "--library", root]) == 2
    assert not (tmp_path / "lib" / "styles").exists()


def test_a_taken_name_names_the_overwrite_option(pan_clip, tmp_path, capsys):
    library = StyleLibrary(tmp_path / "lib", bundled=None)
    library.trained_folder("Taken").mkdir(parents=True)
    args = ["train", str(pan_clip), "-k", "5=missing.png", "-n", "Taken"]
    assert main([*args, "--library", str(library.root)]) == 2
    assert "--overwrite" in capsys.readouterr().err  # said only 'pick another name'


def _paint_frame_2(pan_clip, tmp_path):
    frame = next(iter(decode_range(pan_clip, 2, 2)))
    paint = tmp_path / "0002.png"
    cv2.imwrite(str(paint), cv2.cvtColor(invert(frame), cv2.COLOR_RGB2BGR))
    return paint


def _ctrl_c_when(ready) -> threading.Thread:
    """Press Ctrl-C once training has put its own handler in place and ``ready()``."""

    def press() -> None:
        deadline = time.monotonic() + 120
        while signal.getsignal(signal.SIGINT) is signal.default_int_handler or not ready():
            if time.monotonic() > deadline:
                return
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)

    presser = threading.Thread(target=press)
    presser.start()
    return presser


def test_ctrl_c_keeps_the_best_weights_says_so_and_exits_130(
    pan_clip, tmp_path, capsys, monkeypatch
):
    """README: Ctrl-C exits 130; past the first checkpoint training keeps the best weights
    so far as the style, and says it was cut short."""
    from restyle.core.train import trainer

    checkpointed = threading.Event()
    mine = trainer._Run.mine_hard_examples

    def mine_and_tell(run):  # called right after each validation checkpoint in the loop
        checkpointed.set()
        return mine(run)

    monkeypatch.setattr(trainer._Run, "mine_hard_examples", mine_and_tell)
    paint = _paint_frame_2(pan_clip, tmp_path)
    presser = _ctrl_c_when(checkpointed.is_set)
    code = main(["train", str(pan_clip), "-k", f"2={paint}", "-n", "Stopped",
                 "--time-budget", "300", "--library", str(tmp_path / "lib")])  # fmt: skip
    presser.join()
    out = capsys.readouterr()
    assert code == 130
    assert "the style is cut short; its best weights so far are saved as 'Stopped'" in out.out
    assert "trained style" not in out.out + out.err
    assert "Stopped" in {s.name for s in StyleLibrary(tmp_path / "lib", bundled=None).list()}


def test_ctrl_c_before_the_first_checkpoint_saves_nothing(pan_clip, tmp_path, capsys):
    """Walkthrough: Ctrl-C at once saved the untrained weights as a style called trained
    (0 iterations, near-black frames). Now nothing is written and the name stays free."""
    paint = _paint_frame_2(pan_clip, tmp_path)
    presser = _ctrl_c_when(lambda: True)
    code = main(["train", str(pan_clip), "-k", f"2={paint}", "-n", "Early",
                 "--time-budget", "60", "--library", str(tmp_path / "lib")])  # fmt: skip
    presser.join()
    out = capsys.readouterr()
    assert code == 130
    lines = (out.out + out.err).strip().splitlines()
    assert lines == ["restyle: cancelled before the first checkpoint: nothing saved"]
    library = StyleLibrary(tmp_path / "lib", bundled=None)
    assert not library.trained() and not library.trained_folder("Early").exists()


def test_python_cancelled_before_the_first_checkpoint_writes_nothing(pan_clip, tmp_path):
    """The one rule for every front end (Blender's Train Style runs the same function)."""
    from restyle.core.errors import Cancelled
    from restyle.core.progress import CancelToken
    from restyle.core.train.keyframes import train_from_keyframes

    cancel = CancelToken()
    cancel.cancel()
    library = StyleLibrary(tmp_path / "lib", bundled=None)
    paint = _paint_frame_2(pan_clip, tmp_path)
    with pytest.raises(Cancelled, match="before the first checkpoint: nothing saved"):
        train_from_keyframes(pan_clip, {2: paint}, "Early", library, cancel=cancel)
    assert not library.trained_folder("Early").exists()
    assert not list(library.trained_folder("Early").parent.glob("*Early*"))
