"""Round 24's lead fixes: a failed setup is not stamped as done by scripts/test.sh."""

from __future__ import annotations

import os
import subprocess

from test_clifix_round23 import script_tree  # noqa: F401 (a fixture)


def test_a_failed_setup_fails_the_run_and_is_not_skipped_next_time(script_tree, tmp_path):  # noqa: F811
    """step's `"$@" || return` turns set -e off inside setup: a failed setup.sh was stamped
    as done, said 'setup: passed', and every later run skipped it over a half-made venv."""
    log = tmp_path / "log"
    env = {k: v for k, v in os.environ.items() if k != "RESTYLE_HOME"}
    env["LOG"] = str(log)
    setup = script_tree / "scripts" / "setup.sh"
    setup.write_text('echo setup >>"$LOG"\nexit 3\n')  # pip failed, say
    argv = ["bash", str(script_tree / "scripts" / "test.sh"), "tests/test_x.py"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0, done.stderr
    assert "setup: passed" not in done.stderr
    assert not (script_tree / ".venv" / ".restyle-setup-stamp").exists()
    setup.write_text('echo setup >>"$LOG"\n')  # fixed: the next run sets up again
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = log.read_text().splitlines()
    assert lines.count("setup") == 2 and "pytest -q tests/test_x.py" in lines, lines
