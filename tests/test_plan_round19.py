"""Round 19's --plan and refusal words, each case failing on the code before it:

1. ``--plan`` without ``--ray`` into a movie says what a local run does: it styles the
   movie from the start, whatever frames a cancelled ``--ray`` run left in the movie's
   hidden frames folder (b44b1ec counted them for every plan: 'resumes: 4 already written'
   where the run then wrote all 6, and 'a run would be refused' for a folder of other
   settings where the run went ahead, exit 0). ``--plan --ray`` still counts them, as a
   ``--ray`` rerun resumes from them (tests/test_ray_round19b.py).
2. Output made when a file's ends only were read (no 'blocks' in its record) whose picture
   style was repainted since is refused naming the style's file, not 'from another source'.

No cluster: the cancelled --ray run runs its tasks in this process (test_ray_range_extend's
``InProcessRay``). Strength 0 writes the source's frames: no network converted or run."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from helpers_cli import run
from test_ray_round19b import RAY, cancelled_mux, stylize

from restyle.core import job, ray_runner
from restyle.core.job import movie_frames_folder

from clips import noise_shot

pytestmark = pytest.mark.usefixtures("private_home")


@pytest.fixture
def shot(tmp_path):
    return noise_shot(tmp_path / "shot", 6)


def cancel_on_ray(shot, out, capsys, monkeypatch, *words: str, strength: str = "0") -> None:
    """A --ray run into the movie ``out`` cancelled at its mux: frames 0-3 kept."""
    with monkeypatch.context() as cancelled:
        cancelled.setattr(ray_runner, "_mux", cancelled_mux)
        code, record, err = run([*stylize(shot, out, *RAY, strength=strength), *words], capsys)
    assert code == 130 and record["written"] == 4, err
    assert movie_frames_folder(out).is_dir()


# -- 1. --plan without --ray: what a local run does ------------------------------------------
def test_a_plan_without_ray_ignores_ray_frames_of_these_settings(
    in_process, shot, tmp_path, capsys, monkeypatch
):
    """Frames 0-3 of these settings kept by a cancelled --ray run: --plan said 'resumes: 4
    already written, 2 to make' where the local run then writes all 6 and reuses none;
    --plan --ray still says the --ray rerun's resume."""
    out = tmp_path / "out.mkv"
    cancel_on_ray(shot, out, capsys, monkeypatch, "--end", "3")
    code, plan, err = run(stylize(shot, out, "--plan"), capsys)
    seen = plan["output"]
    assert code == 0 and seen["outcome"] == "new", (seen, err)
    assert (seen["reused"], seen["to_make"], seen["replaced"]) == (0, 6, 0)
    code, on_ray, err = run(stylize(shot, out, "--plan", *RAY), capsys)
    assert code == 0 and on_ray["output"]["outcome"] == "resume", (on_ray, err)
    assert (on_ray["output"]["reused"], on_ray["output"]["to_make"]) == (4, 2)
    code, record, err = run(stylize(shot, out), capsys)
    assert code == 0 and (record["written"], record["reused"]) == (6, 0), err
    assert not movie_frames_folder(out).exists()  # 92a12fd: these settings' frames go


def test_a_plan_without_ray_ignores_ray_frames_of_other_settings(
    in_process, shot, tmp_path, capsys, monkeypatch
):
    """Frames of --strength 0.5 kept by a cancelled --ray run: --plan said 'a run would be
    refused: ... (--strength 0.5, now 0.0)' where the local run goes ahead, exit 0; --plan
    --ray still says the --ray rerun's refusal, naming the folder and the setting."""
    out = tmp_path / "out.mkv"
    cancel_on_ray(shot, out, capsys, monkeypatch, "--end", "3", strength="0.5")
    code, plan, err = run(stylize(shot, out, "--plan"), capsys)
    seen = plan["output"]
    assert code == 0 and seen["outcome"] == "new" and seen["reason"] is None, (seen, err)
    assert (seen["reused"], seen["to_make"]) == (0, 6)
    code, text, err = run_text(stylize(shot, out, "--plan"), capsys)
    assert code == 0 and "new: 6 frames to make" in text and "refused" not in text, text
    code, on_ray, err = run(stylize(shot, out, "--plan", *RAY), capsys)
    assert code == 0 and on_ray["output"]["outcome"] == "refused", (on_ray, err)
    said = on_ray["output"]["reason"]
    assert f"{movie_frames_folder(out).name} holds frames made with other settings" in said
    assert "(--strength 0.5, now 0.0)" in said, said
    code, record, err = run(stylize(shot, out), capsys)
    assert code == 0 and (record["written"], record["reused"]) == (6, 0), err
    assert movie_frames_folder(out).is_dir()  # not its settings': kept


def run_text(argv, capsys):
    """``restyle <argv>`` in this process, in words: its exit code, stdout and stderr."""
    from restyle.core import cli

    code = cli.main(argv)
    said = capsys.readouterr()
    return code, said.out, said.err


# -- 2. a picture style repainted since output made when a file's ends only were read --------
def test_a_repainted_style_picture_is_named_not_another_source(tmp_path, capsys):
    """Output kept without 'blocks' in its record (made when a file's first and last 64 KiB
    only were read), its source the same (small pictures: read whole either way), its
    picture style repainted since: refused as 'from another source, or from this one as an
    earlier Restyle knew its files'; now the style's file is named."""
    shot, out, style = noise_shot(tmp_path / "shot", 3), tmp_path / "out", tmp_path / "style.png"
    cv2.imwrite(str(style), np.random.default_rng(1).integers(0, 256, (48, 64, 3), np.uint8))
    argv = ["stylize", str(shot), "-o", str(out), "-s", str(style), "--strength", "0"]
    code, _, err = run(argv, capsys)
    assert code == 0, err
    manifest = out / job.MANIFEST
    kept = json.loads(manifest.read_text())
    kept["made_from"].pop("blocks")  # as such a Restyle wrote it
    manifest.write_text(json.dumps(kept))
    cv2.imwrite(str(style), np.random.default_rng(2).integers(0, 256, (48, 64, 3), np.uint8))
    code, _, err = run(argv, capsys)
    assert code == 2 and "with the style as it was before (its file changed since" in err, err
    assert "another source" not in err, err
    assert "as an earlier Restyle knew it (by its first and last 64 KiB only" in err, err
