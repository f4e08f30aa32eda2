""" "Already finished with these settings; nothing rewritten" is said only of a rerun into the
movie these settings made (``JobResult.finished_before``, set by ``finished_movie_result``).
A --ray rerun after a cancel during the encode, or a crash after every chunk had landed,
reuses every landed frame (written 0, reused N) and muxes the movie afresh: the command line
took that count for a finished movie and said nothing was rewritten. --json says which it was
(``finished_before``)."""

from __future__ import annotations

import argparse
import json

import pytest

from restyle.core import cli
from restyle.core.job import JobResult

from clips import noise_shot

FINISHED = "already finished with these settings (4 frames reused); nothing rewritten"


def summary(capsys, result) -> str:
    args = argparse.Namespace(json=False, quiet=False, ray="127.0.0.1:6379")
    capsys.readouterr()
    assert cli._report_run(args, result, "h264", "styled", {}) == 0
    return capsys.readouterr().out


def test_a_ray_rerun_that_muxed_the_movie_says_it_reused_the_frames(capsys, tmp_path):
    """What run_on_ray returns once ``_mux`` wrote the movie from frames landed before."""
    movie = tmp_path / "film.mp4"
    result = JobResult(movie, written=0, reused=4, seconds=2.0, style="starry-swirls")
    text = summary(capsys, result)
    assert "nothing rewritten" not in text and "already finished" not in text
    assert text.startswith(f"{movie}: 0 frames styled, 4 reused in 2.0 s"), text


def test_a_finished_movie_result_is_said_finished(capsys, tmp_path):
    result = JobResult(tmp_path / "film.mp4", reused=4, style="x", finished_before=True)
    assert summary(capsys, result).startswith(f"{tmp_path / 'film.mp4'}: {FINISHED}")


@pytest.fixture
def shot(tmp_path):
    return noise_shot(tmp_path / "shot")


def stylize(library, shot, out, capsys, *words: str) -> tuple[str, str]:
    argv = ["stylize", str(shot), "-o", str(out), "-s", "comic-ink", "--max-side", "64"]
    code = cli.main([*argv, "--library", str(library.root), *words])
    said = capsys.readouterr()
    assert code == 0, said.err
    return said.out, said.err


def test_json_says_whether_the_movie_was_finished_before(library, shot, tmp_path, capsys):
    """One machine: the first run made the movie, a rerun (and a --ray rerun, which asks no
    cluster) found it made."""
    out = tmp_path / "out.mp4"
    made = json.loads(stylize(library, shot, out, capsys, "--json")[0])
    assert (made["written"], made["finished_before"]) == (4, False)
    again = json.loads(stylize(library, shot, out, capsys, "--json")[0])
    assert (again["written"], again["reused"], again["finished_before"]) == (0, 4, True)
    ray = ["--json", "--ray", "127.0.0.1:9", "--chunk-frames", "2"]
    on_ray = json.loads(stylize(library, shot, out, capsys, *ray)[0])
    assert (on_ray["reused"], on_ray["finished_before"]) == (4, True)
    assert stylize(library, shot, out, capsys)[0].strip() == f"{out}: {FINISHED}"
