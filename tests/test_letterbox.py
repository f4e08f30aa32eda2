"""Letterboxed and pillarboxed footage: the bars keep their source, the picture inside them
is styled as if it were the whole frame (core/letterbox.py, Stylizer's crop), and frames
without bars are styled exactly as before."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_flat_frames import footage  # one real frame, or the test skips

from restyle.core.letterbox import GROW_AFTER, NO_BARS, Bars, BarTracker, detect_bars
from restyle.core.media import decode_range
from restyle.core.styles import StyleLibrary
from restyle.core.stylizer import StyleSettings, Stylizer

from clips import encode_clip  # tests/, on the path from conftest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from real_footage import FootageUnavailable, real_clip, real_picture  # noqa: E402

STYLES = ["comic-ink", "amber-watercolour", "ink-wash"]


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> StyleLibrary:
    return StyleLibrary(tmp_path_factory.mktemp("letterbox-library"))


def footage_range(name: str, start: int, end: int) -> list[np.ndarray]:
    try:
        path = real_clip(name)
    except FootageUnavailable as exc:
        pytest.skip(str(exc))
    return [np.ascontiguousarray(f[..., :3]) for f in decode_range(path, start, end)]


def boxed(picture: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, Bars]:
    """``picture`` fitted into a black frame of ``size`` (w, h), centred: letterbox bars for
    a wide picture, pillarbox bars for a narrow one, as an editor conforms it."""
    w, h = size
    ph, pw = picture.shape[:2]
    top, left = (h - ph) // 2, (w - pw) // 2
    frame = np.zeros((h, w, picture.shape[2]), picture.dtype)
    frame[top : top + ph, left : left + pw] = picture
    return frame, Bars(top, h - ph - top, left, w - pw - left)


def wide(frame: np.ndarray, width: int, ratio: float) -> np.ndarray:
    """A ``ratio``:1 picture ``width`` wide, cut from the middle of ``frame`` (2.39:1 scope)."""
    h, w = frame.shape[:2]
    keep = round(w / ratio)
    cut = frame[(h - keep) // 2 : (h - keep) // 2 + keep]
    return cv2.resize(cut, (width, round(width / ratio)), interpolation=cv2.INTER_AREA)


def bar_mask(shape: tuple[int, ...], bars: Bars) -> np.ndarray:
    y0, y1, x0, x1 = bars.active(*shape[:2])
    mask = np.ones(shape[:2], bool)
    mask[y0:y1, x0:x1] = False
    return mask


def worst_level(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(int) - b.astype(int)).max()) if a.size else 0


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def scope_frame() -> tuple[np.ndarray, np.ndarray, Bars]:
    """vtest frame 300 as a 2.39:1 picture letterboxed in 16:9 (384x216): 28+28 rows."""
    picture = wide(footage("vtest", 300), 384, 2.39)
    frame, bars = boxed(picture, (384, 216))
    return frame, picture, bars


@pytest.mark.parametrize("style", STYLES)
def test_letterbox_bars_keep_their_source_and_the_picture_is_styled_alone(library, style):
    frame, picture, bars = scope_frame()
    assert detect_bars(frame) == bars
    with Stylizer(library.resolve(style), library, StyleSettings(backend="onnx")) as st:
        out = st.stylize(frame)
        alone = st.stylize(picture)
    mask = bar_mask(frame.shape, bars)
    assert out.shape == frame.shape
    assert worst_level(out[mask], frame[mask]) <= 3, f"bars at {out[mask].mean():.1f}"
    y0, y1, x0, x1 = bars.active(*frame.shape[:2])
    assert psnr(out[y0:y1, x0:x1], alone) >= 40.0


def test_pillarbox_bars_keep_their_source_in_a_picture_style(library):
    """4:3 pillarboxed in 16:9, starry_night (the picture network)."""
    picture = cv2.resize(footage("megamind", 200), (288, 216), interpolation=cv2.INTER_AREA)
    frame, bars = boxed(picture, (384, 216))
    assert detect_bars(frame) == bars and bars.left == 48
    try:
        style = library.resolve(str(real_picture("starry-night")))
    except FootageUnavailable as exc:
        pytest.skip(str(exc))
    with Stylizer(style, library, StyleSettings(backend="onnx")) as st:
        st.prepare([])
        out = st.stylize(frame)
        alone = st.stylize(picture)
    mask = bar_mask(frame.shape, bars)
    assert worst_level(out[mask], frame[mask]) <= 3, f"bars at {out[mask].mean():.1f}"
    assert psnr(out[:, 48:-48], alone) >= 40.0


def test_bars_keep_their_source_at_any_strength_scale_tile_and_with_colours_kept(library):
    """Strength below 1, colours kept, a scale that resizes, tiles smaller than the picture:
    the output keeps the frame's size and the bars stay the source's."""
    frame, _, bars = scope_frame()
    mask = bar_mask(frame.shape, bars)
    for settings in (
        StyleSettings(backend="onnx", strength=0.5),
        StyleSettings(backend="onnx", preserve_colors=True),
        StyleSettings(backend="onnx", scale=0.63),
        StyleSettings(backend="onnx", tile=128),
    ):
        with Stylizer(library.resolve("comic-ink"), library, settings) as st:
            out = st.stylize(frame)
        assert out.shape == frame.shape, settings
        assert worst_level(out[mask], frame[mask]) <= 3, (settings, out[mask].mean())
        assert out[~mask].std() > 20, settings  # the picture is styled


def test_bars_keep_their_source_on_torch_with_16_bit_alpha(library):
    pytest.importorskip("torch")
    frame, _, bars = scope_frame()
    deep = np.concatenate([frame.astype(np.uint16) * 257, np.full_like(frame[..., :1], 0)], 2)
    deep = deep.astype(np.uint16)
    deep[..., 3] = 40000
    mask = bar_mask(frame.shape, bars)
    settings = StyleSettings(backend="torch", strength=0.8)
    with Stylizer(library.resolve("comic-ink"), library, settings) as st:
        assert st.engine.backend == "torch"
        out = st.stylize(deep)
    assert out.dtype == np.uint16 and out.shape == deep.shape
    assert worst_level(out[mask], deep[mask]) <= 3 * 257
    assert (out[..., 3] == 40000).all()


@pytest.mark.parametrize("clip,index", [("vtest", 300), ("megamind", 200), ("megamind", 265)])
def test_frames_without_bars_are_styled_exactly_as_before(library, clip, index):
    """Megamind 265 has a dark right edge (a dark background, mean 12/255): it is picture,
    not a bar, and must not be cropped."""
    frame = footage(clip, index)
    assert detect_bars(frame) == NO_BARS
    with (
        Stylizer(library.resolve("comic-ink"), library, StyleSettings(backend="onnx")) as on,
        Stylizer(
            library.resolve("comic-ink"), library, StyleSettings(backend="onnx", letterbox=False)
        ) as off,
    ):
        assert np.array_equal(on.stylize(frame), off.stylize(frame))


def test_noisy_and_video_level_bars_are_found_and_dark_textured_edges_are_not():
    frame, _, bars = scope_frame()
    rng = np.random.default_rng(3)
    noisy = frame.astype(np.float32)
    mask = bar_mask(frame.shape, bars)
    noisy[mask] = rng.normal(10.0, 2.0, (int(mask.sum()), 3))  # analog capture noise
    assert detect_bars(np.clip(noisy + 0.5, 0, 255).astype(np.uint8)) == bars
    video = frame.copy()
    video[mask] = 16  # limited-range black, left unscaled
    assert detect_bars(video) == bars
    dark = frame.copy()  # a dark but textured 'bar': picture, not a bar
    dark[mask] = rng.integers(0, 30, (int(mask.sum()), 3), dtype=np.uint8)
    assert detect_bars(dark) == NO_BARS
    assert detect_bars(np.zeros_like(frame)) is None  # black frame: no picture to tell


def test_tracker_holds_the_bars_steady_shrinks_at_once_and_grows_late():
    frame, _, bars = scope_frame()
    tracker = BarTracker()
    assert tracker.decide(frame) == bars
    darker = frame.copy()
    darker[bars.top : bars.top + 10] = 0  # a dark shot: the top looks 10 rows deeper
    for _ in range(GROW_AFTER - 1):
        assert tracker.decide(darker.copy()) == bars
    assert tracker.decide(np.zeros_like(frame)) == bars  # a black frame changes nothing
    assert tracker.decide(frame.copy()) == bars
    title = frame.copy()
    title[4:12, 100:200] = 255  # a title in the top bar, its rows next to the picture black
    assert detect_bars(title).top == 4 and tracker.decide(title) == bars  # the bar stays
    grown = frame.copy()
    grown[: bars.top] = frame[bars.top : 2 * bars.top]  # a full-frame shot: shrinks at once
    assert tracker.decide(grown).top == 0
    for _ in range(GROW_AFTER - 1):
        assert tracker.decide(frame.copy()).top == 0
    assert tracker.decide(frame.copy()) == bars  # back after GROW_AFTER frames
    same = frame.copy()
    assert tracker.recall(same) == tracker.decide(same) == tracker.recall(same)


def scope_job(library, tmp_path, temporal: float):
    """Megamind frames 240-259 (the dark right edge included) letterboxed at 2.39:1 in
    16:9 (27 + 28 rows) through a StyleJob: (sources, outputs, bar mask, bars)."""
    from restyle.core.job import StyleJob

    frames = []
    for picture in footage_range("megamind", 240, 259):
        frame, bars = boxed(wide(picture, 384, 2.39), (384, 216))
        frames.append(frame)
    clip = encode_clip(tmp_path / "scope.mkv", frames, codec="ffv1")
    out = tmp_path / f"out{temporal}"
    result = StyleJob(clip, out, "comic-ink", temporal=temporal, library=library).run()
    assert result.written == len(frames)
    outs = [cv2.imread(str(p))[..., ::-1] for p in sorted(out.rglob("*.png"))]
    assert len(outs) == len(frames)
    return frames, outs, bar_mask(frames[0].shape, bars), bars


def test_a_letterboxed_clip_keeps_its_bars_in_every_frame_of_a_job(library, tmp_path):
    """Every frame's bars are the source's, the same rows in every frame (no flicker), and
    the picture is styled to its edge rows, the dark right edge included (not cropped)."""
    frames, outs, masks, bars = scope_job(library, tmp_path, 0.0)
    y0, y1 = bars.top, 216 - bars.bottom
    for i, (out, frame) in enumerate(zip(outs, frames, strict=True)):
        assert worst_level(out[masks], frame[masks]) <= 3, (i, out[masks].mean())
        assert worst_level(out[y0:y1, -8:], frame[y0:y1, -8:]) > 20, i  # the edge is styled
        assert worst_level(out[y0], frame[y0]) > 20 and worst_level(out[y1 - 1], frame[y1 - 1]) > 20


def test_a_coherent_job_keeps_the_bars_away_from_the_picture(library, tmp_path):
    """Coherence (default 0.5, lookahead) blends warped earlier frames: bar rows more than
    8 rows from the picture stay the source's in every frame."""
    frames, outs, masks, bars = scope_job(library, tmp_path, 0.5)
    far = np.r_[0 : bars.top - 8, 216 - bars.bottom + 8 : 216]
    for i, (out, frame) in enumerate(zip(outs, frames, strict=True)):
        assert worst_level(out[far], frame[far]) <= 3, (i, out[masks].mean())
        assert out[masks].mean() <= 2.0, i


