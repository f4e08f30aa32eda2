"""``restyle matte`` and ``MatteJob``: RGBA output, replacement, resume, cancel, bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from test_matte import BACKGROUND, PERSON, boxes_in_frame, pan_clip

from restyle.core.cli import main
from restyle.core.mappings.matte_job import MatteJob
from restyle.core.progress import CancelToken
from restyle.core.writers import open_writer

COUNT = 8


@pytest.fixture(scope="module")
def pan_movie(tmp_path_factory):
    """The astronaut pan as a lossless movie (FFV1), 8 frames."""
    path = tmp_path_factory.mktemp("matte-media") / "pan.mkv"
    frames = pan_clip(COUNT)
    with open_writer(path, fmt="ffv1", fps=24, size=frames[0].shape[1::-1]) as writer:
        for i, frame in enumerate(frames):
            writer.write(i, frame)
    return path


@pytest.fixture
def home(matte_library, monkeypatch):
    monkeypatch.setenv("RESTYLE_HOME", str(matte_library.root))
    return matte_library


def _read(path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    order = cv2.COLOR_BGRA2RGBA if image.shape[2] == 4 else cv2.COLOR_BGR2RGB
    return cv2.cvtColor(image, order)


def test_matte_writes_an_rgba_sequence_and_resumes(home, pan_movie, tmp_path, capsys):
    out = tmp_path / "matte"
    assert main(["matte", str(pan_movie), "-o", str(out), "--start", "2", "--end", "5"]) == 0
    files = sorted(out.glob("*.png"))
    assert [f.name for f in files] == [f"{i:06d}.png" for i in range(2, 6)]
    frames = pan_clip(COUNT)
    for f in files:
        t = int(f.stem)
        rgba = _read(f)
        assert rgba.shape == frames[t].shape[:2] + (4,)
        assert np.array_equal(rgba[..., :3], frames[t])  # frame t is the matte of frame t
        alpha = rgba[..., 3] / 255.0
        for x0, y0, x1, y1 in boxes_in_frame(PERSON, t):
            assert alpha[y0:y1, x0:x1].mean() >= 0.9
        for x0, y0, x1, y1 in boxes_in_frame(BACKGROUND, t):
            assert alpha[y0:y1, x0:x1].mean() <= 0.1
    capsys.readouterr()
    assert (
        main(["matte", str(pan_movie), "-o", str(out), "--start", "2", "--end", "5", "--json"]) == 0
    )
    assert '"reused": 4' in capsys.readouterr().out


def test_replace_composites_over_a_colour(home, pan_movie, tmp_path):
    out = tmp_path / "green"
    assert (
        main(["matte", str(pan_movie), "-o", str(out), "--replace", "#00FF00", "--end", "1"]) == 0
    )
    rgb = _read(out / "000000.png")
    frame = pan_clip(1)[0]
    assert rgb.shape == frame.shape
    (x0, y0, x1, y1), *_ = boxes_in_frame(BACKGROUND, 0)
    assert np.abs(rgb[y0:y1, x0:x1].astype(int) - (0, 255, 0)).mean() < 30
    (x0, y0, x1, y1), *_ = boxes_in_frame(PERSON, 0)
    assert np.abs(rgb[y0:y1, x0:x1].astype(int) - frame[y0:y1, x0:x1]).mean() < 30


def test_replace_with_a_clip_and_blur(home, pan_movie, tmp_path):
    for name, replace in (("clip", str(pan_movie)), ("blur", "blur")):
        out = tmp_path / name
        assert (
            main(["matte", str(pan_movie), "-o", str(out), "--replace", replace, "--end", "2"]) == 0
        )
        assert len(list(out.glob("*.png"))) == 3


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--replace", "#12345"], "#RRGGBB"),
        (["--replace", "no/such/picture.png"], "not #RRGGBB"),
        (["--replace", ""], "--replace is empty"),  # an unset "$BG": alpha was written instead
        (["--end", "99"], "--end 99 is past the source's last frame"),
        (["--temporal", "2"], "--temporal 2.0 is out of range 0..1"),
        (["-k", "3"], "FRAME=MASK"),
        (["-k", "99=mask.png"], "outside"),
        (["-k", "3=a.png", "-k", "3=b.png"], "given once"),  # the last one was used silently
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    home, pan_movie, tmp_path, capsys, extra, message
):
    out = tmp_path / "never"
    assert main(["matte", str(pan_movie), "-o", str(out), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("restyle: error:") and message in err and "\n" not in err
    assert not out.exists()


def test_the_background_is_never_the_output(home, pan_movie, tmp_path, capsys):
    """The --replace clip is read while the output is written: as the output (or inside its
    folder) it was replaced by the composite, even though README refuses an output that is
    an input whatever --overwrite says."""
    clip = tmp_path / "background.mkv"
    clip.write_bytes(pan_movie.read_bytes())
    before = clip.read_bytes()
    args = ["matte", str(pan_movie), "--replace", str(clip), "--end", "1", "--overwrite"]
    assert main([*args, "-o", str(clip)]) == 2
    assert "is the background" in capsys.readouterr().err
    assert clip.read_bytes() == before
    folder = tmp_path / "matted"
    assert main(["matte", str(pan_movie), "-o", str(folder), "--end", "1"]) == 0
    picture = folder / "000001.png"
    kept = picture.read_bytes()
    assert main([*args, "-o", str(folder), "--replace", str(picture)]) == 2
    assert "holds the background frames" in capsys.readouterr().err
    assert picture.read_bytes() == kept


def test_a_missing_mask_is_one_line_that_says_so(home, pan_movie, tmp_path, capfd):
    """OpenCV printed its own '[ WARN:0@...] findDecoder imread_' line above the error, which
    blamed the file: 'not an image or corrupt'."""
    pytest.importorskip("torch")
    out = tmp_path / "never"
    assert main(["matte", str(pan_movie), "-o", str(out), "-k", "3=no/such/mask.png"]) == 2
    err = capfd.readouterr().err.strip()
    assert err == "restyle: error: keyframe 3's mask not found: no/such/mask.png"  # as train's
    assert not out.exists()


def test_the_progress_bar_says_matte(home, pan_movie, tmp_path, monkeypatch):
    """A terminal's bar read 'stylize: 40%|...' while matting."""
    from restyle.core import cli

    stages = []
    monkeypatch.setattr(cli._Bar, "__call__", lambda self, p: stages.append(p.stage))
    assert main(["matte", str(pan_movie), "-o", str(tmp_path / "m"), "--end", "2"]) == 0
    # first 'setup' (building the network, as a stylize's first event), then the frames'
    assert stages[0] == "setup" and set(stages[1:]) == {"matte"}, stages


