"""Round 20's command-line walkthrough by a TD.

1. An image sequence's NTSC rate: ``--fps 23.976`` made a movie at 2997/125 and ``--fps
   29.97`` one at 2997/100; ``--fps 24000/1001`` (Blender's and ffmpeg's spelling) was
   refused ("invalid float value"). --fps takes N/D, and the decimal spellings of the /1001
   rates (media.NTSC_RATES, Python's fps= too) are those rates.
2. A folder in styles/ that is no style (no style.json, or one that cannot be read: an
   interrupted delete leaves one): ``restyle styles`` neither listed nor warned, ``styles
   delete Empty`` said "no trained style named 'Empty'" and ``styles rename Tiny Empty``
   "already exists". The listing warns of it, delete removes it when it holds only a style's
   own files (else refuses, naming what it holds), rename says what install says.
3. ``--json``'s ``output`` was the path as typed ('rel', '../b/p.mov'): it is absolute, as
   the run found it from the folder it ran in.
4. A --ray rerun into a finished frames folder said backend, device and engine null (no
   chunk ran); a local rerun names them. They are named: those the chunks that made the
   frames reported, kept in the folder's manifest.
5. ``--ray auto`` with no cluster passed on Ray's words ("Please specify the one to connect
   to by setting `--address` flag"): Restyle has no --address; it says so in its own.
6. ``train plate -k 1003=...`` on a plate numbered from 1001 said only "keyframe 1003 is
   outside the source's frames 0..5"; it adds stylize's hint ("frames count from 0:
   plate.1001.png is frame 0", media.counted_from_0, one wording for both).
7. Words: a sequence's gap said "frames 3..3 are whole" (now "frame 3 is whole: style it");
   ``restyle cuts`` named the commands only (now "did you mean shots?"); a rerun's refusal
   said "(not set, now --replace blur)" (now "made without --replace, now --replace blur").
"""

from __future__ import annotations

import functools
from fractions import Fraction

import pytest
from helpers_cli import run

from restyle.core import cli
from restyle.core.media import probe

from clips import make_image_sequence, noise_shot

pytestmark = pytest.mark.usefixtures("private_home")


@pytest.fixture
def plate(tmp_path):
    return noise_shot(tmp_path / "plate", count=2)


def stylize(library, source, out, *words, capsys):
    argv = ["stylize", str(source), "-o", str(out), "-s", "comic-ink", "--max-side", "64"]
    return run([*argv, *words, "--library", str(library.root)], capsys)


@pytest.mark.parametrize(
    ("given", "rate"),
    [
        ("24000/1001", Fraction(24000, 1001)),
        ("23.976", Fraction(24000, 1001)),
        ("29.97", Fraction(30000, 1001)),
        ("30000/1001", Fraction(30000, 1001)),
        ("25", Fraction(25)),
    ],
)
def test_fps_makes_the_movie_at_the_ntsc_rate(library, plate, tmp_path, capsys, given, rate):
    out = tmp_path / "p.mov"
    code, record, err = stylize(library, plate, out, "--fps", given, capsys=capsys)
    assert code == 0, err
    assert probe(out).fps == rate, record


@pytest.mark.parametrize(
    ("given", "rate"),
    [
        (23.976, Fraction(24000, 1001)),
        (29.97, Fraction(30000, 1001)),
        (59.94, Fraction(60000, 1001)),
        (47.952, Fraction(48000, 1001)),
        (119.88, Fraction(120000, 1001)),
        ("23.976", Fraction(24000, 1001)),
        (float(Fraction(24000, 1001)), Fraction(24000, 1001)),  # str(float) of the rate
        (23.98, Fraction(1199, 50)),  # not within the tolerance: as given
        (Fraction(2997, 125), Fraction(2997, 125)),  # an exact fraction: as given
        ("2997/100", Fraction(2997, 100)),
        (24, Fraction(24)),
    ],
)
def test_python_fps_takes_the_decimal_spellings_for_the_1001_rates(plate, given, rate):
    assert probe(plate, fps=given).fps == rate


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ("0", "--fps 0 is out of range 1..1000 frames/s"),
        ("0/1", "--fps 0/1 is out of range 1..1000 frames/s"),
        ("-24000/1001", "is out of range 1..1000 frames/s"),
        ("nan", "--fps nan is out of range"),
        ("1/0", "'1/0' is not a frame rate: give frames/s, e.g. 25, 23.976 or 24000/1001"),
        ("fast", "'fast' is not a frame rate"),
    ],
)
def test_fps_refusals(library, plate, tmp_path, capsys, given, words):
    out = tmp_path / "p.mov"
    code, _, err = stylize(library, plate, out, f"--fps={given}", capsys=capsys)
    assert code == 2 and words in err, err
    assert not out.exists()


