"""A vendor export opened for import: a folder or a ZIP, refused as a whole when it is unsafe.

Before anything is read, the export as a whole is refused when a ZIP member would unpack to more
than ``IMPORT_MAX_COMPRESSION_RATIO`` times its packed size (a "ZIP bomb": 256 MiB of zeros pack
into 256 KiB), when all members together would unpack to more than ``IMPORT_MAX_UNPACKED_BYTES``,
when a member is a symbolic link or another special file (device, FIFO, socket), and when a name
holds a control character or a bidirectional-text control (U+202E makes ``gpj.exe`` read as
``exe.jpg``). The sizes are those the ZIP declares; :mod:`zipfile` never unpacks more than the
declared size of a member, and checks its CRC.

An export that fails here, or a manifest line that fails :mod:`.manifest`, is rejected with
:class:`ImportRejected`, which lists every problem as a :class:`LineError`.
"""

from __future__ import annotations

import posixpath
import re
import stat
import unicodedata
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l

MANIFEST_NAMES = ("manifest.csv", "manifest.json")
# A member smaller than this is not judged by its ratio: tiny files pack oddly either way.
RATIO_MIN_BYTES = 1024 * 1024
DEFAULT_MAX_RATIO = 100
DEFAULT_MAX_UNPACKED = 8 * 1024**3
# Bidirectional-text controls (embeddings, overrides, isolates and marks): they make a name read
# differently from what it is.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


@dataclass(frozen=True)
class LineError:
    """One problem with one manifest line (line 0: the export as a whole)."""

    line: int
    column: str | None
    message: Any  # a lazy string, translated when shown

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "export"
        column = f" [{self.column}]" if self.column else ""
        return f"{where}{column}: {self.message}"


class ImportRejected(Exception):
    """The export was rejected; ``errors`` says why, line by line. Nothing was imported."""

    def __init__(self, errors: list[LineError]) -> None:
        super().__init__(f"{len(errors)} error(s) in the export")
        self.errors = errors


class Export:
    """A vendor export: a folder or a ZIP, with the manifest's folder as its root."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        self._names: dict[str, str] = {}  # normalised path inside the export → member / file
        self.root = ""

    def __enter__(self) -> Export:
        if self.path.is_dir():
            base = self.path.resolve()
            for item in base.rglob("*"):
                # Symbolic links could point anywhere on the server: only regular files count.
                if item.is_file() and not item.is_symlink():
                    relative = item.relative_to(base).as_posix()
                    if unsafe_name(relative):
                        raise ImportRejected([_bad_name(relative)])
                    self._names[relative] = str(item)
        elif zipfile.is_zipfile(self.path):
            try:
                self._zip = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise ImportRejected(
                    [LineError(0, None, _l("The ZIP file is damaged or incomplete."))]
                ) from exc
            _check_members(self._zip.infolist())
            for info in self._zip.infolist():
                if not info.is_dir():
                    self._names[info.filename.replace("\\", "/")] = info.filename
        else:
            raise ImportRejected(
                [LineError(0, None, _l("The export must be a folder or a ZIP file."))]
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._zip is not None:
            self._zip.close()

    def find_manifest(self) -> str:
        """The manifest's path; its folder becomes the root for the files it names."""
        candidates = [
            name for name in self._names if posixpath.basename(name).lower() in MANIFEST_NAMES
        ]
        top = [name for name in candidates if name.count("/") <= 1]
        if len(top) != 1:
            message = (
                _l("The export contains no manifest.csv or manifest.json.")
                if not top
                else _l("The export contains more than one manifest.")
            )
            raise ImportRejected([LineError(0, None, message)])
        manifest = top[0]
        self.root = posixpath.dirname(manifest)
        return manifest

    def resolve(self, relative: str) -> str | None:
        """The export's member for a manifest ``file`` value, or None if unsafe or absent."""
        value = relative.strip().replace("\\", "/")
        if not value or value.startswith("/") or re.match(r"^[A-Za-z]:", value):
            return None
        parts = value.split("/")
        if any(part in ("", ".", "..") for part in parts):
            return None
        name = posixpath.join(self.root, value) if self.root else value
        return name if name in self._names else None

    @contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        """Open a member for streaming."""
        if self._zip is not None:
            with self._zip.open(self._names[name]) as member:
                yield member  # type: ignore[misc]
        else:
            with open(self._names[name], "rb") as handle:
                yield handle

    def read_text(self, name: str, limit: int = 50 * 1024 * 1024) -> str:
        """Read a (manifest) text file, refusing absurd sizes."""
        with self.open(name) as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise ImportRejected([LineError(0, None, _l("The manifest is too large."))])
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportRejected(
                [LineError(0, None, _l("The manifest is not UTF-8 text."))]
            ) from exc


def unsafe_name(name: str) -> bool:
    """Whether a member name holds a control character or a bidirectional-text control."""
    return any(
        ch in BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name
    )


def shown_name(name: str) -> str:
    """The name as it can be shown safely, its invisible and control characters spelled out."""
    shown = "".join(f"\\u{ord(ch):04x}" if unsafe_name(ch) else ch for ch in name[:200])
    return shown + ("…" if len(name) > 200 else "")


def _bad_name(name: str) -> LineError:
    return LineError(
        0,
        None,
        _l(
            "The name %(name)s contains a control or text-direction character; rename it.",
            name=shown_name(name),
        ),
    )


def _limits() -> tuple[float, int]:
    config: Any = current_app.config if has_app_context() else {}
    ratio = float(config.get("IMPORT_MAX_COMPRESSION_RATIO", DEFAULT_MAX_RATIO))
    total = int(config.get("IMPORT_MAX_UNPACKED_BYTES", DEFAULT_MAX_UNPACKED))
    return ratio, total


def _check_members(members: list[zipfile.ZipInfo]) -> None:
    """Refuse a ZIP bomb, links and special files, and names that do not read as they are."""
    max_ratio, max_total = _limits()
    errors: list[LineError] = []
    total = 0
    for info in members:
        name = info.filename
        if unsafe_name(name):
            errors.append(_bad_name(name))
            continue
        mode = info.external_attr >> 16
        file_type = stat.S_IFMT(mode)
        if file_type and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            message = (
                _l("%(name)s is a symbolic link; only regular files are accepted.", name=name)
                if stat.S_ISLNK(mode)
                else _l("%(name)s is a special file; only regular files are accepted.", name=name)
            )
            errors.append(LineError(0, None, message))
            continue
        if info.is_dir():
            continue
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= RATIO_MIN_BYTES and ratio > max_ratio:
            errors.append(
                LineError(
                    0,
                    None,
                    _l(
                        "%(name)s would unpack to %(ratio)d times its packed size (at most"
                        " %(limit)d accepted).",
                        name=name,
                        ratio=int(ratio),
                        limit=int(max_ratio),
                    ),
                )
            )
    if total > max_total:
        errors.append(
            LineError(
                0,
                None,
                _l(
                    "The export would unpack to %(size)s bytes; at most %(limit)s are accepted.",
                    size=total,
                    limit=max_total,
                ),
            )
        )
    if errors:
        raise ImportRejected(errors)
