"""Every difference between the Blender versions Restyle supports (4.2 LTS … 5.3), in one place.

- 5.1 renamed the strip timing properties (``STRIP_TIMING``; the old names are deprecated,
  removal planned for 6.0): read and write them with ``strip_get``/``strip_set`` by their
  new names, which fall back to the old names before 5.1.

- 4.4 renamed ``sequences``/``sequences_all`` to ``strips``/``strips_all`` (old names gone
  in 5.0), for the editor and for meta strips alike.
- 5.0 edits the sequencer of ``context.sequencer_scene`` (the workspace's), which may differ
  from ``context.scene`` or be None; before 5.0 it is always ``context.scene``.
- 5.0 added ``move_strips`` to the strip-add operators (they start a grab unless told not to).
- 4.4 changed ``new_effect``'s ``frame_end`` to ``length``.
- 4.5 warns when a '//' path is stored in a string property not marked as taking one
  (``PATH_SUPPORTS_BLEND_RELATIVE``, an option 4.2 does not know).
- The flag that makes a movie play at its own frame rate is not exposed to Python in any
  version; ``movie_plays_at_own_rate`` tells it from the strip's length. For
  such strips ``frame_duration`` is in source frames before 5.0 and in scene frames in 5.0,
  so ``content_duration`` measures the content from its handles instead.
- 4.2/4.5 leave a meta made by ``new_meta`` + ``move_to_meta`` 1 frame long (5.0 sizes it
  to its strips; adding a strip into it does, in every version): it holds its first frame.
  No code differs: the mapping reads each meta's own length (``strip_source.meta_timing``).
- 4.4 shows a movie tagged with a display rotation (phone footage) turned upright; before,
  as stored (``MOVIE_STRIPS_SHOW_ROTATION``).
- No version differs (4.2-5.3): a movie strip counts its frames from the stream's start time, so
  a movie whose first picture comes later (mpeg4 with B-frames in AVI) shows it held over
  the frames before it (``MOVIE_STRIPS_HOLD_LEAD_IN``).
- No version differs (4.2-5.0): a strip's Color settings (``color_saturation``,
  ``color_multiply``, ``use_float``, a Replace blend's ``blend_alpha``) and its modifiers'
  ``mute`` (5.0 adds ``enable``) have the same names (``strip_color``, ``strip_modifiers``).
- 5.2 makes an 8-bit picture float before its Saturation when Convert to Float is on (4.2-5.1
  saturate it as bytes first): ``STRIP_COLOR_SATURATES_IN_FLOAT``, StripColor's
  ``saturate_in_float``.
"""

from __future__ import annotations

import bpy

from .core.strip_frames import StripColor, playback_factor

# A movie strip stands a movie tagged with a display rotation upright; before 4.4 it shows
# the pictures as stored. Measured: a 64x48 movie tagged -90 degrees gives a movie strip
# whose elements[0].orig_width x orig_height is 64x48 on 4.2.23 LTS (bpy) and 4.3.2 (Debian),
# 48x64 on 4.4.0, 4.5.15 LTS, 5.0.1 (bpy), 5.2 and 5.3. Jobs read movies as the strip shows
# them (core.media.probe's ``upright``), so a styled strip lies exactly over its source.
MOVIE_STRIPS_SHOW_ROTATION = bpy.app.version >= (4, 4, 0)
# How a movie strip applies a display matrix, as core.media.probe's ``upright``: 4.4+ its
# rotation only, ignoring a mirror (a left-right mirror shows turned 180 degrees; rendered
# on 4.5.15, 5.0.1, 5.2.3, 5.3.0), before 4.4 none of it.
MOVIE_STRIPS_UPRIGHT = "rotation" if MOVIE_STRIPS_SHOW_ROTATION else False

