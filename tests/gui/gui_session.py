"""Drive Restyle's real interface in a Blender GUI (under Xvfb), as a user would.

Started by tests/gui/test_gui.py:

    xvfb-run blender --factory-startup --app-template Video_Editing \
        --python tests/gui/gui_session.py -- ZIP OUT

The steps run from a persistent timer (the interface keeps its event loop, so the modal
operator gets its timer and key events); what they find goes to OUT/report.json, the
screenshots to OUT/*.png (ImageMagick's ``import -window root``: Blender's own screenshot
operator gives black frames under Xvfb). Never raises into Blender: errors are reported.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import bpy

ZIP, OUT = (Path(a) for a in sys.argv[sys.argv.index("--") + 1 :][:2])
TESTS = Path(__file__).resolve().parent.parent
PACKAGE = "bl_ext.user_default.restyle"
STYLE = "comic-ink"
# Not "DEFAULT" (automatic, OpenVINO here): OpenVINO's CPU plugin crashes Debian's Blender 4.3
# (its TBB, loaded first, queries NUMA through Debian's hwloc: a segfault in
# ov::get_available_numa_nodes). The interface under test is the same for every engine.
BACKEND = "ONNX"
REPORT: dict = {"errors": [], "sidebar_draws": 0}


def save() -> None:
    (OUT / "report.json").write_text(json.dumps(REPORT, indent=1, default=str))


def screenshot(name: str) -> None:
    subprocess.run(["import", "-window", "root", str(OUT / name)], check=True, timeout=60)


def ext(module: str):
    return importlib.import_module(f"{PACKAGE}.{module}")


def sequencer():
    """The window, area and region of the template's sequencer timeline."""
    window = bpy.context.window_manager.windows[0]
    areas = [a for a in window.screen.areas if a.type == "SEQUENCE_EDITOR"]
    area = next((a for a in areas if a.spaces.active.view_type == "SEQUENCER"), areas[0])
    region = next(r for r in area.regions if r.type == "WINDOW")
    return window, area, region


def override():
    window, area, region = sequencer()
    return bpy.context.temp_override(window=window, area=area, region=region)


def count_sidebar_draws() -> None:
    """Count the main panel's draws (Blender looks ``draw`` up on the class at each draw)."""
    panel = bpy.types.RESTYLE_PT_main
    original = panel.draw

    def draw(self, context):
        REPORT["sidebar_draws"] += 1
        original(self, context)

    panel.draw = draw


def show_sidebar() -> None:
    _, area, _ = sequencer()
    area.spaces.active.show_region_ui = True
    sidebar = next(r for r in area.regions if r.type == "UI")
    try:
        sidebar.active_panel_category = "Restyle"
    except (AttributeError, TypeError) as exc:  # read-only in some versions
        REPORT["errors"].append(f"cannot select the Restyle tab: {exc}")
    area.tag_redraw()


def add_clip(frames: int):
    sys.path.insert(0, str(TESTS))
    from clips import make_index_clip  # needs av, from the zip's wheels

    path = make_index_clip(OUT / f"clip{frames}.mp4", frames, (160, 96))
    compat = ext("compat")
    scene = compat.sequencer_scene(bpy.context)
    scene.render.resolution_x, scene.render.resolution_y = 160, 96
    editor = scene.sequence_editor_create()
    strip = compat.strips(editor).new_movie(
        name=f"clip{frames}", filepath=str(path), channel=1, frame_start=1
    )
    editor.active_strip = strip
    with override():  # a step of its own, so that undo after Apply keeps the clip
        bpy.ops.ed.undo_push(message=f"Add clip{frames}")
    return scene, strip.name


def apply(strip: str, first: int, last: int) -> set[str]:
    with override():
        return bpy.ops.restyle.apply_style(
            "INVOKE_DEFAULT",
            strip=strip,
            style=STYLE,
            frame_start=first,
            frame_end=last,
            temporal=0.0,
            backend=BACKEND,
        )


def wait_for_run(run, label: str, on_progress=None):
    """Yield until the job ends; record the progress the sidebar had at each tick."""
    seen: list[list[int]] = []
    deadline = time.monotonic() + 240
    while run.running and time.monotonic() < deadline:
        if run.progress is not None and [run.progress.done, run.progress.total] not in seen:
            seen.append([run.progress.done, run.progress.total])
            if on_progress is not None:
                on_progress(run.progress)
        yield 0.05
    REPORT[f"{label}_progress"] = seen
    REPORT[f"{label}_status"] = run.status
    REPORT[f"{label}_summary"] = run.summary


