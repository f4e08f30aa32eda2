"""The style library: built-in painting styles, any picture as a style, and trained styles.

Built-ins are converted once from the weights package into ``<root>/builtin`` (safetensors
for the torch engine, our own ONNX export for ONNX Runtime, a thumbnail each). A packaged
extension may carry those files pre-built; they are looked up there too. Trained styles are
folders under ``<root>/styles``. Any other style value that is an existing picture file is a
picture style.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import shlex
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from .errors import RestyleError
from .formats import IMAGE_SUFFIXES
from .writers import _TEMP_SUFFIX, SCRATCH_CHARS

StyleKind = Literal["builtin", "picture", "trained"]

# Index in the 26-style network → (stable id, display name). Named by looking at them.
BUILTIN_STYLES: tuple[tuple[str, str], ...] = (
    ("amber-watercolour", "Amber Watercolour"),
    ("comic-ink", "Comic Ink"),
    ("ink-wash", "Ink Wash"),
    ("carnival-ribbons", "Carnival Ribbons"),
    ("fauvist-crimson", "Fauvist Crimson"),
    ("autumn-impasto", "Autumn Impasto"),
    ("indigo-dots", "Indigo Dots"),
    ("midnight-fire", "Midnight Fire"),
    ("pastel-line-sketch", "Pastel Line Sketch"),
    ("teal-tile-mosaic", "Teal Tile Mosaic"),
    ("sepia-oils", "Sepia Oils"),
    ("golden-etching", "Golden Etching"),
    ("soft-gouache", "Soft Gouache"),
    ("emerald-expressionism", "Emerald Expressionism"),
    ("frosted-wash", "Frosted Wash"),
    ("stained-glass", "Stained Glass"),
    ("blue-gold-pointillism", "Blue-Gold Pointillism"),
    ("woven-blocks", "Woven Blocks"),
    ("parchment-engraving", "Parchment Engraving"),
    ("starry-swirls", "Starry Swirls"),
    ("crimson-brushwork", "Crimson Brushwork"),
    ("pop-cutout", "Pop Cutout"),
    ("graphite-strokes", "Graphite Strokes"),
    ("smoky-gouache", "Smoky Gouache"),
    ("delft-porcelain", "Delft Porcelain"),
    ("rust-mosaic", "Rust Mosaic"),
)
BUILTIN_INDEX = {sid: i for i, (sid, _) in enumerate(BUILTIN_STYLES)}
# What each built-in looks like (the picker's tooltip, `restyle styles --json`).
BUILTIN_DESCRIPTIONS: dict[str, str] = {
    "amber-watercolour": "Soft watercolour washes in amber and pale blue",
    "comic-ink": "Bold black ink outlines over flat yellow and white, like a comic panel",
    "ink-wash": "Grey ink wash with dark brush accents on pale paper",
    "carnival-ribbons": "Dense red, blue and yellow ribbons; the picture turns into pattern",
    "fauvist-crimson": "Flat fauvist planes of crimson, orange and pale blue",
    "autumn-impasto": "Thick oil impasto in autumn oranges and reds",
    "indigo-dots": "A field of indigo cells and dots; shapes become texture",
    "midnight-fire": "Deep blue and black with fiery yellow highlights",
    "pastel-line-sketch": "Light line sketch on white with touches of pink and yellow",
    "teal-tile-mosaic": "Teal and red tile mosaic on white",
    "sepia-oils": "Warm brown sepia oil painting",
    "golden-etching": "Fine dark etched lines over golden yellow",
    "soft-gouache": "Soft lilac and cream gouache with gentle edges",
    "emerald-expressionism": "Expressionist strokes in emerald, yellow and dark teal",
    "frosted-wash": "Pale, icy blue wash with low contrast",
    "stained-glass": "Dark leading around pastel cells, like stained glass",
    "blue-gold-pointillism": "Pointillist dabs of blue, gold and violet",
    "woven-blocks": "Interlocking red, orange and blue blocks, like woven strips; abstract",
    "parchment-engraving": "Brown line engraving on parchment",
    "starry-swirls": "Swirling blue and yellow brushwork in the manner of The Starry Night",
    "crimson-brushwork": "Crimson and red brushwork with dark shadows",
    "pop-cutout": "Flat pop-art cutouts: black shapes over pastel colors",
    "graphite-strokes": "Grey-blue graphite strokes with dark outlines",
    "smoky-gouache": "Smoky charcoal greys with soft gouache highlights",
    "delft-porcelain": "Delft blue on cream, like painted porcelain",
    "rust-mosaic": "A fine mosaic of rust, gold and blue fragments",
}

# Files a complete built-in set consists of (relative to a builtin folder).
BUILTIN_MODELS = ("multistyle26", "arbitrary_predictor", "arbitrary_transformer")
BUNDLED_DIR = Path(__file__).resolve().parent.parent / "models" / "builtin"


@dataclass(frozen=True)
class StyleInfo:
    """A resolved style: what it is and what the engines need to run it."""

    id: str
    name: str
    kind: StyleKind
    description: str = ""
    thumbnail: Path | None = None
    weights: tuple[float, ...] = ()  # builtin: weights over the 26 styles
    picture: Path | None = None  # picture: the style picture
    folder: Path | None = None  # trained: the style folder
    meta: dict = field(default_factory=dict, compare=False, hash=False)


def _not_a_picture(style: str, suffix: str, pictures: frozenset[str]) -> RestyleError:
    """A file given as the style that is no picture, and why ('is not a picture ()' said
    nothing for a name without an extension)."""
    kind = f"a {suffix} file" if suffix else "its name has no extension"
    return RestyleError(
        f"style file '{style}' is not a picture ({kind}); a style picture is one of "
        + ", ".join(sorted(pictures))
    )


def _did_you_mean(name: str, known: list[str]) -> str:
    """The closest of ``known``, compared without case ('COMIC-INK', 'MY PAINT')."""
    by_lower: dict[str, str] = {}
    for word in known:
        by_lower.setdefault(word.lower(), word)
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    # quoted as a shell needs it ('My Paint'), so the suggestion pastes into a command line
    return f" (did you mean {shlex.quote(by_lower[close[0]])}?)" if close else ""


def default_root() -> Path:
    """``$RESTYLE_HOME``, else the platform's per-user data folder."""
    env = os.environ.get("RESTYLE_HOME")
    if env:
        return Path(env).expanduser()
    if os.name == "nt":
        base = Path(os.environ.get("APPDATA", Path.home()))
    elif os.uname().sysname == "Darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "restyle"


