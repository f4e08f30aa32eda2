"""Fuzzing `styles install` (issue 9): random archives and metadata never write outside the
style library, never execute code (no pickle is ever loaded) and never exceed the limits.
Either a checked style is installed inside the library, or one RestyleError says why."""

from __future__ import annotations

import json
import pickle
import tempfile
import zipfile
from pathlib import Path

import pytest

from restyle.core import style_install
from restyle.core.errors import RestyleError
from restyle.core.style_install import install
from restyle.core.styles import StyleLibrary

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_style_install import make_trained_style  # noqa: E402

pytest.importorskip("torch")

_STYLE = Path(tempfile.mkdtemp(prefix="restyle-fuzz-style-")) / "tiny"
make_trained_style(_STYLE)
GOOD = {f.name: f.read_bytes() for f in _STYLE.iterdir()}
META = json.loads(GOOD["style.json"])

names = st.one_of(
    st.sampled_from(
        ["tiny/style.json", "tiny/model.onnx", "tiny/weights.safetensors", "tiny/thumbnail.png",
         "../evil", "/abs/evil", "tiny/../../evil", "tiny/sub/deep", "tiny/.hidden", "C:evil",
         "tiny\\evil", "other/style.json", "tiny/", "evil", "tiny/x.pkl"]
    ),
    st.text(min_size=1, max_size=20).map(lambda t: f"tiny/{t}"),
)  # fmt: skip
numbers = st.one_of(
    st.integers(-(10**9), 10**9), st.floats(allow_nan=True), st.booleans(), st.text(max_size=5)
)
meta_edits = st.dictionaries(
    st.sampled_from(["name", "kind", "format", "arch", "blocks", "width", "in_channels", "x"]),
    st.one_of(numbers, st.text(max_size=80)),
    max_size=3,
)


def build_archive(path: Path, members, edits, keep_good: bool) -> None:
    meta = json.loads(json.dumps(META))
    for key, value in edits.items():
        if key in ("blocks", "width", "in_channels", "x"):
            meta["arch_config"][key] = value
        else:
            meta[key] = value
    files = dict(GOOD, **{"style.json": json.dumps(meta).encode()}) if keep_good else {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(f"tiny/{name}", data)
        for name, data, link in members:
            info = zipfile.ZipInfo(name)
            if link:
                info.external_attr = 0o120777 << 16
            zf.writestr(info, data)


def tree(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    members=st.lists(st.tuples(names, st.binary(max_size=300), st.booleans()), max_size=4),
    edits=meta_edits,
    keep_good=st.booleans(),
)
def test_random_archives_stay_inside_the_library(members, edits, keep_good, monkeypatch_pickle):
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        outside = base / "outside"
        outside.mkdir()
        (outside / "keep.txt").write_text("mine")
        library = StyleLibrary(base / "lib", bundled=None)
        archive = outside / "style.zip"
        build_archive(archive, members, edits, keep_good)
        before = tree(outside)
        try:
            info = install(library, archive)
        except RestyleError:
            info = None
        assert tree(outside) == before  # nothing written (or deleted) outside the library
        assert sorted(p.name for p in base.iterdir()) == sorted(
            ["outside"] + (["lib"] if (base / "lib").exists() else [])
        )
        installed = tree(library.styles_dir) if library.styles_dir.exists() else {}
        assert not [n for n in installed if n.startswith(".install-")]  # staging removed
        if info is None:
            assert installed == {}
        else:
            assert info.folder.parent == library.styles_dir
            assert len(installed) <= style_install.MAX_FILES
            assert sum(installed.values()) <= style_install.MAX_BYTES


@pytest.fixture(scope="module")
def monkeypatch_pickle():
    """No install may unpickle anything: pickle loading raises while the fuzz runs."""
    saved = pickle.load, pickle.loads

    def refuse(*_args, **_kwargs):
        raise AssertionError("an installed style was unpickled")

    pickle.load, pickle.loads = refuse, refuse
    yield
    pickle.load, pickle.loads = saved
