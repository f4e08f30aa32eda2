"""Media as editors meet it: phone footage tagged with a rotation, phone stills with an EXIF
orientation, anamorphic pixels, timecode, renders of mixed sizes, read-only masters. Tiny generated files (64x48, a few frames); directions are
checked against the formats' own conventions, not against Restyle's code."""

from __future__ import annotations

import dataclasses
import struct
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from restyle.core.errors import RestyleError
from restyle.core.job import StyleJob
from restyle.core.media import decode_range, probe, shift_timecode

SIZE = (64, 48)  # stored width, height
FRAMES = 4


def marked_frame() -> np.ndarray:
    """A dark frame with a white block in its stored top-left corner (16 wide, 12 high)."""
    frame = np.full((SIZE[1], SIZE[0], 3), 40, np.uint8)
    frame[:12, :16] = 255
    return frame


def encode(
    path: Path,
    *,
    rotation: int | None = None,
    pixel_aspect: Fraction | None = None,
    timecode: str | None = None,
) -> Path:
    """FRAMES marked frames as H.264, tagged with a display rotation (degrees
    counter-clockwise, FFmpeg's display matrix), a pixel aspect and a start timecode."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        if timecode is not None:
            stream.metadata["timecode"] = timecode
        if pixel_aspect is not None:
            stream.codec_context.sample_aspect_ratio = pixel_aspect
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for pts in range(FRAMES):
            frame = av.VideoFrame.from_ndarray(marked_frame(), format="rgb24")
            frame.pts = pts
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def bright_corner(frame: np.ndarray) -> str:
    """Which corner of a frame holds the white block."""
    h, w = frame.shape[:2]
    corners = {
        "top-left": frame[:8, :8],
        "top-right": frame[:8, w - 8 :],
        "bottom-left": frame[h - 8 :, :8],
        "bottom-right": frame[h - 8 :, w - 8 :],
    }
    return max(corners, key=lambda name: corners[name].mean())


# A phone held upright stores its pictures sideways and tags them -90 degrees (turn them a
# quarter clockwise to show them): the stored top-left corner is then shown top right.
@pytest.mark.parametrize(
    "rotation, size, corner",
    [(-90, (48, 64), "top-right"), (90, (48, 64), "bottom-left"), (180, SIZE, "bottom-right")],
)
def test_a_movie_tagged_with_a_rotation_is_read_upright(tmp_path, rotation, size, corner):
    source = encode(tmp_path / "phone.mp4", rotation=rotation)
    info = probe(source)
    assert info.size == size
    frames = list(decode_range(source, 1, FRAMES - 1, info=info))  # a seek, then decoding
    assert all(f.shape[1::-1] == size for f in frames)
    assert {bright_corner(f) for f in frames} == {corner}


def jpeg_with_orientation(path: Path, image: np.ndarray, orientation: int) -> Path:
    """A JPEG carrying an EXIF orientation (6: turn a quarter clockwise to show it)."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    assert ok
    ifd = struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff = b"MM\x00*" + struct.pack(">I", 8) + ifd + struct.pack(">I", 0)
    payload = b"Exif\x00\x00" + tiff
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    jpeg = data.tobytes()
    path.write_bytes(jpeg[:2] + app1 + jpeg[2:])  # right after the start-of-image marker
    return path


def test_a_still_is_read_as_stored_as_blender_shows_it(tmp_path):
    """Blender's image strips (5.0) ignore a JPEG's EXIF orientation: Restyle reads the same
    pixels, so a styled strip lies exactly over its source (turn such stills first)."""
    for i in range(2):
        jpeg_with_orientation(tmp_path / f"still_{i}.jpg", marked_frame(), 6)
    info = probe(tmp_path)
    assert info.size == SIZE
    frames = list(decode_range(tmp_path, 0, 1, info=info))
    assert [bright_corner(f) for f in frames] == ["top-left", "top-left"]


