"""A farm's duplicate runs and the records they read (round 17's TD walkthrough), each case
failing on the code before it:

1. A movie that lands between a run's "already finished?" check and its taking the output's
   lock (a duplicate submission finished it meanwhile) is found finished under the lock:
   exit 0, ``finished_before`` true, nothing rewritten; not 'lk5.mp4 already exists'
   (stylize and stabilize: one ``StyleJob.run``).
2. ``restyle matte --json`` and ``restyle stabilize --json`` name the engine (``engine``),
   as ``stylize --json`` and the Python results (``.engine``) do.
3. ``--plan --json`` names the output as a run's record does ('j_sty', not 'j_sty/' as
   typed), a run it would refuse too."""

from __future__ import annotations

import pytest
from helpers_cli import run

from restyle.core import job as job_module
from restyle.core.cli import main
from restyle.core.writers import OutputLock

pytestmark = pytest.mark.usefixtures("private_home")


def words(command, library, source, out, *more):
    """Four frames of ``source`` into ``out`` by ``command`` (stylize: a built-in style)."""
    argv = [command, str(source), "-o", str(out), "--start", "0", "--end", "3", *more]
    if command == "stylize":
        argv += ["-s", "starry-swirls", "--max-side", "64", "--library", str(library.root)]
    return argv


# -- 1. a movie landed between the check and the lock ------------------------------------
@pytest.mark.parametrize("command", ["stylize", "stabilize"])
def test_a_movie_landed_before_the_lock_is_finished_not_refused(
    command, library, pan_clip, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "lk5.mp4"
    argv = words(command, library, pan_clip, out)
    landed: list[int | None] = []

    class LandsFirst(OutputLock):
        """The output's lock, taken only once a duplicate run has finished the movie: the
        farm's retry that was already past its own check when the first run ended."""

        def acquire(self) -> None:
            if not landed:  # the duplicate's own locks are plain ones
                landed.append(None)
                landed[0] = main([*argv, "-q"])
                assert out.is_file()
            super().acquire()

    monkeypatch.setattr(job_module, "OutputLock", LandsFirst)
    made = out.stat().st_mtime_ns if out.exists() else None
    code, record, err = run(argv, capsys)
    assert landed == [0] and made is None
    assert code == 0, err  # was exit 2: 'lk5.mp4 already exists; ... use --overwrite'
    assert record["finished_before"] and (record["written"], record["reused"]) == (0, 4)
    assert record["output"] == str(out)
    assert "already exists" not in err


# -- 2. matte's and stabilize's engine -----------------------------------------------------
def test_stabilize_json_names_its_engine(library, pan_clip, tmp_path, capsys):
    code, record, err = run(words("stabilize", library, pan_clip, tmp_path / "st"), capsys)
    assert code == 0, err
    assert record["engine"] and record["engine"].startswith("opencv"), record  # was absent
    assert record["backend"] in record["engine"]
    code, again, err = run(words("stabilize", library, pan_clip, tmp_path / "st"), capsys)
    assert code == 0 and again["finished_before"] and "engine" in again, err


def test_matte_json_names_its_engine(matte_library, pan_clip, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RESTYLE_HOME", str(matte_library.root))
    code, record, err = run(words("matte", None, pan_clip, tmp_path / "m"), capsys)
    assert code == 0, err
    assert record["engine"], record  # was absent
    assert record["backend"] in record["engine"] and record["device"] in record["engine"]


# -- 3. --plan's output path -----------------------------------------------------------------
def test_plan_names_a_refused_folder_as_the_run_record_does(library, pan_clip, tmp_path, capsys):
    out = tmp_path / "j_sty"
    code, first, err = run(words("stylize", library, pan_clip, out), capsys)
    assert code == 0 and first["output"] == str(out), err
    typed = f"{out}/"
    argv = words("stylize", library, pan_clip, typed, "--strength", "0.5")  # other settings
    code, planned, err = run([*argv, "--plan"], capsys)
    assert code == 0 and planned["output"]["outcome"] == "refused", err
    assert planned["output"]["path"] == first["output"]  # was 'j_sty/', as typed
    code, same, err = run([*words("stylize", library, pan_clip, typed), "--plan"], capsys)
    assert code == 0 and same["output"]["path"] == first["output"], err
