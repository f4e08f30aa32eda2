"""Submit a stylisation to a Ray cluster through its Job Submission REST API (the dashboard).

The front end needs no Ray install: the cluster runs ``python -m restyle stylize ... --ray auto
--json`` on its head node, and this client polls the job's status and logs over plain HTTP
(urllib). Progress comes from the CLI's JSON events; the final JSON record becomes the same
``JobResult`` a local run returns, so Blender lands the strip exactly as after a local run.
Source, output and style library must be on a file system the cluster sees under the same paths.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import shlex
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from . import ray_auth
from .errors import BLENDER, COMMAND_LINE, PYTHON, Cancelled, RestyleError, marked, say
from .progress import CancelToken, Progress, ProgressCallback

DEFAULT_DASHBOARD_PORT = 8265
FINAL_STATES = ("SUCCEEDED", "FAILED", "STOPPED")
EVENT_PREFIX = '{"event": "progress"'
ERROR_PREFIX = '{"event": "error"'
HTTP_TIMEOUT_S = 60  # a busy head node can take many seconds to start a job
STOP_PATIENCE_S = 30.0  # Ray stops a job with SIGTERM, then SIGKILL 3 s later (its default)


def dashboard_url(address: str) -> str:
    """``host``, ``host:port`` or ``http://host:port`` as the dashboard's base URL."""
    address = address.strip().rstrip("/")
    if not address:
        raise RestyleError("give the Ray cluster's dashboard address, e.g. 10.0.0.5:8265")
    if "://" not in address:
        address = "http://" + address
    scheme, _, rest = address.partition("://")
    if scheme not in ("http", "https") or not rest or " " in rest:
        raise RestyleError(f"{address!r} is not a Ray dashboard address (host:port)")
    host = rest.split("/")[0]
    if ":" not in host.rsplit("]", 1)[-1]:
        address = f"{scheme}://{host}:{DEFAULT_DASHBOARD_PORT}"
    return address


def stylize_command(job, python: str = "python") -> list[str]:
    """The ``restyle stylize`` command line that runs ``job`` (a placed StyleJob). Paths are
    absolute: the cluster runs it from a working folder of its own."""
    if job.output is None:
        raise RestyleError("no output given")
    output = os.path.abspath(job.output)
    args = [python, "-m", "restyle", "stylize", source_argument(job.source), "-o", output]
    fmt = job.output_format_id()  # None: from the output, as the job reads it
    args += ["-s", _style_argument(job), "--start", str(job.start), "--format", fmt]
    if job.end is not None:
        args += ["--end", str(job.end)]
    args += ["--strength", repr(job.strength), "--temporal", repr(job.temporal)]
    args += ["--backend", job.backend, "--device", job.device, "--precision", job.precision]
    optional = {
        "--scale": job.scale,
        "--max-side": job.max_side,
        "--fps": job.fps,
        "--batch": job.batch_size,
    }
    for flag, value in optional.items():
        if value is not None:
            args += [flag, _fps_argument(value) if flag == "--fps" else str(value)]
    if job.carry != 1.0 and _style_kind(job) == "trained":  # others: the CLI warns of it
        args += ["--carry", repr(job.carry)]
    if job.preserve_colors:
        args.append("--preserve-colors")
    if job.lookahead is False:
        args.append("--no-lookahead")
    if job.overwrite:
        args.append("--overwrite")
    if not job.audio:
        args.append("--no-audio")
    if not job.upright:  # as this Blender shows a phone movie (compat.py): its shape, its key
        args.append("--as-stored")
    elif job.upright == "rotation" and _mirrors(job.source):  # Blender 4.4+: no mirror
        args.append("--rotation-only")
    if job.hold_lead_in and _leads_in(job.source):  # Blender's strips: the first picture held
        args.append("--hold-lead-in")
    args += _grade_options(job.strip_color)
    if job.library is not None:  # a folder or a StyleLibrary, as the job reads it
        args += ["--library", os.path.abspath(job._library().root)]
    return [*args, "--ray", "auto", "--json"]


