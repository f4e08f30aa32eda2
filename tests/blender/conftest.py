"""Blender tests: real Blender (the ``bpy`` module), headless, with the built zip installed
into an isolated user folder as a user would install it.

Set ``RESTYLE_EXTENSION_ZIP`` to test a zip built elsewhere (the Blender 4.2 run does: its
venv has no torch to convert the built-in styles); otherwise the session builds one.
Tests marked ``blender`` are skipped with the reason when bpy cannot be imported.
"""

from __future__ import annotations

import atexit
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# Blender reads this when bpy is imported: keep the user's own Blender out of the tests.
os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="restyle-blender-user-")
# The installed extension is half a gigabyte: never leave one behind per run.
atexit.register(shutil.rmtree, os.environ["BLENDER_USER_RESOURCES"], ignore_errors=True)

BPY_MISSING = (
    ""
    if importlib.util.find_spec("bpy") is not None
    else "bpy is not installed; install Blender as a Python module: pip install bpy==5.0.1"
)

from vse import PACKAGE, ROOT, SIZE, current_platform  # noqa: E402


def _repository_as_restyle() -> None:
    """Blender tests share footage helpers with the core tests, which import ``restyle``: where
    this venv has no editable install (each Blender's own venv), import it from the repository.
    The extension under test is still the installed zip (``bl_ext.user_default.restyle``)."""
    if importlib.util.find_spec("restyle") is not None:
        return
    folder = Path(tempfile.mkdtemp(prefix="restyle-source-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    (folder / "restyle").symlink_to(ROOT, target_is_directory=True)
    sys.path.append(str(folder))


_repository_as_restyle()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "unsaved: needs a session that has not saved a .blend yet (runs first)"
    )


def pytest_collection_modifyitems(config, items):
    # Once a test saves a .blend, bpy.data.filepath stays set for the session (only reading the
    # home file clears it, which would close the Sequencer area the tests share): tests of an
    # unsaved file run first, or a full run would always skip them.
    items.sort(key=lambda item: "unsaved" not in item.keywords)
    if not BPY_MISSING:
        return
    skip = pytest.mark.skip(reason=BPY_MISSING)
    for item in items:
        if "blender" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def extension_zip(tmp_path_factory) -> Path:
    given = os.environ.get("RESTYLE_EXTENSION_ZIP")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "build_extension.py"),
            "--platform",
            current_platform(),
            "--output-dir",
            str(out),
            "--stage-dir",
            str(out / "stage"),
        ],
        check=True,
    )
    (archive,) = out.glob("*.zip")
    return archive


@pytest.fixture(scope="session")
def restyle(extension_zip, tmp_path_factory):
    """The installed, enabled extension package (``bl_ext.user_default.restyle``)."""
    import bpy  # noqa: I001  (Blender's own modules import after bpy)
    import addon_utils

    # Adding a movie would queue a proxy job that never runs headless and, once its scene is
    # removed, crashes Blender at exit.
    bpy.context.preferences.system.sequencer_proxy_setup = "MANUAL"
    # An empty style library: built-in styles must come from the zip itself.
    os.environ["RESTYLE_HOME"] = str(tmp_path_factory.mktemp("restyle-home"))
    result = bpy.ops.extensions.package_install_files(
        filepath=str(extension_zip), repo="user_default", enable_on_install=True
    )
    assert result == {"FINISHED"}
    assert addon_utils.check(PACKAGE) == (True, True)
    return importlib.import_module(PACKAGE)


@pytest.fixture(scope="session")
def sequencer_area():
    """An area of the (headless) window turned into a Sequencer, for context overrides."""
    import bpy

    area = bpy.context.window.screen.areas[-1]
    area.type = "SEQUENCE_EDITOR"
    return area


@pytest.fixture(autouse=True)
def fresh_run_state():
    """``RUN`` (operators.runner) is the add-on's one RunState and outlives each test: a run's
    unit, strip, summary or progress would show in the next test's console lines and sidebar.
    After each test it takes a fresh RunState's values in place (operators imported ``RUN`` by
    name, so the object itself stays). Tests that never installed the extension have none."""
    yield
    runner = sys.modules.get(f"{PACKAGE}.operators.runner")
    if runner is None:
        return
    runner.RUN.cancel()  # a worker a failed test left running stops at its next frame
    vars(runner.RUN).update(vars(runner.RunState()))


def saved_again(folder: Path) -> None:
    """Once a test saved a .blend, the session keeps its path (``pytest_collection_modifyitems``)
    and every later test's frames and keyframes go beside it, to ``//restyle/``, where Apply
    reuses an earlier test's frames of the same pictures and settings (another strip's frames
    of the same file, 7210e12; '0 styled, 4 reused' in CI, 2346a58): where one is saved, it is
    saved again into ``folder``, whose ``//restyle/`` is empty. Nothing where none is saved
    (an unsaved file's frames go to the temporary folder) or bpy is not loaded yet."""
    bpy = sys.modules.get("bpy")
    if bpy is None or not bpy.data.filepath:
        return
    folder.mkdir(parents=True, exist_ok=True)
    assert bpy.ops.wm.save_as_mainfile(filepath=str(folder / "carried.blend")) == {"FINISHED"}


@pytest.fixture(scope="module", autouse=True)
def module_blend_folder(tmp_path_factory):
    """Each module starts with a .blend an earlier module saved (``saved_again``) in a
    folder of its own: no frames of an earlier module's tests beside it."""
    saved_again(tmp_path_factory.mktemp("module-blend"))


@pytest.fixture
def own_output_folder(monkeypatch, tmp_path, tmp_path_factory):
    """A fresh output folder in each test, where an earlier test's frames of the same
    settings would be reused: an unsaved .blend's frames and keyframes go to the temporary
    folder, made this test's; a .blend an earlier test saved is saved again into a folder of
    this test's (``saved_again``). Opt in with
    ``pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("own_output_folder")]``."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    saved_again(tmp_path_factory.mktemp("test-blend"))


@pytest.fixture
def scene(restyle, sequencer_area):
    """A fresh 160x96, 24 fps scene the sequencer edits; removed afterwards."""
    import bpy

    scene = bpy.data.scenes.new("restyle-test")
    name = scene.name
    scene.render.resolution_x, scene.render.resolution_y = SIZE
    scene.render.resolution_percentage = 100
    scene.render.fps, scene.render.fps_base = 24, 1.0
    scene.view_settings.view_transform = "Standard"  # AgX would shift the colours
    scene.render.image_settings.file_format = "PNG"
    editor = scene.sequence_editor_create()
    # Blender 5.0's source cache serves wrong frames for strips whose rate differs from the
    # scene's (renders depend on the order frames were asked for); without it they are exact.
    for cache in (
        "use_cache_raw",
        "use_cache_preprocessed",
        "use_cache_composite",
        "use_cache_final",
    ):
        if hasattr(editor, cache):
            setattr(editor, cache, False)
    previous = bpy.context.window.scene.name
    restyle.compat.set_sequencer_scene(bpy.context, scene)
    yield scene
    # Look both up again: an undo in the test reloads every datablock.
    restyle.compat.set_sequencer_scene(bpy.context, bpy.data.scenes[previous])
    bpy.data.scenes.remove(bpy.data.scenes[name])