def steps():
    # The first start shows the Quick Setup splash over everything; Esc closes it.
    subprocess.run(["xdotool", "mousemove", "500", "600", "key", "Escape"], check=True, timeout=30)
    yield 0.5
    result = bpy.ops.extensions.package_install_files(
        filepath=str(ZIP), repo="user_default", enable_on_install=True
    )
    REPORT["install"] = sorted(result)
    REPORT["blender"] = bpy.app.version_string
    REPORT["python"] = sys.version.split()[0]
    REPORT["numpy"] = importlib.import_module("numpy").__version__
    yield 0.5
    count_sidebar_draws()
    show_sidebar()
    scene, strip = add_clip(30)
    yield 2.0  # thumbnails load, the sidebar settles
    screenshot("sidebar.png")
    yield from look_at_the_style_picker(scene)
    run = ext("operators.runner").RUN

    # A modal run to the end: it must report progress, then leave the styled strip.
    try:  # the picker shows the style being applied (the README's screenshot)
        scene.restyle.style = STYLE
    except (AttributeError, TypeError) as exc:
        REPORT["errors"].append(f"cannot pick {STYLE}: {exc}")
    REPORT["apply_invoke"] = sorted(apply(strip, 3, 26))
    shot = {"due": False, "taken": False}

    def mid_run(progress):
        # One progress step after the sidebar first shows frames done, so it has redrawn.
        if shot["due"] and not shot["taken"]:
            screenshot("progress.png")
            shot["taken"] = True
        shot["due"] = shot["due"] or progress.done >= 1

    yield from wait_for_run(run, "apply", mid_run)
    yield 0.5
    editor = scene.sequence_editor
    styled = editor.active_strip
    compat = ext("compat")
    REPORT["styled"] = {
        "name": styled.name,
        "channel": styled.channel,
        "frames": list(compat.shown_frames(styled)),
        "files": len(styled.elements) if styled.type == "IMAGE" else None,
    }
    screenshot("finished.png")

    # One undo step takes the styled strip away, redo brings it back.
    with override():
        bpy.ops.ed.undo()
    yield 0.5
    scene = compat.sequencer_scene(bpy.context)
    names = [s.name for s in compat.all_strips(scene.sequence_editor)]
    REPORT["after_undo"] = names
    with override():
        bpy.ops.ed.redo()
    yield 0.5
    scene = compat.sequencer_scene(bpy.context)
    REPORT["after_redo"] = [s.name for s in compat.all_strips(scene.sequence_editor)]

    # Esc mid-run: the job stops, the finished frames stay.
    scene, long_strip = add_clip(120)
    REPORT["cancel_invoke"] = sorted(apply(long_strip, 1, 120))
    pressed = {"done": False}

    def press_escape(progress):
        if not pressed["done"] and progress.done >= 3:
            subprocess.run(["xdotool", "mousemove", "500", "600"], check=True, timeout=30)
            subprocess.run(["xdotool", "key", "Escape"], check=True, timeout=30)
            pressed["done"] = True

    yield from wait_for_run(run, "cancel", press_escape)
    folders = [p for p in Path(tempfile.gettempdir()).glob("restyle/clip120-*") if p.is_dir()]
    REPORT["cancel_folders"] = [str(p) for p in folders]
    REPORT["cancel_kept"] = sum(len(list(p.glob("*.png"))) for p in folders)
    names = [s.name for s in compat.all_strips(compat.sequencer_scene(bpy.context).sequence_editor)]
    REPORT["cancel_strips"] = names

    yield from look_at_edited_strips(scene)
    yield from look_at_every_panel(scene)
    yield from look_at_the_preferences()


class Labels:
    """A stand-in layout that keeps the text of each label a draw function adds."""

    def __init__(self):
        self.texts: list[str] = []

    def label(self, text="", icon="NONE"):
        self.texts.append(text)


def sequencer_alone(show: bool) -> None:
    with override():
        bpy.ops.screen.screen_full_area() if show else bpy.ops.screen.back_to_previous()


def strip_size(strip) -> list[int] | None:
    element = strip.elements[0] if len(getattr(strip, "elements", ())) else None
    return [element.orig_width, element.orig_height] if element is not None else None