def test_a_coherent_job_keeps_its_bars_exactly(library, tmp_path):
    frames, outs, masks, _ = scope_job(library, tmp_path, 0.5)
    for i, (out, frame) in enumerate(zip(outs, frames, strict=True)):
        assert worst_level(out[masks], frame[masks]) <= 3, (i, out[masks].mean())


def test_a_subtitle_in_the_bar_is_kept_as_the_source_and_the_bars_do_not_move(library):
    """Burned-in subtitles in the bottom bar (common on letterboxed films): the frames with
    and without them are cropped alike, the subtitle stays the source's, bars too."""
    frame, _, bars = scope_frame()
    subtitled = frame.copy()
    cv2.putText(subtitled, "Subtitle", (140, 205), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255,) * 3)
    mask = bar_mask(frame.shape, bars)
    assert (subtitled[mask] > 100).any()
    with Stylizer(library.resolve("comic-ink"), library, StyleSettings(backend="onnx")) as st:
        plain, sub = st.stylize(frame), st.stylize(subtitled)
    assert worst_level(sub[mask], subtitled[mask]) <= 3, sub[mask].mean()
    assert np.array_equal(sub[~mask], plain[~mask])


def test_an_array_refilled_with_the_next_frame_is_decided_afresh(library):
    """A caller reading a movie into one array (cv2's read(image)) and styling it each time:
    the bars decided for the letterboxed frame are not reused for the full frame after it."""
    frame, _, _ = scope_frame()
    full = cv2.resize(footage("vtest", 300), (384, 216), interpolation=cv2.INTER_AREA)
    with Stylizer(library.resolve("comic-ink"), library, StyleSettings(backend="onnx")) as st:
        buffer = frame.copy()
        st.stylize(buffer)
        buffer[:] = full
        again = st.stylize(buffer)
        st.bars.reset()
        fresh = st.stylize(full.copy())
    assert np.array_equal(again, fresh)


