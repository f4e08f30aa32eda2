"""The reviewer's findings on round 20's commits (round 21), each checked on the old code.

1. ``ray_submit._request`` with RAY_AUTH_MODE unset sent ``Authorization: Bearer <token>`` to
   any server that answered 401 (Ray's own client sends nothing in that mode), and urllib
   carried the header across a redirect to another host (5d59962). The token now goes only
   where RAY_AUTH_MODE is token, and never past a redirect that leaves the dashboard's
   origin; a dashboard that asks without it says to set RAY_AUTH_MODE=token.
2. ``ray_submit.stylize_command`` on a job not yet validated with ``fps='24000/1001'`` raised
   ValueError (a traceback), and sent fps=True as 1.0 fps: the rate is read by the job's rule
   (``fields.rate``), so it is refused in a local run's words.
4. A sequence's gap refusal named files by number and the whole parts by frame index
   (plate.1001..1006 without 1003: 'plate.1003.png ...; frames 0..1, 3..5 are whole') without
   the hint 850f97b made the one wording for it: 'frames count from 0: plate.1001.png is
   frame 0' (``media.counted_from_0``).
5. ``train --overwrite`` onto an old-format style, one of an unknown architecture or a linked
   style folder passed the first check (any style.json that is a dict), trained the whole
   budget, then ``write_trained_style`` refused it: one rule now (``_not_replaceable``),
   checked before anything is read or trained.
6. The stray-folder check (``styles._user_files``) used rglob, which skips a subfolder it
   cannot list without a word: 'restyle styles' offered 'restyle styles delete C', which
   failed (Permission denied). Such a folder counts as the user's now (os.walk's onerror).
"""

from __future__ import annotations

import json
import os
import threading
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import test_ray_round20 as ray_round20

from restyle.core import ray_auth, ray_submit
from restyle.core.errors import COMMAND_LINE, RestyleError
from restyle.core.job import StyleJob

pytestmark = pytest.mark.usefixtures("private_home")
TOKEN, home = ray_round20.TOKEN, ray_round20.home  # home: a fixture


# -- 1. the dashboard's token goes where Ray's client sends it, and no further ---------------
class Host:
    """A stand-in server on loopback that records each request's Authorization header and
    answers with ``answer(path) -> (status, headers, body)``."""

    def __init__(self, answer) -> None:
        seen = self.seen = []  # (path, Authorization or None)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:
                pass

            def do_GET(self) -> None:
                seen.append((self.path, self.headers.get("Authorization")))
                status, headers, body = answer(self.path)
                self.send_response(status)
                for key, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


VERSION = (200, {}, json.dumps({"ray_version": "2.60.0"}).encode())


@pytest.fixture
def hosts():
    made: list[Host] = []

    def make(answer) -> Host:
        made.append(Host(answer))
        return made[-1]

    yield make
    for host in made:
        host.close()


@pytest.fixture
def token_here(home):
    """~/.ray/auth_token holds TOKEN (as ``ray start --head`` leaves it); no RAY_AUTH_* set:
    test_ray_round20's home."""
    return home


def test_a_server_asking_for_a_token_gets_none_without_token_mode(token_here, hosts):
    """The reviewer's case: RAY_AUTH_MODE unset, a server answering 401 was sent the token
    on a retry (the old code: [None, 'Bearer ...']). Now it is sent nothing, and the words
    say to set RAY_AUTH_MODE=token, as the command line's --ray says of a head that asks."""
    asker = hosts(lambda _path: (401, {}, b"Unauthorized: Missing authentication token"))
    base = f"http://127.0.0.1:{asker.port}"
    with pytest.raises(RestyleError) as said:
        ray_submit._request(f"{base}/api/version")
    assert [header for _, header in asker.seen] == [None]
    words = str(said.value)
    assert words.startswith(
        f"the Ray dashboard at {base} asks for a token (token authentication) "
        "(Unauthorized: Missing authentication token): set RAY_AUTH_MODE=token, with the "
        f"cluster's token where Ray looks ({ray_auth.WHERE})"
    ), words


