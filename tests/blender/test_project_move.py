"""A project moved with its footage (mv, times kept) reuses its //restyle/ frames: the
settings key knows the source by what it is, not where (``core.job.file_stamp``), so the
folder's name is the same and its frames are reused. A folder an earlier Restyle named by
the source's path is still reused where the source still is."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from vse import add_movie, ext, top_strips

from clips import make_index_clip

pytestmark = pytest.mark.blender

STYLE = "starry-swirls"


def old_file_stamp(path, whole=False):
    """``file_stamp`` as Restyle had it before (resolved path, size, time; read whole or not)."""
    if path is None or not Path(path).exists():
        return []
    st = Path(path).stat()
    return [str(Path(path).resolve()), st.st_size, int(st.st_mtime)]


def project_with_clip(scene, area, folder: Path):
    """``folder``/edit.blend saved, showing ``folder``/clip.mp4 by a relative path."""
    import bpy

    folder.mkdir(parents=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(folder / "edit.blend"))
    clip = make_index_clip(folder / "clip.mp4", 12, (160, 96), fps=24, gop=6)
    source = add_movie(scene, area, clip, frame_start=1)
    source.filepath = "//clip.mp4"
    bpy.ops.wm.save_mainfile()
    return source


def apply(source, scene):
    """Apply the style to frames 1..4; (the styled strip's folder, the run's summary)."""
    import bpy

    runner = ext("operators.runner")
    assert bpy.ops.restyle.apply_style(
        strip=source.name, style=STYLE, frame_start=1, frame_end=4
    ) == {"FINISHED"}
    styled = scene.sequence_editor.active_strip
    folder = Path(bpy.path.abspath(styled.directory))
    summary = runner.RUN.summary
    top_strips(scene.sequence_editor).remove(styled)  # no shortcut: the rerun runs
    return folder, summary


def test_a_moved_project_reuses_its_frames(scene, sequencer_area, tmp_path):
    import bpy

    source = project_with_clip(scene, sequencer_area, tmp_path / "project")
    folder, summary = apply(source, scene)
    assert "4 styled, 0 reused" in summary, summary
    times = {f.name: f.stat().st_mtime_ns for f in folder.glob("*.png")}
    assert len(times) == 4

    moved = tmp_path / "elsewhere" / "project"
    moved.parent.mkdir()
    shutil.move(tmp_path / "project", moved)  # mv: the files' times kept
    bpy.ops.wm.save_as_mainfile(filepath=str(moved / "edit.blend"), relative_remap=False)
    assert Path(bpy.path.abspath(source.filepath)) == moved / "clip.mp4"

    again, summary = apply(source, scene)
    assert again == moved / "restyle" / folder.name  # the same folder, moved
    assert "0 styled, 4 reused" in summary, summary
    assert {f.name: f.stat().st_mtime_ns for f in again.glob("*.png")} == times


def test_a_folder_an_earlier_restyle_named_is_reused(scene, sequencer_area, tmp_path):
    job = ext("core.job")
    source = project_with_clip(scene, sequencer_area, tmp_path / "project")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(job, "file_stamp", old_file_stamp)
        folder, summary = apply(source, scene)
    assert "4 styled, 0 reused" in summary, summary

    again, summary = apply(source, scene)
    assert again == folder
    assert "0 styled, 4 reused" in summary, summary
