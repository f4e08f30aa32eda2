"""The README main job's Blender part: the real extension in headless Blender.

    .venv/bin/python scripts/blender_demo.py --sample out/demo/sample.mp4 --out out/demo/blender

Builds the extension zip and installs it into a private Blender user folder, both
temporary (your own Blender settings are never touched; ``scripts/build_extension.py``
makes a zip to keep), makes a VSE
project from the sample clip split in two strips at its first real cut (found by Restyle's
shot detection), styles the first shot with a built-in style and the second with a painting
as the style, saves the .blend beside the styled frames and renders the edit to an MP4.
Blender's own log (the build, the render's per-frame lines) goes to a log shown only on
failure. Needs the ``bpy`` module (Blender as a Python module, ``pip install bpy==5.0.1``).

More mappings join the demo with ``@showcase("restyle.<operator>")``: each runs only when
its operator is registered, and returns what it made as (path, description) pairs.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "bl_ext.user_default.restyle"

# What a step made: (path, what it is), for the closing summary.
Made = list[tuple[Path, str]]
# (operator idname, function(bpy, compat, scene, shots, out) -> Made)
SHOWCASES: list[tuple[str, Callable[..., Made]]] = []


def showcase(operator: str) -> Callable:
    """Register a demo of another mapping; it runs when ``operator`` exists in this build."""

    def register(function: Callable[..., Made]) -> Callable[..., Made]:
        SHOWCASES.append((operator, function))
        return function

    return register


# The terminal as it was at start: log() reaches it while quiet() hushes everything else.
_TERMINAL = os.fdopen(os.dup(1), "w", buffering=1)


def log(message: str) -> None:
    print(f"blender_demo: {message}", file=_TERMINAL, flush=True)


@contextlib.contextmanager
def quiet(logfile: Path) -> Iterator[None]:
    """Send what this process and its children print (C code too) to ``logfile``.

    On an error the log's last lines are printed, so a failure is never silent.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    failed = False
    with open(logfile, "ab") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            if failed:
                tail = logfile.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
                print("\n".join(tail), file=sys.stderr)


def build_zip(scratch: Path) -> Path:
    """The extension zip for this platform, built (and staged) in ``scratch``."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import build_extension

    platform = {"linux": "linux-x64", "win32": "windows-x64", "darwin": "macos-arm64"}[sys.platform]
    dist = scratch / "dist"
    build_extension.main(
        ["--platform", platform, "--output-dir", str(dist), "--stage-dir", str(scratch / "stage")]
    )
    (archive,) = dist.glob("*.zip")
    return archive


def install(archive: Path, user: Path):
    """Install and enable the zip as a user would, in a private user folder."""
    os.environ["BLENDER_USER_RESOURCES"] = str(user)  # read when bpy is imported
    import bpy  # noqa: I001
    import addon_utils

    bpy.context.preferences.system.sequencer_proxy_setup = "MANUAL"  # no proxy jobs headless
    bpy.context.preferences.filepaths.save_version = 0  # no .blend1 backups beside the project
    bpy.context.preferences.use_preferences_save = False  # nothing written at exit
    result = bpy.ops.extensions.package_install_files(
        filepath=str(archive), repo="user_default", enable_on_install=True
    )
    if result != {"FINISHED"} or addon_utils.check(PACKAGE) != (True, True):
        raise SystemExit("blender_demo: the extension did not install")
    return bpy, importlib.import_module(f"{PACKAGE}.compat")


def first_cut(sample: Path) -> int:
    """The source frame where the sample's second shot starts, as Restyle's shot detection finds it."""
    from restyle.core.media import decode_range, probe
    from restyle.core.shots import analyze_shots

    info = probe(sample)
    shots = analyze_shots(decode_range(sample, 0, info.frame_count - 1, info=info))
    if len(shots) < 2:
        raise SystemExit(f"blender_demo: {sample} has no cut to split at")
    return shots[1].start


def make_project(bpy, compat, sample: Path):
    """A scene at the sample's rate with the sample as a movie strip, split at its first cut."""
    from restyle.core.media import probe

    info = probe(sample)
    scene = bpy.data.scenes.new("Restyle demo")
    scene.render.resolution_x, scene.render.resolution_y = info.width, info.height
    scene.render.resolution_percentage = 100
    scene.render.fps, scene.render.fps_base = round(float(info.fps)), 1.0
    scene.view_settings.view_transform = "Standard"
    scene.sequence_editor_create()
    compat.set_sequencer_scene(bpy.context, scene)

    area = bpy.context.window.screen.areas[-1]
    area.type = "SEQUENCE_EDITOR"
    with compat.strip_add_context(bpy.context, area, scene):
        bpy.ops.sequencer.movie_strip_add(
            filepath=str(sample),
            frame_start=1,
            channel=1,
            sound=False,
            set_view_transform=False,
            use_framerate=False,
            **compat.strip_add_kwargs(),
        )
    (first,) = compat.strips(scene.sequence_editor)
    second = first.split(frame=first.frame_final_start + first_cut(sample), split_method="SOFT")
    first.name, second.name = "shot A", "shot B"
    scene.frame_start, scene.frame_end = first.frame_final_start, second.frame_final_end - 1
    return scene, first, second


