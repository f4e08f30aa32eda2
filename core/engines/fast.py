"""Where a network's fast graph lives (``models/fastgraph.py`` makes it), without torch.

A fast graph computes the same function as the plain ONNX file beside it, in shapes the
CPU runs faster. Its file name carries a digest of the plain file it was made from, so a
plain file that changed (a re-converted or re-trained model) never runs with a stale fast
graph: the engines then find none and run the plain one.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

# Bump when the rewrite changes: setup then makes the new one (and removes older ones).
FAST_TAG = "fast2"
# Earlier rewrites compute the same function: a library converted before the bump runs its
# older fast graph until setup is run again, not the slower plain one.
OLDER_TAGS = ("fast1",)


@functools.lru_cache(maxsize=32)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def fast_path_for(plain: Path, tag: str = FAST_TAG) -> Path:
    """The file name the fast graph of ``plain`` has (whether or not it exists)."""
    stat = Path(plain).stat()
    digest = _digest(str(plain), stat.st_mtime_ns, stat.st_size)
    return Path(plain).with_name(f"{Path(plain).stem}.{tag}-{digest}.onnx")


def fast_graph(plain: Path | None) -> Path | None:
    """The newest fast graph made from exactly this plain file, or None."""
    if plain is None or not Path(plain).is_file():
        return None
    paths = (fast_path_for(plain, tag) for tag in (FAST_TAG, *OLDER_TAGS))
    return next((path for path in paths if path.is_file()), None)


def stale_fast_graphs(plain: Path) -> list[Path]:
    """Fast graphs beside ``plain`` made from another version of it (or by another rewrite)."""
    keep = fast_path_for(plain)
    stem = Path(plain).stem
    return [p for p in Path(plain).parent.glob(f"{stem}.fast*-*.onnx") if p != keep]
