"""Round 25's walkthrough of the command line as a pipeline TD batches it (cli25).

a. An output that is the input is one check (``writers.refuse_source_as_output``), before
   and after the probe: ``--plan`` into an image sequence's own folder exited 0 saying
   'a run would be refused'; now exit 2 with the run's one message, for every command.
"""

from __future__ import annotations

import pytest
from helpers_cli import run

from restyle.core import cli
from restyle.core.errors import RestyleError
from restyle.core.job import StyleJob

from clips import make_image_sequence

pytestmark = pytest.mark.usefixtures("private_home")


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# -- a. the input as the output: one check, the plan's error too ------------------------------
@pytest.fixture
def plate(tmp_path):
    make_image_sequence(tmp_path / "plate", 3, name="plate.{:04d}.png", first=1001)
    return tmp_path / "plate"


@pytest.mark.parametrize(
    ("command", "source", "output"),
    [
        ("stylize", "plate", "plate"),
        ("stylize", "plate", "plate/"),
        ("stylize", "plate/plate.%04d.png", "plate"),
        ("stylize", "plate/plate.1002.png", "plate"),
        ("matte", "plate", "plate"),
        ("stabilize", "plate", "plate"),
    ],
)
def test_plan_into_the_input_frames_folder_fails_as_the_run_does(
    tmp_path, plate, capsys, command, source, output
):
    before = _snapshot(plate)
    argv = [command, str(tmp_path / source), "-o", str(tmp_path / output), "--end", "1"]
    argv += ["-s", "comic-ink"] if command == "stylize" else []
    said = f"output folder {tmp_path / output} holds the input frames; choose another folder"
    for extra in (["--plan"], ["--plan", "--json"], []):
        code = cli.main([*argv, *extra])
        captured = capsys.readouterr()
        assert code == 2, (extra, captured)
        assert f"restyle: error: {said}" in captured.err, (extra, captured.err)
        assert "would be refused" not in captured.out
    assert _snapshot(plate) == before


def test_a_frame_of_the_folder_as_the_output_is_the_input(tmp_path, plate, capsys):
    """Named as the input before its '.png' is read for a format, as a movie's is."""
    out = plate / "plate.1002.png"
    code, _, err = run(["stylize", str(plate), "-o", str(out), "-s", "comic-ink", "--plan"], capsys)
    assert code == 2 and f"output {out} is the input; choose another output" in err, err
    assert "cannot write '.png'" not in err


def test_a_movie_named_by_its_format_as_the_input_fails_the_plan(tmp_path, capsys, index_clip_h264):
    """'-o clip --format h264' is clip.mp4: known only once the name is made whole."""
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(index_clip_h264.read_bytes())
    argv = ["stylize", str(clip), "-o", str(tmp_path / "clip"), "--format", "h264"]
    code, _, err = run([*argv, "-s", "comic-ink", "--end", "1", "--plan"], capsys)
    assert code == 2 and f"output {clip} is the input; choose another output" in err, err
    assert clip.read_bytes() == index_clip_h264.read_bytes()


def test_python_outlook_raises_rather_than_says_refused(tmp_path, plate, library):
    job = StyleJob(plate, plate, "comic-ink", end=1, library=library)
    with pytest.raises(RestyleError, match="holds the input frames"):
        job.outlook(job.check_settings())
    with pytest.raises(RestyleError, match="holds the input frames"):
        job.validate()