def test_fps_help_names_the_fraction(capsys):
    assert cli.main(["stylize", "--help"]) == 0
    assert "24000/1001" in capsys.readouterr().out


def styles(home, *words, capsys):
    return run(["styles", *words, "--library", str(home)], capsys)


def test_listing_names_a_folder_that_is_no_style(tiny_style, capsys):
    empty = tiny_style / "styles" / "Empty"
    empty.mkdir()
    damaged = tiny_style / "styles" / "Damaged"
    damaged.mkdir()
    (damaged / "style.json").write_text("{not json", encoding="utf-8")
    (tiny_style / "styles" / ".Tiny.x.part").mkdir()  # Restyle's scratch: not said
    code, record, err = styles(tiny_style, capsys=capsys)
    assert code == 0 and "Tiny" in [s["name"] for s in record], err
    assert f"warning: {empty} is in the style library but is not a style (no style.json" in err
    assert "remove it by hand or with 'restyle styles delete Empty'" in err
    assert f"{damaged} is in the style library but is not a style (its style.json cannot" in err
    assert ".part" not in err
    assert cli.main(["styles", "--library", str(tiny_style)]) == 0
    said = capsys.readouterr()
    assert "Tiny" in said.out and "restyle styles delete Empty" in said.err


def test_delete_removes_a_stray_folder_of_restyles_own_files(tiny_style, capsys):
    empty = tiny_style / "styles" / "Empty"
    (empty / "sub").mkdir(parents=True)
    left = tiny_style / "styles" / "Left"
    left.mkdir()
    for name in ("model.onnx", "thumbnail.png", "keyframe-000003-painted.png"):
        (left / name).write_bytes(b"x")
    for name, folder in (("Empty", empty), ("Left", left)):
        code, record, err = styles(tiny_style, "delete", name, capsys=capsys)
        assert code == 0 and record == {"deleted": name, "stray": True, "folder": str(folder)}
        assert not folder.exists()
    assert (tiny_style / "styles" / "tiny" / "style.json").is_file()


def test_delete_keeps_a_stray_folder_that_holds_other_files(tiny_style, capsys):
    kept = tiny_style / "styles" / "Shots"
    (kept / "plates").mkdir(parents=True)
    (kept / "notes.txt").write_text("mine", encoding="utf-8")
    (kept / "plates" / "a.exr").write_bytes(b"x")
    (kept / "model.onnx").write_bytes(b"x")
    code, _, err = styles(tiny_style, "delete", "Shots", capsys=capsys)
    assert code == 2 and f"{kept} is in the style library but is not a style" in err, err
    assert "it holds notes.txt, plates/a.exr: not deleting it; move or remove it by hand" in err
    assert (kept / "notes.txt").is_file() and (kept / "model.onnx").is_file()
    err = styles(tiny_style, capsys=capsys)[2]
    assert "move or remove it by hand (it holds notes.txt, plates/a.exr)" in err
    code, _, err = styles(tiny_style, "delete", "Nothing", capsys=capsys)
    assert code == 2 and "no trained style named 'Nothing'" in err, err


def test_rename_onto_a_stray_folder_says_what_it_is(tiny_style, capsys):
    empty = tiny_style / "styles" / "Empty"
    empty.mkdir()
    code, _, err = styles(tiny_style, "rename", "Tiny", "Empty", capsys=capsys)
    assert code == 2, err
    assert f"{empty} is in the style library but is not a style (no style.json" in err
    assert "'Tiny' would be renamed 'Empty' there, so move or remove it by hand" in err
    assert "'restyle styles delete Empty'), then rename again" in err
    assert "already exists" not in err
    assert (tiny_style / "styles" / "tiny" / "style.json").is_file()


@pytest.mark.parametrize(
    ("typed", "made"),
    [("rel", "a/rel"), ("../b/p.mov", "b/p.mov"), ("clip", "a/clip.mp4"), ("./x/", "a/x")],
)
def test_the_record_names_the_output_absolute(
    library, plate, tmp_path, monkeypatch, capsys, typed, made
):
    (tmp_path / "a").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    fmt = ["--format", "h264"] if typed == "clip" else []
    code, record, err = stylize(library, plate, typed, *fmt, capsys=capsys)
    assert code == 0, err
    assert record["output"] == str(tmp_path / made)
    assert (tmp_path / made).exists()


def test_a_ray_rerun_into_a_finished_folder_names_the_engine(
    library, plate, tmp_path, capsys, in_process
):
    out = tmp_path / "frames"
    code, first, err = stylize(library, plate, out, "--ray", "auto", capsys=capsys)
    assert code == 0 and first["written"] == 2, err
    engine = {k: first[k] for k in ("backend", "device", "engine")}
    assert all(engine.values()), first
    code, again, err = stylize(library, plate, out, "--ray", "auto", capsys=capsys)
    assert code == 0 and (again["written"], again["reused"]) == (0, 2), err
    assert {k: again[k] for k in engine} == engine
    code, local, err = stylize(library, plate, out, capsys=capsys)  # as a local rerun's
    assert code == 0 and local["reused"] == 2, err
    assert all(local[k] for k in engine), local


