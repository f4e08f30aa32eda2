"""The command line Blender's Run On: Ray submits (core/ray_submit.py): read back by the
CLI, it must make the job Blender made, with the same settings key. No Ray needed."""

from __future__ import annotations

import numpy as np
import pytest
from test_media_edge import SIZE, encode

from restyle.core import cli
from restyle.core.job import StyleJob
from restyle.core.mappings.matte_job import MatteJob
from restyle.core.mappings.stabilize_job import StabilizeJob
from restyle.core.ray_submit import stylize_command


def job_read_back(argv: list[str], monkeypatch):
    """The job the CLI makes from ``argv`` (its --plan path, so nothing runs)."""
    made = []
    monkeypatch.setattr(cli, "_print_plan", lambda job, args: made.append(job) or 0)
    assert cli.main([*argv, "--plan"]) == 0
    return made[0]


def test_a_phone_movie_read_as_stored_is_submitted_as_stored(tmp_path, library, monkeypatch):
    """Blender 4.2/4.3 reads a phone movie as stored (upright=False); the submitted command
    had no word for it, so the cluster read it upright (another shape) under another key,
    and a later local run was refused 'frames made with other settings'."""
    source = encode(tmp_path / "phone.mp4", rotation=-90)
    job = StyleJob(source, tmp_path / "out", "comic-ink", library=library, upright=False)
    local = job.validate()
    command = stylize_command(job)
    assert "--as-stored" in command
    ray = job_read_back(command[3:], monkeypatch)
    assert ray.upright is False
    plan = ray.validate()
    assert (plan.info.size, plan.key) == (local.info.size, local.key) == (SIZE, local.key)
    upright = StyleJob(source, tmp_path / "out", "comic-ink", library=library)
    assert "--as-stored" not in stylize_command(upright)
    assert job_read_back(stylize_command(upright)[3:], monkeypatch).upright is True


@pytest.mark.parametrize(
    ("command", "job_type"), [("matte", MatteJob), ("stabilize", StabilizeJob)]
)
def test_every_frame_command_reads_as_stored(tmp_path, command, job_type, monkeypatch):
    source = encode(tmp_path / "phone.mp4", rotation=-90)
    argv = [command, str(source), "-o", str(tmp_path / "out"), "--as-stored"]
    job = job_read_back(argv, monkeypatch)
    assert type(job) is job_type and job.upright is False
    assert job.validate().info.size == SIZE


def test_a_library_folder_and_a_format_left_to_the_output_are_submitted(tmp_path, monkeypatch):
    """library='folder' (a str, as documented) raised AttributeError ('str' has no 'root');
    format=None put None on the command line. Both are read as the job reads them."""
    import cv2

    shot = tmp_path / "shot"
    shot.mkdir()
    for i in range(2):
        cv2.imwrite(str(shot / f"f_{i:04d}.png"), np.full((32, 48, 3), 60 * i, np.uint8))
    styles = tmp_path / "styles"
    movie = StyleJob(shot, str(tmp_path / "styled.mov"), "comic-ink", library=str(styles))
    command = stylize_command(movie)
    assert command[command.index("--format") + 1] == "prores"
    assert command[command.index("--library") + 1] == str(styles)
    assert None not in command
    folder = StyleJob(shot, tmp_path / "frames", "comic-ink", library=styles)
    command = stylize_command(folder)
    assert command[command.index("--format") + 1] == "png"
    ray = job_read_back(command[3:], monkeypatch)
    assert (ray.format, ray.library.root) == ("png", styles)


