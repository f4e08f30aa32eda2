"""The command line as a newcomer meets it: version, help, errors that name the fix, rates."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from restyle.core import cli, progress
from restyle.core.engines.choices import BACKENDS, DEVICES, words
from restyle.core.progress import Progress, RateMeter
from restyle.core.styles import BUILTIN_STYLES

ROOT = Path(__file__).resolve().parent.parent


def restyle(*args: str, library: Path | None = None) -> subprocess.CompletedProcess:
    extra = ["--library", str(library)] if library is not None else []
    return subprocess.run(
        [sys.executable, "-m", "restyle", *args, *extra],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


# -- version and help --------------------------------------------------------------------
def test_version_is_the_manifests_and_the_packages():
    proc = restyle("--version")
    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text())["version"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"restyle {manifest}" and manifest == project


def test_help_has_no_source_markup():
    for args in (("--help",), ("stylize", "--help"), ("styles", "--help")):
        proc = restyle(*args)
        assert proc.returncode == 0 and "``" not in proc.stdout, args
    assert "Neural video stylization" in restyle("--help").stdout  # as Blender spells it (11ff131)


@pytest.mark.parametrize("command", sorted(_subcommands()))
def test_every_option_is_documented(command):
    parser = _subcommands()[command]
    undocumented = [a.dest for a in parser._actions if not a.help]
    assert undocumented == [], f"restyle {command}: {undocumented} have no help text"


def test_stylize_help_explains_strength_mixes_and_engines():
    text = restyle("stylize", "--help").stdout
    flat = " ".join(text.split())
    assert "Picture styles" in flat and "Built-in and trained styles" in flat
    assert "starry-swirls:0.7,comic-ink:0.3" in flat
    assert "--batch N" in flat and "frames per inference batch" in flat
    for device in words(DEVICES):
        assert device in flat
    assert "{" + ",".join(words(BACKENDS)) + "}" in flat


# -- errors that name the fix --------------------------------------------------------------
def test_style_typo_suggests_the_closest_style(index_clip_h264, tmp_path):
    out = tmp_path / "out"
    proc = restyle("stylize", str(index_clip_h264), "-o", str(out), "-s", "starry-swirl")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "restyle: error: unknown style 'starry-swirl' (did you mean starry-swirls?)"
    )
    assert not out.exists()


@pytest.mark.parametrize("typed", ["COMIC-INK", "Comic-Ink", "COMIC INK"])
def test_a_style_in_another_case_suggests_it(index_clip_h264, tmp_path, capsys, typed):
    """'-s COMIC-INK' got no 'did you mean' while 'Comic Ink' did: compared without case."""
    out = tmp_path / "out"
    assert cli.main(["stylize", str(index_clip_h264), "-o", str(out), "-s", typed]) == 2
    assert capsys.readouterr().err.strip().endswith(" (did you mean comic-ink?)")
    assert not out.exists()


def test_a_trained_name_in_another_case_is_suggested():
    from restyle.core.styles import _did_you_mean

    assert _did_you_mean("MY PAINT", ["comic-ink", "My Paint"]) == " (did you mean 'My Paint'?)"


def test_export_onnx_refuses_another_formats_name(tmp_path, capsys):
    """'export-onnx comic-ink -o key0.png --overwrite' wrote an ONNX model over a PNG."""
    picture = tmp_path / "key0.png"
    picture.write_bytes(b"the user's painting")
    argv = ["export-onnx", "comic-ink", "-o", str(picture)]
    for extra in ([], ["--overwrite"]):
        assert cli.main([*argv, *extra]) == 2
        assert capsys.readouterr().err.strip() == (
            f"restyle: error: {picture} would be an ONNX model named like a .png file; "
            "name it with .onnx (e.g. key0.onnx)"
        )
    assert picture.read_bytes() == b"the user's painting"


def test_styles_pack_refuses_another_formats_name(tmp_path, capsys):
    """'styles pack NAME sp.png' wrote a zip named .png."""
    out = tmp_path / "sp.png"
    argv = ["styles", "pack", "My Paint", str(out), "--library", str(tmp_path / "lib")]
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.strip() == (
        f"restyle: error: {out} would be a packed style (a zip) named like a .png file; "
        "name it with .zip (e.g. sp.zip)"
    )
    assert not out.exists()


def test_mix_error_quotes_only_the_bad_part(index_clip_h264, tmp_path):
    out = tmp_path / "out"
    for spec, bad, hint in (
        ("starry-swirls:0.7,comix-ink:0.3", "'comix-ink'", "did you mean comic-ink?"),
        ("starry-swirls:0.7,comic-ink:lots", "'comic-ink:lots'", "ID:WEIGHT"),
        ("starry-swirls:0.7,comic-ink:-1", "'comic-ink:-1'", "0 or more"),
    ):
        proc = restyle("stylize", str(index_clip_h264), "-o", str(out), "-s", spec)
        assert proc.returncode == 2, spec
        assert bad in proc.stderr and hint in proc.stderr, proc.stderr
        assert spec not in proc.stderr  # the whole mix is not repeated back
    assert not out.exists()


def test_existing_output_names_the_overwrite_option(index_clip_h264, tmp_path):
    movie = tmp_path / "taken.mp4"
    movie.write_bytes(b"the user's own file")
    proc = restyle("stylize", str(index_clip_h264), "-o", str(movie), "-s", "comic-ink")
    assert proc.returncode == 2 and "--overwrite" in proc.stderr
    assert movie.read_bytes() == b"the user's own file"
    sheet = tmp_path / "sheet.png"
    sheet.write_bytes(b"mine")
    proc = restyle("sheet", str(index_clip_h264), "-o", str(sheet))
    assert proc.returncode == 2 and "use --overwrite" in proc.stderr
    assert sheet.read_bytes() == b"mine"


def test_styles_json_describes_each_builtin(tmp_path):
    proc = restyle("styles", "--json", library=tmp_path / "lib")
    assert proc.returncode == 0
    builtins = [s for s in json.loads(proc.stdout) if s["kind"] == "builtin"]
    descriptions = [s["description"] for s in builtins]
    assert [s["id"] for s in builtins] == [sid for sid, _ in BUILTIN_STYLES]
    assert len(set(descriptions)) == len(BUILTIN_STYLES)
    assert not any(d.startswith("Built-in style") or len(d) < 15 for d in descriptions)
    listing = restyle("styles", library=tmp_path / "lib").stdout.splitlines()
    for style in builtins:  # the plain listing: id and description, one per line
        assert any(line.split() == [style["id"], *style["description"].split()] for line in listing)


# -- progress rate -------------------------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(progress.time, "perf_counter", fake)
    return fake


def test_rate_has_no_estimate_for_a_burst_right_after_the_start(clock):
    meter = RateMeter(total=100)
    clock.now += 0.0001  # a batch of 8 (or frames reused on resume) lands at once
    first = meter.update(8)
    assert first.fps == 0.0 and first.eta_s is None
    clock.now += 1.0
    second = meter.update(10)
    assert second.fps == pytest.approx(10 / 1.0001) and second.eta_s == pytest.approx(90 / 10, 0.01)


def test_rate_follows_the_last_seconds_not_a_slow_first_frame(clock):
    meter = RateMeter(total=1000, window_s=10.0)
    clock.now += 20.0  # model load and a slow first frame
    meter.update(1)
    for done in range(2, 200):  # then 4 frames/s
        clock.now += 0.25
        p = meter.update(done)
    assert p.fps == pytest.approx(4.0, rel=0.05)


def test_progress_bar_shows_the_jobs_rate_not_tqdms(capsys):
    bar = cli._Bar(enabled=True)
    try:
        bar(Progress(50, 60, stage="stylize"))  # resumed: 50 frames done at the first update
        assert "50/60" in str(bar.bar) and "/s" not in str(bar.bar)
        bar(Progress(51, 60, fps=2.0, eta_s=4.5, stage="stylize"))
        assert "2.00 frames/s, 0:04 left" in str(bar.bar)
        bar(Progress(0, 60, stage="setup"))
        assert str(bar.bar).startswith("setup")
    finally:
        bar.close()


# -- contact sheet -------------------------------------------------------------------------
def test_sheet_shows_every_style_distinctly_with_captions(library, index_clip_h264, tmp_path):
    import cv2
    import numpy as np

    from restyle.core.contact_sheet import CAPTION

    out = tmp_path / "sheet.png"
    proc = restyle(
        "sheet", str(index_clip_h264), "-o", str(out), "--tile-width", "80", library=library.root
    )
    assert proc.returncode == 0, proc.stderr
    sheet = cv2.imread(str(out))
    tile_h, cell_h = 48, 48 + CAPTION  # 160x96 frames in 80 px tiles, a caption under each
    assert sheet.shape == (5 * cell_h, 6 * 80, 3)  # source + 26 styles, 6 per row
    cells = [
        sheet[r * cell_h : (r + 1) * cell_h, c * 80 : (c + 1) * 80].astype(int)
        for r in range(5)
        for c in range(6)
    ][: 1 + len(BUILTIN_STYLES)]
    pictures = [cell[:tile_h] for cell in cells]
    for i in range(len(pictures)):
        for j in range(i + 1, len(pictures)):
            assert np.abs(pictures[i] - pictures[j]).mean() > 2, (i, j)
    captions = [cell[tile_h:] for cell in cells]
    assert all(caption.max() > 200 for caption in captions)  # light text on the dark bar


def test_sheet_refuses_bad_output_and_width_before_any_work(index_clip_h264, tmp_path):
    for output, extra, hint in (
        (tmp_path / "sheet.xyz", (), ".png"),  # no writer for it: was a traceback, exit 1
        (tmp_path / "sheet.png", ("--tile-width", "0"), "--tile-width 0 is out of range"),
    ):
        proc = restyle("sheet", str(index_clip_h264), "-o", str(output), *extra)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("restyle: error:") and hint in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr and not output.exists()


def test_sheet_never_writes_over_its_input_even_with_overwrite(tmp_path):
    import cv2
    import numpy as np

    still = tmp_path / "still.png"
    cv2.imwrite(str(still), np.full((48, 64, 3), 90, np.uint8))
    before = still.read_bytes()
    proc = restyle("sheet", str(still), "-o", str(still), "--overwrite")
    assert proc.returncode == 2 and "is the input" in proc.stderr, proc.stderr
    assert still.read_bytes() == before


def test_fps_on_a_movie_is_refused_not_ignored(library, index_clip_h264, tmp_path, capsys):
    """--fps sets an image sequence's rate; a movie keeps its own, so --fps there is an error
    (it was silently ignored), before anything is created."""
    out = tmp_path / "styled"
    code = cli.main(["stylize", str(index_clip_h264), "-o", str(out), "-s", "comic-ink",
                     "--fps", "30", "--library", str(library.root)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert "--fps sets the rate of image sequences" in err and "24 fps" in err


def test_styles_list_refuses_quiet(tmp_path, capsys):
    """-q prints nothing but warnings and errors everywhere; on the list it printed the list
    anyway."""
    assert cli.main(["styles", "-q", "--library", str(tmp_path / "lib")]) == 2
    out = capsys.readouterr()
    assert out.out == "" and "-q would hide the list" in out.err and "--json" in out.err


def test_one_shot_and_one_chunk_are_singular(library, pan_clip, tmp_path, capsys):
    assert cli.main(["shots", str(pan_clip)]) == 0
    assert capsys.readouterr().out.startswith("1 shot, no cuts (")
    code = cli.main(["stylize", str(pan_clip), "-o", str(tmp_path / "out"), "-s", "comic-ink",
                     "--plan", "--library", str(library.root)])  # fmt: skip
    assert code == 0 and "no cuts, 1 chunk (24 frames computed)" in capsys.readouterr().out


def test_a_reader_that_stops_early_is_not_an_error(tmp_path):
    """`restyle styles --json | head` printed 'restyle: error: [Errno 32] Broken pipe'."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "restyle", "styles", "--json", "--library", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # as `head` does once it has read enough: before anything is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 141, err  # 128 + SIGPIPE, as other Unix tools
    assert err == ""


