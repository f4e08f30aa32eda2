"""Round 17's late core findings, each case failing on the code before it:

1. --carry's warning named a picture style whose path holds a comma ('starry, night.jpg')
   'a mix of built-in styles': the style's kind is read first.
2. A cancelled Ray submission counted its kept frames with ``is_file`` (a movie's as '.png',
   hard-coded): an empty frame or one of older settings counted as kept in Blender's cancel
   summary, not in the command line's. Now by the one rule (``Landing.written``).
3. Blender's Run on: Ray passed --carry with any style whenever Carry was not 1, so the
   node's command line warned that it does nothing: only a trained style's carries.
4. ``check_keyframes`` named a keyframe outside the source by its source index; Blender's
   Train passes the scene frame (``called``), as ``read_styled_keyframe`` takes it.
5. ``train_from_keyframes`` warned under ``not checkpointed`` what ``barely_trained`` said:
   had the two ever disagreed, an empty 'restyle: warning: '. One condition now."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from restyle.core import cli, ray_submit
from restyle.core.errors import RestyleError
from restyle.core.job import MANIFEST, StyleJob, movie_frames_folder
from restyle.core.progress import CancelToken
from restyle.core.ray_runner import frames_format
from restyle.core.ray_submit import RaySubmission, stylize_command

from clips import make_image_sequence


def node_manifest(job, plan, stale: list[str] | None = None) -> None:
    """The frames manifest the node's ``run_on_ray`` writes before any frame of a placed
    ``job`` lands (its twin's settings key: a movie's frames in ``frames_format``): a stand-in
    cluster's frames are kept (``Landing.written``) only beside it, as a real node's are."""
    movie = plan.format.movie
    folder = movie_frames_folder(plan.output) if movie else plan.output
    fmt = frames_format(plan.format).id
    key = dataclasses.replace(job, output=folder, format=fmt).validate().key
    (folder / MANIFEST).write_text(json.dumps({"key": key, "stale": stale or []}))


def cancelled_after_landing(monkeypatch, job, landed, picture, done: int, total: int):
    """A placed ``job`` submitted to a stand-in cluster that lands ``landed`` (a frame file,
    written as ``picture``), reports ``done`` of ``total``, then sees Esc: the result."""

    def dashboard(url, data=None, method=None):
        if url.endswith("/logs"):
            cv2.imwrite(str(landed), picture)
            token.cancel()  # Esc once it landed
            progress = {"event": "progress", "done": done, "total": total, "fps": 1.0}
            return {"logs": json.dumps(progress) + "\n"}
        if "/api/jobs/restyle-" in url and not url.endswith("/stop"):
            return {"status": "STOPPED" if token.cancelled else "RUNNING"}
        return {}

    token = CancelToken()
    monkeypatch.setattr(ray_submit, "_request", dashboard)
    return RaySubmission(job, "head:8265", poll_s=0.0).run(cancel=token)


# -- 1. --carry's words for a picture named with a comma -----------------------------------
def test_carry_on_a_picture_with_a_comma_is_a_picture_style(library, tmp_path, capsys):
    make_image_sequence(tmp_path / "shot", 2, (64, 48))
    shot = tmp_path / "shot"
    picture = tmp_path / "starry, night.jpg"
    cv2.imwrite(str(picture), np.full((32, 32, 3), 90, np.uint8))
    for style, kind in [
        (str(picture), "a picture style"),  # was 'a mix of built-in styles'
        ("comic-ink:0.5,starry-swirls:0.5", "a mix of built-in styles"),
        ("comic-ink", "a built-in style"),
    ]:
        code = cli.main(["stylize", str(shot), "-o", str(tmp_path / "out"), "-s", style,
                         "--carry", "0.5", "--plan", "--json", "--library",
                         str(library.root)])  # fmt: skip
        said = capsys.readouterr()
        assert code == 0, said.err
        assert json.loads(said.out)["warnings"] == [
            "--carry 0.5 does nothing: it carries a trained style's painted keyframes, and "
            f"'{style}' is {kind}; leave --carry out"
        ]


# -- 2. a cancelled Ray submission's kept frames, by the one rule --------------------------
@pytest.mark.parametrize("movie", [True, False])
def test_a_cancelled_ray_submission_keeps_only_frames_a_run_keeps(
    library, index_clip_h264, tmp_path, monkeypatch, movie
):
    """Frames 1-4: an earlier run of these settings left frame 1 whole, frame 2 empty (a
    crash mid-write) and frame 3 of older settings (the manifest's 'stale'); the cluster
    lands frame 4, then Esc. Kept: 4 (written) and 1 (reused), as the command line counts
    them (``Landing.written``); was 4 written, 3 reused."""
    fmt = "h264" if movie else "png"
    job = StyleJob(index_clip_h264, None, "comic-ink", 1, 4, format=fmt, library=library)
    output = tmp_path / ("film.mp4" if movie else "frames")
    plan = job.place(job.validate(), output)  # as Blender places it
    folder = movie_frames_folder(plan.output) if movie else plan.output
    folder.mkdir()
    node_manifest(job, plan, stale=["000003.png"])
    picture = np.full((8, 8, 3), 200, np.uint8)
    cv2.imwrite(str(folder / "000001.png"), picture)
    (folder / "000002.png").write_bytes(b"")
    cv2.imwrite(str(folder / "000003.png"), picture)
    # the cluster lands frame 4, then stops
    result = cancelled_after_landing(monkeypatch, job, folder / "000004.png", picture, 1, 4)
    assert result.cancelled
    assert (result.written, result.reused) == (1, 1)
    kept = [] if movie else ["000001.png", "000004.png"]  # a movie's are not its output's
    assert sorted(p.name for p in result.frame_files) == kept


def test_frames_of_other_settings_are_not_kept_by_a_submission(placed, tmp_path, monkeypatch):
    """A folder whose manifest is another settings key: every frame there is older (stale),
    as run_on_ray reads it (``_Manifest``), none kept."""
    job, plan = placed
    (plan.output / MANIFEST).write_text(json.dumps({"key": "0123456789abcdef"}))
    cv2.imwrite(str(plan.output / "000000.png"), np.full((8, 8, 3), 200, np.uint8))
    assert RaySubmission(job, "head:8265")._finished_frames() == []


# -- 3. --carry passed to the node only for a trained style --------------------------------
def test_ray_passes_carry_only_for_a_trained_style(placed, tmp_path):
    job, _ = placed
    job.carry = 0.5
    assert "--carry" not in stylize_command(job)  # comic-ink: the node warned it does nothing
    pytest.importorskip("torch")
    from test_style_install import make_trained_style

    from restyle.core.styles import StyleLibrary

    library = StyleLibrary(tmp_path / "library", bundled=None)
    make_trained_style(library.trained_folder("Tiny Ink"))
    trained = StyleJob(job.source, None, "Tiny Ink", 0, 3, carry=0.5, library=library)
    trained.place(trained.validate(), tmp_path / "trained")
    argv = stylize_command(trained)
    assert argv[argv.index("--carry") + 1] == "0.5"
    unplaced = StyleJob(job.source, tmp_path / "t2", "Tiny Ink", carry=0.5, library=library)
    assert "--carry" in stylize_command(unplaced)  # resolved when not placed


# -- 4. a keyframe outside the source, named as the user calls it ---------------------------
def test_a_keyframe_outside_the_source_is_named_by_its_scene_frame(index_clip_h264, tmp_path):
    from restyle.core.media import probe
    from restyle.core.train.keyframes import check_keyframes

    info = probe(index_clip_h264)  # 60 frames
    painting = tmp_path / "k.png"
    cv2.imwrite(str(painting), np.zeros((96, 160, 3), np.uint8))
    with pytest.raises(RestyleError) as error:  # Blender: scene frame 95 shows index 70
        check_keyframes({70: painting}, info, {70: 95})
    assert error.value.neutral == (
        "keyframe 95 is outside the source's frames (it would show source frame 70; the "
        "source has frames 0..59)"
    )
    with pytest.raises(RestyleError) as error:  # the command line: frames are indices
        check_keyframes({70: painting}, info)
    assert error.value.neutral == "keyframe 70 is outside the source's frames 0..59"


def test_training_names_a_keyframe_outside_the_source_by_its_called_frame(
    index_clip_h264, tmp_path
):
    pytest.importorskip("torch")
    from restyle.core.styles import StyleLibrary
    from restyle.core.train.keyframes import train_from_keyframes

    painting = tmp_path / "k.png"
    cv2.imwrite(str(painting), np.zeros((96, 160, 3), np.uint8))
    library = StyleLibrary(tmp_path / "library", bundled=None)
    with pytest.raises(RestyleError, match=r"^keyframe 95 is outside .* source frame 70;"):
        train_from_keyframes(index_clip_h264, {70: painting}, "Ink", library, called={70: 95})


# -- 5. the barely-trained warning: one condition, never empty ------------------------------
@pytest.mark.parametrize(
    ("iterations", "checkpointed", "said"),
    [(100, False, []), (7, True, ["only 7 training iterations (fewer than 100"])],
)
def test_barely_trained_is_warned_by_its_own_words(
    index_clip_h264, tmp_path, monkeypatch, iterations, checkpointed, said
):
    """A stand-in trainer whose result's ``checkpointed`` disagrees with its iterations:
    the warning follows ``barely_trained``'s words alone (was: '' warned, or none)."""
    pytest.importorskip("torch")
    from restyle.core.styles import StyleLibrary
    from restyle.core.train import artifact, trainer
    from restyle.core.train.keyframes import train_from_keyframes

    figures = SimpleNamespace(iterations=iterations, stopped_because="time_budget")
    result = SimpleNamespace(
        figures=figures, config=SimpleNamespace(val_every=100), checkpointed=checkpointed
    )
    monkeypatch.setattr(trainer, "train_style", lambda *args, **kwargs: result)
    monkeypatch.setattr(artifact, "write_trained_style", lambda folder, *a, **k: folder)
    painting = tmp_path / "k.png"
    rng = np.random.default_rng(1)
    cv2.imwrite(str(painting), rng.integers(0, 256, (96, 160, 3), np.uint8))
    library = StyleLibrary(tmp_path / "library", bundled=None)
    warnings: list[str] = []
    train_from_keyframes(index_clip_h264, {5: painting}, "Ink", library, warn=warnings.append)
    barely = [w for w in warnings if "flat frame" not in w]
    assert [w[: len(s)] for w, s in zip(barely, said, strict=False)] == said
    assert len(barely) == len(said)  # was [''] for 100 iterations, [] for 7
