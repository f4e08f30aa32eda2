"""The ``restyle`` command: the core's features for terminals and pipeline scripts.

Exit code 0 on success; on bad input a one-line ``restyle: error: ...`` on stderr and exit
code 2 (1 for an unexpected failure, 3 when a cut-short source lacks frames a run to its end
asked for, 130 when cancelled with Ctrl-C, 143 with SIGTERM).
"""

from __future__ import annotations

# First of all: Ctrl-C or SIGTERM from here on exits cleanly, saying what was stopped (a stop
# in the imports below printed a KeyboardInterrupt traceback)
from . import interrupt

# isort: split
import argparse
import contextlib
import json
import os
import re
import signal
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, NoReturn

from .errors import COMMAND_LINE, Cancelled, RestyleError
from .formats import SHEET_SUFFIXES  # a table without numpy or PyAV
from .progress import TRAINING, TWO_PASS_STEPS, CancelToken, Progress
from .words import count as _count

if TYPE_CHECKING:  # imported where used: numpy and the engines took ~0.4 s (1 s at load 12)
    # before main() could say a --json run's stop in its closing record
    from fractions import Fraction

    from .strip_frames import StripColor
    from .styles import StyleLibrary

EXIT_BAD_INPUT = 2
EXIT_CUT_SHORT = 3  # finished, but a cut-short source lacks frames its range asked for
EXIT_CANCELLED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as other Unix tools whose reader stopped early
# px: a contact-sheet tile the network can still style, and six of the widest fit in a WebP
# (OpenCV 4.11 wrote no WebP 16384 px wide, no JPEG 65536; 12000 was a MemoryError traceback
# under an 8 GB limit)
TILE_WIDTHS = (16, 2048)

# What a farm's script reads from a run (docs/cli.md#exit-codes-and-errors), in --help
EXIT_CODES = f"""exit codes:
  0    done (a rerun of a finished output too)
  {EXIT_BAD_INPUT}    bad input, or a write error: one 'restyle: error: ...' line, nothing changed
       but frames finished before a write error
  {EXIT_CUT_SHORT}    a run to the end of a cut-short movie: what decodes is made and kept
  {EXIT_CANCELLED}  Ctrl-C, 143 SIGTERM: finished frames kept, a rerun resumes
"""

TRAIN_EXAMPLES = """examples:
  restyle train clip.mp4 -k 0=painted_0000.png -k 48=painted_0048.png -n my-look
  restyle train shot/frame_%04d.png -k 10=key_10.png -n ink-look --time-budget 120 --overwrite
  restyle stylize clip.mp4 -o styled.mp4 -s my-look
"""

SHOTS_EXAMPLES = """examples:
  restyle shots clip.mp4
  restyle shots clip.mp4 --start 100 --end 499 --json
"""

MATTE_EXAMPLES = """Without --replace the output holds alpha: use png, tif, ffv1 or prores.

examples:
  restyle matte clip.mp4 -o people/
  restyle matte clip.mp4 -o green.mp4 --replace '#00b140'
  restyle matte clip.mp4 -o beach.mp4 --replace beach.jpg -k 0=mask_0000.png
"""

STABILIZE_EXAMPLES = """examples:
  restyle stabilize shaky.mp4 -o steady.mp4
  restyle stabilize shaky.mp4 -o steady.mp4 --tripod --crop 0.2 --start 0 --end 239
"""

STYLIZE_EXAMPLES = """examples:
  restyle stylize clip.mp4 -o styled.mp4 -s starry-swirls
  restyle stylize clip.mp4 -o frames/ -s 'starry-swirls:0.7,comic-ink:0.3' --start 0 --end 99
  restyle stylize shot/frame_%04d.png -o out/ -s painting.jpg --strength 0.6 --max-side 1280
"""


def _device(text: str) -> str:
    """--device: a device's word in any case ('CUDA' is cuda), spelt as the Python API's
    device is (``device_words.device_refusal``, the one rule)."""
    from .device_words import device_refusal

    word, colon, number = text.strip().partition(":")
    device = word.lower() + colon + number
    if (why := device_refusal(device, said=f"'{text}'")) is not None:
        raise argparse.ArgumentTypeError(why)
    return device


def _torch_device(text: str) -> str:
    """train's --device: a device PyTorch runs on (training is PyTorch's). Untyped, 'cuda:x'
    reached the trainer; `_device` alone takes ONNX Runtime's too ('dml', 'tensorrt')."""
    from .device_words import GPU_NUMBER, device_words
    from .engines.choices import TORCH_DEVICES

    with contextlib.suppress(argparse.ArgumentTypeError):
        device = _device(text)
        if device.partition(":")[0] in TORCH_DEVICES:
            return device
    usable = device_words(TORCH_DEVICES)
    raise argparse.ArgumentTypeError(
        f"'{text}' is not a device PyTorch trains on: use {usable} ({GPU_NUMBER})"
    )


class _Rate(NamedTuple):
    """--fps as read (``value``) and as typed (``typed``: a refusal says '--fps 1e-6', which
    the job's rounding to 1001ths said as '--fps 0')."""

    value: float | Fraction
    typed: str


def _frames_per_second(text: str) -> _Rate:
    """--fps: frames/s as a number (25, 23.976: the job takes 23.976 for 24000/1001) or a
    fraction N/D (24000/1001, as Blender and ffmpeg write it; argparse's float refused it)."""
    from fractions import Fraction

    try:
        return _Rate(Fraction(text.strip()) if "/" in text else float(text), text.strip())
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a frame rate: give frames/s, e.g. 25, 23.976 or 24000/1001"
        ) from None


def version() -> str:
    """The extension manifest's version (the one both the add-on and the package carry)."""
    import tomllib

    manifest = Path(__file__).resolve().parent.parent / "blender_manifest.toml"
    try:
        return tomllib.loads(manifest.read_text(encoding="utf-8"))["version"]
    except (OSError, KeyError, ValueError):
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as package_version

        try:
            return package_version("restyle")
        except PackageNotFoundError:
            return "unknown"


def _library(args: argparse.Namespace) -> StyleLibrary:
    from .styles import StyleLibrary

    return StyleLibrary(args.library)


def _emit(args: argparse.Namespace, record: dict, text: str) -> None:
    if args.json:
        print(json.dumps(record, default=str))
        args.closed = True  # a Ctrl-C or SIGTERM after this adds no second record
    elif not args.quiet:
        print(text)


# -- styles --------------------------------------------------------------------------------
def cmd_styles(args: argparse.Namespace) -> int:
    library = _library(args)
    action = args.action or "list"
    if action != "list":
        return _manage_style(args, library, action)
    if args.names:  # 'styles list foo' listed every style and exited 0
        raise RestyleError(
            f"styles list takes no names (got '{args.names[0]}'); usage: restyle styles"
        )
    if args.quiet and not args.json:  # -q hides the list (as shots: --json's list still comes)
        raise RestyleError("-q would hide the list; use --json for a list to read in a script")
    styles = library.list()
    for folder in library.stray_folders():  # trained() skips them: said, on stderr as warnings
        # 'restyle: warning:', as every other warning (a script greps stderr for it)
        print(f"restyle: warning: {library.stray_warning(folder)}", file=sys.stderr)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": s.id,
                        "name": s.name,
                        "kind": s.kind,
                        "thumbnail": str(s.thumbnail) if s.thumbnail else None,
                        "description": s.description,
                    }
                    for s in styles
                ]
            )
        )  # one line, as every record
        return 0
    width = max(len(s.id) for s in styles)
    for s in styles:  # a trained style's description says it is one
        print(f"{s.id:<{width}}  {s.description}")
    print(
        "\nAny picture file also works as --style, and built-ins mix with weights: "
        "-s 'starry-swirls:0.7,comic-ink:0.3'."
    )
    return 0


def _manage_style(args: argparse.Namespace, library: StyleLibrary, action: str) -> int:
    names = args.names
    need = {"rename": 2, "delete": 1, "pack": 2, "install": 1}[action]
    if len(names) != need:
        raise RestyleError(
            {
                "rename": "usage: restyle styles rename NAME NEW_NAME",
                "delete": "usage: restyle styles delete NAME",
                "pack": "usage: restyle styles pack NAME FILE",
                "install": "usage: restyle styles install FILE_OR_FOLDER",
            }[action]
        )
    if action == "rename":
        folder = library.rename(names[0], names[1])
        _emit(
            args,
            {"renamed": names[0], "to": names[1], "folder": str(folder)},
            f"renamed '{names[0]}' to '{names[1]}'",
        )
    elif action == "delete":
        if (stray := library.delete(names[0])) is None:
            _emit(args, {"deleted": names[0]}, f"deleted style '{names[0]}'")
        else:  # a folder that was no style: not said as one deleted
            record = {"deleted": names[0], "stray": True, "folder": str(stray)}
            _emit(args, record, f"removed the stray folder {stray} (not a style)")
    elif action == "pack":
        path = library.pack(names[0], Path(names[1]), overwrite=args.overwrite)
        record = {"packed": names[0], "output": str(path), "file": str(path)}  # file: before
        _emit(args, record, f"packed '{names[0]}' into {path}")  # output, as export-onnx's
    else:
        from .style_install import install

        info = install(library, Path(names[0]), overwrite=args.overwrite)
        record = {"installed": info.name, "folder": str(info.folder)}  # as rename's
        _emit(args, record, f"installed style '{info.name}' in {info.folder}")
    return 0


# -- train ---------------------------------------------------------------------------------
def _parse_keyframe(text: str, what: str = "STYLED_IMAGE") -> tuple[int, Path]:
    frame, sep, path = text.partition("=")
    if sep and frame.startswith("-") and frame[1:].isdigit():  # as --start/--frame say it
        raise RestyleError(f"frames are 0-based: --keyframe '{text}' names frame {frame}")
    if not sep or not frame.strip().isdigit() or not path:
        raise RestyleError(f"bad --keyframe '{text}': use FRAME={what}, e.g. 12=paint/0012.png")
    return int(frame), Path(path).expanduser()