def _style_kind(job) -> str:
    """The style's kind ('trained': painted keyframes, which only it carries)."""
    return _style(job).kind


def _style(job):
    """The style as placed (``place``'s plan: Blender's jobs have one) or resolved."""
    plan = getattr(job, "_plan", None)
    return plan.style if plan is not None else job._style_info()


def _fps_argument(fps) -> str:
    """A frame rate as --fps takes it: an exact rate as N/D (24000/1001 sent as 23.976023976…
    came back only by --fps's tolerance), any other number as its decimal. Read first by the
    job's rule (``fields.rate``), so a job not yet validated is refused as a local run
    refuses it: text ('24000/1001' was a ValueError here) and True (sent as 1.0 fps)."""
    from .fields import rate

    fps = rate("fps", fps)
    return str(fps) if isinstance(fps, Fraction | int) else repr(float(fps))


def _style_argument(job) -> str:
    """The style as the job gives it, a picture's path absolute: a relative one is found
    from this process's working folder, as a local run finds it (the cluster's is its own).
    An absolute path is passed as resolved, so the cluster keys it alike."""
    style = _style(job)
    if style.kind != "picture":
        return str(job.style)
    return str(Path.cwd() / style.picture)


def _grade_options(color) -> list[str]:
    """A graded strip's Saturation and Multiply (a Replace blend's opacity folded in) as the
    command line's options; none for an ungraded strip, so a cluster node whose Restyle has
    no grade options still runs every other job."""
    if color is None or color.identity:
        return []
    args = [
        "--saturation",
        repr(float(color.saturation)),
        "--multiply",
        repr(float(color.multiply)),
    ]
    if color.saturates_in_float:  # Blender 5.2+'s order (a node's older Restyle refuses it)
        return [*args, "--convert-to-float", "--saturate-in-float"]
    return [*args, "--convert-to-float"] if color.as_float else args


def _mirrors(source) -> bool:
    """Whether ``source`` is a movie whose display matrix mirrors it, the one case where
    reading its rotation only differs from the default: the flag goes only there, so a
    cluster node whose Restyle has no ``--rotation-only`` still runs every other job."""
    if isinstance(source, list | tuple):
        return False  # images: no display matrix
    from .media import probe

    return probe(source).mirrored


def _leads_in(source) -> bool:
    """Whether ``source`` is a movie whose stream starts before its first picture (mpeg4
    with B-frames in AVI), the one case where reading it as Blender's strips show it
    differs: the flag goes only there, so a cluster node whose Restyle has no
    ``--hold-lead-in`` still runs every other job."""
    if isinstance(source, list | tuple):
        return False  # images: no stream start
    from .media import probe

    return probe(source, hold_lead_in=True).lead_in > 0


def source_argument(source) -> str:
    """``INPUT`` for the command line: a movie or folder as an absolute path, and an image
    strip's list of files as their folder when they are its whole sequence (the list was
    written as "[PosixPath(...), ...]"); any other list is refused, naming why."""
    if not isinstance(source, list | tuple):
        return os.path.abspath(source)
    from .media import probe

    files = [Path(f).absolute() for f in source]
    folder = files[0].parent
    try:
        whole = [Path(f).absolute() for f in probe(folder).files] == files
    except RestyleError:
        whole = False
    if not whole:
        raise RestyleError(
            f"a Ray cluster reads a movie or a whole folder of frames; these {len(files)} "
            f"images are not all of {folder}'s sequence in order: render them to a folder "
            "of their own, or run on this machine"
        )
    return str(folder)