# A movie strip counts its frames from the video stream's start time, showing at each frame
# the picture whose time span holds it, the first picture before it: a movie whose first
# picture comes after its start time (mpeg4 with B-frames in AVI: OpenCV's Megamind.avi, or
# FFmpeg's own muxer) shows it at frames 0 and 1, picture i at frame i + 1, and never its
# last. Players start at the first picture. The jobs read movies so (core.media.probe's
# ``hold_lead_in``, ``MediaInfo.lead_in``), so a styled strip lies exactly over its source;
# the command line says ``--hold-lead-in`` (a Ray submission, for such a movie). Measured by
# rendering the strip alone at every frame, in order and at random, matched to the decoded
# pictures (Megamind.avi's 270, index-coded B-frame AVIs' 40): the same on 4.2.23 LTS
# (FFmpeg 6.1), 4.5.15 LTS and 5.0.1 (7.1), 5.2.3 LTS and 5.3.0 (8.0).
MOVIE_STRIPS_HOLD_LEAD_IN = True

# Blender 5's raw cache (the Sequencer sidebar's Cache tab: Cache Settings, Raw; on by
# default) files a movie's frame under its frame index truncated, while the decoder reads it
# rounded half up (source_image_cache.cc vs render.cc), so scene frames whose index truncates
# alike but rounds apart (a movie slower than the scene) show whichever was decoded first:
# a 10 fps index MP4 in a 25 fps scene renders 0,0,0,1,1,2,2,2 forward where 4.2 (float keys)
# and Restyle give 0,0,1,1,2,2,2,3. Measured on bpy 5.0.1, 5.2.3 and 5.3.0 (8bc05dc, ff011fb,
# 924c1a0; tests/blender/test_rate_adjusted_timing.py); 5.1 unverified.
# ``strip_source.raw_cache_warning`` says so after a run.
RAW_CACHE_TRUNCATES = bpy.app.version >= (5, 0, 0)

# Strip timing: the 5.1 name → the name before 5.1 (same meaning and unit).
STRIP_TIMING = {
    "left_handle": "frame_final_start",  # first scene frame shown
    "right_handle": "frame_final_end",  # one past the last frame shown
    "duration": "frame_final_duration",  # frames shown
    "content_start": "frame_start",  # where the content's first frame would be
    "content_duration": "frame_duration",  # the content's length, handles ignored
    "left_handle_offset": "frame_offset_start",  # frames hidden by the left handle
    "right_handle_offset": "frame_offset_end",  # frames hidden by the right handle
    "content_trim_start": "animation_offset_start",  # source frames trimmed off the start
    "content_trim_end": "animation_offset_end",  # source frames trimmed off the end
}


def _timing_name(strip, name: str) -> str:
    return name if name in strip.bl_rna.properties else STRIP_TIMING[name]


def strip_get(strip, name: str):
    """A strip timing property by its 5.1 name, in any version."""
    return getattr(strip, _timing_name(strip, name))


def strip_set(strip, name: str, value) -> None:
    """Set a strip timing property by its 5.1 name, in any version."""
    setattr(strip, _timing_name(strip, name), value)


def handles(strip) -> tuple[int, int]:
    """The first scene frame the strip shows and one past its last."""
    return strip_get(strip, "left_handle"), strip_get(strip, "right_handle")


def shown_frames(strip) -> tuple[int, int]:
    """The first and last scene frame the strip shows (inclusive)."""
    left, right = handles(strip)
    return left, right - 1


def sequencer_scene(context: bpy.types.Context) -> bpy.types.Scene | None:
    """The scene whose sequencer the user edits. From 5.0 the workspace's; in a Sequencer
    whose workspace has none, None: Blender's own sequencer then shows and edits nothing,
    and Restyle acted on the window's scene, which that Sequencer does not show. Scripts
    and ``blender -b`` (no Sequencer in their context) take the context's scene then."""
    scene = getattr(context, "sequencer_scene", None)
    if scene is not None:
        return scene
    space = getattr(context, "space_data", None)
    if _workspace_has_scene() and space is not None and space.type == "SEQUENCE_EDITOR":
        return None
    return context.scene


def _workspace_has_scene() -> bool:
    """5.0 on: the Sequencer edits its workspace's scene (``WorkSpace.sequencer_scene``)."""
    return "sequencer_scene" in bpy.types.WorkSpace.bl_rna.properties


