"""Real footage (and a real painting) that this project did not make, from Debian's packages.

Debian's `opencv-doc` package ships OpenCV's sample clips (BSD-licensed, part of OpenCV's
source tree): `vtest.avi` (people walking past a fixed camera, 768x576, 795 frames),
`Megamind.avi` (an animated film excerpt with moving characters, 720x528) and `tree.avi`.
They are fetched once with `apt-get download` (Debian's own client; no other host is
contacted) and cached in `$RESTYLE_FOOTAGE` (default `~/.cache/restyle/footage`).

    from real_footage import real_clip
    path = real_clip("vtest")            # Path to the .avi, or raises FootageUnavailable
    painting = real_picture("starry-night")  # a public-domain painting, as a style picture

The same package ships Vincent van Gogh's *The Starry Night* (1889, public domain) as
OpenCV's `starry_night.jpg` sample: the demo's "any picture as the style" example.

`python scripts/real_footage.py` fetches all of them and prints their paths.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGE = "opencv-doc"
DATA_DIR = "./usr/share/doc/opencv-doc/examples/data/"
CLIPS = {
    "vtest": "vtest.avi",  # pedestrians, static camera, real filmed footage
    "megamind": "Megamind.avi",  # animated film: characters move independently
    "tree": "tree.avi",
}
PICTURES = {
    "starry-night": "starry_night.jpg",  # Vincent van Gogh, 1889: public domain
}


class FootageUnavailable(RuntimeError):
    """The package could not be fetched (no apt-get, or no access to Debian's packages)."""


def footage_dir() -> Path:
    default = Path.home() / ".cache" / "restyle" / "footage"
    return Path(os.environ.get("RESTYLE_FOOTAGE", default))


def real_clip(name: str) -> Path:
    """The cached clip `name` (a key of CLIPS), fetching the package on first use."""
    return _cached(name, CLIPS)


def real_picture(name: str) -> Path:
    """The cached picture `name` (a key of PICTURES), fetching the package on first use."""
    return _cached(name, PICTURES)


def _cached(name: str, files: dict[str, str]) -> Path:
    if name not in files:
        raise KeyError(f"unknown name {name!r}; choose from {', '.join(files)}")
    target = footage_dir() / files[name]
    if not target.is_file():
        _fetch_all(footage_dir())
    return target


def _fetch_all(folder: Path) -> None:
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise FootageUnavailable("apt-get and dpkg-deb are needed to fetch Debian's opencv-doc")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        fetched = subprocess.run(
            ["apt-get", "download", PACKAGE], cwd=scratch, capture_output=True, text=True
        )
        debs = list(Path(scratch).glob(f"{PACKAGE}_*.deb"))
        if fetched.returncode != 0 or not debs:
            raise FootageUnavailable(f"apt-get download {PACKAGE} failed: {fetched.stderr[-300:]}")
        wanted = [*CLIPS.values(), *PICTURES.values()]
        members = [DATA_DIR + file for file in wanted]
        tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(debs[0])], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", scratch, *members], stdin=tar.stdout, check=True)
        tar.wait()
        for file in wanted:  # rename into place: a half-fetched clip never appears
            os.replace(Path(scratch) / DATA_DIR / file, folder / file)


if __name__ == "__main__":
    try:
        for clip in CLIPS:
            print(real_clip(clip))
    except FootageUnavailable as exc:
        sys.exit(f"real_footage: {exc}")
