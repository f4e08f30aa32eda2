"""Round 22's walkthrough findings in the core (walkfix): a damaged, cut-short movie's
warnings said '1 written' twice; an installed PyTorch that does not load is found once and
said in a few words."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from types import SimpleNamespace

from restyle.core.engines import short_reason
from restyle.core.job import _damage_warnings


def test_a_cut_short_damaged_movie_says_written_once():
    info = SimpleNamespace(path="/clips/cut.mkv", truncated=True, frame_count=2, declared_frames=5)
    warnings = _damage_warnings(SimpleNamespace(info=info), held=[1], written=1)
    assert len(warnings) == 2, warnings
    said = " ".join(warnings)
    assert said.count("written") == 1, said
    assert warnings[-1].endswith("(missing: frames 2-4); 1 written"), warnings
    # one warning alone still says it
    (alone,) = _damage_warnings(SimpleNamespace(info=info), held=[], written=2)
    assert alone.endswith("; 2 written"), alone


def test_the_reason_a_torch_does_not_load_is_short():
    exc = ValueError(
        "libcublasLt.so.*[0-9] not found in the system path ['/usr/lib/python3.13', "
        "'/opt/blender/python/lib', '/home/a/.local/lib/site-packages']"
    )
    assert short_reason(exc) == "ValueError: libcublasLt.so.*[0-9] not found in the system path"
    long = short_reason(OSError("x" * 300))
    assert len(long) == 100 and long.endswith("…")
    assert short_reason(ImportError()) == "ImportError"


def test_a_broken_torch_is_imported_once(tmp_path):
    package = tmp_path / "torch"
    package.mkdir()
    (package / "__init__.py").write_text(
        f"open({str(tmp_path / 'tries')!r}, 'a').write('x')\n"
        "raise OSError('libtorch_cpu.so: cannot open shared object file')\n"
    )
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from restyle.core.engines import torch_available, torch_load_error, torch_load_known
        assert torch_available()
        assert torch_load_known() is None  # nothing tried yet
        print(torch_load_error())
        print(torch_load_error())
        print(torch_load_known())
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    said = "OSError: libtorch_cpu.so: cannot open shared object file"
    assert done.stdout.splitlines() == [said] * 3
    assert (tmp_path / "tries").read_text() == "x"
