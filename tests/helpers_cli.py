"""Helpers the command-line tests share: ``from helpers_cli import run``. (Their private
Restyle home is the ``private_home`` fixture in tests/conftest.py.)"""

from __future__ import annotations

import json

from restyle.core import cli


def run(argv, capsys):
    """``restyle <argv> --json`` in this process: its exit code, its JSON record (None when it
    printed none) and what it said on stderr."""
    code = cli.main([*argv, "--json"])
    said = capsys.readouterr()
    return code, (json.loads(said.out) if said.out.strip() else None), said.err
