"""Issue 9 items 8 and 9: trained style names, and `styles install` that trusts nothing."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from restyle.core import style_install
from restyle.core.errors import RestyleError
from restyle.core.style_install import install
from restyle.core.styles import StyleLibrary, check_style_name

torch = pytest.importorskip("torch")


def make_trained_style(folder: Path, name: str = "Tiny Ink") -> Path:
    """A real (untrained) few-shot style folder, as training writes it."""
    from restyle.core.train.artifact import write_trained_style
    from restyle.core.train.trainer import TrainFigures, TrainResult
    from restyle.models.fewshot import FewShotGenerator

    torch.manual_seed(0)
    generator = FewShotGenerator(width=4, blocks=1)
    state = {k: v.detach().numpy().copy() for k, v in generator.state_dict().items()}
    figures = TrainFigures(1, 0.1, 0.1, None, 0.5, 1, "budget", "cpu")
    result = TrainResult(state, generator.arch_config, figures)
    return write_trained_style(
        folder, result, name=name, source="clip.mp4", keyframes=[0],
        thumbnail=np.zeros((16, 16, 3), np.uint8),
    )  # fmt: skip


@pytest.fixture(scope="module")
def style_folder(tmp_path_factory) -> Path:
    return make_trained_style(tmp_path_factory.mktemp("made") / "tiny")


def pack(folder: Path, zip_path: Path, edit=None, extra: dict[str, bytes] | None = None) -> Path:
    """Zip a style folder as `styles pack` does; `edit(meta)` changes its style.json."""
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.iterdir()):
            data = f.read_bytes()
            if f.name == "style.json" and edit is not None:
                meta = json.loads(data)
                edit(meta)
                data = json.dumps(meta).encode()
            zf.writestr(f"tiny/{f.name}", data)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return zip_path


def fresh_library(tmp_path: Path) -> StyleLibrary:
    return StyleLibrary(tmp_path / "lib", bundled=None)


def library_files(library: StyleLibrary) -> list[str]:
    root = library.root
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


# -- 8: names ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    ["ink-wash", "Ink Wash", "ink wash", "INK-WASH", "/etc/cron.d/x", "../x", ".hidden",
     "a:0.5", "a,b", "7", "x" * 65, "tab\tname", "back\\slash", ""],
)  # fmt: skip
def test_8_builtin_ids_and_unsafe_names_are_refused(tmp_path, name):
    with pytest.raises(RestyleError):
        check_style_name(name)
    with pytest.raises(RestyleError):
        fresh_library(tmp_path).trained_folder(name)


def test_8_safe_names_are_accepted(tmp_path):
    library = fresh_library(tmp_path)
    for name in ("My Style (v2)", "Été à Paris", "ink-wash 2"):
        assert library.trained_folder(name).parent == library.styles_dir


def test_8_install_refuses_a_builtin_name(style_folder, tmp_path):
    library = fresh_library(tmp_path)
    archive = pack(style_folder, tmp_path / "s.zip", lambda m: m.update(name="ink-wash"))
    with pytest.raises(RestyleError, match="built-in"):
        install(library, archive)
    assert library.trained() == []


# -- 9: install ------------------------------------------------------------------------------
def test_9_a_good_style_installs_and_runs(style_folder, tmp_path):
    library = fresh_library(tmp_path)
    info = install(library, pack(style_folder, tmp_path / "s.zip"))
    assert info.name == "Tiny Ink" and library.resolve("Tiny Ink").folder == info.folder
    from restyle.core.stylizer import Stylizer

    frame = np.full((40, 40, 3), 120, np.uint8)
    assert Stylizer(info, library).stylize(frame).shape == frame.shape


def test_9_size_limit_is_checked_before_extracting(style_folder, tmp_path, monkeypatch):
    monkeypatch.setattr(style_install, "MAX_BYTES", 4 * 2**20)
    library = fresh_library(tmp_path)
    archive = pack(style_folder, tmp_path / "bomb.zip", extra={"tiny/pad.bin": bytes(8 * 2**20)})
    assert archive.stat().st_size < 2**20  # a small zip ...
    with pytest.raises(RestyleError, match="unpacks to"):
        install(library, archive)  # ... that would unpack to 8 MiB
    assert library.trained() == [] and not any(
        p.stat().st_size > 2**20 for p in library.root.rglob("*") if p.is_file()
    )


def test_9_file_count_is_limited(style_folder, tmp_path):
    extra = {f"tiny/f{i}.txt": b"x" for i in range(style_install.MAX_FILES)}
    with pytest.raises(RestyleError, match="at most"):
        install(fresh_library(tmp_path), pack(style_folder, tmp_path / "s.zip", extra=extra))


@pytest.mark.parametrize("blocks", [10**8, -1, 1.5, "3", True])
def test_9_metadata_numbers_are_validated(style_folder, tmp_path, blocks):
    edit = lambda m: m["arch_config"].update(blocks=blocks)  # noqa: E731
    library = fresh_library(tmp_path)
    with pytest.raises(RestyleError, match="blocks"):
        install(library, pack(style_folder, tmp_path / "s.zip", edit))
    assert library.trained() == []


@pytest.mark.parametrize("broken", ["model.onnx", "weights.safetensors"])
def test_9_a_corrupt_style_never_installs(style_folder, tmp_path, broken):
    folder = tmp_path / "copy"
    folder.mkdir()
    for f in style_folder.iterdir():
        data = f.read_bytes()
        (folder / f.name).write_bytes(data[: len(data) // 2] if f.name == broken else data)
    library = fresh_library(tmp_path)
    with pytest.raises(RestyleError, match="does not run|cannot be read"):
        install(library, folder)
    assert library.trained() == []


@pytest.mark.parametrize(
    "member", ["../evil.txt", "/abs/evil.txt", "tiny/../../evil.txt", "tiny/sub/x.txt", "C:evil"]
)
def test_9_unsafe_paths_are_refused(style_folder, tmp_path, member):
    library = fresh_library(tmp_path)
    with pytest.raises(RestyleError):
        install(library, pack(style_folder, tmp_path / "s.zip", extra={member: b"x"}))
    assert not (tmp_path / "evil.txt").exists() and library.trained() == []


def test_9_links_are_refused(style_folder, tmp_path):
    folder = tmp_path / "linked"
    folder.mkdir()
    for f in style_folder.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    os.symlink("/etc/passwd", folder / "thumbnail2.png")
    with pytest.raises(RestyleError, match="plain files"):
        install(fresh_library(tmp_path), folder)
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in style_folder.iterdir():
            zf.writestr(f"tiny/{f.name}", f.read_bytes())
        link = zipfile.ZipInfo("tiny/passwd")
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(RestyleError, match="link"):
        install(fresh_library(tmp_path), archive)


def test_8_a_legacy_style_with_a_builtin_name_can_be_renamed_and_deleted(style_folder, tmp_path):
    library = fresh_library(tmp_path)
    legacy = library.styles_dir / "ink-wash"  # made by an older Restyle
    legacy.parent.mkdir(parents=True)
    import shutil

    shutil.copytree(style_folder, legacy)
    meta = json.loads((legacy / "style.json").read_text())
    (legacy / "style.json").write_text(json.dumps(dict(meta, name="ink-wash")))
    library.delete("ink-wash")
    assert not legacy.exists()
    with pytest.raises(RestyleError, match="built-in"):
        library.delete("ink-wash")


def test_pack_into_a_new_folder_makes_it_and_leaves_no_part_file(style_folder, tmp_path):
    import shutil

    library = fresh_library(tmp_path)
    library.styles_dir.mkdir(parents=True)
    shutil.copytree(style_folder, library.styles_dir / "tiny")
    shared = tmp_path / "to share" / "ink.zip"  # was a raw '[Errno 2] ... .part', exit 1
    assert library.pack("Tiny Ink", shared) == shared
    assert sorted(p.name for p in shared.parent.iterdir()) == ["ink.zip"]
    assert install(fresh_library(tmp_path / "other"), shared).name == "Tiny Ink"


def test_names_that_slug_alike_never_share_a_folder(style_folder, tmp_path):
    """'Ink é' and 'Ink' both slug to 'Ink': training or installing 'Ink' said it already
    existed, and with --overwrite replaced 'Ink é', another style."""
    import shutil

    library = fresh_library(tmp_path)
    library.styles_dir.mkdir(parents=True)
    accented = library.trained_folder("Ink é")
    shutil.copytree(style_folder, accented)
    meta = json.loads((accented / "style.json").read_text())
    (accented / "style.json").write_text(json.dumps(dict(meta, name="Ink é")))
    assert library.trained_folder("Ink é") == accented  # its own folder, found by name
    assert library.trained_folder("Ink") != accented
    assert not library.trained_folder("Ink").exists()
    archive = pack(style_folder, tmp_path / "s.zip", lambda m: m.update(name="Ink"))
    install(library, archive, overwrite=True)
    assert sorted(s.name for s in library.trained()) == ["Ink", "Ink é"]
    plain = library.resolve("Ink")  # by its name, before the other's folder named 'Ink'
    assert plain.name == "Ink" and plain.folder != accented
    library.delete("Ink")
    assert [s.name for s in library.trained()] == ["Ink é"]