def parse_mix(spec: str) -> tuple[float, ...] | None:
    """``"starry-swirls"`` or a mix like ``"starry-swirls:0.7,comic-ink:0.3"`` → 26 weights.

    Returns None when the spec names no built-in; raises on a malformed mix.
    """
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts:
        return None
    weights = np.zeros(len(BUILTIN_STYLES), dtype=np.float64)
    for part in parts:
        sid, _, amount = part.partition(":")
        sid = sid.strip()
        if sid.isdigit() and int(sid) < len(BUILTIN_STYLES):
            sid = BUILTIN_STYLES[int(sid)][0]
        if sid not in BUILTIN_INDEX:
            return None
        weights[BUILTIN_INDEX[sid]] += _mix_weight(part, amount)
    if weights.sum() <= 0:
        raise RestyleError("a style mix needs at least one positive weight")
    return tuple(float(w) for w in weights / weights.sum())


def _mix_weight(part: str, amount: str) -> float:
    """The weight of one ``id:weight`` part of a mix; errors quote only that part."""
    try:
        value = float(amount) if amount else 1.0
    except ValueError:
        raise RestyleError(f"bad weight in '{part}': use ID:WEIGHT, e.g. comic-ink:0.3") from None
    if not value >= 0 or value == float("inf"):
        raise RestyleError(f"bad weight in '{part}': a weight is a number, 0 or more")
    return value


def _looks_like_mix(spec: str) -> bool:
    return "," in spec or (":" in spec and not re.match(r"^[A-Za-z]:[\\/]", spec))


MAX_NAME_LENGTH = 64
_NAME_PUNCTUATION = frozenset(" -_.()'+&!")