def test_one_frame_and_one_keyframe_are_singular(library, index_clip_h264, tmp_path, capsys):
    """The run line said '1 frames styled'; a style trained from one keyframe said
    'Trained from 1 keyframes'."""
    from restyle.core.styles import _trained_from

    out = tmp_path / "one"
    code = cli.main(["stylize", str(index_clip_h264), "-o", str(out), "-s", "comic-ink",
                     "--start", "3", "--end", "3", "--library", str(library.root)])  # fmt: skip
    assert code == 0 and f"{out}: 1 frame styled in " in capsys.readouterr().out
    assert _trained_from(1) == "Trained from 1 keyframe"
    assert _trained_from(2) == "Trained from 2 keyframes"


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        (["--start", "200"], "--start 200 is past the source's last frame 59"),
        (["--start", "3", "--end", "60"], "--end 60 is past the source's last frame 59"),
        (["--start", "9", "--end", "4"], "--start 9 is after --end 4"),
    ],
)
def test_a_range_past_the_source_names_the_bound(library, index_clip_h264, tmp_path, capsys, bounds, message):  # fmt: skip
    """'--start 200' on a 60-frame clip said 'frame range 200..59 is outside the source's
    frames 0..59', an end the user never gave; stylize and shots say it alike."""
    out = tmp_path / "out"
    stylize = ["stylize", str(index_clip_h264), "-o", str(out), "-s", "comic-ink",
               "--library", str(library.root)]  # fmt: skip
    for argv in (stylize, ["shots", str(index_clip_h264)]):
        assert cli.main(argv + bounds) == 2
        assert capsys.readouterr().err.strip() == f"restyle: error: {message}"
    assert not out.exists()