def test_a_mirrored_movie_read_as_blender_shows_it_is_submitted_so(tmp_path, library, monkeypatch):
    """Blender 4.4+ applies a movie's rotation but not its mirror (upright="rotation"); the
    submitted command read it mirrored, as players show it: other pictures, another key."""
    from test_media_mirror import mirrored_movie

    source = mirrored_movie(tmp_path / "selfie.mp4", 0, hflip=True, vflip=False)
    job = StyleJob(source, tmp_path / "out", "comic-ink", library=library, upright="rotation")
    local = job.validate()
    command = stylize_command(job)
    assert "--rotation-only" in command and "--as-stored" not in command
    ray = job_read_back(command[3:], monkeypatch)
    assert ray.upright == "rotation"
    assert ray.validate().key == local.key
    players = StyleJob(source, tmp_path / "out", "comic-ink", library=library)
    assert players.validate().key != local.key


def test_a_plain_movie_read_as_blender_shows_it_is_submitted_without_rotation_only(
    tmp_path, library, monkeypatch, index_clip_h264
):
    """Every Blender 4.4+ submission carried --rotation-only, which a cluster node with an
    older Restyle refuses ('unrecognized arguments'); a movie whose display matrix does not
    mirror (none here, or a phone's rotation) reads the same without it, under the same key."""
    from test_media_mirror import mirrored_movie

    turned = mirrored_movie(tmp_path / "phone.mp4", 90, hflip=False, vflip=False)
    for source in (index_clip_h264, turned):
        job = StyleJob(source, tmp_path / "out", "comic-ink", library=library, upright="rotation")
        local = job.validate()
        command = stylize_command(job)
        assert "--rotation-only" not in command and "--as-stored" not in command
        ray = job_read_back(command[3:], monkeypatch)
        assert ray.upright is True
        assert ray.validate().key == local.key


def test_a_lead_in_movie_read_as_blender_shows_it_is_submitted_with_hold_lead_in(
    tmp_path, library, monkeypatch, index_clip_h264
):
    """Blender's strips hold a B-frame AVI's first picture over its lead-in; a Ray node's
    command line read it from the first picture, so every chunk was a frame off the strip,
    under another key. The flag goes only with a movie that has a lead-in, so a node with an
    older Restyle still runs every other job, under the same key."""
    from test_media_timestamps import _bframes_avi

    late = _bframes_avi(tmp_path / "late.avi", 12)
    job = StyleJob(late, tmp_path / "out", "comic-ink", library=library, hold_lead_in=True)
    local = job.validate()
    assert local.info.lead_in == 1
    command = stylize_command(job)
    assert "--hold-lead-in" in command
    ray = job_read_back(command[3:], monkeypatch)
    assert ray.hold_lead_in is True
    assert ray.validate().key == local.key
    players = StyleJob(late, tmp_path / "out", "comic-ink", library=library)
    assert "--hold-lead-in" not in stylize_command(players)
    assert players.validate().key != local.key

    job = StyleJob(index_clip_h264, tmp_path / "o", "comic-ink", library=library, hold_lead_in=True)
    local = job.validate()
    command = stylize_command(job)
    assert "--hold-lead-in" not in command
    ray = job_read_back(command[3:], monkeypatch)
    assert ray.hold_lead_in is False
    assert ray.validate().key == local.key


@pytest.mark.parametrize(
    ("command", "job_type"), [("matte", MatteJob), ("stabilize", StabilizeJob)]
)
def test_every_frame_command_holds_the_lead_in(tmp_path, command, job_type, monkeypatch):
    from test_media_timestamps import _bframes_avi

    late = _bframes_avi(tmp_path / "late.avi", 12)
    argv = [command, str(late), "-o", str(tmp_path / "out"), "--hold-lead-in"]
    job = job_read_back(argv, monkeypatch)
    assert type(job) is job_type and job.hold_lead_in is True
    assert job.validate().info.lead_in == 1


def test_as_stored_and_rotation_only_cannot_both_be_given(tmp_path, capsys):
    argv = ["stylize", str(tmp_path / "a.mp4"), "-o", str(tmp_path / "o"), "--as-stored"]
    assert cli.main([*argv, "--rotation-only"]) == 2
    assert "not allowed with" in capsys.readouterr().err
