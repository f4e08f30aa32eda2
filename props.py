"""Restyle's settings, stored per scene (``scene.restyle``), and the style picker's items.

The panel edits these; ``restyle.apply_style`` takes any setting it is not given from here.
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

import bpy
import bpy.utils.previews
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    FloatProperty,
    FloatVectorProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)
from bpy.types import PropertyGroup

from . import compat
from .core import writers
from .core.engines import choices
from .core.strip_frames import playback_factor, whole_strip
from .core.train.budget import TIME_BUDGET  # light: no numpy, no engine
from .prefs import library_root

PICTURE = "PICTURE"  # the style picker's "any picture…" entry
PICTURE_NUMBER = 1_000_000

SIZE_MODES = (
    ("ORIGINAL", "Original", "Style frames at their own size"),
    ("MAX_SIDE", "Longest Side", "Scale frames so their longest side is at most this many pixels"),
    ("SCALE", "Scale", "Scale frames by a factor; strokes grow as frames shrink"),
)
RUN_ON = (
    ("LOCAL", "This Computer", "Run in Blender, on this computer"),
    (
        "RAY",
        "Ray Cluster",
        "Submit to a Ray cluster through its dashboard (Blender needs no Ray install); the "
        "source, the .blend's folder and the styles must be on storage the cluster sees",
    ),
)
BACKENDS = choices.enum_items(
    choices.BACKENDS, default="Use the backend chosen in the add-on preferences"
)
DEVICES = choices.enum_items(
    choices.DEVICES, default="Use the device chosen in the add-on preferences"
)
# (identifier, name, description, format id), from the one format table (core/writers.py)
FORMATS = tuple(
    (f.id.upper(), f.label, f.description, f.id) for f in writers.OUTPUT_FORMATS.values()
)
FORMAT_WORDS = {identifier: word for identifier, _name, _desc, word in FORMATS}


# -- style picker ------------------------------------------------------------------------
class StyleCatalog:
    """The styles the picker offers, with thumbnails; rebuilt when the library changes.

    Blender keeps only a borrowed reference to dynamic enum items, so they live here.
    """

    def __init__(self) -> None:
        self.items: list[tuple[str, str, str, int, int]] = []
        self.previews = None
        self._stamps: dict[str, int] = {}  # each preview's thumbnail mtime when loaded
        self.root: Path | None = None
        self.loaded = False

    def reload(self, root: Path | None) -> None:
        from .core.styles import StyleLibrary

        self.root = root
        if self.previews is None:
            self.previews = bpy.utils.previews.new()
        items = []
        for info in StyleLibrary(root).list():
            icon = self._icon(info.id, info.thumbnail)
            number = _stable_number(info.id) if info.kind == "trained" else len(items)
            label = style_label(info.name, info.kind)
            items.append((info.id, label, info.description or info.name, icon, number))
        items.append(
            (
                PICTURE,
                "Any Picture…",
                "Use any picture file as the style",
                "FILE_IMAGE",
                PICTURE_NUMBER,
            )
        )
        self.items = items
        self.loaded = True

    def _icon(self, key: str, thumbnail: Path | None) -> int | str:
        if thumbnail is None or not Path(thumbnail).is_file():
            return "BRUSHES_ALL"
        # A style trained again under its name has a new thumbnail: the picker kept the old.
        stamp = Path(thumbnail).stat().st_mtime_ns
        if key in self.previews and self._stamps.get(key) != stamp:
            del self.previews[key]
        if key not in self.previews:
            self.previews.load(key, str(thumbnail), "IMAGE", force_reload=True)
            self._stamps[key] = stamp
        return self.previews[key].icon_id

    def name_of(self, style_id: str) -> str:
        return next((name for sid, name, *_ in self.items if sid == style_id), style_id)

    def close(self) -> None:
        if self.previews is not None:
            bpy.utils.previews.remove(self.previews)
        self.previews = None
        self._stamps.clear()
        self.items = []
        self.loaded = False


CATALOG = StyleCatalog()


def style_label(name: str, kind: str) -> str:
    """What the style list calls a style: a trained one says so."""
    return name + (" (trained)" if kind == "trained" else "")


def trained_label(folder: str | Path) -> str:
    """What the style list calls the trained style saved in ``folder``, read from the style
    itself (its metadata's name, as ``StyleLibrary.trained`` reads it): the catalogue may
    not hold it (not read since, or another library folder), and its fallback, the bare id,
    named 'My Style' what the list calls 'My Style (trained)'."""
    import json

    from .core.styles import META_FILE

    folder = Path(folder)
    try:
        name = json.loads((folder / META_FILE).read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError, AttributeError):
        name = None
    return style_label(name if isinstance(name, str) and name else folder.name, "trained")


def _stable_number(style_id: str) -> int:
    """Enum numbers are what a .blend stores; keep a trained style's number fixed by name."""
    return 1000 + zlib.crc32(style_id.encode()) % 900_000


def style_items(_self, context):
    root = library_root(context) if context else None
    if not CATALOG.loaded or root != CATALOG.root:  # a new library folder in the preferences
        try:
            CATALOG.reload(root)
        except Exception as exc:  # a broken library must not break the sidebar
            CATALOG.items = [
                (
                    PICTURE,
                    "Any Picture…",
                    f"Style library unreadable: {exc}",
                    "FILE_IMAGE",
                    PICTURE_NUMBER,
                )
            ]
    return CATALOG.items


BACKGROUND_KINDS = (
    ("COLOR", "Color", "A flat color", "COLOR", 0),
    ("BLUR", "Blur", "The strip the matte was made from, blurred", "MOD_SMOOTH", 1),
    ("PICTURE", "Picture", "A picture file", "FILE_IMAGE", 2),
    ("STRIP", "Strip", "Another strip, e.g. the source in another style", "SEQUENCE", 3),
)


def background_text(settings) -> str:
    """Replace Background's ``background`` (its documented text: ``#RRGGBB``, ``BLUR``, a
    picture file or a strip name) from the sidebar's choice; '' where none is given yet."""
    kind = settings.background_kind
    if kind == "COLOR":
        rgb = (round(min(max(c, 0.0), 1.0) * 255) for c in settings.background_color)
        return "#{:02X}{:02X}{:02X}".format(*rgb)
    if kind == "BLUR":
        return "BLUR"
    return (settings.background_picture if kind == "PICTURE" else settings.background_strip).strip()


# Stabilize's modes and settings (the operator's defaults, and the sidebar's)
STABILIZE_MODES = [
    ("TRANSLATION", "Translation", "Shifts only"),
    ("SIMILARITY", "Similarity", "Shifts, rotation and zoom"),
    ("PERSPECTIVE", "Perspective", "Full perspective (a homography per frame)"),
]
# Each setting's one spec: the scene's ``stabilize_*`` (the sidebar) and the operator's own
# properties are built from it (the operator adds SKIP_SAVE).
STABILIZE_SPECS = {
    "mode": {"name": "Mode", "items": STABILIZE_MODES, "default": "SIMILARITY"},
    "smoothness": {
        "name": "Smoothness",
        "description": "How far the steadied camera may drift from the real one",
        "default": 0.7,
        "min": 0.0,
        "max": 1.0,
        "subtype": "FACTOR",
    },
    "crop": {
        "name": "Crop",
        "description": "The most of the width and height cropped away (no empty border shows)",
        "default": 0.1,
        "min": 0.0,
        "max": 0.5,
        "subtype": "FACTOR",
    },
    "strength": {
        "name": "Stabilize Strength",  # not the style's Strength, a slider above it
        "description": "How much of the shake to remove",
        "default": 1.0,
        "min": 0.0,
        "max": 1.0,
        "subtype": "FACTOR",
    },
    "tripod": {"name": "Tripod", "description": "Keep the camera still wherever the crop allows"},
}


def soft_range(spec: dict) -> dict:
    """A sidebar setting's ``spec`` for the operator property a script sets: its range as
    soft limits (the slider's) and no hard ones. Blender clamps a value out of hard limits
    as it is assigned, so the operator never saw it: a script's smoothness=9.0 ran at 1
    (bpy 5.0.1); the job now refuses it, in the core's words (Smoothness 9.0 is out of range
    0..1). The sidebar's own settings keep hard limits: typed out of range, they clamp."""
    return {f"soft_{k}" if k in ("min", "max") else k: v for k, v in spec.items()}


def as_given(operator, name: str):
    """``operator``'s property ``name`` for the job: a float out of its soft range (``soft_range``,
    the core's range: the job refuses it) as a script gave it (``single``: crop=0.9 was said
    'Crop 0.8999999761581421 is out of range 0..0.5'); any other value as held (frames made
    before are keyed by it)."""
    value = getattr(operator, name)
    prop = operator.properties.bl_rna.properties[name]
    if prop.type != "FLOAT" or prop.soft_min <= value <= prop.soft_max:
        return value
    return single(value)


def single(value):
    """A float property's ``value`` as a script gave it: the shortest decimal that Blender's
    single-precision float holds (0.9, not 0.8999999761581421); any other value as it is."""
    if not isinstance(value, float):
        return value
    held = struct.pack("f", value)
    said = (float(f"{value:.{digits}g}") for digits in range(1, 10))
    return next(v for v in said if struct.pack("f", v) == held)


STABILIZE_DEFAULTS = {
    **{name: spec["default"] for name, spec in STABILIZE_SPECS.items() if "default" in spec},
    "output_format": "PNG",
}


STYLED_SOURCES = (
    (
        "FOLDER",
        "Folder",
        "Painted images in a folder, named by scene frame (0012.png or 12.png); "
        "empty: the folder Export Keyframes writes to",
    ),
    ("STRIPS", "Strips Above", "Image strips placed above the source at the keyframes"),
)


# -- settings ----------------------------------------------------------------------------
STRIP_KEY = "restyle_key"  # a strip's identity, an ID property: it follows renames
# On a strip (ID properties, so a split part or copy has them too): the scene frame where its
# content's first source frame lay when its keyframes were first named, and the scene frames
# per source frame then. Keyframes are frames of the content: moved or slipped, the strip
# takes them along; each keeps the name (and painting file) it was given.
FRAME_ORIGIN = "restyle_frame_origin"
FRAME_RATE = "restyle_frame_rate"
# Whether the strip is a movie playing at its own rate (added with Adjust Playback Rate), so
# that a new scene frame rate scales its content: its length tells (``plays_at_own_rate``)
# once the scene's rate is not the movie's; recorded by an operator once it can tell. Until
# then the movie's frame count as Blender counts it, read from the strip at the movie's rate,
# lets the sidebar tell at another rate.
OWN_RATE = "restyle_own_rate"
MOVIE_FRAMES = "restyle_movie_frames"


def sharing_key(strip) -> list:
    """The strips carrying ``strip``'s key, itself included: more than one after Blender's
    split, duplicate or paste copied it, until a keyframe write parts them."""
    key = strip.get(STRIP_KEY)
    if not key:
        return [strip]
    return [s for s in compat.all_strips(strip.id_data.sequence_editor) if s.get(STRIP_KEY) == key]


def _shows(strip, frame: int) -> bool:
    first, last = compat.shown_frames(strip)
    return first <= frame <= last


def content_origin(strip, rate: float) -> float:
    """The scene frame of the source's first frame: where the content starts, less what a
    hard split (Shift-K) trimmed off its start (source frames, ``rate`` scene frames each)."""
    trimmed = compat.strip_get(strip, "content_trim_start") * rate
    return compat.strip_get(strip, "content_start") - trimmed


def _frame_shift(strip) -> int:
    """Scene frames ``strip``'s content moved (dragged, slipped, its meta moved) since its
    keyframes were named, at the rate they were named at: a keyframe named ``n`` is at scene
    frame ``n + shift`` then. 0 for a strip whose keyframes were never named (files from
    before: keyed on open). Once the scene's frame rate has rescaled the strip, each keyframe
    moved by its own amount: ask ``scene_frame_of`` and ``name_at``, which call this only
    where the rate is the named one."""
    origin = strip.get(FRAME_ORIGIN)
    if origin is None:
        return 0
    return round(content_origin(strip, strip.get(FRAME_RATE, 1.0)) - origin)


def plays_at_own_rate(strip) -> bool | None:
    """Whether ``strip`` is a movie playing at its own rate, from what it records and its
    length now (only reads, so the sidebar may ask); None where neither tells yet. A strip
    named at a rate other than 1 scene frame per source frame is one."""
    if OWN_RATE in strip:
        return bool(strip[OWN_RATE])
    if strip.type != "MOVIE":
        return False
    if abs(strip.get(FRAME_RATE, 1.0) - 1.0) > 1e-6:
        return True
    return compat.movie_plays_at_own_rate(strip, strip.get(MOVIE_FRAMES))


def rate_now(strip) -> float:
    """Scene frames per source frame of ``strip`` now: a movie playing at its own rate
    follows the scene's rate; any other strip, or one not known to, keeps the rate its
    keyframes were named at (1)."""
    named = strip.get(FRAME_RATE, 1.0)
    if strip.type != "MOVIE" or not strip.fps or not plays_at_own_rate(strip):
        return named
    return 1.0 / playback_factor(strip.fps, *compat.scene_fps(strip.id_data))


def rate_changed(strip) -> bool:
    """Whether the scene's frame rate rescaled ``strip`` since its keyframes were named."""
    named = strip.get(FRAME_RATE, 1.0)
    return FRAME_ORIGIN in strip and abs(rate_now(strip) - named) > 1e-6 * named


def scene_frame_of(strip, name: int) -> int:
    """The scene frame a keyframe named ``name`` is at in ``strip`` now: where the content
    moved it; where the scene's rate rescaled the strip, the first frame showing the
    picture it named (Blender rounds a source frame half up)."""
    if not rate_changed(strip):
        return name + _frame_shift(strip)
    now = rate_now(strip)
    return _frame_showing(content_origin(strip, now), picture_named(strip, name), now)


def name_at(strip, frame: int) -> int:
    """The name a keyframe at scene ``frame`` of ``strip`` has: ``scene_frame_of``'s inverse
    (a name of the picture it shows, at the rate the strip's keyframes were named)."""
    if not rate_changed(strip):
        return frame - _frame_shift(strip)
    return _frame_showing(strip[FRAME_ORIGIN], _picture_now(strip, frame), strip[FRAME_RATE])


def picture_named(strip, name: int) -> int:
    """The source frame a keyframe named ``name`` was named on (the content's own count)."""
    return math.floor((name - strip[FRAME_ORIGIN]) / strip[FRAME_RATE] + 0.5)


def _picture_now(strip, frame: int) -> int:
    """The source frame ``strip`` shows at scene ``frame`` at the scene's rate now."""
    now = rate_now(strip)
    return math.floor((frame - content_origin(strip, now)) / now + 0.5)


def skips_named_picture(strip, name: int) -> bool:
    """Whether a scene rate lower than the one ``name`` was named at skips the picture it
    names: the keyframe then sits on a neighbour (``scene_frame_of``), or on another
    keyframe, and its painting is of a picture no frame shows."""
    if not rate_changed(strip):
        return False
    return _picture_now(strip, scene_frame_of(strip, name)) != picture_named(strip, name)


def _frame_showing(origin: float, picture: int, rate: float) -> int:
    """The first frame showing source frame ``picture`` of content that starts at
    ``origin`` with ``rate`` frames per source frame; one the rate skips: the nearest."""
    first = math.ceil(origin + (picture - 0.5) * rate - 1e-6)
    if first < origin + (picture + 0.5) * rate - 1e-6:
        return first
    return math.floor(origin + picture * rate + 0.5)


class RESTYLE_PG_keyframe(PropertyGroup):
    """One keyframe: a frame of one strip's content (the list shows the active strip's).

    Strips have no stable id, so a strip with keyframes carries its own key (``STRIP_KEY``)
    and each keyframe the same key: the keyframes follow it through a rename. Keyframes
    without a key (files from before) are the strip's of that name. ``frame`` is the scene
    frame it had where the strip stood when its keyframes were named (``FRAME_ORIGIN``),
    which also names its painting; ``scene_frame`` is where it is now."""

    strip: StringProperty(name="Strip", description="The strip's name when last written")
    key: StringProperty(name="Strip Key")
    frame: IntProperty(
        name="Frame",
        description="Scene frame of the keyframe when its strip's keyframes were named, "
        "and the name of its painting",
    )

    def scene_frame(self, strip) -> int:
        """The scene frame this keyframe is at in ``strip`` as it stands now."""
        return scene_frame_of(strip, self.frame)

    def belongs_to(self, strip, sharing: list | None = None) -> bool:
        """Whether this keyframe is ``strip``'s: by the strip's key, which survives a rename;
        a keyframe from a file older than keys has none and goes by the strip's name. Of
        strips sharing the key (``sharing``, found when not given), each lists the keyframes
        it shows, so the parts of Blender's split list theirs; one shown by none is all's."""
        if not self.key:
            return self.strip == strip.name
        if self.key != strip.get(STRIP_KEY):
            return False
        sharing = sharing_key(strip) if sharing is None else sharing
        if len(sharing) < 2 or _shows(strip, self.scene_frame(strip)):
            return True
        return not any(_shows(s, self.scene_frame(s)) for s in sharing)


class RESTYLE_PG_settings(PropertyGroup):
    style: EnumProperty(name="Style", description="The style to apply", items=style_items)
    # No FILE_PATH subtype: Blender would draw its own browse button beside
    # the sidebar's Choose Style Picture (which shows pictures only and keeps the '//'
    # preference); one folder button. Scripts set it as any string.
    picture: StringProperty(
        name="Picture",
        description="Any picture to take the style from",
        options=compat.blend_relative_path(),  # '//' paths (relative to the .blend)
    )
    strength: FloatProperty(
        name="Strength",
        description="How much of the style to apply; 0 keeps the source",
        default=1.0,
        min=0.0,
        max=1.0,
        subtype="FACTOR",
    )
    size_mode: EnumProperty(name="Processing Size", items=SIZE_MODES, default="ORIGINAL")
    max_side: IntProperty(
        name="Longest Side",
        description="Frames are styled at most this large; smaller sizes give bigger strokes",
        default=1024,
        min=32,
        max=16384,
        subtype="PIXEL",
    )
    scale: FloatProperty(
        name="Scale",
        description="Frames are styled at this scale; smaller scales give bigger strokes",
        default=1.0,
        min=0.05,
        max=4.0,
    )
    preserve_colors: BoolProperty(
        name="Preserve Colors",
        description="Take only the style's strokes and keep the source's colors",
    )
    temporal: FloatProperty(
        name="Temporal Coherence",
        description="Steady the style from frame to frame along the motion (0 is off)",
        default=0.5,  # as the restyle command
        min=0.0,
        max=1.0,
        subtype="FACTOR",
    )
    carry: FloatProperty(
        name="Carry Keyframes",
        description="Trained styles: carry your painted keyframes onto frames that show the "
        "same scene (0: the learned network alone)",
        default=1.0,  # as the restyle command
        min=0.0,
        max=1.0,
        subtype="FACTOR",
    )
    backend: EnumProperty(name="Backend", items=BACKENDS, default="DEFAULT")
    device: EnumProperty(name="Device", items=DEVICES, default="DEFAULT")
    output_format: EnumProperty(
        name="Format",
        items=[(i, n, d) for i, n, d, _w in FORMATS],
        default="PNG",
    )
    run_on: EnumProperty(name="Run On", items=RUN_ON, default="LOCAL")
    ray_address: StringProperty(
        name="Ray Dashboard",
        description="The Ray cluster's dashboard address, host:port (port 8265 if left out)",
        default="127.0.0.1:8265",
    )
    frame_start: IntProperty(
        name="Start",
        description="First scene frame to style (Start and End both 0: the strip's whole range)",
        default=0,
    )
    frame_end: IntProperty(
        name="End",
        description="Last scene frame to style, inclusive (0: to the strip's last frame)",
        default=0,
    )

    # -- background (matte): Replace Background's text is made of these (background_text) --
    background_kind: EnumProperty(name="Background", items=BACKGROUND_KINDS, default="BLUR")
    background_color: FloatVectorProperty(
        name="Color",
        description="The color behind the matte",
        subtype="COLOR_GAMMA",
        size=3,
        min=0.0,
        max=1.0,
        default=(0.0, 0.0, 0.0),
    )
    background_picture: StringProperty(
        name="Picture",
        description="The picture behind the matte (scaled to fill the frame)",
        subtype="FILE_PATH",
        options=compat.blend_relative_path(),
    )
    background_strip: StringProperty(
        name="Strip",
        description="The strip shown behind the matte (a styled copy of the source, say)",
    )

    # -- stabilize: the Stabilize button runs with these --
    stabilize_mode: EnumProperty(**STABILIZE_SPECS["mode"])
    stabilize_smoothness: FloatProperty(**STABILIZE_SPECS["smoothness"])
    stabilize_crop: FloatProperty(**STABILIZE_SPECS["crop"])
    stabilize_strength: FloatProperty(**STABILIZE_SPECS["strength"])
    stabilize_tripod: BoolProperty(**STABILIZE_SPECS["tripod"])

    # -- keyframes and training --
    keyframes: CollectionProperty(type=RESTYLE_PG_keyframe)
    keyframe_index: IntProperty(name="Active Keyframe", default=-1)
    styled_from: EnumProperty(
        name="Painted From",
        description="Where the painted (styled) keyframes are",
        items=STYLED_SOURCES,
        default="FOLDER",
    )
    styled_folder: StringProperty(
        name="Folder",
        description="Painted keyframes, one image per keyframe named by its scene frame "
        "(empty: the folder Export Keyframes writes to)",
        subtype="DIR_PATH",
        options=compat.blend_relative_path(),
    )
    train_name: StringProperty(
        name="Name", description="Name of the style to train", default="My Style"
    )
    time_budget: FloatProperty(
        name="Time Budget",
        description="Seconds training may take, counted from the click (reading the frames "
        "included; saving the style comes after it); it stops earlier once it stops improving",
        default=300.0,
        min=TIME_BUDGET[0],  # the one range: train's and matte's (0.01..86400 s)
        max=TIME_BUDGET[1],
        step=1000,
        precision=0,
        unit="TIME_ABSOLUTE",
    )
    overwrite_style: BoolProperty(
        name="Replace Existing", description="Replace a trained style of the same name"
    )
    open_exported: BoolProperty(
        name="Load into Blender",
        description="Also load exported keyframes as images, to paint them in the Image Editor",
        default=True,
    )

    @property
    def whole_strip(self) -> bool:
        return whole_strip(self.frame_start, self.frame_end)

    def strip_keyframes(self, strip: str) -> list[int]:
        """The keyframes of the strip named ``strip``, in scene frames where it stands now,
        sorted (of a strip no longer there: those last written under that name); a frame
        two keyframes share (``keyframe_clash``) is there twice."""
        return sorted(frame for frame, _name in self.named_keyframes(strip))

    def keyframe_names(self, strip: str) -> dict[int, int]:
        """Scene frame → name (the frame its painting is named by) of each keyframe of the
        strip named ``strip``; they differ once the strip was moved or slipped. Two on one
        frame (``keyframe_clash``) give one entry: refuse those first."""
        return dict(self.named_keyframes(strip))

    def named_keyframes(self, strip: str) -> list[tuple[int, int]]:
        """(scene frame, name) of each keyframe of the strip named ``strip``, sorted by name."""
        editor = self.id_data.sequence_editor
        found = compat.all_strips(editor).get(strip) if editor else None
        if found is None:
            return sorted((k.frame, k.frame) for k in self.keyframes if k.strip == strip)
        sharing = sharing_key(found)
        named = sorted(k.frame for k in self.keyframes if k.belongs_to(found, sharing))
        return [(scene_frame_of(found, name), name) for name in named]

    def keyframe_clash(self, strip: str) -> str:
        """Why two keyframes of the strip named ``strip`` cannot both be used, or '': a scene
        rate lower than the one they were named at can put two on one frame, showing one
        picture for two paintings."""
        editor = self.id_data.sequence_editor
        found = compat.all_strips(editor).get(strip) if editor else None
        if found is None or not rate_changed(found):
            return ""
        seen: dict[int, int] = {}
        for frame, name in self.named_keyframes(strip):
            if frame not in seen:
                seen[frame] = name
                continue
            return (
                f"keyframes {seen[frame]} and {name} of '{strip}' (painted as "
                f"{seen[frame]:04d}.png and {name:04d}.png) are both on frame {frame} at "
                f"{_fps_words(_scene_rate(found))}: remove one, or set Output > Frame Rate "
                f"back to {_fps_words(found[FRAME_RATE] * found.fps)}"
            )
        return ""


def _scene_rate(strip) -> float:
    fps, base = compat.scene_fps(strip.id_data)
    return fps / base


def _fps_words(rate: float) -> str:
    return f"{round(rate, 3):g} fps"


classes = (RESTYLE_PG_keyframe, RESTYLE_PG_settings)
_register, _unregister = bpy.utils.register_classes_factory(classes)


def register() -> None:
    _register()
    bpy.types.Scene.restyle = PointerProperty(type=RESTYLE_PG_settings)


def unregister() -> None:
    del bpy.types.Scene.restyle
    _unregister()
    CATALOG.close()