# -- what argparse reads: one line, and main returns ----------------------------------------
@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["stylize", "CLIP", "-s", "comic-ink"], "required: -o/--output"),
        (["stabilize", "CLIP", "-o", "OUT", "--mode", "affine"], "invalid choice: 'affine'"),
        (["stylize", "CLIP", "-o", "OUT", "-s", "comic-ink", "--start", "two"], "'two'"),
        (["stylize", "CLIP", "-o", "OUT", "-s", "comic-ink", "--bogus"], "--bogus"),
    ],
)
def test_a_command_line_argparse_cannot_read_is_one_error_line(index_clip_h264, tmp_path, capsys, argv, said):  # fmt: skip
    """The README's rule (one line 'restyle: error: ...', exit 2) held only for Restyle's own
    checks: argparse printed its usage over several lines and main() raised SystemExit,
    which a script or a thread calling main had to catch."""
    out = tmp_path / "out"
    argv = [str(index_clip_h264) if a == "CLIP" else str(out) if a == "OUT" else a for a in argv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("restyle: error: "), err
    assert said in err and "--help'" in err, err
    assert not out.exists()


def test_help_and_version_return_from_main(capsys):
    """A script's main(['--version']) gets 0 back, as from any finished command."""
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"restyle {cli.version()}"
    assert cli.main(["stylize", "--help"]) == 0
    assert "--strength" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ("60", "--frame 60 is past the source's last frame 59"),
        ("-1", "frames are 0-based: --frame is -1"),
    ],  # fmt: skip
)
def test_a_sheet_frame_outside_the_source_names_the_option(index_clip_h264, tmp_path, capsys, frame, message):  # fmt: skip
    """It said 'frames 60 are outside index_h264.mp4: valid frames are 0-59', unlike
    stylize's bounds, and only once the built-in styles were ready."""
    out = tmp_path / "sheet.png"
    assert cli.main(["sheet", str(index_clip_h264), "-o", str(out), "--frame", frame]) == 2
    assert capsys.readouterr().err.strip() == f"restyle: error: {message}"
    assert not out.exists()