def set_sequencer_scene(context: bpy.types.Context, scene: bpy.types.Scene) -> None:
    """Make ``scene`` the one the sequencer shows (5.0: per workspace; before: the window's)."""
    workspace = context.workspace
    if workspace is not None and hasattr(workspace, "sequencer_scene"):
        workspace.sequencer_scene = scene
    if context.window is not None:
        context.window.scene = scene


def strips(owner) -> bpy.types.bpy_prop_collection:
    """Top-level strips of a sequence editor, or the children of a meta strip."""
    return owner.strips if hasattr(owner, "strips") else owner.sequences


def all_strips_name(editor: bpy.types.SequenceEditor) -> str:
    """The name of ``all_strips``' collection ('sequences_all' before 4.4's rename), for what
    takes a collection by name (a layout's prop_search)."""
    return "strips_all" if hasattr(editor, "strips_all") else "sequences_all"


def all_strips(editor: bpy.types.SequenceEditor) -> bpy.types.bpy_prop_collection:
    """Every strip of an editor, inside meta strips too."""
    return getattr(editor, all_strips_name(editor))


def strip_name_bytes() -> int:
    """Bytes of UTF-8 a strip name holds (61: the RNA maximum less the terminator);
    ``Sequence`` was renamed ``Strip`` in 4.4."""
    owner = getattr(bpy.types, "Strip", None) or bpy.types.Sequence
    return owner.bl_rna.properties["name"].length_max - 1


def parent_meta(strip):
    """The meta strip holding ``strip``, or None at the top level."""
    return strip.parent_meta()


def strip_locked(strip) -> bool:
    """True when Blender's own edits leave the strip alone: it, or its channel, is locked."""
    if strip.lock:
        return True
    meta = parent_meta(strip)
    owner = meta if meta is not None else strip.id_data.sequence_editor
    channels = getattr(owner, "channels", None)
    return bool(channels) and channels[strip.channel].lock


def retiming_active(strip) -> bool:
    """True when the strip's speed is changed by retiming keys."""
    keys = getattr(strip, "retiming_keys", None)
    return keys is not None and len(keys) > 1


def speed_effect_on(strip):
    """The Speed Control effect strip that retimes ``strip`` (its input, or a meta strip's
    holding it), or None."""
    held = {strip.name}
    meta = parent_meta(strip)
    while meta is not None:
        held.add(meta.name)
        meta = parent_meta(meta)
    for other in all_strips(strip.id_data.sequence_editor):
        source = getattr(other, "input_1", None) if other.type == "SPEED" else None
        if source is not None and source.name in held:
            return other
    return None


def blend_relative_path() -> set[str]:
    """Options for a path property that may be '//' (relative to the .blend)."""
    if "is_path_supports_blend_relative" in bpy.types.Property.bl_rna.properties:
        return {"PATH_SUPPORTS_BLEND_RELATIVE"}
    return set()


def strip_add_kwargs() -> dict:
    """Arguments the strip-add operators need so that they do not start a grab (5.0)."""
    properties = bpy.ops.sequencer.movie_strip_add.get_rna_type().properties
    return {"move_strips": False} if "move_strips" in properties else {}


def strip_add_context(context: bpy.types.Context, area, scene: bpy.types.Scene):
    """The context a script adds a strip in with the strip-add operators (``movie_strip_add``
    with Adjust Playback Rate: the one way to make a movie play at its own rate): the window,
    a Sequencer ``area`` and ``scene``, without the area's region. bpy 5.3.0 in background
    mode segfaults in ``movie_strip_add`` given the Sequencer's WINDOW region (measured with
    a bare bpy and an empty scene, Adjust Playback Rate on or off). Without the region it
    adds the strip as the UI does: a 20-frame 10 fps clip in a 24 fps scene shows frames
    1-48 adjusted, 1-20 not, on 5.3.0 and 5.2.3; 1-48 adjusted on 4.2 and 5.0.1 too."""
    return context.temp_override(window=context.window, area=area, scene=scene)