def test_cli_letterboxed_still_keeps_its_bars(library, tmp_path):
    from restyle.core.cli import main

    frame, _, bars = scope_frame()
    source = tmp_path / "scope.png"
    cv2.imwrite(str(source), frame[..., ::-1])
    out = tmp_path / "out"
    args = ["stylize", str(source), "-s", "comic-ink", "-o", str(out), "--temporal", "0"]
    assert main([*args, "--library", str(library.root)]) == 0
    (written,) = out.rglob("*.png")
    picture = cv2.imread(str(written))[..., ::-1]
    mask = bar_mask(frame.shape, bars)
    assert picture.shape == frame.shape
    assert worst_level(picture[mask], frame[mask]) <= 3, picture[mask].mean()


def test_a_new_tracker_shot_sets_its_bars_at_once():
    """After a cut (``new_shot``), a letterboxed shot's bars are decided from its first frame;
    without it they would grow only after GROW_AFTER frames."""
    frame, picture, bars = scope_frame()
    full = cv2.resize(footage("vtest", 300), frame.shape[1::-1], interpolation=cv2.INTER_AREA)
    tracker = BarTracker()
    assert tracker.decide(full) == NO_BARS
    tracker.new_shot()
    assert [tracker.decide(frame.copy()) for _ in range(3)] == [bars] * 3