@pytest.mark.parametrize("mode", ["disabled", "TOKEN"])
def test_another_mode_is_named_and_token_in_any_case_sends_it(token_here, hosts, monkeypatch, mode):
    """RAY_AUTH_MODE=disabled: nothing sent, its value said; 'TOKEN': Ray reads it as token."""
    monkeypatch.setenv(ray_auth.MODE_ENV, mode)
    wants = f"Bearer {TOKEN}"
    asker = hosts(lambda _path: VERSION if asker.seen[-1][1] == wants else (401, {}, b"no"))
    base = f"http://127.0.0.1:{asker.port}"
    if mode == "disabled":
        with pytest.raises(RestyleError, match=r"set RAY_AUTH_MODE=token \(it is 'disabled' now\)"):
            ray_submit._request(f"{base}/api/version")
        assert asker.seen == [("/api/version", None)]
    else:
        assert ray_submit._request(f"{base}/api/version") == {"ray_version": "2.60.0"}
        assert asker.seen == [("/api/version", wants)]


def test_the_token_does_not_follow_a_redirect_to_another_host(token_here, hosts, monkeypatch):
    """RAY_AUTH_MODE=token: the dashboard (127.0.0.1) redirects to localhost, another origin
    though the same machine: the old code sent it the token too; now only the dashboard gets
    it. A redirect within the dashboard's origin keeps it (Ray's client's requests does)."""
    monkeypatch.setenv(ray_auth.MODE_ENV, "token")
    elsewhere = hosts(lambda _path: VERSION)
    other = f"http://localhost:{elsewhere.port}/api/version"

    def dashboard_answer(path: str):
        if path == "/away":
            return 302, {"Location": other}, b""
        if path == "/here":
            return 302, {"Location": "/api/version"}, b""
        return VERSION

    dashboard = hosts(dashboard_answer)
    base = f"http://127.0.0.1:{dashboard.port}"
    bearer = f"Bearer {TOKEN}"
    assert ray_submit._request(f"{base}/away") == {"ray_version": "2.60.0"}
    assert dashboard.seen == [("/away", bearer)]
    assert elsewhere.seen == [("/api/version", None)]
    assert ray_submit._request(f"{base}/here") == {"ray_version": "2.60.0"}
    assert dashboard.seen[1:] == [("/here", bearer), ("/api/version", bearer)]


# -- 2. a rate the job does not take is refused as a local run refuses it ----------------------
@pytest.mark.parametrize("fps", ["24000/1001", True])
def test_a_rate_of_another_type_is_refused_in_the_jobs_words(fps, tmp_path, library):
    job = StyleJob(tmp_path / "plate", tmp_path / "out", "comic-ink", library=library, fps=fps)
    with pytest.raises(RestyleError) as local:
        job.validate()
    with pytest.raises(RestyleError) as ray:
        ray_submit.stylize_command(job)
    assert str(ray.value) == str(local.value) == f"fps must be a number, got {fps!r}"


@pytest.mark.parametrize(
    ("fps", "sent"), [(Fraction(30000, 1001), "30000/1001"), (24, "24"), (12.5, "12.5")]
)
def test_a_rate_the_job_takes_is_sent_as_before(fps, sent):
    assert ray_submit._fps_argument(fps) == sent


# -- 4. a gap in a plate numbered from 1001 says that frames count from 0 ----------------------
def test_a_gap_in_a_plate_says_frames_count_from_0(tmp_path):
    import cv2
    import numpy as np

    from restyle.core.media import check_no_gap, probe

    plate = tmp_path / "plate"
    plate.mkdir()
    for number in (1001, 1002, 1004, 1005, 1006):
        cv2.imwrite(str(plate / f"plate.{number}.png"), np.zeros((16, 16, 3), np.uint8))
    info = probe(plate)
    with pytest.raises(RestyleError) as refused:
        check_no_gap(info, 0, info.frame_count - 1)
    assert refused.value.said(COMMAND_LINE) == (
        f"1 frame missing from the sequence in {plate}: plate.1003.png; frames are identified "
        "by their number, so fill the gap; frames 0..1, 3..5 are whole: style them with "
        "--start and --end (frames count from 0: plate.1001.png is frame 0)"
    )
    with pytest.raises(RestyleError) as one:  # the whole part a single frame
        check_no_gap(info, 1, 2)
    assert one.value.said(COMMAND_LINE).endswith(
        "frame 1 is whole: style it with --start and --end (frames count from 0: "
        "plate.1001.png is frame 0)"
    )


