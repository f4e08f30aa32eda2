"""The frames' warnings are listed, not matched by their words (round 19).

Blender says the variable-rate, damaged-frames and cut-short warnings in scene frames. It
swapped them only where a warning's text was exactly the one this Restyle words from the
run's frames, so a Ray node of another version (its record's words), or any rewording, left
them in source frames. Now the result lists which of its warnings are the frames' ones
(``JobResult.frame_warned``, made by the one ``job.frame_warnings``: a local run's and a
Ray run's merged warnings alike), the --json record says them ("frame_warnings"), and
``ray_submit.node_said`` reads them back; an older node's record, without them, is matched
by its text as before. Each case fails on the code before it (no ``frame_warned``, no
``frame_warnings``); the command line's text and its other keys stay as they were."""

from __future__ import annotations

import json

import pytest
from test_ray_record_round18 import (
    damaged_clip,
    style_job,
    submitted,
    variable_rate_clip,
)

from restyle.core import cli
from restyle.core.job import JobResult, StyleJob, frame_warnings
from restyle.core.ray_submit import node_said

from clips import make_index_clip

pytestmark = pytest.mark.usefixtures("private_home")


def cut_short_clip(path):
    """40 FFV1 frames declared, the file cut at 60 %: only the first ~22 decode."""
    make_index_clip(path, 40, (64, 48), codec="ffv1", gop=10)
    path.write_bytes(path.read_bytes()[: int(path.stat().st_size * 0.6)])
    return path


def planned(library, source, tmp_path):
    """The plan a run of ``source`` reads its warnings from (the whole clip, as the run's)."""
    return StyleJob(str(source), str(tmp_path / "planned"), "comic-ink", library=library).validate()


CLIPS = [variable_rate_clip, damaged_clip, cut_short_clip]


def reworded(warning: str) -> str:
    """The words another version of Restyle might give the same warning."""
    return f"(another Restyle) {warning.replace(' frame', ' picture')}"


def stylize(capsys, library, source, out, *more) -> tuple[int, str, str]:
    words = ["stylize", str(source), "-o", str(out), "-s", "comic-ink", "--temporal", "0"]
    code = cli.main([*words, "--max-side", "64", "--library", str(library.root), *more])
    said = capsys.readouterr()
    return code, said.out, said.err


@pytest.mark.parametrize("clip", CLIPS)
def test_a_local_run_lists_its_frames_warnings(clip, library, tmp_path, capsys):
    """The record's "frame_warnings" are those of its "warnings" that ``frame_warnings``
    words from its "damaged" and "retimed" frames (and the plan's cut-short source), in
    the source's frames; the text says every warning as before, and the record keeps its
    keys. Before: no "frame_warnings" key (a front end matched the words)."""
    source = clip(tmp_path / "clip.mkv")
    code, out, err = stylize(capsys, library, source, tmp_path / "out", "--json")
    # run to the end of a cut-short clip: exit 3, its frames kept (cli25, docs/cli.md)
    ended = 3 if clip is cut_short_clip else 0
    assert code == ended, err
    record = json.loads(out.strip().splitlines()[-1])
    plan = planned(library, source, tmp_path)
    retimed = [(i, dropped) for i, dropped in record["retimed"]]
    made = frame_warnings(plan, record["damaged"], retimed, record["written"])
    assert made and record["frame_warnings"] == made, record
    assert [w for w in record["warnings"] if w in made] == made, record
    assert {"warnings", "damaged", "retimed"} <= set(record)
    code, _, text_err = stylize(capsys, library, source, tmp_path / "again", "--overwrite")
    assert code == ended, text_err
    for warning in record["warnings"]:  # the text: each warning, worded as before
        assert f"restyle: warning: {warning}" in text_err, text_err


def test_a_job_result_lists_the_warnings_it_made_of_its_frames(library, tmp_path):
    """Python's result: ``frame_warned`` is the frames' entries of ``warnings`` as they
    stand there, in their order; a result no run made lists none."""
    source = damaged_clip(tmp_path / "clip.mkv")
    job = StyleJob(str(source), str(tmp_path / "out"), "comic-ink", library=library)
    job.temporal, job.max_side = 0.0, 64
    result = job.run()
    plan = planned(library, source, tmp_path)
    assert result.held and result.frame_warned, result.warnings
    made = frame_warnings(plan, result.held, result.retimed, result.written)
    assert result.frame_warned == made == [w for w in result.warnings if w in made]
    assert JobResult(output=None).frame_warned == []


@pytest.mark.parametrize("clip", [variable_rate_clip, damaged_clip])
def test_a_ray_runs_merged_warnings_are_listed_and_read_back(
    clip, library, tmp_path, in_process, monkeypatch, capsys
):
    """A --ray run words its merged warnings from its plan (``_warn_once``) and lists them;
    the submission reads the list back from the node's record. Before: neither."""
    job = style_job(library, clip(tmp_path / "clip.mkv"), tmp_path / "out")
    record, result = submitted(job, monkeypatch, capsys)
    assert record["frame_warnings"] and result.frame_warned == record["frame_warnings"]
    assert all(w in result.warnings for w in result.frame_warned), result.warnings
    made = frame_warnings(job._plan, result.held, result.retimed, result.written)
    assert result.frame_warned == made


def node_record(library, tmp_path) -> tuple[object, dict]:
    """A damaged clip's plan and a node's record of its run (its own words)."""
    source = damaged_clip(tmp_path / "clip.mkv")
    plan = planned(library, source, tmp_path)
    said = frame_warnings(plan, [21, 22, 25], [], 40)
    record = {"written": 40, "warnings": ["an HDR note", *said], "damaged": [21, 22, 25]}
    return plan, record


def test_another_versions_words_are_read_as_the_frames_warnings(library, tmp_path):
    """A node of another version words the warning otherwise and lists it: the submission
    knows it is the frames' one all the same. Before: no ``frame_warned`` at all."""
    plan, record = node_record(library, tmp_path)
    other = [record["warnings"][0], *map(reworded, record["warnings"][1:])]
    record = {**record, "warnings": other, "frame_warnings": other[1:]}
    result = JobResult(output=None, written=40)
    node_said(result, record, plan)
    assert result.frame_warned == other[1:] and result.held == [21, 22, 25]


def test_an_older_nodes_record_is_matched_by_its_words(library, tmp_path):
    """A record without "frame_warnings" (an older node): the warnings worded as this
    Restyle words them from the record's frames are the frames' (today's match); others
    cannot be told apart and stay as the node said them. A list naming a warning the
    record does not hold is read as far as it holds."""
    plan, record = node_record(library, tmp_path)
    result = JobResult(output=None, written=40)
    node_said(result, record, plan)
    assert result.frame_warned == record["warnings"][1:], result.frame_warned
    other = {**record, "warnings": [*map(reworded, record["warnings"])]}
    result = JobResult(output=None, written=40)
    node_said(result, other, plan)
    assert result.frame_warned == []
    result = JobResult(output=None, written=40)
    node_said(result, {**record, "frame_warnings": ["not said", 3, *record["warnings"][1:]]})
    assert result.frame_warned == record["warnings"][1:]
