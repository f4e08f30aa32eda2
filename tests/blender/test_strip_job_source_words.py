"""A strip-making run takes its source as the strip shows it, and says what it did in
words that hold:

- the source strip's own Color settings (Saturation, Multiply) are applied to the frames
  styled (a strip at Saturation 0 was styled in colour: 19.4 dB against its render), and
  its modifiers, which are not, are named in the summary;
- a run cancelled before any frame was written says so, with no folder to open, instead of
  '0 of 19 frames kept in <a folder never made>; Apply Style again to resume';
- the counts of a source slower than the scene are pictures, and the summary says so;
- the unsaved .blend's note is not a warning, and goes once saving keeps the frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_edit_tools import shaky
from vse import add_movie, all_strips, ext, render

from clips import encode_clip

pytestmark = [pytest.mark.blender, pytest.mark.usefixtures("own_output_folder")]
STYLE = "comic-ink"


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return encode_clip(tmp_path_factory.mktemp("words") / "photo.mp4", shaky("astronaut", 6, 3))


def apply(scene, source, first, last, **settings) -> tuple[set, object]:
    import bpy

    before = set(all_strips(scene).keys())
    result = bpy.ops.restyle.apply_style(
        strip=source.name,
        style=STYLE,
        strength=0.0,
        temporal=0.0,
        frame_start=first,
        frame_end=last,
        **settings,
    )
    made = [s for s in all_strips(scene) if s.name not in before]
    return result, (made[0] if made else None)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
    return 99.0 if mse == 0 else 10 * np.log10(255**2 / mse)


@pytest.mark.parametrize(
    "grade", [{"color_saturation": 0.0}, {"color_multiply": 1.8}, {"color_saturation": 1.6}]
)
def test_a_graded_strip_is_styled_as_it_shows(grade, scene, clip, sequencer_area):
    """At strength 0 the styled strip renders as its source does (Blender applies the
    strip's saturation, then its multiply, to its 8-bit pictures)."""
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    for name, value in grade.items():
        setattr(source, name, value)
    result, made = apply(scene, source, 2, 4)
    assert result == {"FINISHED"}
    shown = render(scene, [2, 4], only=source)
    styled = render(scene, [2, 4], only=made)
    for frame in (2, 4):
        assert psnr(styled[frame], shown[frame]) > 40, (grade, frame)
        if grade.get("color_saturation") == 0.0:  # grey: every channel alike
            spread = np.ptp(styled[frame].astype(int), axis=-1)
            assert spread.max() <= 2, spread.max()


def test_a_regraded_strip_is_styled_again(scene, clip, sequencer_area):
    """The grade is in the settings key: a changed Saturation never reuses graded frames."""
    runner = ext("operators.runner")
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    source.color_saturation = 0.0  # frames 5-6: styled by no other test
    result, grey = apply(scene, source, 5, 6)
    assert result == {"FINISHED"}
    assert "2 styled, 0 reused" in runner.RUN.summary, runner.RUN.summary
    source.color_saturation = 0.5
    assert apply(scene, source, 5, 6)[0] == {"FINISHED"}
    assert "2 styled, 0 reused" in runner.RUN.summary, runner.RUN.summary
    source.color_saturation = 0.0  # the first grade again: its frames, its strip (9db7ae8)
    assert apply(scene, source, 5, 6) == ({"FINISHED"}, None)
    assert f"{grey.name} already shows this output" in runner.RUN.summary, runner.RUN.summary
    ext("compat").strips(scene.sequence_editor).remove(grey)  # then a new strip reuses them
    assert apply(scene, source, 5, 6)[0] == {"FINISHED"}
    assert "0 styled, 2 reused" in runner.RUN.summary, runner.RUN.summary


@pytest.mark.parametrize("operator", ["stabilize_strip", "matte_strip"])
def test_a_strip_of_the_source_pixels_takes_its_grade(operator, scene, clip, sequencer_area):
    """Stabilize and Matte write the source's own pixels (moved, matted): their strip takes
    the source's Saturation and Multiply, and shows as graded (it showed in colour)."""
    import bpy

    runner = ext("operators.runner")
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    source.color_saturation, source.color_multiply = 0.0, 1.25
    before = set(all_strips(scene).keys())
    run = getattr(bpy.ops.restyle, operator)
    assert run(strip=source.name, frame_start=2, frame_end=3) == {"FINISHED"}
    (made,) = [s for s in all_strips(scene) if s.name not in before]
    assert (made.color_saturation, made.color_multiply) == (0.0, 1.25)
    spread = np.ptp(render(scene, [2], only=made)[2].astype(int), axis=-1)
    assert spread.max() <= 2, spread.max()
    assert "Saturation" not in runner.RUN.summary, runner.RUN.summary


def test_modifiers_not_applied_are_named(scene, clip, sequencer_area):
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    modifier = source.modifiers.new("Brighter", "BRIGHT_CONTRAST")
    modifier.bright = 40.0
    source.modifiers.new("Off", "BRIGHT_CONTRAST").mute = True  # changes nothing
    assert apply(scene, source, 2, 3)[0] == {"FINISHED"}
    summary = ext("operators.runner").RUN.summary
    assert "its modifier 'Brighter'" in summary and "not apply" in summary, summary
    assert "'Off'" not in summary, summary


def cancel_at_once(monkeypatch):
    """The next runs are cancelled as Esc would be as they start (loading the style,
    tracking): before any frame is written."""
    runner = ext("operators.runner")
    run = runner.Worker.run

    def cancelled(worker):
        worker.token.cancel()
        run(worker)

    monkeypatch.setattr(runner.Worker, "run", cancelled)


@pytest.mark.parametrize("operator", ["apply_style", "stabilize_strip"])
def test_a_run_cancelled_before_writing_says_nothing_was_written(
    operator, scene, clip, sequencer_area, monkeypatch
):
    import bpy

    runner = ext("operators.runner")
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    cancel_at_once(monkeypatch)
    options = {"style": STYLE} if operator == "apply_style" else {}
    run = getattr(bpy.ops.restyle, operator)
    assert run(strip=source.name, frame_start=1, frame_end=4, **options) == {"CANCELLED"}
    assert runner.RUN.summary == "Cancelled: nothing was written", runner.RUN.summary
    assert runner.RUN.folder == "", runner.RUN.folder  # no Last output to a missing folder


def test_counts_of_a_slower_source_say_pictures(scene, sequencer_area, tmp_path, capfd):
    """A 12 fps movie in the 24 fps scene: frames 1-8 show 5 pictures (0, 0.5 rounded
    up, ... 3.5 rounded up)."""
    runner = ext("operators.runner")
    slow = encode_clip(tmp_path / "slow.mp4", shaky("astronaut", 6, 5), fps=12)
    source = add_movie(scene, sequencer_area, slow, frame_start=1)
    capfd.readouterr()
    assert apply(scene, source, 1, 8)[0] == {"FINISHED"}
    printed = capfd.readouterr()
    assert "Restyle: stylize 5/5 pictures" in printed.out + printed.err, printed
    assert runner.RUN.unit == "pictures"  # the sidebar's progress: '5 / 5 pictures'
    assert ": frames 1-8 (5 pictures: 5 styled, 0 reused)" in runner.RUN.summary, runner.RUN.summary
    bars = []

    class Layout:  # what draw_progress asks of the sidebar's layout
        def column(self, **_):
            return self

        def label(self, **_):
            pass

        def operator(self, *_, **__):
            pass

        def progress(self, **bar):
            bars.append(bar["text"])

    runner.RUN.progress = ext("core.progress").Progress(3, 5, stage="stylize")
    try:
        ext("panels.sequencer").draw_progress(Layout())
    finally:
        runner.RUN.progress = None
    assert bars == ["3 / 5 pictures"], bars


@pytest.mark.unsaved
def test_the_unsaved_note_is_not_a_warning_and_goes_on_save(
    scene, clip, sequencer_area, tmp_path, capfd
):
    import bpy

    assert not bpy.data.filepath, "needs a session that has not saved a .blend"
    runner = ext("operators.runner")
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    capfd.readouterr()
    assert apply(scene, source, 2, 3)[0] == {"FINISHED"}
    printed = capfd.readouterr()
    (line,) = [x for x in (printed.out + printed.err).splitlines() if " reused" in x]
    assert "temporary folder" in line and "WARNING" not in line.upper(), line
    assert "temporary folder" in runner.RUN.summary
    blend = tmp_path / "saved" / "kept.blend"
    blend.parent.mkdir()
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    assert "temporary folder" not in runner.RUN.summary, runner.RUN.summary
    assert Path(runner.RUN.folder).parent == blend.parent / "restyle", runner.RUN.folder
    assert Path(runner.RUN.folder).is_dir()