# -- 5. a style training cannot replace is refused before training -----------------------------
def _style_json(folder, **meta) -> None:
    folder.mkdir(parents=True)
    (folder / "style.json").write_text(json.dumps({"kind": "trained", "name": "Ink", **meta}))


@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize(
    ("meta", "why"),
    [
        ({"format": 0}, "style.json is format 0; this Restyle reads format {format}"),
        (
            {"format": None, "arch": "other", "arch_config": {}},
            "style.json names an architecture this Restyle does not know",
        ),
    ],
)
def test_a_style_training_cannot_replace_is_refused_before_training(tmp_path, meta, why, overwrite):
    from restyle.core.styles import StyleLibrary
    from restyle.core.train.artifact import FORMAT
    from restyle.core.train.keyframes import train_from_keyframes

    library = StyleLibrary(tmp_path / "home", bundled=None)
    folder = library.trained_folder("Ink")
    _style_json(folder, **{k: FORMAT if v is None else v for k, v in meta.items()})
    before = (folder / "style.json").read_bytes()
    with pytest.raises(RestyleError) as refused:  # the source is absent: never read
        train_from_keyframes(
            tmp_path / "absent.mp4", {0: tmp_path / "0.png"}, "Ink", library, overwrite=overwrite
        )
    assert str(refused.value) == (
        "a style named 'Ink' already exists and training cannot replace it "
        f"({folder / why.format(format=FORMAT)}): use another name"
    )
    assert (folder / "style.json").read_bytes() == before


def test_a_linked_style_is_refused_before_training(tiny_style, tmp_path, capsys):
    """A style folder that is a link (to a real trained style): write_trained_style never
    writes through one; the command line said 'already exists; use another name or
    --overwrite', and --overwrite trained, then refused."""
    from helpers_cli import run

    linked = tiny_style / "styles" / "tiny"
    real = tmp_path / "elsewhere" / "tiny"
    real.parent.mkdir()
    linked.rename(real)
    linked.symlink_to(real, target_is_directory=True)
    for overwrite in ([], ["--overwrite"]):
        argv = ["train", str(tmp_path / "absent.mp4"), "-k", "0=a.png", "-n", "Tiny"]
        code, _, err = run([*argv, *overwrite], capsys)
        assert code == 2
        assert (
            "a style named 'Tiny' already exists and training cannot replace it (it is a link "
            f"to {real}): use another name"
        ) in err, err
        assert "--overwrite" not in err and "absent.mp4" not in err, err
    assert linked.is_symlink() and (real / "weights.safetensors").is_file()


# -- 6. a stray folder holding a folder that cannot be listed is not offered to delete ---------
@pytest.fixture
def unlistable(monkeypatch):
    """``unlistable(path)``: listing that folder raises PermissionError, as for a folder of
    another user's without read permission (the tests run as root, which reads all)."""
    listing = os.scandir
    refused: set[str] = set()

    def scandir(path="."):
        if os.fspath(path) in refused:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return listing(path)

    monkeypatch.setattr(os, "scandir", scandir)
    return lambda path: refused.add(os.fspath(path))


@pytest.mark.parametrize("which", ["shot", "."])
def test_a_folder_that_cannot_be_listed_is_counted_as_the_users(tmp_path, unlistable, which):
    from restyle.core.styles import StyleLibrary

    library = StyleLibrary(tmp_path / "home", bundled=None)
    stray = library.styles_dir / "C"
    (stray / "shot").mkdir(parents=True)
    (stray / "model.onnx").write_bytes(b"x")  # a style's own file
    unlistable(stray / which if which != "." else stray)
    held = "unreadable folder shot/" if which == "shot" else "unreadable contents"
    assert library.stray_warning(stray).endswith(f"move or remove it by hand (it holds {held})")
    with pytest.raises(RestyleError, match=f"and it holds {held}: not deleting it"):
        library.delete("C")
    assert (stray / "model.onnx").is_file() and (stray / "shot").is_dir()
