"""Round 22's walkthrough findings in the core (walkfix): a damaged, cut-short movie's
warnings said '1 written' twice; an installed PyTorch that does not load is found once and
said in a few words, found by a check in another Python (prefsfix: the preferences' box
imported torch into Blender to find it, 2.7 s and ~220 MB)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest

from restyle.core import engines
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


@pytest.fixture
def fake_torch(tmp_path, monkeypatch):
    """Put a torch package of the test's making first on sys.path (its ``__init__`` is
    written by the test), with this process's torch, if any, set aside and no answer kept."""
    folder = tmp_path / "site"
    (folder / "torch").mkdir(parents=True)
    loaded = {k: v for k, v in sys.modules.items() if k == "torch" or k.startswith("torch.")}
    for name in loaded:
        del sys.modules[name]
    monkeypatch.syspath_prepend(str(folder))
    engines.forget_torch_load()
    yield folder / "torch" / "__init__.py"
    engines.forget_torch_load()
    sys.modules.pop("torch", None)
    sys.modules.update(loaded)


def test_the_load_check_imports_torch_in_another_python(fake_torch, tmp_path):
    tries = tmp_path / "tries"
    fake_torch.write_text(
        "import os, sys\n"
        f"open({str(tries)!r}, 'a').write(str(os.getpid()) + ' ' + sys.executable + '\\n')\n"
        "print('torch prints its own line first', end='')\n"
        'raise ValueError("libcublasLt.so.*[0-9] not found in the system path '
        "['/usr/lib/python3.13', '/opt/blender/5.0/python/lib']\")\n"
    )
    said = "ValueError: libcublasLt.so.*[0-9] not found in the system path"
    assert engines.torch_load_check() == said
    assert "torch" not in sys.modules
    (line,) = tries.read_text().splitlines()
    pid, executable = line.split(" ", 1)
    assert int(pid) != os.getpid() and executable == sys.executable
    # nothing is kept by torch_load_check itself: the once-a-session answer is the thread's
    assert engines.torch_load_known() is None
    thread = engines.start_torch_load_check()
    assert thread is not None
    thread.join(60)
    assert not engines.torch_load_checking()
    assert engines.torch_load_known() == said
    assert engines.start_torch_load_check() is None  # known: not checked again
    assert engines.torch_load_error() == said  # Train's failure is said without an import
    assert len(tries.read_text().splitlines()) == 2 and "torch" not in sys.modules
    engines.forget_torch_load()  # reinstalled: looked at again
    assert engines.torch_load_known() is None
    thread = engines.start_torch_load_check()
    thread.join(60)
    assert len(tries.read_text().splitlines()) == 3


def test_the_load_check_says_a_torch_that_loads_or_crashes(fake_torch):
    fake_torch.write_text("import time\ntime.sleep(0.2)\n__version__ = '2.13.0'\n")
    assert engines.torch_load_check() is None
    assert "torch" not in sys.modules
    fake_torch.write_text("import os\nos.abort()\n")  # an old CPU's illegal instruction
    assert engines.torch_load_check() == "importing it crashed Python (SIGABRT)"
    fake_torch.write_text("import time\ntime.sleep(30)\n")
    assert engines.torch_load_check(timeout=1) is None  # could not tell: nothing said
    # killed from outside (out of memory, the user) as it loaded: no crash of torch's
    fake_torch.write_text("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    assert engines.torch_load_check() is None


def test_a_check_dropped_by_a_reinstall_keeps_no_answer(fake_torch, tmp_path):
    fake_torch.write_text("import time\ntime.sleep(1)\nraise OSError('old copy')\n")
    thread = engines.start_torch_load_check()
    assert engines.torch_load_checking()
    assert engines.start_torch_load_check() is thread  # one check at a time
    engines.forget_torch_load()
    thread.join(60)
    assert engines.torch_load_known() is None and not engines.torch_load_checking()