def effect_span(first: int, last: int) -> dict:
    """``new_effect``'s arguments for a strip over ``first..last``."""
    owner = getattr(bpy.types, "StripsTopLevel", None) or bpy.types.SequencesTopLevel
    if "length" in owner.bl_rna.functions["new_effect"].parameters:
        return {"frame_start": first, "length": last - first + 1}
    return {"frame_start": first, "frame_end": last + 1}


def effect_inputs(*sources) -> dict:
    """``new_effect``'s input strips: ``input1``.. since 4.4 (``seq1``.. before)."""
    owner = getattr(bpy.types, "StripsTopLevel", None) or bpy.types.SequencesTopLevel
    word = "input" if "input1" in owner.bl_rna.functions["new_effect"].parameters else "seq"
    return {f"{word}{i}": strip for i, strip in enumerate(sources, 1)}


def scene_fps(scene: bpy.types.Scene) -> tuple[int, float]:
    return scene.render.fps, scene.render.fps_base


def movie_plays_at_own_rate(strip, frame_count: int | None) -> bool | None:
    """Whether Blender scales this movie strip to play at the movie's own frame rate.

    The flag (set by "Adjust Playback Rate" when adding a movie) is not exposed in RNA, so
    tell it from the strip's length: the movie's ``frame_count`` source frames, less what a
    hard split trimmed, span as many scene frames, or that many scaled by the rates. Only
    reads: changing the scene's rate to see moved trimmed sound strips for good. None where
    the length cannot tell: no count, the movie offline (no rate), or rates too close.
    """
    if not frame_count or strip.type != "MOVIE" or not strip.fps:
        return None
    factor = playback_factor(strip.fps, *scene_fps(strip.id_data))
    source = (
        frame_count - strip_get(strip, "content_trim_start") - strip_get(strip, "content_trim_end")
    )
    scaled = source / factor
    if abs(scaled - source) < 1.0:
        return None
    length = content_duration(strip)
    return abs(length - scaled) < abs(length - source)


def content_duration(strip) -> int:
    """Scene frames the strip's content spans, the same in every version."""
    end = strip_get(strip, "right_handle") + strip_get(strip, "right_handle_offset")
    return round(end - strip_get(strip, "content_start"))


def set_movie_output(scene: bpy.types.Scene) -> None:
    """Render to an H.264 MP4 (5.0 first asks for a video media type)."""
    settings = scene.render.image_settings
    if hasattr(settings, "media_type"):
        settings.media_type = "VIDEO"
    settings.file_format = "FFMPEG"
    scene.render.ffmpeg.format = "MPEG4"
    scene.render.ffmpeg.codec = "H264"


# With Convert to Float, Blender 5.2+ makes an 8-bit picture float before its Saturation
# (render.cc input_preprocess: ensure_ibuf_is_sequencer_space(..., make_float) first); 4.2-5.1
# saturate the byte image, then convert. Measured against StripColor (tests/blender/
# test_color_float.py, 160x96 random picture, dither off): 4.2.23, 5.0.1 and 5.1.2 byte-first,
# 5.2.0, 5.2.3 and 5.3.0 float-first (0-1 levels; the other order 2 off at 0.5/4.0 and 0.3/2.7).
STRIP_COLOR_SATURATES_IN_FLOAT = bpy.app.version >= (5, 2, 0)


def strip_color(strip) -> StripColor:
    """The Color settings Blender's sequencer applies to ``strip``'s pictures before its
    modifiers (render.cc ``input_preprocess``): saturation, then multiply, where a strip
    blended by Replace has its opacity folded into the multiply; with Convert to Float, in
    this Blender's order (``STRIP_COLOR_SATURATES_IN_FLOAT``)."""
    multiply = strip.color_multiply
    if strip.blend_type == "REPLACE":
        multiply *= strip.blend_alpha
    return StripColor(
        strip.color_saturation,
        multiply,
        bool(strip.use_float),
        STRIP_COLOR_SATURATES_IN_FLOAT,
    )


def strip_modifiers(strip) -> list[str]:
    """The names of ``strip``'s modifiers that are on (muted ones change nothing)."""
    return [m.name for m in strip.modifiers if not m.mute]