def test_export_onnx_never_writes_over_what_styles_are_made_of(library, tmp_path, capsys):
    """`export-onnx painting.jpg -o painting.jpg --overwrite` replaced the user's painting
    with the ONNX file, and an export could land on the library's own model files; a folder
    as -o failed naming a scratch file ('... .onnx.part: Is a directory')."""
    import cv2
    import numpy as np

    picture = tmp_path / "painting.png"
    cv2.imwrite(str(picture), np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8))
    before = picture.read_bytes()
    model = library.builtin_dir / "multistyle26.onnx"
    model_before = model.read_bytes()
    lib = ["--library", str(library.root), "--overwrite"]
    for style, out, said in (
        (str(picture), picture, "would be an ONNX model named like a .png file"),
        ("comic-ink", model, "inside the style library"),
        ("comic-ink", library.styles_dir / "new.onnx", "inside the style library"),
        ("comic-ink", tmp_path, "is a folder"),
    ):
        assert cli.main(["export-onnx", style, "-o", str(out), *lib]) == 2, out
        assert said in capsys.readouterr().err
    assert picture.read_bytes() == before and model.read_bytes() == model_before
    assert not (library.styles_dir / "new.onnx").exists()


def test_a_quoted_home_folder_is_the_users_home(library, index_clip_h264, tmp_path, monkeypatch, capsys):  # fmt: skip
    """'-o ~/out' quoted (a path from a config file) made a folder named '~' in the working
    folder and '~/clip.mp4' was not found, while -s '~/painting.jpg' was the home's."""
    import shutil

    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir(), work.mkdir()
    shutil.copy(index_clip_h264, home / "clip.mp4")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    lib = ["--library", str(library.root)]
    argv = ["stylize", "~/clip.mp4", "-o", "~/out", "-s", "comic-ink", "--end", "1", *lib]
    assert cli.main(argv) == 0
    assert (home / "out" / "000001.png").exists()
    assert cli.main(["shots", "~/clip.mp4", "--json"]) == 0
    assert cli.main(["sheet", "~/clip.mp4", "-o", "~/sheet.png", *lib]) == 0
    assert (home / "sheet.png").exists() and list(work.iterdir()) == []


def test_shots_refuses_quiet_as_the_style_list_does(index_clip_h264, capsys):
    """`restyle shots clip.mp4 -q` analysed the whole clip and printed nothing, exit 0."""
    assert cli.main(["shots", str(index_clip_h264), "-q"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and "-q would hide the shots" in out.err and "--json" in out.err
    assert cli.main(["shots", str(index_clip_h264), "-q", "--json"]) == 0
    assert '"cuts"' in capsys.readouterr().out
