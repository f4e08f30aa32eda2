"""The output formats a run can write (`OUTPUT_FORMATS`): a table without numpy or PyAV,
so that parsing a command line (``--format``'s choices, listed by ``--help``) imports
neither. ``writers`` writes them and imports this table from here, with the table of an
output sequence's file names (``frame_stem``), which ``media`` also reads."""

from __future__ import annotations

from dataclasses import dataclass

from . import errors

# The pictures Restyle reads as frames, in the order messages list them (``media``, the
# writers and the front ends import them; one table). Not .tga: OpenCV's wheel reads none.
PICTURE_SUFFIXES = (
    ".png",
    ".jpg",
    ".jpeg",
    ".webp",
    ".tif",
    ".tiff",
    ".bmp",
    ".exr",
    ".hdr",
    ".jp2",
)
IMAGE_SUFFIXES = frozenset(PICTURE_SUFFIXES)
# What a contact sheet may be named: the 8-bit pictures OpenCV writes (not float EXR/HDR, and
# no JPEG 2000 writer in OpenCV's wheel).
SHEET_SUFFIXES = tuple(s for s in PICTURE_SUFFIXES if s not in {".exr", ".hdr", ".jp2"})


@dataclass(frozen=True)
class OutputFormat:
    """One output format: an image sequence (a folder, one file per frame) or a movie."""

    id: str
    label: str
    description: str
    suffixes: tuple[str, ...]  # the first is the default
    encoder: str | None = None  # movies: the FFmpeg encoder
    # Movies: the suffixes that choose this format when no format is given (the first
    # is `suffix`, so a name Blender gives reads back as its own format).
    chosen_by: tuple[str, ...] = ()

    @property
    def movie(self) -> bool:
        return self.encoder is not None

    @property
    def suffix(self) -> str:
        return self.suffixes[0]

    @property
    def alpha(self) -> bool:
        return self.id != "jpg" and self.id != "h264"

    @property
    def deep(self) -> bool:
        """Keeps more than 8 bits per channel."""
        return self.id in ("png", "tif", "prores", "ffv1")


OUTPUT_FORMATS: dict[str, OutputFormat] = {
    f.id: f
    for f in (
        OutputFormat("png", "PNG Sequence", "One PNG file per frame; a rerun resumes", (".png",)),
        OutputFormat("jpg", "JPEG Sequence", "One JPEG file per frame; small, lossy", (".jpg",)),
        OutputFormat("tif", "TIFF Sequence", "One TIFF file per frame", (".tif",)),
        OutputFormat(
            "h264",
            "H.264 Movie",
            "One MP4 movie; the strip must show its source one to one",
            (".mp4", ".mov", ".mkv", ".m4v"),
            "libx264",
            chosen_by=(".mp4", ".m4v"),
        ),
        OutputFormat(
            "prores",
            "ProRes Movie",
            "One MOV movie; the strip must show its source one to one",
            (".mov", ".mkv"),
            "prores_ks",
            chosen_by=(".mov",),
        ),
        OutputFormat(
            "ffv1",
            "FFV1 Movie",
            "Lossless MKV movie; the strip must show its source one to one",
            (".mkv", ".avi"),
            "ffv1",
            chosen_by=(".mkv",),
        ),
    )
}
errors.FORMAT_LABELS.update({f.id: f.label for f in OUTPUT_FORMATS.values()})  # Blender's words


FRAME_DIGITS = 6  # an output frame's number is written with at least this many digits


def frame_stem(index: int, first: int = 0, digits: int = 0) -> str:
    """The one table of an output sequence's file names (without suffix): source frame
    ``index`` (0-based) is named by its own number, ``first`` + index (``first``: a numbered
    image sequence's first number, ``MediaInfo.first_number``; 0 for a movie or stills), with
    at least FRAME_DIGITS digits, or the source's own ``digits`` where it has more."""
    return f"{first + index:0{max(FRAME_DIGITS, digits)}d}"