def _keyframes(texts: Sequence[str], what: str = "STYLED_IMAGE") -> dict[int, Path]:
    """``-k FRAME=PATH`` options as a dict; a frame given twice is refused, not replaced."""
    keyframes: dict[int, Path] = {}
    for text in texts:
        frame, path = _parse_keyframe(text, what)
        if frame in keyframes:  # which one: '-k 5=a.png -k 5=b.png' named neither
            raise RestyleError(
                f"keyframe {frame} is given twice (-k {frame}={keyframes[frame]}, "
                f"-k {frame}={path}): each keyframe may be given once"
            )
        keyframes[frame] = path
    return keyframes


# What train's first event says (stage 'setup'), before PyTorch's import: 27-47 s of
# nothing on a loaded 2-core machine, where stylize said its setup
TRAIN_SETUP = "loading PyTorch, reading the keyframes"


def cmd_train(args: argparse.Namespace) -> int:
    from .engines import torch_available

    if not torch_available():
        raise RestyleError("training needs PyTorch: pip install torch==2.13.0")
    keyframes = _keyframes(args.keyframe)
    sink = _progress_sink(args)  # said before the import (Ctrl-C there: KeyboardInterrupt)
    try:
        sink(Progress(0, 1, stage="setup", message=TRAIN_SETUP))
        from .train.keyframes import train_from_keyframes
        from .train.trainer import TrainConfig

        budget = _time_budget(args, TrainConfig.time_budget_s, "time_budget")
    except BaseException:
        sink.close()
        raise
    config = TrainConfig(seed=args.seed, time_budget_s=budget, device=args.device)
    warnings: list[str] = []  # said at once (a long run can be stopped); --json: in its record

    def warn(text: str) -> None:  # on stderr with --json too, as stylize's (README)
        warnings.append(text)
        sink.write(f"restyle: warning: {text}")  # above a terminal's bar, not into it

    try:
        with _interactive(args, sink) as (bar, cancel):
            folder = train_from_keyframes(
                args.source,
                keyframes,
                args.name,
                _library(args),
                config=config,
                overwrite=args.overwrite,
                progress=bar,
                cancel=cancel,
                hold_lead_in=args.hold_lead_in,
                warn=warn,
                front_end=COMMAND_LINE,  # its warnings name --overwrite
            )
    except Cancelled as exc:  # before the first checkpoint: no style written
        record = {"name": args.name, "folder": None, "cancelled": True, "saved": False}
        record["warnings"] = warnings
        _emit(args, record, f"restyle: {exc.said(COMMAND_LINE)}")
        return args.cancel_code
    from .styles import META_FILE

    meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    figures = meta.get("training", {})
    cancelled = figures.get("stopped_because") == "cancelled"
    name, seconds, iterations = meta["name"], figures.get("seconds", 0), figures.get("iterations")
    record = {"name": name, "folder": str(folder), "training": figures, "cancelled": cancelled}
    record["warnings"] = warnings
    if not cancelled:
        _emit(
            args,
            {**record, "saved": True},
            f"trained style '{name}' in {seconds:.0f} s ({_count(iterations, 'iteration')}, "
            f"stopped: {figures.get('stopped_because')}); "
            f"use it with: restyle stylize INPUT -o OUT -s '{name}'",
        )
        return 0
    # README: Ctrl-C exits 130; past the first checkpoint the best weights are saved, and
    # the line says the style is cut short rather than trained.
    _emit(
        args,
        {**record, "saved": True},
        f"cancelled after {seconds:.0f} s ({_count(iterations, 'iteration')}): the style is "
        "cut short; "
        f"its best weights so far are saved as '{name}' (train again with --overwrite to "
        "finish it)",
    )
    return args.cancel_code


# -- setup ---------------------------------------------------------------------------------
def cmd_setup(args: argparse.Namespace) -> int:
    from .builtins import install_builtins

    dest = Path(args.bundle) if args.bundle else _library(args).builtin_dir
    log = (lambda m: None) if args.quiet or args.json else (lambda m: print(m, file=sys.stderr))
    install_builtins(dest, force=args.force, log=log)
    from .mappings.matte_model import install_matte

    install_matte(dest, force=args.force, log=log)
    _emit(args, {"builtin": str(dest)}, f"built-in styles and the matte network ready in {dest}")
    return 0


