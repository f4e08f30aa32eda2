"""Run a job on a Ray cluster: one Ray task per chunk of a cut-aligned plan (core/plan.py).

Each task runs an ordinary ``StyleJob`` over its chunk, warm-up included, into a staging folder
of its own inside the shared output (``.restyle-chunks/<start>-<end>/``), then hard-links the
frames it owns into the output. Frames are named by source index and appear atomically, so a
task that Ray retries after losing a node resumes from its staging folder, and a frame that
already exists in the output is never written again. A chunk split inside a shot also styles
the next chunk's first frame, only for its own last frame's lookahead (never written); each
chunk restarts its coherence at the plan's cuts inside it. Movies are muxed from the finished
frames once every chunk is done. Ray is optional (``pip install 'restyle[ray]'``); nothing
here is imported unless ``--ray`` is used.

Source and output must be reachable under the same paths from every node (a shared file
system); ``check_nodes`` proves it with a token file before any work starts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from . import interrupt
from .errors import Cancelled, RestyleError
from .plan import Chunk, Plan, plan_for
from .progress import CancelToken, Progress, ProgressCallback, RateMeter

STAGING = ".restyle-chunks"
# The format a movie output's frames wait in for its mux (lossless, 16-bit and alpha kept):
# the nodes write it, a submission counts it (``frames_format``).
MOVIE_FRAMES_FORMAT = "png"
# The stage of a movie's mux from the chunks' frames, and what it says (as "setup" says
# "converting styles"): the frames after the job's own stage ("stylize", "matte"...).
ENCODE, ENCODING = "encode", "encoding the movie"
TOKEN = ".restyle-node-check"
GPU_DEVICES = ("cuda", "tensorrt")
TASK_RETRIES = 3
# At most this many frames before a chunk are decoded for its letterbox tracker's history
# (``history_start``): a chunk's bars are one run's where its shot starts within reach;
# further in, where they agree with the last BAR_HISTORY frames' (bars settle within
# GROW_AFTER frames of one picture; a title kept in a bar can hold them longer).
BAR_HISTORY = 240
# ... and as many as the chunk computes (``history_frames``), at least HISTORY_FLOOR: decoding
# (7-10 ms a 640x360 frame on CPU) stays a fraction of styling (~0.3-0.7 s a frame on CPU;
# far less on a GPU) with a small --chunk-frames.
HISTORY_FLOOR = 24  # three times GROW_AFTER, the frames in a row a bar takes to grow
# Joining a cluster, ray.init tries the GCS 20 times by default, each try waiting ~36 s for
# an answer: 12 minutes on a port that takes connections and never answers. Restyle asks the
# GCS itself first (GCS_DEADLINE_S), then lets ray.init try once (Ray reads GCS_WAIT_ENV as
# its number of tries, at each ray.init).
GCS_DEADLINE_S = 5.0
GCS_WAIT_ENV = "RAY_gcs_server_port_wait_time_s"
INIT_GCS_TRIES = 1
ADVICE = "start the head there (ray start --head) or check --ray and RAY_ADDRESS"


def import_ray():
    try:
        import ray
    except ImportError:
        raise RestyleError(
            "--ray needs Ray, which is not installed: pip install 'restyle[ray]'"
        ) from None
    return ray


@contextlib.contextmanager
def ray_prints_on_stderr() -> Iterator[None]:
    """For the command line: stdout carries only Restyle's summary or --json record. Ray's
    driver prints errors the cluster pushes (a chunk retried after its node died) on stdout
    from a thread of its own, which neither log_to_driver nor logging_level turns off; they
    go to stderr (``_RayPrintsOnStderr``), and Ray is left at the end so that none comes
    after the record, where Restyle joined it: a session the process had already (a
    script's own ray.init) stays."""
    ray = sys.modules.get("ray")
    theirs = ray is not None and ray.is_initialized()
    try:
        with contextlib.redirect_stdout(_RayPrintsOnStderr(sys.stdout, sys.stderr)):
            yield
    finally:
        ray = sys.modules.get("ray")
        if not theirs and ray is not None and ray.is_initialized():
            ray.shutdown()


class _RayPrintsOnStderr:
    """sys.stdout while a --ray run goes: what this thread (ray.init's prints, the run's)
    and Ray's own threads (named ray_...: its error listener) write goes to stderr; what
    the process's other threads write goes on to stdout."""

    def __init__(self, stdout, stderr) -> None:
        self._stdout, self._stderr = stdout, stderr
        self._thread = threading.current_thread()

    def _sink(self):
        thread = threading.current_thread()
        ours = thread is self._thread or thread.name.startswith("ray_")
        return self._stderr if ours else self._stdout

    def write(self, text: str) -> int:
        return self._sink().write(text)

    def flush(self) -> None:
        self._sink().flush()

    def __getattr__(self, name: str):
        return getattr(self._sink(), name)


def connect(address: str):
    """Join the cluster at ``address`` ('auto' or host:port); a clear error if it is not there.
    Ray already joined in this process (a script's ray.init): that cluster, if ``address``
    names it ('auto': whichever it is); another is refused, naming both."""
    ray = import_ray()
    if ray.is_initialized():
        _check_joined(ray, address)
        return ray
    if working_folder() is None:  # ray.init reads it (for its workers' import path)
        raise RestyleError(
            "Ray cannot start from a working folder that was deleted: run from a folder that exists"
        )
    if address != "auto":
        check_reachable(address)
        check_gcs_answers(address)
    else:
        _check_auto_reachable()
    try:
        with _env_unless_set(GCS_WAIT_ENV, str(INIT_GCS_TRIES)), _sigterm_kept():
            ray.init(address=address, logging_level="ERROR", log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        first = first.rstrip(" .;")  # Ray's sentence ends with '.': not '.; start the head'
        raise RestyleError(
            f"cannot reach a Ray cluster at {address!r}: {first}; {ADVICE}"
        ) from None
    return ray


def _check_joined(ray, address: str) -> None:
    """``address`` is the cluster this process has joined, or 'auto' (Ray Client's, or an
    address Ray cannot read: not refused, as before)."""
    if address == "auto":
        return
    try:
        joined = ray.get_runtime_context().gcs_address
        same = _same_address(address, joined)
    except Exception:
        return
    if not same:
        raise RestyleError(
            f"this process has already joined the Ray cluster at {joined!r} (an earlier "
            f"ray.init), not the one at {address!r}: give {joined!r} or 'auto', or call "
            "ray.shutdown() first"
        )


def _same_address(a: str, b: str) -> bool:
    """Whether two host:port addresses name one GCS, as Ray dials them (localhost as this
    machine's address) and a host name as its address."""
    import socket

    from ray._private.services import canonicalize_bootstrap_address

    a, b = canonicalize_bootstrap_address(a), canonicalize_bootstrap_address(b)
    if a == b:
        return True
    (host_a, _, port_a), (host_b, _, port_b) = a.rpartition(":"), b.rpartition(":")
    if port_a != port_b:
        return False
    try:
        return socket.gethostbyname(host_a.strip("[]")) == socket.gethostbyname(host_b.strip("[]"))
    except OSError:
        return False


@contextlib.contextmanager
def _sigterm_kept() -> Iterator[None]:
    """ray.init sets its own SIGTERM handler in the driver (sys.exit, no summary, exit 1):
    one set before it (the command line's: a cancel, as Ctrl-C, exit 143; see
    ``core/interrupt.py``) is put back. With none, Ray's stays (it still runs ``finally``)."""
    if not interrupt.in_main_thread():  # ray.init sets none there either
        yield
        return
    ours = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        if ours not in (None, signal.SIG_DFL):
            signal.signal(signal.SIGTERM, ours)


def _check_auto_reachable() -> None:
    """'auto' means RAY_ADDRESS, else the cluster last started on this machine: check that
    one as an address given outright (Ray waits minutes for a head that is not there)."""
    try:
        from ray._private.services import get_ray_address_from_environment

        found = get_ray_address_from_environment("auto", None)
    except ConnectionError:  # none found: Ray's words name its own '--address flag'
        raise RestyleError(
            "no Ray cluster found for --ray auto (RAY_ADDRESS is not set, and none was started "
            "on this machine): start one with 'ray start --head', or give --ray HOST:PORT"
        ) from None
    except Exception:  # another Ray's internals: ray.init says what it finds
        return
    if found and found not in ("auto", "local"):
        try:
            check_reachable(found)
            check_gcs_answers(found, auto=True)
        except RestyleError as exc:
            raise RestyleError(
                f"{exc} (--ray auto: from RAY_ADDRESS, else the cluster last started here)"
            ) from None


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail in seconds, not minutes: Ray itself retries an unreachable address for long."""
    import socket

    scheme, sep, rest = address.partition("://")
    if sep and scheme != "ray":  # Ray Client's ray://host:10001 is an address; http:// is not
        raise RestyleError(
            f"--ray takes the head's host:port (head:6379) or 'auto', not a URL like {address!r} "
            "(a dashboard address, host:8265, is what Blender's Run On: Ray Cluster takes)"
        )
    host, _, port = (rest if sep else address).rpartition(":")
    if not host or not port.isdigit():
        raise RestyleError(f"Ray address {address!r} must be 'auto' or host:port")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise RestyleError(f"cannot reach a Ray cluster at {address!r}: {reason}") from None


def check_gcs_answers(address: str, timeout: float = GCS_DEADLINE_S, *, auto: bool = False) -> None:
    """A port that takes connections is not yet a Ray head (a stale address now held by
    another program, a head whose GCS hangs, a listener on loopback only while Ray dials
    this machine's own address): ray.init asks it for the cluster's id 20 times, ~36 s
    each, 12 minutes. Ask once, as Ray asks, at the address Ray dials, with a deadline.
    A head that asks for a token ray.init will not send is named so (``auto``: --ray auto
    found ``address``)."""
    if address.startswith("ray://"):  # Ray Client's server, not a GCS
        return
    import grpc
    from ray._private.gcs_utils import create_gcs_channel
    from ray._private.services import canonicalize_bootstrap_address
    from ray.core.generated.gcs_service_pb2 import GetClusterIdRequest
    from ray.core.generated.gcs_service_pb2_grpc import NodeInfoGcsServiceStub

    dialled = canonicalize_bootstrap_address(address)
    channel = create_gcs_channel(dialled)
    try:
        NodeInfoGcsServiceStub(channel).GetClusterId(GetClusterIdRequest(), timeout=timeout)
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.UNAUTHENTICATED:
            raise RestyleError(_no_gcs_message(address, dialled, exc, timeout)) from None
        if not _token_sent(auto):  # else a head wanting the token ray.init sends: it answers
            raise RestyleError(_token_message(address)) from None
    finally:
        channel.close()


def _token_sent(auto: bool) -> bool:
    """Whether ray.init sends the cluster a token (Ray 2.60's ``worker.init``): where
    RAY_AUTH_MODE is token; with it unset, only for --ray auto without RAY_ADDRESS (the
    cluster last started here) and a token on this machine (~/.ray/auth_token,
    RAY_AUTH_TOKEN_PATH or RAY_AUTH_TOKEN). An address given (--ray, RAY_ADDRESS): never."""
    from .ray_auth import mode

    if mode() is not None:
        return mode() == "token"
    if not auto or os.environ.get("RAY_ADDRESS"):
        return False
    try:
        from ray._raylet import AuthenticationTokenLoader

        return bool(AuthenticationTokenLoader.instance().has_token(ignore_auth_mode=True))
    except Exception:  # another Ray's internals: ray.init says what it finds
        return True


def _token_message(address: str) -> str:
    """A head that asks for a token ray.init does not send: ``ray_auth.set_the_mode``'s
    words, as a dashboard that asks says them (``ray_submit``)."""
    from .ray_auth import set_the_mode

    asks = f"the Ray cluster at {address!r} asks for a token (token authentication)"
    return f"{asks}: {set_the_mode()}"


def _no_gcs_message(address: str, dialled: str, exc, timeout: float) -> str:
    import grpc

    code = exc.code()
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        why = f"it takes connections but no Ray head answered within {timeout:g} s"
    elif code == grpc.StatusCode.UNIMPLEMENTED:
        why = "another program answers there, not a Ray head (its port is 6379 unless set)"
    else:
        details = (exc.details() or code.name).strip().splitlines()[0]
        why = details.rsplit(": ", 1)[-1]  # gRPC's chain of causes ends with the one to say
    via = "" if dialled == address else f" (Ray dials {dialled})"
    return f"cannot reach a Ray cluster at {address!r}{via}: {why}; {ADVICE}"


@contextlib.contextmanager
def _env_unless_set(name: str, value: str) -> Iterator[None]:
    """``name`` is ``value`` while ray.init runs, unless the user set it; then it is gone
    again, so nothing else the process does with Ray sees it."""
    if name in os.environ:
        yield
        return
    os.environ[name] = value
    try:
        yield
    finally:
        os.environ.pop(name, None)


def chunk_output_folder(output: Path, chunk: Chunk) -> Path:
    return output / STAGING / f"{chunk.start:06d}-{chunk.end:06d}"


@dataclasses.dataclass(frozen=True)
class Landing:
    """Where a run's frames land: the output folder (or a movie's frames folder), their
    suffix (the output's image format), and the frames of older settings there that an
    ``overwrite`` replaces (``stale``, as the folder's manifest lists them), and the source's
    numbering the frames are named by (``job.frame_numbering``: a numbered sequence's)."""

    folder: Path
    suffix: str
    stale: frozenset[str] = frozenset()
    numbering: tuple[int, int] = (0, 0)
    # The frames written as a range's end without their lookahead (the manifest's
    # 'no_lookahead') and where this run ends so (``job.unlooked_end``): ``job.reusable``.
    marked: frozenset[str] = frozenset()
    end: int | None = None

    def name(self, index: int) -> str:
        from .writers import frame_stem

        return frame_stem(index, *self.numbering) + self.suffix

    def written(self, index: int) -> bool:
        """Frame ``index`` is there, made with this run's settings, and kept by it: local
        runs' one rule (``job.frame_kept``; an empty file is made again)."""
        from .job import frame_kept

        return frame_kept(self.folder, index, self.name, self.stale, self.marked, self.end)

    def of(self, chunk: Chunk) -> Landing:
        """Only what ``chunk`` lands (a task is sent its own stale frames, not the run's)."""
        own = {self.name(i) for i in range(chunk.start, chunk.end + 1)}
        return dataclasses.replace(self, stale=self.stale & own)


def link_owned_frames(staging: Path, landing: Landing, chunk: Chunk) -> int:
    """Hard-link (or copy) the chunk's own finished frames into the output, each replacing
    atomically what is there; a frame this run keeps there (``Landing.written``) is never
    overwritten: one that is empty, stale or styled again by this run (a range's end made
    without its lookahead, where this run goes past it) is. A frame that ends the range
    without its lookahead is recorded so before it lands (``_mark_before_landing``)."""
    from .writers import frame_file_written

    span = range(chunk.start, chunk.end + 1)
    frames = [f for f in span if frame_file_written(staging / landing.name(f))]
    landing_now = [f for f in frames if _lands(staging, landing, f)]
    _mark_before_landing(staging, landing, chunk, landing_now)
    for frame in landing_now:
        name = landing.name(frame)
        _replace_with(staging / name, landing.folder / name)  # linked, or copied
    return len(landing_now)


def _lands(staging: Path, landing: Landing, frame: int) -> bool:
    """Whether ``link_owned_frames`` puts staged ``frame`` in the output: the frame there is
    not one this run keeps (``Landing.written``: none, an empty one, a stale one, a range's
    end this run styles again) and not this very file (a retried task may have landed it)."""
    name = landing.name(frame)
    return not landing.written(frame) and not _same_file(staging / name, landing.folder / name)


def _mark_before_landing(staging: Path, landing: Landing, chunk: Chunk, frames: list[int]) -> None:
    """The chunk that ends the range mid-source (no tail: ``Landing.end``): of ``frames``,
    about to land, those its staging manifest marks 'no_lookahead' are added to the output's
    manifest first, saved, so a mark is durable no later than its frame (a driver killed
    after the landing, before ``_record_marks``, leaves the frame marked: a longer run
    styles it again). Run by the task that lands them and by the driver's own landing; the
    driver writes the manifest before the chunks and after them (``_record_marks``, which
    sets every landed frame's mark as one run's would), never while they run."""
    from .job import MANIFEST, _parse_manifest, _read_bytes
    from .writers import write_atomic

    if landing.end is None or chunk.end != landing.end or not frames:
        return
    staged = _parse_manifest(_read_bytes(staging / MANIFEST)).get("no_lookahead") or ()
    names = {landing.name(f) for f in frames} & set(staged)
    path = landing.folder / MANIFEST
    record = _parse_manifest(_read_bytes(path))
    marked = set(record.get("no_lookahead") or ())
    if not names or names <= marked or not record.get("key"):
        return
    record["no_lookahead"] = sorted(marked | names)
    write_atomic(path, json.dumps(record, indent=1).encode())


def _replace_with(src: Path, dst: Path) -> None:
    """``dst`` becomes ``src`` in one step (a link beside it, renamed over it). The link is
    named by ``writers.scratch_path``, so one a killed landing left is a scratch file the
    output's frame writer sweeps away (``_TEMP_NAME``)."""
    from .writers import scratch_path

    part = scratch_path(dst)
    try:
        try:
            os.link(src, part)
        except OSError:
            shutil.copyfile(src, part)
        os.replace(part, dst)
    except BaseException:  # a full disk, a cancel: no link is left beside the frame
        with contextlib.suppress(OSError):
            part.unlink()
        raise


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _style_chunk(
    job_type,
    fields: dict,
    chunk: Chunk,
    landing: Landing,
    counter,
    tail: bool = False,
    cuts: tuple[int, ...] = (),
    cwd: str | None = None,
    info=None,
    seen_from: int | None = None,
    precision: dict | None = None,
) -> dict:
    """The body of one Ray task: run a chunk (with warm-up) and publish its frames; return
    what its ``JobResult`` says of the engine that ran and the job's warnings. ``tail``:
    the next frame is in the same shot, so the chunk's last frame looks ahead at it (styled,
    not written) as in a single-machine run. ``cuts``: the plan's in the chunk, where its
    coherence restarts (a single-machine run finds the same ones while streaming). ``cwd``:
    the driver's working folder, where a relative path the job holds (a style picture, a
    background, the library) is read from, as on the driver. ``info``: the driver's probe
    of the source (``MediaInfo``), so a chunk does not open every image of it again.
    ``seen_from``: where its history starts (``history_start``). ``precision``: the one
    the driver decided for every chunk (``decide_precision``), or None."""
    if cwd is not None:
        with contextlib.suppress(OSError):  # not on this node: absolute paths still work
            os.chdir(cwd)
    staging = chunk_output_folder(landing.folder, chunk)
    job = job_type(
        **fields,
        output=staging,
        start=chunk.first_computed,
        end=chunk.end,
        lookahead_tail=tail,
        cuts=cuts,
        seen_from=seen_from,
    )
    if info is not None:
        job._probed = info
    if precision is not None:  # held to it (``StyleJob._precision_made``)
        job._chunk_precision = precision
    key = chunk.start

    def report(p: Progress) -> None:
        done = max(0, p.done - chunk.warmup)
        counter.report.remote(key, min(done, len(chunk)))

    try:
        result = job.run(progress=report)
    finally:  # also on cancel: every finished frame is kept
        link_owned_frames(staging, landing, chunk)
    counter.report.remote(key, len(chunk))
    measure = getattr(job, "coverage_between", None)  # a matte's share of the picture
    share = measure(chunk.start, chunk.end) if measure is not None else None
    return {
        "backend": result.backend,
        "device": result.device,
        "engine": result.engine_marked,  # the driver words it for its front end
        "held": [i for i in result.held if chunk.start <= i <= chunk.end],  # in its frames
        "retimed": result.retimed,
        # written as an earlier frame's result (a held picture), of its own frames only
        "repeats": [i for i in result.repeats if chunk.start <= i <= chunk.end],
        "precision": getattr(job, "_ran_precision", None),  # once decided (the manifest's)
        # a matte's mean alpha over its own frames, for the driver's one warning
        "coverage": None if share is None else [share, chunk.start, chunk.end],
    }


class _ProgressBoard:
    """A Ray actor: the latest count per chunk, so a retried chunk is never counted twice."""

    def __init__(self) -> None:
        self.done: dict[int, int] = {}

    def report(self, chunk: int, done: int) -> None:
        self.done[chunk] = max(done, self.done.get(chunk, 0))

    def total(self) -> int:
        return sum(self.done.values())


def _check_node(source_files: list[str], output: str, token: str) -> str | None:
    import socket

    host = socket.gethostname()
    missing = [f for f in source_files if not os.path.exists(f)]
    if missing:
        return f"{host}: cannot see the source {missing[0]}"
    try:
        seen = Path(output, TOKEN).read_text(encoding="utf-8")
    except OSError:
        seen = ""
    if seen != token:
        return f"{host}: cannot see the output folder {output} (not on a shared file system?)"
    return None


def check_nodes(ray, source_files: list[str], output: Path) -> None:
    """Run a probe on every live node; fail before any work if one cannot see the files."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    token = secrets.token_hex(8)
    (output / TOKEN).write_text(token, encoding="utf-8")
    probe = ray.remote(num_cpus=0)(_check_node)
    try:
        refs = [
            probe.options(
                scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
            ).remote(source_files, str(output), token)
            for node in ray.nodes()
            if node.get("Alive")
        ]
        problems = [p for p in ray.get(refs, timeout=120) if p]
    finally:
        (output / TOKEN).unlink(missing_ok=True)
    if problems:
        raise RestyleError(
            "every Ray node must see the source and output under the same paths: "
            + "; ".join(problems)
        )


def job_fields(job) -> dict:
    """The job's settings for the tasks: everything but the range and the output."""
    skip = {"output", "start", "end", "source", "lookahead_tail", "cuts", "seen_from"}
    fields = {f.name: getattr(job, f.name) for f in dataclasses.fields(job) if f.name not in skip}
    fields["source"] = (  # absolute: a task's working folder is not the driver's
        [os.path.abspath(p) for p in job.source]
        if isinstance(job.source, list | tuple)
        else os.path.abspath(job.source)
    )
    fields["job_type"] = type(job)  # StyleJob, MatteJob: the task runs the same kind of job
    fields["format"] = job.format  # the twin's: the frames' (``frames_format``)
    fields["overwrite"] = False
    fields["measure"] = False
    return fields


def source_files(source) -> list[str]:
    if isinstance(source, (list, tuple)):
        return [str(Path(p).absolute()) for p in source]
    path = Path(source).absolute()
    return [str(path if path.exists() else path.parent)]


def run_chunks(
    ray,
    fields: dict,
    plan: Plan,
    landing: Landing,
    *,
    num_gpus: float = 0,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    reports: list[dict] | None = None,
    info=None,
    bars: bool = True,
    precision: dict | None = None,
    landed: set[int] | None = None,
) -> list[dict]:
    """Run every chunk of ``plan`` as a retried Ray task; frames land at ``landing``. Returns
    what each finished chunk reported (``_style_chunk``), appended to ``reports`` as they
    finish (so a cancelled run keeps those of its finished chunks). ``info``: the source as
    the driver probed it, stored once for every task. ``bars``: the job crops to letterbox
    bars (``_tracks_bars``), which sets how much history each chunk decodes. ``landed``:
    the frames of the range in the output already, as the caller found them
    (``_finished``); None: looked up here."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    if cancel is not None and cancel.cancelled:  # before any task (the precision's check)
        raise Cancelled()
    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    board = ray.remote(num_cpus=0)(_ProgressBoard).options(scheduling_strategy=here).remote()
    task = ray.remote(num_cpus=1, num_gpus=num_gpus, max_retries=TASK_RETRIES)(_style_chunk)
    job_type = fields.pop("job_type")
    cwd = working_folder()
    probed = ray.put(info)
    # A resume counts from the frames landed before (``_run_locked`` said them), each chunk's
    # count from its own: the bar never goes back, and the rate is of frames made now.
    landed = _finished(landing, plan) if landed is None else landed
    kept = {c: _owned_landed(landed, c) for c in plan.chunks}
    todo = [c for c in plan.chunks if kept[c] < len(c)]
    for chunk, landed in kept.items():  # a rerun: nothing left to make where all landed
        if landed:
            board.report.remote(chunk.start, landed)
    pending = [
        task.remote(
            job_type,
            fields,
            c,
            landing.of(c),
            board,
            _same_shot_follows(plan, c),
            tuple(cut for cut in plan.cuts if c.first_computed < cut <= c.end),
            cwd,
            probed,
            history_start(plan, c, history_frames(c, bars)),
            precision,
        )
        for c in todo
    ]
    total, base = plan.end - plan.start + 1, sum(kept.values())
    meter = RateMeter(total - base)
    stage = job_type.stage  # the words of a local run's frames ("stylize", "matte"...)
    reports = [] if reports is None else reports
    stopped = False
    try:
        while pending:
            if cancel is not None and cancel.cancelled:
                raise Cancelled()
            ready, pending = ray.wait(pending, num_returns=len(pending), timeout=0.5)
            reports += ray.get(ready)  # a failed chunk raises here
            if progress:
                p = meter.update(ray.get(board.total.remote()) - base, stage=stage)
                progress(dataclasses.replace(p, done=p.done + base, total=total))
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        stopped = True
        raise
    finally:
        if stopped and pending:  # most killed tasks are gone by the landing below
            with contextlib.suppress(Exception):
                ray.wait(pending, num_returns=len(pending), timeout=STOP_WAIT_S)
        for chunk in plan.chunks:  # keep every finished frame, even of cancelled tasks
            staging = chunk_output_folder(landing.folder, chunk)
            link_owned_frames(staging, landing.of(chunk), chunk)
        if stopped:  # and those a task still dying wrote since (landed once it is gone)
            clear_stopped_tasks(landing.folder, plan, landing=landing)
    return reports


STOP_PATIENCE_S = 5.0  # how long a stop waits for its killed tasks to let their locks go
# How long a stop gives its force-cancelled tasks to die before its first landing. It proves
# nothing: Ray 2.60 resolves a force-cancelled task before its worker has died (0.04-0.15 s
# after ray.cancel, the worker alive then, dead ~0.01 s later; load 14), so a frame written
# after that landing is landed once the task's staging lock is free (``clear_stopped_tasks``).
STOP_WAIT_S = 1.5


def clear_stopped_tasks(
    folder: Path, plan: Plan, patience_s: float = STOP_PATIENCE_S, landing: Landing | None = None
) -> None:
    """After a stop (Ctrl-C, SIGTERM, a failed chunk): what the killed tasks could not clean
    up, their staging folders' lock files and scratch frames, so a stop leaves no lock or
    scratch file (README's fault table). Their finished frames stay, for a rerun to resume
    from; a folder left empty goes. ``landing``: once a folder's lock is free (its task
    gone, so writing nothing more), its frames are landed again: a task killed slowly
    (under load CI saw frame 4 staged, not in the output) finished one after the driver's
    first landing. A frame is written as a scratch file renamed into place, so a task
    killed mid-frame leaves a scratch file (removed here), never a part of a frame."""
    from .writers import drop_stale_lock

    deadline = time.monotonic() + patience_s
    for chunk in plan.chunks:
        staging = chunk_output_folder(folder, chunk)
        if not drop_stale_lock(staging, max(0.0, deadline - time.monotonic())):
            continue  # a task still running there (its node slow to kill it): its own
        if landing is not None:
            link_owned_frames(staging, landing.of(chunk), chunk)
        _remove_scratch(staging)
        with contextlib.suppress(OSError):
            staging.rmdir()  # only if empty
    with contextlib.suppress(OSError):
        (folder / STAGING).rmdir()


def _remove_scratch(folder: Path) -> None:
    """The scratch files (``writers.scratch_path``'s names) a killed writer left in
    ``folder``, whose lock the caller holds: a task's frame, a landing's link."""
    from .writers import _TEMP_NAME

    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if _TEMP_NAME.match(entry.name) and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)


def working_folder() -> str | None:
    """The driver's working folder for the tasks; None when it was deleted (the job then
    holds absolute paths only: validating it said so otherwise)."""
    try:
        return os.getcwd()
    except FileNotFoundError:
        return None


def _owned_landed(landed: set[int], chunk: Chunk) -> int:
    """How many frames the chunk owns are in the output already (``landed``; all: a
    finished run's rerun, nothing to make there)."""
    return sum(i in landed for i in range(chunk.start, chunk.end + 1))


def _what_ran(result, reports: list[dict]) -> None:
    """The engines the chunks ran on, not the words asked for ('auto')."""
    if not reports:
        return
    result.backend = "+".join(sorted({r["backend"] for r in reports}))
    result.device = "+".join(sorted({r["device"] for r in reports}))
    result.set_engine("; ".join(sorted({r["engine"] for r in reports if r["engine"]})))


def _engine_kept(result, manifest, key: str) -> None:
    """The engine the chunks reported, kept in the folder's manifest; a rerun none of whose
    chunks ran (every frame there already) names the one kept there, as a local rerun names
    its engine (it said backend, device and engine null). One an earlier Restyle made keeps
    none: null still."""
    from .job import _parse_manifest

    if result.backend:  # reported by the chunks (``_what_ran``)
        said = (("backend", result.backend), ("device", result.device))
        manifest.record.update({k: v for k, v in (*said, ("engine", result.engine_marked)) if v})
        return
    old = _parse_manifest(manifest.old)
    kept = {k: v for k in ("backend", "device", "engine") if isinstance(v := old.get(k), str) and v}
    if old.get("key") != key or not kept:
        return
    manifest.record.update(kept)
    result.backend, result.device = kept.get("backend"), kept.get("device")
    if "engine" in kept:  # still marked: each front end words it
        result.set_engine(kept["engine"])


def _precision_kept(manifest, reports: list[dict], key: str, asked: str) -> None:
    """The precision the chunks made their frames with, kept in the folder's manifest (a
    rerun resumes at it: ``decide_precision``) where every chunk that ran reports one and
    the same, with the one the job asked (``asked``), as a local run keeps them (a resume
    asking it again is held to it); a rerun none of whose chunks ran keeps those kept
    there."""
    from .job import _parse_manifest

    said = {r.get("precision") for r in reports}
    if not reports:
        old = _parse_manifest(manifest.old)
        said = {old.get("precision")} if old.get("key") == key else set()
        asked = old.get("precision_asked") if old.get("key") == key else None
    if len(said) == 1 and isinstance(precision := next(iter(said)), str) and precision:
        manifest.record["precision"] = precision
        if isinstance(asked, str) and asked:
            manifest.record["precision_asked"] = asked


def _checks(twin) -> bool:
    """The job styles with a network that may check its precision (StyleJob's stylizer; a
    mapping's warp or matte network decides its own)."""
    from .job import StyleJob

    return type(twin)._stylizer is StyleJob._stylizer


# Frames ``decide_precision`` styles at most: the check decides on the first one that shows
# something (``precision.shown``; this machine's verdict on the first at all), so more are
# a check that cannot decide (an engine that checks no frame here): the chunks' own then.
CHECK_FRAMES = 3


def _verdict_decides(engine) -> bool:
    """Whether ``engine``'s check is this machine's verdict for the network and style (kept,
    else measured on the probe picture: ``precision.checked_batch``), which its first batch
    settles whatever it shows: an engine ``create_engine`` gave its ``verdicts``, or
    OpenVINO's child process (whose engine has them), with the probe picture installed."""
    from .engines.child import ChildEngine
    from .engines.precision import PROBE_PICTURE

    kept = getattr(engine, "verdicts", None) is not None or isinstance(engine, ChildEngine)
    return kept and PROBE_PICTURE.is_file()


def decide_precision(twin, frames_plan, plan: Plan, cancel=None, progress=None) -> dict | None:
    """The precision every chunk runs, decided once here, where a chunk's own first-batch
    check (OpenVINO or PyTorch bf16 against fp32) could decide otherwise than another's and
    than one run's: the frames folder's, where a run made some of them (its manifest's, as
    a local resume reads it: ``StyleJob._precision_made``); else this machine's check:
    its verdict for the network and style, which the range's first frame settles
    (``_verdict_decides``), or, without one (no probe picture), the range's first frames
    that show something, as one run checks them (a black lead-in is a chunk of its own,
    cut from the shot after it): a black or flat frame is decoded, not styled (it says
    nothing of the precision), ``CHECK_FRAMES`` are styled at most. ``cancel`` is polled
    between frames. None: the job asks fp32 or is a mapping, or
    no check ran here (fp32 alone, no network, every frame flat, no engine here, nothing
    decided, cancelled): each chunk runs as asked and checks its own first batch. Where it
    builds the network, ``progress`` hears a local run's first event first (stage 'setup',
    'building the network': ``StyleJob._starting``); where it builds none, nothing."""
    from .engines.precision import shown
    from .media import decode_range
    from .stylizer import decided_precision

    made = twin._precision_made(frames_plan)
    if made is not None or twin.precision == "fp32" or not _checks(twin):
        return made
    twin._starting(frames_plan, progress)
    try:  # an engine this machine cannot start (a device only the nodes have): theirs
        stylizer = twin._stylizer(frames_plan)
    except Exception:
        return None
    with contextlib.closing(stylizer):
        engine = stylizer.engine
        if decided_precision(engine) is not None or getattr(engine, "light", False):
            return None  # decided without a check (fp32): each chunk's own is the same
        # from the range's start, as one run checks: a black lead-in is a shot of its own
        frames, styled = decode_range(twin.source, plan.start, plan.end, info=frames_plan.info), 0
        first = _verdict_decides(engine)  # any first frame settles it, flat or not
        for frame in frames:
            if cancel is not None and cancel.cancelled:
                return None  # no chunk is submitted (``run_chunks``): cancelled
            batch = stylizer.preprocess(frame)[None]
            stylizer.bars.known(frame, forget=True)  # as ``Stylizer.stylize`` leaves it
            if not (first or shown(batch).any()):
                continue
            first = False  # not settled by it: the frames go on deciding, as without one
            stylizer.infer(batch)
            if (precision := decided_precision(engine)) is not None:
                break
            if (styled := styled + 1) >= CHECK_FRAMES:
                return None
        else:
            return None
    backend, device = engine.backend, engine.device
    why = f"{precision}, as the run decided for every chunk"
    # a node whose engine cannot hold it runs its own (``stylizer.held_engine``) and says so
    unheld = f"the run decided {backend} {precision} on {device} for every chunk, not this node"
    return dict(backend=backend, device=device, precision=precision, why=why, unheld=unheld)


def _warn_once(result, frames_plan, plan: Plan, reports: list[dict]) -> None:
    """The run's warnings in a single-machine run's words, from the chunks' merged facts (a
    chunk's own warning counts its frames only, warm-up again): the frames written that
    could not be decoded cleanly, the frames a variable rate repeated, and per slot the most
    dropped frames any chunk saw (a chunk misses drops in its last slot; the next one's
    warm-up sees them)."""
    from .job import frame_warnings

    held = sorted({i for r in reports for i in r["held"]})
    repeated = {
        i
        for r in reports
        for i, dropped in r["retimed"]
        if not dropped and plan.start <= i <= plan.end
    }
    drops: dict[int, int] = {}
    for report in reports:
        seen: dict[int, int] = {}
        for i, dropped in report["retimed"]:
            if dropped and plan.start <= i <= plan.end:
                seen[i] = seen.get(i, 0) + 1
        for i, count in seen.items():
            drops[i] = max(count, drops.get(i, 0))
    retimed = [(i, False) for i in sorted(repeated)]
    retimed += [(i, True) for i, count in sorted(drops.items()) for _ in range(count)]
    result.held, result.retimed = held, retimed
    result.frame_warned = frame_warnings(frames_plan, held, retimed, result.written)
    result.warnings = list(result.frame_warned)


def _chunks_warnings(job, landing: Landing, plan: Plan, reports: list[dict]) -> list[str]:
    """A mapping's own warning of the whole range from its chunks' reports (a matte that
    keeps almost nothing: ``MatteJob.chunks_warnings``), the frames no chunk reported read
    from the landing (each frame's file there); none for a job that has none."""
    said = getattr(job, "chunks_warnings", None)
    if said is None:
        return []
    return said(reports, lambda i: landing.folder / landing.name(i), plan.start, plan.end)


def _files_warnings(frames_plan) -> list[str]:
    """What the image-file writer says of the run's frames (a pixel aspect the files cannot
    hold), once: each chunk's writer said it of its own frames, and a run whose chunks were
    all written before says it as one machine's rerun does."""
    from .writers import square_pixel_warnings

    info = frames_plan.info
    return square_pixel_warnings(
        info.pixel_aspect, frames_plan.format.id, (info.width, info.height)
    )


def history_start(plan: Plan, chunk: Chunk, most: int = BAR_HISTORY) -> int:
    """Where a chunk's history starts (``StyleJob.seen_from``): the frames before its first
    computed one that one run's letterbox tracker saw since it last started afresh, at the
    shot's start (a cut resets it), ``most`` frames at most. The chunk decodes them without
    styling them, so its bars are one run's where that start is within reach, and its first
    frame knows whether it repeats the picture before it (a held picture: one run wrote it
    as a copy)."""
    first = chunk.first_computed
    return max(plan.start, *(c for c in plan.cuts if c <= first), first - most)


def history_frames(chunk: Chunk, bars: bool) -> int:
    """How many frames before a chunk it decodes as history (``history_start``'s ``most``).
    A job cropped to letterbox bars: as many as the chunk computes (its own and warm-up),
    HISTORY_FLOOR..BAR_HISTORY, so its bars are one run's where its shot starts within that
    reach (or they settled within it; a title held in a bar longer can differ). Otherwise one,
    the frame before: all a held picture's repeat is told by."""
    if not bars:
        return 1
    return min(BAR_HISTORY, max(HISTORY_FLOOR, len(chunk) + chunk.warmup))


def _tracks_bars(job) -> bool:
    """Whether the job's frames are cropped to letterbox bars: a style's (``Stylizer``), not
    a mapping's (a matte, a stabilisation run their own ``_stylizer``, which keeps none)."""
    from .job import StyleJob

    own = type(job)._stylizer is StyleJob._stylizer
    return own and bool(getattr(job.settings, "letterbox", False))


def _same_shot_follows(plan: Plan, chunk: Chunk) -> bool:
    """Whether the frame after the chunk is in the plan and in the same shot (no cut)."""
    return chunk.end < plan.end and chunk.end + 1 not in plan.cuts


def sweep_staging(output: Path) -> None:
    shutil.rmtree(output / STAGING, ignore_errors=True)


def default_gpus(device: str) -> float:
    """Ask Ray for a GPU per task only when the engine will run on one."""
    return 1.0 if device.split(":")[0] in GPU_DEVICES else 0.0


def frames_folder(job) -> Path:
    """Where the chunks write: the output folder, or a hidden sibling of an output movie
    (``job.movie_frames_folder``)."""
    from .job import movie_frames_folder
    from .writers import format_for_output, output_format

    out = Path(job.output)
    fmt = output_format(job.format or format_for_output(out))  # None: as validate reads it
    return out if not fmt.movie else movie_frames_folder(out)


def frames_format(fmt):
    """The ``OutputFormat`` a run's frames land in: the output's own, or for a movie
    MOVIE_FRAMES_FORMAT (its frames wait there for the mux)."""
    from .writers import output_format

    return output_format(MOVIE_FRAMES_FORMAT if fmt.movie else fmt.id)


def frames_twin(job, checked):
    """``job`` as its frames land on the cluster: into ``frames_folder`` (absolute: the
    tasks' working folders are not ours) in ``frames_format``; --overwrite replaces older
    frames there as new ones land, as on one machine. A replaced background is laid from
    the run's start (``checked``'s), by each chunk."""
    folder = frames_folder(job).absolute()
    return job._frames_twin(folder, frames_format(checked.format).id, checked)


def landing_for(twin, frames_plan, manifest=None) -> Landing:
    """Where ``twin``'s frames land and which of those there it keeps (``Landing``), by the
    settings key of ``frames_plan`` as ``twin.place`` placed it (an earlier Restyle's path
    form where it made that folder): the folder's manifest (``manifest``, else read) names
    its stale and no-lookahead frames; the range's end made without its lookahead is reused
    only where this run ends so too (``job.unlooked_end``)."""
    from .job import _Manifest, frame_numbering, unlooked_end

    folder = Path(twin.output)
    manifest = manifest or _Manifest(folder, frames_plan.key, {}, asked=twin.precision)  # reads
    return Landing(
        folder,
        frames_plan.format.suffix,
        frozenset(manifest.stale),
        frame_numbering(frames_plan.info),
        frozenset(manifest.no_lookahead),
        unlooked_end(frames_plan, twin._ends_unlooked()),
    )


def run_on_ray(
    job,
    address: str,
    *,
    plan: Plan | None = None,
    max_frames: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
):
    """Run ``job`` (a StyleJob) on the cluster at ``address``; returns its ``JobResult``.

    As on one machine, the output is locked before any work (``_output_locked``: a movie's
    as a local run locks it) and placed again under the lock, so a run that another one
    finished meanwhile finds it finished; a mapping's first pass (a stabiliser's tracking,
    ``_prepare_locked``) runs under the lock, so a second run into the same output is
    refused before it, not after."""
    from .job import _make_parents, _remove_empty, drop_frames_twin

    _check_distributable(job)
    checked = job.validate()  # everything a local run checks, before the cluster is asked
    twin = frames_twin(job, checked)
    made = _make_parents(checked.output)  # the locks live beside the output
    try:
        with _output_locked(checked.output, Path(twin.output)):
            # The movie these settings made is finished, --overwrite or not (as on one
            # machine: a farm passing --overwrite on every retry keeps the shortcut).
            checked, finished = job._place_locked(checked)
            if finished is not None:  # these settings' frames folder, as a local run's
                drop_frames_twin(twin)  # (its mux refused, or cancelled and finished since)
                return finished
            return _run_in_folder(job, twin, checked, address, plan, max_frames, progress, cancel)
    finally:
        _remove_empty(made)


@contextlib.contextmanager
def _output_locked(output: Path, folder: Path) -> Iterator[None]:
    """The output's lock, a movie's as a local run takes it (so a local and a Ray run into
    one movie each see the other, and a refusal names the movie), then a movie's frames
    folder's, which an earlier Restyle's Ray run took instead."""
    from .writers import OutputLock

    with OutputLock(output):
        if folder == output.absolute():  # a folder output: its frames land in it
            yield
            return
        with OutputLock(folder):
            yield


def _run_in_folder(job, twin, checked, address, plan, max_frames, progress, cancel):
    """``run_on_ray`` under the output's lock: the frames folder placed, the cluster asked.
    A run that wrote nothing leaves nothing behind, not even its manifest; the folder goes
    under the lock, never from under a duplicate run that takes the lock next."""
    t0 = time.perf_counter()
    folder = Path(twin.output)
    created = not folder.exists()
    frames_plan = twin.validate()
    folder.mkdir(exist_ok=True)
    try:
        ray = connect(address)
        check_nodes(ray, source_files(job.source), folder)
        try:
            _prepare(job, twin, frames_plan, progress, cancel)
            plan = plan or plan_for(twin, checked, max_frames, cancel=cancel)
        except Cancelled:  # before any frame: nothing written, no engine ran
            return _cancelled_first(job, twin, frames_plan, t0)
        return _run_locked(ray, job, twin, frames_plan, plan, progress, cancel)
    finally:
        if created:
            _drop_if_bare(folder)


def _cancelled_first(job, twin, frames_plan, t0: float):
    """A run cancelled before its chunks (tracking, finding the cuts): nothing written and no
    engine ran, but the frames of the range an earlier run of these settings landed are
    still there, and a rerun reuses them (as ``_run_locked`` and --plan count them): they
    are its ``reused`` frames, not 'nothing kept'."""
    from .job import JobResult
    from .writers import output_format

    landing = landing_for(twin, frames_plan)
    info = frames_plan.info
    kept = sorted(i for i in range(frames_plan.start, frames_plan.end + 1) if landing.written(i))
    result = JobResult(
        Path(job.output),
        cancelled=True,
        style=frames_plan.style.id,
        reused=len(kept),
        first_number=info.first_number,
    )
    if not output_format(job.format).movie:  # listed as a local run's (its summary names them)
        result.frame_files = [landing.folder / landing.name(i) for i in kept]
    result.seconds = time.perf_counter() - t0
    return result


def _drop_if_bare(folder: Path) -> None:
    """``folder`` removed where it holds nothing but a frames manifest (a run cancelled
    before any frame landed saved it), or nothing at all."""
    from .job import MANIFEST

    with contextlib.suppress(OSError):
        if folder.is_dir() and all(p.name == MANIFEST for p in folder.iterdir()):
            (folder / MANIFEST).unlink(missing_ok=True)
            folder.rmdir()


def _prepare(job, twin, frames_plan, progress, cancel) -> None:
    """The job's first pass over the whole range (``_prepare_locked``, as a local run does
    under its lock); a stabiliser's camera path goes to every chunk (through ``twin``: the
    caller's job keeps no path, which a rerun with other settings would warp by)."""
    twin._prepare_locked(frames_plan, progress, cancel)
    path = getattr(twin, "_path", None)
    if path is not None:
        twin.camera, twin.camera_start = path, twin._start
    if hasattr(twin, "kept_area"):  # as a stabilisation's run reports it
        job.kept_area, job.cuts = twin.kept_area, twin.cuts


def _check_distributable(job) -> None:
    """Jobs whose frames need the whole range first cannot be cut into independent chunks."""
    if getattr(job, "keyframes", None):
        raise RestyleError(
            "--ray cannot run a matte learned from keyframes yet: each chunk would learn it "
            "again; run it on one machine"
        )


def _run_locked(ray, job, twin, frames_plan, plan: Plan, progress, cancel):
    from .job import JobResult, _Manifest, kept_from_before
    from .writers import output_format

    folder = Path(twin.output)
    record = {
        "style": frames_plan.style.id,
        "style_name": frames_plan.style.name,
        "format": frames_plan.format.id,  # the frames' (``frames_format``: a movie's muxed later)
        "strength": job.strength,
        "temporal": job.temporal,
        # What made the frames, as a local run keeps it (``_Run._manifest_record``): a
        # refusal names the setting or job that differs, not 'an earlier Restyle'
        "made_from": twin._made_from(frames_plan),
        **twin._manifest_facts(),  # a stabiliser's cuts and kept area: a rerun skips tracking
    }
    made = decide_precision(twin, frames_plan, plan, cancel, progress)  # before the manifest
    manifest = _Manifest(folder, frames_plan.key, record, asked=twin.precision)
    if manifest.stale:  # --overwrite: chunks staged with the older settings go too
        sweep_staging(folder)
    manifest.save()
    _remove_scratch(folder)  # a killed landing's link (``_replace_with``), as a writer's
    landing = landing_for(twin, frames_plan, manifest)
    already = _finished(landing, plan)
    if already and progress:  # a resume's first frames event, as a local run's (``_Run``)
        progress(kept_from_before(len(already), plan.end - plan.start + 1, twin.stage))
    # The engine is what a chunk reports it ran on; none reported (cancelled first): unknown,
    # never the words asked for ('auto') as if they had run.
    result = JobResult(
        Path(job.output), style=frames_plan.style.id, first_number=frames_plan.info.first_number
    )
    t0 = time.perf_counter()
    reports: list[dict] = []
    try:
        run_chunks(
            ray,
            job_fields(twin),
            plan,
            landing,
            num_gpus=default_gpus(job.device),
            progress=progress,
            cancel=cancel,
            reports=reports,
            info=frames_plan.info,
            bars=_tracks_bars(twin),
            precision=made,
            landed=already,
        )
    except (Cancelled, KeyboardInterrupt):
        result.cancelled = True
    except BaseException:  # a failed chunk: its landed frames' marks are kept all the same
        _record_marks(manifest, landing, plan)
        manifest.save()
        raise
    _what_ran(result, reports)
    _engine_kept(result, manifest, frames_plan.key)
    _precision_kept(manifest, reports, frames_plan.key, twin.precision)
    _record_marks(manifest, landing, plan)
    landing = _record_replaced(manifest, landing, plan, finished=not result.cancelled)
    done = _finished(landing, plan)
    result.written, result.reused = len(done - already), len(done & already)
    result.repeated = repeated_landed(reports, done - already)
    movie = output_format(job.format).movie
    # A folder whose every frame of the range was there before: finished, as a local run's
    # (a movie muxed now from frames landed before was not: it is made by this run)
    whole = len(already) == plan.end - plan.start + 1 and not result.written
    result.finished_before = whole and not (movie or result.cancelled)
    _warn_once(result, frames_plan, plan, reports)
    if not movie:  # a movie's writer (``_mux``) says its own
        result.warnings += _files_warnings(frames_plan)
        # The frames in the range, as a local run lists them (the summary names the first
        # and last: a numbered plate's keep its numbers)
        result.frame_files = [folder / landing.name(i) for i in sorted(done)]
    # measured before the mux drops the frames landed before; said last, as a local run
    said = [] if result.cancelled else _chunks_warnings(job, landing, plan, reports)
    if not result.cancelled:
        sweep_staging(folder)
        if movie:  # the frames are muxed into it
            try:
                facts = _made_facts(job, result)
                muxed = _mux(folder, job, frames_plan, plan, progress, cancel, facts)
            except (Cancelled, KeyboardInterrupt):  # no movie; its frames kept for a rerun
                result.cancelled = True
            else:
                result.output, sound_warnings = muxed
                result.warnings += sound_warnings
    if not result.cancelled:  # (``MatteJob.run``)
        result.warnings += said
    result.seconds = time.perf_counter() - t0
    result.fps = result.written / result.seconds if result.seconds else 0.0
    return result


def repeated_landed(reports: list[dict], landed: set[int]) -> int:
    """Of the frames this run landed, how many a chunk wrote as an earlier frame's result
    (a held picture, not styled): a local run's ``JobResult.repeated``."""
    return len({i for r in reports for i in r.get("repeats", ())} & landed)


def _finished(landing: Landing, plan: Plan) -> set[int]:
    return {i for i in range(plan.start, plan.end + 1) if landing.written(i)}


def _record_replaced(manifest, landing: Landing, plan: Plan, finished: bool) -> Landing:
    """The manifest after the chunks: the older frames the run replaced are no longer stale
    (all those in the range once every chunk has finished; then the rest of the older
    settings' frames are deleted, as on one machine). Returns the landing as it now is."""
    for chunk in plan.chunks:
        staging = chunk_output_folder(landing.folder, chunk)
        for index in range(chunk.start, chunk.end + 1):
            name = landing.name(index)
            here = landing.folder / name
            if name in manifest.stale and (finished or _same_file(staging / name, here)):
                manifest.stale.discard(name)
    if finished:
        manifest.finish()
    else:
        manifest.save()
    marked = frozenset(manifest.no_lookahead)
    return dataclasses.replace(landing, stale=frozenset(manifest.stale), marked=marked)


def _record_marks(manifest, landing: Landing, plan: Plan) -> None:
    """The manifest's 'no_lookahead' after the chunks, as one run's would be: a frame this
    run landed is marked as its chunk's staging manifest marks it where that chunk ends the
    range without its lookahead (the last, no tail, the range ending mid-source), and no
    longer marked otherwise (styled again with its lookahead, or a chunk's end at a cut).
    Only a frame landed from the staging folder takes its mark (a chunk's own settings key
    holds its range: the frame itself is what ties the two); only a frame marked now, or
    marked in the last chunk's staging folder, is looked at (where links are not made, each
    is read whole: the others cannot change the record)."""
    from .job import MANIFEST, _parse_manifest, _read_bytes

    for chunk in plan.chunks:
        staging = chunk_output_folder(landing.folder, chunk)
        carried = chunk.end == plan.end and landing.end is not None
        staged: set[str] = set()
        if carried:
            record = _parse_manifest(_read_bytes(staging / MANIFEST))
            staged = set(record.get("no_lookahead") or ())
        for index in range(chunk.start, chunk.end + 1):
            name = landing.name(index)
            if name not in staged and name not in manifest.no_lookahead:
                continue  # unmarked either way: nothing to change
            if not _landed(staging / name, landing.folder / name):
                continue
            if name in staged:
                manifest.no_lookahead.add(name)
            else:
                manifest.no_lookahead.discard(name)


def _landed(src: Path, dst: Path) -> bool:
    """``dst`` is the staged frame ``src`` (linked, or copied where links are not made)."""
    if _same_file(src, dst):
        return True
    try:
        return src.stat().st_size == dst.stat().st_size and src.read_bytes() == dst.read_bytes()
    except OSError:
        return False


def _made_facts(job, result) -> dict:
    """What the muxed movie's tag keeps of this run (``writers.made_tag``, as a local run's
    ``_Run._made_facts``): the engines the chunks ran on (left out where none reported: a
    rerun that only muxed says null, as for an older movie), what made it (refusals name
    what differs) and a mapping's facts (a stabilisation's kept area and cuts)."""
    engine = {k: v for k in ("backend", "device") if (v := getattr(result, k))}
    if result.engine_marked:  # the chunks' words, still marked (``_what_ran``)
        engine["engine"] = result.engine_marked
    plan = job._current_plan() or job.validate()
    return {**engine, "made_from": job._made_from(plan), **job._manifest_facts()}


def _mux(
    folder: Path,
    job,
    frames_plan,
    plan: Plan,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    made_facts: dict | None = None,
) -> tuple[Path, list[str]]:
    """Encode the finished frames into the output movie, with the source's sound for the
    whole range (``job.audio``), then drop the frames (kept where some lie outside the
    range: a longer run's, ``job.drop_frames_within``). Returns the movie's path and the
    warnings of sound that could not be read. Reports its frames as stage ``ENCODE`` (a
    long clip's mux is minutes of work) and stops at a cancel between frames, as a local
    run's movie does: no movie (the writer removes its scratch file), and the frames stay
    for a rerun to mux (it finds every chunk done). Raises ``Cancelled`` then."""
    from .audio import audio_clip
    from .job import drop_frames_within, frame_name, movie_key
    from .media import decode_range
    from .writers import open_writer

    files = [folder / frame_name(frames_plan, i) for i in range(plan.start, plan.end + 1)]
    info = frames_plan.info
    size = (info.width, info.height)
    writer = open_writer(
        job.output,
        fmt=job.format,
        fps=info.fps,
        size=size,
        alpha=job._output_alpha(info),
        pixel_aspect=info.pixel_aspect,
        timecode=info.timecode_at(plan.start),
        overwrite=job.overwrite,
        audio=audio_clip(info, plan.start, plan.end) if job.audio else None,
        made_key=movie_key(job._current_plan() or job.validate(), job.audio),
        made_facts=made_facts,
    )
    meter = RateMeter(len(files))
    with writer:
        if progress:
            progress(dataclasses.replace(meter.update(0, ENCODE), message=ENCODING))
        for index, frame in enumerate(decode_range(files, 0, len(files) - 1)):
            if cancel is not None and cancel.cancelled:
                raise Cancelled()
            writer.write(index, frame)
            if progress:
                progress(dataclasses.replace(meter.update(index + 1, ENCODE), message=ENCODING))
    drop_frames_within(folder, {file.name for file in files})
    return Path(getattr(writer, "path", job.output)), list(getattr(writer, "warnings", []))
