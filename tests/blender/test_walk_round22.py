"""Round 22's Blender walkthrough findings (walkfix; bpy 5.0.1 and 4.2):

- unsaved projects shared one keyframes folder keyed only by the strip's name: a strip of
  that name showing another file (camera files named C0001.MP4 repeat) found the first
  one's painting, kept it as painted, and Train paired it with its own frame;
- Install PyTorch's command to copy lacked the button's pip options, and nothing said the
  download's size (about 2.8 GB on Linux x86-64) before the click;
- a PyTorch installed but not loading showed a raw error, and the box said it was there;
- the Dependencies box called any numpy 'bundled with Blender' (Debian's is the system's);
- Replace Background behind a matte that keeps almost nothing (a wide shot) wiped the frame
  with the new background, unsaid;
- "Any Picture…" showed a generic tile after a picture was chosen: its preview shows below.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from vse import SIZE, ext, top_strips

from clips import make_index_clip, make_pan_clip

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("own_output_folder")]


@pytest.fixture(scope="module")
def movies(tmp_path_factory):
    folder = tmp_path_factory.mktemp("walk-media")
    (folder / "a").mkdir()
    (folder / "b").mkdir()
    return (
        make_index_clip(folder / "a" / "C0001.MP4", 12, SIZE, fps=24, gop=6),
        make_pan_clip(folder / "b" / "C0001.MP4", 12, SIZE, 3.0),
    )


def _other_scene(restyle):
    import bpy

    scene = bpy.data.scenes.new("restyle-walk-b")
    scene.render.resolution_x, scene.render.resolution_y = SIZE
    scene.render.fps, scene.render.fps_base = 24, 1.0
    scene.sequence_editor_create()
    return scene


# -- 1. an unsaved project's keyframes folder is the source file's, not only the name's ------
@pytest.mark.unsaved
def test_unsaved_keyframes_of_another_file_never_meet_its_paintings(scene, restyle, movies):
    import bpy

    if bpy.data.filepath:
        pytest.skip("this session already saved a .blend")
    keyframes = ext("operators.keyframes")
    first, second = movies
    a = top_strips(scene.sequence_editor).new_movie("MM", str(first), 1, 1)
    a.name = "MM"
    keyframes.add_keyframes(scene.restyle, "MM", [5])
    assert bpy.ops.restyle.export_keyframes(strip="MM", load=False) == {"FINISHED"}
    folder_a = keyframes.keyframe_folder("MM", scene)[0]
    painting = 255 - cv2.imread(str(folder_a / "0005.png"))
    assert cv2.imwrite(str(folder_a / "0005.png"), painting)

    # Another unsaved project (here: another scene) names a strip of another file 'MM'.
    other = _other_scene(restyle)
    previous = bpy.context.window.scene.name
    try:
        restyle.compat.set_sequencer_scene(bpy.context, other)
        b = top_strips(other.sequence_editor).new_movie("MM", str(second), 1, 1)
        b.name = "MM"
        keyframes.add_keyframes(other.restyle, "MM", [5])
        assert bpy.ops.restyle.export_keyframes(strip="MM", load=False) == {"FINISHED"}
        folder_b = keyframes.keyframe_folder("MM", other)[0]
        shown = keyframes.keyframe_folder("MM", other)[1]
    finally:
        restyle.compat.set_sequencer_scene(bpy.context, bpy.data.scenes[previous])
        bpy.data.scenes.remove(other)

    assert folder_b != folder_a and folder_b.name == folder_a.name == "MM"
    assert folder_b.parent.name.startswith("C0001.MP4-"), folder_b
    assert shown == str(folder_b) + "/"
    # B's export wrote B's own frame; A's painting is untouched where A exported it.
    frame = next(iter(ext("core.media").decode_range(second, 4, 4)))[..., :3]
    exported = cv2.cvtColor(cv2.imread(str(folder_b / "0005.png")), cv2.COLOR_BGR2RGB)
    assert np.abs(exported.astype(int) - frame).max() <= 1
    assert np.array_equal(cv2.imread(str(folder_a / "0005.png")), painting)
    assert ext("operators.train_style").styled_in_folder(folder_b, [5]) == {
        5: folder_b / "0005.png"
    }
    # A strip showing no file has no source level: its folder is the name's, as before.
    assert keyframes.keyframe_folder("no such strip", scene)[0] == Path(
        ext("operators.output_strip").temp_root() / "keyframes" / "no_such_strip"
    )


# -- 2. Install PyTorch: one table of pip's arguments, and the size said before the click ----
def test_the_command_shown_is_the_one_the_button_runs(restyle, monkeypatch):
    import queue
    import shlex
    import sys

    prefs = ext("prefs")
    ran = []

    class Popen:
        def __init__(self, args, **_kwargs):
            ran.append(list(args))
            self.stdout = iter(())

        def wait(self):
            return 0

    monkeypatch.setattr(prefs.subprocess, "Popen", Popen)
    monkeypatch.setattr(prefs.subprocess, "run", lambda *a, **k: None)  # no ensurepip
    prefs._run_pip(prefs.torch_site_packages(), queue.Queue())
    (button,) = ran
    shown = shlex.split(prefs.install_command())
    assert shown == button, (shown, button)
    assert button[:3] == [sys.executable, "-m", "pip"]
    assert "--upgrade" in button and "--only-binary=:all:" in button
    assert "torch==2.13.0" in button and "onnx==1.23.2" in button


def test_the_download_size_is_said_before_the_click(restyle, monkeypatch):
    import platform
    import sys

    import bpy
    from test_panels import CheckedLayout, labels

    prefs = ext("prefs")
    real = prefs.module_status
    monkeypatch.setattr(prefs, "module_status", lambda m, d: None if m == "torch" else real(m, d))
    calls: list = []
    prefs.draw_dependencies(CheckedLayout(calls))
    said = " ".join(labels(calls))
    tooltip = prefs.RESTYLE_OT_install_torch.description(bpy.context, None)
    if sys.platform == "linux" and platform.machine() == "x86_64":
        assert "about 2.8 GB download, 4.7 GB on disk" in said, said
        assert "NVIDIA's CUDA libraries" in said and "2026-12-02" in said, said
        assert "2.8 GB" in tooltip, tooltip
    else:
        assert "Size: a large download" in said, said


# -- 3. a PyTorch that is installed but does not load is said in one line -------------------
# (prefsfix: found by a check in another Python; the box imported torch into Blender to find
# it, a 2.7 s stall and ~220 MB kept for everyone whose torch loads.)
BROKEN_TORCH = (
    'raise ValueError("libcublasLt.so.*[0-9] not found in the system path '
    "['/usr/lib/python3.13', '/opt/blender/5.0/python/lib', '/home/a/site-packages']\")\n"
)


@pytest.fixture
def fake_torch(restyle, monkeypatch, tmp_path):
    """Returns a function that puts a torch package first on sys.path, its ``__init__``
    noting each import (the process's id) in tmp_path/'imports' before ``body``; Blender's
    torch, if imported, is set aside meanwhile and no answer about it kept."""
    import bpy

    loaded = {k: v for k, v in sys.modules.items() if k == "torch" or k.startswith("torch.")}
    for name in loaded:
        del sys.modules[name]
    engines, prefs = ext("core.engines"), ext("prefs")

    def install(body: str) -> None:
        package = tmp_path / "fake" / "torch"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text(
            f"import os\nopen({str(tmp_path / 'imports')!r}, 'a').write(f'{{os.getpid()}}\\n')\n"
            + body
        )
        monkeypatch.syspath_prepend(str(tmp_path / "fake"))
        real = prefs.module_status
        monkeypatch.setattr(
            prefs, "module_status", lambda m, d: "2.13.0" if m == "torch" else real(m, d)
        )

    engines.forget_torch_load()
    prefs.TORCH_FOUND.clear()
    yield install
    if bpy.app.timers.is_registered(prefs._redraw_when_checked):
        bpy.app.timers.unregister(prefs._redraw_when_checked)
    sys.modules.pop("torch", None)
    sys.modules.update(loaded)
    engines.forget_torch_load()
    prefs.TORCH_FOUND.clear()


def _imports(tmp_path) -> list[int]:
    imports = tmp_path / "imports"
    return [int(pid) for pid in imports.read_text().split()] if imports.exists() else []


def test_a_torch_that_does_not_load_is_said_in_one_line(fake_torch):
    fake_torch(BROKEN_TORCH)
    try:
        import torch  # noqa: F401
    except ValueError as exc:
        error = exc
    said = ext("operators.runner").blender_message(error)
    assert said == (
        "PyTorch is installed but does not load (ValueError: libcublasLt.so.*[0-9] not found "
        "in the system path): reinstall it from Preferences"
    ), said


def test_the_dependencies_box_never_imports_torch(fake_torch, tmp_path):
    """A torch that takes seconds to import: the draw returns at once, says it is being
    checked, and the check runs in another Python; its answer is drawn when it ends."""
    import os
    import time

    import bpy
    from test_panels import CheckedLayout, labels

    fake_torch("import time\ntime.sleep(2)\n__version__ = '2.13.0'\n")
    prefs, engines = ext("prefs"), ext("core.engines")
    calls: list = []
    start = time.perf_counter()
    prefs.draw_dependencies(CheckedLayout(calls))
    drawn = time.perf_counter() - start
    assert "torch" not in sys.modules
    assert drawn < 1.0, drawn  # the import alone sleeps 2 s
    row = "torch 2.13.0: training and the PyTorch backend"
    assert f"{row} (checking that it loads…)" in labels(calls), labels(calls)
    assert "SORTTIME" in [c[1].get("icon") for c in calls if c[0] == "label"]
    assert not any(line.startswith("Size: ") for line in labels(calls))  # not offered
    assert bpy.app.timers.is_registered(prefs._redraw_when_checked)  # draws the answer
    assert prefs.torch_found()  # Train stays enabled while it is checked
    thread = engines.start_torch_load_check()  # the one under way, not another
    assert thread is not None
    thread.join(60)
    assert prefs._redraw_when_checked() is None  # done: the timer ends
    calls = []
    prefs.draw_dependencies(CheckedLayout(calls))
    assert row in labels(calls), labels(calls)
    (pid,) = _imports(tmp_path)
    assert pid != os.getpid() and "torch" not in sys.modules
    assert prefs.torch_found()


def test_the_dependencies_box_says_torch_does_not_load(fake_torch, tmp_path):
    from test_panels import CheckedLayout, labels

    fake_torch(BROKEN_TORCH)
    prefs, engines = ext("prefs"), ext("core.engines")
    prefs.draw_dependencies(CheckedLayout([]))
    thread = engines.start_torch_load_check()
    if thread is not None:
        thread.join(60)
    calls: list = []
    prefs.draw_dependencies(CheckedLayout(calls))
    said = labels(calls)
    assert "torch 2.13.0 is installed but does not load:" in said, said
    assert not any(line.startswith("torch 2.13.0: training") for line in said), said
    assert (
        "ValueError: libcublasLt.so.*[0-9] not found in the system path; "
        "Install PyTorch again below replaces it"
    ) in said, said
    assert any(line.startswith("Size: ") for line in said), said  # Install PyTorch, again
    assert not prefs.torch_found()  # Train's button greys once the check found it broken
    # Checked once a session, in another Python: the box redraws without trying it again.
    prefs.draw_dependencies(CheckedLayout([]))
    assert len(_imports(tmp_path)) == 1 and "torch" not in sys.modules


# -- 6. numpy is 'bundled with Blender' only where it lives in Blender's own Python ---------
def test_numpy_is_called_bundled_only_inside_blenders_python(restyle):
    import os

    import bpy
    import numpy
    from test_panels import CheckedLayout, labels

    prefs = ext("prefs")
    prefs.NUMPY_ORIGIN.clear()
    calls: list = []
    prefs.draw_dependencies(CheckedLayout(calls))
    (row,) = [line for line in labels(calls) if line.startswith("numpy ")]
    own = os.path.join(bpy.utils.resource_path("LOCAL"), "python")
    bundled = os.path.realpath(numpy.__file__).startswith(os.path.realpath(own) + os.sep)
    assert not bundled  # the bpy module's numpy is the venv's, as Debian's is the system's
    assert row == f"numpy {numpy.__version__}: arrays", row
    inside = os.path.join(own, "lib", "python3.11", "site-packages", "numpy", "__init__.py")
    assert prefs.blenders_python(inside)
    assert not prefs.blenders_python("/usr/lib/python3/dist-packages/numpy/__init__.py")


# -- 5. Replace Background behind a matte that keeps almost nothing says so ----------------
def _matte_pictures(folder: Path, covered: float, n: int = 10) -> list[Path]:
    """RGBA pictures whose alpha keeps ``covered`` of each (a band at the top)."""
    folder.mkdir()
    width, height = SIZE
    rows = round(height * covered)
    files = []
    for i in range(n):
        picture = np.zeros((height, width, 4), np.uint8)
        picture[..., :3] = 40 + 10 * i
        picture[:rows, :, 3] = 255
        files.append(folder / f"{i:04d}.png")
        assert cv2.imwrite(str(files[-1]), picture)
    return files


@pytest.mark.parametrize(("covered", "warned"), [(1 / 96, False), (0.25, False), (0.0, True)])
def test_replace_background_says_when_the_matte_keeps_almost_nothing(
    scene, tmp_path, covered, warned
):
    import bpy
    from vse import add_images

    files = _matte_pictures(tmp_path / "matte", covered)
    matte = add_images(scene, files, frame_start=1, channel=2, name="wide.Matte")
    assert bpy.ops.restyle.replace_background(strip=matte.name, background="#00FF00") == {
        "FINISHED"
    }
    said = ext("operators.runner").RUN.summary
    assert said.startswith("Replace Background: 'wide.Matte.Background' is the new background")
    if warned:
        assert "the matte keeps almost nothing (0.0% of the picture, frames 1-10)" in said, said
    else:
        assert "almost nothing" not in said, said


def test_a_nearly_empty_matte_is_measured_on_its_shown_frames(scene, tmp_path):
    """Frames its handles hide are not read: shown, the matte keeps a quarter."""
    import bpy
    from vse import add_images, set_timing

    files = _matte_pictures(tmp_path / "matte", 0.25)
    for path in files[:5]:  # the first five keep nothing
        picture = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        picture[..., 3] = 0
        assert cv2.imwrite(str(path), picture)
    matte = add_images(scene, files, frame_start=1, channel=2, name="cut.Matte")
    said = ext("operators.matte").nearly_empty(matte)
    assert "12.5% of the picture" not in said and "keeps almost nothing" not in said
    set_timing(matte, right_handle=6)  # frames 1-5 only
    said = ext("operators.matte").nearly_empty(matte)
    assert "keeps almost nothing (0.0% of the picture, frames 1-5)" in said, said
    assert bpy.ops.restyle.replace_background(strip=matte.name, background="#0000FF") == {
        "FINISHED"
    }


# -- 4. "Any Picture…" shows the chosen picture -----------------------------------------------
def test_any_picture_shows_the_chosen_picture(scene, sequencer_area, tmp_path):
    import bpy
    from test_panels import CheckedLayout
    from vse import sequencer_override

    props = ext("props")
    strip = top_strips(scene.sequence_editor).new_image("still", str(tmp_path / "s.png"), 1, 1)
    scene.sequence_editor.active_strip = strip
    picture = tmp_path / "starry.png"
    assert cv2.imwrite(str(picture), np.full((48, 64, 3), 200, np.uint8))

    def icons():
        calls: list = []
        shim = type("Shim", (), {"layout": CheckedLayout(calls)})()
        with sequencer_override(scene, sequencer_area):
            props.style_items(None, bpy.context)  # the picker's previews, as drawn
            ext("panels.sequencer").RESTYLE_PT_main.draw(shim, bpy.context)
        return [c[1] for c in calls if c[0] == "template_icon"]

    scene.restyle.style = props.PICTURE
    assert icons() == []  # no picture chosen: the tile alone
    scene.restyle.picture = str(picture)
    (shown,) = icons()
    preview = props.CATALOG.previews[f"picture:{picture}"]
    assert shown["icon_value"] == preview.icon_id  # 0 until Blender makes icons (no UI here)
    assert tuple(preview.image_size) == (64, 48)
    scene.restyle.picture = str(tmp_path / "gone.png")
    assert icons() == []