def test_a_cut_into_a_letterbox_keeps_the_bars_from_its_first_frame(library, tmp_path):
    """A job over 4 full frames of vtest then 12 letterboxed frames of Megamind (a real cut,
    found by core/shots.py): every letterboxed frame keeps its bars as the source's, the cut's
    first frame included (the tracker used to keep the full frame's no-bars for 7 frames)."""
    from restyle.core.job import StyleJob

    full = [
        cv2.resize(f, (384, 216), interpolation=cv2.INTER_AREA)
        for f in footage_range("vtest", 300, 303)
    ]
    boxes = [boxed(wide(p, 384, 2.39), (384, 216)) for p in footage_range("megamind", 240, 251)]
    frames = full + [frame for frame, _ in boxes]
    bars = boxes[0][1]
    clip = encode_clip(tmp_path / "cut.mkv", frames, codec="ffv1")
    out = tmp_path / "out"
    result = StyleJob(clip, out, "comic-ink", library=library).run()
    assert result.written == len(frames)
    outs = [cv2.imread(str(p))[..., ::-1] for p in sorted(out.rglob("*.png"))]
    masks = bar_mask(frames[0].shape, bars)
    for i in range(len(full), len(frames)):
        assert worst_level(outs[i][masks], frames[i][masks]) <= 3, (i, outs[i][masks].mean())
    assert worst_level(outs[0][masks], frames[0][masks]) > 20  # the full frames: styled


@pytest.mark.parametrize("temporal", [0.0, 0.5])
def test_a_resumed_run_crops_as_an_uninterrupted_one(library, tmp_path, temporal):
    """Megamind 240-257 in 20-row bars, the bars 8 rows deeper from frame 4 on (a dark band,
    the same shot): one run grows them at frame 11 (GROW_AFTER frames). A rerun after frames
    0-5 were kept is shown those (``see``) and writes frames 6-17 as that run did; a fresh
    tracker at frame 6 cropped the deeper bars at once (frames 6-10 otherwise)."""
    from restyle.core.job import StyleJob

    frames = []
    for i, picture in enumerate(footage_range("megamind", 240, 257)):
        frame, bars = boxed(
            cv2.resize(picture, (384, 176), interpolation=cv2.INTER_AREA), (384, 216)
        )
        if i >= 4:
            frame[bars.top : bars.top + 8] = 0
            frame[216 - bars.bottom - 8 : 216 - bars.bottom] = 0
        frames.append(frame)
    clip = encode_clip(tmp_path / "dark.mkv", frames, codec="ffv1")
    out = tmp_path / "out"
    whole = StyleJob(clip, out, "comic-ink", temporal=temporal, library=library).run()
    assert whole.written == len(frames)
    paths = sorted(out.rglob("*.png"))
    outs = [cv2.imread(str(p))[..., ::-1] for p in paths]
    band = slice(bars.top, bars.top + 8)
    assert worst_level(outs[8][band], frames[8][band]) > 20  # not grown yet: styled
    assert worst_level(outs[11][band], frames[11][band]) <= 3  # grown: the source's black
    for path in paths[6:]:
        path.unlink()
    rerun = StyleJob(clip, out, "comic-ink", temporal=temporal, library=library).run()
    assert (rerun.written, rerun.reused) == (12, 6)
    for i, path in enumerate(sorted(out.rglob("*.png"))):
        assert np.array_equal(cv2.imread(str(path))[..., ::-1], outs[i]), i