def written_movie(path: Path) -> tuple[tuple[int, int], Fraction | None, int]:
    """(stored size, pixel aspect, display rotation) of a movie Restyle wrote."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frame = next(container.decode(stream))
        return (frame.width, frame.height), stream.sample_aspect_ratio, frame.rotation


def test_a_styled_phone_movie_is_stored_upright(tmp_path, library):
    source = encode(tmp_path / "phone.mp4", rotation=-90)
    out = tmp_path / "styled.mp4"
    StyleJob(source, out, "comic-ink", library=library).run()
    assert written_movie(out) == ((48, 64), None, 0)


@pytest.mark.parametrize(
    "suffix, kept", [(".mp4", True), (".mov", True), (".mkv", False)]
)  # h264, ProRes, FFV1
def test_a_movie_keeps_the_sources_pixel_aspect_or_says_why_not(tmp_path, library, suffix, kept):
    source = encode(tmp_path / "pal.mp4", pixel_aspect=Fraction(16, 15))
    assert probe(source).pixel_aspect == Fraction(16, 15)
    out = tmp_path / f"styled{suffix}"
    result = StyleJob(source, out, "comic-ink", library=library, temporal=0).run()
    aspect = written_movie(out)[1]
    warned = [w for w in result.warnings if "pixel aspect 16/15" in w]
    assert (aspect, bool(warned)) == ((Fraction(16, 15), False) if kept else (None, True))


def test_turning_upright_turns_the_pixel_aspect_too(tmp_path):
    source = encode(tmp_path / "phone.mp4", rotation=-90, pixel_aspect=Fraction(4, 3))
    assert probe(source).pixel_aspect == Fraction(3, 4)


def test_overwrite_never_replaces_a_read_only_movie(tmp_path, library):
    source = encode(tmp_path / "clip.mp4")
    out = tmp_path / "final.mp4"
    out.write_bytes(b"the editor's locked master")
    out.chmod(0o444)
    with pytest.raises(RestyleError, match="final.mp4 is read-only; make it writable"):
        StyleJob(source, out, "comic-ink", library=library, overwrite=True).run()
    assert out.read_bytes() == b"the editor's locked master"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "final.mp4"]


@pytest.mark.parametrize("suffix", [".mov", ".mkv"])
def test_a_movie_starts_at_the_sources_timecode_of_its_first_frame(tmp_path, library, suffix):
    source = encode(tmp_path / "camera.mov", timecode="10:59:59:23")
    assert probe(source).timecode == "10:59:59:23"
    out = tmp_path / f"styled{suffix}"
    StyleJob(source, out, "comic-ink", start=2, library=library, temporal=0).run()
    with av.open(str(out)) as container:
        tags = {k.lower(): v for k, v in container.streams.video[0].metadata.items()}
    assert tags.get("timecode") == "11:00:00:01"


@pytest.mark.parametrize(
    "timecode, frames, fps, expected",
    [
        ("00:00:59;29", 1, Fraction(30000, 1001), "00:01:00;02"),  # minute 1 skips ;00 ;01
        ("00:09:59;29", 1, Fraction(30000, 1001), "00:10:00;00"),  # each tenth skips none
        ("00:01:00;02", -1, Fraction(30000, 1001), "00:00:59;29"),
        ("00:00:59;59", 1, Fraction(60000, 1001), "00:01:00;04"),
        ("23:59:59:23", 1, Fraction(24), "00:00:00:00"),
        ("01:00:00:00", 36, Fraction(24000, 1001), "01:00:01:12"),
        ("00:00:59;23", 1, Fraction(24000, 1001), "00:01:00;00"),  # no drop-frame at 23.976
    ],
)
def test_timecode_counts_as_cameras_do(timecode, frames, fps, expected):
    assert shift_timecode(timecode, frames, fps) == expected


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_a_sequence_of_mixed_sizes_is_refused_before_anything_is_made(tmp_path, library, suffix):
    frames = tmp_path / "render"
    frames.mkdir()
    for i in range(12):
        width = 80 if i == 10 else SIZE[0]  # one frame rendered at another size
        picture = np.zeros((SIZE[1], width, 3), np.uint8)
        if suffix == ".jpg" and i == 10:  # a phone's, with EXIF before the frame header
            jpeg_with_orientation(frames / f"f_{i:03d}.jpg", picture, 1)
            continue
        assert cv2.imwrite(str(frames / f"f_{i:03d}{suffix}"), picture)
    said = f"f_010{suffix} is 80x48, but the sequence is 64x48"
    with pytest.raises(RestyleError, match=said):
        probe(frames)  # from the headers: before any frame is styled, whatever the timing
    out = tmp_path / "styled"
    with pytest.raises(RestyleError, match=said):
        StyleJob(frames, out, "comic-ink", library=library).run()
    assert not out.exists()


def test_alpha_or_16_bits_in_any_frame_of_a_png_sequence_is_kept(tmp_path):
    """An optimiser (oxipng, pngcrush) stores an opaque frame as RGB: the sequence's alpha
    must not hang on its first frame being translucent, nor its depth on the first's."""
    frames = tmp_path / "comp"
    frames.mkdir()
    picture = np.full((SIZE[1], SIZE[0], 4), 200, np.uint8)
    picture[..., 3] = 77
    assert cv2.imwrite(str(frames / "f_000.png"), picture[..., :3])  # opaque: stored as RGB
    assert cv2.imwrite(str(frames / "f_001.png"), picture)
    assert cv2.imwrite(str(frames / "f_002.png"), picture[..., :3].astype(np.uint16) * 257)
    info = probe(frames)
    assert (info.has_alpha, info.bit_depth) == (True, 16)
    first, second, third = decode_range(frames, 0, 2, info=info)
    assert first.dtype == np.uint16 and first.shape == (SIZE[1], SIZE[0], 4)
    assert (first[0, 0, 3], second[0, 0, 3], third[0, 0, 3]) == (65535, 77 * 257, 65535)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    import zlib

    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def palette_png(path: Path, transparent: int) -> Path:
    """A SIZE palette PNG (PNG's own layout, written by hand: OpenCV writes none): index 0
    grey, index 1 white, index 1 with alpha ``transparent`` (a tRNS chunk, as GIF-made and
    optimised frames have), a text chunk between, as encoders put one."""
    import zlib

    width, height = SIZE
    rows = b"".join(b"\x00" + bytes([0, 1] * (width // 2)) for _ in range(height))
    head = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", head)
        + png_chunk(b"PLTE", bytes([128, 128, 128, 255, 255, 255]))
        + png_chunk(b"tEXt", b"Software\x00hand")
        + png_chunk(b"tRNS", bytes([255, transparent]))
        + png_chunk(b"IDAT", zlib.compress(rows))
        + png_chunk(b"IEND", b"")
    )
    return path


def test_a_palette_frame_with_transparency_gives_the_sequence_alpha(tmp_path):
    """Alpha of a later PNG frame was read from its colour type alone (grey + alpha, RGBA):
    a palette frame with a tRNS chunk, which OpenCV reads with alpha, left the sequence
    opaque, and the frame was read as 4 channels into a 3-channel sequence."""
    frames = tmp_path / "comp"
    frames.mkdir()
    assert cv2.imwrite(str(frames / "f_000.png"), np.full((SIZE[1], SIZE[0], 3), 90, np.uint8))
    palette_png(frames / "f_001.png", transparent=30)
    info = probe(frames)
    assert info.has_alpha
    first, second = decode_range(frames, 0, 1, info=info)
    assert first.shape == second.shape == (SIZE[1], SIZE[0], 4)
    assert (first[0, 0, 3], second[0, 0, 3], second[0, 1, 3]) == (255, 255, 30)


def test_frames_of_a_turned_source_are_not_resumed_from_frames_made_sideways(tmp_path, library):
    """Restyle before stood movies upright wrote a phone clip's frames sideways, under the
    same settings key: a rerun must make them again, not mix both (unturned keys stay)."""
    source = encode(tmp_path / "phone.mp4", rotation=-90)
    job = StyleJob(source, tmp_path / "frames", "comic-ink", library=library)
    plan = job.validate()
    sideways = dataclasses.replace(plan.info, quarter_turns=0, width=64, height=48)
    assert job._settings_key(plan.style, plan.info) != job._settings_key(plan.style, sideways)
