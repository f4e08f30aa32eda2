"""Run by test_undo_recipe in a fresh Blender (undo is off until a script turns it on): the
README's undo recipe and what Blender says without each half of it, as JSON lines."""

import json
import os
import sys
from pathlib import Path

# Inside the test's own folder, which pytest prunes: a mkdtemp here leaked ~660 MB per run.
os.environ["BLENDER_USER_RESOURCES"] = str(Path(sys.argv[2]) / "blender-user")
import bpy  # noqa: E402

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]
from clips import make_index_clip  # noqa: E402

zip_path, folder = sys.argv[1], Path(sys.argv[2])
bpy.context.preferences.system.sequencer_proxy_setup = "MANUAL"
bpy.ops.extensions.package_install_files(
    filepath=zip_path, repo="user_default", enable_on_install=True
)
clip = make_index_clip(folder / "clip.mp4", 6, (160, 96), fps=24, gop=6)
scene = bpy.context.scene
name = scene.name
editor = scene.sequence_editor_create()
owner = editor.strips if hasattr(editor, "strips") else editor.sequences
owner.new_movie(name="clip", filepath=str(clip), channel=1, frame_start=1)


def strips() -> list[str]:
    editor = bpy.data.scenes[name].sequence_editor  # undo reloads the data
    return sorted(
        (editor.strips_all if hasattr(editor, "strips_all") else editor.sequences_all).keys()
    )


def undo(case: str, *args, **settings) -> None:
    before = strips()
    result = bpy.ops.restyle.apply_style(
        *args, strip="clip", style="starry-swirls", frame_start=1, frame_end=2, **settings
    )
    made = strips()
    try:
        bpy.ops.ed.undo()
        said = ""
    except RuntimeError as exc:
        said = str(exc)
    print(json.dumps({"case": case, "result": sorted(result), "before": before, "made": made,
                      "after_undo": strips(), "said": said}), flush=True)  # fmt: skip


undo("no push")
bpy.ops.ed.undo_push(message="before Restyle")
undo("no True", strength=0.9)
bpy.ops.ed.undo_push(message="before Restyle")
undo("recipe", "EXEC_DEFAULT", True, strength=0.8)