def test_alpha_needs_a_format_that_holds_it(home, pan_movie, tmp_path, capsys):
    assert main(["matte", str(pan_movie), "-o", str(tmp_path / "m.mp4")]) == 2
    assert "cannot store the matte's alpha" in capsys.readouterr().err
    assert not (tmp_path / "m.mp4").exists()


def test_cancel_keeps_finished_frames_and_a_rerun_resumes(home, pan_movie, tmp_path):
    out = tmp_path / "cancelled"
    token = CancelToken()

    def progress(p):
        if p.done >= 2:
            token.cancel()

    job = MatteJob(pan_movie, out, library=home)
    result = job.run(progress=progress, cancel=token)
    assert result.cancelled and 2 <= len(result.frame_files) < COUNT
    again = MatteJob(pan_movie, out, library=home).run()
    assert again.reused == len(result.frame_files) and again.reused + again.written == COUNT


def test_a_resumed_matte_is_identical_to_an_uninterrupted_one(home, pan_movie, tmp_path):
    """README: a resumed run's frames are an uninterrupted run's. The frame written before
    the gap rebuilds the coherence state; a matte's RGBA frame was refused for it (the
    source is RGB), so the resumed part started afresh (alpha off by tens of levels)."""
    whole = MatteJob(pan_movie, tmp_path / "whole", library=home).run()
    out = tmp_path / "resumed"
    token = CancelToken()

    def progress(p):
        if p.done >= 3:
            token.cancel()

    first = MatteJob(pan_movie, out, library=home).run(progress=progress, cancel=token)
    assert first.cancelled and 3 <= len(first.frame_files) < COUNT
    MatteJob(pan_movie, out, library=home).run()
    for path in whole.frame_files:
        assert np.array_equal(_read(path), _read(out / path.name)), path.name
