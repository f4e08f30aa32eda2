"""Ray's token authentication (Ray 2.60+), one rule for both of Restyle's ways to a cluster
(``ray_runner``'s ray.init, ``ray_submit``'s dashboard requests): the mode and the token read
as Ray's own clients read them, here without Ray (Blender's Run on Ray needs no Ray install),
and one set of words for a cluster that asks for a token it did not get."""

from __future__ import annotations

import os
from pathlib import Path

MODE_ENV = "RAY_AUTH_MODE"  # Ray's: 'token' makes its clients send the token
TOKEN_ENV = "RAY_AUTH_TOKEN"
TOKEN_PATH_ENV = "RAY_AUTH_TOKEN_PATH"
WHERE = f"{TOKEN_ENV}, else the file {TOKEN_PATH_ENV} names, else ~/.ray/auth_token"
PRINTS = "ray get-auth-token on the head prints it"


def mode() -> str | None:
    """RAY_AUTH_MODE as Ray reads it ('token' in any case), None where it is unset."""
    value = os.environ.get(MODE_ENV)
    return None if value is None else value.strip().lower()


def find_token() -> tuple[str | None, str]:
    """The token and where it was looked for, as Ray 2.60's AuthenticationTokenLoader finds
    it (checked against .venv's: tests/test_ray_round20.py): RAY_AUTH_TOKEN when set and not
    empty, trimmed (only blanks: none); else the first line, trimmed, of the file
    RAY_AUTH_TOKEN_PATH names (no ~ expansion) or of ~/.ray/auth_token; none where that
    cannot be read or is empty."""
    value = os.environ.get(TOKEN_ENV, "")
    if value:
        return value.strip() or None, TOKEN_ENV
    named = os.environ.get(TOKEN_PATH_ENV, "")
    path = Path(named) if named else Path.home() / ".ray" / "auth_token"
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            first = file.readline()
    except OSError:
        return None, str(path)
    return first.strip() or None, str(path)


def advice() -> str:
    """Where to put the cluster's token, as Ray looks for it."""
    return f"the cluster's token where Ray looks ({WHERE}); {PRINTS}"


def set_the_mode() -> str:
    """What a cluster that asks for a token needs where RAY_AUTH_MODE is not token: Ray's
    clients send the token only where it is (Ray 2.60's JobSubmissionClient: its
    get_auth_headers_if_auth_enabled), so neither does Restyle."""
    said = os.environ.get(MODE_ENV)
    now = f" (it is {said!r} now)" if said is not None else ""
    return f"set {MODE_ENV}=token{now}, with {advice()}"
