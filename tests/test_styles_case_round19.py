"""Style folders are compared casefolded (round 19): on macOS's default file system
'MON-ENCRE' is the folder 'Mon-Encre', so a style whose name differs only by case took
another style's folder: training or installing 'MON ENCRE' said it already existed and,
with --overwrite, replaced 'Mon Encre'; renaming 'Mon Encre' to 'MON ENCRE É' was refused.

Linux is case-sensitive, so ``case_insensitive`` simulates macOS for paths under the test's
folder: a name finds its case variant, as exists(), rename() and replace() do there."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from restyle.core.errors import RestyleError
from restyle.core.style_install import install
from restyle.core.styles import StyleLibrary

pytest.importorskip("torch")

from test_style_install import make_trained_style, pack  # noqa: E402


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    return make_trained_style(tmp_path_factory.mktemp("made") / "tiny", "Mon Encre")


@pytest.fixture
def case_insensitive(tmp_path, monkeypatch):
    """Paths under ``tmp_path`` behave as on APFS/HFS+: case-insensitive, case-preserving."""
    real_replace, real_rename = os.replace, os.rename
    real = {name: getattr(Path, name) for name in ("exists", "is_dir", "is_file", "samefile")}

    def spelled(path) -> Path:
        """``path`` as the disk spells it (its case variant there), else unchanged."""
        path = Path(path)
        if not path.is_relative_to(tmp_path):
            return path
        out = tmp_path
        for part in path.relative_to(tmp_path).parts:
            if not real["exists"](out / part) and real["is_dir"](out):
                part = next((p.name for p in out.iterdir() if p.name.lower() == part.lower()), part)
            out = out / part
        return out

    def moved(real_move):
        def move(src, dst):
            src, there = spelled(src), spelled(dst)
            if real["exists"](there) and there.samefile(src):  # a change of case only
                return real_move(src, dst)
            return real_move(src, there)

        return move

    for name, method in real.items():
        monkeypatch.setattr(Path, name, lambda self, *a, m=method: m(spelled(self), *a))
    monkeypatch.setattr(os, "replace", moved(real_replace))
    monkeypatch.setattr(os, "rename", moved(real_rename))
    assert (tmp_path / "lib").exists() is False
    (tmp_path / "Probe").mkdir()
    assert (tmp_path / "PROBE").exists()  # the simulation holds
    (tmp_path / "Probe").rmdir()


def library_with(tmp_path: Path, made: Path, *names: str) -> StyleLibrary:
    library = StyleLibrary(tmp_path / "lib", bundled=None)
    for name in names:
        install(library, pack(made, tmp_path / f"{name}.zip", lambda m, n=name: m.update(name=n)))
    return library


def test_a_case_variant_gets_a_folder_of_its_own(made, tmp_path):
    """On every file system: 'MON-ENCRE' would be 'Mon-Encre' on a Mac."""
    library = library_with(tmp_path, made, "Mon Encre")
    mine = library.trained_folder("Mon Encre")
    other = library.trained_folder("MON ENCRE")
    assert mine.name == "Mon-Encre"
    assert other.name.casefold() != mine.name.casefold()
    assert library.trained_folder("mon encre").name.casefold() != mine.name.casefold()


def test_installing_a_case_variant_with_overwrite_keeps_the_other(made, tmp_path, case_insensitive):
    library = library_with(tmp_path, made, "Mon Encre")
    weights = (library.trained_folder("Mon Encre") / "weights.safetensors").read_bytes()
    archive = pack(made, tmp_path / "upper.zip", lambda m: m.update(name="MON ENCRE"))
    assert install(library, archive, overwrite=True).name == "MON ENCRE"  # replaced 'Mon Encre'
    assert sorted(s.name for s in library.trained()) == ["MON ENCRE", "Mon Encre"]
    with pytest.raises(RestyleError, match="a style named 'MON ENCRE' already exists"):
        install(library, archive)
    install(library, archive, overwrite=True)  # replaces 'MON ENCRE' itself, only
    assert sorted(s.name for s in library.trained()) == ["MON ENCRE", "Mon Encre"]
    kept = library.resolve("Mon Encre").folder
    assert (kept / "weights.safetensors").read_bytes() == weights
    assert library.resolve("MON ENCRE").folder.name.casefold() != kept.name.casefold()


def test_renaming_to_a_case_variant_of_itself_works(made, tmp_path, case_insensitive):
    library = library_with(tmp_path, made, "Mon Encre", "Other")
    folder = library.rename("Mon Encre", "MON ENCRE É")  # was 'already exists'
    assert folder.name == "MON-ENCRE"
    assert sorted(s.name for s in library.trained()) == ["MON ENCRE É", "Other"]
    assert library.resolve("MON ENCRE É").folder.name == "MON-ENCRE"  # the case changed
    library.rename("MON ENCRE É", "Mon Encre")  # and back
    assert [s.name for s in library.trained()] == ["Mon Encre", "Other"]


def test_renaming_onto_another_style_is_still_refused(made, tmp_path, case_insensitive):
    library = library_with(tmp_path, made, "Mon Encre", "Other")
    with pytest.raises(RestyleError, match="a style named 'Other' already exists"):
        library.rename("Mon Encre", "Other")
    assert sorted(s.name for s in library.trained()) == ["Mon Encre", "Other"]


def test_a_library_with_both_spellings_keeps_finding_each(made, tmp_path):
    """Made case-sensitively by an older Restyle: each folder is found by its style's name."""
    library = StyleLibrary(tmp_path / "lib", bundled=None)
    for name, folder in (("Mon Encre", "Mon-Encre"), ("MON ENCRE", "MON-ENCRE")):
        shutil.copytree(made, library.styles_dir / folder)
        meta = json.loads((made / "style.json").read_text())
        (library.styles_dir / folder / "style.json").write_text(json.dumps(dict(meta, name=name)))
    assert library.trained_folder("Mon Encre").name == "Mon-Encre"
    assert library.trained_folder("MON ENCRE").name == "MON-ENCRE"
    assert library.resolve("MON ENCRE").folder.name == "MON-ENCRE"
    assert library.trained_folder("mon encre").name.startswith("mon-encre-")


def test_install_never_replaces_a_folder_of_another_name(made, tmp_path):
    """The last check: what --overwrite replaces is the style of that name, nothing else."""
    library = StyleLibrary(tmp_path / "lib", bundled=None)
    stray = library.styles_dir / "Ink"
    stray.mkdir(parents=True)
    (stray / "notes.txt").write_text("mine")
    archive = pack(made, tmp_path / "ink.zip", lambda m: m.update(name="Ink"))
    with pytest.raises(RestyleError, match="is not the style 'Ink'; not replacing it"):
        install(library, archive, overwrite=True)
    assert (stray / "notes.txt").read_text() == "mine"
