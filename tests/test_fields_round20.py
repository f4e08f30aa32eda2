"""The Python API's fields accepted silently or refused late (round 20 walkthrough): each is
one RestyleError from validate(), in Python's words, before anything is written: scale with
max_side, a misspelt device, a library that is a file (or missing, for a trained style), a
field a mapping never reads, a negative or late background_start, and the Ray chunk's
camera, cuts and seen_from read by the fields' rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from restyle.core.errors import COMMAND_LINE, RestyleError
from restyle.core.job import StyleJob
from restyle.core.mappings.matte_job import MatteJob
from restyle.core.mappings.stabilize_job import StabilizeJob

from clips import noise_shot

pytestmark = pytest.mark.usefixtures("private_home")


@pytest.fixture
def shot(tmp_path) -> Path:
    return noise_shot(tmp_path / "shot", count=4)


def refused(job, out: Path) -> str:
    """validate()'s refusal of ``job`` (Python's words), with nothing written at ``out``."""
    with pytest.raises(RestyleError) as error:
        job.validate()
    assert not out.exists()
    return str(error.value)


def test_scale_with_max_side_is_refused_as_the_command_line_refuses_both(shot, tmp_path):
    """StyleJob(scale=0.5, max_side=64) ran at the smaller of the two without a word; the
    command line's --scale and --max-side are exclusive."""
    out = tmp_path / "out"
    job = StyleJob(shot, out, "comic-ink", scale=0.5, max_side=64)
    said = "scale=0.5 and max_side=64 both set the size styled at: give one"
    assert refused(job, out) == said
    with pytest.raises(RestyleError) as error:
        StyleJob(shot, out, "comic-ink", scale=0.5, max_side=64).validate()
    assert error.value.said(COMMAND_LINE).startswith("--scale 0.5 and --max-side 64 both")
    for size in ({"scale": 0.5}, {"max_side": 64}):
        assert StyleJob(shot, out, "comic-ink", **size).validate().output == out


@pytest.mark.parametrize("device", ["gpu7", "cuda:x", "cpu:1", "CUDA", "cuda:", ""])
def test_a_misspelt_device_is_refused_by_validate(shot, tmp_path, device):
    """device='gpu7' passed validate() and was refused only by run(), at the engine."""
    out = tmp_path / "out"
    said = refused(StyleJob(shot, out, "comic-ink", device=device), out)
    assert said.startswith(f"device={device!r} is not a device: use auto, cpu, cuda[:N]")


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda:1", "gpu:0", "tensorrt", "mps"])
def test_devices_spelt_right_pass_validate_whatever_this_machine_has(shot, tmp_path, device):
    out = tmp_path / "out"
    assert StyleJob(shot, out, "comic-ink", device=device).validate().output == out


def test_a_library_that_is_a_file_is_refused_naming_it(shot, tmp_path):
    """library='/etc/hostname' styled with the bundled built-ins without a word."""
    out, file = tmp_path / "out", tmp_path / "styles.txt"
    file.write_text("not a library")
    for library in (file, str(file)):
        said = refused(StyleJob(shot, out, "comic-ink", library=library), out)
        assert said == f"the style library {file} is not a folder: give the folder of the styles"


def test_a_missing_library_styles_with_built_ins_but_says_it_for_a_trained_style(
    shot, tmp_path, tiny_style
):
    """A fresh library (a folder not made yet) is fine for the built-ins; a trained style
    asked of it was 'unknown style' without the folder it was looked for in."""
    out, missing = tmp_path / "out", tmp_path / "nonexistent"
    assert StyleJob(shot, out, "comic-ink", library=missing).validate().output == out
    assert not missing.exists()
    said = refused(StyleJob(shot, out, "Tiny", library=missing), out)
    assert said.startswith("unknown style 'Tiny'")
    assert said.endswith(f"; no style has been trained yet (none in the style library {missing})")
    assert StyleJob(shot, out, "Tiny", library=tiny_style).validate().style.name == "Tiny"


