"""An error raised in OpenVINO's child process names its settings in the words of the front
end that shows it, as an error raised in this process does: the child sent Python's wording
(``str(error)``), so Blender said 'use device='cpu'' and the command line too."""

from __future__ import annotations

import importlib.util

import pytest

from restyle.core.engines.child import ChildEngine
from restyle.core.errors import BLENDER, COMMAND_LINE, RestyleError
from restyle.models.registry import ARCHS

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("openvino") is None, reason="openvino is not installed"
)

# An ``openvino`` found first on the child's path: its import raises, in the child, an
# error that marks a setting (``errors.setting``), as the engine's own refusals do.
REFUSING_OPENVINO = """
from restyle.core.errors import RestyleError, setting
raise RestyleError(f"no NPU here; use {setting('device', 'cpu')} or {setting('backend')}")
"""


def test_a_childs_error_names_its_settings_in_each_front_ends_words(library, tmp_path):
    first = tmp_path / "first"
    (first / "openvino").mkdir(parents=True)
    (first / "openvino" / "__init__.py").write_text(REFUSING_OPENVINO)
    model = library.builtin_file("multistyle26", ".onnx")
    with pytest.raises(RestyleError) as error:
        ChildEngine(model, ARCHS["multistyle26"], "npu", "fp32", path_first=(str(first),))
    said = "OpenVINO (child process): no NPU here; use {} or {}"
    assert str(error.value) == said.format("device='cpu'", "backend")
    assert error.value.said(COMMAND_LINE) == said.format("--device cpu", "--backend")
    assert error.value.said(BLENDER) == said.format("Device 'CPU'", "Backend")