def test_ray_auto_without_a_cluster_says_so_in_restyles_words(
    library, plate, tmp_path, capsys, monkeypatch
):
    ray = pytest.importorskip("ray")
    from ray._private import services

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    # none running here (another test's cluster on this machine is not this one's)
    monkeypatch.setattr(services, "find_gcs_addresses", functools.cache(lambda: []))
    monkeypatch.setattr(services, "find_bootstrap_address", functools.cache(lambda t: None))
    assert not ray.is_initialized()
    out = tmp_path / "frames"
    code, _, err = stylize(library, plate, out, "--ray", "auto", capsys=capsys)
    assert code == 2, err
    assert "no Ray cluster found for --ray auto (RAY_ADDRESS is not set" in err
    assert "start one with 'ray start --head', or give --ray HOST:PORT" in err
    assert "--address" not in err and "Please specify" not in err
    assert not out.exists()


def test_train_on_a_numbered_plate_says_frames_count_from_0(library, tmp_path, capsys):
    make_image_sequence(tmp_path / "plate", 6, (64, 48), name="plate.{:04d}.png", first=1001)
    painting = tmp_path / "p.png"
    painting.write_bytes((tmp_path / "plate" / "plate.1003.png").read_bytes())
    hint = "(frames count from 0: plate.1001.png is frame 0)"
    argv = ["train", str(tmp_path / "plate"), "-k", f"1003={painting}", "-n", "P"]
    code, _, err = run([*argv, "--library", str(library.root)], capsys)
    assert code == 2 and f"keyframe 1003 is outside the source's frames 0..5 {hint}" in err, err
    argv = ["stylize", str(tmp_path / "plate"), "-o", str(tmp_path / "o"), "-s", "comic-ink"]
    code, _, err = run([*argv, "--start", "1003", "--library", str(library.root)], capsys)
    assert code == 2 and hint in err, err  # the same words
    noise_shot(tmp_path / "shot", count=3)  # numbered from 0: the plain words
    argv = ["train", str(tmp_path / "shot"), "-k", f"5={painting}", "-n", "P"]
    code, _, err = run([*argv, "--library", str(library.root)], capsys)
    assert code == 2 and "keyframe 5 is outside the source's frames 0..2" in err, err
    assert "count from 0" not in err


def test_a_gap_names_one_whole_frame_as_a_frame(library, tmp_path, capsys):
    paths = make_image_sequence(tmp_path / "seq", 5, (64, 48))  # frame_0001 .. frame_0005
    paths[1].unlink()  # frame 1 and 2 gone: 0 and 3..4 whole
    paths[2].unlink()
    argv = ["stylize", str(tmp_path / "seq"), "-o", str(tmp_path / "o"), "-s", "comic-ink"]
    code, _, err = run(
        [*argv, "--start", "1", "--end", "3", "--library", str(library.root)], capsys
    )
    assert code == 2 and "; frame 3 is whole: style it with --start and --end" in err, err
    code, _, err = run(
        [*argv, "--start", "0", "--end", "4", "--library", str(library.root)], capsys
    )
    assert code == 2 and "; frames 0, 3..4 are whole: style them with --start and" in err, err


@pytest.mark.parametrize(
    ("word", "meant"), [("cuts", "shots"), ("stylze", "stylize"), ("Scenes", "shots")]
)
def test_an_unknown_command_says_the_one_meant(capsys, word, meant):
    assert cli.main([word, "clip.mp4"]) == 2
    err = capsys.readouterr().err
    assert f"invalid choice: '{word}'" in err
    assert f"; did you mean {meant}? (see 'restyle --help')" in err, err


def test_an_unknown_command_without_a_likeness_names_the_help(capsys):
    assert cli.main(["xyzzy"]) == 2
    assert capsys.readouterr().err.rstrip().endswith("'matte'); see 'restyle --help'")


@pytest.mark.parametrize(
    ("then", "now", "said"),
    [
        (None, "blur", "made without --replace, now --replace blur"),
        ("blur", None, "--replace blur, now without --replace"),
        ("blur", "grey", "--replace blur, now grey"),
    ],
)
def test_a_setting_given_on_one_run_only_is_named(then, now, said):
    from restyle.core.errors import COMMAND_LINE, say
    from restyle.core.job import _change

    assert say(_change("replace", {"replace": then}, {"replace": now}), COMMAND_LINE) == said