class _TokenStaysHome(urllib.request.HTTPRedirectHandler):
    """urllib's redirects, less the token where one leaves the dashboard's origin (scheme,
    host, port): urllib carries every header it was given to wherever it is sent, another
    host too (requests, Ray's client, drops Authorization there)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(new.full_url) != _origin(req.full_url):
            new.remove_header("Authorization")
        return new


_OPENER = urllib.request.build_opener(_TokenStaysHome)


def _request(url: str, data: dict | None = None, method: str | None = None) -> dict:
    """One call to the dashboard. Its token goes as Ray 2.60's JobSubmissionClient sends it
    (``Authorization: Bearer``, found by ``ray_auth.find_token``) and only where it does:
    where RAY_AUTH_MODE is token, never else, nor past a redirect to another origin
    (``_TokenStaysHome``). A dashboard that asks for one (401) without it says to set
    RAY_AUTH_MODE=token (``_token_words``)."""
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method=method or ("POST" if body else "GET"))
    request.add_header("Content-Type", "application/json")
    origin = _origin(url)
    sent, source = ray_auth.find_token() if ray_auth.mode() == "token" else (None, "")
    if sent is not None:
        request.add_header("Authorization", f"Bearer {sent}")
    try:
        with _OPENER.open(request, timeout=HTTP_TIMEOUT_S) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace").strip().splitlines()
        where = _origin(exc.geturl() or url)
        if exc.code in (401, 403) and where != origin:  # a redirect's host: it got no token
            raise RestyleError(_redirected_words(origin, where, exc.code, detail[-1:])) from None
        if (exc.code == 401 and sent is None) or (exc.code in (401, 403) and sent is not None):
            raise RestyleError(_token_words(origin, sent, source, detail[-1:])) from None
        raise RestyleError(f"the Ray cluster refused {url}: {exc.code} {detail[-1:]}") from None
    except (http.client.HTTPException, json.JSONDecodeError) as exc:  # not HTTP, not JSON
        raise RestyleError(
            f"{origin} does not answer as a Ray dashboard ({type(exc).__name__}): give the "
            f"dashboard's address, host:{DEFAULT_DASHBOARD_PORT} unless set otherwise (not "
            "the head's GCS port, 6379 by default, which Ray's own clients join)"
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        hint = (  # a refused or unknown address: most often no cluster there yet
            ""
            if isinstance(exc, ValueError)
            else "; is a cluster running there? Start one with 'ray start --head' and give "
            f"its dashboard's host:port (port {DEFAULT_DASHBOARD_PORT} unless set otherwise)"
        )
        raise RestyleError(f"cannot reach the Ray dashboard at {url}: {reason}{hint}") from None


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _redirected_words(origin: str, where: str, code: int, detail: list[str]) -> str:
    """A dashboard that redirected to another origin, which refused the request (401, 403):
    that host was sent no token (``_TokenStaysHome``), so neither the token nor where Ray
    looks for it is in question there."""
    said = f": {detail[0]}" if detail else ""
    return (
        f"the Ray dashboard at {origin} redirected to {where}, another origin, which gets no "
        f"token and refused the request ({code}{said}): where that is the dashboard, give "
        "its address, and the token goes there"
    )


def _token_words(origin: str, sent: str | None, source: str, detail: list[str]) -> str:
    """A dashboard that asks for a token (token authentication) and did not get it, or
    refused the one sent: what was sent, and where Ray looks (``ray_auth.advice``); with
    RAY_AUTH_MODE not token, to set it (``ray_auth.set_the_mode``), as the command line
    says of a head that asks."""
    said = f" ({detail[0]})" if detail else ""
    if sent is not None:
        return (
            f"the Ray dashboard at {origin} refused the token from {source}{said}: "
            f"put {ray_auth.advice()}"
        )
    asks = f"the Ray dashboard at {origin} asks for a token (token authentication){said}"
    if ray_auth.mode() != "token":
        return f"{asks}: {ray_auth.set_the_mode()}"
    return f"{asks}; none found on this machine ({source}): put {ray_auth.advice()}"


def _submit(base: str, job: dict, patience_s: float = 60.0) -> dict:
    """POST the job; a cluster that has just started answers 'try again later' for a while."""
    deadline = time.monotonic() + patience_s
    while True:
        try:
            return _request(f"{base}/api/jobs/", job)
        except RestyleError as exc:
            if "try again later" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(1.0)


# What a node's driver called its frames' stage before it said the job's own (a node's
# Restyle older than that): read as the job's stage, so Blender fills the bar as for a local run.
OLD_RAY_STAGE = "ray"


def progress_from_logs(logs: str, stage: str = "stylize") -> Progress | None:
    """The latest progress event the CLI printed, if any, as a local run reports it: its
    ``stage`` (``setup``, the job's own, a stabiliser's ``track``...) and message as the node
    said them, and the ETA a local run's meter gives from the same rate. ``stage``: the
    job's, for an event that names none or the old ``ray``."""
    for line in reversed(logs.splitlines()):
        if line.startswith(EVENT_PREFIX):
            try:
                event = json.loads(line)
                done, total = int(event["done"]), int(event["total"])
                fps = float(event.get("fps") or 0.0)
                eta = _seconds_left(event.get("eta_s"), done, total, fps)
                fps = fps or float(event.get("iterations_per_second") or 0.0)  # training's
            except (ValueError, KeyError, TypeError):
                continue
            said = event.get("stage")
            said = said if isinstance(said, str) and said not in ("", OLD_RAY_STAGE) else stage
            message = event.get("message")
            message = message if isinstance(message, str) else ""
            return Progress(done, total, fps, eta, stage=said, message=message)
    return None