def look_at_edited_strips(scene):
    """What changed in the sidebar with today's edits, past frame 400 (clear of the rest):
    two strips selected, keyframes of a moved then slipped strip, a phone movie styled
    (Debian's 4.3 shows it as stored), the picture browser, the Snap Cuts dialog."""
    compat, editor = ext("compat"), scene.sequence_editor
    strips = compat.strips(editor)
    a = strips.new_movie(
        name="Interview", filepath=str(OUT / "clip30.mp4"), channel=1, frame_start=401
    )
    b = strips.new_movie(
        name="B-roll", filepath=str(OUT / "clip30.mp4"), channel=2, frame_start=401
    )
    for strip in compat.all_strips(editor):
        strip.select = strip in (a, b)
    editor.active_strip = a
    labels = Labels()
    ext("panels.sequencer").draw_strip(labels, scene)
    REPORT["two_selected"] = labels.texts
    scene.frame_current = 410
    yield 1.0
    screenshot("two-selected.png")

    # Keyframes named at 410 and 420, the strip dragged 10 later, then trimmed and slipped.
    strips.remove(b)
    ext("operators.keyframes").add_keyframes(scene.restyle, a.name, [410, 420])
    compat.strip_set(a, "content_start", 411)
    label = ext("panels.keyframes").keyframe_label

    def listed():
        return sorted(label(k, a) for k in scene.restyle.keyframes if k.belongs_to(a))

    REPORT["keyframes_moved"] = listed()
    compat.strip_set(a, "left_handle", 418)
    with override():
        bpy.ops.sequencer.select_all(action="DESELECT")
        a.select, editor.active_strip = True, a
        bpy.ops.sequencer.slip(offset=-3)
    REPORT["keyframes_slipped"] = listed()
    keyframes = bpy.types.RESTYLE_PT_keyframes
    bpy.utils.unregister_class(keyframes)
    opened = type("RESTYLE_PT_keyframes_open", (keyframes,), {"bl_options": set()})
    opened.bl_idname = opened.__name__
    bpy.utils.register_class(opened)
    sequencer_alone(True)
    yield 1.0
    show_sidebar()
    yield 1.0
    screenshot("keyframes.png")
    sequencer_alone(False)
    bpy.utils.unregister_class(opened)
    bpy.utils.register_class(keyframes)
    yield 0.5
    show_sidebar()
    yield from style_a_phone_movie(scene)
    yield from look_at_the_picture_browser()
    yield from look_at_snap_cuts(scene)


