"""A pipeline TD's script, run windowless: ``blender -b --factory-startup --python
headless_apply.py -- ZIP CLIP OUT``. Installs the zip, puts CLIP in a new VSE project, styles
frames 2..9 with a built-in style, saves the .blend, and writes OUT/report.json."""

import json
import sys
import traceback
from pathlib import Path

import bpy

zip_path, clip, out = sys.argv[sys.argv.index("--") + 1 :]
out = Path(out)
report = {"blender": bpy.app.version_string, "background": bpy.app.background}
try:
    report["install"] = sorted(
        bpy.ops.extensions.package_install_files(
            filepath=zip_path, repo="user_default", enable_on_install=True
        )
    )
    scene = bpy.context.scene
    scene.render.fps = 24
    editor = scene.sequence_editor_create()
    strips = editor.strips if hasattr(editor, "strips") else editor.sequences
    movie = strips.new_movie("shot", clip, channel=1, frame_start=1)
    bpy.ops.wm.save_as_mainfile(filepath=str(out / "project.blend"))
    report["apply"] = sorted(
        bpy.ops.restyle.apply_style(strip=movie.name, style="comic-ink", frame_start=2, frame_end=9)
    )
    styled = editor.active_strip
    report["styled"] = [styled.name, styled.channel, styled.type, styled.directory]
    bpy.ops.wm.save_mainfile()
except Exception:  # the report says what broke
    report["error"] = traceback.format_exc()
(out / "report.json").write_text(json.dumps(report))
