"""Ray, round 20 (a Python/farm walkthrough on Ray 2.60).

1. Blender's Run on Ray failed on a default Ray 2.60 cluster (a head that ``ray start --head``
   started with ~/.ray/auth_token on the machine asks for it): ``the Ray cluster refused
   .../api/version: 401 ['Unauthorized: Missing authentication token']``. ``ray_submit``
   sends the token now, found as Ray's own loader finds it (``ray_auth.find_token``, checked
   here against Ray's), where RAY_AUTH_MODE is token as Ray's client sends it (round 21: not
   on a 401 with it unset, tests/test_review_round21.py); a 401 or 403 that remains says
   where Ray looks. A stand-in dashboard (http.server) answers as Ray's token middleware does.
2. The GCS port given for the dashboard's: a traceback and ``BadStatusLine`` with no advice;
   now it says the address does not answer as a Ray dashboard and names the dashboard's port.
3. ``cli.main([... "--ray", ADDR])`` in a script that had joined another cluster ran there
   (connect returned early), then shut the script's session down; now refused, naming both,
   and a session Restyle did not start is left alone. While a --ray run goes, only Ray's
   threads' and the run's own prints go to stderr, not other threads'.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from helpers_cli import run
from test_ray_round19b import stylize

from restyle.core import ray_auth, ray_runner, ray_submit
from restyle.core.errors import RestyleError

from clips import noise_shot

pytestmark = pytest.mark.usefixtures("private_home")
TOKEN = "0123456789abcdef0123456789abcdef"


# -- 1. the dashboard's token ----------------------------------------------------------------
class Dashboard:
    """Ray 2.60's dashboard as its token middleware answers (http_token_authentication):
    no Authorization header, 401 'Unauthorized: Missing authentication token'; a wrong
    token, 403 'Forbidden: Invalid authentication token'; the right one (or ``token=None``,
    a dashboard without token auth), its /api/version."""

    def __init__(self, token: str | None) -> None:
        seen = self.seen = []  # (method, path, Authorization header or None)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:
                pass

            def _answer(self) -> None:
                said = self.headers.get("Authorization")
                seen.append((self.command, self.path, said))
                if token is not None and said is None:
                    status, body = 401, b"Unauthorized: Missing authentication token"
                elif token is not None and said != f"Bearer {token}":
                    status, body = 403, b"Forbidden: Invalid authentication token"
                else:
                    status, body = 200, json.dumps({"ray_version": "2.60.0"}).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home whose ~/.ray/auth_token holds TOKEN (as ``ray start --head`` leaves it), no
    RAY_AUTH_* set."""
    home = tmp_path / "user"
    (home / ".ray").mkdir(parents=True)
    (home / ".ray" / "auth_token").write_text(TOKEN + "\n")
    monkeypatch.setenv("HOME", str(home))
    for name in (ray_auth.MODE_ENV, ray_auth.TOKEN_ENV, ray_auth.TOKEN_PATH_ENV):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def dashboard():
    made = []

    def make(token: str | None = TOKEN) -> Dashboard:
        made.append(Dashboard(token))
        return made[-1]

    yield make
    for one in made:
        one.close()


def test_a_token_cluster_is_sent_the_token_found_here(home, dashboard, monkeypatch):
    """RAY_AUTH_MODE=token: every request carries the token found in ~/.ray/auth_token
    (the old code: 'the Ray cluster refused ...: 401'). Unset, none is sent (round 21)."""
    monkeypatch.setenv(ray_auth.MODE_ENV, "token")
    cluster = dashboard()
    assert ray_submit._request(f"{cluster.base}/api/version") == {"ray_version": "2.60.0"}
    ray_submit._request(f"{cluster.base}/api/jobs/", {"entrypoint": "true"})
    bearer = f"Bearer {TOKEN}"
    assert cluster.seen == [("GET", "/api/version", bearer), ("POST", "/api/jobs/", bearer)]


def test_a_dashboard_that_asks_for_no_token_is_sent_none(home, dashboard):
    """RAY_AUTH_MODE unset: no token goes to a dashboard that does not ask."""
    open_cluster = dashboard(token=None)
    ray_submit._request(f"{open_cluster.base}/api/version")
    ray_submit._request(f"{open_cluster.base}/api/version")
    assert [said for *_, said in open_cluster.seen] == [None, None]


