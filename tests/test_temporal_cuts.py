"""Coherent jobs restart at every cut ``core.shots`` finds (where a Ray plan splits), not only
where the blender's own online test sees one, and find them in the decoding pass itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_plan import three_shot_clip
from test_temporal_footage import FootageUnavailable, real_clip

from restyle.core.errors import RestyleError
from restyle.core.job import StyleJob
from restyle.core.media import decode_range
from restyle.core.shots import detect_cuts, mark_cuts
from restyle.core.temporal import TemporalBlender


@pytest.fixture(scope="module")
def shots_clip(tmp_path_factory) -> Path:
    """Three panning shots of 10 frames (96x64, lossless): cuts at 10 and 20."""
    return three_shot_clip(tmp_path_factory.mktemp("cuts") / "shots.mkv", shot_length=10)


def pngs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.png"))}


def coherent(clip, output, library, **options) -> StyleJob:
    return StyleJob(clip, output, "starry-swirls", temporal=0.5, library=library, **options)


def test_the_blenders_own_test_misses_these_cuts(shots_clip):
    """The premise: about half the pixels pass the photometric check across each cut, so
    without the shot rule a single machine would blend across them while Ray restarts."""
    frames = list(decode_range(shots_clip, 0, 29))
    assert detect_cuts(frames) == [10, 20]
    blender = TemporalBlender(lookahead=True)
    for cut in (10, 20):
        assert not blender.prepare(frames[cut - 1], frames[cut]).cut


def test_a_coherent_run_carries_nothing_across_a_cut(library, shots_clip, tmp_path):
    """Every frame of a run over the clip equals the same job run over its shot alone: the
    first frames of a shot take nothing from the shot before, the last take nothing (no
    lookahead) from the shot after."""
    whole = coherent(shots_clip, tmp_path / "whole", library).run()
    assert whole.written == 30
    expected = {}
    for start, end in ((0, 9), (10, 19), (20, 29)):
        alone = coherent(shots_clip, tmp_path / f"shot{start}", library, start=start, end=end)
        alone.run()
        expected.update(pngs(tmp_path / f"shot{start}"))
    assert pngs(tmp_path / "whole") == expected


def test_a_run_resumed_around_the_cuts_matches_an_uninterrupted_run(library, shots_clip, tmp_path):
    """Finished frames are decoded and looked at for cuts too, so a resumed run restarts
    where an uninterrupted one did (holes right before, at and after each cut)."""
    coherent(shots_clip, tmp_path / "whole", library).run()
    holed = tmp_path / "holed"
    holed.mkdir()
    whole = {p.name: p.read_bytes() for p in (tmp_path / "whole").iterdir() if p.is_file()}
    for name, data in whole.items():
        (holed / name).write_bytes(data)
    holes = (9, 10, 11, 19, 21)
    for hole in holes:
        (holed / f"{hole:06d}.png").unlink()
    again = coherent(shots_clip, holed, library).run()
    assert again.written == len(holes) and again.reused == 30 - len(holes)
    assert pngs(holed) == pngs(tmp_path / "whole")


def test_cuts_are_marked_while_streaming_a_few_frames_behind(shots_clip):
    """``mark_cuts`` gives ``detect_cuts``'s answer in one pass, holding a frame only until
    ``window`` (2) moving frames after it are seen, more where frames repeat (up to 8)."""
    frames = list(decode_range(shots_clip, 0, 29))
    held = frames[:5] + [frames[5]] * 6 + frames[6:]  # frame 5 held for 6 frames
    for clip in (frames, held):
        pulled: list[int] = []

        def source(clip=clip, pulled=pulled):
            for frame in clip:
                pulled.append(1)
                yield frame

        lags, marks = [], []
        for count, (frame, cut) in enumerate(mark_cuts(source())):
            lags.append(len(pulled) - count - 1)
            marks.append(cut)
            assert frame is clip[count]
        assert [i for i, cut in enumerate(marks) if cut] == detect_cuts(clip)
        assert max(lags) <= (2 if clip is frames else 8)
    assert detect_cuts(held) == [15, 25]


def test_a_job_given_cuts_restarts_there(library, shots_clip, tmp_path):
    """What a Ray chunk runs with its plan's cuts: the job restarts at the cuts it is given."""
    coherent(shots_clip, tmp_path / "given", library, end=9, cuts=(5,)).run()
    expected = {}
    for start, end in ((0, 4), (5, 9)):
        coherent(shots_clip, tmp_path / f"part{start}", library, start=start, end=end).run()
        expected.update(pngs(tmp_path / f"part{start}"))
    assert pngs(tmp_path / "given") == expected


def test_frames_made_with_other_cuts_are_not_reused(library, shots_clip, tmp_path):
    """Given cuts change the pixels, so they are part of the settings key: a rerun without
    them refuses the folder, and with ``overwrite`` styles every frame again."""
    coherent(shots_clip, tmp_path / "out", library, end=9, cuts=(5,)).run()
    with pytest.raises(RestyleError, match="overwrite"):
        coherent(shots_clip, tmp_path / "out", library, end=9).run()
    again = coherent(shots_clip, tmp_path / "out", library, end=9, overwrite=True).run()
    assert again.written == 10 and again.reused == 0


def test_a_job_restarts_at_a_real_cut_of_a_film(library, tmp_path):
    """Megamind's cut at frame 98 passes the blender's own test (about 60 % of the pixels pass
    the photometric check, the histograms differ by 0.16); a coherent job over 90..105 still
    carries nothing across it."""
    try:
        path = real_clip("megamind")
    except FootageUnavailable as exc:
        pytest.skip(str(exc))
    assert not TemporalBlender().prepare(*decode_range(path, 97, 98)).cut
    assert detect_cuts(decode_range(path, 90, 105)) == [8]
    options = {"library": library, "max_side": 128}
    coherent(path, tmp_path / "whole", start=90, end=105, **options).run()
    expected = {}
    for start, end in ((90, 97), (98, 105)):
        coherent(path, tmp_path / f"shot{start}", start=start, end=end, **options).run()
        expected.update(pngs(tmp_path / f"shot{start}"))
    assert pngs(tmp_path / "whole") == expected


def test_a_range_begun_just_before_a_real_cut_restarts_there(library, tmp_path):
    """Megamind's cut at 98 with the range begun at 95: the job restarts at 98 (it blended
    across it, 6.3 levels off a fresh start, when the range start counted as a shot start for
    the minimum shot length), and a Ray plan over the same range splits there."""
    from restyle.core.plan import detect_plan

    try:
        path = real_clip("megamind")
    except FootageUnavailable as exc:
        pytest.skip(str(exc))
    assert detect_plan(path, 95, 105).cuts == (98,)
    assert [(c.start, c.end) for c in detect_plan(path, 95, 105).chunks] == [(95, 97), (98, 105)]
    options = {"library": library, "max_side": 128}
    coherent(path, tmp_path / "whole", start=95, end=105, **options).run()
    expected = {}
    for start, end in ((95, 97), (98, 105)):
        coherent(path, tmp_path / f"shot{start}", start=start, end=end, **options).run()
        expected.update(pngs(tmp_path / f"shot{start}"))
    assert pngs(tmp_path / "whole") == expected
