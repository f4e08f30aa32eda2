"""Round 23's Blender walkthrough, the core's words:

- an unknown style on a fresh install said "unknown style 'starry-nite'; did you mean
  starry-swirls?; no trained style is there: the style library /tmp/.../lib does not exist":
  the suggestion goes in brackets, and a typo of a built-in says nothing of the library; a
  name like no style's says calmly that no style has been trained yet;
- the OpenVINO remedy is words inside a sentence (no capital mid-sentence)."""

from __future__ import annotations

from pathlib import Path

import pytest

from restyle.core.errors import BLENDER, COMMAND_LINE, REMEDIES, RestyleError
from restyle.core.job import StyleJob
from restyle.core.styles import StyleLibrary

from clips import noise_shot

pytestmark = pytest.mark.usefixtures("private_home")


@pytest.fixture
def shot(tmp_path) -> Path:
    return noise_shot(tmp_path / "shot", count=2)


def refused(job, out: Path) -> str:
    with pytest.raises(RestyleError) as error:
        job.validate()
    assert not out.exists()
    return error.value.said(COMMAND_LINE)


def test_a_typo_on_a_fresh_install_says_the_suggestion_only(shot, tmp_path):
    out, missing = tmp_path / "out", tmp_path / "lib"
    said = refused(StyleJob(shot, out, "starry-nite", library=missing), out)
    assert said == "unknown style 'starry-nite' (did you mean starry-swirls?)", said
    assert "library" not in said and "?;" not in said


def test_a_name_like_no_style_says_calmly_none_is_trained_yet(shot, tmp_path):
    out, missing = tmp_path / "out", tmp_path / "lib"
    said = refused(StyleJob(shot, out, "Zqxw", library=missing), out)
    assert said.startswith("unknown style 'Zqxw': use a built-in style's id"), said
    assert said.endswith(f"; no style has been trained yet (none in the style library {missing})")
    assert "does not exist" not in said and "no trained style is there" not in said


def test_a_library_that_exists_says_only_the_suggestion(tmp_path):
    (tmp_path / "lib").mkdir()
    error = StyleLibrary(tmp_path / "lib")._unknown("comic-inc")
    assert str(error) == "unknown style 'comic-inc' (did you mean comic-ink?)"
    mix = StyleLibrary(tmp_path / "lib")._unknown("starry-swirls:0.5,comix-ink:0.5")
    assert str(mix) == "unknown style 'comix-ink' in the mix (did you mean comic-ink?)"


def test_the_openvino_remedy_is_words_inside_a_sentence():
    blender = REMEDIES["openvino"][BLENDER]
    assert blender == "install OpenVINO in the add-on preferences"
    assert blender[:1].islower()
