"""The README main job's Blender part: the real extension in headless Blender.

    .venv/bin/python scripts/blender_demo.py --sample out/demo/sample.mp4 --out out/demo/blender

Builds the extension zip, installs it into a fresh, private Blender user folder (your own
Blender settings are never touched), makes a VSE project from the sample clip (split in
two strips at a cut), styles the first strip with a built-in style and the second with a
picture as the style, saves the .blend beside the styled frames and renders the edit to an
MP4. Needs the ``bpy`` module (Blender as a Python module, ``pip install bpy==5.0.1``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "bl_ext.user_default.restyle"


def log(message: str) -> None:
    print(f"blender_demo: {message}", flush=True)


def build_zip(out: Path) -> Path:
    sys.path.insert(0, str(ROOT / "scripts"))
    import build_extension

    platform = {"linux": "linux-x64", "win32": "windows-x64", "darwin": "macos-arm64"}[
        sys.platform if sys.platform != "linux2" else "linux"
    ]
    dist = out / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    build_extension.main(
        ["--platform", platform, "--output-dir", str(dist), "--stage-dir", str(out / "stage")]
    )
    (archive,) = dist.glob("*.zip")
    return archive


def install(archive: Path, user: Path):
    """Install and enable the zip as a user would, in a private user folder."""
    shutil.rmtree(user, ignore_errors=True)
    os.environ["BLENDER_USER_RESOURCES"] = str(user)  # read when bpy is imported
    import bpy  # noqa: I001
    import addon_utils

    log(f"Blender {bpy.app.version_string}: installing {archive.name}")
    bpy.context.preferences.system.sequencer_proxy_setup = "MANUAL"  # no proxy jobs headless
    result = bpy.ops.extensions.package_install_files(
        filepath=str(archive), repo="user_default", enable_on_install=True
    )
    if result != {"FINISHED"} or addon_utils.check(PACKAGE) != (True, True):
        raise SystemExit("blender_demo: the extension did not install")
    return bpy, importlib.import_module(f"{PACKAGE}.compat")


def make_project(bpy, compat, sample: Path):
    """A 24 fps scene with the sample as a movie strip, split in two at frame ``cut``."""
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
    region = next(r for r in area.regions if r.type == "WINDOW")
    with bpy.context.temp_override(window=bpy.context.window, area=area, region=region, scene=scene):
        bpy.ops.sequencer.movie_strip_add(
            filepath=str(sample), frame_start=1, channel=1, sound=False,
            set_view_transform=False, use_framerate=False, **compat.strip_add_kwargs(),
        )
    (first,) = compat.strips(scene.sequence_editor)
    cut = first.frame_final_start + first.frame_final_duration // 2
    second = first.split(frame=cut, split_method="SOFT")
    first.name, second.name = "shot A", "shot B"
    scene.frame_start, scene.frame_end = first.frame_final_start, second.frame_final_end - 1
    return scene, first, second


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=Path, required=True, help="the clip to edit")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "demo" / "blender")
    parser.add_argument("--zip", type=Path, help="install this zip instead of building one")
    parser.add_argument("--style", default="starry-swirls", help="built-in style for shot A")
    parser.add_argument("--picture", type=Path, help="style picture for shot B "
                        "(default: a built-in style's thumbnail)")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    archive = args.zip.resolve() if args.zip else build_zip(out)
    bpy, compat = install(archive, out / "blender-user")
    scene, shot_a, shot_b = make_project(bpy, compat, args.sample.resolve())
    blend = out / "restyle-demo.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))  # styled frames go to //restyle/ beside it

    picture = args.picture or Path(importlib.import_module(PACKAGE).__file__).parent.joinpath(
        "models", "builtin", "thumbs", "carnival-ribbons.png"
    )
    log(f"styling '{shot_a.name}' with {args.style}")
    bpy.ops.restyle.apply_style(strip=shot_a.name, style=args.style)
    log(f"styling '{shot_b.name}' with the picture {picture.name}")
    bpy.ops.restyle.apply_style(strip=shot_b.name, style=str(picture), strength=0.8)
    styled = [s for s in compat.all_strips(scene.sequence_editor) if s.type == "IMAGE"]
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))

    movie = out / "restyle-demo.mp4"
    compat.set_movie_output(scene)
    scene.render.filepath = str(movie)
    log(f"rendering frames {scene.frame_start}-{scene.frame_end} of the edit")
    bpy.ops.render.render(animation=True, scene=scene.name)

    print()
    log(f"done in {time.perf_counter() - t0:.0f} s")
    print(f"  extension zip:  {archive}")
    print(f"  project:        {blend}")
    for strip in styled:
        print(f"  styled strip:   '{strip.name}' (channel {strip.channel}, frames "
              f"{strip.frame_final_start}-{strip.frame_final_end - 1}) in "
              f"{bpy.path.abspath(strip.directory)}")
    print(f"  rendered edit:  {movie}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