def test_mode_token_sends_it_at_once(home, dashboard, monkeypatch):
    """RAY_AUTH_MODE=token: every request carries it, as Ray's JobSubmissionClient's do."""
    monkeypatch.setenv(ray_auth.MODE_ENV, "token")
    monkeypatch.setenv(ray_auth.TOKEN_ENV, " other ")  # Ray's first place: wins, trimmed
    cluster = dashboard(token="other")
    ray_submit._request(f"{cluster.base}/api/version")
    assert cluster.seen == [("GET", "/api/version", "Bearer other")]


def test_no_token_found_says_where_ray_looks(home, dashboard, monkeypatch):
    monkeypatch.setenv(ray_auth.MODE_ENV, "token")
    (home / ".ray" / "auth_token").unlink()
    cluster = dashboard()
    with pytest.raises(RestyleError) as said:
        ray_submit._request(f"{cluster.base}/api/version")
    words = str(said.value)
    assert f"the Ray dashboard at {cluster.base} asks for a token (token authentication)" in words
    assert f"none found on this machine ({home / '.ray' / 'auth_token'})" in words
    assert f"({ray_auth.WHERE}); ray get-auth-token on the head prints it" in words
    assert "refused" not in words and "401" not in words


def test_a_wrong_token_is_named_with_where_it_came_from(home, dashboard, monkeypatch):
    path = home / "farm-token"
    path.write_text("stale\n")
    monkeypatch.setenv(ray_auth.TOKEN_PATH_ENV, str(path))
    monkeypatch.setenv(ray_auth.MODE_ENV, "token")
    cluster = dashboard()
    with pytest.raises(RestyleError) as said:
        ray_submit._request(f"{cluster.base}/api/version")
    words = str(said.value)
    assert f"the Ray dashboard at {cluster.base} refused the token from {path}" in words
    assert "Forbidden: Invalid authentication token" in words and ray_auth.WHERE in words


def test_mode_disabled_sends_none_and_says_so(home, dashboard, monkeypatch):
    monkeypatch.setenv(ray_auth.MODE_ENV, "disabled")
    cluster = dashboard()
    with pytest.raises(RestyleError, match=r"set RAY_AUTH_MODE=token \(it is 'disabled' now\)"):
        ray_submit._request(f"{cluster.base}/api/version")
    assert [said for *_, said in cluster.seen] == [None]


TOKEN_CASES = {  # env for Ray's loader and ours; paths relative to the home
    "home file": {},
    "path named": {"RAY_AUTH_TOKEN_PATH": "named"},
    "env first": {"RAY_AUTH_TOKEN": "  from-env  ", "RAY_AUTH_TOKEN_PATH": "named"},
    "empty env": {"RAY_AUTH_TOKEN": ""},
    "blank env": {"RAY_AUTH_TOKEN": "   "},
    "missing path": {"RAY_AUTH_TOKEN_PATH": "nowhere"},
    "first line": {"RAY_AUTH_TOKEN_PATH": "two-lines"},
}
RAYS_LOADER = """
from ray._raylet import AuthenticationTokenLoader as L
try:
    l = L.instance()
    print(l.get_raw_token(ignore_auth_mode=True) if l.has_token(ignore_auth_mode=True) else "")
except Exception:
    print("")
"""


