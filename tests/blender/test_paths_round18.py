"""Round 18's Blender walkthrough of paths and the sidebar's words:

- Replace Background with '//starry_night.jpg' made a strip storing '/tmp/.../moved/': missing
  once the project folder moved (``matte._picture``); a keyframe loaded to paint likewise;
- a saved project's summaries said '/tmp/...' where its strips say '//restyle/...' (a
  cancelled run, Export Keyframes, the Output panel's Last output);
- the sidebar wrapped a path inside a name ('/tmp/wal|k18'): now after a '/' or at a space;
- the preferences cut the no-driver line at 1000 px and their notes read like developers';
- the Edit panel's note named only Stabilize, and its Split at Cuts split the whole strip
  whatever the Frame Range; another strip's summary showed under the active one.
"""

from __future__ import annotations

import re
import shutil
import types
from pathlib import Path

import pytest
from test_openvino_prefs import draw as draw_preferences
from test_panels import CheckedLayout, draw_all, labels
from vse import add_movie, all_strips, esc_when, ext, sequencer_override, top_strips

from clips import make_index_clip

pytestmark = pytest.mark.blender
STYLE = "comic-ink"


@pytest.fixture
def project(scene, tmp_path):
    """A saved project: ``tmp_path/project/edit.blend``."""
    import bpy

    folder = tmp_path / "project"
    folder.mkdir()
    bpy.ops.wm.save_as_mainfile(filepath=str(folder / "edit.blend"))
    return folder


@pytest.fixture
def clip(tmp_path):
    return make_index_clip(tmp_path / "clip.mp4", 8, (64, 48), fps=24, gop=4)


def picture(path: Path) -> Path:
    """A small PNG at ``path``."""
    import bpy

    image = bpy.data.images.new("picture", 8, 8)
    image.filepath_raw, image.file_format = str(path), "PNG"
    image.save()
    bpy.data.images.remove(image)
    return path


def moved(folder: Path, to: Path) -> Path:
    """The project folder moved (mv), the .blend saved there as if opened from there."""
    import bpy

    to.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(folder, to)
    bpy.ops.wm.save_as_mainfile(filepath=str(to / "edit.blend"), relative_remap=False)
    return to


def test_a_picture_background_moves_with_the_project(scene, project, tmp_path):
    import bpy

    picture(project / "starry.png")
    outside = picture(tmp_path / "outside.png")
    strips = top_strips(scene.sequence_editor_create())
    person = strips.new_image("person", str(picture(project / "person.png")), 2, 1)
    for given, stored in (
        ("//starry.png", "//"),
        (str(project / "starry.png"), "//"),  # under the project: relative, as Blender says
        (str(outside), str(tmp_path) + "/"),  # elsewhere: as given
    ):
        assert bpy.ops.restyle.replace_background(strip=person.name, background=given) == {
            "FINISHED"
        }
        background = all_strips(scene)[f"{person.name}.Background"]
        assert background.directory == stored, (given, background.directory)
    bpy.ops.restyle.replace_background(strip=person.name, background="//starry.png")

    there = moved(project, tmp_path / "elsewhere" / "project")
    background = all_strips(scene)[f"{person.name}.Background"]
    shown = Path(bpy.path.abspath(background.directory)) / background.elements[0].filename
    assert shown == there / "starry.png" and shown.is_file()  # was the old folder's: missing


def test_a_cancelled_run_says_the_folder_as_the_strips_do(
    scene, project, clip, sequencer_area, monkeypatch
):
    import bpy

    runner = ext("operators.runner")
    esc_when(monkeypatch, lambda progress: progress.done >= 2)
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    result = bpy.ops.restyle.apply_style(
        strip=source.name, style=STYLE, strength=0.0, temporal=0.0, frame_start=1, frame_end=8
    )
    assert result == {"CANCELLED"}
    summary = runner.RUN.summary
    assert re.search(r"frames kept in //restyle/clip\.mp4-comic-ink-\w+; Apply", summary), summary
    assert str(project) not in summary  # '/tmp/.../project/restyle/...'
    assert runner.RUN.folder.startswith(str(project))  # the button opens it: absolute

    with sequencer_override(scene, sequencer_area):
        said = labels(draw_all(bpy.context))
    assert any(t.startswith("Last output: //restyle/clip.mp4-comic-ink-") for t in said), said


def test_exported_keyframes_say_the_folder_as_the_strips_do(scene, project, clip, sequencer_area):
    import bpy

    runner = ext("operators.runner")
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    ext("operators.keyframes").add_keyframes(scene.restyle, source.name, [2, 5])
    assert bpy.ops.restyle.export_keyframes(strip=source.name, load=True) == {"FINISHED"}
    summary = runner.RUN.summary
    assert summary == "Export Keyframes: 2 keyframes exported to //restyle/keyframes/clip.mp4/"
    images = [i for i in bpy.data.images if i.filepath.endswith(("0002.png", "0005.png"))]
    assert sorted(i.filepath for i in images) == [
        "//restyle/keyframes/clip.mp4/0002.png",
        "//restyle/keyframes/clip.mp4/0005.png",
    ]  # was '/tmp/.../project/restyle/...': lost once the project moved


