"""The preferences' "Install OpenVINO" (core/gpu_install.py PACKS["openvino"]): its pin and
pip command, offered only where the CPU has native bf16 (the CPU probe patched), activation
makes OpenVINO importable and ``auto`` inside Blender says where it came from, and the
one-frame check through the child process accepts OpenVINO and rejects a bad result.

Nothing is downloaded: the "installed" folder holds a link to this venv's OpenVINO package,
and this venv's own site-packages is taken off ``sys.path`` where that would hide the test.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from restyle.core import gpu_install
from restyle.core.engines import ModelFiles, choose_backend, openvino_available
from restyle.core.engines.child import ChildEngine
from restyle.core.errors import RestyleError
from restyle.core.gpu_install import PACKS, activate, plan_openvino, verify
from restyle.models.registry import ARCHS

ROOT = Path(__file__).resolve().parents[1]
BF16 = frozenset({"avx512f", "avx512_bf16"})
NO_BF16 = frozenset({"avx512f", "avx512_vnni"})
VENV_OPENVINO = importlib.util.find_spec("openvino")  # this venv's package, linked below
needs_openvino = pytest.mark.skipif(VENV_OPENVINO is None, reason="openvino is not installed")


def test_plan_pins_openvino_alone_into_its_own_folder(tmp_path):
    plan = plan_openvino(tmp_path, BF16)
    assert plan.requirements == ("openvino==2026.4.1",) and plan.pack == "openvino"
    assert plan.folder == tmp_path / "openvino-site-packages" != tmp_path / gpu_install.FOLDER_NAME
    runtime = (ROOT / "requirements" / "runtime.txt").read_text().split()
    assert plan.requirements[0] in runtime  # the pin the project tests with
    cmd = plan.pip_command("/blender/python")
    assert cmd[:3] == ["/blender/python", "-m", "pip"] and cmd[-1] == "openvino==2026.4.1"
    # Not numpy (Blender's own would be shadowed), not openvino-telemetry (never imported).
    assert "--no-deps" in cmd and cmd[cmd.index("--target") + 1] == str(plan.folder)
    gpu = gpu_install.plan_gpu_support(tmp_path, "Linux", "x86_64", nvidia=True)
    assert "--no-deps" not in gpu.pip_command("/blender/python")  # CUDA needs its libraries


def test_offered_only_where_the_cpu_has_native_bf16(tmp_path, monkeypatch):
    with pytest.raises(RestyleError, match="this CPU has no native bf16: the bundled engine"):
        plan_openvino(tmp_path, NO_BF16)
    with pytest.raises(RestyleError, match="does not report its CPU's features"):
        plan_openvino(tmp_path, frozenset())
    # The preferences call the pack's plan with the folder only: the CPU probe decides.
    monkeypatch.setattr(gpu_install, "cpu_flags", lambda: frozenset({"amx_tile", "amx_bf16"}))
    assert PACKS["openvino"].plan(tmp_path).requirements == ("openvino==2026.4.1",)
    monkeypatch.setattr(gpu_install, "cpu_flags", lambda: NO_BF16)
    with pytest.raises(RestyleError, match="no native bf16"):
        PACKS["openvino"].plan(tmp_path)


def installed_folder(tmp_path: Path) -> Path:
    """An install's folder, holding this venv's OpenVINO package (a link, no download)."""
    folder = tmp_path / PACKS["openvino"].folder
    folder.mkdir()
    package = Path(VENV_OPENVINO.origin).parent
    (folder / "openvino").symlink_to(package, target_is_directory=True)
    return folder


@pytest.fixture
def without_venv_openvino(monkeypatch):
    """This process as Blender's: no OpenVINO on sys.path until the folder is activated."""
    site = str(Path(VENV_OPENVINO.origin).parents[1])
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != site])
    monkeypatch.delitem(sys.modules, "openvino", raising=False)
    importlib.invalidate_caches()
    yield
    importlib.invalidate_caches()


@needs_openvino
def test_activation_makes_openvino_importable_and_auto_names_the_install(
    tmp_path, library, monkeypatch, without_venv_openvino
):
    import restyle.core.engines as engines

    folder = installed_folder(tmp_path)
    assert not openvino_available()
    assert activate(folder, "openvino")
    assert sys.path[0] == str(folder) and openvino_available()
    assert not activate(folder, "openvino")  # once only
    # Inside Blender on a bf16 CPU, auto takes it, and the run summary says from where.
    monkeypatch.setattr(engines, "native_bf16_cpu", lambda: True)
    monkeypatch.setattr(engines, "inside_blender", lambda: True)
    model = ModelFiles(ARCHS["multistyle26"], library.builtin_file("multistyle26", ".onnx"), None)
    choice = choose_backend(model)
    assert choice.backend == "openvino"
    assert choice.reason == "from the add-on's install; the CPU has native bf16"


@needs_openvino
def test_auto_does_not_claim_the_install_for_another_openvino(library, monkeypatch):
    import restyle.core.engines as engines

    monkeypatch.setattr(engines, "native_bf16_cpu", lambda: True)
    monkeypatch.setattr(engines, "inside_blender", lambda: True)
    model = ModelFiles(ARCHS["multistyle26"], library.builtin_file("multistyle26", ".onnx"), None)
    assert choose_backend(model).reason == "the CPU has native bf16"


@needs_openvino
def test_one_frame_check_through_the_child_process(tmp_path, library):
    plan = plan_openvino(tmp_path, BF16)
    installed_folder(tmp_path)
    ok, why = verify(plan, library.builtin_file("multistyle26", ".onnx"))
    # This CPU may lack bf16 (then OpenVINO runs f32): the check runs either way.
    assert ok, why
    assert why.endswith("dB against ONNX Runtime fp32") and why.split(" in a child")[0] in (
        "OpenVINO bf16",
        "OpenVINO fp32",
    )


@needs_openvino
def test_one_frame_check_rejects_a_bad_result(tmp_path, library, monkeypatch):
    plan = plan_openvino(tmp_path, BF16)
    installed_folder(tmp_path)
    model = library.builtin_file("multistyle26", ".onnx")
    real = ChildEngine.run
    monkeypatch.setattr(ChildEngine, "run", lambda self, x, c=None: 1.0 - real(self, x, c))
    ok, why = verify(plan, model)
    assert not ok and "dB against ONNX Runtime fp32" in why


def test_one_frame_check_reports_a_child_that_cannot_start(tmp_path, library, monkeypatch):
    plan = plan_openvino(tmp_path, BF16)
    model = library.builtin_file("multistyle26", ".onnx")

    def no_openvino(*_args, **_kwargs):
        raise RestyleError("OpenVINO (child process): No module named 'openvino'")

    monkeypatch.setattr(ChildEngine, "__init__", no_openvino)
    ok, why = verify(plan, model)
    assert not ok and "No module named 'openvino'" in why