def style_a_phone_movie(scene):
    """A movie tagged to be shown turned (-90), styled: the styled strip has the size its
    source strip shows, so it lies exactly over it in the preview."""
    sys.path.insert(0, str(TESTS))
    import av

    from clips import index_frame

    path = OUT / "phone.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.set_display_rotation(-90)
        for i in range(8):
            frame = av.VideoFrame.from_ndarray(index_frame(i, (64, 48)), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    compat, editor = ext("compat"), scene.sequence_editor
    phone = compat.strips(editor).new_movie(
        name="phone", filepath=str(path), channel=1, frame_start=501
    )
    editor.active_strip, scene.frame_current = phone, 503
    with override():
        bpy.ops.ed.undo_push(message="Add phone")
        REPORT["phone_invoke"] = sorted(
            bpy.ops.restyle.apply_style(
                "INVOKE_DEFAULT", strip="phone", style=STYLE, temporal=0.0, backend=BACKEND,
                frame_start=501, frame_end=508,
            )
        )  # fmt: skip
    yield from wait_for_run(ext("operators.runner").RUN, "phone")
    yield 1.5  # the preview draws both, which reads their sizes
    styled = editor.active_strip
    import cv2

    first = Path(bpy.path.abspath(styled.directory)) / styled.elements[0].filename
    picture = cv2.imread(str(first))
    REPORT["phone"] = {
        "source": strip_size(phone),
        "styled": strip_size(styled),
        "styled_png": [picture.shape[1], picture.shape[0]] if picture is not None else None,
        "frames": [list(compat.handles(s)) for s in (phone, styled)],
        "channels": [phone.channel, styled.channel],
        "transforms": [
            [s.transform.offset_x, s.transform.offset_y, s.transform.scale_x, s.transform.scale_y]
            for s in (phone, styled)
        ],
    }
    screenshot("phone-styled.png")
    styled.mute = True
    yield 1.0
    screenshot("phone-source.png")  # the same rectangle as phone-styled.png
    styled.mute = False


def sidebar_point(right: int, down: int) -> list[str]:
    """Screen coordinates of a point ``right`` of the sidebar's left edge (negative: from
    its right edge) and ``down`` from its top (the window fills the screen from 0, 0)."""
    window, area, _ = sequencer()
    sidebar = next(r for r in area.regions if r.type == "UI")
    x = sidebar.x + (right if right >= 0 else sidebar.width + right)
    return [str(x), str(window.height - (sidebar.y + sidebar.height) + down)]


def look_at_the_style_picker(scene):
    """The picker's popup (the big preview's) with the first and the last style selected;
    then Any Picture's one folder button, clicked. With clip30 alone active the sidebar
    shows its name, then the preview 6 units tall (its middle 126 pixels down at Debian's
    1.04 scale), then the style menu and, for Any Picture, the path and its button."""
    picker = sidebar_point(170, 126)
    items = ext("props").CATALOG.items
    REPORT["picker"] = []
    for style in (items[0][0], items[-2][0]):  # the last is Any Picture (an icon, no thumbnail)
        scene.restyle.style = style
        subprocess.run(["xdotool", "mousemove", *picker], check=True, timeout=30)
        yield 1.0
        closed, opened = f"picker-{style}-closed.png", f"picker-{style}.png"
        screenshot(closed)
        subprocess.run(["xdotool", "click", "1"], check=True, timeout=30)
        yield 1.5
        screenshot(opened)
        REPORT["picker"].append({"style": style, "closed": closed, "open": opened})
        REPORT["picker_top"] = int(picker[1]) - 62  # the preview's top edge
        subprocess.run(["xdotool", "key", "Escape"], check=True, timeout=30)
        yield 0.5

    scene.restyle.style = "PICTURE"
    subprocess.run(["xdotool", "mousemove", "600", "300"], check=True, timeout=30)
    yield 1.0
    screenshot("picture-sidebar.png")
    # The row of the path and its button, left of the sidebar's tabs.
    REPORT["picture_row"] = [int(v) for v in sidebar_point(0, 223) + sidebar_point(-30, 223)]
    subprocess.run(["xdotool", "mousemove", *sidebar_point(-49, 223)], check=True, timeout=30)
    yield 0.3
    subprocess.run(["xdotool", "click", "1"], check=True, timeout=30)
    yield 1.5
    REPORT["picture_button_opens"] = browsers()
    screenshot("picture-button-browser.png")
    browser = bpy.context.window_manager.windows[-1]  # Esc goes to the window under the pointer
    middle = [str(browser.x + browser.width // 2), str(browser.y + browser.height // 2)]
    subprocess.run(["xdotool", "mousemove", *middle], check=True, timeout=30)
    yield 0.5
    subprocess.run(["xdotool", "key", "Escape"], check=True, timeout=30)
    yield 1.0
    REPORT["picture_button_windows"] = len(bpy.context.window_manager.windows)
    scene.restyle.style = items[0][0]


def browsers() -> list[str]:
    """The operator of each file browser open in any window."""
    found = []
    for window in bpy.context.window_manager.windows:
        for area in window.screen.areas:
            op = area.spaces.active.active_operator if area.type == "FILE_BROWSER" else None
            if op is not None:
                found.append(op.bl_idname)
    return found


def look_at_the_picture_browser():
    """Choose Style Picture's file browser shows its Relative Path box, set from the
    preference (on in factory settings), as Blender's own browsers do."""
    with override():
        REPORT["picture_invoke"] = sorted(bpy.ops.restyle.pick_picture("INVOKE_DEFAULT"))
    yield 1.5
    found = []
    for window in bpy.context.window_manager.windows:
        for area in window.screen.areas:
            op = area.spaces.active.active_operator if area.type == "FILE_BROWSER" else None
            if op is not None and op.bl_idname == "RESTYLE_OT_pick_picture":
                found.append(op.relative_path)
    REPORT["picture_relative"] = found
    REPORT["relative_preference"] = bpy.context.preferences.filepaths.use_relative_paths
    screenshot("picture-browser.png")
    subprocess.run(["xdotool", "key", "Escape"], check=True, timeout=30)
    yield 1.0


def look_at_snap_cuts(scene):
    """The Snap Cuts dialog with one edit point to move and a locked one it skips."""
    sys.path.insert(0, str(TESTS))
    from clips import encode_clip, pan_frames

    shots = pan_frames(14, (160, 96), 3.0, seed=0) + pan_frames(14, (160, 96), -2.0, seed=4)
    path = encode_clip(OUT / "shots.mp4", shots, crf=20)
    compat = ext("compat")
    strips = compat.strips(scene.sequence_editor)
    for channel, names in ((1, ("Shot A", "Shot B")), (3, ("Locked shot", "Shot D"))):
        left, right = (
            strips.new_movie(name=n, filepath=str(path), channel=channel + i, frame_start=601)
            for i, n in enumerate(names)
        )
        compat.strip_set(left, "right_handle", 618)  # 3 frames after the cut at 615
        compat.strip_set(right, "left_handle", 618)
        right.channel = channel
    strips["Locked shot"].lock = True
    subprocess.run(["xdotool", "mousemove", "640", "560"], check=True, timeout=30)
    yield 0.5
    with override():
        REPORT["snap_invoke"] = sorted(
            bpy.ops.restyle.snap_cuts("INVOKE_DEFAULT", distance=4, selected_only=False)
        )
    yield 1.0
    screenshot("snap-cuts.png")
    subprocess.run(["xdotool", "key", "Escape"], check=True, timeout=30)
    yield 0.5


def look_at_every_panel(scene):
    """Every sub-panel open, the sidebar alone in the window, then scrolled to its end.

    The sub-panels start closed and the sidebar remembers that by panel id, so each one is
    registered again as a subclass under a new id, open (its own draw). Last in the session:
    it changes the panels and the screen.
    """
    closed = [c for c in ext("panels")._classes() if getattr(c, "bl_parent_id", None)]
    shown = []
    for cls in closed:
        bpy.utils.unregister_class(cls)
        options = set(getattr(cls, "bl_options", ())) - {"DEFAULT_CLOSED"}
        name = f"{cls.__name__}_open"
        shown.append(type(name, (cls,), {"bl_idname": name, "bl_options": options}))
        bpy.utils.register_class(shown[-1])
    editor = scene.sequence_editor
    editor.active_strip = next(s for s in ext("compat").all_strips(editor) if s.name == "clip30")
    with override():
        bpy.ops.screen.screen_full_area()
    yield 1.0
    show_sidebar()
    yield 1.5
    screenshot("panels-top.png")
    subprocess.run(["xdotool", "mousemove", "1100", "400"], check=True, timeout=30)
    yield 0.5  # Blender finds the region under the pointer from its motion, first
    wheel = ["xdotool", "click", "--repeat", "30", "--delay", "20", "5"]  # to the sidebar's end
    subprocess.run(wheel, check=True, timeout=30)
    subprocess.run(["xdotool", "mousemove", "600", "300"], check=True, timeout=30)  # no tooltip
    yield 1.5
    screenshot("panels-end.png")
    for cls in reversed(shown):  # the add-on's own again, so that it unregisters at quit
        bpy.utils.unregister_class(cls)
    for cls in closed:
        bpy.utils.register_class(cls)


def look_at_the_preferences():
    """Restyle's preferences, expanded, in a window moved onto the virtual screen."""
    bpy.ops.preferences.addon_show(module=PACKAGE)
    yield 2.0
    found = subprocess.run(
        ["xdotool", "search", "--name", "Preferences"], capture_output=True, text=True, timeout=30
    )
    for window in found.stdout.split():
        subprocess.run(["xdotool", "windowmove", window, "0", "0"], check=True, timeout=30)
        subprocess.run(["xdotool", "windowsize", window, "1000", "800"], check=True, timeout=30)
    yield 2.0
    screenshot("preferences.png")
    # The preferences' Copy Command buttons (beside commands too long to read) copy in full.
    command = ext("prefs").install_command()
    REPORT["copy_command"] = sorted(bpy.ops.restyle.copy_command(command=command))
    yield 0.5
    REPORT["clipboard"] = bpy.context.window_manager.clipboard == command


def drive(generator):
    def tick():
        try:
            delay = next(generator)
        except StopIteration:
            save()
            bpy.ops.wm.quit_blender()
            return None
        except Exception:
            REPORT["errors"].append(traceback.format_exc())
            save()
            bpy.ops.wm.quit_blender()
            return None
        save()
        return delay

    return tick


OUT.mkdir(parents=True, exist_ok=True)
bpy.app.timers.register(drive(steps()), first_interval=1.0, persistent=True)