def test_a_path_outside_the_project_stays_absolute(project, tmp_path):
    blender_path = ext("operators.modal_job").blender_path
    assert blender_path(tmp_path / "a" / "b") == str(tmp_path / "a" / "b")
    assert blender_path(project / "restyle" / "x") == "//restyle/x"
    assert blender_path(project) == "//"


def test_a_long_path_wraps_after_a_slash(restyle):
    sequencer = ext("panels.sequencer")
    text = (
        "Cancelled: 21 of 24 frames kept in /tmp/walk18abc/moved/restyle/"
        "Megamind.avi-comic-ink-0123456789; Apply Style again to resume"
    )
    calls: list = []
    sequencer.draw_wrapped(CheckedLayout(calls), text, "CANCEL", 24)
    lines = labels(calls)
    assert all(len(line) <= 24 for line in lines), lines
    joined = ""
    for line in lines:  # each line ends at a space or after a '/' (or a '-' in a long name)
        if joined and not joined.endswith(("/", "-")):
            joined += " "
        joined += line
    assert joined == text, lines
    assert "walk18abc/moved/restyle/" in lines, lines  # textwrap: '/tmp/walk18abc/moved/res'


def test_the_preferences_wrap_and_say_what_a_user_needs(restyle, monkeypatch):
    monkeypatch.setattr(ext("core.engines.gpu"), "nvidia_driver_present", lambda: False)
    monkeypatch.setattr(ext("core.gpu_install"), "cpu_flags", lambda: frozenset({"amx_bf16"}))
    said = labels(draw_preferences(restyle))
    start = next(i for i, t in enumerate(said) if t.startswith("No NVIDIA driver found"))
    gpu_support = ext("gpu_support")  # the no-NVIDIA words point to the OpenVINO box (93ee05c)
    reason = gpu_support.sentence(gpu_support._intel_gpu_words(str(_refusal())))
    width = ext("panels.sequencer").wrap_width(_preferences_context())
    lines: list[str] = []
    for line in said[start:]:
        lines.append(line)
        if len(" ".join(lines)) >= len(reason):
            break
    assert " ".join(lines) == reason and len(lines) > 1, lines  # was one label, cut at 1000 px
    assert all(len(t) <= width for t in lines), lines
    assert not [t for t in said if "Not yet tested" in t or "not yet measured" in t], said
    text = " ".join(said)
    for _heading, note, _extra in ext("gpu_support").HEADINGS.values():
        assert note.startswith("Experimental: ") and note in text, said  # wrapped, all there


def _refusal():
    gpu_install = ext("core.gpu_install")
    try:
        gpu_install.plan_gpu_support(Path("/nowhere"), "Linux", "x86_64", nvidia=False)
    except ext("core.errors").RestyleError as exc:
        return exc
    raise AssertionError("planned without a driver")


def _preferences_context():
    import bpy

    return bpy.context


class Recorder:
    """A layout that keeps every label and each operator's properties as set."""

    def __init__(self, said: list, ops: dict):
        self.__dict__.update(said=said, ops=ops)

    def __getattr__(self, name):
        if name in ("row", "column", "box", "split"):
            return lambda *a, **k: Recorder(self.said, self.ops)
        if name == "label":
            return lambda text="", **k: self.said.append(text)
        if name == "operator":

            def operator(idname, **k):
                self.ops[idname] = types.SimpleNamespace()
                return self.ops[idname]

            return operator
        return lambda *a, **k: None


def test_split_at_cuts_uses_the_frame_range_the_note_names(scene, clip, sequencer_area):
    import bpy

    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    scene.restyle.frame_start, scene.restyle.frame_end = 3, 6
    said, ops = [], {}
    shim = types.SimpleNamespace(layout=Recorder(said, ops))
    with sequencer_override(scene, sequencer_area):
        ext("panels.edit").RESTYLE_PT_edit.draw(shim, bpy.context)
    split = ops["restyle.split_at_cuts"]
    assert (split.strip, split.frame_start, split.frame_end) == (source.name, 3, 6)
    assert "Stabilize and Split at Cuts use the Frame Range above" in said, said


def test_a_summary_shows_with_its_own_strips(scene, clip, sequencer_area):
    import bpy

    runner = ext("operators.runner")
    editor = scene.sequence_editor
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    other = add_movie(scene, sequencer_area, clip, frame_start=20, channel=2)
    other.filepath = "//gone.mp4"  # a missing file: the summary read as this strip's
    with sequencer_override(scene, sequencer_area):
        assert bpy.ops.restyle.apply_style(
            strip=source.name, style=STYLE, strength=0.0, temporal=0.0, frame_start=1, frame_end=2
        ) == {"FINISHED"}
        output = editor.active_strip
        summary = runner.RUN.summary
        assert summary.startswith(output.name), summary
        for active, shown in ((output, True), (other, False), (source, True)):
            editor.active_strip = active
            icons = [c[1].get("icon") for c in draw_all(bpy.context) if c[0] == "label"]
            assert ("CHECKMARK" in icons) == shown, (active.name, summary)

        editor.active_strip = other  # a refusal is about the strip it refused
        with pytest.raises(RuntimeError):
            bpy.ops.restyle.apply_style(strip=other.name, style=STYLE, strength=0.0)
        assert runner.RUN.strip == other.name
        said = " ".join(labels(draw_all(bpy.context)))
        assert "Failed:" in said
        editor.active_strip = source
        assert "Failed:" not in " ".join(labels(draw_all(bpy.context)))
