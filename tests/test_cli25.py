"""Round 25's walkthrough of the command line as a pipeline TD batches it (cli25).

a. An output that is the input is one check (``writers.refuse_source_as_output``), before
   and after the probe: ``--plan`` into an image sequence's own folder exited 0 saying
   'a run would be refused'; now exit 2 with the run's one message, for every command.
b. '-o still.png --end 0' stays refused (OUTPUT_FORMATS holds sequences and movies; a picture
   file would need its own resume and settings tag), and the refusal now says one frame is
   written into a folder too, named by its number: the way a TD gets one picture.
c. A run to the end of a cut-short movie (no --end) exits 3 with one error line, its frames
   kept, its rerun too; with --end at the last frame that decodes, 0; --plan warns of it.
Walkthrough: a PNG frame cut short in a sequence printed libpng's own 'libpng error: PNG
input buffer is incomplete' before Restyle's 'corrupt'; now only Restyle's line, naming why.
"""

from __future__ import annotations

import pytest
from helpers_cli import run
from test_file_safety import damaged_copies

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


# -- b. one frame to one picture: said how ---------------------------------------------------
def test_one_frame_into_a_pictures_name_says_it_goes_into_a_folder(
    tmp_path, capsys, index_clip_h264, library
):
    out = tmp_path / "still.png"
    argv = ["stylize", str(index_clip_h264), "-s", "comic-ink", "--end", "0"]
    argv += ["--temporal", "0", "--library", str(library.root)]
    code, _, err = run([*argv, "-o", str(out)], capsys)
    assert code == 2, err
    assert f"give a folder such as {out}/ for an image sequence" in err, err
    assert "one frame too is written there, named by its number (000000.png for frame 0)" in err
    assert list(tmp_path.iterdir()) == []
    code, record, err = run([*argv, "-o", f"{out}/"], capsys)  # as it says: one picture
    assert code == 0 and [p.name for p in out.glob("*.png")] == ["000000.png"], err


def test_a_plan_of_one_frame_says_one_frame(tmp_path, capsys, index_clip_h264):
    argv = ["stylize", str(index_clip_h264), "-o", str(tmp_path / "o"), "-s", "comic-ink"]
    assert cli.main([*argv, "--end", "0", "--plan"]) == 0
    assert "1 chunk (1 frame computed):" in capsys.readouterr().out


# -- c. a cut-short source: the frames a run to its end cannot make -----------------------------
@pytest.fixture
def cut(tmp_path, index_clip_ffv1):
    """40 frames declared, the first ``frame_count`` decode (the file cut at 60 %)."""
    from restyle.core.media import probe

    source = damaged_copies(index_clip_ffv1, tmp_path)[0]
    info = probe(source)
    assert info.truncated and info.declared_frames == 40
    return source, info.frame_count


def test_a_run_to_the_end_of_a_cut_short_movie_exits_3(tmp_path, cut, capsys, library):
    source, decoded = cut
    out = tmp_path / "out"
    argv = ["stylize", str(source), "-o", str(out), "-s", "comic-ink", "--temporal", "0"]
    argv += ["--library", str(library.root)]
    said = (
        f"restyle: error: frames {decoded}-39 cannot be read: the source is cut short, no "
        f"frame after {decoded - 1} decodes; give --end {decoded - 1} for only the frames that decode"
    )
    for written, reused in ((decoded, 0), (0, decoded)):  # a farm's retry says it again
        code, record, err = run(argv, capsys)
        assert code == 3, err
        assert said in err and err.rstrip().endswith(f"({decoded} frames in {out} kept)"), err
        assert (record["written"], record["reused"]) == (written, reused)
        assert record["missing_frames"] == 40 - decoded
        assert '"event": "error"' in err
    assert len(list(out.glob("*.png"))) == decoded
    code, record, err = run([*argv, "--end", str(decoded - 1)], capsys)
    assert code == 0 and record["missing_frames"] == 0 and "error" not in err, err
    assert "cut short" in " ".join(record["warnings"])  # the source still is


def test_the_plan_warns_and_stabilize_exits_3_too(tmp_path, cut, capsys):
    source, decoded = cut
    argv = ["stabilize", str(source), "-o", str(tmp_path / "steady")]
    code = cli.main([*argv, "--plan"])
    said = capsys.readouterr()
    assert code == 0, said.err
    assert f"the source is cut short, no frame after {decoded - 1} decodes" in said.out
    assert "a run to the end exits 3" in said.out
    code = cli.main(argv)
    said = capsys.readouterr()
    assert code == 3 and f"restyle: error: frames {decoded}-39 cannot be read:" in said.err
    assert len(list((tmp_path / "steady").glob("*.png"))) == decoded


def test_shots_to_the_end_of_a_cut_short_movie_exits_3(cut, capsys):
    source, decoded = cut
    code, record, err = run(["shots", str(source)], capsys)
    assert code == 3 and record["shots"][-1]["end"] == decoded - 1, err
    assert f"restyle: error: frames {decoded}-39 cannot be read:" in err
    assert f"(shots listed for frames 0..{decoded - 1})" in err
    assert run(["shots", str(source), "--end", str(decoded - 1)], capsys)[0] == 0


# -- walkthrough: what a farm's script reads is in --help ---------------------------------------
def test_help_lists_the_exit_codes(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    codes = out.split("\nexit codes:\n")[1]
    for line in ("  0    done", "  2    bad input", "  3    a run to the end of a cut-short movie"):
        assert line in codes, out
    assert "  130  Ctrl-C, 143 SIGTERM" in codes, out


# -- walkthrough: a PNG frame cut short is said in Restyle's one line -----------------------
def test_a_cut_short_png_frame_is_said_without_libpngs_line(tmp_path, library):
    import subprocess
    import sys

    frames = make_image_sequence(tmp_path / "plate", 3)
    frames[1].write_bytes(frames[1].read_bytes()[:-200])  # the copy stopped short of IEND
    argv = [sys.executable, "-m", "restyle", "stylize", str(tmp_path / "plate"), "-o"]
    argv += [str(tmp_path / "out"), "-s", "comic-ink", "--library", str(library.root)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"restyle: error: image {frames[1]} is cut short (its PNG data ends before the "
        "image's end): copy or render it again"
    ], done.stderr