def check_style_name(name: str) -> str:
    """A trained style's display name, stripped; RestyleError unless it is safe (letters,
    digits, spaces and a little punctuation; no path, no mix syntax) and not a built-in's
    id or name, which it could never be reached by."""
    name = str(name).strip()
    if not name:
        raise RestyleError("a trained style needs a name")
    if len(name) > MAX_NAME_LENGTH:
        raise RestyleError(f"a style name has at most {MAX_NAME_LENGTH} characters")
    bad = sorted({c for c in name if not (c.isalnum() or c in _NAME_PUNCTUATION)})
    if bad or name.startswith("."):
        shown = "".join(bad) or "a leading '.'"
        raise RestyleError(
            f"'{name}' cannot be a style name ({shown!r}): use letters, digits, spaces "
            "and - _ . ( ) ' + & !"
        )
    suffix = Path(name).suffix.lower()
    if suffix in IMAGE_SUFFIXES:  # '-s k10.png' would be this style, or the picture k10.png
        raise RestyleError(
            f"'{name}' cannot be a style name: it ends as a picture file's name does "
            f"({suffix}), so it could be taken for that picture; choose a name without it"
        )
    reserved = {sid for sid, _ in BUILTIN_STYLES} | {n.lower() for _, n in BUILTIN_STYLES}
    if name.lower() in reserved or _slug(name).lower() in reserved or name.isdigit():
        raise RestyleError(f"'{name}' is a built-in style; choose another name")
    return name


def _trained_from(count: int) -> str:
    """A trained style's description: 'Trained from 1 keyframe', '... 3 keyframes'."""
    return f"Trained from {count} keyframe" + ("" if count == 1 else "s")


def _slug(name: str) -> str:
    """A folder name for a style name (ASCII; names without any get a stable hash)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return slug or "style-" + hashlib.sha256(name.encode()).hexdigest()[:10]


# A trained style folder's files, the one table (train.artifact writes them, install
# requires three; artifact imports styles, so they are named here): its metadata, the
# generator's weights, the generator for ONNX Runtime and the library's picture of it
META_FILE = "style.json"
WEIGHTS_FILE = "weights.safetensors"
ONNX_FILE = "model.onnx"
THUMBNAIL_FILE = "thumbnail.png"
STYLE_FILES = (META_FILE, WEIGHTS_FILE, ONNX_FILE, THUMBNAIL_FILE)

# A trained style folder's own files (``STYLE_FILES``, and the keyframe PNGs carry writes)
# and Restyle's scratch of them (rename's 'style.json.part', writers.scratch_path's
# '.NAME.<hex>.restyle-part'): what a stray folder may hold at its top level and still be
# deleted (anything else may be the user's)
_OWN_NAME = rf"(?:{'|'.join(map(re.escape, STYLE_FILES))}|keyframe-\d+-(?:source|painted)\.png)"
_STYLE_FILE = re.compile(
    rf"{_OWN_NAME}|{re.escape(META_FILE)}\.part"
    rf"|\.{_OWN_NAME}\.[0-9a-f]{{{SCRATCH_CHARS}}}{re.escape(_TEMP_SUFFIX)}"
)


def not_a_style(folder: Path) -> str | None:
    """What ``folder`` of the style library is when it is no style (no style.json, or one
    that cannot be read), in install's words; None for a style."""
    meta = folder / META_FILE
    try:
        if isinstance(json.loads(meta.read_text(encoding="utf-8")), dict):
            return None
    except (OSError, ValueError):
        pass
    if not folder.is_dir():  # a file of the user's where a style's folder would be
        return f"{folder} is in the style library but is not a style (it is a file, not a folder)"
    what = "its style.json cannot be read" if meta.is_file() else "no style.json"
    return (
        f"{folder} is in the style library but is not a style ({what}; an interrupted "
        "delete leaves such a folder)"
    )


def _user_files(folder: Path, shown: int = 3) -> str:
    """What ``folder`` holds that is not a style's own: any file below its top level, and
    any at the top not named as a style's (``_STYLE_FILE``), or a link, as said
    ('notes.txt, shot/a.exr and 2 more'); '' when there is none (empty subfolders may go).
    A folder that cannot be listed counts as the user's ('unreadable folder shot/'): rglob
    skipped it without a word, so delete was offered, then failed (Permission denied)."""
    found: list[tuple[str, str]] = []  # (path, as said)

    def unreadable(error: OSError) -> None:
        where = os.path.relpath(error.filename, folder) if error.filename else "."
        said = "unreadable contents" if where == "." else f"unreadable folder {where}/"
        found.append((where, said))

    for top, folders, files in os.walk(folder, onerror=unreadable):
        here = Path(top)
        for name in folders + files:
            path = here / name
            if path.is_symlink() or (
                name in files and (here != folder or not _STYLE_FILE.fullmatch(name))
            ):
                where = str(path.relative_to(folder))
                found.append((where, where))
    said = [text for _, text in sorted(found)]
    more = f" and {len(said) - shown} more" if len(said) > shown else ""
    return ", ".join(said[:shown]) + more