@pytest.mark.parametrize(
    ("job", "field", "why"),
    [
        (StabilizeJob, {"style": "starry-swirls"}, "does not style"),
        (StabilizeJob, {"max_side": 64}, "does not style"),
        (StabilizeJob, {"temporal": 0.5}, "has no coherence stage"),
        (StabilizeJob, {"device": "cuda"}, "runs no network"),
        (MatteJob, {"style": "starry-swirls"}, "does not style"),
        (MatteJob, {"strength": 0.5}, "does not style"),
        (MatteJob, {"lookahead": False}, "has a coherence of its own"),
        # Matter works at its network's input size and WORK_SIDE: max_side=96 matted at
        # full size, changing only the settings key (it was left taken for test_api_round19b)
        (MatteJob, {"max_side": 96}, "does not style"),
    ],
)
def test_a_field_a_mapping_never_reads_is_refused(shot, tmp_path, job, field, why):
    """StabilizeJob(max_side=64, temporal=0.5, style=...) and MatteJob(style=...) ran as if
    not given (temporal was set to 0 without a word)."""
    out = tmp_path / "out"
    said = refused(job(shot, out, **field), out)
    ((name, value),) = field.items()
    assert said.startswith(f"{job.__name__} {why}")
    assert said.endswith(f": {name}={value!r} has no effect; leave it out")
    defaults = job(shot, out)  # the defaults pass
    assert defaults.validate().output == out


@pytest.mark.parametrize(
    ("start", "said"),
    [
        (-2, "frames are 0-based: background_start is -2"),
        (4, "background_start=4 is past the source's last frame (3)"),
    ],
)
def test_background_start_outside_the_source_is_refused(shot, tmp_path, start, said):
    """MatteJob(background_start=-2) ran, the clip laid two frames on."""
    out = tmp_path / "out"
    job = MatteJob(shot, out, replace="#00FF00", background_start=start)
    assert refused(job, out).startswith(said)
    job = MatteJob(shot, out, replace="#00FF00", background_start=3)
    assert job.validate().output == out


def test_a_camera_path_of_another_type_is_refused_naming_it(shot, tmp_path):
    """StabilizeJob(camera='x') was an AttributeError in run(): 'str' object has no
    attribute 'kept_area'."""
    out = tmp_path / "out"
    assert refused(StabilizeJob(shot, out, camera="x"), out) == (
        "camera must be a StabilizationPlan, got 'x'"
    )
    said = refused(StabilizeJob(shot, out, camera_start=-1), out)
    assert said == "frames are 0-based: camera_start is -1"


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"cuts": (5, -1)}, "frames are 0-based: cuts holds -1"),
        ({"seen_from": -3}, "frames are 0-based: seen_from is -3"),
        ({"seen_from": 3, "start": 1}, "seen_from=3 is after start=1: a chunk's history"),
    ],
)
def test_a_chunks_cuts_and_history_are_source_frames(shot, tmp_path, fields, said):
    """cuts=(5, -1) and seen_from=-3 passed unread (seen_from clamped to 0..start)."""
    out = tmp_path / "out"
    assert refused(StyleJob(shot, out, "comic-ink", **fields), out).startswith(said)
    job = StyleJob(shot, out, "comic-ink", cuts=(1, 2), seen_from=0, start=1)
    assert job.validate().output == out


# Spellings of a device: the command line's --device (``cli._device``) and the Python API's
# device (the job's validate) read one rule (``device_words.device_refusal``, numpy-free for
# parsing): they must take and refuse alike, the flag its word in any case.
SPELLINGS = [
    *("auto", "cpu", "cuda", "cuda:1", "cuda:10", "tensorrt:0", "gpu:0", "mps", "dml", "npu"),
    *("gpu7", "cuda:x", "cpu:1", "cuda:", "", "banana", "mps:0", "cuda:-1", "cuda:\u0661"),
]


@pytest.mark.parametrize("device", SPELLINGS)
def test_both_front_ends_take_and_refuse_the_same_device_spellings(shot, tmp_path, capsys, device):
    """The flag takes its word in any case ('CUDA' is cuda); spelt in lower case, a device
    the command line refuses Python refuses, in the same words after its name."""
    from restyle.core import cli

    out = tmp_path / "out"
    try:
        StyleJob(shot, out, "comic-ink", device=device).validate()
        python = None
    except RestyleError as error:
        python = str(error)
    words = ["stylize", str(shot), "-o", str(out), "-s", "comic-ink", "--device", device]
    if python is None:
        assert cli.build_parser().parse_args(words).device == device
        return
    assert cli.main(words) == 2 and not out.exists()  # refused as it parses: nothing ran
    assert python.startswith(f"device={device!r} is not a device: use ")
    why = python.partition(" is not a device")[2]
    assert f"argument --device: '{device}' is not a device{why}" in capsys.readouterr().err
