"""The stylize job and the `restyle` command, as users and scripts use them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from restyle.core.cli import main
from restyle.core.errors import RestyleError
from restyle.core.job import StyleJob
from restyle.core.media import decode_range, probe
from restyle.core.progress import CancelToken
from restyle.core.styles import BUILTIN_STYLES
from restyle.core.stylizer import StyleSettings, Stylizer

from clips import make_image_sequence, read_index


def read_png(path: Path) -> np.ndarray:
    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    code = cv2.COLOR_BGRA2RGBA if data.shape[2] == 4 else cv2.COLOR_BGR2RGB
    return cv2.cvtColor(data, code)


def run_cli(*args: str, library: Path) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "restyle", *args, "--library", str(library)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_styles_lists_stable_ids(library, capsys):
    assert main(["styles", "--json", "--library", str(library.root)]) == 0
    styles = json.loads(capsys.readouterr().out)
    ids = [s["id"] for s in styles if s["kind"] == "builtin"]
    assert ids == [sid for sid, _ in BUILTIN_STYLES] and len(set(ids)) == 26
    assert all(Path(s["thumbnail"]).is_file() for s in styles if s["kind"] == "builtin")


def test_stylize_is_frame_exact_and_resumes(library, index_clip_h264, tmp_path):
    out = tmp_path / "styled"
    job = StyleJob(
        index_clip_h264, out, "comic-ink", start=10, end=19, temporal=0.0, library=library
    )
    result = job.run()
    assert result.written == 10 and not result.cancelled
    assert [f.name for f in result.frame_files] == [f"{i:06d}.png" for i in range(10, 20)]
    stylizer = Stylizer(library.resolve("comic-ink"), library)
    for i, frame in zip(range(10, 20), decode_range(index_clip_h264, 10, 19), strict=True):
        assert read_index(frame) == i
        expected = stylizer.stylize(frame).astype(int)
        assert np.abs(read_png(out / f"{i:06d}.png").astype(int) - expected).max() <= 1
    # A rerun with the same settings reuses everything; a longer range adds only new frames.
    again = StyleJob(
        index_clip_h264, out, "comic-ink", start=10, end=24, temporal=0.0, library=library
    ).run()
    assert (again.reused, again.written) == (10, 5)
    assert not [p for p in out.iterdir() if p.name.endswith(".part") or p.name.startswith(".tmp")]


def test_other_settings_do_not_overwrite(library, index_clip_h264, tmp_path):
    out = tmp_path / "styled"
    StyleJob(index_clip_h264, out, "comic-ink", start=0, end=2, library=library).run()
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    with pytest.raises(RestyleError, match="other settings"):
        StyleJob(index_clip_h264, out, "ink-wash", start=0, end=2, library=library).run()
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_user_folder_is_refused(library, index_clip_h264, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    with pytest.raises(RestyleError, match="not empty"):
        StyleJob(index_clip_h264, out, "comic-ink", library=library).run()
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_cancel_keeps_finished_frames(library, index_clip_h264, tmp_path):
    out = tmp_path / "styled"
    token = CancelToken()

    def progress(p):
        if p.done >= 3:
            token.cancel()

    result = StyleJob(index_clip_h264, out, "ink-wash", start=0, end=29, library=library).run(
        progress=progress, cancel=token
    )
    assert result.cancelled and 3 <= len(result.frame_files) < 30
    for f in result.frame_files:
        assert read_png(f).shape == (96, 160, 3)  # complete, decodable frames
    resumed = StyleJob(index_clip_h264, out, "ink-wash", start=0, end=29, library=library).run()
    assert resumed.reused == len(result.frame_files) and resumed.written + resumed.reused == 30


def test_movie_output(library, index_clip_h264, tmp_path):
    out = tmp_path / "styled.mp4"
    StyleJob(
        index_clip_h264, out, "woven-blocks", start=5, end=16, format="h264", library=library
    ).run()
    info, source = probe(out), probe(index_clip_h264)
    assert info.frame_count == 12 and info.fps == source.fps and info.size == source.size
    stamp = out.stat().st_mtime_ns
    with pytest.raises(RestyleError, match="exists"):
        StyleJob(index_clip_h264, out, "woven-blocks", format="h264", library=library).run()
    assert out.stat().st_mtime_ns == stamp


def test_movie_output_format_follows_the_extension_as_on_the_command_line(
    library, index_clip_h264, tmp_path
):
    out = tmp_path / "styled.mkv"  # was a folder named styled.mkv holding PNG frames
    result = StyleJob(index_clip_h264, out, "comic-ink", end=2, library=library).run()
    assert out.is_file() and result.output == out
    assert probe(out).frame_count == 3
    with pytest.raises(RestyleError, match="cannot write '.avi'"):
        StyleJob(index_clip_h264, tmp_path / "styled.avi", "comic-ink", library=library).run()
    assert not (tmp_path / "styled.avi").exists()


def test_strength_and_preserve_colors(library, index_clip_h264):
    frame = next(iter(decode_range(index_clip_h264, 3, 3)))
    style = library.resolve("fauvist-crimson")
    off = Stylizer(style, library, StyleSettings(strength=0.0)).stylize(frame)
    assert np.abs(off.astype(int) - frame.astype(int)).max() <= 1
    full = Stylizer(style, library).stylize(frame)
    kept = Stylizer(style, library, StyleSettings(preserve_colors=True)).stylize(frame)
    chroma = lambda im: cv2.cvtColor(im, cv2.COLOR_RGB2YCrCb)[..., 1:].astype(int)  # noqa: E731
    assert (
        np.abs(chroma(kept) - chroma(frame)).mean()
        < np.abs(chroma(full) - chroma(frame)).mean() / 3
    )


def test_picture_style_and_strength(library, index_clip_h264, tmp_path):
    yy, xx = np.mgrid[0:200, 0:300]
    picture = np.stack([(np.sin(xx / 6) * 127 + 128), (yy % 40) * 6, (xx + yy) % 256], -1)
    path = tmp_path / "painting.png"
    cv2.imwrite(str(path), picture.astype(np.uint8))
    frame = next(iter(decode_range(index_clip_h264, 0, 0)))
    full = Stylizer(library.resolve(str(path)), library)
    full.prepare([])
    half = Stylizer(library.resolve(str(path)), library, StyleSettings(strength=0.5))
    half.prepare([frame])
    a, b = full.stylize(frame).astype(int), half.stylize(frame).astype(int)
    assert a.shape == frame.shape and np.abs(a - b).mean() > 2
    result = StyleJob(
        index_clip_h264, tmp_path / "out", str(path), start=0, end=3, strength=0.5, library=library
    ).run()
    assert result.written == 4


@pytest.mark.parametrize("precision,mean,peak", [("fp32", 0.5, 3), ("bf16", 4.0, 80)])
def test_torch_and_onnx_agree(library, index_clip_h264, precision, mean, peak):
    torch = pytest.importorskip("torch")
    if precision == "bf16" and not torch.cpu._is_avx512_bf16_supported():
        pytest.skip("no native bf16 on this CPU")
    frame = next(iter(decode_range(index_clip_h264, 7, 7)))
    style = library.resolve("starry-swirls")
    a = Stylizer(style, library, StyleSettings(backend="onnx")).stylize(frame).astype(int)
    torch_settings = StyleSettings(backend="torch", precision=precision)
    b = Stylizer(style, library, torch_settings).stylize(frame).astype(int)
    assert np.abs(a - b).mean() < mean and np.abs(a - b).max() <= peak


def test_tiled_frames_match_whole_frames(library, index_clip_h264):
    frame = next(iter(decode_range(index_clip_h264, 4, 4)))
    style = library.resolve("sepia-oils")
    settings = StyleSettings(scale=3.0)  # 480x288 processing size
    whole = Stylizer(style, library, settings).stylize(frame).astype(int)
    tiled = Stylizer(style, library, StyleSettings(scale=3.0, tile=256)).stylize(frame)
    other = Stylizer(library.resolve("comic-ink"), library, settings).stylize(frame).astype(int)
    assert tiled.shape == frame.shape
    # Instance-norm statistics differ per tile, so tiles are close to, not equal to, whole.
    assert np.abs(tiled.astype(int) - whole).mean() < np.abs(other - whole).mean() / 3


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_alpha_and_depth_are_kept_with_coherence(library, tmp_path, bit_depth):
    folder = make_image_sequence(tmp_path / "rgba", 4, (96, 64), bit_depth=bit_depth, alpha=True)
    result = StyleJob(folder, tmp_path / "out", "comic-ink", temporal=0.5, library=library).run()
    assert result.written == 4
    for f, src in zip(result.frame_files, decode_range(folder, 0, 3), strict=True):
        out = read_png(f)
        assert out.dtype == src.dtype and out.shape[2] == 4
        assert np.array_equal(out[..., 3], src[..., 3])


def test_export_onnx_runs_standalone(library, index_clip_h264, tmp_path):
    pytest.importorskip("torch")
    import onnxruntime as ort

    path = tmp_path / "style.onnx"
    assert (
        main(
            ["export-onnx", "midnight-fire", "-o", str(path), "-q", "--library", str(library.root)]
        )
        == 0
    )
    mask = os.umask(0o022)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask  # was 0600: a file made to share
    frame = next(iter(decode_range(index_clip_h264, 0, 0)))
    x = (frame.astype(np.float32) / 255).transpose(2, 0, 1)[None]
    out = ort.InferenceSession(str(path)).run(None, {"image": x})[0][0].transpose(1, 2, 0)
    settings = StyleSettings(backend="onnx")
    ours = Stylizer(library.resolve("midnight-fire"), library, settings).stylize(frame)
    assert np.abs(np.clip(out * 255 + 0.5, 0, 255).astype(int) - ours.astype(int)).max() <= 2


@pytest.mark.parametrize(
    "args,message",
    [
        (["missing.mp4", "-s", "comic-ink"], "does not exist"),
        (["{clip}", "-s", "no-such-style"], "unknown style"),
        (["{clip}", "-s", "comic-ink", "--start", "50", "--end", "70"], "--end 70 is past"),
        (["{clip}", "-s", "comic-ink", "--strength", "2"], "strength"),
        (["{corrupt}", "-s", "comic-ink"], ""),
        (["{clip}", "-s", "comic-ink", "--start", "-1"], "0-based: --start is -1"),  # was -1..None
        (["{clip}", "-s", "comic-ink", "--end", "-2"], "0-based: --end is -2"),
    ],
)
def test_bad_input_exits_nonzero_with_one_line(library, index_clip_h264, tmp_path, args, message):
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    out = tmp_path / "out"
    args = [a.format(clip=index_clip_h264, corrupt=corrupt) for a in args]
    code, stdout, stderr = run_cli("stylize", *args, "-o", str(out), library=library.root)
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("restyle: error:") and message in lines[0]
    assert not out.exists()


def test_unwritable_output(library, index_clip_h264, tmp_path):
    if os.geteuid() == 0:
        target = Path("/proc/restyle-out")  # not writable even for root
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = locked / "out"
    code, _, stderr = run_cli(
        "stylize", str(index_clip_h264), "-s", "comic-ink", "-o", str(target), library=library.root
    )
    assert code == 2 and "cannot write" in stderr


def test_a_write_error_is_one_line_and_exits_2(index_clip_h264, tmp_path):
    """README: a disk or write error prints one line and exits 2 (an OSError exited 1)."""
    if os.geteuid() == 0:
        target = Path("/proc/restyle-lib")  # not writable even for root
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = locked / "lib"
    painted = tmp_path / "0.png"
    cv2.imwrite(str(painted), next(iter(decode_range(index_clip_h264, 0, 0))))
    args = ("train", str(index_clip_h264), "-k", f"0={painted}", "-n", "Ink", "--time-budget", "1")
    code, _, stderr = run_cli(*args, library=target)
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("restyle: error:"), stderr
    assert "Errno" not in stderr


def test_cli_json_and_onnx_path_needs_no_torch(library, index_clip_h264, tmp_path):
    script = (
        "import sys, json\n"
        "from restyle.core.cli import main\n"
        f"code = main(['stylize', {str(index_clip_h264)!r}, '-o', {str(tmp_path / 'o')!r},"
        f" '-s', 'comic-ink', '--end', '2', '--json', '--backend', 'onnx',"
        f" '--library', {str(library.root)!r}])\n"
        "print(json.dumps({'code': code, 'torch': 'torch' in sys.modules, 'bpy': 'bpy' in sys.modules}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    run, flags = (json.loads(line) for line in proc.stdout.strip().splitlines()[-2:])
    assert run["written"] == 3 and run["backend"] == "onnx"
    assert flags == {"code": 0, "torch": False, "bpy": False}