def _seconds_left(said, done: int, total: int, rate: float) -> float | None:
    """The event's own ``eta_s``; else from its frames' rate (a node's Restyle from before
    ``eta_s``: its training events, counting seconds at iterations/s, give none)."""
    if isinstance(said, int | float) and not isinstance(said, bool) and 0 <= said < 1e9:
        return float(said)
    return (total - done) / rate if rate > 0 else None


def final_record(logs: str) -> dict | None:
    """The CLI's closing JSON record (the last JSON line that is not an event)."""
    for line in reversed(logs.splitlines()):
        if line.startswith("{") and not line.startswith(('{"event": ', EVENT_PREFIX)):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def error_from_logs(logs: str) -> str | None:
    """The error the CLI said in its --json error event, its settings still marked
    (``errors.setting``) for the front end that shows it to word; None where there is none
    (a node's Restyle older than the event) or it names a setting this Restyle cannot word
    (a newer node's)."""
    for line in reversed(logs.splitlines()):
        if line.startswith(ERROR_PREFIX):
            try:
                event = json.loads(line)
            except ValueError:
                return None
            return sayable(event.get("neutral"), event.get("error"))
    return None


def sayable(neutral, said) -> str | None:
    """``neutral`` (``errors.plain``'s printable marks) marked again for each front end to
    say (``errors.marked``); None where it is not text, names a setting this Restyle cannot
    word (a newer node's), or does not say ``said`` on the command line (a '{{' of its own)."""
    if not isinstance(neutral, str):
        return None
    text = marked(neutral)
    try:
        for front_end in (COMMAND_LINE, PYTHON, BLENDER):
            say(text, front_end)
    except (ValueError, KeyError, TypeError):
        return None
    return text if say(text, COMMAND_LINE) == said else None


# What a node's closing record says of its run beyond the counts (``cli._report_run``'s
# fields, from its ``run_on_ray`` result), kept in the submission's ``JobResult`` as it said
# them; one an older node's record lacks, or says null (unknown), keeps the result's default.
# Its "damaged" frames are the result's ``held``.
NODE_FACTS = ("repeated", "backend", "device", "finished_before", "first_number", "warnings")