# -- stylize -------------------------------------------------------------------------------
class _Bar:
    """tqdm on a terminal; silent for --quiet/--json or when stderr is not a terminal.

    The rate and ETA are the job's own (a time window over finished frames): tqdm's would
    divide the frames already done at the first update (reused on resume, or a whole batch)
    by the microseconds since the bar appeared.

    ``steps``: a two-pass job's stages and how its bar names each ('step 1 of 2, tracking'),
    as the sidebar's does: each pass counts from 0 to 100 %, and a bar that restarted unsaid
    read as the run starting over. Training's bar counts seconds of its budget ('16/20 s').
    """

    FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]"

    def __init__(self, enabled: bool, steps: dict[str, str] | None = None) -> None:
        self.bar = None
        self.enabled = enabled
        self.steps = steps or {}

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        desc = self.steps.get(p.stage, p.stage)
        if self.bar is None or self.bar.total != p.total or self.bar.desc != desc:
            from tqdm import tqdm

            self.close()
            self.bar = tqdm(
                total=p.total,
                unit="frame",
                dynamic_ncols=True,
                desc=desc,
                bar_format=self.FORMAT.replace("{total_fmt}", "{total_fmt} s")
                if p.stage == TRAINING
                else self.FORMAT,
            )
        self.bar.n = p.done
        # before the rate: what the run does ('building the network', 'N frames kept')
        self.bar.set_postfix_str(_rate_text(p) or p.message, refresh=False)
        self.bar.refresh()

    def write(self, text: str) -> None:
        """A line on stderr during the run (a warning): above the bar, which stays whole (a
        print ran into it: '...[00:00, saving and checking the style]restyle: warning:')."""
        if self.bar is None:
            print(text, file=sys.stderr, flush=True)
        else:
            self.bar.write(text, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _step_names(job: str) -> dict[str, str]:
    """A two-pass job's passes (``progress.TWO_PASS_STEPS``), as its bar names them
    ('step 1 of 2, tracking': ``_Bar``'s steps)."""
    return {
        stage: f"step {step.number} of {step.count}, {step.doing}"
        for stage, step in TWO_PASS_STEPS[job].items()
    }


STABILIZE_STEPS = _step_names("stabilize")
MATTE_KEYFRAME_STEPS = _step_names("keyframed matte")


# What the time before a run's first frame went on, as its summary names it: a setup
# event's message (the style's conversion is once per Restyle home), a first pass's stage
BEFORE_FIRST_FRAME = {"converting styles": "converting the styles, once"}
FIRST_PASSES = ("setup", "track", TRAINING)


class _Told:
    """The progress sink, noting what the run said before its first frame (``args.told``:
    the setup events' messages, a first pass's) for the summary's time before it."""

    def __init__(self, sink, args: argparse.Namespace) -> None:
        self.sink, self.told = sink, []
        args.told = self.told

    def write(self, text: str) -> None:
        self.sink.write(text)

    def __call__(self, p: Progress) -> None:
        if p.stage in FIRST_PASSES:
            said = (p.message or p.stage).rstrip(".…")
            said = BEFORE_FIRST_FRAME.get(said, said[:1].lower() + said[1:])
            if said not in self.told:
                self.told.append(said)
        self.sink(p)

    def close(self) -> None:
        self.sink.close()


def _before_first_frame(args: argparse.Namespace, result) -> tuple[float, float] | None:
    """The command's whole time so far and the part of it not in the run's ``seconds``
    (Python's imports, the style's conversion, the network's build, its precision check, a
    first pass); None where the command's start is not known (a summary made by hand)."""
    started = getattr(args, "started", None)
    if started is None:
        return None
    total = time.perf_counter() - started
    return total, max(0.0, total - result.seconds)


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"


def _progress_sink(args: argparse.Namespace, steps: dict[str, str] | None = None):
    """--json's progress events, else a bar on a terminal; -q ("nothing but warnings and
    errors") shows neither (--json's record and error events still come). ``steps``: a
    two-pass job's (``_Bar``)."""
    if args.json and not args.quiet:
        return _JsonEvents()
    return _Bar(not (args.quiet or args.json) and sys.stderr.isatty(), steps)


# What a stage's ``Progress.fps`` counts each second, as --json's progress event names it and
# as the bar says it: frames, but training's iterations (train's, a matte's keyframes'; its
# events said "fps": 4.1 and its bar "4.10 frames/s" for 4.1 iterations/s)
RATES = {TRAINING: ("iterations_per_second", "iterations/s")}
FRAME_RATE = ("fps", "frames/s")


def _rate_text(p: Progress) -> str:
    """``2.41 frames/s, 0:37 left`` once the job can estimate it, else nothing."""
    if not p.fps:
        return ""
    text = f"{p.fps:.2f} {RATES.get(p.stage, FRAME_RATE)[1]}"
    if p.eta_s is not None:
        minutes, seconds = divmod(round(p.eta_s), 60)
        text += f", {minutes}:{seconds:02d} left"
    return text


@contextlib.contextmanager
def _interactive(
    args: argparse.Namespace, sink=None, steps: dict[str, str] | None = None
) -> Iterator[tuple[_Bar, CancelToken]]:
    """A progress bar on a terminal, and Ctrl-C or SIGTERM (Ray's stop, a farm scheduler's,
    ``kill``'s) as a cancel request, for one run: finished frames kept, the exit code the
    signal's (``args.cancel_code``: 130 or 143). Main thread only (``interrupt.handling``):
    main() from a script's thread sets no handler. ``sink``: the progress sink a command
    made before (train's, for its setup event), else a new one (``steps``: a two-pass
    job's, ``_Bar``)."""
    cancel = CancelToken()
    args.cancel_code = EXIT_CANCELLED

    def terminated(*_: object) -> None:
        args.cancel_code = interrupt.EXIT_TERMINATED
        cancel.cancel()

    bar = _Told(sink or _progress_sink(args, steps), args)
    try:
        with (
            interrupt.handling(signal.SIGINT, lambda *_: cancel.cancel()),
            interrupt.handling(signal.SIGTERM, terminated),
        ):
            yield bar, cancel
    finally:
        bar.close()


def _report_run(
    args: argparse.Namespace,
    result,
    fmt: str,
    verb: str,
    record: dict,
    extra: str = "",
    engine: bool = True,
) -> int:
    """Print a frame job's result (one line, or --json), its warnings; return the exit code.

    ``verb`` is the job's ``done_word``; ``record`` adds the job's own fields to the common
    ones; ``extra`` ends the line.
    """
    from .stylizer import NO_NETWORK
    from .writers import output_format

    timing = _before_first_frame(args, result)
    known = engine and result.backend and result.device  # a cancelled Ray run may not know
    # Strength 0 (a built-in style): no frame styled, each written as its source; it said
    # '2 frames styled in 0.2 s (10.38 frames/s, none on cpu)'
    sources = engine and result.backend == NO_NETWORK.backend
    on = f"{result.backend} on {result.device}" if known and not sources else ""
    rate = "" if result.written == 1 else f"{result.fps:.2f} frames/s"  # one: its time says it
    said = ", ".join(part for part in (rate, on) if part)
    text = (
        f"{result.output}: {_count(result.written - result.repeated, 'frame')} "
        + ("written" if sources else verb)
        + (f", {result.repeated} repeated" if result.repeated else "")  # a held picture's
        + (f", {result.reused} reused" if result.reused else "")
        + f" in {result.seconds:.1f} s"
        + (f" ({said})" if said else "")
        + _setup_said(args, timing)
        + ("; no network ran: at strength 0 every frame is its source" if sources else "")
        + extra
    )
    if result.finished_before:  # a rerun into the output these settings finished (a farm's
        text = (  # retry); not a Ray rerun that muxed the movie from frames landed before
            f"{result.output}: already finished with these settings "
            f"({_count(result.reused, 'frame')} reused); nothing rewritten"
        )
        if getattr(args, "overwrite", False):  # --overwrite keeps a finished movie (66b735b)
            made = "the movie" if output_format(fmt).movie else "its frames"
            text += f", even with --overwrite (delete {made} to make it again)"
    files = result.frame_files
    if getattr(result, "first_number", None) and files:  # plate.1001.png's frame 0: 001001.png
        text += f"\nframes named by the source's numbers: {files[0].name} .. {files[-1].name}"
    if result.cancelled:
        text = _cancelled_text(args, result, output_format(fmt).movie, text)
    warnings = [*result.warnings, *_precision_warnings(args, result)]
    for warning in warnings:
        if warning not in getattr(args, "warned_at_start", ()):
            print(f"restyle: warning: {warning}", file=sys.stderr)
    common = {
        "output": os.path.abspath(result.output),  # as the run found it (typed: 'rel')
        "frames": result.written + result.reused,
        "written": result.written,
        "repeated": result.repeated,  # of "written": an earlier frame's result written again
        "reused": result.reused,
        "seconds": round(result.seconds, 3),  # the frames' time: first frame to last
        # the command's whole time, and the part before the first frame (imports, styles
        # converted, network built, precision checked, a first pass): what "setup" names
        "total_seconds": timing and round(timing[0], 3),
        "setup_seconds": timing and round(timing[1], 3),
        "setup": list(getattr(args, "told", [])),
        "fps": round(result.fps, 3),  # throughput: frames styled per second
        "frame_rate": getattr(args, "frame_rate", None),  # the output's, frames per second
        # A finished movie's engine is its tag's (``made_facts``): null where it does not say
        "backend": result.backend or (None if result.finished_before else ""),
        "device": result.device or (None if result.finished_before else ""),
        # What ran and why, its fix as a command, not a mark (stylize, matte, stabilize alike)
        "engine": result.engine_said(COMMAND_LINE) or (None if result.finished_before else ""),
        "cancelled": result.cancelled,
        "finished_before": result.finished_before,  # nothing run: finished before (--plan's)
        # A numbered sequence's frame 0 (plate.1001.png: 1001), null else: frame i (--start,
        # --end count from 0) is its frame first_number + i, and a frame folder names it so.
        "first_number": getattr(result, "first_number", None),
        "peak_memory_mib": round(_peak_memory_mib()),
        "format": fmt,
        "warnings": warnings,  # every mapping's: a damaged or variable-rate source
        **_front_end_facts(result),
        "audio": _written_sound(result, fmt) if args.json else None,
    }
    missing = [] if result.cancelled else list(getattr(args, "missing", ()))
    _emit(args, {**common, "missing_frames": len(missing), **record}, text)
    if result.cancelled:
        return getattr(args, "cancel_code", EXIT_CANCELLED)
    return _say_cut_short(args, result, missing) if missing else 0


def _say_cut_short(args: argparse.Namespace, result, missing: list[int]) -> int:
    """A run to the source's end finished short of it (``job.missing_at_end``): one error
    line and exit 3, so a farm flags the shot rather than take it as done; the frames made
    are kept."""
    kept = _count(result.written + result.reused, "frame")
    said = f"{_cut_short(missing)} ({kept} in {result.output} kept)"
    if args.json:
        _json_error(said, said)
    print(f"restyle: error: {said}", file=sys.stderr)
    return EXIT_CUT_SHORT


def _cut_short(missing: list[int]) -> str:
    """What a cut-short source lacks, and the range that makes a whole run of it."""
    from .words import frames_named

    last = missing[0] - 1
    return (
        f"{frames_named(missing)} cannot be read: the source is cut short, no frame after "
        f"{last} decodes; give --end {last} for only the frames that decode"
    )


def _precision_warnings(args: argparse.Namespace, result) -> list[str]:
    """fp16 asked and fp32 run on the CPU (no engine there runs fp16 for it): said only in
    the engine's line, with no warning, it read as done."""
    ran_fp32 = (result.engine or "").startswith(f"{result.backend} fp32 on ")
    if getattr(args, "precision", None) == "fp16" and result.device == "cpu" and ran_fp32:
        return ["fp16 needs a GPU: ran fp32"]
    return []


def _setup_said(args: argparse.Namespace, timing: tuple[float, float] | None) -> str:
    """'; 66 s in all, 48 s of it before the first frame (converting the styles, once;
    building the network)': a second or more of it; '' else. The frames' time alone read
    as the command's ('18.1 s' for a 66 s command)."""
    if timing is None or timing[1] < 1.0:
        return ""
    total, setup = timing
    told = "; ".join(getattr(args, "told", []))
    said = f"; {_seconds(total)} in all, {_seconds(setup)} of it before the first frame"
    return said + (f" ({told})" if told else "")


def _front_end_facts(result) -> dict:
    """What a front end that ran the command (Blender's Run on: Ray, ``ray_submit.
    node_said``) words itself: the engine's line with its settings still marked, printably
    (``errors.plain``: ``{{device="cpu"}}``), and what the warnings name, in 0-based source
    frames: frames not decoded cleanly (a damaged movie) and a variable rate's retiming as
    [frame, dropped] pairs (``_variable_rate_warnings``), for Blender to name scene frames."""
    from .errors import plain

    neutral = plain(getattr(result, "engine_marked", result.engine))
    return {
        "engine_neutral": neutral or (None if result.finished_before else ""),
        "damaged": list(getattr(result, "held", [])),
        "retimed": [[i, dropped] for i, dropped in getattr(result, "retimed", [])],
        # Which of "warnings" those frames' warnings are (``JobResult.frame_warned``), as
        # worded there: a front end swaps these for its own numbering, whatever the words
        "frame_warnings": list(getattr(result, "frame_warned", [])),
    }


def _written_sound(result, fmt: str) -> dict | None:
    """The finished movie's sound ({"codec", "seconds"}); None without sound or movie."""
    from .audio import movie_sound
    from .writers import output_format

    if result.cancelled or not output_format(fmt).movie:
        return None
    return movie_sound(result.output)


def _job_fields(args: argparse.Namespace) -> dict:
    """What every frame job (stylize, matte, stabilize) takes from its command line; the
    job refuses frames into a movie's name (``writers.check_frames_name``), as for Python."""
    from .fields import rate_refusal
    from .media import MEDIA
    from .writers import format_for_output, refuse_source_as_output

    for name, value, what in (
        ("INPUT", args.input, MEDIA),
        ("--output", args.output, "a folder or a movie file"),
    ):
        if not value.strip():  # an unset "$OUT" must not read or write the current folder
            raise RestyleError(f"{name} is empty: give {what}")
    refuse_source_as_output(args.output, args.input)  # before its name is read for a format
    fps = None if args.fps is None else args.fps.value
    if args.fps is not None and (refused := rate_refusal(fps, args.fps.typed)):  # Python's too
        raise RestyleError(refused)
    if args.chunk_frames is not None and args.ray is None and not args.plan:  # sizes nothing
        raise RestyleError("--chunk-frames is --ray's chunk size: give it with --ray (or --plan)")
    return {
        "source": args.input,
        "output": args.output,
        "start": args.start,
        "end": args.end,
        "format": args.format or format_for_output(args.output),
        "fps": fps,
        "overwrite": args.overwrite,
        "audio": args.audio is not False,  # None: not given (on)
        "upright": UPRIGHT_OF_FLAG[args.upright],
        "hold_lead_in": args.hold_lead_in,
    }


# How a movie's display matrix is applied on reading: flag → core.media.probe's ``upright``.
UPRIGHT_OF_FLAG = {"upright": True, "rotation-only": "rotation", "as-stored": False}


def cmd_stylize(args: argparse.Namespace) -> int:
    from .job import StyleJob

    fields = _job_fields(args)
    fmt = fields["format"]
    job = StyleJob(
        **fields,
        style=args.style,
        strength=args.strength,
        scale=args.scale,
        max_side=args.max_side,
        preserve_colors=args.preserve_colors,
        temporal=args.temporal,
        lookahead=args.lookahead,
        carry=1.0 if args.carry is None else args.carry,  # None: not given (_option_warnings)
        backend=args.backend,
        device=args.device,
        precision=args.precision,
        library=_library(args),
        batch_size=args.batch,
        measure=args.metrics,
        strip_color=_strip_grade(args),
    )
    if args.plan:
        return _print_plan(job, args)
    with _interactive(args) as (bar, cancel):
        result = _run_here_or_on_ray(job, args, bar, cancel)
    extra = "" if result.warping_error is None else f"\nwarping error: {result.warping_error:.5f}"
    record = {
        "style": result.style,
        "warping_error": result.warping_error,
        "grade": _grade_record(args),
    }
    return _report_run(args, result, fmt, job.done_word, record, extra)


# The strip grade's options, a Blender strip's Color settings, and their help.
GRADE_OPTIONS = {
    "saturation": "Saturation, 0 (grey) .. 20 (default 1)",
    "multiply": "Multiply, 0 .. 20 (default 1)",
    "opacity": "Opacity of a strip blended by Replace, which Blender folds into the multiply, "
    "0 .. 1 (default 1)",
}


def grade_ranges() -> dict[str, tuple[float, float]]:
    """Each grade option's range, the one Blender's RNA holds the strip's setting to (Blender
    clamps; the command line refuses): ``fields.GRADE_RANGES``, the job's too."""
    from .fields import GRADE_RANGES

    return {name: GRADE_RANGES[name] for name in GRADE_OPTIONS}


def _strip_grade(args: argparse.Namespace) -> StripColor:
    """The ``StripColor`` the grade options ask for, each checked against Blender's range."""
    from .fields import grade_refusal
    from .strip_frames import StripColor

    for name in GRADE_OPTIONS:
        if refused := grade_refusal(name, getattr(args, name)):  # Python's words too
            raise RestyleError(refused)
    if args.saturate_in_float and not args.convert_to_float:  # an order of nothing
        raise RestyleError(
            "--saturate-in-float is Convert to Float's order: give it with --convert-to-float"
        )
    return StripColor.blended(
        args.saturation,
        args.multiply,
        args.opacity,
        args.convert_to_float,
        args.saturate_in_float,  # Blender 5.2+: made float, then saturated
    )


def _grade_record(args: argparse.Namespace) -> dict:
    """--json: the grade options as given (plain data, as a stopped run's record is)."""
    record = {name: getattr(args, name) for name in GRADE_OPTIONS}
    as_float, float_first = args.convert_to_float, args.saturate_in_float
    return {**record, "convert_to_float": as_float, "float_first": float_first}


def _add_grade_options(p: argparse.ArgumentParser) -> None:
    grade = p.add_argument_group(
        "strip grade",
        "a Blender strip's Color settings, applied to every frame read before it is styled,\n"
        "as Blender's sequencer applies them (Apply Style's Run on: Ray passes them)",
    )
    for name, words in GRADE_OPTIONS.items():
        grade.add_argument(f"--{name}", type=float, default=1.0, metavar="F", help=words)
    grade.add_argument(
        "--convert-to-float",
        action="store_true",
        help="Convert to Float: multiply an 8-bit source as floats, not as Blender's 8-bit "
        "pictures (rounded down); saturated as 8-bit pictures first, as Blender 4.2 to 5.1",
    )
    grade.add_argument(
        "--saturate-in-float",
        action="store_true",
        help="with --convert-to-float: make the picture float before the saturation, as "
        "Blender 5.2 and later",
    )


class _JsonEvents:
    """--json: one progress event per line on stderr, at most twice a second (what the Blender
    add-on reads back from a job it submitted to a Ray cluster), each with its ``stage``
    (``stabilize`` counts to 100 % twice: ``track``, then ``stabilize``); a new stage's
    first event is never held back."""

    def __init__(self) -> None:
        self.last = 0.0
        self.stage: str | None = None
        self.said: tuple | None = None

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        told = self.said is not None and p.message == self.said[3]  # a new message: said
        if now - self.last < 0.5 and p.done < p.total and p.stage == self.stage and told:
            return
        said = (p.stage, p.done, p.total, p.message)
        if said == self.said:  # a repeat says nothing new (a stage's last count again)
            return
        self.last, self.stage, self.said = now, p.stage, said
        event = {"event": "progress", "stage": p.stage, "done": p.done, "total": p.total}
        event[RATES.get(p.stage, FRAME_RATE)[0]] = round(p.fps, 3)
        if p.eta_s is not None:  # seconds left, from the same rate as the bar's
            event["eta_s"] = round(p.eta_s, 1)
        if p.message:  # what a local run's bar says ('converting styles…'), for Ray's
            event["message"] = p.message
        print(json.dumps(event), file=sys.stderr, flush=True)

    def write(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        pass


def _add_distribution_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run on a Ray cluster ('auto', or host:port of a running one): one task per "
        "chunk; source and output must be on a file system every node sees (pip install "
        "'restyle[ray]')",
    )
    p.add_argument(
        "--plan",
        action="store_true",
        help="print the chunk plan (cut-aligned chunks with their warm-up frames) and exit",
    )
    p.add_argument(
        "--chunk-frames",
        type=int,
        metavar="N",
        help="longest chunk for --ray/--plan in frames (default 240); shots split into pieces",
    )


def _chunk_frames(args: argparse.Namespace) -> int:
    from .plan import DEFAULT_MAX_FRAMES

    if args.chunk_frames is not None and args.chunk_frames < 1:
        raise RestyleError(f"--chunk-frames must be at least 1, got {args.chunk_frames}")
    return args.chunk_frames or DEFAULT_MAX_FRAMES


def _print_plan(job, args: argparse.Namespace) -> int:
    """``--plan``: check the job, find the cuts, print the chunks (the ones a Ray run runs)
    and what a run would do with the output (resume, replace, be refused: why); write
    nothing. An output a run would refuse is said, not an error: the plan is still made
    (but the input as the output, refused first, as a bad option is)."""
    from .job import missing_at_end
    from .media import source_warnings
    from .plan import plan_for

    max_frames = _chunk_frames(args)
    checked = job.check_settings()
    plan = plan_for(job, checked, max_frames)
    on_ray = args.ray is not None  # a movie's frames a cancelled --ray run kept: its rerun's
    output = job.outlook(checked, COMMAND_LINE, on_ray=on_ray)
    warnings = source_warnings(checked.info) + _option_warnings(checked, args)
    if missing := list(missing_at_end(job, checked.info)):  # a run exits 3: said before it
        warnings.append(f"{_cut_short(missing)}; a run to the end exits {EXIT_CUT_SHORT}")
    lines = [
        f"frames {plan.start}..{plan.end}, {_cuts(list(plan.cuts))}, "
        f"{_count(len(plan.chunks), 'chunk')} ({_count(plan.computed_frames, 'frame')} computed):"
    ]
    for c in plan.chunks:
        warmup = f" (warm-up from {c.first_computed})" if c.warmup else ""
        if c.warmup and c.pictures is not None:  # held pictures: fewer styled than frames
            warmup = f" (warm-up from {c.first_computed}: {_count(c.pictures, 'picture')})"
        lines.append(f"  {c.start}..{c.end}{warmup}")
    lines.append(f"output {output['path']}: {_outlook_text(output)}")
    lines += [f"warning: {w}" for w in warnings]
    output = {**output, "path": os.path.abspath(output["path"])}  # as a run's record (not 'rel')
    record = {**json.loads(plan.to_json()), "output": output, "warnings": warnings}
    _emit(args, record, "\n".join(lines))
    return 0


def _outlook_text(output: dict) -> str:
    """``StyleJob.outlook`` in words: what a run would do with its output."""
    made, kept, old = output["to_make"], output["reused"], output["replaced"]
    replaced = (
        "the movie once the new one is complete"
        if output["movie"]
        else f"{_count(old, 'frame')} made with other settings as new ones are written"
    )
    return {
        "new": f"new: {_count(made, 'frame')} to make",
        "resume": f"resumes: {kept} already written with these settings, {made} to make",
        "finished": "every frame is already written with these settings: nothing to make",
        "replace": f"--overwrite replaces {replaced}; {made} to make",
        "refused": f"a run would be refused: {output['reason']}",
    }[output["outcome"]]


def _run_here_or_on_ray(job, args: argparse.Namespace, progress, cancel):
    early = _warn_at_start(job, args)
    result = _run_where_asked(job, args, progress, cancel)
    result.warnings[:0] = [w for w in early if w not in result.warnings]  # a Ray run's too
    return result


def _warn_at_start(job, args: argparse.Namespace) -> list[str]:
    """The source's warnings (an HDR movie) before the first frame, so a long run can be
    stopped; the end does not repeat them (--json: in the record only)."""
    from .job import missing_at_end
    from .media import source_warnings

    plan = job.validate()  # the run reuses this plan
    info = plan.info
    args.missing = missing_at_end(job, info)  # a cut-short source's: exit 3 at the end
    args.frame_rate = _frame_rate(info.fps)  # the output's ("fps": frames styled/s)
    warnings = source_warnings(info) + _option_warnings(plan, args)
    if not args.json:
        for warning in warnings:
            print(f"restyle: warning: {warning}", file=sys.stderr)
        args.warned_at_start = warnings
    return warnings


def _option_warnings(plan, args: argparse.Namespace) -> list[str]:
    """Options given that do nothing for this job (so not silently ignored): --carry on a
    style with no painted keyframes, --lookahead with --temporal 0, --audio into frames. A
    warning, not a refusal: Blender's Run on: Ray passes its Carry Keyframes with any style
    (``ray_submit.stylize_command``; its --no-lookahead and --no-audio are not warned)."""
    checks = (_carry_warning, _lookahead_warning, _audio_warning, _time_budget_warning)
    return [said for check in checks if (said := check(plan, args))]


def _time_budget_warning(plan, args: argparse.Namespace) -> str | None:
    budget = getattr(args, "time_budget", None)  # None: not given (matte's only)
    if budget is not None and not args.keyframe:
        return (
            f"--time-budget {budget:g} does nothing: it is the time for learning painted "
            "masks, and no -k FRAME=MASK is given; leave --time-budget out"
        )
    return None


def _lookahead_warning(plan, args: argparse.Namespace) -> str | None:
    if getattr(args, "lookahead", None) and args.temporal == 0:  # None: not given
        return (
            "--lookahead does nothing: it blends the next frame into the temporal coherence, "
            "and --temporal is 0 (off); leave --lookahead out"
        )
    return None


def _audio_warning(plan, args: argparse.Namespace) -> str | None:
    if args.audio and not plan.format.movie:  # None: not given
        return (
            f"--audio does nothing: {plan.format.id} frames carry no sound (a movie "
            "output carries the source's); leave --audio out"
        )
    return None


def _carry_warning(plan, args: argparse.Namespace) -> str | None:
    carry = getattr(args, "carry", None)  # None: not given (stylize's only)
    if carry is None or plan.style.kind == "trained":
        return None
    # The style's kind first: a picture style is named by its path, which may hold a comma
    mixed = sum(weight != 0 for weight in plan.style.weights) > 1  # a built-in's: one
    kind = "a mix of built-in styles" if mixed else "a built-in style"
    kind = "a picture style" if plan.style.kind == "picture" else kind
    return (
        f"--carry {carry:g} does nothing: it carries a trained style's painted keyframes, "
        f"and '{args.style}' is {kind}; leave --carry out"
    )


def _frame_rate(fps) -> float:
    """A rate the container states as a ratio of small numbers exactly (24000/1001, as
    written); an average of uneven stamps (MP4's 18.724400234055004: a ratio of large
    numbers) to 6 significant digits, 18.7244."""
    from fractions import Fraction

    fps = Fraction(fps)
    return float(fps) if fps.denominator <= 1001 else float(f"{float(fps):.6g}")


def _cancelled_text(args: argparse.Namespace, result, movie: bool, text: str) -> str:
    """A cancelled run's summary ``text`` with what it kept. Nothing finished (local or
    --ray): 'cancelled after N s', not '0 frames styled in 1.3 s (0.00 frames/s)'."""
    kept = result.written + result.reused  # reused frames stay too
    ray = bool(getattr(args, "ray", None))
    after = f"{result.output}: cancelled after {result.seconds:.1f} s"
    if kept and not result.written:  # only the frames from before (cancelled early, even on
        _, sep, rest = text.partition("\n")  # --ray): not '0 frames styled, 5 reused in...'
        text = f"{after}; no frame styled{sep}{rest}"
    if movie and ray and kept:
        return text + _ray_movie_cancelled(result)
    if movie:  # a movie is written whole or not at all: what it styled went with it
        after += "; no movie written"
    if movie and not ray:
        return f"{after}\ncancelled: nothing kept (a movie cannot be resumed); a rerun starts over"
    if kept:
        return f"{text}\ncancelled: {_count(kept, 'finished frame')} kept; rerun to resume"
    return f"{after}\ncancelled{interrupt.NONE_FINISHED}"


def _ray_movie_cancelled(result) -> str:
    """A cancelled --ray movie: its chunks' finished frames stay in the movie's frames
    folder (``ray_runner.frames_folder``), where a rerun with --ray resumes from them."""
    from .job import movie_frames_folder

    kept = result.written + result.reused
    folder = movie_frames_folder(Path(result.output))
    return (
        f"\ncancelled: {_count(kept, 'finished frame')} kept in {folder} (no movie yet); "
        "rerun with --ray to resume and make the movie"
    )


def _run_where_asked(job, args: argparse.Namespace, progress, cancel):
    if args.ray is None:
        return job.run(progress=progress, cancel=cancel)
    if not args.ray.strip():  # an unset "$RAY_HEAD" must not run on one machine unnoticed
        raise RestyleError("--ray needs an address: 'auto' or the head's host:port (head:6379)")
    from .ray_runner import ray_prints_on_stderr, run_on_ray

    with ray_prints_on_stderr():
        return run_on_ray(
            job, args.ray, max_frames=_chunk_frames(args), progress=progress, cancel=cancel
        )


def _peak_memory_mib() -> float:
    """This process's peak resident memory (what the streaming pipeline keeps flat)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _new_file(args: argparse.Namespace) -> Path:
    """``--output``, refused when it exists unless ``--overwrite``."""
    out = Path(args.output)
    if out.is_dir():  # --overwrite failed on a scratch file's name ('... .part: Is a directory')
        raise RestyleError(f"{out} is a folder; give the name of the file to write")
    if out.exists() and not args.overwrite:
        raise RestyleError(f"{out} exists; use --overwrite to replace it")
    from .writers import check_writable

    check_writable(out.parent)  # 'cannot write to DIR: why', as stylize says it
    return out


# -- export-onnx ---------------------------------------------------------------------------
def cmd_export(args: argparse.Namespace) -> int:
    from .style_export import export_style
    from .writers import check_file_suffix

    library = _library(args)
    style = library.resolve(args.style)
    check_file_suffix(Path(args.output), ".onnx")  # before 'exists; use --overwrite'
    out = _new_file(args)
    _refuse_style_files(out, style, library)
    export_style(style, library, out)
    _emit(args, {"output": str(out), "style": style.id}, f"exported {style.id} to {out}")
    return 0


def _refuse_style_files(out: Path, style, library: StyleLibrary) -> None:
    """The exported file never replaces what styles are made of, even with --overwrite: it
    wrote over the style picture it was exported from, and into the library's own files."""
    if style.picture is not None and out.exists() and os.path.samefile(out, style.picture):
        raise RestyleError(f"output {out} is the style picture; choose another output")
    library.refuse_output_inside(out)


# -- sheet ---------------------------------------------------------------------------------
def cmd_sheet(args: argparse.Namespace) -> int:
    import cv2

    from .contact_sheet import contact_sheet
    from .media import _reason, decode_range, probe
    from .writers import refuse_source_as_output, write_atomic

    _check_sheet_output(args, Path(args.output))
    info = probe(args.input)
    # a frame, or beside them, even with --overwrite (so before 'exists; use --overwrite')
    refuse_source_as_output(args.output, info, picture_file=True)
    out = _new_file(args)
    _check_frame(args.frame, info.frame_count)
    library = _library(args)
    if not library.builtins_ready():
        from .builtins import install_builtins

        install_builtins(library.builtin_dir)
    frame = next(iter(decode_range(args.input, args.frame, args.frame, info=info)))
    if frame.dtype != "uint8":
        frame = (frame // 257).astype("uint8")
    sheet = contact_sheet(frame, library, tile_width=args.tile_width)
    ok, encoded = cv2.imencode(out.suffix, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    if not ok:
        raise RestyleError(f"cannot encode the sheet as {out.suffix}")
    try:  # into the folder -o names, made as export-onnx and stylize make theirs
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(out, encoded.tobytes(), sweep=True)  # a scratch file, renamed when whole
    except OSError as exc:
        raise RestyleError(f"cannot write {out}: {_reason(exc)}") from None
    _emit(args, {"output": str(out)}, f"contact sheet of {len(library.builtins())} styles: {out}")
    return 0


def _check_frame(frame: int, frame_count: int) -> None:
    """``--frame`` said as ``--start``/``--end`` are ('frames 99 are outside ...'), before
    the built-in styles are converted for a sheet that cannot be made."""
    if frame < 0:
        raise RestyleError(f"frames are 0-based: --frame is {frame}")
    if frame >= frame_count:
        raise RestyleError(f"--frame {frame} is past the source's last frame {frame_count - 1}")


def _check_sheet_output(args: argparse.Namespace, out: Path) -> None:
    """Refuse before any work what the sheet could not be written as (what it would write
    over, the input's frames, is refused once the input is probed: the job's one rule)."""
    if out.suffix.lower() not in SHEET_SUFFIXES:  # cv2 itself raised on .exr
        raise RestyleError(
            f"cannot write a picture named {out.name}; name the sheet "
            f"{', '.join(SHEET_SUFFIXES[:-1])} or {SHEET_SUFFIXES[-1]}"
        )
    from .errors import setting
    from .writers import check_name_room

    check_name_room(out.name, setting("output"))  # not 'File name too long' once it is made
    low, high = TILE_WIDTHS
    if not low <= args.tile_width <= high:  # it said 'tile width must be at least 16 px, got 5'
        raise RestyleError(
            f"{setting('tile_width', args.tile_width)} is out of range {low}..{high}"
        )


# -- shots ---------------------------------------------------------------------------------


def _cuts(cuts: list[int]) -> str:
    """'no cuts', 'a cut at frame 12', 'cuts at frames 12, 40'."""
    if not cuts:
        return "no cuts"
    if len(cuts) == 1:
        return f"a cut at frame {cuts[0]}"
    return "cuts at frames " + ", ".join(map(str, cuts))


def cmd_shots(args: argparse.Namespace) -> int:
    from .job import missing_at_end, source_range
    from .media import decode_range, probe
    from .shots import analyze_shots

    if args.quiet and not args.json:  # as the style list: it analysed the clip, said nothing
        raise RestyleError("-q would hide the shots; use --json for a list to read in a script")
    info = probe(args.input, hold_lead_in=args.hold_lead_in)  # numbered as stylize's cuts
    _, end = source_range(args.start, args.end, info.frame_count)
    bar = _progress_sink(args)
    try:
        frames = decode_range(args.input, args.start, end, info=info)
        shots = analyze_shots(_counted(frames, end - args.start + 1, bar))
    finally:
        bar.close()
    records = [
        {
            "start": s.start + args.start,
            "end": s.end - 1 + args.start,
            "keyframes": [k + args.start for k in s.keyframes],
            "blank": s.blank,  # one flat colour throughout (black): no keyframe to paint
        }
        for s in shots
    ]
    cuts = [r["start"] for r in records[1:]]
    if args.json:
        print(json.dumps({"cuts": cuts, "shots": records}))  # one line, as every record
        args.closed = True
    elif not args.quiet:
        print(f"{_count(len(records), 'shot')}, {_cuts(cuts)} (0-based, inclusive ranges)")
        for i, r in enumerate(records, 1):
            said = "blank (one flat color): no keyframe" if r["blank"] else "keyframes"
            keys = "" if r["blank"] else f" {r['keyframes']}"
            print(f"shot {i}: frames {r['start']}..{r['end']}, {said}{keys}")
    if missing := list(missing_at_end(args, info)):  # as a frame job's: the list is short
        said = f"{_cut_short(missing)} (shots listed for frames {args.start}..{end})"
        if args.json:
            _json_error(said, said)
        print(f"restyle: error: {said}", file=sys.stderr)
        return EXIT_CUT_SHORT
    return 0


def _counted(frames: Iterable, total: int, bar) -> Iterator:
    """``frames``, each reported to ``bar`` (stage ``shots``) once analysed: --json's
    progress events, a terminal's bar (a long movie was silent until its list)."""
    from .progress import RateMeter

    meter = RateMeter(total)
    bar(meter.update(0, stage="shots"))
    for done, frame in enumerate(frames, 1):
        yield frame
        bar(meter.update(done, stage="shots"))


# -- stabilize ----------------------------------------------------------------------------
def cmd_stabilize(args: argparse.Namespace) -> int:
    from .mappings.stabilize_job import StabilizeJob

    fields = _job_fields(args)
    fmt = fields["format"]
    job = StabilizeJob(
        **fields,
        mode=args.mode,
        smoothness=args.smoothness,
        crop=args.crop,
        strength=args.strength,
        tripod=args.tripod,
    )
    if args.plan:
        return _print_plan(job, args)
    with _interactive(args, steps=STABILIZE_STEPS) as (bar, cancel):
        result = _run_here_or_on_ray(job, args, bar, cancel)
    if result.finished_before and not job.kept_area:  # a --ray rerun, or the API's run
        from .mappings.stabilize_job import finished_movie_facts

        job.kept_area, job.cuts = finished_movie_facts(result.output)
    kept = f"; {min(job.kept_area):.0%} of the frame area kept" if job.kept_area else ""
    record = {
        "kept_area": list(job.kept_area or ()),
        "cuts": list(job.cuts or ()),
    }  # [] if cancelled
    if result.finished_before:  # its movie's tag says them; null where it does not (older)
        record = {k: None if getattr(job, k) is None else v for k, v in record.items()}
    return _report_run(args, result, fmt, job.done_word, record, kept, engine=False)


def cmd_matte(args: argparse.Namespace) -> int:
    from .mappings.matte_job import MatteJob

    fields = _job_fields(args)
    fmt = fields["format"]
    job = MatteJob(
        **fields,
        replace=args.replace,
        refine=not args.no_refine,
        model=args.model,
        temporal=args.temporal,
        backend=args.backend,
        device=args.device,
        library=_library(args),
        keyframes=_keyframes(args.keyframe or (), "MASK") or None,
        train_seconds=_time_budget(args, MatteJob.train_seconds, "train_seconds"),
    )
    if args.plan:
        return _print_plan(job, args)
    steps = MATTE_KEYFRAME_STEPS if job.keyframes else None  # learns them first
    with _interactive(args, steps=steps) as (bar, cancel):
        result = _run_here_or_on_ray(job, args, bar, cancel)
    learned = job.learned_in  # training's time, which the frames' leaves out
    extra = "" if learned is None else f", after {learned:.0f} s of training"
    # the time it trained: MatteJob's train_seconds (--time-budget) is the budget
    record = {"replace": args.replace, "training_seconds": learned and round(learned, 3)}
    return _report_run(args, result, fmt, job.done_word, record, extra)


def _time_budget(args: argparse.Namespace, default: float, key: str) -> float:
    """--time-budget (train's and matte's) in its range, or ``default`` if not given; ``key``
    the errors.SETTINGS row of the field it sets (time_budget: TrainConfig's, train_seconds:
    MatteJob's)."""
    from .train.budget import time_budget_refusal

    budget = default if args.time_budget is None else args.time_budget
    if refusal := time_budget_refusal(budget, key):
        raise RestyleError(refusal)
    return budget


# -- parser --------------------------------------------------------------------------------
class _OutputFormatIds:
    """--format's choices, read from ``formats.OUTPUT_FORMATS`` only when argparse checks or
    lists them. Parsing, --help included, imports neither numpy, PyAV nor torch (the table
    is in ``formats``, not ``writers``; ``engines.base`` imports numpy for annotations only;
    tests/test_cli_startup.py checks)."""

    def _ids(self) -> tuple[str, ...]:
        from .formats import OUTPUT_FORMATS

        return tuple(OUTPUT_FORMATS)

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids())

    def __contains__(self, value: object) -> bool:
        return value in self._ids()

    def __len__(self) -> int:
        return len(self._ids())


def _frame_job_options() -> argparse.ArgumentParser:
    """Input, output and range: the options every frame job (stylize, matte, stabilize) has."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("input", help="movie, image, folder of images, or pattern like frame_%%04d.png")
    p.add_argument("-o", "--output", required=True, help="folder (image sequence) or movie file")
    p.add_argument("--start", type=int, default=0, help="first frame (0-based; default 0)")
    p.add_argument(
        "--end", type=int, default=None, help="last frame, inclusive (default: the last)"
    )
    p.add_argument(
        "--format",
        choices=_OutputFormatIds(),
        metavar="FORMAT",  # argparse lists the choices at add_argument; %(choices)s at --help
        help="output format: %(choices)s (default: from the output's extension, else png)",
    )
    p.add_argument(
        "--fps",
        type=_frames_per_second,
        help="frame rate of an image-sequence input, e.g. 25 or 24000/1001: 1..1000 frames/s "
        "(default 24; not movies)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace output made with other settings"
    )
    p.add_argument(
        "--audio",
        action=argparse.BooleanOptionalAction,
        default=None,  # not given: on (_job_fields), and never warned (_audio_warning)
        help="a movie output carries the movie source's sound for the frames written "
        "(default: on; image sequences have none)",
    )
    shown = p.add_mutually_exclusive_group()
    shown.add_argument(
        "--as-stored",
        dest="upright",
        action="store_const",
        const="as-stored",
        default="upright",
        help="read a movie's pictures as stored, its display rotation (phone footage) "
        "unapplied, as Blender before 4.4 shows them (default: upright, as players show them)",
    )
    shown.add_argument(
        "--rotation-only",
        dest="upright",
        action="store_const",
        const="rotation-only",
        help="apply a movie's display rotation but not its mirror, as Blender 4.4 and later "
        "show them",
    )
    p.add_argument("--hold-lead-in", action="store_true", help=HOLD_LEAD_IN_HELP)
    return p


HOLD_LEAD_IN_HELP = (
    "a movie whose stream starts before its first picture (mpeg4 or H.264 with B-frames in "
    "AVI) is read as Blender's strips show it: its first picture held over the frames before "
    "it, every later picture one or two frames later (default: from the first picture, as "
    "players show it)"
)


def _engine_options() -> argparse.ArgumentParser:
    """Which engine runs a network, and where: from the one table in engines/choices.py."""
    from .device_words import device_words
    from .engines.choices import BACKENDS, words

    p = argparse.ArgumentParser(add_help=False)
    engines = ", ".join(f"{c.word} ({c.label})" for c in BACKENDS if c.word != "auto")
    p.add_argument(
        "--backend",
        default="auto",
        choices=words(BACKENDS),
        help=f"inference engine: {engines}, or auto (default: the fastest this machine has)",
    )
    p.add_argument(
        "--device",
        default="auto",
        type=_device,
        help=f"{device_words()} (default auto: the best accelerator found, else cpu)",
    )
    return p


class _UsageError(RestyleError):
    """A command line argparse cannot read: one ``restyle: error:`` line, as any bad input."""


class _ParserExit(Exception):  # noqa: N818 - an exit code, not an error
    """--help or --version printed: ``main`` returns the code rather than exiting."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _Parser(argparse.ArgumentParser):
    """argparse whose mistakes are one line and whose exits are ``main``'s return value:
    it printed its usage over several lines and raised SystemExit, which a script calling
    ``main`` (or a thread, which it ended silently) had to catch."""

    def error(self, message: str) -> NoReturn:
        see = f"see '{self.prog} --help'"
        close = _command_hint(message)
        raise _UsageError(f"{message}; " + (f"did you mean {close}? ({see})" if close else see))

    def parse_known_args(self, args=None, namespace=None):  # noqa: ANN001, ANN201 - argparse's
        """A word no command takes is the command's mistake: its help is the one to read
        ('--bogus' pointed to 'restyle --help', other mistakes to 'restyle stylize --help')."""
        parsed, extras = super().parse_known_args(_keyframes_joined(args), namespace)
        command = getattr(self, "commands", {}).get(getattr(parsed, "command", None))
        if extras and command is not None:
            command.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self._print_message(message, sys.stderr)
        raise _ParserExit(status)


# Another tool's word for a command (a TD's 'cuts'), and Restyle's
_COMMAND_WORDS = {
    "cuts": "shots",
    "scenes": "shots",
    "style": "stylize",
    "stylise": "stylize",
    "stabilise": "stabilize",
    "export": "export-onnx",
    "mask": "matte",
    "key": "matte",
    "list": "styles",
}


def _command_hint(message: str) -> str:
    """The command meant by an unknown one ('cuts': shots; a typo, 'stylze': stylize), else ''."""
    import difflib

    found = re.match(r"argument COMMAND: invalid choice: '(.*?)' \(choose from (.*)\)", message)
    if not found:
        return ""
    word, commands = found[1].lower(), [c.strip(" '") for c in found[2].split(",")]
    return _COMMAND_WORDS.get(word) or next(iter(difflib.get_close_matches(word, commands, 1)), "")


def _keyframes_joined(argv: Sequence[str] | None) -> list[str]:
    """``-k -1=pic.jpg`` as ``--keyframe=-1=pic.jpg``: argparse read the frame's minus as an
    option ('expected one argument'); joined, ``_parse_keyframe`` says frames are 0-based."""
    words = list(sys.argv[1:] if argv is None else argv)
    for i in range(len(words) - 1, 0, -1):
        if words[i - 1] in ("-k", "--keyframe") and re.match(r"-\d+=", words[i]):
            words[i - 1 : i + 1] = [f"--keyframe={words[i]}"]
    return words


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--library", help="style library folder (default: $RESTYLE_HOME or the user data folder)"
    )
    common.add_argument(
        "-q", "--quiet", action="store_true", help="print nothing but warnings and errors"
    )
    common.add_argument("--json", action="store_true", help="machine-readable output")
    frames = _frame_job_options()
    engine = _engine_options()

    parser = _Parser(
        prog="restyle",
        description="Neural video stylization: built-in painting styles, any picture, or\n"
        "styles learned from painted keyframes.",
        epilog="Run 'restyle COMMAND --help' for a command's options.\n\n" + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"restyle {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parser.commands = sub.choices  # an unknown word points to its command's help

    p = sub.add_parser(
        "styles",
        parents=[common],
        help="list styles; rename, delete, pack or install trained styles",
    )
    p.add_argument(
        "action",
        nargs="?",
        choices=("list", "rename", "delete", "pack", "install"),
        help="list (default); rename NAME NEW_NAME; delete NAME; pack NAME FILE; "
        "install FILE_OR_FOLDER",
    )
    p.add_argument("names", nargs="*", help="style names or files, depending on the action")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="pack: replace an existing FILE; install: replace a same-named style",
    )
    p.set_defaults(func=cmd_styles)

    p = sub.add_parser(
        "train",
        parents=[common],
        help="learn a style from painted keyframes",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=TRAIN_EXAMPLES,
    )
    p.add_argument("source", help="movie or image sequence the keyframes come from")
    p.add_argument(
        "-k",
        "--keyframe",
        action="append",
        required=True,
        metavar="FRAME=STYLED_IMAGE",
        help="0-based source frame and its styled (painted) version; repeat",
    )
    p.add_argument("-n", "--name", required=True, help="name of the new style")
    p.add_argument(
        "--time-budget",
        type=float,
        help="seconds training may take (default 300); it stops earlier once it stops improving",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="random seed (default 0): same seed, same style"
    )
    p.add_argument(
        "--device", default="auto", type=_torch_device, help="auto (default), cpu, cuda[:N] or mps"
    )
    p.add_argument("--overwrite", action="store_true", help="replace a style with that name")
    p.add_argument(
        "--hold-lead-in",
        action="store_true",
        help=HOLD_LEAD_IN_HELP + ". Keyframes exported from Blender (Export Keyframes) are "
        "numbered as Blender's strips show the movie: give it when training on them",
    )
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "setup",
        parents=[common],
        help="convert the built-in styles and the matte network (needs torch once)",
    )
    p.add_argument("--bundle", help="write the converted models into this folder instead")
    p.add_argument("--force", action="store_true", help="convert again even if present")
    p.set_defaults(func=cmd_setup)

    p = sub.add_parser(
        "stylize",
        parents=[common, frames, engine],
        help="style a frame range of a movie or image sequence",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=STYLIZE_EXAMPLES,
    )
    p.add_argument(
        "-s",
        "--style",
        required=True,
        help="a built-in id (see 'restyle styles'), a mix of built-ins with weights "
        "('starry-swirls:0.7,comic-ink:0.3'), a trained style's name, or any picture file",
    )
    p.add_argument(
        "--strength",
        type=float,
        default=1.0,
        help="0..1 (default 1). Built-in and trained styles: blend of the styled frame with "
        "the source. Picture styles: how far the style moves from the footage's own style "
        "to the picture's",
    )
    size = p.add_mutually_exclusive_group()
    size.add_argument("--scale", type=float, help="processing scale (stroke size depends on it)")
    size.add_argument("--max-side", type=int, help="processing size: longest side in pixels")
    p.add_argument("--preserve-colors", action="store_true", help="keep the source's colors")
    p.add_argument(
        "--temporal", type=float, default=0.5, help="temporal coherence 0 (off) .. 1 (default 0.5)"
    )
    p.add_argument(
        "--lookahead",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="coherence also blends the next frame (one frame of latency; default: on)",
    )
    p.add_argument(
        "--carry",
        type=float,
        help="trained styles: carry the painted keyframes onto frames that show the same "
        "scene, 0 (off: the network alone) .. 1 (default 1)",
    )
    p.add_argument(
        "--precision",
        default="auto",
        choices=("auto", "fp32", "fp16", "bf16"),
        help="auto = bf16 on CPUs with native bf16 for built-in and picture styles (openvino, "
        "torch) and trained styles (openvino; a span-guided one with its span search held "
        "in fp32), fp16 on CUDA, else fp32 (mattes; span-guided styles off OpenVINO's CPU); "
        "reduced precision is checked against fp32 once per machine, network and style on a "
        "fixed photo, the verdict kept (RESTYLE_HOME/cache/precision.json; below 35 dB: "
        "fp32 from then on)",
    )
    p.add_argument(
        "--batch",
        type=int,
        metavar="N",
        help="frames per inference batch (default: 1 on cpu, 4 on a GPU); more uses more memory",
    )
    p.add_argument("--metrics", action="store_true", help="measure temporal warping error")
    _add_grade_options(p)
    _add_distribution_options(p)
    p.set_defaults(func=cmd_stylize)

    p = sub.add_parser(
        "export-onnx", parents=[common], help="export one style as a standalone ONNX file"
    )
    p.add_argument(
        "style",
        help="a built-in id, a mix of built-ins, a trained style's name, or a picture file "
        "(its style baked in)",
    )
    p.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("sheet", parents=[common], help="render one frame in every built-in style")
    p.add_argument("input", help="movie, image or image sequence")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="picture file to write (" + "/".join(SHEET_SUFFIXES) + ")",
    )
    p.add_argument("--frame", type=int, default=0, help="which frame (0-based; default 0)")
    p.add_argument(
        "--tile-width",
        type=int,
        default=320,
        help="width of each style's tile in pixels, 16..2048 (default 320)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    p.set_defaults(func=cmd_sheet)

    p = sub.add_parser(
        "shots",
        parents=[common],
        help="find cuts and suggest keyframes per shot",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=SHOTS_EXAMPLES,
    )
    p.add_argument("input", help="movie or image sequence")
    p.add_argument("--start", type=int, default=0, help="first frame (0-based; default 0)")
    p.add_argument(
        "--end", type=int, default=None, help="last frame, inclusive (default: the last)"
    )
    p.add_argument("--hold-lead-in", action="store_true", help=HOLD_LEAD_IN_HELP)
    p.set_defaults(func=cmd_shots)

    p = sub.add_parser(
        "stabilize",
        parents=[common, frames],
        help="steady shaky footage (same frames, same size)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=STABILIZE_EXAMPLES,
    )
    p.add_argument(
        "--mode",
        default="similarity",
        choices=("translation", "similarity", "perspective"),
        help="camera model: shifts only, + rotation and zoom (default), or full perspective",
    )
    p.add_argument(
        "--smoothness",
        type=float,
        default=0.7,
        help="0..1 (default 0.7): how far the steadied camera may drift from the real one",
    )
    p.add_argument(
        "--crop",
        type=float,
        default=0.1,
        help="0..0.5 (default 0.1): the most of the width and height cropped away (the "
        "frame is scaled back up; no empty borders ever show)",
    )
    p.add_argument(
        "--strength", type=float, default=1.0, help="0..1 (default 1): how much to correct"
    )
    p.add_argument(
        "--tripod", action="store_true", help="keep the camera still where the crop allows"
    )
    _add_distribution_options(p)
    p.set_defaults(func=cmd_stabilize)

    p = sub.add_parser(
        "matte",
        parents=[common, frames, engine],
        help="matte the people in a clip (RGBA), or put a new background behind them",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=MATTE_EXAMPLES,
    )
    p.add_argument(
        "--replace",
        metavar="PICTURE|CLIP|#RRGGBB|blur",
        help="composite the people over this instead of writing alpha",
    )
    p.add_argument(
        "--temporal",
        type=float,
        default=0.6,
        help="steady the matte along the motion: 0 (off) .. 1 (default 0.6)",
    )
    p.add_argument("--no-refine", action="store_true", help="skip the guided-filter edges")
    p.add_argument(
        "--model",
        default="auto",
        choices=("auto", "general", "landscape"),
        help="network: general (256x256), landscape (256x144), auto (by the frame's shape)",
    )
    p.add_argument(
        "-k",
        "--keyframe",
        action="append",
        metavar="FRAME=MASK",
        help="0-based source frame and its painted matte (alpha, else grey: white = keep); "
        "repeat. A matte is learned from them (needs torch) and applied to the range",
    )
    p.add_argument(
        "--time-budget",
        type=float,
        help="seconds learning the keyframes may take (default 60), as train's --time-budget",
    )
    p.add_argument(  # its name before round 18, kept for scripts
        "--train-seconds", type=float, dest="time_budget", help=argparse.SUPPRESS
    )
    _add_distribution_options(p)
    p.set_defaults(func=cmd_matte)
    return parser


def _quiet_opencv() -> None:
    """OpenCV's own warnings ('[ WARN:0@0.07] ... initOpenEXR ...: OpenEXR codec is
    disabled') came before the one-line error; a user's OPENCV_LOG_LEVEL still wins."""
    if "OPENCV_LOG_LEVEL" in os.environ:
        return
    os.environ["OPENCV_LOG_LEVEL"] = "ERROR"  # read when cv2 is first imported
    if "cv2" in sys.modules:
        sys.modules["cv2"].setLogLevel(2)  # 2: errors only


def main(argv: Sequence[str] | None = None) -> int:
    try:
        # Ctrl-C raises KeyboardInterrupt, SIGTERM Terminated (main thread only); the caller's
        # handlers are back after (a script's, headless Blender's), never the start-up ones
        interrupt.take_over()
        sigint = interrupt.handling(signal.SIGINT, signal.default_int_handler)
        with interrupt.sigterm_as_ctrl_c(), sigint:
            return _main(argv)
    except KeyboardInterrupt as exc:  # in the instant before _main's try: the record still
        return _say_cancelled(None, argv, interrupt.exit_code(exc))


def _main(argv: Sequence[str] | None) -> int:
    args = None
    try:
        started = _started(argv)  # the summary's whole time counts from here
        _quiet_opencv()  # inside the try: a SIGTERM here printed a traceback (exit 1)
        args = build_parser().parse_args(argv)
        args.started = started
        for name in ("input", "output", "source"):  # a quoted '~/clip.mp4', as -s reads it
            if isinstance(getattr(args, name, None), str):
                setattr(args, name, os.path.expanduser(getattr(args, name)))
        return args.func(args)
    except _ParserExit as exc:  # --help, --version
        return exc.code
    except RestyleError as exc:  # the one place the command line says an error
        said = exc.said(COMMAND_LINE)
        if _wants_json(args, argv):
            _json_error(said, getattr(exc, "neutral", said))
        print(f"restyle: error: {said}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (interrupt.Terminated): 143
        code = interrupt.exit_code(exc)
        while True:
            try:
                return _say_cancelled(args, argv, code)
            except KeyboardInterrupt:  # a second signal before they were ignored: say it once
                continue
    except BrokenPipeError:  # `restyle styles --json | head`: the reader has all it wants
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error at exit
        return EXIT_BROKEN_PIPE
    except OSError as exc:  # disk full, permissions changed mid-run, ...: README says exit 2
        print(f"restyle: error: {_os_error(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _started(argv: Sequence[str] | None) -> float:
    """When the command started, on ``time.perf_counter``'s clock: where this process is
    the command (``restyle ...``), its start (Python's own and its imports count: 2.7 s of
    a 15.9 s run, loaded); else now (``main`` called from a script)."""
    now = time.perf_counter()
    if argv is not None or not interrupt._running_the_command():
        return now
    try:  # Linux: the process's start in clock ticks since boot, and the time since boot
        with open("/proc/self/stat", encoding="ascii") as stat:
            ticks = int(stat.read().rpartition(")")[2].split()[19])
        with open("/proc/uptime", encoding="ascii") as uptime:
            age = float(uptime.read().split()[0]) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return now
    return now - min(max(age, 0.0), 600.0)


def _wants_json(args: argparse.Namespace | None, argv: Sequence[str] | None) -> bool:
    """--json given (read from the words where the command line could not be parsed)."""
    if args is not None:
        return bool(getattr(args, "json", False))
    return "--json" in (sys.argv[1:] if argv is None else argv)


def _say_cancelled(args: argparse.Namespace | None, argv: Sequence[str] | None, code: int) -> int:
    """'restyle: cancelled', and with --json the closing record (``_cancelled_record``), with
    Ctrl-C and SIGTERM ignored meanwhile (a second SIGTERM 50 ms after the first printed a
    traceback instead); if the record cannot be made, {"cancelled": true} still is."""
    with _signals_ignored():
        try:
            # a frame job's words as its summary says them when none finished (README):
            # stopped before its run began (``_interactive`` sets cancel_code), never after
            # and train's ('before training began: no style saved'); shots lists nothing
            # until it has read its range ('no shots listed'); another command's stop may
            # come after it wrote something: bare
            started = args is not None and hasattr(args, "cancel_code")
            command = _command_of(args, argv)
            before = (
                command in (*interrupt.FRAME_JOBS, "train") and not started
            ) or command == "shots"
            said = interrupt.cancelled_before_start(command) if before else "restyle: cancelled"
            print(said, file=sys.stderr)
            if _wants_json(args, argv) and not getattr(args, "closed", False):
                _cancelled_record(args, argv)
        except Exception:  # noqa: BLE001 - whatever failed, a front end still reads a stop
            with contextlib.suppress(Exception):
                interrupt.print_cancelled_record()
    return code


def _command_of(args: argparse.Namespace | None, argv: Sequence[str] | None) -> str | None:
    """The command run, as typed ('export-onnx'), read from its words where they were not
    parsed yet (or by its function, where a caller made ``args`` without its word)."""
    if getattr(args, "command", None) is not None:
        return args.command
    if getattr(args, "func", None) is not None:
        words = {p.get_default("func"): word for word, p in build_parser().commands.items()}
        return words.get(args.func)
    return interrupt.command_word(list(sys.argv[1:] if argv is None else argv))


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    """Ctrl-C and SIGTERM ignored while inside (main thread only), then as they were."""
    if not interrupt.in_main_thread():
        yield
        return
    previous = [(s, signal.signal(s, signal.SIG_IGN)) for s in (signal.SIGINT, signal.SIGTERM)]
    try:
        yield
    finally:
        for signum, handler in previous:
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)


def _cancelled_record(args: argparse.Namespace | None, argv: Sequence[str] | None) -> None:
    """--json, stopped (Ctrl-C, SIGTERM) before the command printed its closing record: while
    its words were parsed, its settings checked or its source read, before the run took the
    signals over (``_interactive``). The record is the one a cancelled run prints, nothing
    done: what a front end reads a stop from (``ray_submit``: a record that says cancelled,
    else a failure). Made of plain data: a stop in an import (numpy's) leaves that module
    half made, and ``job.JobResult`` raised AttributeError where the record was due."""
    if args is None:  # the signal came while the words were parsed: parse them again
        try:
            args = build_parser().parse_args(argv)
        except (_ParserExit, RestyleError, SystemExit):
            args = argparse.Namespace(json=True, func=None)
    func = getattr(args, "func", None)
    jobs = {
        cmd_stylize: lambda: {
            "style": args.style,
            "warping_error": None,
            "grade": _grade_record(args),
        },
        cmd_matte: lambda: {"replace": args.replace},
        cmd_stabilize: lambda: {"kept_area": [], "cuts": []},
    }
    if func in jobs:
        _emit(
            args,
            {
                "output": os.path.abspath(args.output),  # as a finished run's record
                "frames": 0,
                "written": 0,
                "reused": 0,
                "seconds": 0.0,
                "total_seconds": None,  # not measured: stopped before the run's record
                "setup_seconds": None,
                "setup": [],
                "fps": 0.0,
                "backend": "",
                "device": "",
                "engine": "",
                "cancelled": True,
                "peak_memory_mib": round(_peak_memory_mib()),
                "format": args.format or _format_if_known(args.output),
                "warnings": [],
                "engine_neutral": "",
                "damaged": [],
                "retimed": [],
                "audio": None,
                **jobs[func](),
            },
            "",
        )
    elif func is cmd_train:
        _emit(args, {"name": args.name, "folder": None, "cancelled": True, "saved": False}, "")
    elif func is cmd_shots:
        _emit(args, {"cuts": [], "shots": [], "cancelled": True}, "")
    else:
        interrupt.print_cancelled_record()


def _format_if_known(output: str) -> str | None:
    """The format ``output`` asks for; None where it is refused ('out.webm'), or where
    ``writers`` cannot be imported (stopped in numpy's import, which then fails again)."""
    try:
        from .writers import format_for_output

        return format_for_output(output)
    except Exception:  # noqa: BLE001 - a refusal, or a module left half-imported by the stop
        return None


def _json_error(said: str, neutral: str) -> None:
    """--json: the error as an event on stderr before its ``restyle: error:`` line, its
    settings still marked in ``neutral``, printably (``errors.plain``: ``{{overwrite=true}}``):
    a front end that ran the command (Blender's Run on: Ray, ``ray_submit``) says them in
    its own words."""
    from .errors import plain

    event = {"event": "error", "error": said, "neutral": plain(neutral)}
    print(json.dumps(event), file=sys.stderr, flush=True)


def _os_error(exc: OSError) -> str:
    """'cannot use PATH: reason', without Python's '[Errno N]'."""
    if exc.filename is None or not exc.strerror:
        return str(exc)
    return f"cannot use {exc.filename}: {exc.strerror}"


if __name__ == "__main__":
    sys.exit(main())