def strip_entry(bpy, strip, what: str = "styled strip") -> tuple[Path, str]:
    return Path(bpy.path.abspath(strip.directory)), (
        f"{what} '{strip.name}' (channel {strip.channel}, "
        f"frames {strip.frame_final_start}-{strip.frame_final_end - 1})"
    )


@showcase("restyle.matte_strip")
def astronaut_over_the_painting(bpy, compat, scene, shots, out: Path) -> Made:
    """Shot B's astronaut, matted from the source, in front of the painted world around him."""
    shot_b = shots[1]
    first = shot_b.frame_final_start
    bpy.ops.restyle.matte_strip(strip=shot_b.name, frame_start=first, frame_end=first + 23)
    return [strip_entry(bpy, scene.sequence_editor.active_strip, "unstyled person matte")]


def run_showcases(bpy, compat, scene, shots, out: Path) -> Made:
    lines: Made = []
    for operator, function in SHOWCASES:
        module, name = operator.split(".")
        if name in dir(getattr(bpy.ops, module)):
            log(f"showing {operator}")
            lines += function(bpy, compat, scene, shots, out)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=Path, required=True, help="the clip to edit")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "demo" / "blender")
    parser.add_argument("--zip", type=Path, help="install this zip instead of building one")
    parser.add_argument("--style", default="delft-porcelain", help="built-in style for shot A")
    parser.add_argument(
        "--picture", type=Path, help="style picture for shot B (default: a second built-in)"
    )
    parser.add_argument("--summary", type=Path, help="also write the summary lines here")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    with tempfile.TemporaryDirectory(
        prefix="restyle-blender-demo-", ignore_cleanup_errors=True
    ) as scratch_dir:
        scratch = Path(scratch_dir)
        with quiet(scratch / "blender.log"):  # Blender's and the operators' own output
            archive = args.zip.resolve() if args.zip else build_zip(scratch)
            bpy, compat = install(archive, scratch / "blender-user")
            log(f"Blender {bpy.app.version_string}: installed {archive.name}")
            made = edit_and_render(bpy, compat, args, out)
    log(f"done in {time.perf_counter() - t0:.0f} s")
    for path, what in made:
        print(f"  {what}: {path}")
    if args.summary:  # tab-separated, for demo.sh's summary
        lines = (f"{path}\t{what}\n" for path, what in made)
        args.summary.write_text("".join(lines), encoding="utf-8")
    return 0


def edit_and_render(bpy, compat, args: argparse.Namespace, out: Path) -> Made:
    """The VSE project: two shots styled (and any showcases), saved and rendered."""
    scene, shot_a, shot_b = make_project(bpy, compat, args.sample.resolve())
    log(f"split the clip at its first cut, scene frame {shot_b.frame_final_start}")
    blend = out / "restyle-demo.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))  # styled frames go to //restyle/

    log(f"styling '{shot_a.name}' with {args.style}")
    bpy.ops.restyle.apply_style(strip=shot_a.name, style=args.style)
    b_style = str(args.picture.resolve()) if args.picture else "comic-ink"
    log(f"styling '{shot_b.name}' with {Path(b_style).name}")
    bpy.ops.restyle.apply_style(strip=shot_b.name, style=b_style, strength=0.8)
    styled = [s for s in compat.all_strips(scene.sequence_editor) if s.type == "IMAGE"]
    extra = run_showcases(bpy, compat, scene, (shot_a, shot_b), out)
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))

    movie = out / "restyle-demo.mp4"
    compat.set_movie_output(scene)
    scene.render.filepath = str(movie)
    log(f"rendering frames {scene.frame_start}-{scene.frame_end} of the edit")
    bpy.ops.render.render(animation=True, scene=scene.name)
    return [
        (blend, "the VSE project, the styled strips above the shots"),
        *(strip_entry(bpy, strip) for strip in styled),
        *extra,
        (movie, "the edit, rendered"),
    ]


if __name__ == "__main__":
    sys.exit(main())
