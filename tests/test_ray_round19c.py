"""--ray's words found by round 19's walkthrough, each case failing on the code before it:

1. A --ray run cancelled before its first chunk (tracking, finding the cuts) counts the
   frames an earlier run of these settings left in its output (a movie's frames folder, or
   the sequence folder) as reused and kept, as a rerun and --plan --ray do; it said
   'cancelled: no frame finished; nothing kept' with 0 frames while the 5 were still there.
2. A Ray head that asks for a token (token auth: a ``ray start --head`` that found
   ~/.ray/auth_token) is named so, with the setting that sends it, not 'cannot reach a Ray
   cluster ... start the head there' (ray.init without the token fails to connect).

No cluster: ``run_on_ray`` runs its tasks in this process through the stand-in ``ray``
(``in_process``); the token case answers as a token head's GCS does (UNAUTHENTICATED)."""

from __future__ import annotations

import pytest
from helpers_cli import run
from test_ray_round19b import cancelled_mux, stylize

from restyle.core import cli, ray_runner
from restyle.core.errors import Cancelled, RestyleError
from restyle.core.job import movie_frames_folder

from clips import noise_shot

pytestmark = pytest.mark.usefixtures("private_home")
RAY = ["--ray", "auto", "--chunk-frames", "4"]


@pytest.fixture
def shot(tmp_path):
    return noise_shot(tmp_path / "shot", 8)


def cancelled_plan(*_args, **_kwargs):
    """A cancel while the cuts are found, before any chunk is sent."""
    raise Cancelled()


def five_kept(shot, out, capsys, monkeypatch) -> None:
    """Frames 0-4 of ``out`` kept by a --ray run (a movie's: cancelled at its mux)."""
    with monkeypatch.context() as cancelled:
        cancelled.setattr(ray_runner, "_mux", cancelled_mux)
        code, record, err = run([*stylize(shot, out, *RAY), "--end", "4"], capsys)
    assert code in (0, 130) and record["written"] == 5, err


# -- 1. cancelled before the first chunk: the frames kept from before are counted -----------
@pytest.mark.parametrize("kind", ["movie", "sequence"])
def test_an_early_cancel_counts_the_frames_kept_before(
    in_process, shot, tmp_path, capsys, monkeypatch, kind
):
    out = tmp_path / ("cm.mp4" if kind == "movie" else "cm")
    five_kept(shot, out, capsys, monkeypatch)
    folder = movie_frames_folder(out) if kind == "movie" else out
    before = sorted(p.name for p in folder.iterdir())
    monkeypatch.setattr(ray_runner, "plan_for", cancelled_plan)
    code, record, err = run(stylize(shot, out, *RAY), capsys)
    assert code == 130 and record["cancelled"], err
    assert (record["frames"], record["reused"], record["written"]) == (5, 5, 0), record
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written or removed
    assert cli.main(stylize(shot, out, *RAY)) == 130
    said = capsys.readouterr().out
    assert "nothing kept" not in said and "no frame finished" not in said, said
    assert f"{out}: cancelled after " in said and "; no frame styled\n" in said, said
    if kind == "movie":
        kept = f"cancelled: 5 finished frames kept in {folder} (no movie yet)"
        assert kept in said and "rerun with --ray to resume" in said, said
    else:
        assert "cancelled: 5 finished frames kept; rerun to resume" in said, said


def test_an_early_cancel_with_nothing_before_still_says_nothing_kept(
    in_process, shot, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "cm.mp4"
    monkeypatch.setattr(ray_runner, "plan_for", cancelled_plan)
    code, record, err = run(stylize(shot, out, *RAY), capsys)
    assert code == 130 and (record["frames"], record["reused"]) == (0, 0), err
    assert not movie_frames_folder(out).exists()
    assert cli.main(stylize(shot, out, *RAY)) == 130
    assert "cancelled: no frame finished; nothing kept" in capsys.readouterr().out


# -- 2. a head that asks for a token is named so ---------------------------------------------
@pytest.fixture
def token_head(monkeypatch):
    """Every address 'takes connections' and its GCS asks for a token, as a token head's
    answers a call without its token (no cluster started)."""
    pytest.importorskip("ray")
    import grpc
    from ray.core.generated import gcs_service_pb2_grpc

    class Unauthenticated(grpc.RpcError):
        def code(self):
            return grpc.StatusCode.UNAUTHENTICATED

        def details(self):
            return "Invalid or missing authentication token"

    class Stub:
        def __init__(self, channel):
            pass

        def GetClusterId(self, request, timeout=None):
            raise Unauthenticated()

    def init(**_):  # ray.init without the token: it cannot connect (never a real one here)
        raise ConnectionError("stand-in ray.init: no token sent")

    monkeypatch.setattr(gcs_service_pb2_grpc, "NodeInfoGcsServiceStub", Stub)
    monkeypatch.setattr("ray.init", init)
    monkeypatch.setattr(ray_runner, "check_reachable", lambda address, timeout=5.0: None)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)


TOKEN = "asks for a token (token authentication): set RAY_AUTH_MODE=token"


@pytest.mark.parametrize("how", ["address", "RAY_ADDRESS"])
def test_a_head_asking_for_a_token_is_named(token_head, shot, tmp_path, capsys, monkeypatch, how):
    address = "127.0.0.1:6390"
    if how == "RAY_ADDRESS":
        monkeypatch.setenv("RAY_ADDRESS", address)
    ray = ["--ray", address if how == "address" else "auto"]
    code, _, err = run(stylize(shot, tmp_path / "out", *ray), capsys)
    assert code == 2 and f"the Ray cluster at '{address}' {TOKEN}" in err, err
    assert "~/.ray/auth_token" in err and "ray get-auth-token" in err, err
    assert "cannot reach" not in err and "ray start --head" not in err, err
    assert ("the cluster last started here" in err) == (how == "RAY_ADDRESS"), err


def test_the_token_sent_passes_the_check(token_head, monkeypatch):
    """RAY_AUTH_MODE=token: ray.init sends the token, the check leaves it to ray.init;
    'disabled' is said as it is."""
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    ray_runner.check_gcs_answers("127.0.0.1:6390")
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    with pytest.raises(RestyleError, match=r"RAY_AUTH_MODE=token \(it is 'disabled' now\)"):
        ray_runner.check_gcs_answers("127.0.0.1:6390")
