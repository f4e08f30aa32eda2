"""A Ray dashboard that cannot be reached says how to get one (no cluster needed)."""

from __future__ import annotations

import socket

import pytest

from restyle.core.errors import RestyleError
from restyle.core.ray_submit import _request


def test_a_refused_dashboard_says_how_to_start_a_cluster():
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RestyleError) as error:
        _request(f"http://127.0.0.1:{port}/api/version")
    message = str(error.value)
    assert message.startswith("cannot reach the Ray dashboard at"), message
    assert "ray start --head" in message and "host:port" in message, message
