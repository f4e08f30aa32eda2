"""Round 24's command-line walkthrough (cli24): what a new user and a pipeline TD met.

1. Ctrl-C while the command started (Python's imports) printed a KeyboardInterrupt traceback
   where core/cli.py's own imports came before core.interrupt's handler (vtest, SIGINT at
   random 0.05-0.35 s after the start, load 9, bytecode cached: 6 tracebacks in 40 inside
   restyle's imports, now 1), and the handler said a bare 'restyle: cancelled'. It is now
   set first and says what was stopped and that nothing was written.
2. A stop before train's training began said a bare 'restyle: cancelled' too.
3. stabilize's terminal bar restarted from 0 % for its second pass unsaid ('track:' then
   'stabilize:'); it says 'step 1 of 2, tracking' / 'step 2 of 2, stabilizing' (as the
   sidebar's 'Step 1 of 2'); a matte learning keyframes likewise.
4. Training's bar counted seconds of its budget as '16/20' beside 'iterations/s': '16/20 s'.
5. A warning during training was printed into the bar's line
   ('...[00:00, saving and checking the style]restyle: warning: ...'); it goes above it.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from restyle.core import cli, interrupt
from restyle.core.progress import TRAINING, Progress

from clips import make_pan_clip

ROOT = Path(__file__).resolve().parents[1]


# -- 1. Ctrl-C in the command's imports ------------------------------------------------------
STOP_IN_IMPORTS = """
import os, signal, sys
sys.argv = ["restyle", *{words!r}]
class Stop:  # Ctrl-C the moment core/cli.py imports argparse (its first stdlib import)
    def find_spec(self, name, path=None, target=None):
        if name == "argparse":
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None
sys.modules.pop("argparse", None)
sys.meta_path.insert(0, Stop())
from restyle.core.cli import main  # as the restyle script does
print("imported")
"""


@pytest.mark.parametrize(
    ("words", "said"),
    [
        (
            ["stylize", "in.mp4", "-o", "OUT", "-s", "comic-ink"],
            ": no frame finished; nothing kept",
        ),
        (["train", "in.mp4", "-k", "0=k.png", "-n", "x"], " before training began: no style saved"),
        (["shots", "in.mp4"], ": no shots listed"),
    ],
)
def test_ctrl_c_in_the_commands_imports_says_what_stopped_no_traceback(tmp_path, words, said):
    out = tmp_path / "out"
    words = [str(out) if w == "OUT" else w for w in words]
    code = STOP_IN_IMPORTS.format(words=words)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr == f"restyle: cancelled{said}\n"
    assert proc.stdout == ""  # not imported on, nothing else said
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing made


def test_a_json_run_stopped_in_its_imports_still_gets_its_closing_record(tmp_path):
    words = ["stabilize", "in.mp4", "-o", str(tmp_path / "s.mp4"), "--json"]
    proc = subprocess.run(
        [sys.executable, "-c", STOP_IN_IMPORTS.format(words=words)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 130 and "Traceback" not in proc.stderr, proc.stderr
    assert json.loads(proc.stdout) == {"cancelled": True}
    assert proc.stderr == "restyle: cancelled: no frame finished; nothing kept\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["restyle", "train", "c.mp4", "-n", "x"], "before training began: no style saved"),
        (["restyle", "--json", "sheet", "c.mp4"], "before the sheet was made: nothing written"),
        (["restyle", "setup"], "before setup began: nothing converted"),
        (["restyle", "matte", "c.mp4"], ": no frame finished; nothing kept"),
    ],
)
def test_the_starting_handler_names_the_command(argv, said, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as stopped:
        interrupt._cancelled_while_starting(signal.SIGINT, None)
    assert stopped.value.code == 130
    err = capsys.readouterr().err
    assert err.startswith("restyle: cancelled") and err.rstrip().endswith(said), err


def test_words_not_a_command_stay_bare(monkeypatch, capsys):
    """No command yet (a script's main([...]), or a word that is none): nothing to name."""
    for argv in (["restyle"], ["restyle", "stylise", "c.mp4"]):
        monkeypatch.setattr(sys, "argv", argv)
        with pytest.raises(SystemExit):
            interrupt._cancelled_while_starting(signal.SIGTERM, None)
        assert capsys.readouterr().err == "restyle: cancelled\n"


# -- 2. train stopped before its training began ----------------------------------------------
def test_train_stopped_before_training_says_no_style_saved(capsys):
    args = argparse.Namespace(func=cli.cmd_train, json=False)
    assert cli._say_cancelled(args, None, 130) == 130
    assert capsys.readouterr().err == "restyle: cancelled before training began: no style saved\n"
    ran = argparse.Namespace(func=cli.cmd_train, json=False, cancel_code=130)  # it trained
    assert cli._say_cancelled(ran, None, 130) == 130
    assert capsys.readouterr().err == "restyle: cancelled\n"


# -- 3, 4. the bar's words --------------------------------------------------------------------
def test_stabilize_bar_says_which_of_its_two_passes_runs(tmp_path, monkeypatch, capsys):
    clip = make_pan_clip(tmp_path / "pan.mp4", 12)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a terminal: the bar shows
    out = tmp_path / "steady.mp4"
    assert cli.main(["stabilize", str(clip), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    first, second = err.find("step 1 of 2, tracking:"), err.find("step 2 of 2, stabilizing:")
    assert 0 <= first < second, err
    assert "\rtrack:" not in err and "\rstabilize:" not in err and not err.startswith("track")
    assert out.is_file()


def test_a_matte_learning_keyframes_says_its_steps_and_training_counts_seconds():
    bar = cli._Bar(enabled=True, steps=cli.MATTE_KEYFRAME_STEPS)
    try:
        bar(Progress(16, 20, fps=4.4, eta_s=4, stage=TRAINING, message="learning the keyframes"))
        text = str(bar.bar)
        assert text.startswith("step 1 of 2, learning the keyframes:"), text
        assert "16/20 s [" in text and "4.40 iterations/s" in text, text
        bar(Progress(3, 12, stage="matte"))
        text = str(bar.bar)
        assert text.startswith("step 2 of 2, matting:") and "3/12 [" in text, text
        bar(Progress(0, 12, stage="setup"))  # not a step: its own name
        assert str(bar.bar).startswith("setup:")
    finally:
        bar.close()


def test_one_pass_jobs_keep_their_stage_names():
    bar = cli._Bar(enabled=True)
    try:
        bar(Progress(5, 60, stage="stylize"))
        assert str(bar.bar).startswith("stylize:") and "5/60 [" in str(bar.bar)
    finally:
        bar.close()


# -- 5. a warning while the bar shows ----------------------------------------------------------
def test_a_warning_during_a_run_goes_above_the_bar(capsys):
    bar = cli._Bar(enabled=True)
    try:
        bar(Progress(0, 1, stage="save", message="saving and checking the style"))
        capsys.readouterr()
        bar.write("restyle: warning: only 17 training iterations")
        err = capsys.readouterr().err
    finally:
        bar.close()
    # tqdm clears the bar's line, prints the warning on its own line, then the bar again
    assert "\rrestyle: warning: only 17 training iterations\n" in err.replace("\x1b[A", ""), err
    assert "style]restyle: warning" not in err


def test_without_a_bar_a_warning_is_a_plain_line(capsys):
    for sink in (cli._Bar(enabled=False), cli._JsonEvents()):
        sink.write("restyle: warning: x")
        assert capsys.readouterr().err == "restyle: warning: x\n"


def test_train_says_its_warnings_through_the_bar():
    """cmd_train's warn() prints through its progress sink (above a terminal's bar)."""
    source = (ROOT / "core" / "cli.py").read_text(encoding="utf-8")
    body = source[source.index("def cmd_train(") : source.index("def cmd_setup(")]
    assert 'sink.write(f"restyle: warning: {text}")' in body
    assert 'print(f"restyle: warning: {text}", file=sys.stderr)' not in body


# -- 6. the style list's warning reads as every other warning ---------------------------------
def test_a_stray_folder_in_the_list_is_a_restyle_warning(tmp_path, capsys):
    (tmp_path / "styles" / "junk").mkdir(parents=True)
    assert cli.main(["styles", "--library", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert err.startswith("restyle: warning: ") and "styles/junk is in the style library" in err


def test_shots_stopped_while_reading_says_no_shots_listed(tmp_path):
    """shots prints its list only once it has read its range: a stop lists none (it said a
    bare 'restyle: cancelled')."""
    clip = make_pan_clip(tmp_path / "pan.mp4", 30)
    code = (
        "import os, signal, sys\n"
        "sys.argv[0] = 'restyle'\n"
        "from restyle.core import cli, shots\n"
        "real = shots.analyze_shots\n"
        "def stopped(frames):\n"
        "    next(iter(frames))\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    return real(frames)\n"
        "shots.analyze_shots = stopped\n"
        f"sys.exit(cli.main(['shots', {str(clip)!r}]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr == "restyle: cancelled: no shots listed\n" and proc.stdout == ""