@pytest.mark.parametrize("case", TOKEN_CASES)
def test_the_token_is_found_as_rays_own_loader_finds_it(tmp_path, monkeypatch, case):
    pytest.importorskip("ray")
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text(" from-home \n")
    (tmp_path / "named").write_text("from-path\r\n")
    (tmp_path / "two-lines").write_text("first line\nsecond\n")
    for name in (ray_auth.MODE_ENV, ray_auth.TOKEN_ENV, ray_auth.TOKEN_PATH_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    for name, value in TOKEN_CASES[case].items():
        monkeypatch.setenv(name, str(tmp_path / value) if name.endswith("PATH") else value)
    rays = subprocess.run(
        [sys.executable, "-c", RAYS_LOADER], capture_output=True, text=True, check=True
    ).stdout.rstrip("\n")
    ours, _ = ray_auth.find_token()
    assert (ours or "") == rays, case


# -- 2. the GCS port given for the dashboard's ------------------------------------------------
def not_http_server(answer: bytes):
    """A port that answers a request with ``answer`` and closes, as a gRPC server (the GCS)
    answers HTTP/1.1 with HTTP/2 frames."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with listener:
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    return f"127.0.0.1:{listener.getsockname()[1]}"


HTTP2_SETTINGS_AND_GOAWAY = (
    b"\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x64"
    b"\x00\x00\x08\x07\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
)


@pytest.mark.parametrize(
    "answer",
    [HTTP2_SETTINGS_AND_GOAWAY, b"HTTP/1.0 200 OK\r\n\r\n<html>not Ray</html>"],
    ids=["gRPC", "not JSON"],
)
def test_an_address_that_is_not_a_dashboard_is_named_so(home, answer):
    address = not_http_server(answer)
    base = ray_submit.dashboard_url(address)
    with pytest.raises(RestyleError) as said:
        ray_submit._request(f"{base}/api/version")
    words = str(said.value)
    assert words.startswith(f"http://{address} does not answer as a Ray dashboard ("), words
    assert "give the dashboard's address, host:8265 unless set otherwise" in words, words


# -- 3. a process that has joined a cluster already -------------------------------------------
class JoinedRay:
    """``ray`` in a process that has joined the cluster at ``gcs`` (a script's ray.init)."""

    def __init__(self, gcs: str) -> None:
        self.gcs, self.shut_down = gcs, False

    def is_initialized(self) -> bool:
        return not self.shut_down

    def get_runtime_context(self):
        return SimpleNamespace(gcs_address=self.gcs)

    def shutdown(self) -> None:
        self.shut_down = True


@pytest.fixture
def joined(monkeypatch):
    pytest.importorskip("ray")
    import ray._private.services  # noqa: F401  (Ray's own, read by connect: before the swap)

    stand_in = JoinedRay("10.9.9.9:6379")
    monkeypatch.setitem(sys.modules, "ray", stand_in)
    return stand_in


def test_another_address_than_the_joined_cluster_is_refused(joined, shot, tmp_path, capsys):
    code, _, err = run(stylize(shot, tmp_path / "out", "--ray", "10.9.9.8:6379"), capsys)
    assert code == 2, err
    assert "has already joined the Ray cluster at '10.9.9.9:6379'" in err, err
    assert "not the one at '10.9.9.8:6379'" in err, err
    assert not joined.shut_down  # the script's session: left as it was
    assert ray_runner.connect("10.9.9.9:6379") is joined
    assert ray_runner.connect("auto") is joined


def test_a_session_restyle_did_not_start_is_left_running(joined):
    with ray_runner.ray_prints_on_stderr():
        pass
    assert not joined.shut_down


def test_only_the_runs_and_rays_threads_print_on_stderr(capsys):
    def say(name: str) -> None:
        thread = threading.Thread(target=print, args=(name,), name=name)
        thread.start()
        thread.join()

    with ray_runner.ray_prints_on_stderr():
        print("the run")
        say("ray_listen_error_messages")
        say("a script's own thread")
    out, err = capsys.readouterr()
    assert out == "a script's own thread\n"
    assert err == "the run\nray_listen_error_messages\n"


@pytest.fixture
def shot(tmp_path):
    return noise_shot(tmp_path / "shot", 8)


@pytest.mark.slow
def test_a_real_joined_cluster_is_kept_and_another_refused(cluster, shot, tmp_path, capsys):
    """On the session's local cluster: the script joins it, --ray names another port."""
    import ray

    ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
    try:
        host, port = cluster.address.rsplit(":", 1)
        other = f"{host}:{int(port) + 1}"
        code, _, err = run(stylize(shot, tmp_path / "out", "--ray", other), capsys)
        assert code == 2 and f"not the one at '{other}'" in err, err
        assert ray.is_initialized()
        assert ray_runner.connect(f"localhost:{port}") is ray  # the same, spelled otherwise
        # and its GCS port given to Blender's Run on Ray for the dashboard's
        with pytest.raises(RestyleError, match="does not answer as a Ray dashboard"):
            ray_submit._request(f"{ray_submit.dashboard_url(cluster.address)}/api/version")
    finally:
        ray.shutdown()