def node_said(result, record: dict, plan=None) -> None:
    """``result`` (the submission's) with what the node's ``record`` says of its run: the
    frames written as an earlier frame's result, the engine and its line (its settings
    marked for each front end to word, from ``engine_neutral``; an older node's: the command
    line's words), the warnings, the source frames they name and which of them are those
    frames' (``_frame_warned``; ``plan``, the job's, for an older node's), and finished
    before."""
    for name in NODE_FACTS:
        if record.get(name) is not None:
            setattr(result, name, record[name])
    if isinstance(record.get("engine"), str):
        neutral = sayable(record.get("engine_neutral"), record["engine"])
        result.set_engine(record["engine"] if neutral is None else neutral)
    with contextlib.suppress(TypeError, ValueError):  # a record this Restyle cannot read
        result.held, result.retimed = _warned_frames(record)
    result.frame_warned = _frame_warned(result, record, plan)


def _frame_warned(result, record: dict, plan) -> list[str]:
    """Which of the node's warnings are its frames' (``JobResult.frame_warned``, for Blender
    to word in scene frames whatever the node's words): those its record lists
    ("frame_warnings"); an older node's record lists none: those worded as this Restyle
    words them from ``plan`` (``job.frame_warnings``), other words kept as the node's."""
    warnings = result.warnings if isinstance(result.warnings, list) else []
    listed = record.get("frame_warnings")
    if isinstance(listed, list):
        return [words for words in listed if isinstance(words, str) and words in warnings]
    if plan is None or not warnings:
        return []
    from .job import frame_warnings

    ours = frame_warnings(plan, result.held, result.retimed, result.written)
    return [words for words in warnings if words in ours]


def _warned_frames(record: dict) -> tuple[list[int], list[tuple[int, bool]]]:
    """The source frames the record's warnings name (``cli._front_end_facts``): those not
    decoded cleanly, and a variable rate's (frame, dropped) retiming, as a local run's
    ``JobResult`` keeps them (``held``, ``retimed``) for Blender to name scene frames."""
    held = [int(i) for i in record.get("damaged") or []]
    return held, [(int(i), bool(dropped)) for i, dropped in record.get("retimed") or []]


