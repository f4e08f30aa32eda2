"""A picture style is one style however its path is spelled (round 22, uifix).

The settings key recorded a picture style by its path as given: the same picture spelled
relative (the command line's ``-s styles/pic.png`` from the project, a script's
``//styles/pic.png`` made absolute beside a .blend in another folder, ``..`` in it) and
absolute (a Ray submission's, Blender's) gave two keys, so one run's finished frames were
another style's to the other (a Ray run's refused or redone locally).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from restyle.core.job import StyleJob

from clips import make_image_sequence

pytestmark = pytest.mark.usefixtures("private_home")


def _key(source, output, style) -> str:
    return StyleJob(source, output, style, temporal=0.0).validate().key


def test_a_picture_style_keys_alike_however_spelled(tmp_path, monkeypatch):
    frames = make_image_sequence(tmp_path / "seq", 2)
    picture = tmp_path / "project" / "styles" / "pic.png"
    picture.parent.mkdir(parents=True)
    shutil.copy(frames[0], picture)
    (tmp_path / "project" / "blend").mkdir()
    monkeypatch.chdir(tmp_path / "project")
    out = tmp_path / "out"
    spellings = [
        str(picture),  # absolute (Blender's, a Ray submission's)
        "styles/pic.png",  # relative to the working folder (the command line's)
        "./styles//pic.png",
        str(tmp_path / "project" / "blend" / ".." / "styles" / "pic.png"),  # '//../styles'
    ]
    keys = {spelling: _key(frames[0].parent, out, spelling) for spelling in spellings}
    assert len(set(keys.values())) == 1, keys
    # A link to it is the same picture too.
    link = tmp_path / "link.png"
    os.symlink(picture, link)
    assert _key(frames[0].parent, out, str(link)) == keys[str(picture)]


def test_a_moved_project_keys_its_picture_alike(tmp_path, monkeypatch):
    """Keyed by its resolved path (3949628), a picture moved with its project gave another key,
    so a moved project's finished frames were made again (mid-round review)."""
    project = tmp_path / "here"
    frames = make_image_sequence(project / "seq", 2)
    (project / "styles").mkdir()
    shutil.copy2(frames[0], project / "styles" / "pic.png")
    keys = []
    for place in ("here", "there/moved"):
        monkeypatch.chdir(tmp_path / place)
        keys.append(_key(Path("seq"), Path("out"), "styles/pic.png"))
        if place == "here":
            monkeypatch.chdir(tmp_path)
            (tmp_path / "there").mkdir()
            shutil.move(project, tmp_path / "there" / "moved")  # mv: times kept
    assert keys[0] == keys[1], keys


def test_another_picture_keys_apart(tmp_path, monkeypatch):
    frames = make_image_sequence(tmp_path / "seq", 2)
    one, two = tmp_path / "one.png", tmp_path / "two.png"
    shutil.copy(frames[0], one)
    shutil.copy(frames[1], two)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    assert _key(frames[0].parent, out, "one.png") != _key(frames[0].parent, out, "two.png")


def test_frames_made_with_one_spelling_are_reused_with_another(tmp_path, monkeypatch):
    """A run's frames, then a rerun with the picture spelled otherwise: reused (it refused
    them as 'made with other settings (style pic.png, now /.../pic.png)')."""
    frames = make_image_sequence(tmp_path / "seq", 2, (64, 48))
    shutil.copy(frames[0], tmp_path / "pic.png")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    first = StyleJob(frames[0].parent, out, "pic.png", temporal=0.0).run()
    assert first.written == 2
    again = StyleJob(frames[0].parent, out, str(tmp_path / "pic.png"), temporal=0.0).run()
    assert (again.written, again.reused) == (0, 2)


def test_frames_keyed_by_the_spelling_before_are_still_reused(tmp_path, monkeypatch):
    """Output made before this change (the picture keyed as spelled: ``_SPELLED``) is
    reused by a rerun spelled the same, not refused as another style's."""
    from restyle.core import job

    frames = make_image_sequence(tmp_path / "seq", 2, (64, 48))
    shutil.copy(frames[0], tmp_path / "pic.png")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    token = job._SPELLED.set(True)  # keyed as before 2026-12-02
    try:
        assert StyleJob(frames[0].parent, out, "pic.png", temporal=0.0).run().written == 2
    finally:
        job._SPELLED.reset(token)
    again = StyleJob(frames[0].parent, out, "pic.png", temporal=0.0).run()
    assert (again.written, again.reused) == (0, 2)