def what_a_stray_holds(folder: Path) -> str:
    """What keeps a stray folder (``not_a_style``) from being deleted, as said after its
    sentence by 'restyle styles delete' and by install and training into it: ', and it is a
    link', ', and it holds notes.txt'; '' when it holds only a style's own files."""
    if folder.is_symlink():
        return ", and it is a link"
    kept = _user_files(folder) if folder.is_dir() else ""
    return f", and it holds {kept}" if kept else ""


class StyleLibrary:
    """Finds, lists and resolves styles; owns the per-user library folder."""

    def __init__(self, root: Path | str | None = None, bundled: Path | None = BUNDLED_DIR):
        self.root = Path(root).expanduser() if root else default_root()
        self.bundled = bundled

    # -- files -------------------------------------------------------------------------
    @property
    def builtin_dir(self) -> Path:
        return self.root / "builtin"

    @property
    def styles_dir(self) -> Path:
        return self.root / "styles"

    def builtin_file(self, name: str, suffix: str) -> Path | None:
        """A converted built-in model file, from the user library or the bundled set."""
        for folder in (self.builtin_dir, self.bundled):
            if folder is not None and (folder / f"{name}{suffix}").is_file():
                return folder / f"{name}{suffix}"
        return None

    def builtins_ready(self, suffix: str = ".onnx") -> bool:
        return all(self.builtin_file(n, suffix) for n in BUILTIN_MODELS)

    def thumbnail(self, style_id: str) -> Path | None:
        for folder in (self.builtin_dir, self.bundled):
            if folder is not None and (folder / "thumbs" / f"{style_id}.png").is_file():
                return folder / "thumbs" / f"{style_id}.png"
        return None

    # -- listing and resolving ---------------------------------------------------------
    def builtins(self) -> list[StyleInfo]:
        out = []
        for i, (sid, name) in enumerate(BUILTIN_STYLES):
            weights = tuple(1.0 if j == i else 0.0 for j in range(len(BUILTIN_STYLES)))
            out.append(
                StyleInfo(
                    sid, name, "builtin", BUILTIN_DESCRIPTIONS[sid], self.thumbnail(sid), weights
                )
            )
        return out

    def trained(self) -> list[StyleInfo]:
        out = []
        if not self.styles_dir.is_dir():
            return out
        for folder in sorted(self.styles_dir.iterdir()):
            meta_path = folder / META_FILE
            if not meta_path.is_file():
                continue
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            name = meta.get("name", folder.name)
            thumb = folder / THUMBNAIL_FILE
            out.append(
                StyleInfo(
                    name,
                    name,
                    "trained",
                    _trained_from(len(meta.get("keyframes", []))),
                    thumb if thumb.is_file() else None,
                    folder=folder,
                    meta=meta,
                )
            )
        return out

    def list(self) -> list[StyleInfo]:
        return self.builtins() + self.trained()

    def stray_folders(self) -> list[Path]:
        """The folders in styles/ that are no style (no readable style.json: an interrupted
        delete leaves one), which ``trained`` skips; hidden ones are Restyle's scratch."""
        if not self.styles_dir.is_dir():
            return []
        return [
            folder
            for folder in sorted(self.styles_dir.iterdir())
            if not folder.name.startswith(".") and folder.is_dir() and not_a_style(folder)
        ]

    def stray_warning(self, folder: Path) -> str:
        """The listing's line for a stray folder: what it is, and how it goes ('restyle
        styles delete' only where it would: nothing held, ``what_a_stray_holds``)."""
        held = what_a_stray_holds(folder)  # ', and it is a link': '(it is a link)'
        how = (
            f"move or remove it by hand ({held.removeprefix(', and ')})"
            if held
            else f"remove it by hand or with 'restyle styles delete {shlex.quote(folder.name)}'"
        )
        return f"{not_a_style(folder)}: {how}"

    def resolve(self, style: str) -> StyleInfo:
        """A built-in id (or mix), a trained style's name, or a path to any picture."""
        style = str(style).strip()
        if not style:
            raise RestyleError("no style given")
        weights = parse_mix(style)
        if weights is not None:
            if weights.count(0.0) == len(weights) - 1:
                return next(s for s in self.builtins() if s.weights == weights)
            return StyleInfo(
                style, f"Mix {style}", "builtin", "Mix of built-in styles", None, weights
            )
        info = self._trained_named(style)
        path = Path(style).expanduser()
        if info is not None:
            if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
                # a style named so before such names were refused: never one for the other
                raise RestyleError(
                    f"'{style}' is both a trained style (in {info.folder}) and the picture "
                    f"{path.resolve()}: give the picture as ./{style} or by its full path, "
                    "or rename the style"
                )
            return info
        if path.is_file():
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                raise _not_a_picture(style, path.suffix, IMAGE_SUFFIXES)
            return StyleInfo(str(path), path.stem, "picture", "Picture style", path, picture=path)
        if path.exists() and not path.is_dir():  # /dev/null, a FIFO: there, not 'not found'
            from .media import _special_kind  # as INPUT's are said

            raise RestyleError(
                f"style picture {style} is {_special_kind(path)}, not a regular file: "
                "give a picture"
            )
        if path.suffix.lower() in IMAGE_SUFFIXES or os.sep in style:
            raise RestyleError(f"style picture not found: {style}")
        raise self._unknown(style)

    def _unknown(self, style: str) -> RestyleError:
        """An error naming the closest style (git's "did you mean"), or what a style can be."""
        builtin_ids = list(BUILTIN_INDEX)
        if _looks_like_mix(style):  # a mix combines built-ins only
            parts = [p.strip().partition(":")[0].strip() for p in style.split(",") if p.strip()]
            bad = next((p for p in parts if parse_mix(p) is None), style)
            hint = _did_you_mean(bad, builtin_ids) or ": a mix combines built-in ids"
            return RestyleError(f"unknown style '{bad}' in the mix{hint}")
        hint = _did_you_mean(style, builtin_ids + [info.name for info in self.trained()])
        if hint:
            return RestyleError(f"unknown style '{style}'{hint}")
        # Said alike by every front end: Blender has no 'restyle styles' to list them (its
        # Style menu shows names), so an id shows what one looks like.
        return RestyleError(
            f"unknown style '{style}': use a built-in style's id (such as "
            f"'{BUILTIN_STYLES[0][0]}'), a trained style's name, or a path to a picture"
        )

    def trained_folder(self, name: str) -> Path:
        """Where a trained style called ``name`` lives (a safe folder name); refuses names
        that are not safe display names or that belong to a built-in. Names that slug alike
        ('Neg é', 'Neg') get folders of their own: one never stands for (or replaces) the other.
        Folder names are compared casefolded, as macOS's and Windows' file systems compare
        them: 'MON ENCRE' gets a folder of its own there too, never the folder of 'Mon Encre'."""
        return self._folder_for(check_style_name(name))

    def _folder_for(self, name: str, leaving: Path | None = None) -> Path:
        """``trained_folder``, with ``leaving`` (a style being renamed) counted as free."""
        folder = self.styles_dir / _slug(name)
        styles = [i for i in self.trained() if i.folder is not None and i.folder != leaving]
        own = next((i.folder for i in styles if i.name == name), None)
        if own is not None:  # an existing folder is found by its style's name, as ever
            return own
        if folder.name.casefold() in {i.folder.name.casefold() for i in styles}:
            digest = hashlib.sha256(name.encode()).hexdigest()[:8]  # another style's folder
            return folder.with_name(f"{folder.name}-{digest}")
        return folder

    # -- managing trained styles -------------------------------------------------------
    def _trained_named(self, name: str) -> StyleInfo | None:
        """The trained style called ``name``, else the one in a folder of that name: a name
        first, so 'Ink' is never the style 'Ink é' that lives in the folder 'Ink'."""
        styles = self.trained()
        by_name = (i for i in styles if i.name == name)
        by_folder = (i for i in styles if i.folder and i.folder.name == name)
        return next(by_name, None) or next(by_folder, None)

    def _trained_by_name(self, name: str) -> StyleInfo:
        info = self._trained_named(name)
        if info is None:
            raise RestyleError(f"no trained style named '{name}'")
        return info

    def _stray_named(self, name: str) -> Path | None:
        """The stray folder (``stray_folders``) called ``name``."""
        return next((f for f in self.stray_folders() if f.name == name), None)

    def rename(self, name: str, new_name: str) -> Path:
        """Rename a trained style (its folder and the name in its metadata)."""
        info = self._trained_by_name(name)
        assert info.folder is not None
        target = self._folder_for(check_style_name(new_name), leaving=info.folder)
        elsewhere = target.exists() and not target.samefile(info.folder)
        if elsewhere and (stray := not_a_style(target)):  # as install says it
            held = what_a_stray_holds(target)  # delete is offered only where it would go
            how = "move or remove it by hand"
            if not target.is_dir():  # a user's file: no delete offered, not even by hand
                how = "move it out of the style library or choose another name"
            elif not held:  # 'restyle styles delete' would delete it: nothing of the user's
                how += f" (or 'restyle styles delete {shlex.quote(target.name)}')"
            raise RestyleError(
                f"{stray}{held}: '{info.name}' would be renamed '{new_name.strip()}' there, so "
                f"{how}, then rename again"
            )
        # 'Mon-Encre' and 'MON-ENCRE' are one folder on macOS: a case variant is this style
        if elsewhere:
            raise RestyleError(f"a style named '{new_name}' already exists")
        meta = dict(info.meta, name=new_name.strip())
        tmp = info.folder / f"{META_FILE}.part"
        tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, info.folder / META_FILE)
        if target != info.folder:
            os.rename(info.folder, target)
        return target

    def delete(self, name: str) -> Path | None:
        """Delete a trained style's folder (built-ins cannot be deleted). A trained style that
        an older Restyle let take a built-in's name can still be deleted (or renamed). A
        stray folder (``stray_folders``) of only a style's own files goes too: it is returned
        (None for a style)."""
        trained = [i for i in self.trained() if name in (i.name, i.folder and i.folder.name)]
        if not trained and parse_mix(name) is not None:
            raise RestyleError(f"'{name}' is a built-in style and cannot be deleted")
        stray = None if trained else self._stray_named(name)
        if stray is not None:  # an interrupted delete's folder: only Restyle's files go
            if held := what_a_stray_holds(stray):
                raise RestyleError(
                    f"{not_a_style(stray)}{held}: not deleting it; move or remove it by hand"
                )
            shutil.rmtree(stray)
            return stray
        info = self._trained_by_name(name)
        assert info.folder is not None
        shutil.rmtree(info.folder)
        return None

    def refuse_output_inside(self, path: Path) -> None:
        """A file Restyle writes (a packed style, an exported network) never goes into the
        library's own folders, even with overwrite: it wrote over what styles are made of."""
        for folder in (self.builtin_dir, self.styles_dir, self.bundled):
            if folder is not None and path.resolve().is_relative_to(Path(folder).resolve()):
                raise RestyleError(
                    f"output {path} is inside the style library ({folder}); choose another folder"
                )

    def pack(self, name: str, path: Path, overwrite: bool = False) -> Path:
        """Share a trained style as one file (a zip of its folder); ``overwrite`` replaces
        a file there, once the zip is whole (never a folder, nor a file of the library)."""
        from .errors import setting
        from .writers import check_file_suffix, check_name_room

        path = Path(path)
        check_file_suffix(path, ".zip")
        check_name_room(path.name, "the file to pack into")  # before a folder is made for it
        info = self._trained_by_name(name)
        assert info.folder is not None
        if path.is_dir():
            raise RestyleError(f"{path} is a folder; give the name of the file to write")
        self.refuse_output_inside(path)
        if path.exists() and not overwrite:
            raise RestyleError(
                f"{path} exists; choose another file name or use {setting('overwrite', True)}"
            )
        from .writers import atomic_file, check_writable

        check_writable(path.parent)  # 'cannot write to DIR', not 'x.restyle.part'
        path.parent.mkdir(parents=True, exist_ok=True)  # as export-onnx and stylize do
        # A scratch name of its own (a fixed 'NAME.zip.part' could be a file of the user's),
        # one a killed pack's rerun removes
        with atomic_file(path, sweep=True) as tmp:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
                for f in sorted(info.folder.iterdir()):
                    if f.is_file():
                        zf.write(f, f"{info.folder.name}/{f.name}")
        return path