@dataclass
class RaySubmission:
    """Runs like a ``StyleJob`` (``run(progress=, cancel=)``), but on a Ray cluster."""

    job: object  # a StyleJob with its output placed
    address: str
    python: str = "python"
    poll_s: float = 1.0

    def __post_init__(self) -> None:
        stylize_command(self.job, self.python)  # a source the command cannot take: now

    def run(self, progress: ProgressCallback | None = None, cancel: CancelToken | None = None):
        base = dashboard_url(self.address)
        _request(f"{base}/api/version")  # unreachable: fail before submitting anything
        submission = f"restyle-{secrets.token_hex(6)}"
        entrypoint = shlex.join(stylize_command(self.job, self.python))
        # Before submitting: a node starting at once may land frames while it is answered
        # (those are written by this run, not reused)
        before = set(self._finished_frames())
        _submit(base, {"entrypoint": entrypoint, "submission_id": submission})
        t0 = time.perf_counter()
        try:
            status, logs = self._wait(base, submission, progress, cancel)
        except Cancelled:  # as a local run: a cancelled result, its finished frames kept
            return self._cancelled(before, time.perf_counter() - t0)
        return self._result(status, logs, time.perf_counter() - t0, before)

    def _wait(self, base, submission, progress, cancel) -> tuple[str, str]:
        url = f"{base}/api/jobs/{submission}"
        while True:
            status = _request(url).get("status", "PENDING")
            logs = _request(f"{url}/logs").get("logs", "")
            event = progress_from_logs(logs, getattr(self.job, "stage", "stylize"))
            if progress and event is not None:
                progress(event)
            if status in FINAL_STATES:
                return status, logs
            if cancel is not None and cancel.cancelled:
                _request(f"{url}/stop", {}, method="POST")
                self._wait_stopped(url)
                raise Cancelled()
            time.sleep(self.poll_s)

    def _wait_stopped(self, url: str) -> None:
        """Until the stopped job has ended (its node writes nothing more), within reason."""
        deadline = time.monotonic() + STOP_PATIENCE_S
        while _request(url).get("status") not in FINAL_STATES and time.monotonic() < deadline:
            time.sleep(self.poll_s)

    def _finished_frames(self) -> list[Path]:
        """The job's frames of the range kept in its output now (a movie's: in its hidden
        frames folder, muxed once all are there), by local runs' one rule (``Landing.
        written``: ``job.frame_kept``; not empty, not of older settings, kept as far as the
        lookahead goes), so counted as the command line counts them (written + reused)."""
        plan = getattr(self.job, "_plan", None)  # ``place``'s: Blender's jobs have one
        if plan is None or plan.output is None:
            return []
        try:
            landing = self._landing(plan)
        except RestyleError:  # frames of other settings there: none kept (the node refuses)
            return []
        frames = range(plan.start, plan.end + 1)
        return [landing.folder / landing.name(i) for i in frames if landing.written(i)]

    def _landing(self, plan):
        """Where the cluster's run lands the frames and what it keeps there: the landing
        ``ray_runner.run_on_ray`` builds (``landing_for``), of its twin placed as the node
        places it (an earlier Restyle's folder keeps its settings key)."""
        from .ray_runner import frames_twin, landing_for

        twin = frames_twin(self.job, plan)
        return landing_for(twin, twin.validate())

    def _cancelled(self, before: set[Path], seconds: float):
        """The result of a run cancelled on the cluster: what a local run's cancel returns,
        the frames in the output counted as written (new) or reused (there before)."""
        from .job import JobResult

        plan = getattr(self.job, "_plan", None)
        output = plan.output if plan is not None else Path(os.path.abspath(self.job.output))
        frames = self._finished_frames()
        style = plan.style.id if plan is not None else ""
        result = JobResult(output, seconds=seconds, cancelled=True, style=style)
        if plan is None or not plan.format.movie:  # a movie's wait in its frames folder
            result.frame_files = frames
        result.reused = len(before.intersection(frames))
        result.written = len(frames) - result.reused
        result.fps = result.written / seconds if seconds else 0.0
        return result

    def _result(self, status: str, logs: str, seconds: float, before: set[Path] | None = None):
        from .job import JobResult

        record = final_record(logs)
        cancelled = bool(record and record.get("cancelled"))  # stopped from outside: 143
        # Ray says STOPPED only once its stop was asked for (Restyle's Esc, ray job stop, the
        # dashboard; a crash or another's SIGTERM is FAILED): stopped in its start-up, before
        # it handled SIGTERM, the command died with no record. The short {"cancelled": true}
        # of a run stopped before it knew its job names no output: both as Esc's cancel.
        if (status == "STOPPED" and record is None) or (cancelled and "output" not in record):
            return self._cancelled(before or set(), seconds)
        if (status != "SUCCEEDED" and not cancelled) or record is None:
            why = error_from_logs(logs)  # each front end words its settings itself
            if why is None:  # an older node: its command line's words, as it said them
                lines = [line for line in logs.strip().splitlines() if not line.startswith("{")]
                errors = [line for line in lines if line.startswith("restyle: error:")]
                why = errors[-1] if errors else (lines or [status])[-1]
            raise RestyleError(f"the Ray job {status.lower()}: {why}")
        out = Path(record["output"])
        result = JobResult(
            out,
            written=record["written"],
            reused=record["reused"],
            seconds=seconds,
            cancelled=cancelled,
            style=record["style"],
        )
        result.fps = result.written / seconds if seconds else 0.0
        node_said(result, record, getattr(self.job, "_plan", None))  # ``place``'s
        if out.is_dir():  # the range's frames kept there, as a local run lists them
            result.frame_files = self._finished_frames()
        return result
